"""pytest plugin (registered by the package's entry point): the ``mockverse`` fixtures.

    def test_churn_risk_gets_an_offer(mockverse):
        mockverse.persona("user:123").set_state("ChurnRisk")
        assert mockverse.get("/users/123/billing").json()["discount_offer_available"] is True

``mockverse`` serves the world in process (no socket, no server process): one world per
test session (per xdist worker), and a fresh workspace of it per test, forked from the
same base world (same seed, same generated data) with its own changes only, so one test's
writes never reach another and ``pytest -n 4`` works. ``mockverse_live`` is the same on
a real loopback port, for clients that need a URL: one ``mockverse serve`` process per
session, a fresh workspace per test. Configure both with ini options (``mockverse_spec``,
``mockverse_config``, ``mockverse_seed``) or per test with
``@pytest.mark.mockverse(spec=..., config=..., seed=...)`` (each distinct choice gets its
own world, built once per session).
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockverse.launcher import mockverse_server, tls_context

Options = tuple[str | None, str | None, str]   # spec, config, seed


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("mockverse_spec", "OpenAPI spec served by the mockverse fixtures (default: the built-in world)")
    parser.addini("mockverse_config", "config file for the mockverse fixtures")
    parser.addini("mockverse_seed", "world seed for the mockverse fixtures", default="42")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mockverse(spec=None, config=None, seed=None): configure the mockverse fixtures")


class Persona:
    """Admin-API calls about one persona."""

    def __init__(self, mock: Mockverse, ref: str) -> None:
        self.mock, self.ref = mock, ref

    def set_state(self, state: str, metadata: dict | None = None) -> dict:
        body: dict[str, Any] = {"workspace_id": self.mock.workspace, "persona_id": self.ref, "lifecycle_state": state}
        if metadata is not None:
            body["metadata"] = metadata
        return self.mock._ok(self.mock.client.post("/api/v1/consistency/persona/lifecycle", json=body))

    def lifecycle(self) -> dict:
        return self.mock._ok(self.mock.client.get(f"/api/v1/consistency/persona/{self.ref}/lifecycle"))


class Clock:
    """Admin-API calls on the workspace's virtual clock."""

    def __init__(self, mock: Mockverse) -> None:
        self.mock = mock

    def advance(self, by: str) -> dict:
        return self.mock._ok(self.mock.client.post("/api/v1/consistency/clock/advance", json={"by": by}))

    def set(self, to: str) -> dict:
        return self.mock._ok(self.mock.client.post("/api/v1/consistency/clock/set", json={"to": to}))

    def reset(self) -> dict:
        return self.mock._ok(self.mock.client.post("/api/v1/consistency/clock/reset",
                                                   headers={"Content-Type": "application/json"}))

    @property
    def now(self) -> str:
        return self.mock._ok(self.mock.client.get("/api/v1/consistency/clock"))["now"]


