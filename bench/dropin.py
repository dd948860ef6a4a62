"""`make bench` figures for mockverse as a drop-in for test suites: workspaces, ids, fixtures.

Each figure runs in its own Python process, so resident memory is that process's own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FLOOD = '''
import asyncio, resource, statistics, sys, time
from mockverse.in_process import World

N = int(sys.argv[1])

def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

async def main() -> None:
    app = World.builtin(seed=42, store=sys.argv[2]).asgi_app()
    async with app.router.lifespan_context(app):
        status = []
        async def get(path: str, workspace: bytes = b"default") -> float:
            scope = {"type": "http", "http_version": "1.1", "method": "GET", "scheme": "http", "path": path,
                     "raw_path": path.encode(), "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
                     "server": ("127.0.0.1", 3000), "headers": [(b"x-mockverse-workspace", workspace)]}
            async def receive():
                return {"type": "http.request", "body": b"", "more_body": False}
            async def send(message):
                if message["type"] == "http.response.start":
                    status.append(message["status"])
            start = time.perf_counter()
            await app(scope, receive, send)
            return time.perf_counter() - start
        await get("/users/1")
        cached = statistics.median([await get("/users/1") for _ in range(2000)])
        print(f"  RSS after start and one read   {rss_mb():8.1f} MB")
        first = [await get("/users/1", f"ws-{n}".encode()) for n in range(N)]
        print(f"  RSS after {N:,} distinct workspaces (GET /users/1 in each) {rss_mb():8.1f} MB   "
              f"first read in a new workspace: median {statistics.median(first) * 1e3:.3f} ms, "
              f"a cached read {cached * 1e3:.3f} ms")
        ids = [await get(f"/users/{n}") for n in range(1, N + 1)]
        print(f"  RSS after {N:,} distinct ids (GET /users/1..{N:,}; 1,000 exist) {rss_mb():8.1f} MB   "
              f"median {statistics.median(ids) * 1e3:.3f} ms; statuses {sorted(set(status))}")

asyncio.run(main())
'''

CONFTEST = '''
import json, os, time
import pytest

TIMES = {"setup": [], "teardown": []}

@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    start = time.perf_counter()
    try:
        return (yield)
    finally:
        TIMES["setup"].append(time.perf_counter() - start)

@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    start = time.perf_counter()
    try:
        return (yield)
    finally:
        TIMES["teardown"].append(time.perf_counter() - start)

def pytest_sessionfinish(session):
    with open(os.environ["FIXTURE_TIMES"], "w") as f:
        json.dump(TIMES, f)
'''

TEST = '''
def test_order_{n}(mockverse):
    created = mockverse.post("/orders", json={{"user_id": {user}}})
    assert created.status_code == 201
    assert mockverse.get(f"/orders/{{created.json()['id']}}").json()["user_id"] == {user}
'''


def bench_workspaces(n: int = 100_000) -> None:
    """Resident memory after a flood of distinct workspaces, then of distinct ids (in process, raw ASGI)."""
    print(f"workspaces and ids (in-process ASGI calls, built-in world, {n:,} each)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-c", FLOOD, str(n), str(Path(tmp) / "state.db")], check=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT / "src")})


def bench_fixtures(tests: int = 200) -> None:
    """The default ``mockverse`` fixture: setup + teardown per test, and a file of tests that each
    create and read an order, run by pytest in a subprocess (wall clock, startup included)."""
    import json
    import statistics

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "conftest.py").write_text(textwrap.dedent(CONFTEST))
        (directory / "test_orders.py").write_text("".join(TEST.format(n=n, user=n % 1000 + 1) for n in range(tests)))
        times = directory / "times.json"
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(directory)],
                              cwd=directory, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "FIXTURE_TIMES": str(times)})
        wall = time.perf_counter() - start
        tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
        measured = json.loads(times.read_text())
    per_test = [s + t for s, t in zip(measured["setup"][1:], measured["teardown"][1:], strict=True)]
    print(f"pytest fixture `mockverse` (in process, a fresh workspace per test; {tail})")
    print(f"  first setup (builds the session's world)   {measured['setup'][0] * 1e3:8.1f} ms")
    print(f"  setup + teardown per test after it          median {statistics.median(per_test) * 1e3:.2f} ms, "
          f"max {max(per_test) * 1e3:.2f} ms   (target <= 20 ms)")
    print(f"  {tests} tests that each create and read an order   {wall:.2f} s wall, pytest start included "
          "(target <= 5 s)")


if __name__ == "__main__":
    bench_workspaces(int(os.environ.get("BENCH_FLOOD", "100000")))
    bench_fixtures()
