"""`make bench`: figures and ratios, printed. Never asserted by tests.

Serving: mockverse and a minimal raw-ASGI baseline serving the SAME bytes (the body and headers
mockverse answered) run on the same server stack (uvicorn, one worker each, one at a time),
loaded by wrk with 32 connections on loopback; the ratio mockverse / baseline for a warm
`GET /users/{id}` (which embeds the user's orders) targets >= 0.6. With granian installed, both
run on granian too. Then: reads right after writes, the population table (1k/100k/1M personas),
Redis vs SQLite and 2 workers vs 1.

`mockverse check` on the shared corpus: each spec's load time and check time, one process per
spec (`python bench/bench.py --check` prints only this table; it needs no wrk).
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

DURATION = os.environ.get("BENCH_DURATION", "10s")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))   # wrk runs per server, interleaved: ratios within a round
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
POPULATIONS = [int(n) for n in os.environ.get("BENCH_POPULATIONS", "1000,100000,1000000").split(",") if n]
TOUCH = int(os.environ.get("BENCH_TOUCH", "100000"))   # distinct personas read before RSS is taken
BASELINE = '''
import json, pathlib
BODY = pathlib.Path(__file__).with_name("body.bin").read_bytes()
PAIRS = json.loads(pathlib.Path(__file__).with_name("headers.json").read_text())
HEADERS = [(k.encode(), v.encode()) for k, v in PAIRS]
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
'''
GRANIAN = shutil.which("granian") or str(Path(sys.executable).with_name("granian"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 180   # a busy machine starts a server slowly
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({proc.returncode})")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"server at {url} did not start")


def wrk(url: str) -> tuple[float, float]:
    """Requests/s and p99 latency (ms) for `url` under wrk."""
    out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99_raw = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    value, unit = float(p99_raw.group(1)), p99_raw.group(2)
    p99 = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    return rps, p99


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def _stack(kind: str, target: str, port: int, cwd: Path, env: dict | None = None,
           workers: int = 1) -> subprocess.Popen:
    """A server for ``target`` (module:app) on uvicorn or granian, ``workers`` processes, quiet."""
    if kind == "uvicorn":
        args = [sys.executable, "-m", "uvicorn", target, "--port", str(port), "--no-access-log", "--log-level",
                "warning", "--workers", str(workers)]
    else:
        args = [GRANIAN, "--interface", "asgi", "--port", str(port), "--workers", "1", "--log-level", "warning",
                target]
    if target.endswith("app_from_env"):
        args.insert(-1 if kind == "granian" else len(args), "--factory")
    return subprocess.Popen(args, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _measure(proc: subprocess.Popen, port: int, path: str, health: str) -> tuple[float, float]:
    try:
        wait_up(f"http://127.0.0.1:{port}{health}", proc)
        httpx.get(f"http://127.0.0.1:{port}{path}")
        return wrk(f"http://127.0.0.1:{port}{path}")
    finally:
        stop(proc)


def interleaved(urls: dict[str, str]) -> dict[str, list[tuple[float, float]]]:
    """wrk each of ``urls`` in turn, ``ROUNDS`` times over: (req/s, p99 ms) of each run. The
    servers all run meanwhile, so the runs of one round were taken under about the same load."""
    runs: dict[str, list[tuple[float, float]]] = {label: [] for label in urls}
    for _ in range(ROUNDS):
        for label, url in urls.items():
            runs[label].append(wrk(url))
    return runs


def medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    """(median req/s, median p99 ms) of some wrk runs."""
    return statistics.median(r for r, _ in runs), statistics.median(p for _, p in runs)


def ratio(figures: dict[str, list[tuple[float, float]]], label: str, base: str) -> float:
    """The median over rounds of req/s of ``label`` over req/s of ``base`` in the same round."""
    return statistics.median(a / b for (a, _), (b, _) in zip(figures[label], figures[base], strict=True))


def same_bytes_baseline(tmp: Path, answer: httpx.Response) -> None:
    """A raw ASGI app in ``tmp`` (baseline:app) answering ``answer``'s body and headers."""
    (tmp / "baseline.py").write_text(BASELINE)
    (tmp / "body.bin").write_bytes(answer.content)
    (tmp / "headers.json").write_text(json.dumps([[k, v] for k, v in answer.headers.items()
                                                  if k not in ("date", "server", "x-mockverse-request-id")]))


