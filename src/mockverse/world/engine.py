"""ConsistencyEngine: the one API the outside uses to read and change the world.

Reads go through a ``WorldView`` of one workspace at one clock position. Generated entities
are computed from ids (a child id encodes its parent: ``parent_id * id_multiplier + n``), user
changes are read from the store and laid over them; nothing generated is stored. What a view
computes is cached with the change tags of the store reads it made (``world/freshness.py``),
so a write drops only what depends on it.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mockverse.cache import LRU
from mockverse.ids import EntityRef
from mockverse.problems import Problem
from mockverse.store import Store, StoredEntity, StoreUnavailable, entity_tag, log_tag, members_tag, setting_tags
from mockverse.timeutil import format_rfc3339, parse_rfc3339
from mockverse.world import clock
from mockverse.world import graph as persona_graph
from mockverse.world.derive import ABSENT, derived_value, paid_status, went_through
from mockverse.world.free_text import TextLayer
from mockverse.world.freshness import BASE, Changes, Entry, TaggedReads
from mockverse.world.generate import Generator, currency_of, merge_schema
from mockverse.world.index import ChildIndex, Touched, build_index
from mockverse.world.model import EntityType, WorldModel
from mockverse.world.persona import Lifecycle, Persona, Personas

REPLACED = "$replaced"   # in a created entity's stored fields: a PUT replaced them (no generated ones beside)
WORKSPACE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
LISTING_AFTER = 8   # records a view looks up one by one before it lists which ids of a type have one
WORKSPACE_SETTING = "workspace"   # a workspace's definition ({"seed": ...}): kept by a reset


class Budget:
    """The work one request may make the world do: entities built (cache misses). Past ``limit``
    the request is refused with a 400 ``query-too-expensive`` naming ``param``, the query parameter
    that asked for the work, so no single request can hold a worker for long."""

    def __init__(self, limit: int, param: str | None = None) -> None:
        self.limit, self.param, self.spent = limit, param, 0

    def charge(self) -> None:
        """Count one entity built; raise once the request has built more than its limit. Every few
        builds the thread lets others run (``sleep(0)`` drops the GIL), so a long computation on a
        worker thread never starves the event loop serving other clients."""
        self.spent += 1
        if self.spent % 8 == 0:
            time.sleep(0)
        if self.spent > self.limit:
            asked = f"{self.param} asks" if self.param else "this request asks"
            raise Problem(400, "Query too expensive", f"{asked} for more than {self.limit} entities to be "
                              "built; narrow it (fewer ids, a smaller page, fewer relations, a filter on the parent)",
                              field=self.param, extra={"limit": self.limit})


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


@dataclass(frozen=True)
class Snapshot:
    """What a view needs of a workspace at one version: its seed and its virtual now."""

    workspace: str
    version: int
    seed: str
    now: datetime
    start: datetime
    key: tuple = ()     # what per-version caches key by: the base world if never written, else (workspace, version)
    world: tuple = ()   # what the view's caches key by: the base world, or the workspace at its clock and generation
    scope: str = BASE   # whose changes invalidate the view's cached values: the workspace, or none (the base world)


# values learnt from recordings laid over generated ones: (workspace, version, seed, entity, id, data, given) -> data
LearnedFields = Callable[[str, int, str, EntityType, object, dict, "dict | None"], dict]


class ConsistencyEngine:
    """Owns the world model, the store and the caches; hands out views per workspace."""

    def __init__(self, model: WorldModel, store: Store, seed: int | str, personas: Personas | None = None,
                 cache_size: int = 50_000, *, texts: TextLayer | None = None, off: list[str] | None = None,
                 learner: LearnedFields | None = None) -> None:
        self.model = model
        self.store = store
        self.seed = str(seed)
        self.personas = personas
        self.events = Events()
        self.entities = LRU(cache_size)
        self.changes = Changes()
        self.snapshots = LRU(1024)
        self.indexes = LRU(16)   # (seed, clock, child type) -> ChildIndex, shared by every workspace
        self.indexing = threading.Lock()   # one index built at a time; a second request for it waits
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

    def snapshot(self, workspace: str) -> Snapshot:
        """The workspace's seed, clock and cache keys now, after catching up with the store's writes."""
        self.check_workspace(workspace)
        try:
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
        state = self.clock(workspace)
        own = self.store.get_setting(workspace, WORKSPACE_SETTING) or {}
        seed = self.seed_world(own["seed"]) if own.get("seed") is not None else self.base_seed
        world = (workspace, self.changes.generation(workspace), seed, state.now, state.start)
        return Snapshot(workspace, version, seed, state.now, state.start, self.cache_key(workspace, version),
                        world, workspace)

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


class WorldView:
    """The world of one workspace at one version. Cheap to make; all reads go through it."""

    def __init__(self, engine: ConsistencyEngine, snap: Snapshot, store: Store | None = None) -> None:
        self.engine = engine
        self.snap = snap
        self.deps: set[str] = set()          # the change tags of every store read this view made
        self._frames: list[set[str]] = [self.deps]
        self.stamp = engine.changes.tick     # what the view computes is fresh as of this tick
        self.store: Any = TaggedReads(store or engine.store, self.note, empty=snap.version == 0)
        self.model = engine.model
        self.gen = engine.generator(snap.seed)
        self._computing: set[tuple[str, object]] = set()
        self._lookups = 0                    # stored records looked up one by one
        self.budget: Budget | None = None   # set by a caller that bounds this view's work
        self.text_refs: set[str] | None = set() if engine.texts is not None else None   # text-bearing refs read

    @property
    def workspace(self) -> str:
        return self.snap.workspace

    @property
    def now(self) -> datetime:
        return self.snap.now

    @property
    def degraded(self) -> bool:
        """True when the store was unreachable: this view shows generated data only."""
        return self.snap.version < 0

    @property
    def clock_start(self) -> datetime:
        return self.snap.start

    def _key(self, *parts: object) -> tuple:
        return (*self.snap.world, *parts)

    # -- caches keyed by what they depend on --------------------------------------------------
    def note(self, tag: str) -> None:
        """Record that what is being computed depends on the change tag ``tag``."""
        self._frames[-1].add(tag)

    def _hit(self, parts: tuple) -> Entry | None:
        """The fresh cached entry for ``parts`` (its tags noted as this computation's), or None."""
        entry = self.engine.entities.get(self._key(*parts))
        if entry is None or not self.engine.changes.fresh(entry):
            return None
        self._frames[-1].update(entry.deps)
        return entry

    def _compute(self, parts: tuple, compute: Callable[[], Any]) -> Any:
        """Compute a value, noting the tags of the reads it makes, and cache it under ``parts``."""
        frame: set[str] = set()
        self._frames.append(frame)
        try:
            value = compute()
        finally:
            self._frames.pop()
        self._frames[-1].update(frame)
        self.engine.entities.put(self._key(*parts), Entry(value, frozenset(frame), self.stamp, self.snap.scope))
        return value

    def cached(self, parts: tuple, compute: Callable[[], Any]) -> Any:
        """The value cached under ``parts`` while nothing it read has changed, else ``compute()``."""
        entry = self._hit(parts)
        return entry.value if entry is not None else self._compute(parts, compute)

    def emit(self, type: str, **payload: Any) -> None:
        """Tell the engine's listeners (webhooks) that ``type`` happened in this workspace."""
        self.engine.events.emit(self.workspace, type, **payload)

    def reopened(self) -> WorldView:
        """A view of this workspace at its current version (what the next request sees)."""
        return self.engine.view(self.workspace)

    # -- generated existence ----------------------------------------------------------------
    def root_created_at(self, entity: EntityType, id: object) -> datetime:
        """When a generated top-level entity was created: before the clock's start (personas
        drawn as NewSignup signed up within the last days)."""
        personas = self.engine.personas
        if personas is not None and personas.is_persona(entity):
            return self.clock_start - personas.signup_offset(self, f"{entity.name}:{id}", entity.config.created_within)
        window = entity.config.created_within.total_seconds()
        return self.clock_start - timedelta(seconds=int(self.gen.draw(entity.name, id, "created") * window))

    def child_times(self, parent: EntityType, parent_id: object, parent_created: datetime,
                    child: EntityType) -> list[datetime]:
        """Creation times of the generated children of one parent that exist by now."""
        cfg = child.config
        personas = self.engine.personas
        # unless paced by a lifecycle (which users change), times depend on the seed, now and the parent only
        if cfg.count is None and cfg.paced_by_lifecycle and personas is not None and personas.is_persona(parent):
            return self.cached(("times", parent.name, parent_id, child.name),
                               lambda: self._paced_times(personas, parent, parent_id, parent_created, child))
        key = ("t", self.snap.seed, self.now, parent.name, parent_id, parent_created, child.name)
        cached = self.engine.entities.get(key)
        if cached is not None:
            return cached
        ref = f"{parent.name}:{parent_id}"
        times: list[datetime] = []
        if cfg.count is not None:
            low, high = cfg.count
            n = low + int(self.gen.draw(ref, child.name, "count") * (high - low + 1))
            d0, d1 = (d.total_seconds() for d in cfg.delay)
            for k in range(1, n + 1):
                t = parent_created + timedelta(seconds=int(d0 + self.gen.draw(ref, child.name, k, "delay") * (d1 - d0)))
                if t <= self.now:
                    times.append(t)
        else:
            assert cfg.every is not None, "a child type has 'count' or 'every'"
            mean = cfg.every.total_seconds()
            t = parent_created
            for k in range(1, cfg.max_children + 1):
                gap = -math.log(1.0 - self.gen.draw(ref, child.name, k, "gap")) * mean
                t = t + timedelta(seconds=int(gap))
                if t > self.now:
                    break
                times.append(t)
        return self.engine.entities.put(key, times)

    def _paced_times(
        self, personas: Personas, parent: EntityType, parent_id: object, created: datetime, child: EntityType
    ) -> list[datetime]:
        """Children placed at the rate of the persona's lifecycle state at each moment: a
        piecewise Poisson process (rates per 30 days from the lifecycle config), so a PowerUser
        orders more often, a Churned persona not at all, and the same advance gives the same
        orders. A state entered later never changes what happened before it."""
        # its record, not its derivations (its own children must not re-time it); unchanged, only its signup counts
        unchanged = self.stored(parent, parent_id) is None
        data = {"created_at": format_rfc3339(created)} if unchanged else self._base(parent, parent_id)
        life = personas.lifecycle(self, parent, parent_id, data or {})
        segments = [(max(at, created), state) for at, state in life.segments] or [(created, life.state)]
        ref = f"{parent.name}:{parent_id}"
        times: list[datetime] = []
        t, j, k = created, 0, 1
        while k <= child.config.max_children and t <= self.now:
            while j + 1 < len(segments) and segments[j + 1][0] <= t:
                j += 1
            rate = personas.config.rates.get(segments[j][1], 0.0) / (30 * 86400)
            boundary = segments[j + 1][0] if j + 1 < len(segments) else None
            if rate <= 0:
                if boundary is None:
                    break
                t = boundary
                continue
            gap = -math.log(1.0 - self.gen.draw(ref, child.name, k, "gap", j)) / rate
            if boundary is not None and t + timedelta(seconds=gap) >= boundary:
                t = boundary  # the state changed first: draw again from there (memoryless)
                continue
            t = t + timedelta(seconds=int(gap))
            if t > self.now:
                break
            times.append(t)
            k += 1
        return times

    def _generated(self, entity: EntityType, id: object) -> tuple[datetime, object] | None:
        """(creation time, parent id) of a generated entity, or None if the generator has no such id."""
        if entity.parent is None:
            index = entity.root_index(id)
            return None if index is None else (self.root_created_at(entity, id), None)
        split = entity.split_id(id)
        if split is None:
            return None
        parent_id, k = split
        parent = self.get(entity.parent, parent_id)
        if parent is None or self._generated(entity.parent, parent_id) is None:
            return None
        created = self._created_at(entity.parent, parent)
        times = self.child_times(entity.parent, parent_id, created, entity)
        if k > len(times):
            return None
        return times[k - 1], parent_id

    def _created_at(self, entity: EntityType, data: dict) -> datetime:
        value = data.get("created_at")
        if isinstance(value, str):
            try:
                return parse_rfc3339(value)
            except ValueError:
                pass
        return self.now

    # -- reading entities --------------------------------------------------------------------
    def stored(self, entity: EntityType, id: object) -> StoredEntity | None:
        """The user's change to one entity, or None. A view that reads many entities reads which ids of
        a type have one in one store round trip (cached until a record of the type is added or
        removed), so an entity nobody changed then costs no store read; a write reading a few does not."""
        if self.snap.version > 0:
            known = self._stored_ids(entity.name)
            if known is not None and str(id) not in known:
                self.note(entity_tag(entity.name, str(id)))
                return None
        self._lookups += 1
        return self.store.get_entity(self.snap.workspace, entity.name, str(id))

    def _stored_ids(self, type: str) -> frozenset[str] | None:
        """The ids of a type with a stored record: cached, or read once this view has looked up
        ``LISTING_AFTER`` records one by one; None while neither."""
        key = self._key("stored", type)
        entry = self.engine.entities.get(key)
        if entry is not None and self.engine.changes.fresh(entry):
            return entry.value
        if self._lookups < LISTING_AFTER:
            return None
        # what the listing says of one id is what its own record says (every write of a record tags it):
        # a value using the listing depends on that record's tag, not on the whole listing
        stamp, ids = self.engine.changes.tick, frozenset(self.store.untagged.stored_ids(self.snap.workspace, type))
        self.engine.entities.put(key, Entry(ids, frozenset([members_tag(type)]), stamp, self.snap.scope))
        return ids

    def get(self, entity: EntityType, id: object) -> dict | None:
        """The entity's own fields (derived fields computed), or None if it does not exist."""
        hit = self._hit(("e", entity.name, id))
        if hit is not None:
            texts = self.engine.texts
            if self.text_refs is not None and hit.value is not None and texts is not None and texts.owns(entity.name):
                self.text_refs.add(f"{entity.name}:{id}")
            return hit.value
        if (entity.name, id) in self._computing:
            return self._base(entity, id)
        if self.budget is not None:
            self.budget.charge()
        self._computing.add((entity.name, id))
        try:
            return self._compute(("e", entity.name, id), lambda: self._build(entity, id))
        finally:
            self._computing.discard((entity.name, id))

    def _build(self, entity: EntityType, id: object) -> dict | None:
        """The entity's own fields: base, links, derivations, lifecycle effects and laid text."""
        data = self._base(entity, id)
        if data is not None:
            data = entity.link(self, id, data)
            data = self._derive(entity, id, data)
            if self.engine.personas is not None:
                data = self._shape(self.engine.personas, entity, id, data)
            texts = self.engine.texts
            if self.text_refs is not None and texts is not None and texts.owns(entity.name):
                self.note(setting_tags("ai:")[1])   # stored LLM text is read beside the store's entities
                data = texts.overlay(self, entity, id, data)
                self.text_refs.add(f"{entity.name}:{id}")
        return data

    def _base(self, entity: EntityType, id: object) -> dict | None:
        """Generated fields with the user's changes laid over, before derivations."""
        return self.cached(("b", entity.name, id), lambda: self._build_base(entity, id))

    def _build_base(self, entity: EntityType, id: object) -> dict | None:
        stored = self.stored(entity, id)
        data: dict | None
        if stored is not None and stored.deleted:
            data = None
        elif stored is not None and stored.mode == "created":
            created = self._created_at(entity, stored.data)
            given = {k: v for k, v in stored.data.items() if k != REPLACED}
            data = self._generate(entity, id, created, stored.data.get(entity.fk) if entity.fk else None, given=given)
            if stored.data.get(REPLACED):   # PUT: only what it gave (and what the schema requires)
                data = self._kept(entity, data, given)
        else:
            generated = self._generated(entity, id)
            if generated is None:
                data = None
            else:
                data = self._generate(entity, id, generated[0], generated[1],
                                      given=stored.data if stored is not None else None)
                if stored is not None and stored.mode == "replace":
                    data = self._kept(entity, data, stored.data)
        if data is not None and entity.parent is not None:
            parent_id = entity.parent.parse_id(data.get(entity.fk))
            if parent_id is None or self.get(entity.parent, parent_id) is None:
                data = None  # the parent is gone: deletion cascades to everything below it
        return data

    def _kept(self, entity: EntityType, data: dict, given: dict) -> dict:
        """A replaced entity's fields: its id and parent key, the schema's required ones, and those given."""
        keep = {"id", entity.id_field, entity.fk, "created_at", *entity.schema.get("required", []), *given}
        return {k: v for k, v in data.items() if k in keep}

    def _generate(self, entity: EntityType, id: object, created: datetime, parent_id: object,
                  given: dict | None = None) -> dict:
        ref = f"{entity.name}:{id}"
        ctx = {"created_at": created, "now": self.now, "person": entity.person,
               "fields": {name: rule.choices for name, rule in entity.config.fields.items()},
               "currency": self._currency_above(entity, parent_id)}
        if given is None:   # a pure function of (seed, now, entity, creation, currency): shared by every workspace
            key = ("g", self.snap.seed, self.now, entity.name, id, created, ctx["currency"])
            generated = self.engine.entities.get(key)
            if generated is None:
                generated = self.engine.entities.put(key, self.gen.object(entity.schema, ref, "$", ctx))
            data = dict(generated)
        else:
            data = self.gen.object(entity.schema, ref, "$", ctx, given=given)
        if self.engine.learner is not None:
            self.note(log_tag("recording"))
            data = self.engine.learner(self.snap.workspace, self.snap.version, self.snap.seed, entity, id, data, given)
        if self.engine.personas is None and "consistency" in self.engine.off:
            data.pop("lifecycle_state", None)   # personas are off: no state, rather than a random one
        if entity.id_field in data or entity.id_field in entity.schema.get("properties", {}):
            data[entity.id_field] = id
        if entity.fk and entity.fk not in (given or {}):
            data[entity.fk] = parent_id
        return entity.complete(self, id, data, given)

    def _currency_above(self, entity: EntityType, parent_id: object) -> str | None:
        """The currency of the persona above an entity (its country's), or None without one."""
        if entity.parent is None or parent_id is None or self.engine.personas is None:
            return None
        parent = self.get(entity.parent, parent_id)
        owner = self.persona_of(entity.parent, parent) if parent is not None else None
        return currency_of(owner[2]) if owner is not None else None

    def _derive(self, entity: EntityType, id: object, data: dict) -> dict:
        if not entity.config.derive:
            return data
        data = dict(data)
        for field, rule in entity.config.derive.items():
            parent = kids = None
            if rule.parent:
                if entity.parent is None:
                    continue
                parent = self.get(entity.parent, data.get(entity.fk))
            elif rule.paid_by:
                status = data.get(field)
                value = paid_status(rule, status, self._paid_check(entity, id, rule.paid_by))
                if value != status:
                    stored = self.stored(entity, id)
                    if stored is None or field not in stored.data:   # a status the user gave stands
                        data[field] = value
                continue
            else:
                edge = rule.count or rule.sum
                kids = self.children(entity, id, edge) if edge else []
                if rule.sum and not kids:
                    # nothing to sum: a value the user gave stands, otherwise the sum of nothing
                    stored = self.stored(entity, id)
                    if stored is not None and field in stored.data:
                        continue
            value = derived_value(rule, kids, parent)
            if value is not ABSENT:
                data[field] = value
        return data

    def _paid_check(self, entity: EntityType, id: object, relationship: str) -> Callable[[], bool]:
        """Whether the entity was paid, asked only when its status needs it."""
        return lambda: self._paid(entity, id, relationship)

    def _paid(self, entity: EntityType, id: object, relationship: str) -> bool:
        """Whether any child over ``relationship`` (a payment) went through: its status is not ``failed``.
        Reads the children's own fields (before derivations), so it never re-enters ``entity``."""
        child = entity.children.get(relationship)
        if child is None:
            return True
        return went_through(self._statuses(entity, id, child, relationship))

    def _statuses(self, entity: EntityType, id: object, child: EntityType, relationship: str) -> Iterator[Any]:
        """The ``status`` of each child over one edge, from its own fields. A generated child nobody
        changed has its status drawn alone (as the generator draws it), without building the child."""
        parent = self._base(entity, id)
        if parent is not None and self._generated(entity, id) is not None:
            times = self.child_times(entity, id, self._created_at(entity, parent), child)
            for k in range(1, len(times) + 1):
                cid = child.child_id(id, k)
                if self.stored(child, cid) is None:
                    yield self._drawn(child, cid, "status", times[k - 1])
                elif (kid := self._base(child, cid)) is not None and kid.get(child.fk) == id:
                    yield kid.get("status")
        for ref in self.store.linked(self.snap.workspace, f"{entity.name}:{id}", relationship):
            kid = self._base(child, child.parse_id(ref.split(":", 1)[1]))
            if kid is not None and kid.get(child.fk) == id:
                yield kid.get("status")

    def _drawn(self, entity: EntityType, id: object, name: str, created: datetime) -> Any:
        """One field of a generated entity, drawn as ``_generate`` draws it (a choice or a schema value)."""
        schema = (entity.schema.get("properties") or {}).get(name)
        if not isinstance(schema, dict):
            return None
        ctx = {"created_at": created, "now": self.now, "person": entity.person, "currency": None,
               "fields": {n: rule.choices for n, rule in entity.config.fields.items()}}
        return self.gen.value(schema, f"{entity.name}:{id}", f"$.{name}", name, ctx, {}, 1)

    def _shape(self, personas: Personas, entity: EntityType, id: object, data: dict) -> dict:
        """Lifecycle on the world: a persona carries its state; its entities get their state's effects."""
        if personas.is_persona(entity):
            life = personas.lifecycle(self, entity, id, data)
            data = {**data, "lifecycle_state": life.state.value}
            return personas.apply(entity.name, data, life, self.now)
        if entity.name not in personas.config.effects:
            return data
        owner = self.persona_of(entity, data)
        if owner is None:
            return data
        life = personas.lifecycle(self, *owner)
        return personas.apply(entity.name, data, life, self.now, latest=self.is_latest(entity, data))

    def persona_of(self, entity: EntityType, data: dict) -> tuple[EntityType, object, dict] | None:
        """The persona an entity belongs to (walking up its parents), or None."""
        personas = self.engine.personas
        while personas is not None and not personas.is_persona(entity):
            if entity.parent is None:
                return None
            parent = self.get(entity.parent, data.get(entity.fk))
            if parent is None:
                return None
            entity, data = entity.parent, parent
        return (entity, data.get(entity.id_field), data) if personas is not None else None

    def is_latest(self, entity: EntityType, data: dict) -> bool:
        """Is this the most recent entity of its kind for its persona (the last child at every level)?
        Looks at sibling ids only, so it never re-enters the entity being computed."""
        personas = self.engine.personas
        while entity.parent is not None and not (personas and personas.is_persona(entity)):
            siblings = self.child_ids(entity.parent, data.get(entity.fk), _edge(entity))
            if not siblings or siblings[-1] != data.get(entity.id_field):
                return False
            parent = self._base(entity.parent, data.get(entity.fk))
            if parent is None:
                return False
            entity, data = entity.parent, parent
        return True

    def child_ids(self, entity: EntityType, id: object, relationship: str) -> list:
        """Ids of the children over one edge, in order, from base data (no derivations, no effects)."""
        return self.cached(("ci", entity.name, id, relationship), lambda: self._child_ids(entity, id, relationship))

    def _child_ids(self, entity: EntityType, id: object, relationship: str) -> list:
        child = entity.children[relationship]
        out: list = []
        parent = self._base(entity, id)
        if parent is not None and self._generated(entity, id) is not None:
            for k in range(1, len(self.child_times(entity, id, self._created_at(entity, parent), child)) + 1):
                cid = child.child_id(id, k)
                kid = self._base(child, cid)
                if kid is not None and kid.get(child.fk) == id:
                    out.append(cid)
        for ref in self.store.linked(self.snap.workspace, f"{entity.name}:{id}", relationship):
            cid = child.parse_id(ref.split(":", 1)[1])
            kid = self._base(child, cid) if cid not in out else None
            if kid is not None and kid.get(child.fk) == id:
                out.append(cid)
        return out

    def lifecycle(self, entity: EntityType, id: object) -> Lifecycle | None:
        data = self.get(entity, id)
        if data is None or self.engine.personas is None or not self.engine.personas.is_persona(entity):
            return None
        return self.engine.personas.lifecycle(self, entity, id, data)

    def persona_handle(self, ref: str) -> Persona:
        """The persona ``ref`` (``user:456``) with its lifecycle calls; 404/422 Problem otherwise."""
        entity, id, data = self.resolve(ref)
        personas = self.engine.personas
        if personas is None and "consistency" in self.engine.off:
            raise Problem(409, "Consistency off", "personas are switched off (consistency.enabled: false): "
                              "no lifecycle states, effects or rules", field="persona_id")
        if personas is None or not personas.is_persona(entity):
            kind = personas.type.name if personas and personas.type else None
            raise Problem(422, "Not a persona", f"{ref} is not a persona" +
                              (f"; personas are '{kind}:<id>'" if kind else ""), field="persona_id")
        return Persona(self, personas, entity, id, data)

    def facet(self, entity: EntityType, id: object, facet: str, schema: dict | None) -> dict | None:
        """A facet of an entity (``/users/{id}/billing``): generated from its schema and shaped by
        the state of the persona it belongs to (the lifecycle effects for that facet)."""
        data = self.get(entity, id)
        if data is None:
            return None
        personas = self.engine.personas
        owner = self.persona_of(entity, data) if personas else None
        ctx = {"created_at": self._created_at(entity, data), "now": self.now, "person": False, "fields": {},
               "currency": currency_of(owner[2]) if owner is not None else None}
        skip = personas.effect_fields(facet) if personas else set()
        props = (merge_schema(schema or {}).get("properties") or {})
        given = {name: data[entity.id_field] for name in props if name in (f"{entity.name}_id", "persona_id", "id")}
        body = self.gen.object(
            {**merge_schema(schema or {}), "properties": {k: v for k, v in props.items() if k not in skip}},
            f"{entity.name}:{id}#{facet}",
            "$",
            ctx,
            given=given,
        )
        if owner is not None and personas is not None:
            body = Persona(self, personas, *owner).apply_lifecycle_effects(facet, body)
        texts = self.engine.texts
        if self.text_refs is not None and texts is not None and texts.owns(facet):
            self.note(setting_tags("ai:")[1])
            body = texts.overlay(self, entity, id, body, facet=facet)
            self.text_refs.add(f"{entity.name}:{id}#{facet}")
        return body

    def persona_state(self, ref: str) -> str | None:
        """The lifecycle state of a persona ref (``user:123``), for headers; None if not a persona."""
        kind, _, raw = ref.partition(":")
        entity = self.model.types.get(kind)
        if entity is None:
            return None
        life = self.lifecycle(entity, entity.parse_id(raw))
        return life.state.value if life else None

    def is_generated(self, entity: EntityType, id: object) -> bool:
        return self._generated(entity, id) is not None

    def created_at_of(self, entity: EntityType, data: dict) -> datetime:
        return self._created_at(entity, data)

    def children(self, entity: EntityType, id: object, relationship: str) -> list[dict]:
        """The children of one entity over one edge: generated ones in order, then linked ones."""
        child = entity.children.get(relationship)
        if child is None:
            return []
        return self.cached(("c", entity.name, id, relationship),
                           lambda: self._children(entity, id, child, relationship))

    def _children(self, entity: EntityType, id: object, child: EntityType, relationship: str) -> list[dict]:
        out: list[dict] = []
        seen: set = set()
        generated = self._generated(entity, id) if self.get(entity, id) is not None else None
        if generated is not None:
            created = self._created_at(entity, self.get(entity, id) or {})
            for k in range(1, len(self.child_times(entity, id, created, child)) + 1):
                cid = child.child_id(id, k)
                kid = self.get(child, cid)
                if kid is not None and kid.get(child.fk) == id:
                    out.append(kid)
                    seen.add(cid)
        for ref in self.store.linked(self.snap.workspace, f"{entity.name}:{id}", relationship):
            cid = child.parse_id(ref.split(":", 1)[1])
            if cid in seen:
                continue
            kid = self.get(child, cid)
            if kid is not None and kid.get(child.fk) == id:
                out.append(kid)
                seen.add(cid)
        return out

    def all_of(self, entity: EntityType) -> Callable[[], Any]:
        """Iterate every existing entity of a type, lazily, in a stable order."""
        def walk():
            if entity.parent is None:
                deleted = {entity.parse_id(i) for i in self.store.deleted_ids(self.snap.workspace, entity.name)}
                for index in range(1, (entity.config.population or 0) + 1):
                    id = entity.root_id(index)
                    if id not in deleted:
                        data = self.get(entity, id)
                        if data is not None:
                            yield data
                for raw in self.store.created_ids(self.snap.workspace, entity.name):
                    data = self.get(entity, entity.parse_id(raw))
                    if data is not None:
                        yield data
            else:
                for parent in self.all_of(entity.parent)():
                    yield from self.children(entity.parent, parent[entity.parent.id_field], entity.relationship)
        return walk

    def count(self, entity: EntityType) -> int:
        """How many entities of a type exist, without building them: generated children are
        counted from their parents' timelines, then tombstones and created ones adjust it."""
        workspace = self.snap.workspace
        if entity.parent is None:
            deleted = len([i for i in self.store.deleted_ids(workspace, entity.name)
                           if entity.root_index(entity.parse_id(i)) is not None])
            return (entity.config.population or 0) - deleted + len(self.store.created_ids(workspace, entity.name))
        if entity.parent.parent is None:
            return self._indexed_count(entity)
        total = self.cached(("ng", entity.name), lambda: self._count_generated(entity))
        for raw in self.store.deleted_ids(workspace, entity.name):
            if self._generated(entity, entity.parse_id(raw)) is not None:
                total -= 1
        for raw in self.store.created_ids(workspace, entity.name):
            if self.get(entity, entity.parse_id(raw)) is not None:
                total += 1
        return total

    def _count_generated(self, entity: EntityType) -> int:
        """How many children of a type the generator made for every existing parent (a sum of timelines,
        cached until a parent's record or lifecycle changes, not when children are created or deleted)."""
        parent = _parent(entity)
        total = 0
        for parent_id in self.existing_ids(parent):
            generated = self._generated(parent, parent_id)
            if generated is not None:
                total += len(self.child_times(parent, parent_id, generated[0], entity))
        return total

    def existing_ids(self, entity: EntityType):
        """Ids of every existing entity of a type, in a stable order, building none of them."""
        workspace = self.snap.workspace
        deleted = {entity.parse_id(i) for i in self.store.deleted_ids(workspace, entity.name)}
        if entity.parent is None:
            for index in range(1, (entity.config.population or 0) + 1):
                id = entity.root_id(index)
                if id not in deleted:
                    yield id
        else:
            for parent_id in self.existing_ids(entity.parent):
                generated = self._generated(entity.parent, parent_id)
                if generated is None:
                    continue
                for k in range(1, len(self.child_times(entity.parent, parent_id, generated[0], entity)) + 1):
                    id = entity.child_id(parent_id, k)
                    if id not in deleted:
                        yield id
        for raw in self.store.created_ids(workspace, entity.name):
            id = entity.parse_id(raw)
            if entity.parent is None or self._base(entity, id) is not None:
                yield id

    def page(self, entity: EntityType, page: int, per_page: int) -> list[dict]:
        return self.rows(entity, (page - 1) * per_page, page * per_page)

    def rows(self, entity: EntityType, start: int, stop: int) -> list[dict]:
        """The entities at positions ``start`` to ``stop`` (exclusive) of the type's stable order;
        a top-level type without deletions builds only those."""
        if stop <= start:
            return []
        if entity.parent is not None and entity.parent.parent is None:
            return self._indexed_rows(entity, start, stop)
        if entity.parent is None and not self.store.deleted_ids(self.snap.workspace, entity.name):
            population = entity.config.population or 0
            ids = [entity.root_id(i) for i in range(start + 1, min(population, stop) + 1)]
            out = [d for d in (self.get(entity, i) for i in ids) if d is not None]
            if len(out) < stop - start:
                created = self.store.created_ids(self.snap.workspace, entity.name)
                skip = max(0, start - population)
                for raw in created[skip: skip + stop - start - len(out)]:
                    data = self.get(entity, entity.parse_id(raw))
                    if data is not None:
                        out.append(data)
            return out
        out = []
        for i, data in enumerate(self.all_of(entity)()):
            if i >= stop:
                break
            if i >= start:
                out.append(data)
        return out

    def pristine(self) -> WorldView:
        """This workspace's world as nobody changed it: the same seed and clock, no stored changes."""
        snap = self.snap
        if snap.version == 0:
            return self
        world = (BASE, snap.seed, snap.now, snap.start)
        return WorldView(self.engine, Snapshot(snap.workspace, 0, snap.seed, snap.now, snap.start, world, world))

    def child_index(self, entity: EntityType) -> ChildIndex:
        """The index of a child type of a top-level type in the unchanged world at this clock position,
        built on first use (shared by every workspace with the same seed and clock)."""
        pristine = self.pristine()
        key = (*pristine.snap.world, entity.name)
        index = self.engine.indexes.get(key)
        if index is None:
            parent = _parent(entity)

            def count(position: int) -> int:
                id = parent.root_id(position)
                return len(pristine.child_times(parent, id, pristine.root_created_at(parent, id), entity))
            with self.engine.indexing:
                index = self.engine.indexes.get(key) or self.engine.indexes.put(
                    key, build_index(parent.config.population or 0, count, entity.segment))
        return index

    def touched(self, entity: EntityType) -> Touched:
        """The parents whose children this workspace's changes made differ from the index, exactly counted."""
        return self.cached(("touched", entity.name), lambda: self._find_touched(entity))

    def _find_touched(self, entity: EntityType) -> Touched:
        if self.snap.version == 0:
            return Touched.of({})
        parent = _parent(entity)
        workspace, index = self.snap.workspace, self.child_index(entity)
        ids: set[object] = {parent.parse_id(raw) for raw in self.store.stored_ids(workspace, parent.name)}
        prefix = f"lifecycle:{parent.name}:"
        ids.update(parent.parse_id(key[len(prefix):]) for key in self.store.setting_keys(workspace, prefix))
        for raw in self.store.stored_ids(workspace, entity.name):
            id = entity.parse_id(raw)
            split = entity.split_id(id)
            if split is not None:
                ids.add(split[0])
            stored = self.stored(entity, id)
            if stored is not None and entity.fk:
                ids.add(parent.parse_id(stored.data.get(entity.fk)))
        deltas: dict[int, int] = {}
        for pid in ids:
            position = parent.root_index(pid) if pid is not None else None
            if position is not None:
                exact = len(self.child_ids(parent, pid, _edge(entity)))
                if exact != index.generated(position):
                    deltas[position] = exact - index.generated(position)
        return Touched.of(deltas)

    def _created_parents(self, entity: EntityType) -> Iterator[object]:
        """Ids of the parents users created (after the generated ones, in creation order)."""
        parent = _parent(entity)
        for raw in self.store.created_ids(self.snap.workspace, parent.name):
            yield parent.parse_id(raw)

    def _indexed_count(self, entity: EntityType) -> int:
        """How many children of a top-level type's children exist: the index, the touched parents'
        differences, and the children of created parents."""
        index, touched = self.child_index(entity), self.touched(entity)
        total = index.prefix[index.parents] + touched.shift(index.parents)
        for id in self._created_parents(entity):
            total += len(self.child_ids(_parent(entity), id, _edge(entity)))
        return total

    def _indexed_rows(self, entity: EntityType, start: int, stop: int) -> list[dict]:
        """The children at positions ``start`` to ``stop``: the index finds the first one's parent."""
        parent = _parent(entity)
        index, touched = self.child_index(entity), self.touched(entity)
        position, skip = touched.locate(index, start)
        want = stop - start
        ids: list = []
        while position <= index.parents and len(ids) < want:
            if touched.count(index, position) > 0:
                kids = self.child_ids(parent, parent.root_id(position), _edge(entity))
                ids.extend(kids[skip: skip + want - len(ids)])
                skip = 0
            position += 1
        for id in self._created_parents(entity) if len(ids) < want else ():
            kids = self.child_ids(parent, id, _edge(entity))
            if skip >= len(kids):
                skip -= len(kids)
                continue
            ids.extend(kids[skip: skip + want - len(ids)])
            skip = 0
            if len(ids) >= want:
                break
        return [data for data in (self.get(entity, id) for id in ids) if data is not None]

    def parent_ref(self, entity: EntityType, data: dict) -> str | None:
        if entity.parent is None or data.get(entity.fk) is None:
            return None
        return f"{entity.parent.name}:{data[entity.fk]}"

    def persona(self, entity: EntityType, data: dict) -> str:
        """The persona an entity belongs to: its top-level ancestor (``user:123``)."""
        while entity.parent is not None:
            parent = self.get(entity.parent, data.get(entity.fk))
            if parent is None:
                break
            entity, data = entity.parent, parent
        return f"{entity.name}:{data.get(entity.id_field)}"

    # -- the graph ---------------------------------------------------------------------------
    def resolve(self, ref: str) -> tuple[EntityType, object, dict]:
        try:
            parsed = EntityRef.parse(ref)
        except ValueError as exc:
            raise Problem(400, "Invalid entity ref", str(exc), field="ref") from None
        entity = self.model.types.get(parsed.type)
        if entity is None:
            raise Problem(422, "Unknown entity type", f"'{parsed.type}' is not an entity type of this world",
                              field="ref", allowed=sorted(self.model.types))
        id = entity.parse_id(parsed.id)
        data = self.get(entity, id) if id is not None else None
        if data is None:
            raise Problem(404, "Not found", f"{ref} does not exist in workspace '{self.workspace}'", field="ref")
        return entity, id, data

    def neighbours(self, entity: EntityType, id: object, data: dict,
                   records: set[str] | None = None) -> list[tuple[str, EntityType, object, dict]]:
        """Edges out of one entity (``world/graph.py``)."""
        return persona_graph.neighbours(self, entity, id, data, records)

    def graph(self, ref: str, type: str | None = None, relationship: str | None = None,
              depth: int = 1, limit: int = 1000) -> dict:
        """Breadth-first traversal from ``ref`` (``world/graph.py``)."""
        return persona_graph.traverse(self, ref, type, relationship, depth, limit)

    # -- writes ------------------------------------------------------------------------------
    def _parent_from(self, entity: EntityType, data: dict, persona: str | None, required: bool) -> dict:
        """Normalise the parent key (any spelling, string or number) and check the parent exists."""
        if entity.parent is None:
            return data
        data = dict(data)
        given = [s for s in entity.fk_spellings() if s in data]
        raw = data[given[0]] if given else None
        for spelling in given:
            data.pop(spelling)
        if raw is None and persona and persona.startswith(f"{entity.parent.name}:"):
            raw = persona.split(":", 1)[1]
        if raw is None:
            if required:
                raise Problem(422, "Missing parent", f"'{entity.fk}' is required: every {entity.name} belongs "
                                  f"to a {entity.parent.name}", field=entity.fk)
            return data
        parent_id = entity.parent.valid_id(raw)
        if parent_id is None and (isinstance(raw, int) or entity.parent.integer_ids):
            raise Problem(422, "Invalid id", f"{str(raw)[:40]!r} is not a {entity.parent.name} id: it must be "
                              f"{entity.parent.id_rule()}", field=given[0] if given else entity.fk)
        if parent_id is None or self.get(entity.parent, parent_id) is None:
            raise Problem(
                422,
                "Unknown parent",
                f"{entity.parent.name} {raw!r} does not exist",
                field=given[0] if given else entity.fk,
            )
        data[entity.fk] = parent_id
        return data

    def create(self, entity: EntityType, data: dict, *, id: object = None, persona: str | None = None) -> dict:
        """Create (or register) an entity; it links to its parent and persona by its keys."""
        if persona is not None:
            self.resolve(persona)
        data = self._parent_from(entity, {k: v for k, v in data.items() if k not in ("id", REPLACED)}, persona,
                                 required=True)
        workspace = self.snap.workspace
        if id is None:
            while True:
                id = entity.new_id(self.store.next_id(workspace, entity.name))
                if self.stored(entity, id) is None:
                    break
        else:
            parsed = entity.valid_id(id)
            if parsed is None:
                raise Problem(422, "Invalid id", f"entity_id {str(id)[:40]!r} is not a valid {entity.name} id: "
                                  f"it must be {entity.id_rule()}", field="entity_id")
            id = parsed
        data.setdefault("created_at", format_rfc3339(self.now))
        generated = self._generated(entity, id) is not None
        mode = "replace" if generated else "created"
        if generated:
            data.pop("created_at")
        links = persona_graph.links_for(self, entity, id, data, persona)
        self.store.put_entity(workspace, entity.name, str(id), data, mode, links)
        fresh = self.engine.view(workspace)
        created = fresh.get(entity, id)
        assert created is not None, "an entity just stored reads back"
        self.engine.events.emit(workspace, f"{entity.name}.created", ref=f"{entity.name}:{id}", entity=created,
                                at=format_rfc3339(fresh.now), persona=fresh.persona(entity, created))
        return created

    def update(self, entity: EntityType, id: object, data: dict, *, replace: bool) -> dict:
        current = self.get(entity, id)
        if current is None:
            raise Problem(404, "Not found", f"{entity.name} {id} does not exist", field="id")
        data = self._parent_from(entity, {k: v for k, v in data.items() if k not in ("id", REPLACED)}, None,
                                 required=False)
        stored = self.stored(entity, id)
        if stored is not None and stored.mode == "created":
            new = {**data, REPLACED: True} if replace else {**stored.data, **data}
            new.setdefault("created_at", stored.data.get("created_at"))
            if entity.fk and entity.fk not in new:
                new[entity.fk] = stored.data.get(entity.fk)
            mode = "created"
        else:
            new = dict(data) if replace else {**(stored.data if stored else {}), **data}
            # a PATCH after a PUT keeps the PUT's replacement: the fields it removed stay removed
            mode = "replace" if replace or (stored is not None and stored.mode == "replace") else "patch"
        effective = {**current, **new}
        self.store.put_entity(self.snap.workspace, entity.name, str(id), new, mode,
                              persona_graph.links_for(self, entity, id, effective, None))
        updated = self.engine.view(self.snap.workspace).get(entity, id)
        assert updated is not None, "an entity just stored reads back"
        return updated

    def delete(self, entity: EntityType, id: object) -> None:
        if self.get(entity, id) is None:
            raise Problem(404, "Not found", f"{entity.name} {id} does not exist", field="id")
        stored = self.stored(entity, id)
        self.store.delete_entity(self.snap.workspace, entity.name, str(id), stored.mode if stored else "generated")



def _parent(entity: EntityType) -> EntityType:
    """The parent type of a child type: the callers walk child types only."""
    assert entity.parent is not None, f"{entity.name} is not a child type"
    return entity.parent


def _edge(entity: EntityType) -> str:
    """The edge from a child type's parent to it: every child type has one."""
    relationship = entity.relationship
    assert relationship is not None, f"{entity.name} is not a child type"
    return relationship
