"""A world view: the world of one workspace at one clock position, as every read sees it.

What a view computes is cached with the change tags of the store reads it made
(``world/freshness.py``), so a write drops only what depends on it. A generated entity is built
from its id (its base), user changes are laid over it, then derivations and lifecycle effects.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mockverse.ids import EntityRef
from mockverse.openapi.jsonschema import fits
from mockverse.problems import Problem
from mockverse.store import Store, StoredEntity, entity_tag, log_tag, members_tag, setting_tags
from mockverse.world import derived_fields, existence, lists, memberships, urls, writes
from mockverse.world import graph as persona_graph
from mockverse.world.freshness import BASE, Entry, TaggedReads
from mockverse.world.generate import currency_of, merge_schema
from mockverse.world.model import EntityType
from mockverse.world.persona import Lifecycle, Persona
from mockverse.world.writes import REPLACED

if TYPE_CHECKING:
    from mockverse.world.engine import ConsistencyEngine

LISTING_AFTER = 8   # records a view looks up one by one before it lists which ids of a type have one


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


class WorldView:
    """The world of one workspace at one version. Cheap to make; all reads go through it. Here: its
    caches and how one entity is read; its other parts are modules of functions over a view, bound
    below as its methods."""

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

    def tagged(self, compute: Callable[[], Any]) -> tuple[Any, set[str]]:
        """``compute()`` and the change tags of the reads it made (noted as the caller's too)."""
        frame: set[str] = set()
        self._frames.append(frame)
        try:
            value = compute()
        finally:
            self._frames.pop()
        self._frames[-1].update(frame)
        return value, frame

    def note_all(self, tags: set[str]) -> None:
        """Record that what is being computed depends on each of ``tags``."""
        self._frames[-1].update(tags)

    def _compute(self, parts: tuple, compute: Callable[[], Any]) -> Any:
        """Compute a value, noting the tags of the reads it makes, and cache it under ``parts``."""
        value, frame = self.tagged(compute)
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

    def is_current(self, entity: EntityType, id: object, data: dict) -> bool:
        """Whether ``data`` is the very value this view holds as the entity's fields (not a copy, not a
        projection), so what is rendered from it may be shared with every other read of the entity."""
        hit = self._hit(("e", entity.name, id))
        return hit is not None and hit.value is data

    def _build(self, entity: EntityType, id: object) -> dict | None:
        """The entity's own fields: base, links, derivations, lifecycle effects and laid text."""
        data = self._base(entity, id)
        if data is not None and entity.member_of is not None:
            return memberships.fields(self, entity, id, data)
        if data is not None:
            data = entity.link(self, id, data)
            data = derived_fields.derive(self, entity, id, data)
            data = urls.url_fields(self, entity, id, data)
            if self.engine.personas is not None:
                data = derived_fields.shape(self, self.engine.personas, entity, id, data)
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
        data = self.base_with(entity, id, stored)
        if data is not None and entity.parent is not None and not writes.parentless(entity, stored):
            parent_id = entity.parent.parse_id(data.get(entity.fk))
            if parent_id is None or self.get(entity.parent, parent_id) is None:
                data = None  # the parent is gone: deletion cascades to everything below it
        return data

    def base_with(self, entity: EntityType, id: object, stored: StoredEntity | None) -> dict | None:
        """The entity's generated fields with the user's ``stored`` record laid over (uncached): a write
        computes with it what the entity will read before storing, so it stores once."""
        data: dict | None
        if stored is not None and stored.deleted:
            data = None
        elif stored is not None and stored.mode == "created":
            created = self.created_at_of(entity, stored.data)
            given = {k: v for k, v in stored.data.items() if k != REPLACED}
            data = self._generate(entity, id, created, stored.data.get(entity.fk) if entity.fk else None, given=given)
            if stored.data.get(REPLACED):   # PUT: only what it gave (and what the schema requires)
                data = self._kept(entity, data, given)
        else:
            generated = self.origin(entity, id)
            if generated is None:
                data = None
            else:
                parent = None if writes.parentless(entity, stored) else generated[1]   # detached: no parent
                data = self._generate(entity, id, generated[0], parent,
                                      given=stored.data if stored is not None else None)
                if stored is not None and stored.mode == "replace":
                    data = self._kept(entity, data, stored.data)
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
               "currency": derived_fields.currency_above(self, entity, parent_id),
               "serial": functools.partial(entity.codec.decode, id)}   # decoded only if a field needs it
        if given is None:   # a pure function of (seed, now, entity, creation, currency): shared by every workspace
            key = ("g", self.snap.seed, self.now, entity.name, id, created, ctx["currency"])
            generated = self.engine.generated.get(key)
            if generated is None:
                generated = self.engine.generated.put(key, self.gen.object(entity.schema, ref, "$", ctx))
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
        if entity.fk and (given or {}).get(entity.fk) is None:   # made without a parent: its key stays null
            data[entity.fk] = parent_id
        return entity.complete(self, id, data, given)

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
        """A facet of an entity (``/users/{id}/billing``): generated from its schema, holding the entity's
        own values where it names its fields, and shaped by the state of the persona it belongs to (the
        lifecycle effects for that facet)."""
        data = self.get(entity, id)
        if data is None:
            return None
        personas = self.engine.personas
        owner = self.persona_of(entity, data) if personas else None
        ctx = {"created_at": self.created_at_of(entity, data), "now": self.now, "person": False, "fields": {},
               "currency": currency_of(owner[2]) if owner is not None else None}
        skip = personas.effect_fields(facet) if personas else set()
        props = (merge_schema(schema or {}).get("properties") or {})
        given = {name: data[entity.id_field] for name in props if name in (f"{entity.name}_id", "persona_id", "id")}
        shared = {name: value for name, value in data.items()   # what the facet says of its entity agrees with it
                  if name in props and name not in skip and not isinstance(value, (dict, list))
                  and fits(value, props[name])}
        written = self.facet_fields(entity, id, facet, props)
        given = {**shared, **given, **written}
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
        return {**body, **written} if written else body

    def facet_fields(self, entity: EntityType, id: object, facet: str, props: dict) -> dict:
        """The fields written to an entity's facet that its schema's properties hold (all of them when it
        names none), what its reads show over the generated ones."""
        stored = writes.facet_written(self, entity, id, facet)
        if stored is None or stored.deleted:
            return {}
        return {name: value for name, value in stored.data.items()
                if not props or isinstance(props.get(name), dict) and fits(value, props[name])}

    def facet_gone(self, entity: EntityType, id: object, facet: str) -> bool:
        """Whether an entity's facet was deleted and not written since."""
        stored = writes.facet_written(self, entity, id, facet)
        return stored is not None and stored.deleted

    def persona_state(self, ref: str) -> str | None:
        """The lifecycle state of a persona ref (``user:123``), for headers; None if not a persona."""
        kind, _, raw = ref.partition(":")
        entity = self.model.types.get(kind)
        if entity is None:
            return None
        life = self.lifecycle(entity, entity.parse_id(raw))
        return life.state.value if life else None

    def pristine(self) -> WorldView:
        """This workspace's world as nobody changed it: the same seed and clock, no stored changes."""
        snap = self.snap
        if snap.version == 0:
            return self
        world = (BASE, snap.seed, snap.now, snap.start)
        return WorldView(self.engine, Snapshot(snap.workspace, 0, snap.seed, snap.now, snap.start, world, world))

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

    # -- its parts, bound as methods ------------------------------------------------------------------
    # generated existence: which generated entities exist, and when each was created (world/existence.py)
    root_created_at = existence.root_created_at
    child_times = existence.child_times
    generated_offsets = existence.generated_offsets
    origin = existence.origin
    is_generated = existence.is_generated
    created_at_of = existence.created_at_of
    # derived fields and lifecycle effects over an entity's base (world/derived_fields.py)
    persona_of = derived_fields.persona_of
    # lists, counts and pages (from the index) (world/lists.py)
    child_ids = lists.child_ids
    children = lists.children
    all_of = lists.all_of
    count = lists.count
    page = lists.page
    rows = lists.rows
    differences = lists.differences
    # writes (world/writes.py)
    create = writes.create
    update = writes.update
    delete = writes.delete
    write_facet = writes.write_facet
    delete_facet = writes.delete_facet
