"""Embedding: a world as an ASGI app inside your own process, no socket needed.

    from mockverse import World
    world = World.from_spec("api.yaml", seed=7)        # or World.builtin(seed=7)
    app = world.asgi_app()                             # mount it in Starlette/FastAPI, or:
    httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock")
    with world.client(workspace="team-a") as client:   # a sync httpx.Client, the app on a thread
        client.get("/users/1")
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from mockverse.http.app import Settings, create_app
from mockverse.world.engine import ConsistencyEngine


class World:
    """A served world: the same engine and routes as ``mockverse serve``, in process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._app: Starlette | None = None
        self._runner: _AppThread | None = None

    @classmethod
    def from_spec(cls, spec: str | os.PathLike | None = None, *, seed: int | str = 42,
                  config: str | os.PathLike | None = None, store: str | os.PathLike = ":memory:",
                  auth_check: bool | None = None) -> World:
        """A world from an OpenAPI spec (None: the built-in commerce world). The store defaults to
        an in-memory SQLite database: nothing is written to disk unless you name a file.
        ``auth_check=False`` answers whatever security the spec declares (``--no-auth-check``)."""
        return cls(Settings(spec=str(Path(spec).resolve()) if spec else None, seed=str(seed),
                            config=str(config) if config else None, store=str(store), auth_check=auth_check))

    @classmethod
    def builtin(cls, *, seed: int | str = 42, config: str | os.PathLike | None = None,
                store: str | os.PathLike = ":memory:") -> World:
        return cls.from_spec(None, seed=seed, config=config, store=store)

    def asgi_app(self) -> Starlette:
        """The ASGI app (built once): mount it, or hand it to ``httpx.ASGITransport``."""
        if self._app is None:
            self._app = create_app(self.settings)
        return self._app

    def client(self, workspace: str | None = None, **kwargs: Any) -> httpx.Client:
        """A sync httpx client over the app (its lifespan started once, on a background event
        loop shared by every client of this world); ``workspace`` sets X-Mockverse-Workspace."""
        if self._runner is None:
            self._runner = _AppThread(self.asgi_app())
        headers = {**kwargs.pop("headers", {}), **({"X-Mockverse-Workspace": workspace} if workspace else {})}
        return httpx.Client(transport=_ThreadTransport(self._runner), base_url=kwargs.pop("base_url", "http://mockverse"),
                            headers=headers, **kwargs)

    def close(self) -> None:
        """Stop what ``client()`` started (the app's lifespan ends: its store is closed)."""
        if self._runner is not None:
            self._runner.close()
            self._runner = None

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def engine(self) -> ConsistencyEngine:
        """The consistency engine, for Python calls such as ``find_related_entities``."""
        return self.asgi_app().state.engine


class _AppThread:
    """An event loop in a daemon thread whose main task holds the app's lifespan open; its requests run
    under that task, so the worker threads that reads are offloaded to live as long as the app, not one request."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.stop: asyncio.Event | None = None
        self.started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._serve(),),
                                       name="mockverse-world", daemon=True)
        self.thread.start()
        try:
            self.started.result()
        except BaseException:
            self.thread.join()
            self.loop.close()
            raise

    async def _serve(self) -> None:
        """Hold the app's lifespan open until ``close()`` (or hand what stopped it to ``__init__``)."""
        self.stop = asyncio.Event()
        try:
            async with self.app.router.lifespan_context(self.app):
                self.started.set_result(None)
                await self.stop.wait()
        except BaseException as exc:
            if self.started.done():
                raise
            self.started.set_exception(exc)

    def run(self, coroutine: Coroutine) -> Any:
        """Run ``coroutine`` on the app's loop and wait for its result (one hand-off per call)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        """End the lifespan (its store is closed) and the thread."""
        stop = self.stop
        if stop is not None:
            self.loop.call_soon_threadsafe(stop.set)
        self.thread.join()
        self.loop.close()


class _ThreadTransport(httpx.BaseTransport):
    """A sync httpx transport into the app on its loop thread: each request is one coroutine."""

    def __init__(self, runner: _AppThread) -> None:
        self.runner = runner
        self.inner = httpx.ASGITransport(app=runner.app, raise_app_exceptions=False)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def exchange() -> tuple[int, list, bytes]:
            sent = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            response = await self.inner.handle_async_request(sent)
            content = await response.aread()
            return response.status_code, response.headers.raw, content

        status, headers, content = self.runner.run(exchange())
        return httpx.Response(status, headers=headers, content=content, request=request)
