"""ConsistencyEngine: the one API the outside uses to read and change the world.

Reads go through a ``WorldView`` (``world/view.py``) of one workspace at one clock position. Generated entities
are computed from ids (a child id encodes its parent: ``parent_id * id_multiplier + n``), user
changes are read from the store and laid over them; nothing generated is stored. What a view
computes is cached with the change tags of the store reads it made (``world/freshness.py``),
so a write drops only what depends on it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any

from mockverse.cache import LRU
from mockverse.problems import Problem
from mockverse.store import Store, StoreUnavailable, setting_tags
from mockverse.world import clock
from mockverse.world.clock import ClockState
from mockverse.world.free_text import TextLayer
from mockverse.world.freshness import BASE, Changes, Entry
from mockverse.world.generate import Generator
from mockverse.world.model import EntityType, WorldModel
from mockverse.world.persona import Persona, Personas
from mockverse.world.view import Budget as Budget
from mockverse.world.view import Snapshot, WorldView

WORKSPACE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
WORKSPACE_SETTING = "workspace"   # a workspace's definition ({"seed": ...}): kept by a reset


class _Unreachable:
    """Stands in for a store that is down: reads find no user changes, writes fail with StoreUnavailable."""

    def __getattr__(self, name: str) -> Any:
        reads: dict[str, Any] = {"get_entity": None, "get_setting": None, "created_ids": [], "deleted_ids": [],
                                 "linked": [], "links_of": [], "entries": [], "entry": None, "version": -1}
        if name in reads:
            return lambda *args, **kwargs: reads[name]
        def unavailable(*args: Any, **kwargs: Any) -> Any:
            raise StoreUnavailable("the store is unreachable")
        return unavailable


UNREACHABLE: Any = _Unreachable()


class Events:
    """World events (entity created, lifecycle changed, clock advanced) for whoever listens:
    webhooks, TCP subscribers. Listeners are called synchronously and must not block."""

    def __init__(self) -> None:
        self.listeners: list[Callable[[dict], None]] = []

    def subscribe(self, listener: Callable[[dict], None]) -> None:
        self.listeners.append(listener)

    def emit(self, workspace: str, type: str, **payload: Any) -> None:
        event = {"type": type, "workspace": workspace, **payload}
        for listener in list(self.listeners):
            listener(event)


# values learnt from recordings laid over generated ones: (workspace, version, seed, entity, id, data, given) -> data
LearnedFields = Callable[[str, int, str, EntityType, object, dict, "dict | None"], dict]


_WORLDS = LRU(4)   # world key -> the generated values of that world, for every engine serving it


def shared_generation(world: Hashable, size: int) -> LRU:
    """The cache of what the world ``world`` names generates before any write (an entity's generated fields,
    its children's creation times): one per process for every engine serving that world (each test's app,
    each in-process World), so the same entity is not generated twice."""
    cache = _WORLDS.get(world)
    if cache is None:
        cache = _WORLDS.put(world, LRU(size))
    return cache


class ConsistencyEngine:
    """Owns the world model, the store and the caches; hands out views per workspace."""

    def __init__(self, model: WorldModel, store: Store, seed: int | str, personas: Personas | None = None,
                 cache_size: int = 50_000, *, texts: TextLayer | None = None, off: list[str] | None = None,
                 learner: LearnedFields | None = None, world: Hashable | None = None) -> None:
        self.model = model
        self.store = store
        self.seed = str(seed)
        self.personas = personas
        self.events = Events()
        self.entities = LRU(cache_size)
        # generated values (pure functions of seed, clock and ids): shared with every engine of the same ``world``
        self.generated = shared_generation(world, cache_size) if world is not None else LRU(cache_size)
        self.changes = Changes()
        self.snapshots = LRU(1024)
        self.indexes = LRU(16)   # (seed, clock, child type) -> ChildIndex, shared by every workspace
        self.indexing = threading.Lock()   # one index built at a time; a second request for it waits
        self.differences = LRU(256)   # (workspace world, child type) -> (tick applied, Touched)
        self.differing = threading.Lock()   # one workspace's differences brought up to date at a time
        self.generators = LRU(64)
        self.texts = texts            # free-text fields laid over entities (world/free_text.py)
        self.off = off or []          # parts of the consistency layer the config switched off
        self.learner = learner        # values learnt from the upstream's recordings (reality/learn.py)

    # -- views -------------------------------------------------------------------------------
    @property
    def base_seed(self) -> str:
        """The seed of the server's world, which every workspace serves unless created with its own."""
        return self.seed_world(self.seed)

    @staticmethod
    def seed_world(seed: object) -> str:
        """The generator seed of the world a server started with ``--seed seed`` serves."""
        return f"{seed}/default"

    def workspace_seed(self, workspace: str) -> str:
        """The workspace's generator seed: the server's world, or the seed it was created with."""
        try:
            return self.view(workspace).snap.seed
        except Problem:
            return self.base_seed

    def generator(self, seed: str) -> Generator:
        gen = self.generators.get(seed)
        if gen is None:
            gen = self.generators.put(seed, Generator(seed))
        return gen

    def clock(self, workspace: str) -> clock.ClockState:
        """The workspace's virtual clock: stored, or standing at the world's epoch."""
        return clock.read(self.store, workspace, self.model.epoch)

    def check_workspace(self, workspace: str) -> str:
        """``workspace`` if it is a valid name, else a 400 naming the field."""
        if not WORKSPACE_NAME.match(workspace):
            raise Problem(400, "Invalid workspace", f"workspace '{workspace[:80]}' must be 1-64 letters, digits, "
                              "'_', '.' or '-', starting with a letter or digit", field="workspace")
        return workspace

    def view(self, workspace: str) -> WorldView:
        """The world of ``workspace`` as it is now: its reads see every write made so far, on any instance."""
        snap = self.snapshot(workspace)
        return WorldView(self, snap, store=UNREACHABLE if snap.version < 0 else None)

    def snapshot(self, workspace: str, version: int | None = None) -> Snapshot:
        """The workspace's seed, clock and cache keys now, after catching up with the store's writes
        (up to ``version`` when the caller has just read it)."""
        self.check_workspace(workspace)
        try:
            if version is None:
                version = self.store.version(workspace)
            if version:
                self.changes.sync(self.store, workspace, version)
        except StoreUnavailable:
            # the store is down: purely generated reads still work (flagged), anything needing it gets a 503
            epoch: datetime = self.model.epoch
            return Snapshot(workspace, -1, self.base_seed, epoch, epoch, (workspace, -1), (workspace, -1))
        key = (workspace, version, self.changes.generation(workspace))
        snap = self.snapshots.get(key)
        if snap is None:
            snap = self.snapshots.put(key, self._snapshot(workspace, version))
        return snap

    def _snapshot(self, workspace: str, version: int) -> Snapshot:
        """A workspace never written to is the server's world itself: no store read, and its
        caches are the base world's, so a new workspace costs what a cached read costs."""
        if version == 0:
            epoch: datetime = self.model.epoch
            return Snapshot(workspace, 0, self.base_seed, epoch, epoch, self.cache_key(workspace, 0),
                            (BASE, self.base_seed, epoch, epoch))
        state, seed = self.standing(workspace, version)
        world = (workspace, self.changes.generation(workspace), seed, state.now, state.start)
        return Snapshot(workspace, version, seed, state.now, state.start, self.cache_key(workspace, version),
                        world, workspace)

    def standing(self, workspace: str, version: int) -> tuple[ClockState, str]:
        """The workspace's clock and generator seed at store ``version``, read from the store again only
        when a write (on any instance) changed one of them since: a write of an entity keeps them, so the
        next read's snapshot costs no store read but the changes it catches up with."""
        state = clock.state(self.setting(workspace, clock.KEY, version), self.model.epoch)
        own = self.setting(workspace, WORKSPACE_SETTING, version) or {}
        seed = self.seed_world(own["seed"]) if own.get("seed") is not None else self.base_seed
        return state, seed

    def setting(self, workspace: str, key: str, version: int) -> Any:
        """A workspace's setting as of store ``version`` (the caller has just read it): read once and
        kept until a write changes that setting, so a write elsewhere in the workspace costs no re-read.
        The value is shared: callers copy what they change."""
        if version <= 0:
            return None   # never written to (or the store is down: the caller falls back)
        self.changes.sync(self.store, workspace, version)
        cache_key = ("setting", workspace, self.changes.generation(workspace), key)
        entry = self.entities.get(cache_key)
        if entry is not None and self.changes.fresh(entry):
            return entry.value
        stamp = self.changes.tick   # taken before the read: a change marked meanwhile makes the entry stale
        value = self.store.get_setting(workspace, key)
        self.entities.put(cache_key, Entry(value, frozenset(setting_tags(key)[:1]), stamp, workspace))
        return value

    def fresh(self, entry: Any) -> bool:
        """Whether a cached ``Entry`` still holds: nothing it depends on changed since it was made."""
        return isinstance(entry, Entry) and self.changes.fresh(entry)

    def cache_key(self, workspace: str, version: int) -> tuple:
        """What a workspace's caches are keyed by: every unchanged workspace shares the base world's."""
        return ("", self.base_seed) if version == 0 else (workspace, version)

    # -- workspaces ---------------------------------------------------------------------------
    def create_workspace(self, workspace: str, seed: str | int | None = None) -> dict:
        """Define a workspace: a copy of the server's world, or (with ``seed``) the world a
        server started with that seed serves. 409 if it already holds changes."""
        self.check_workspace(workspace)
        if self.store.version(workspace) != 0:
            raise Problem(409, "Workspace exists", f"workspace '{workspace}' already exists; reset it or "
                              "pick another name", field="name")
        self.store.put_setting(workspace, WORKSPACE_SETTING, {"seed": None if seed is None else str(seed)})
        return self.describe_workspace(workspace)

    def describe_workspace(self, workspace: str) -> dict:
        """What a workspace is: its name, its seed and where that seed comes from, its version."""
        view = self.view(workspace)
        own = (self.store.get_setting(workspace, WORKSPACE_SETTING) or {}).get("seed") if view.snap.version else None
        return {"name": workspace, "seed": self.seed if own is None else own, "own_seed": own is not None,
                "version": view.snap.version}

    def reset_workspace(self, workspace: str) -> dict:
        """Drop every change of a workspace in one store transaction: entities, links, deletions,
        lifecycle states, its clock, reality settings, recordings and other logs. Its definition
        (its own seed) stays. Listeners hear ``workspace.reset`` to drop what they keep in memory."""
        self.check_workspace(workspace)
        self.store.reset_workspace(workspace, keep=(WORKSPACE_SETTING,))
        self.events.emit(workspace, "workspace.reset")
        return self.describe_workspace(workspace)

    # -- the Python API -----------------------------------------------------------------------
    def type_of(self, name: str) -> EntityType:
        entity = self.model.types.get(name)
        if entity is None:
            raise Problem(422, "Unknown entity type", f"'{name}' is not an entity type of this world",
                              field="entity_type", allowed=sorted(self.model.types))
        return entity

    def persona(self, workspace: str, ref: str) -> Persona:
        """The persona ``ref`` in ``workspace``: ``engine.persona("default", "user:1").update_lifecycle_state(...)``."""
        return self.view(workspace).persona_handle(ref)

    def find_related_entities(self, workspace: str, ref: str, type: str | None = None,
                              relationship: str | None = None, depth: int = 1) -> list[dict]:
        """Entities related to ``ref`` (e.g. ``user:123``), optionally of one type over one edge."""
        return [node["data"] for node in self.view(workspace).graph(ref, type, relationship, depth)["nodes"]]

    def create(self, workspace: str, type: str, data: dict, *, id: object = None,
               persona: str | None = None) -> dict:
        return self.view(workspace).create(self.type_of(type), data, id=id, persona=persona)

    def update(self, workspace: str, type: str, id: object, data: dict, *, replace: bool = False) -> dict:
        return self.view(workspace).update(self.type_of(type), id, data, replace=replace)

    def delete(self, workspace: str, type: str, id: object) -> None:
        self.view(workspace).delete(self.type_of(type), id)
