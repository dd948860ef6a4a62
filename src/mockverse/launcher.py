"""Start a server process on a loopback port and wait until it answers: the one launcher behind the
pytest plugin's ``mockverse_live`` fixture, the test suite's server fixtures and ``make bench``."""

from __future__ import annotations

import functools
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

HEALTH = "/api/v1/health"
POLL = 0.02   # seconds between readiness polls: a refused connect costs next to nothing


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the kernel picks it)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS context, made once per process: a client given it starts in microseconds, where
    each new default one loads the CA bundle again (tens of milliseconds of CPU)."""
    return httpx.create_ssl_context()


def mockverse_command(*args: str) -> list[str]:
    """``python -m mockverse ARGS`` with this interpreter, so a child runs the same code and venv."""
    return [sys.executable, "-m", "mockverse", *args]


class ServerProcess:
    """One server process (any command line) whose output goes to ``log_path``; ``start`` returns once
    ``url + health`` answers 200 (or any answer with ``health_status=None``) and fails with the log
    when the process exits or does not answer ``within`` seconds."""

    def __init__(self, command: Sequence[str], url: str, log_path: Path, *, cwd: Path | None = None,
                 env: Mapping[str, str] | None = None, health: str = HEALTH, health_status: int | None = 200) -> None:
        self.command, self.url, self.log_path = list(command), url, log_path
        self.cwd = cwd or log_path.parent
        self.env = dict(env) if env is not None else dict(os.environ)
        self.health, self.health_status = health, health_status
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, within: float = 60) -> ServerProcess:
        """Spawn the command and wait until its health check answers."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                         cwd=self.cwd)
        self.wait_ready(within)
        return self

    def wait_ready(self, within: float = 60) -> None:
        """Poll the health URL until it answers; raise with the log if the process exits first or never answers.
        One client serves every poll (a new one per poll costs more CPU than the server's own start)."""
        deadline = time.monotonic() + within
        with httpx.Client(timeout=1, trust_env=False, verify=tls_context()) as client:
            while time.monotonic() < deadline:
                if self.proc is None or self.proc.poll() is not None:
                    code = None if self.proc is None else self.proc.returncode
                    raise RuntimeError(f"{' '.join(self.command)} exited with {code}:\n{self.log()}")
                if self._answers(client):
                    return
                time.sleep(POLL)
        raise RuntimeError(f"{' '.join(self.command)} did not answer {self.url}{self.health} in {within} s:\n"
                           f"{self.log()}")

    def _answers(self, client: httpx.Client) -> bool:
        """Whether the health URL gives the expected answer now."""
        try:
            status = client.get(f"{self.url}{self.health}").status_code
        except httpx.HTTPError:
            return False
        return self.health_status is None or status == self.health_status

    def log(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def running(self) -> bool:
        """Whether the process was started and has not exited."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int | None:
        """Send ``sig`` and wait for the exit (SIGKILL after ``timeout`` s); the exit code, None if never started."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def mockverse_server(directory: Path, *args: str, command: str = "serve", port: int | None = None,
                     env: Mapping[str, str] | None = None) -> ServerProcess:
    """``mockverse COMMAND --port P ARGS`` on loopback, logging to ``directory/server-P.log`` (not started)."""
    port = port or free_port()
    return ServerProcess(mockverse_command(command, "--port", str(port), *args), f"http://127.0.0.1:{port}",
                         directory / f"server-{port}.log", env=env)
