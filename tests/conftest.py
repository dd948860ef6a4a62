"""Test harness: real mockverse server processes on free loopback ports."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
# shared/ lies beside the checkout (CI copies it there); a clone elsewhere uses the workplace's copy
SHARED = ROOT.parent / "shared" if (ROOT.parent / "shared" / "specs").is_dir() else Path("/work/shared")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class Server:
    """One `python -m mockverse serve` process; talk to it over HTTP with `.client`."""

    def __init__(self, tmp: Path, *args: str, store: Path | None = None, seed: str = "42", env: dict | None = None,
                 command: str = "serve"):
        self.port = free_port()
        self.store = store or tmp / "state.db"
        self.args = [command, "--port", str(self.port), "--store", str(self.store), "--seed", seed, *args]
        self.log_path = tmp / f"server-{self.port}.log"
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def start(self, within: float = 30) -> Server:
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "mockverse", *self.args], stdout=self.log_file,
                                     stderr=subprocess.STDOUT, env=self.env, cwd=self.log_path.parent)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log_file", None):
            self.log_file.close()

    def restart(self) -> Server:
        self.stop()
        return self.start()


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
    """A built-in world server shared by the tests of one module (fresh store per module)."""
    s = Server(tmp_path_factory.mktemp("server")).start()
    yield s
    s.stop()


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port for one test (installed by `make test` under CI)."""
    server = RedisServer(redis_binary(), tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def app_client(tmp_path) -> Iterator:
    """In-process clients over the ASGI app (no socket, no process): ``app_client()`` is the built-in
    world; ``app_client(spec=..., config=..., seed=...)`` any other. Lifespan runs; each call gets its
    own SQLite file under tmp_path. Use it for behaviour that is about HTTP, not about processes."""
    from starlette.testclient import TestClient

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