def bench_serving(tmp: Path) -> None:
    """Warm GET /users/123 against a raw ASGI app serving the same bytes, on uvicorn (and granian)."""
    from mockverse.http.app import SETTINGS_ENV, Settings

    mock, port = serve(["--store", str(tmp / "state.db")], tmp)
    procs = [mock]
    try:
        url = f"http://127.0.0.1:{port}/users/123"
        answer = httpx.get(url)
        same_bytes_baseline(tmp, answer)
        base_port = free_port()
        procs.append(_stack("uvicorn", "baseline:app", base_port, tmp))
        wait_up(f"http://127.0.0.1:{base_port}/", procs[-1])
        figures = interleaved({"mock": url, "base": f"http://127.0.0.1:{base_port}/users/123"})
    finally:
        for proc in procs:
            stop(proc)
    body = answer.json()
    (base_rps, base_p99), (mock_rps, mock_p99) = medians(figures["base"]), medians(figures["mock"])
    print(f"serving (1 worker, wrk -c{CONNECTIONS} -d{DURATION}, {ROUNDS} interleaved rounds, medians; ratios: "
          f"median of the rounds' own; loopback; load average {_load()})")
    print(f"  uvicorn  raw ASGI, same {len(answer.content):,} bytes {base_rps:>10,.0f} req/s   p99 {base_p99:7.2f} ms")
    print(f"  uvicorn  GET /users/123 (warm, {len(body['orders'])} orders embedded) "
          f"{mock_rps:>10,.0f} req/s   p99 {mock_p99:7.2f} ms")
    print(f"  ratio mockverse / raw ASGI serving the same bytes  {ratio(figures, 'mock', 'base'):.2f}   "
          "(target >= 0.60)")
    if not os.path.exists(GRANIAN):
        print("  granian not measured: pip install granian")
        return
    port = free_port()
    g_base, g_base_p99 = _measure(_stack("granian", "baseline:app", port, tmp), port, "/users/123", "/")
    port = free_port()
    env = {SETTINGS_ENV: Settings(store=str(tmp / "granian.db"), log_level="warning").to_env(),
           "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    g_mock, g_mock_p99 = _measure(_stack("granian", "mockverse.http.app:app_from_env", port, tmp, env), port,
                                  "/users/123", "/api/v1/health")
    print(f"  granian  raw ASGI, same bytes          {g_base:>10,.0f} req/s   p99 {g_base_p99:7.2f} ms")
    print(f"  granian  GET /users/123 (warm)         {g_mock:>10,.0f} req/s   p99 {g_mock_p99:7.2f} ms")
    print(f"  granian / uvicorn for mockverse  {g_mock / mock_rps:.2f}  (mockverse serves on uvicorn: its "
          "connection guard, faults and signal handling are uvicorn protocol code)")


def _load() -> str:
    """The 1-minute load average, said beside figures taken on a shared machine."""
    return f"{os.getloadavg()[0]:.1f}"


def _timed(client: httpx.Client, method: str, url: str, **kwargs: object) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.request(method, url, **kwargs)  # type: ignore[arg-type]
    return (time.perf_counter() - started) * 1000, response


