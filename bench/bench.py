"""`make bench`: figures and ratios, printed. Never asserted by tests.

Serving: mockverse and a minimal raw-ASGI baseline run on the same server stack (uvicorn,
one worker each, one at a time), loaded by wrk with 32 connections on loopback; the
ratio mockverse / baseline for a warm `GET /users/{id}` (which embeds the user's orders)
is the figure the foundation issue targets (>= 0.5).

`mockverse check` on the shared corpus: each spec's load time and check time, one process per
spec (`python bench/bench.py --check` prints only this table; it needs no wrk).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from mockverse.launcher import ServerProcess, free_port, mockverse_server

DURATION = os.environ.get("BENCH_DURATION", "10s")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
BASELINE = '''
import orjson
BODY = orjson.dumps({"id": 123, "name": "baseline"})
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": BODY})
'''


def wrk(url: str) -> tuple[float, float]:
    """Requests/s and p99 latency (ms) for `url` under wrk."""
    out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99_raw = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    value, unit = float(p99_raw.group(1)), p99_raw.group(2)
    p99 = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    return rps, p99


def bench_serving(tmp: Path) -> None:
    (tmp / "baseline.py").write_text(BASELINE)
    port = free_port()
    base = ServerProcess([sys.executable, "-m", "uvicorn", "baseline:app", "--port", str(port), "--no-access-log",
                          "--log-level", "warning"], f"http://127.0.0.1:{port}", tmp / "baseline.log", health="/",
                         health_status=None).start(within=30)
    try:
        base_rps, base_p99 = wrk(f"http://127.0.0.1:{port}/users/123")
    finally:
        base.stop()

    mock, port = serve(["--store", str(tmp / "state.db")], tmp)
    try:
        url = f"http://127.0.0.1:{port}/users/123"
        body = httpx.get(url).json()
        mock_rps, mock_p99 = wrk(url)
    finally:
        mock.stop()
    print(f"serving (uvicorn, 1 worker, wrk -c{CONNECTIONS} -d{DURATION}, loopback)")
    print(f"  raw ASGI baseline          {base_rps:>10,.0f} req/s   p99 {base_p99:7.2f} ms")
    print(
        f"  GET /users/123 (warm, {len(body['orders'])} orders embedded) "
        f"{mock_rps:>10,.0f} req/s   p99 {mock_p99:7.2f} ms"
    )
    print(f"  ratio mockverse / baseline  {mock_rps / base_rps:.2f}   (target >= 0.50)")


def serve(args: list[str], tmp: Path) -> tuple[ServerProcess, int]:
    """``mockverse serve ARGS`` on a free port, started with the package's launcher."""
    proc = mockverse_server(tmp, "--log-level", "warning", *args).start(within=30)
    return proc, int(proc.url.rsplit(":", 1)[1])