class Mockverse:
    """One test's workspace of a world: an httpx ``client`` bound to it, its ``url``, and
    helpers for the admin API (personas, the clock, the request journal, reset)."""

    def __init__(self, client: httpx.Client, url: str, workspace: str) -> None:
        self.client, self.url, self.workspace = client, url, workspace
        self.clock = Clock(self)

    def _ok(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise AssertionError(f"{response.request.method} {response.request.url.path} -> "
                                 f"{response.status_code}: {response.text}")
        return response.json() if response.content else None

    def persona(self, ref: str) -> Persona:
        return Persona(self, ref)

    def requests(self, path: str | None = None, method: str | None = None, status: int | None = None) -> list[dict]:
        """What the system under test sent to this workspace, from the request journal (WireMock-style)."""
        params = {k: v for k, v in (("path", path), ("method", method), ("status", status),
                                    ("workspace", self.workspace)) if v is not None}
        return self._ok(self.client.get("/api/v1/requests", params=params))["requests"]

    def reset(self) -> dict:
        """Drop this workspace's changes, clock and recordings (``POST /api/v1/workspaces/{ws}/reset``)."""
        return self._ok(self.client.post(f"/api/v1/workspaces/{self.workspace}/reset",
                                         headers={"Content-Type": "application/json"}))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.post(path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.put(path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.patch(path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.delete(path, **kwargs)


class _Worlds:
    """The session's base worlds, one per distinct (spec, config, seed), each built once and
    served to every test through a workspace of its own."""

    def __init__(self) -> None:
        self.names = itertools.count(1)
        self.worlds: dict[Options, Any] = {}   # mockverse.in_process.World, imported when first asked for
        self.servers: dict[Options, LiveServer] = {}
        self.directory = tempfile.TemporaryDirectory(prefix="mockverse-")

    def workspace(self) -> str:
        """A workspace name no other test of this process used (xdist workers each have their own world)."""
        return f"test-{next(self.names)}"

    def in_process(self, options: Options) -> Mockverse:
        world = self.worlds.get(options)
        if world is None:
            from mockverse.in_process import World

            spec, config, seed = options
            world = self.worlds[options] = World.from_spec(spec, seed=seed, config=config)
        workspace = self.workspace()
        return Mockverse(world.client(workspace=workspace), "http://mockverse", workspace)

    def live(self, options: Options) -> Mockverse:
        server = self.servers.get(options)
        if server is None:
            directory = Path(self.directory.name) / f"live-{len(self.servers)}"
            directory.mkdir()
            server = self.servers[options] = LiveServer(options, directory)
        workspace = self.workspace()
        client = httpx.Client(base_url=server.url, timeout=30, headers={"X-Mockverse-Workspace": workspace},
                              verify=tls_context())
        return Mockverse(client, server.url, workspace)

    def close(self) -> None:
        for world in self.worlds.values():
            world.close()
        for server in self.servers.values():
            server.stop()
        self.directory.cleanup()


class LiveServer:
    """``mockverse serve`` on a free loopback port (the package's launcher), started once per session."""

    def __init__(self, options: Options, directory: Path) -> None:
        spec, config, seed = options
        args = ["--seed", str(seed), "--store", str(directory / "state.db"), "--log-level", "warning"]
        args += ["--spec", spec] if spec else []
        args += ["--config", config] if config else []
        self.process = mockverse_server(directory, *args).start()
        self.url = self.process.url

    def stop(self) -> None:
        self.process.stop()


@pytest.fixture(scope="session")
def _mockverse_worlds() -> Iterator[_Worlds]:
    worlds = _Worlds()
    yield worlds
    worlds.close()


def _options(request: pytest.FixtureRequest) -> Options:
    """(spec, config, seed) from the ini options, overridden by the test's ``mockverse`` marker."""
    ini = request.config.getini
    options: dict[str, Any] = {"spec": ini("mockverse_spec") or None, "config": ini("mockverse_config") or None,
                               "seed": ini("mockverse_seed") or "42"}
    marker = request.node.get_closest_marker("mockverse")
    if marker is not None:
        unknown = sorted(set(marker.kwargs) - set(options))
        if unknown:
            raise pytest.UsageError(f"@pytest.mark.mockverse got {unknown[0]!r}; it takes spec, config and seed")
        options.update({k: v for k, v in marker.kwargs.items() if v is not None})
    root = Path(str(request.config.rootpath))
    for key in ("spec", "config"):
        if options[key] and not os.path.isabs(options[key]):
            options[key] = str(root / options[key])
    return options["spec"], options["config"], str(options["seed"])


@pytest.fixture
def mockverse(request: pytest.FixtureRequest, _mockverse_worlds: _Worlds) -> Iterator[Mockverse]:
    """The world in process, in a fresh workspace of its own for this test."""
    mock = _mockverse_worlds.in_process(_options(request))
    try:
        yield mock
    finally:
        mock.client.close()


@pytest.fixture
def mockverse_live(request: pytest.FixtureRequest, _mockverse_worlds: _Worlds) -> Iterator[Mockverse]:
    """The world on a real loopback port (``mockverse_live.url``), one server process per
    session, in a fresh workspace of its own for this test."""
    mock = _mockverse_worlds.live(_options(request))
    try:
        yield mock
    finally:
        mock.client.close()
