"""pytest plugin (registered by the package's entry point): a ``mockverse`` fixture.

    def test_churn_risk_gets_an_offer(mockverse):
        mockverse.persona("user:123").set_state("ChurnRisk")
        assert mockverse.get("/users/123/billing").json()["discount_offer_available"] is True

The fixture starts ``mockverse serve`` on a free loopback port (a real server process) and
stops it after the test. Configure it with ini options (``mockverse_spec``,
``mockverse_config``, ``mockverse_seed``, ``mockverse_scope`` = function | module |
session) or per test with ``@pytest.mark.mockverse(spec=..., config=..., seed=...)``
(function scope only).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("mockverse_spec", "OpenAPI spec served by the mockverse fixture (default: the built-in world)")
    parser.addini("mockverse_config", "config file for the mockverse fixture")
    parser.addini("mockverse_seed", "world seed for the mockverse fixture", default="42")
    parser.addini("mockverse_scope", "scope of the mockverse fixture: function, module or session", default="function")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mockverse(spec=None, config=None, seed=None): configure the mockverse fixture")


class Persona:
    """Admin-API calls about one persona."""

    def __init__(self, server: "MockverseServer", ref: str) -> None:
        self.server, self.ref = server, ref

    def set_state(self, state: str, metadata: dict | None = None) -> dict:
        body: dict[str, Any] = {"workspace_id": self.server.workspace, "persona_id": self.ref, "lifecycle_state": state}
        if metadata is not None:
            body["metadata"] = metadata
        return self.server._ok(self.server.client.post("/api/v1/consistency/persona/lifecycle", json=body))

    def lifecycle(self) -> dict:
        return self.server._ok(self.server.client.get(f"/api/v1/consistency/persona/{self.ref}/lifecycle"))


class Clock:
    """Admin-API calls on the workspace's virtual clock."""

    def __init__(self, server: "MockverseServer") -> None:
        self.server = server

    def advance(self, by: str) -> dict:
        return self.server._ok(self.server.client.post("/api/v1/consistency/clock/advance", json={"by": by}))

    def set(self, to: str) -> dict:
        return self.server._ok(self.server.client.post("/api/v1/consistency/clock/set", json={"to": to}))

    def reset(self) -> dict:
        return self.server._ok(self.server.client.post("/api/v1/consistency/clock/reset",
                                                       headers={"Content-Type": "application/json"}))

    @property
    def now(self) -> str:
        return self.server._ok(self.server.client.get("/api/v1/consistency/clock"))["now"]


class MockverseServer:
    """A running mockverse: its ``url``, an httpx ``client``, and helpers for the admin API."""

    def __init__(self, spec: str | None, config: str | None, seed: str, directory: Path,
                 workspace: str = "default") -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.workspace = workspace
        args = [sys.executable, "-m", "mockverse", "serve", "--port", str(self.port), "--seed", str(seed),
                "--store", str(directory / "state.db"), "--log-level", "warning"]
        if spec:
            args += ["--spec", spec]
        if config:
            args += ["--config", config]
        self.log_path = directory / "mockverse.log"
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT)
        self.client = httpx.Client(base_url=self.url, timeout=30,
                                   headers={"X-Mockverse-Workspace": workspace})
        self.clock = Clock(self)
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mockverse exited ({self.proc.returncode}): {self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"mockverse did not start: {self.log_path.read_text()}")

    def _ok(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise AssertionError(f"{response.request.method} {response.request.url.path} -> "
                                 f"{response.status_code}: {response.text}")
        return response.json() if response.content else None

    def persona(self, ref: str) -> Persona:
        return Persona(self, ref)

    def requests(self, path: str | None = None, method: str | None = None, status: int | None = None) -> list[dict]:
        """What the system under test sent, from the request journal (WireMock-style verification)."""
        params = {k: v for k, v in (("path", path), ("method", method), ("status", status)) if v is not None}
        return self._ok(self.client.get("/api/v1/requests", params=params))["requests"]

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.post(path, **kwargs)

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log.close()


def _scope(fixture_name: str, config: pytest.Config) -> str:
    scope = config.getini("mockverse_scope") or "function"
    if scope not in ("function", "module", "session"):
        raise pytest.UsageError(f"mockverse_scope must be function, module or session, not {scope!r}")
    return scope


@pytest.fixture(scope=_scope)
def mockverse(request: pytest.FixtureRequest) -> Iterator[MockverseServer]:
    """A mockverse server for the test (or module/session, per ``mockverse_scope``)."""
    ini = request.config.getini
    options = {"spec": ini("mockverse_spec") or None, "config": ini("mockverse_config") or None,
               "seed": ini("mockverse_seed") or "42"}
    marker = request.node.get_closest_marker("mockverse") if request.scope == "function" else None
    if marker is not None:
        options.update({k: v for k, v in marker.kwargs.items() if v is not None})
    root = Path(str(request.config.rootpath))
    for key in ("spec", "config"):
        if options[key] and not os.path.isabs(options[key]):
            options[key] = str(root / options[key])
    with tempfile.TemporaryDirectory(prefix="mockverse-") as directory:
        server = MockverseServer(options["spec"], options["config"], str(options["seed"]), Path(directory))
        try:
            yield server
        finally:
            server.stop()
