"""Entity types of a world and the edges between them, built from config and schemas."""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mockverse.config import EntityConfig, WorldConfig
from mockverse.openapi.loader import is_nullable
from mockverse.store import KEY_LINK
from mockverse.world.generate import PERSON_TYPES
from mockverse.world.idscheme import IdCodec
from mockverse.world.numbers import NumberKey, generated_number

if TYPE_CHECKING:
    from mockverse.openapi import EntityType as InferredType
    from mockverse.openapi import InferredWorld, Spec
    from mockverse.world.derive import CompositeName
    from mockverse.world.specworld import DeepLink, Embed, Reference

API_BASE = "https://api.example.com"   # the base of absolute API URLs when the spec names no server


def api_base(document: dict) -> str:
    """The spec's first absolute ``servers`` URL without its trailing slash, else :data:`API_BASE`."""
    for server in document.get("servers") or []:
        url = server.get("url") if isinstance(server, dict) else None
        if isinstance(url, str) and re.match(r"^https?://[^/{}]+", url) and "{" not in url:
            return url.rstrip("/")
    return API_BASE


class WorldError(ValueError):
    """The world definition does not fit the spec (e.g. a schema name that does not exist)."""


INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1
_SAMPLING = threading.local()   # .active: types this thread is sampling right now (guards reference cycles)
SAMPLE_TRIES = 12   # parents drawn, at most, to find one with a child (a child type has 0-4 per parent)
SCAN_LIMIT = 2000   # entities a filter, sort or match over a whole type reads, at most (X-Mockverse-Scanned)
Accept = Callable[[object, dict], bool]   # which holders of a key a lookup takes (id, fields)
# the relationship of a key value's ref to its holders where a composite path scopes the key by owner (two owners may
# each hold it): indexed like KEY_LINK, but no store claim (the write's own check keeps it unique per owner)
OWNED_KEY_LINK = "holds_owned_key"


@dataclass
class ScopedKey:
    """A field holding another entity's key (a guild member's ``user.id``, a channel member's ``identity``)
    that names the entity among its parent's children: distinct within one parent, never across the type."""

    field: str          # the property that holds it: ``user`` (an embedded entity) or ``identity`` (a link)
    path: list[str]     # where the value sits in the entity's fields: ``["user", "id"]``, ``["identity"]``
    target: EntityType  # the entity type whose key it holds
    embed: bool         # the property embeds the target entity (else it holds its id)
    only: bool          # the type has no id of its own: this is the one key its item path takes
    key: str | None = None   # the target's key field the link holds instead of its id (a user's ``identity``)


