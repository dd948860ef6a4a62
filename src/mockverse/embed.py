"""Embedding: a world as an ASGI app inside your own process, no socket needed.

    from mockverse import World
    world = World.from_spec("api.yaml", seed=7)        # or World.builtin(seed=7)
    app = world.asgi_app()                             # mount it in Starlette/FastAPI, or:
    httpx.Client(transport=httpx.ASGITransport(app=app), base_url="http://mock")  # (async client)
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette

from mockverse.http.app import Settings, create_app
from mockverse.world.engine import ConsistencyEngine


class World:
    """A served world: the same engine and routes as ``mockverse serve``, in process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._app: Starlette | None = None

    @classmethod
    def from_spec(cls, spec: str | os.PathLike | None = None, *, seed: int | str = 42,
                  config: str | os.PathLike | None = None, store: str | os.PathLike = ":memory:") -> "World":
        """A world from an OpenAPI spec (None: the built-in commerce world). The store defaults to
        an in-memory SQLite database: nothing is written to disk unless you name a file."""
        return cls(Settings(spec=str(Path(spec).resolve()) if spec else None, seed=str(seed),
                            config=str(config) if config else None, store=str(store)))

    @classmethod
    def builtin(cls, *, seed: int | str = 42, config: str | os.PathLike | None = None,
                store: str | os.PathLike = ":memory:") -> "World":
        return cls.from_spec(None, seed=seed, config=config, store=store)

    def asgi_app(self) -> Starlette:
        """The ASGI app (built once): mount it, or hand it to ``httpx.ASGITransport``."""
        if self._app is None:
            self._app = create_app(self.settings)
        return self._app

    @property
    def engine(self) -> ConsistencyEngine:
        """The consistency engine, for Python calls such as ``find_related_entities``."""
        return self.asgi_app().state.engine