def bench_scaling(tmp: Path) -> None:
    """Warm req/s for 1 vs 2 workers (shared SQLite), and the Redis store vs SQLite (1 worker)."""
    results: list[tuple[str, float, float]] = []
    for label, args in (("1 worker, SQLite", ["--store", str(tmp / "a.db")]),
                        ("2 workers, SQLite", ["--workers", "2", "--store", str(tmp / "b.db")])):
        proc, port = serve(args, tmp)
        try:
            httpx.get(f"http://127.0.0.1:{port}/users/123")
            results.append((label, *wrk(f"http://127.0.0.1:{port}/users/123")))
        finally:
            proc.stop()
    redis_server = shutil.which("redis-server")
    if redis_server:
        redis_port = free_port()
        redis = subprocess.Popen([redis_server, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "no", "--dir", str(tmp)], stdout=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            proc, port = serve(["--store", f"redis://127.0.0.1:{redis_port}/0"], tmp)
            try:
                httpx.get(f"http://127.0.0.1:{port}/users/123")
                results.append(("1 worker, Redis", *wrk(f"http://127.0.0.1:{port}/users/123")))
            finally:
                proc.stop()
        finally:
            redis.terminate()
            redis.wait()
    print(f"scaling (warm GET /users/123, wrk -c{CONNECTIONS} -d{DURATION}, 2-core machine)")
    base = results[0][1]
    for label, rps, p99 in results:
        print(f"  {label:<20} {rps:>10,.0f} req/s   p99 {p99:7.2f} ms   x{rps / base:.2f} of 1 worker on SQLite")
    if not redis_server:
        print("  (Redis not measured: apt-get install redis-server)")


def bench_spec(tmp: Path) -> None:
    """The largest shared spec (apideck.yaml, 413 KB): load time, and warm req/s of an item endpoint."""
    from mockverse.openapi import bench_load

    spec = Path(__file__).resolve().parent.parent.parent / "shared" / "specs" / "apideck.yaml"
    if not spec.exists():
        print(f"spec bench skipped: {spec} not found (it ships in the workplace's shared/specs)")
        return
    loads = [bench_load(spec) for _ in range(3)]
    proc, port = serve(["--spec", str(spec), "--store", str(tmp / "spec.db")], tmp)
    try:
        company = httpx.get(f"http://127.0.0.1:{port}/crm/companies").json()["data"][0]["id"]
        url = f"http://127.0.0.1:{port}/crm/companies/{company}"
        httpx.get(url)
        rps, p99 = wrk(url)
    finally:
        proc.stop()
    print("bring your own spec (apideck.yaml, 413 KB, 53 operations)")
    print(f"  load time   best {min(loads):.2f} s of 3 runs")
    print(f"  warm GET /crm/companies/{{id}}  {rps:>10,.0f} req/s   p99 {p99:7.2f} ms")


def bench_fidelity() -> None:
    """Time to score 10,000 sample bodies per side with 20 paths each (target: under 2 s)."""
    from mockverse.fidelity import bench_samples

    runs = [bench_samples(10_000, 20) for _ in range(3)]
    print("fidelity (10,000 samples per side, 20 paths each)")
    print(f"  score time  best {min(runs):.2f} s  of 3 runs {', '.join(f'{r:.2f}' for r in runs)}   (target < 2 s)")


PEAK = '''
import resource, subprocess, sys, time, httpx
port, spec, path = sys.argv[1], sys.argv[2], sys.argv[3]
start = time.monotonic()
proc = subprocess.Popen([sys.executable, "-m", "mockverse", "serve", "--port", port, "--spec", spec, "--store",
                         spec + ".db", "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
status = "did not start in 300 s"
while time.monotonic() - start < 300:
    if proc.poll() is not None:
        status = f"exit {proc.returncode}: " + proc.stderr.read().decode().strip()[-90:]
        break
    try:
        if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
            up = time.monotonic() - start
            t = time.monotonic()
            code = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=120).status_code
            status = f"up in {up:.1f} s, first GET {path} {code} in {time.monotonic() - t:.2f} s"
            break
    except httpx.HTTPError:
        time.sleep(0.1)
if proc.poll() is None:
    proc.terminate()
    proc.wait()
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, status)
'''


def bench_hostile_specs(tmp: Path) -> None:
    """Peak RSS of a server process given each hostile spec (tests/hostile_files.py), measured by
    a child that runs it (getrusage of its children), so each figure is that server's own peak."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from hostile_files import huge_enum, many_paths, wide_dag

    print("hostile specs (peak RSS of the server process, start-up, first read)")
    for label, make, path in (("10,000 paths", many_paths, "/r9999/1"), ("one huge enum", huge_enum, "/things/1"),
                              ("wide DAG of $refs", wide_dag, "/things/1")):
        spec = make(tmp / f"{make.__name__}.json")
        out = subprocess.run([sys.executable, "-c", PEAK, str(free_port()), str(spec), path], capture_output=True,
                             text=True, cwd=tmp).stdout.strip()
        peak, _, status = out.partition(" ")
        size = spec.stat().st_size / 1e6
        print(f"  {label:<18} {size:5.1f} MB spec   peak RSS {int(peak) / 1024:6.0f} MB   {status}")


def bench_check(timeout: int = 600) -> None:
    """Each corpus spec: the time to build its world (load) and to run `mockverse check` on it, in its own process."""
    root = Path(__file__).resolve().parent.parent
    specs = next((p for p in (root.parent / "shared" / "specs", Path("/work/shared/specs")) if p.is_dir()),
                 root.parent / "shared" / "specs")   # found as tests/conftest.py finds SHARED
    if not specs.is_dir():
        print(f"check bench skipped: {specs} not found (it ships in the workplace's shared/specs)")
        return
    print("mockverse check on the corpus (load: build the world; check: walk it, then a second build)")
    print(f"  {'spec':<30} {'load':>8} {'check':>8}  overall")
    total = 0.0
    for spec in sorted(p for p in specs.iterdir() if p.suffix in (".json", ".yaml")):
        started = time.perf_counter()
        try:
            done = subprocess.run([sys.executable, "-m", "mockverse", "check", "--spec", str(spec), "--json"],
                                  check=False, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            total += time.perf_counter() - started
            print(f"  {spec.name:<30} {'-':>8} {'>' + str(timeout) + 's':>8}  timed out")
            continue
        total += time.perf_counter() - started
        if done.returncode == 2:
            print(f"  {spec.name:<30} {'-':>8} {'-':>8}  does not load: {done.stderr.strip()[-80:]}")
            continue
        report = json.loads(done.stdout)
        timings, overall = report["timings"], report["overall"]
        print(f"  {spec.name:<30} {timings['load']:>7.2f}s {timings['check']:>7.2f}s  "
              f"{overall['passed']}/{overall['total']} ({overall['score']:.1%})")
    print(f"  total wall time (19 processes, imports included) {total:.1f} s")


def main() -> None:
    if "--check" in sys.argv:   # `python bench/bench.py --check`: only the corpus check timings
        bench_check()
        return
    if "--hostile" in sys.argv:   # only the hostile-spec figures
        with tempfile.TemporaryDirectory() as tmp:
            bench_hostile_specs(Path(tmp))
        return
    if shutil.which("wrk") is None:
        raise SystemExit("make bench needs wrk (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        bench_serving(Path(tmp))
        bench_scaling(Path(tmp))
        bench_spec(Path(tmp))
        bench_hostile_specs(Path(tmp))
    bench_fidelity()
    bench_check()
    from dropin import bench_fixtures, bench_workspaces  # bench/dropin.py: workspaces, ids, pytest fixtures

    bench_workspaces()
    bench_fixtures()


if __name__ == "__main__":
    main()