@dataclass(eq=False)
class EntityType:
    """One entity type of a world (the built-in one like any spec's): its config, its item schema, its
    parent and children, its ids (rendered by a codec, held in any id field) and its links to others."""

    name: str
    config: EntityConfig
    schema: dict
    segment: str                                    # last segment of its collection path: "orders"
    parent: EntityType | None = None
    children: dict[str, EntityType] = field(default_factory=dict)   # relationship -> child type
    integer_ids: bool = True
    max_generated_id: int = 0
    id_field: str = "id"                            # the property that holds the id ("username", "projectId")
    codec: IdCodec = field(default_factory=IdCodec)
    inferred: InferredType | None = None            # where the spec serves it and the schema it was read from
    parent_field: str | None = None                 # the foreign key to the parent ("user_id")
    parent_relationship: str | None = None          # the edge from the parent ("has_orders")
    references: list[Reference] = field(default_factory=list)
    url_links: list[Reference] = field(default_factory=list)   # fields holding another entity's URL (issue_url)
    embeds: list[Embed] = field(default_factory=list)
    variants: set[int] = field(default_factory=set)
    deep: list[DeepLink] = field(default_factory=list)
    keys: dict[str, IdCodec] = field(default_factory=dict)
    scoped: ScopedKey | None = None                 # the key it answers to among its parent's children
    composite: CompositeName | None = None          # fields spelling its composite path key (``full_name``)
    number: NumberKey | None = None                 # its number within its parent, when its item path takes one
    member_of: EntityType | None = None             # the top-level type its entities are (an org's members: user)

    @property
    def person(self) -> bool:
        return self.name in PERSON_TYPES or self.name.split("_")[-1] in PERSON_TYPES

    @property
    def fk(self) -> str | None:
        """The canonical foreign-key field to the parent (``user_id``)."""
        return self.parent_field

    @property
    def relationship(self) -> str | None:
        """The edge name from the parent (``has_orders``)."""
        return self.parent_relationship

    def relation_names(self) -> tuple[dict[str, str], dict[str, EntityType]]:
        """The names its relations go by: children (``orders`` and ``has_orders`` -> ``has_orders``, for
        ``_embed`` and embedded properties) and the parent (``user``, for ``_expand``)."""
        children: dict[str, str] = {}
        for rel, child in self.children.items():
            children[rel.removeprefix("has_")] = rel
            children[child.segment] = rel
        parents = {self.parent.name: self.parent} if self.parent is not None else {}
        return children, parents

    def fk_spellings(self) -> list[str]:
        """Every spelling of the parent key accepted on input: ``user_id``, ``userId``."""
        if not self.parent:
            return []
        p = self.parent.name
        camel = p.split("_")[0] + "".join(w.title() for w in p.split("_")[1:]) + "Id"
        return list(dict.fromkeys(name for name in (self.fk, f"{p}_id", camel) if name))

    def parse_id(self, raw: object) -> int | str | None:
        """An id from a path or a body, in this type's id type (integers: 0 to 2^63-1, so a read of
        an id no entity can have finds nothing); None when it cannot be one. Writes also check
        :meth:`valid_id`."""
        if self.integer_ids:
            if isinstance(raw, bool):
                return None
            if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19:
                raw = int(raw)
            return raw if isinstance(raw, int) and 0 <= raw <= INT64_MAX else None
        if isinstance(raw, bool) or not isinstance(raw, (str, int)) or not str(raw):
            return None
        return str(raw).lower() if self.codec.kind == "uuid" else str(raw)

    def valid_id(self, raw: object) -> int | str | None:
        """The id a write may store: parsed, and for integer ids within :meth:`id_range`; else None."""
        id = self.parse_id(raw)
        if not isinstance(id, int) or not self.integer_ids:
            return id
        low, high = self.id_range()
        return id if low <= id <= high else None

    def id_range(self) -> tuple[int, int]:
        """The integer ids this type takes: positive, within a signed 64-bit integer (what SQLite and
        most backends store), narrowed by the id schema's ``format: int32``, ``minimum`` and ``maximum``."""
        schema = (self.schema.get("properties") or {}).get(self.id_field) if isinstance(self.schema, dict) else None
        schema = schema if isinstance(schema, dict) else {}
        low, high = 1, INT64_MAX if schema.get("format") != "int32" else INT32_MAX
        minimum, maximum = schema.get("minimum"), schema.get("maximum")
        if isinstance(minimum, int) and not isinstance(minimum, bool) and 0 <= minimum <= high:
            low = minimum
        if isinstance(maximum, int) and not isinstance(maximum, bool) and low <= maximum < high:
            high = maximum
        return low, high

    def id_rule(self) -> str:
        """What an id of this type must be, for error messages."""
        if not self.integer_ids:
            return "a non-empty string"
        low, high = self.id_range()
        return f"an integer from {low} to {high}"

    # -- id scheme: a generated child's id encodes its parent's serial, so the parent is computed --
    def root_id(self, index: int) -> object:
        """The id of the ``index``-th (1-based) generated entity of a top-level type."""
        return self.codec.encode(index)

    def root_index(self, id: object) -> int | None:
        """Which generated top-level entity ``id`` is (1-based), or None if not a generated id."""
        serial = self.codec.decode(id)
        return serial if serial is not None and 1 <= serial <= (self.config.population or 0) else None

    def child_id(self, parent_id: object, k: int) -> object:
        """The id of the ``k``-th (1-based) generated child of ``parent_id``."""
        assert self.parent is not None, f"{self.name} has a parent"
        parent_serial = self.parent.codec.decode(parent_id)
        if parent_serial is None:
            raise ValueError(f"{parent_id!r} is not a {self.parent.name} id")
        return self.codec.encode(parent_serial * self.config.id_multiplier + k)

    def split_id(self, id: object) -> tuple[object, int] | None:
        """(parent id, k) for an id the generator could have made, else None; O(1), no lookups."""
        serial = self.codec.decode(id)
        if serial is None or self.parent is None:
            return None
        parent_serial, k = divmod(serial, self.config.id_multiplier)
        if k < 1 or not 1 <= parent_serial <= self.parent.max_generated_id:
            return None
        return self.parent.codec.encode(parent_serial), k

    def new_id(self, counter: int) -> object:
        """The id of the ``counter``-th created entity: above every id the generator can produce."""
        return self.codec.encode(self.max_generated_id + counter)

    # -- keys and references ------------------------------------------------------------------
    def complete(self, view: Any, id: object, data: dict, given: dict | None) -> dict:
        """Put the id in its field, and each alternative key the user did not set (``name`` of
        ``/services/{service_id_or_name}``) derived from the id, so the path finds it by either (a nullable key
        a client created the entity without stays null: it answers by its id only); a generated child numbered
        within its parent gets its number."""
        data[self.id_field] = id
        serial = self.codec.decode(id)
        for name, codec in self.keys.items():
            if serial is None or name in (given or {}):
                continue
            created = serial > self.max_generated_id and given is not None
            data[name] = None if created and is_nullable(self.schema.get("properties", {}).get(name)) \
                else codec.encode(serial)
        if self.number is not None and self.number.field not in (given or {}):
            number = generated_number(view, self, id)
            if number is not None:
                data[self.number.field] = number
        return data

    def by_key(self, view: Any, raw: str, accept: Accept | None = None) -> object:
        """The id of the entity whose alternative key field (any of :attr:`keys`) equals ``raw`` (None if none);
        ``accept`` narrows the holders (a repository's name under one owner)."""
        return next((id for id in (self.key_holder(view, name, raw, accept) for name in self.keys) if id is not None),
                    None)

    def key_holder(self, view: Any, name: str, raw: str, accept: Accept | None = None) -> object:
        """The id of the entity whose key field ``name`` holds ``raw`` (None if none), of those ``accept`` takes:
        the generated one the key decodes to, else one a write stored it on (its :meth:`key_links` list it); O(1)
        store reads, never a scan."""
        serial = self.keys[name].decode(raw)
        id = self.codec.encode(serial) if serial is not None else None
        data = view.get(self, id) if id is not None else None
        if data is not None and key_text(data.get(name)) == raw and (accept is None or accept(id, data)):
            return id
        for ref in view.store.linked(view.snap.workspace, self.key_ref(name, raw), self.key_link()):
            id = self.parse_id(ref[len(self.name) + 1:])
            data = view.get(self, id) if id is not None else None
            if data is not None and key_text(data.get(name)) == raw and (accept is None or accept(id, data)):
                return id
        return None

    def held(self, view: Any, value: object, key: str | None) -> object:
        """What a link holding ``key`` of this type shows for the id (or ids) ``value``: each entity's ``key``
        as its own fields hold it (a created user's chosen ``identity`` too); the ids when ``key`` is None."""
        if key is None or value is None:
            return value
        if isinstance(value, list):
            return [self.held(view, v, key) for v in value]
        data = view._base(self, value)
        return data.get(key) if data is not None else None

    def linked_id(self, raw: object, view: Any, key: str | None) -> object:
        """The id of the entity a link value names: the one whose ``key`` it is, else (``key`` None) the id itself."""
        if key is None:
            return self.parse_id(raw)
        return self.by_key(view, str(raw)) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else None

    def keyed_target(self, view: Any, data: dict, ref: Reference, raw: object) -> object:
        """The id of the entity a link ``ref`` holding a key names by ``raw`` (a member's ``identity``), among those
        the entity of ``data`` may name (its service's users, when the target lives under an ancestor of it);
        None when there is none."""
        id = ref.target.linked_id(raw, view, ref.key)
        target = view.get(ref.target, id) if id is not None else None
        scope = self._scope(view, data, ref.target) if target is not None else None
        if target is None or scope is not None and target.get(ref.target.fk) != scope:
            return None
        return id

    def key_ref(self, name: str, raw: str) -> str:
        """The ref the entities a write gave ``raw`` in key field ``name`` are linked from (``app.uid=billing``):
        no entity's ref (it has no ``type:`` prefix of a type), so no list or graph walk reads it."""
        return f"{self.name}.{name}={raw}"

    def key_link(self) -> str:
        """The relationship its key values' refs link it by: one entity per value (:data:`KEY_LINK`, which the
        store claims), or one per value and owner where a composite path scopes the key (:data:`OWNED_KEY_LINK`)."""
        return OWNED_KEY_LINK if self.composite is not None and len(self.composite.parts) > 1 else KEY_LINK

    def claimed_key(self, data: dict, key: str) -> str | None:
        """The key field of ``data`` whose value's ref (:meth:`key_ref`) is ``key`` (None if none)."""
        return next((name for name in self.keys
                     if (text := key_text(data.get(name))) is not None and self.key_ref(name, text) == key), None)

    def key_links(self, id: object, data: dict) -> list[tuple[str, str, str]]:
        """The links that index a stored entity by each key value ``data`` gives it, so :meth:`key_holder` finds
        it in one lookup (they live in the store beside its fields, so they outlive a restart)."""
        me, link = f"{self.name}:{id}", self.key_link()
        return [(self.key_ref(name, text), link, me)
                for name, text in ((n, key_text(data.get(n))) for n in self.keys) if text is not None]

    def child_where(self, view: Any, parent_id: object, match: Callable[[dict], bool]) -> object:
        """The id of the first of ``parent_id``'s children of this type whose fields ``match`` (None if none):
        a lookup bounded by one parent's child count, never a scan of the type."""
        if self.parent is None or not self.relationship:
            return None
        for cid in view.child_ids(self.parent, parent_id, self.relationship):
            data = view.get(self, cid)
            if data is not None and match(data):
                return cid
        return None

    def scoped_text(self, data: dict) -> str | None:
        """The value of its key among its parent's children (``user.id``) in ``data``, as a path carries it."""
        return key_text(_at(data, self.scoped.path)) if self.scoped is not None else None

    def by_scoped_key(self, view: Any, parent_id: object, raw: str) -> object:
        """The id of the child of ``parent_id`` whose scoped key (``user.id``) equals ``raw`` (None if none)."""
        if self.scoped is None:
            return None
        return self.child_where(view, parent_id, lambda data: self.scoped_text(data) == raw)

    def scoped_value(self, view: Any, id: object, data: dict) -> object:
        """The target id a generated child holds in its scoped key: the parent's children take the target's
        generated entities in a permutation drawn from the parent, so no two of one parent hold the same; None
        for an entity not generated under a parent."""
        split = self.split_id(id) if self.scoped is not None else None
        if split is None or self.scoped is None:
            return None
        parent_id, k = split
        n, pick = self._scoped_pool(view, parent_id)
        if not 1 <= k <= n:
            return None
        ref = f"{self.parent.name if self.parent is not None else ''}:{parent_id}"
        step = 1 + int(view.gen.draw(ref, self.scoped.field, "step") * n)
        while math.gcd(step, n) != 1:   # a step coprime with n visits every target once before repeating
            step += 1
        return pick((int(view.gen.draw(ref, self.scoped.field, "start") * n) + (k - 1) * step) % n)

    def scoped_room(self, view: Any, parent_id: object) -> int | None:
        """How many generated children one parent has room for: one per target its key can hold (a channel's
        members are its service's users, a guild's members the users); None for a type with no such key."""
        return self._scoped_pool(view, parent_id)[0] if self.scoped is not None else None

    def _scoped_pool(self, view: Any, parent_id: object) -> tuple[int, Callable[[int], object]]:
        """(n, i -> id) of the generated targets the children of ``parent_id`` hold in their scoped key: the
        target type's population, or the generated children of the target's parent that is an ancestor."""
        assert self.scoped is not None, f"{self.name} has a key within its parent"
        target = self.scoped.target
        if target.parent is None:
            return target.config.population or 0, lambda i: target.root_id(i + 1)
        scope = self._ancestor_id(view, parent_id, target.parent)
        base = view._base(target.parent, scope) if scope is not None else None
        if base is None or not view.is_generated(target.parent, scope):
            return 0, lambda i: None
        times = view.child_times(target.parent, scope, view.created_at_of(target.parent, base), target)
        return len(times), lambda i: target.child_id(scope, i + 1)

    def _ancestor_id(self, view: Any, parent_id: object, ancestor: EntityType) -> object:
        """The id of the ``ancestor`` type above ``parent_id`` (this type's parent), from base data; None if the
        ancestor is not above it."""
        node, node_id = self.parent, parent_id
        while node is not None and node_id is not None:
            if node is ancestor:
                return node_id
            split = node.split_id(node_id) if view.stored(node, node_id) is None else None
            if split is not None:   # generated and untouched: its id names its parent, no fields built
                node_id = split[0]
            else:
                base = view._base(node, node_id)
                node_id = base.get(node.fk) if base is not None and node.fk else None
            node = node.parent
        return None

    def link(self, view: Any, id: object, data: dict) -> dict:
        """Fill every reference the user did not set with entities that exist (a new dict); filled on
        the entity's full read, never while its base data (which sibling lists need) is generated."""
        if not self.references and self.scoped is None:
            return data
        stored = view.stored(self, id)
        given = stored.data if stored is not None else None
        data = dict(data)
        for ref in self.references:
            if given and ref.field in given:
                continue
            if self.scoped is not None and self.scoped.field == ref.field:   # distinct among the siblings
                value = self.scoped_value(view, id, data)
                value = value if value is not None or ref.nullable else self.reference_value(view, id, data, ref)
            else:
                value = self.reference_value(view, id, data, ref)
            data[ref.field] = ref.target.held(view, value, ref.key)
        key = self.scoped
        if key is not None and key.embed and not (given and key.field in given):
            value = self.scoped_value(view, id, data)
            if value is not None:
                data[key.field] = {key.target.id_field: value}
        return data

    def reference_value(self, view: Any, id: object, data: dict, ref: Reference) -> object:
        """The id (ids for a many reference) a reference of the entity holds: its own parent's, else entities
        that exist, drawn per entity and field."""
        if ref.parent:
            return data.get(self.fk) if self.fk else None   # a key naming the entity's own parent
        key = f"{self.name}:{id}"
        gen = view.gen
        if ref.nullable and gen.draw(key, ref.field, "null") < (0.5 if ref.target is self else 0.15):
            return None
        scope = self._scope(view, data, ref.target)
        count = 1 + int(gen.draw(key, ref.field, "n") * 3) if ref.many else 1
        found: list = []
        for attempt in range(count * 2):
            if len(found) >= count:
                break
            if scope is not None:
                kids = view.child_ids(ref.target.parent, scope, ref.target.relationship)
                value = kids[int(gen.draw(key, ref.field, attempt) * len(kids))] if kids else None
            else:
                value = sample_id(view, ref.target, key, ref.field, attempt)
            if value is not None and value not in found and not (ref.target is self and value == id):
                found.append(value)
        if ref.many:
            return found
        if found:
            return found[0]
        if ref.nullable:
            return None
        return id if ref.target is self else None   # no other entity of the type: the entity itself, else none

    def _scope(self, view: Any, data: dict, target: EntityType) -> object:
        """The id of ``target``'s parent when this entity knows it (its own ancestor), else None."""
        if target.parent is None:
            return None
        if target.parent is self:
            return data.get(self.id_field)   # a key naming one of the entity's own children (a default role)
        entity: EntityType | None = self
        current: dict | None = data
        while entity is not None and entity.parent is not None:
            parent_id = current.get(entity.fk) if current else None
            if entity.parent is target.parent:
                return parent_id
            current = view.get(entity.parent, parent_id) if parent_id is not None else None
            entity = entity.parent
        return None


