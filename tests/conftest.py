"""Test harness: the app in process (`app_client`, `app_server`), and real processes (mockverse, Redis) on loopback."""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import os
import resource
import shutil
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# pytester's in-process runs drop the modules they imported when they end: numpy refuses a second import in
# one process, and httpx maps the exceptions of the httpcore it first saw (a re-imported httpcore's connection
# errors would escape as httpcore's own); both are loaded here, before any such run
import httpcore  # noqa: F401
import httpx
import numpy  # noqa: F401
import pytest

from mockverse.launcher import ServerProcess, free_port, mockverse_command, tls_context
from mockverse.world.generate import Generator

with warnings.catch_warnings():
    warnings.simplefilter("ignore")   # starlette asks for httpx2 in its TestClient; httpx works the same
    from starlette.testclient import TestClient

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
# shared/ lies beside the checkout (CI copies it there); a clone elsewhere uses the workplace's copy
SHARED = ROOT.parent / "shared" if (ROOT.parent / "shared" / "specs").is_dir() else Path("/work/shared")


class RedisServer:
    """One ``redis-server`` process on loopback keeping an append-only file (as mockverse requires;
    ``appendfsync`` as given, no RDB snapshots), stopped and restarted on the same port and directory,
    or started with ``persist=False`` (no AOF) to see mockverse refuse it."""

    def __init__(self, binary: str, directory: Path, appendfsync: str = "everysec", persist: bool = True) -> None:
        self.binary = binary
        self.directory = directory
        self.appendfsync, self.persist = appendfsync, persist
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        log = open(self.directory / "redis.log", "ab")
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes" if self.persist else "no", "--appendfsync", self.appendfsync,
             "--dir", str(self.directory)], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {(self.directory / 'redis.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """``kill -9``: Redis gets no chance to write anything more."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def flush(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(b"FLUSHALL\r\n")
            assert s.recv(16).startswith(b"+OK")


def redis_binary() -> str:
    """The redis-server binary; under CI a missing one is a failure, elsewhere a skip."""
    binary = shutil.which("redis-server")
    if binary:
        return binary
    message = "redis-server is not installed: apt-get install redis-server (scripts/ci-deps.sh does it under CI)"
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(message)
    pytest.skip(message)


class Server(ServerProcess):
    """One `python -m mockverse serve` process (the package's launcher); talk to it over HTTP with `.client`."""

    def __init__(self, tmp: Path, *args: str, store: Path | None = None, seed: str = "42", env: dict | None = None,
                 command: str = "serve"):
        self.port = free_port()
        self.store = store or tmp / "state.db"
        self.args = [command, "--port", str(self.port), "--store", str(self.store), "--seed", seed, *args]
        super().__init__(mockverse_command(*self.args), f"http://127.0.0.1:{self.port}",
                         tmp / f"server-{self.port}.log", env={**os.environ, **(env or {})})
        self.client = httpx.Client(base_url=self.url, timeout=120, verify=tls_context())   # busy is slow, not broken

    def start(self, within: float = 60) -> Server:
        super().start(within)
        return self

    def restart(self) -> Server:
        self.stop()
        return self.start()


SLOW_TESTS = Path(__file__).with_name("slow_tests.txt")
PROCESS_FIXTURES = {"start_server", "live_server", "redis_server", "mockverse_live"}
PROCESS_MODULES = {"test_check_corpus.py", "test_fuzz.py"}
PROCESS_SECONDS = 1.0   # what an unlisted test of a process, Redis, a corpus check or a fuzzer is taken to take


def known_seconds(path: Path = SLOW_TESTS) -> dict[str, float]:
    """The recorded seconds of the known-slow tests: ``SECONDS NODEID`` lines of tests/slow_tests.txt."""
    seconds: dict[str, float] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            figure, nodeid = line.split(maxsplit=1)
            seconds[nodeid] = float(figure)
    return seconds


def xdist_group(item: pytest.Item) -> str | None:
    """The ``xdist_group`` an item is marked with (``--dist loadgroup`` runs a group on one worker), if any."""
    mark = item.get_closest_marker("xdist_group")
    if mark is None:
        return None
    return str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))


