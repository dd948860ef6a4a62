"""The read cache: serialised answers of synthetic reads, each kept while nothing it depends on changed.

An answer is keyed by the workspace's world (``Snapshot.world``: the base world, or the workspace
at its clock), the path and the query, and carries the change tags of every store read that made
it (``world/freshness.py``): a write drops only the answers that read what it wrote. The
outermost middleware (``app.RequestLog``) answers a repeated GET straight from these bytes, before
routing, when nothing but the world shapes it (no CORS origin, no reality, no Prefer, no stubs).
"""

from __future__ import annotations

import contextlib
import itertools

from mockverse.cache import LRU
from mockverse.http.served import WORKSPACE, Served
from mockverse.reality.continuum import SETTING as REALITY_SETTING
from mockverse.store import StoreUnavailable, setting_tags
from mockverse.stubbing import STUBS_KEY
from mockverse.world.engine import WORKSPACE_NAME, ConsistencyEngine, Snapshot, WorldView
from mockverse.world.freshness import Entry

# what the middleware skips besides the world (the stubs and reality layers) depends on these settings
ROUTED_LAYERS = frozenset(setting_tags(STUBS_KEY)[:1] + setting_tags(REALITY_SETTING)[:1])
# a request carrying one of these headers needs the routed path (CORS, reality, Prefer)
_ROUTED_HEADERS = (b"origin", b"x-mockverse-reality", b"prefer")
_SNAPS = 4096   # workspaces whose snapshot the middleware keeps at hand


class ReadAnswers:
    """Answers by (world, path, query): ``answers`` for the routed path, ``direct`` (with raw ASGI
    headers) for the middleware."""

    def __init__(self, engine: ConsistencyEngine, size: int = 20_000) -> None:
        self.engine = engine
        self.answers = LRU(size)
        self.direct = LRU(size)
        self.snaps: dict[str, tuple[int, int, int]] = {}   # workspace -> (version, generation, world number)
        self.worlds: dict[tuple, int] = {}   # Snapshot.world -> a number never reused, cheaper to hash
        self.numbers = itertools.count()

    def get(self, view: WorldView, path: str, query: str) -> Entry | None:
        """The cached answer to a read of ``path?query`` in the view's world, if still fresh."""
        entry = self.answers.get((*view.snap.world, path, query))
        return entry if entry is not None and self.engine.fresh(entry) else None

    def put(self, view: WorldView, path: str, query: str, answer: Served) -> Entry:
        """Keep ``answer`` with the change tags of what ``view`` read to make it."""
        entry = Entry(answer, frozenset(view.deps), view.stamp, view.snap.scope)
        return self.answers.put((*view.snap.world, path, query), entry)

    def world(self, snap: Snapshot) -> int:
        """The number the middleware's answers of ``snap``'s world are keyed by."""
        number = self.worlds.get(snap.world)
        if number is None:
            if len(self.worlds) >= _SNAPS:
                self.worlds.clear()   # numbers are never reused: the answers of a forgotten world just go unread
                self.snaps.clear()
            number = self.worlds[snap.world] = next(self.numbers)
        return number

    def put_direct(self, view: WorldView, path: str, query: str, entry: Entry) -> None:
        """Let the middleware serve ``entry`` too (with raw ASGI headers), while neither it nor the
        layers the middleware skips (stubs, reality settings) changed."""
        key = (self.world(view.snap), path, query)
        served = entry.value
        status, body, headers = served.status, served.body, served.all_headers()
        old = self.direct.get(key)
        if old is not None and old.value[1] is body and self.engine.fresh(old):
            return
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
               if k != WORKSPACE]
        raw.append((b"content-length", str(len(body)).encode()))
        self.direct.put(key, Entry((status, body, raw, served.source), entry.deps | ROUTED_LAYERS, entry.stamp,
                                   entry.scope))

    async def lookup(self, scope: dict) -> tuple[int, bytes, list, str, str | None] | None:
        """(status, body, raw headers, workspace, source) of a plain GET's cached answer, without
        routing; None sends it down the routed path."""
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
        world = await self.world_now(workspace)
        if world is None:
            return None
        key = (world, scope["path"], query.decode("latin-1"))
        direct = self.direct
        entry = dict.get(direct, key)   # no lock on a hit: the LRU's own lock guards its puts
        if entry is None or not self.engine.changes.fresh(entry):
            return None
        with contextlib.suppress(KeyError):   # another thread may have just evicted it
            direct.move_to_end(key)
        status, body, headers, source = entry.value
        return status, body, [(b"x-mockverse-workspace", raw), *headers], workspace, source

    async def world_now(self, workspace: str) -> int | None:
        """The number of the world ``workspace`` shows now (:meth:`world`), asking the engine for its
        snapshot again only when the store's version of it or the workspace's cache generation moved
        (both exact, and cheap to read); None when the store cannot be reached."""
        engine = self.engine
        try:
            version = await engine.store.version_now(workspace)
        except StoreUnavailable:
            return None
        generation = engine.changes.generation(workspace)
        known = self.snaps.get(workspace)
        if known is not None and known[0] == version and known[1] == generation:
            return known[2]
        try:
            snap = engine.snapshot(workspace, version)
        except StoreUnavailable:
            return None
        world = self.world(snap)
        if snap.version == version:   # not a snapshot of a store that went away meanwhile
            if len(self.snaps) >= _SNAPS:
                self.snaps.clear()
            self.snaps[workspace] = (version, generation, world)
        return world