def bench_after_writes(tmp: Path) -> None:
    """GET /orders right after a POST /orders, and GET /users/3 right after a PATCH of another user."""
    proc, port = serve(["--store", str(tmp / "writes.db")], tmp)
    base, runs = f"http://127.0.0.1:{port}", 30
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            first, _ = _timed(client, "PATCH", "/users/1", json={"name": "First write"})
            cold, _ = _timed(client, "GET", "/orders")
            client.get("/users/3")
            after_post = []
            for i in range(runs):
                client.post("/orders", json={"userId": 5 + i, "currency": "EUR"})
                after_post.append(_timed(client, "GET", "/orders")[0])
            after_patch, warm = [], []
            for i in range(runs):
                client.patch("/users/9", json={"name": f"Nine {i}"})
                after_patch.append(_timed(client, "GET", "/users/3")[0])
                warm.append(_timed(client, "GET", "/users/3")[0])
    finally:
        stop(proc)
    print(f"reads right after writes (1 worker, SQLite, {runs} runs each, medians; machine shared with other work)")
    print(f"  the workspace's first write, then GET /orders (its caches start)  {first:7.1f} ms, {cold:7.1f} ms")
    print(f"  GET /orders right after POST /orders        {statistics.median(after_post):7.2f} ms   (target <= 5)")
    ratio = statistics.median(after_patch) / statistics.median(warm)
    print(f"  GET /users/3 right after PATCH /users/9     {statistics.median(after_patch):7.2f} ms   "
          f"warm {statistics.median(warm):.2f} ms   x{ratio:.2f}   (target <= 1.2)")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_population(tmp: Path) -> None:
    """Start-up, cold item, middle page (first: the index build; later ones), X-Total-Count, a
    count alone and RSS after touching many personas, per population."""
    from concurrent.futures import ThreadPoolExecutor

    load = os.getloadavg()
    print(f"population (1 worker, SQLite, a fresh workspace; 2-core machine shared with other work, "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f})")
    print(f"  {'personas':>10} {'start-up':>9} {'cold item':>10} {'middle page 1st':>16} {'later':>8} "
          f"{'X-Total-Count':>14} {'count ms':>9} {'RSS':>8}  after touching")
    for population in POPULATIONS:
        config = tmp / f"pop{population}.yaml"
        config.write_text(f"world:\n  entities:\n    user:\n      population: {population}\n")
        started = time.monotonic()
        proc, port = serve(["--config", str(config), "--store", str(tmp / f"pop{population}.db")], tmp)
        up = time.monotonic() - started
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=3600) as client:
                item, _ = _timed(client, "GET", f"/users/{population // 2 + 1}")
                middle = max(1, population * 25 // 20 // 2)
                first, answer = _timed(client, "GET", f"/orders?_page={middle}")
                later = statistics.median(_timed(client, "GET", f"/orders?_page={page}")[0]   # 5 other pages
                                          for page in (middle + 7, middle - 3, middle // 2 + 1, middle * 3 // 2, 1))
                counted, _ = _timed(client, "GET", f"/orders?_page={middle + 13}&_per_page=1")
                total = answer.headers.get("x-total-count", "?")
                touch = min(population, TOUCH)
                step = max(1, population // touch)
                ids = [1 + i * step for i in range(touch)]
                with ThreadPoolExecutor(8) as pool:
                    list(pool.map(lambda id: client.get(f"/users/{id}/billing"), ids))
                rss = _rss_mb(proc.pid)
        finally:
            stop(proc)
        print(f"  {population:>10,} {up:>8.1f}s {item:>8.1f}ms {first / 1000:>15.2f}s {later:>6.1f}ms "
              f"{total:>14} {counted:>9.1f} {rss:>6.0f}MB  {touch:,} personas (GET /users/{{id}}/billing)")


def serve(args: list[str], tmp: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mockverse", "serve", "--port", str(port), "--log-level", "warning",
                             *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
    wait_up(f"http://127.0.0.1:{port}/api/v1/health", proc)
    return proc, port


def bench_scaling(tmp: Path) -> None:
    """Warm req/s of 1 vs 2 workers (shared SQLite) beside the raw ASGI app's own 1 vs 2 workers
    (what the machine allows), and the Redis store vs SQLite (1 worker), interleaved."""
    procs: list[subprocess.Popen] = []
    urls: dict[str, str] = {}
    redis_server = shutil.which("redis-server")
    try:
        for label, args in (("1 worker, SQLite", ["--store", str(tmp / "a.db")]),
                            ("2 workers, SQLite", ["--workers", "2", "--store", str(tmp / "b.db")])):
            proc, port = serve(args, tmp)
            procs.append(proc)
            urls[label] = f"http://127.0.0.1:{port}/users/123"
        if redis_server:
            redis_port = free_port()
            procs.append(subprocess.Popen([redis_server, "--port", str(redis_port), "--bind", "127.0.0.1", "--save",
                                           "", "--appendonly", "no", "--dir", str(tmp)], stdout=subprocess.DEVNULL))
            time.sleep(0.5)
            proc, port = serve(["--store", f"redis://127.0.0.1:{redis_port}/0", "--redis-volatile"], tmp)
            procs.append(proc)
            urls["1 worker, Redis"] = f"http://127.0.0.1:{port}/users/123"
        answer = httpx.get(urls["1 worker, SQLite"])
        same_bytes_baseline(tmp, answer)
        for label, workers in (("raw ASGI, 1 worker", 1), ("raw ASGI, 2 workers", 2)):
            port = free_port()
            procs.append(_stack("uvicorn", "baseline:app", port, tmp, workers=workers))
            wait_up(f"http://127.0.0.1:{port}/", procs[-1])
            urls[label] = f"http://127.0.0.1:{port}/users/123"
        for url in urls.values():
            httpx.get(url)
        figures = interleaved(urls)
    finally:
        for proc in reversed(procs):
            stop(proc)
    print(f"scaling (warm GET /users/123, wrk -c{CONNECTIONS} -d{DURATION}, {ROUNDS} interleaved rounds, medians; "
          f"ratios: median of the rounds' own; 2-core machine, wrk on the same cores; load average {_load()})")
    for label, runs in figures.items():
        rps, p99 = medians(runs)
        print(f"  {label:<20} {rps:>10,.0f} req/s   p99 {p99:7.2f} ms")
    ceiling = ratio(figures, "raw ASGI, 2 workers", "raw ASGI, 1 worker")
    print(f"  2 workers / 1 worker, mockverse  {ratio(figures, '2 workers, SQLite', '1 worker, SQLite'):.2f}   "
          f"(target >= 1.70; the raw ASGI app's own, what this machine allows: {ceiling:.2f})")
    if redis_server:
        print(f"  Redis / SQLite, 1 worker         {ratio(figures, '1 worker, Redis', '1 worker, SQLite'):.2f}   "
              "(target >= 0.60)")
    else:
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
        stop(proc)
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
    print("mockverse check on the corpus (load: build the world; check: walk it, then a second build; "
          "cpu: the process's user + sys seconds)")
    print(f"  {'spec':<30} {'load':>8} {'check':>8} {'cpu':>8}  overall")
    total = cpu_total = 0.0
    for spec in sorted(p for p in specs.iterdir() if p.suffix in (".json", ".yaml")):
        started, before = time.perf_counter(), _children_cpu()
        try:
            done = subprocess.run([sys.executable, "-m", "mockverse", "check", "--spec", str(spec), "--json"],
                                  check=False, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            total += time.perf_counter() - started
            print(f"  {spec.name:<30} {'-':>8} {'>' + str(timeout) + 's':>8}  timed out")
            continue
        total += time.perf_counter() - started
        cpu = _children_cpu() - before
        cpu_total += cpu
        if done.returncode == 2:
            print(f"  {spec.name:<30} {'-':>8} {'-':>8} {cpu:>7.2f}s  does not load: {done.stderr.strip()[-80:]}")
            continue
        report = json.loads(done.stdout)
        timings, overall = report["timings"], report["overall"]
        print(f"  {spec.name:<30} {timings['load']:>7.2f}s {timings['check']:>7.2f}s {cpu:>7.2f}s  "
              f"{overall['passed']}/{overall['total']} ({overall['score']:.1%})")
    print(f"  total wall time (19 processes, imports included) {total:.1f} s; CPU (user + sys) {cpu_total:.1f} s")


def _children_cpu() -> float:
    """User + sys CPU seconds of this process's finished children (less distorted by a busy machine than wall time)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    if "--check" in sys.argv:   # `python bench/bench.py --check`: only the corpus check timings
        bench_check()
        return
    if "--engine" in sys.argv:   # only the serving, write, population and scaling figures
        with tempfile.TemporaryDirectory() as tmp:
            for figures in (bench_serving, bench_after_writes, bench_population, bench_scaling):
                figures(Path(tmp))
        return
    if "--population" in sys.argv:   # only the population table
        with tempfile.TemporaryDirectory() as tmp:
            bench_population(Path(tmp))
        return
    if "--hostile" in sys.argv:   # only the hostile-spec figures
        with tempfile.TemporaryDirectory() as tmp:
            bench_hostile_specs(Path(tmp))
        return
    if shutil.which("wrk") is None:
        raise SystemExit("make bench needs wrk (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        bench_serving(Path(tmp))
        bench_after_writes(Path(tmp))
        bench_population(Path(tmp))
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
