"""The read cache: serialised answers of synthetic reads, each kept while nothing it depends on changed.

An answer is keyed by the workspace's world (``Snapshot.world``: the base world, or the workspace
at its clock), the path and the query, and carries the change tags of every store read that made
it (``world/freshness.py``): a write drops only the answers that read what it wrote. The
``ReadCache`` middleware answers a repeated GET straight from these bytes, before routing, when
nothing but the world shapes it (no CORS origin, no reality, no Prefer, no stubs).
"""

from __future__ import annotations

from typing import Any

from mockverse.cache import LRU
from mockverse.http.served import WORKSPACE, Served
from mockverse.reality.continuum import SETTING as REALITY_SETTING
from mockverse.store import StoreUnavailable, setting_tags
from mockverse.stubbing import STUBS_KEY
from mockverse.world.engine import WORKSPACE_NAME, ConsistencyEngine, WorldView
from mockverse.world.freshness import Entry

# what the middleware skips besides the world (the stubs and reality layers) depends on these settings
ROUTED_LAYERS = frozenset(setting_tags(STUBS_KEY)[:1] + setting_tags(REALITY_SETTING)[:1])
# a request carrying one of these headers needs the routed path (CORS, reality, Prefer)
_ROUTED_HEADERS = (b"origin", b"x-mockverse-reality", b"prefer")


class ReadAnswers:
    """Answers by (world, path, query): ``answers`` for the routed path, ``direct`` (with raw ASGI
    headers) for the middleware."""

    def __init__(self, engine: ConsistencyEngine, size: int = 20_000) -> None:
        self.engine = engine
        self.answers = LRU(size)
        self.direct = LRU(size)

    def get(self, view: WorldView, path: str, query: str) -> Entry | None:
        """The cached answer to a read of ``path?query`` in the view's world, if still fresh."""
        entry = self.answers.get((*view.snap.world, path, query))
        return entry if entry is not None and self.engine.fresh(entry) else None

    def put(self, view: WorldView, path: str, query: str, answer: Served) -> Entry:
        """Keep ``answer`` with the change tags of what ``view`` read to make it."""
        entry = Entry(answer, frozenset(view.deps), view.stamp, view.snap.scope)
        return self.answers.put((*view.snap.world, path, query), entry)

    def put_direct(self, view: WorldView, path: str, query: str, entry: Entry) -> None:
        """Let the middleware serve ``entry`` too (with raw ASGI headers), while neither it nor the
        layers the middleware skips (stubs, reality settings) changed."""
        key = (*view.snap.world, path, query)
        served = entry.value
        status, body, headers = served.status, served.body, served.all_headers()
        old = self.direct.get(key)
        if old is not None and old.value[1] is body and self.engine.fresh(old):
            return
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
               if k != WORKSPACE]
        raw.append((b"content-length", str(len(body)).encode()))
        self.direct.put(key, Entry((status, body, raw), entry.deps | ROUTED_LAYERS, entry.stamp, entry.scope))

    def lookup(self, scope: dict) -> tuple[int, bytes, list] | None:
        """The cached bytes of a plain GET, without routing; None sends it down the routed path."""
        workspace, raw = "default", b"default"
        for name, value in scope["headers"]:
            if name == b"x-mockverse-workspace":
                workspace, raw = value.decode("latin-1"), value
            elif name in _ROUTED_HEADERS:
                return None
        query = scope["query_string"]
        # ?workspace= or ?workspace_id= names another workspace: route it; so is a name the world refuses
        if b"workspace" in query or (raw != b"default" and not WORKSPACE_NAME.match(workspace)):
            return None
        try:
            snap = self.engine.snapshot(workspace)
        except StoreUnavailable:
            return None
        entry = self.direct.get((*snap.world, scope["path"], query.decode("latin-1")))
        if entry is None or not self.engine.fresh(entry):
            return None
        status, body, headers = entry.value
        return status, body, [(b"x-mockverse-workspace", raw), *headers]


class ReadCache:
    """ASGI middleware: answers a repeated plain GET from ``ReadAnswers`` before routing."""

    def __init__(self, app: Any, answers: ReadAnswers) -> None:
        self.app = app
        self.answers = answers

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            hit = self.answers.lookup(scope)
            if hit is not None:
                status, body, headers = hit
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