def _at(data: Any, path: list[str]) -> Any:
    """The value at a path of object keys (None where there is none)."""
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data


def key_text(value: object) -> str | None:
    """A key value as a path carries it (``17`` -> ``"17"``); None for none or a non-scalar."""
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    return str(value)


def sample_id(view: Any, entity: EntityType, *key: object) -> object:
    """The id of an existing entity of ``entity``'s type, drawn from ``key`` (None if none is found)."""
    if entity.parent is None:
        population = entity.config.population or 0
        return entity.root_id(1 + int(view.gen.draw(*key, "root") * population)) if population else None
    active: set[str] = _SAMPLING.__dict__.setdefault("active", set())
    if entity.name in active:
        return None
    active.add(entity.name)
    try:
        for attempt in range(SAMPLE_TRIES):
            parent_id = sample_id(view, entity.parent, *key, "parent", attempt)
            if parent_id is None:
                continue
            kids = view.child_ids(entity.parent, parent_id, entity.relationship)
            if kids:
                return kids[int(view.gen.draw(*key, "kid", attempt) * len(kids))]
        return None
    finally:
        active.discard(entity.name)

@dataclass
class WorldModel:
    """All entity types of the served world."""

    types: dict[str, EntityType]
    epoch: datetime
    links: list[dict] = field(default_factory=list)    # every relationship and how the world uses it
    title: str | None = None
    excluded: dict = field(default_factory=dict)        # types and relationships the config dropped
    base_url: str = API_BASE                            # where the API's absolute URLs start (its first server)

    @classmethod
    def from_spec(cls, spec: Spec, inferred: InferredWorld, world: WorldConfig) -> WorldModel:
        """The world of a spec (the built-in one too): the inferred entity types and relationships, corrected by
        the config's ``world`` section (see :class:`SpecWorldBuilder`)."""
        from mockverse.world.specworld import SpecWorldBuilder

        return SpecWorldBuilder(spec, inferred, world).build()

    def edges(self) -> list[str]:
        """Names of the graph's edges: children, ``has_<segment>`` links, ``belongs_to_<type>``."""
        types = self.types.values()
        return sorted({rel for t in types for rel in t.children} | {f"has_{t.segment}" for t in types}
                      | {f"belongs_to_{t.name}" for t in types})

    def describe(self, operations: list[tuple[str, str]] | None = None) -> dict:
        """The world as inferred and configured: entity types (where they are served, how many,
        their id scheme, their parent) and every relationship with its evidence and its use.
        ``operations`` (method, path) attach paths to types inference did not find (record types)."""
        out = []
        for entity in self.types.values():
            source = entity.inferred
            ops = (
                list(source.operations)
                if source is not None
                else [
                    f"{m} {p}"
                    for m, p in operations or []
                    if p == entity.config.path or p.startswith(f"{entity.config.path}/")
                ]
            )
            cfg = entity.config
            row = {
                "name": entity.name,
                "origin": source.origin if source is not None else "config",
                "collection_path": source.collection_path if source is not None else cfg.path,
                "item_path": source.item_path if source is not None else None,
                "schema": source.schema_name if source is not None else cfg.schema_,
                "id_field": entity.id_field,
                "id_param": source.id_param if source is not None else None,
                "id_paths": list(source.id_paths) if source is not None else [],
                "id_scheme": entity.codec.describe(),
                "number": {"field": entity.number.field, "param": entity.number.param} if entity.number else None,
                "key_within_parent": {"field": ".".join(entity.scoped.path), "target": entity.scoped.target.name}
                if entity.scoped else None,
                "member_of": entity.member_of.name if entity.member_of is not None else None,
                "id_example": entity.root_id(1) if entity.parent is None else None,
                "parent": (
                    {"type": entity.parent.name, "field": entity.fk, "relationship": entity.relationship}
                    if entity.parent is not None
                    else None
                ),
                "population": cfg.population if entity.parent is None else None,
                "per_parent": (list(cfg.count) if cfg.count else f"one every {_days(cfg.every)}")
                if entity.parent
                else None,
                "estimated_total": _estimate(entity),
                "references": [
                    {"field": r.field, "target": r.target.name, "many": r.many, **({"key": r.key} if r.key else {})}
                    for r in entity.references
                ],
                "embeds": [
                    {"field": e.field + (f".{e.inner}" if e.inner else ""), "target": e.target.name}
                    for e in entity.embeds
                ] + [
                    {"field": ".".join(d.path), "target": d.targets[0].name}
                    for d in entity.deep
                    if d.embed and len(d.path) == 2 and len(d.targets) == 1 and "[" not in "".join(d.path)
                ],
                "operations": ops,
            }
            out.append(row)
        return {"title": self.title, "entity_types": out, "relationships": list(self.links), "excluded": self.excluded}

    def by_segment(self, segment: str) -> EntityType | None:
        return next((t for t in self.types.values() if t.segment == segment), None)

    def embed_names(self, entity: EntityType) -> dict[str, tuple[str, str | None]]:
        """Property names that embed related entities: ``orders`` -> ("children", "has_orders"),
        ``user`` -> ("parent", None)."""
        children, parents = entity.relation_names()
        names: dict[str, tuple[str, str | None]] = {name: ("children", rel) for name, rel in children.items()}
        names.update({name: ("parent", None) for name in parents})
        return names


def _max_generated(entity: EntityType) -> int:
    if entity.parent is None:
        return int(entity.config.population or 0)
    return (_max_generated(entity.parent) + 1) * entity.config.id_multiplier - 1


def _estimate(entity: EntityType) -> int | None:
    """About how many generated entities a type has (children: the mean count per parent)."""
    if entity.parent is None:
        return int(entity.config.population or 0)
    parent = _estimate(entity.parent)
    if parent is None or entity.config.count is None:
        return None
    low, high = entity.config.count
    return round(parent * (low + high) / 2)


def _days(span: object) -> str:
    seconds = int(span.total_seconds()) if hasattr(span, "total_seconds") else 0
    return f"{seconds // 86400}d" if seconds % 86400 == 0 else f"{seconds}s"