def scheduled(items: list[pytest.Item], seconds: dict[str, float]) -> list[pytest.Item]:
    """Items in the order the workers should get them: tests taking seconds first, slowest first (a list
    that xdist hands out in order then ends on quick tests, not on one long test started late), then
    the rest in collected order. Slow tests of one module (or one xdist group) stay together, slowest
    first, so a module's shared fixture (the corpus forkserver, a browser, a group's server) is built
    once per worker; blocks go by their slowest test."""
    def weight(item: pytest.Item) -> float:
        group = xdist_group(item)
        nodeid = item.nodeid.removesuffix(f"@{group}") if group else item.nodeid
        if nodeid in seconds:
            return seconds[nodeid]
        processes = ("process" in item.path.parts or item.path.name in PROCESS_MODULES
                     or not PROCESS_FIXTURES.isdisjoint(getattr(item, "fixturenames", ())))
        return PROCESS_SECONDS if processes else 0.0

    weights = [weight(item) for item in items]
    blocks = [xdist_group(item) or str(item.path) for item in items]
    heaviest: dict[str, float] = {}
    for block, figure in zip(blocks, weights, strict=True):
        heaviest[block] = max(heaviest.get(block, 0.0), figure)
    grouped = {xdist_group(item) for item in items} - {None}

    def key(i: int) -> tuple:
        if weights[i] or (blocks[i] in grouped and heaviest[blocks[i]]):   # a group moves whole
            return (0, -heaviest[blocks[i]], blocks[i], -weights[i], i)
        return (1, 0.0, "", 0.0, i)

    return [items[i] for i in sorted(range(len(items)), key=key)]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the slow tests first, slowest first (``scheduled``), after every other plugin has ordered them."""
    items[:] = scheduled(items, known_seconds())


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection built (test modules, items, the libraries they import) lives until the run ends: it is
    frozen out of the garbage collector's reach, so each full collection during the tests walks only what the
    tests made (about half of the collector's CPU time)."""
    gc.collect()
    gc.freeze()


@pytest.fixture
def start_server(tmp_path):
    """Factory: start_server(*cli_args, seed=..., store=...) -> a running Server, stopped after the test."""
    servers: list[Server] = []

    def start(*args: str, **kwargs) -> Server:
        directory = tmp_path / f"s{len(servers)}"
        directory.mkdir()
        server = Server(directory, *args, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The built-in world in process (an AppServer), shared by the tests of one module (fresh store per module)."""
    s = AppServer(tmp_path_factory.mktemp("server"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """A built-in world `mockverse serve` process shared by the tests of one module, for what needs a real
    socket or process (a browser, raw sockets, the startup log, the bound address)."""
    s = Server(tmp_path_factory.mktemp("live")).start()
    yield s
    s.stop()


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port for one test (installed by `make test` under CI)."""
    server = RedisServer(redis_binary(), tmp_path).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def module_redis(tmp_path_factory) -> Iterator[RedisServer]:
    """A redis-server shared by the tests of one module; `store_url` flushes it before each test."""
    server = RedisServer(redis_binary(), tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request, tmp_path) -> str:
    """Where a fresh, empty store lives, for each implementation (the store tests run on both)."""
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    server = request.getfixturevalue("module_redis")
    server.flush()
    return server.url


class AppServer:
    """The app a `mockverse serve` command line would serve, in process (no socket, no process), with what
    `Server` offers: `.client` (a Starlette TestClient), `.store`, `.log()` (what the app logged) and
    `.restart()` (a new app on the same store). For behaviour about HTTP, not about processes."""

    url = "http://127.0.0.1:3000"

    def __init__(self, tmp: Path, *args: str, store: Path | None = None, seed: str = "42", command: str = "serve",
                 logs: pytest.LogCaptureFixture | None = None, **create: Any) -> None:
        from mockverse.cli import _parser, serve_settings

        self.store = store or tmp / "state.db"
        parsed = _parser().parse_args([command, "--store", str(self.store), "--seed", seed, *args])
        self.settings, self.create, self.logs = serve_settings(parsed), create, logs
        self.current, self.stopped = self._client(), False
        self.client: Any = _Current(self)

    def _client(self) -> TestClient:
        """A TestClient over a freshly built app, its lifespan started."""
        from mockverse.http.app import create_app

        client = TestClient(create_app(self.settings, **self.create), base_url=self.url)
        client.__enter__()
        return client

    @property
    def app(self) -> Any:
        return self.current.app

    def log(self) -> str:
        """What the app logged so far (every record at INFO and above)."""
        return self.logs.text if self.logs is not None else ""

    def stop(self) -> None:
        """Run the app's lifespan shutdown (closes the store); a second stop does nothing."""
        if not self.stopped:
            self.current.__exit__(None, None, None)
            self.stopped = True

    def restart(self) -> AppServer:
        """Stop the app (lifespan shutdown) and build a new one on the same store and settings."""
        self.stop()
        self.current, self.stopped = self._client(), False
        return self


class _Current:
    """`AppServer.client`: the TestClient of the server's current app, so a client kept across a restart
    talks to the new app (as an HTTP client of a restarted process would)."""

    def __init__(self, server: AppServer) -> None:
        self.server = server

    def __getattr__(self, name: str) -> Any:
        return getattr(self.server.current, name)


@pytest.fixture
def app_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator:
    """Factory with `start_server`'s signature, in process: app_server(*serve_args, seed=..., store=...,
    env={...}) -> an AppServer (env is set for the test; create_app keywords such as wall_clock pass through)."""
    caplog.set_level(logging.INFO)
    servers: list[AppServer] = []

    def start(*args: str, env: dict[str, str] | None = None, **kwargs: Any) -> AppServer:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        directory = tmp_path / f"app{len(servers)}"
        directory.mkdir()
        server = AppServer(directory, *args, logs=caplog, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def app_client(tmp_path) -> Iterator:
    """In-process clients over the ASGI app (no socket, no process): ``app_client()`` is the built-in
    world; ``app_client(spec=..., config=..., seed=...)`` any other. Lifespan runs; each call gets its
    own SQLite file under tmp_path. Use it for behaviour that is about HTTP, not about processes."""
    from mockverse.http.app import Settings, create_app

    clients: list[TestClient] = []

    def make(spec: str | os.PathLike | None = None, config: str | os.PathLike | None = None, seed: int | str = 42,
             store: str | os.PathLike | None = None, **settings) -> TestClient:
        store = store or tmp_path / f"state{len(clients)}.db"
        app = create_app(Settings(spec=str(spec) if spec else None, config=str(config) if config else None,
                                  seed=str(seed), store=str(store), **settings))
        client = TestClient(app, base_url="http://127.0.0.1:3000")
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def run_main(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``mockverse ARGS`` run by its ``main`` in this process (in ``cwd``, with
    ``env`` added to the environment), for
    command lines whose own output is the point (help, a refused config, an import); one that would serve fails.
    What `serve` sets up for a process (the root log handler and levels, the open-file limit, signal handlers)
    is put back afterwards, so the test process is as it was."""
    import uvicorn

    from mockverse.cli import main

    def never_serves(*_: object, **__: object) -> None:
        raise AssertionError(f"mockverse {' '.join(args)} started serving")

    out, err = io.StringIO(), io.StringIO()
    with _process_state_kept(), pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        patch.setattr(uvicorn, "run", never_serves)
        if cwd is not None:
            patch.chdir(cwd)
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        try:
            code = main(list(args))
        except SystemExit as exit:   # argparse ends --help (and a usage error) with SystemExit
            code = exit.code if isinstance(exit.code, int) else 1
    return code, out.getvalue(), err.getvalue()


LOGGERS = ("", "mockverse", "uvicorn", "uvicorn.error", "uvicorn.asgi", "uvicorn.access")


@contextlib.contextmanager
def _process_state_kept() -> Iterator[None]:
    """Restore the loggers `setup_logging` changes, RLIMIT_NOFILE and the SIGTERM/SIGINT handlers on exit."""
    loggers = [logging.getLogger(name) for name in LOGGERS]
    saved = [(logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for logger, (kept, level, propagate) in zip(loggers, saved, strict=True):
            logger.handlers[:], logger.propagate = kept, propagate
            logger.setLevel(level)
        resource.setrlimit(resource.RLIMIT_NOFILE, nofile)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def required_value(param: Any) -> str:
    """A value a required query parameter or header accepts, drawn by the world's own generator
    from its schema (the server checks required parameters as Prism does)."""
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    value = Generator("42/default").value(param.schema or {"type": "string"}, f"param:{param.name}", "$", param.name,
                                          {"created_at": epoch, "now": epoch, "person": False, "fields": {}})
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value).lower() if isinstance(value, bool) else str(value)
