"""Operation classification: what each spec operation is in the world, as one typed value per kind.

One classifier serves every world, the built-in one (``builtin/openapi.yaml``) like any user's
spec. A path is read against the world's path tables: the collection and item paths of each
type and the literal segments that name it. Its kind follows:

* an **item** (``/orders/{id}``, ``/Projects/{projectId}/Tasks/{taskId}``, ``/me``);
* a **collection** (``/orders``) with the parent key spellings it filters by (``?user_id=``);
* the **children** of an item (``/users/{id}/orders``), a **related** list (a nested path whose
  items have their parent elsewhere: ``/artists/{id}/albums``) or a **search** list of entities
  at a literal path (``/pet/findByStatus``);
* an RPC **method** that creates, changes or deletes one entity (``POST /things.create``,
  ``POST /things.rename`` with ``thing=T1``);
* a **facet** of one entity (``/users/{id}/billing``), an **action** on one
  (``POST /subscriptions/{id}/suspend``);
* else a **schema**-only operation answered from its examples or its schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar

from jsonschema import Draft202012Validator

from mockverse.openapi import merge_all_of, singular, snake
from mockverse.openapi.jsonschema import validator_for
from mockverse.openapi.rpc import rpc_kind, rpc_namespace
from mockverse.openapi.words import key_names
from mockverse.world.generate import merge_schema, schema_types
from mockverse.world.model import EntityType, WorldModel
from mockverse.world.render import entity_slots, is_array, list_slot
from mockverse.world.specworld import Embed

PARAM = re.compile(r"^\{([^}]+)\}$")
NUMBERS = frozenset({"integer", "number"})
CURRENT = "@current"   # the bound name of the caller's own entity, which a path names by no parameter (``/user``)
COUNT_NAMES = ("count", "_count", "total", "size")   # a collection's last segment that asks how many it holds


@dataclass(frozen=True)
class Operation:
    """What every operation has: its route, its success response and its request rules."""

    kind: ClassVar[str] = "schema"
    method: str
    path: str
    status: int
    created_status: int                           # what a create answers: 201 where the spec declares one
    schema: dict | None
    examples: dict[str, Any]
    validator: Draft202012Validator | None
    query: tuple[Any, ...]                        # the operation's declared query parameters
    bound: tuple[tuple[str, EntityType], ...]     # path parameters that name entities, outermost first
    body_required: bool

    @property
    def named(self) -> tuple[EntityType, str] | None:
        """The entity the path addresses and its path parameter, if it names one (the innermost bound one)."""
        return (self.bound[-1][1], self.bound[-1][0]) if self.bound else None

    @property
    def shown(self) -> EntityType | None:
        """The entity type the response body shows (one item or a list of them), if any."""
        return None


@dataclass(frozen=True)
class SchemaOp(Operation):
    """An operation that is no entity path: answered from its examples or its schema."""


@dataclass(frozen=True)
class ItemOp(Operation):
    """One entity (``/orders/{id}``); ``id_param`` None for ``/me``, ``parent_param`` its parent's key in the path."""

    kind: ClassVar[str] = "item"
    entity: EntityType
    id_param: str | None
    parent_param: str | None

    @property
    def named(self) -> tuple[EntityType, str] | None:
        return (self.entity, self.id_param) if self.id_param is not None else None

    @property
    def shown(self) -> EntityType:
        return self.entity


@dataclass(frozen=True)
class FacetOp(Operation):
    """A facet of one entity (``/users/{id}/billing``): generated from its schema, shaped by its persona."""

    kind: ClassVar[str] = "facet"
    entity: EntityType
    id_param: str
    facet: str
    absent: bool = False   # the spec says a GET of it can answer 404: a deleted facet does

    @property
    def named(self) -> tuple[EntityType, str]:
        return self.entity, self.id_param


@dataclass(frozen=True)
class FacetWriteOp(Operation):
    """A write to a facet of one entity (``PUT /users/{id}/billing``): PUT replaces the fields written to it,
    PATCH and POST merge over them, DELETE deletes it (``read``: the facet's GET, what it changes)."""

    kind: ClassVar[str] = "facet_write"
    entity: EntityType
    id_param: str
    read: FacetOp

    @property
    def named(self) -> tuple[EntityType, str]:
        return self.entity, self.id_param


@dataclass(frozen=True)
class ActionOp(Operation):
    """A non-read operation on one entity (``POST /subscriptions/{id}/suspend``)."""

    kind: ClassVar[str] = "action"
    entity: EntityType
    id_param: str

    @property
    def named(self) -> tuple[EntityType, str]:
        return self.entity, self.id_param


@dataclass(frozen=True)
class MethodOp(Operation):
    """An RPC method writing one entity: ``does`` is ``create`` (``POST /things.create``), ``update``
    (``things.rename``, ``things.archive``) or ``delete``; ``key`` the parameter naming the entity it changes."""

    kind: ClassVar[str] = "method"
    entity: EntityType
    does: str
    key: str | None

    @property
    def shown(self) -> EntityType:
        return self.entity


@dataclass(frozen=True)
class ListOp(Operation):
    """A list of entities of one type."""

    listed: EntityType

    @property
    def shown(self) -> EntityType:
        return self.listed

    def bound_parent(self) -> str | None:
        """The path parameter naming the listed type's parent anywhere in the path
        (``/sites/{site_id}/database/branches``, ``/sites/{site_id}/services/{addon}/instances``), if any."""
        parent = self.listed.parent
        return next((name for name, entity in self.bound if parent is not None and entity is parent), None)


@dataclass(frozen=True)
class CollectionOp(ListOp):
    """A type's collection (``/orders``); ``filters``: query names that pick one parent's children."""

    kind: ClassVar[str] = "collection"
    filters: tuple[str, ...]


@dataclass(frozen=True)
class ChildrenOp(ListOp):
    """The children of one entity (``/users/{id}/orders``): those whose parent key names it."""

    kind: ClassVar[str] = "children"
    parent: EntityType
    id_param: str
    relationship: str

    @property
    def named(self) -> tuple[EntityType, str]:
        return self.parent, self.id_param


@dataclass(frozen=True)
class RelatedOp(ListOp):
    """Entities of another type listed under one entity (``/artists/{id}/albums``); a POST of the path
    creates one (``/filters/{id}/keywords``), its ``key`` (the listed type's one field naming that
    entity, if it has one) set to that entity."""

    kind: ClassVar[str] = "related"
    parent: EntityType
    id_param: str
    key: str | None

    @property
    def named(self) -> tuple[EntityType, str]:
        return self.parent, self.id_param


@dataclass(frozen=True)
class CountOp(Operation):
    """How many entities a collection holds (``/recipients/count``): its number fields say the list's total."""

    kind: ClassVar[str] = "count"
    counted: EntityType


@dataclass(frozen=True)
class SearchOp(ListOp):
    """Entities of one type at a literal path, filtered by the query (``/pet/findByStatus?status=sold``)."""

    kind: ClassVar[str] = "search"


@dataclass(frozen=True)
class PathTables:
    """A world's types by name, by item path, by collection path and by the literal segment naming them."""

    types: list[EntityType]
    by_name: dict[str, EntityType]
    items: dict[str, EntityType]
    collections: dict[str, EntityType]
    segments: dict[str, EntityType]
    current: dict[str, EntityType]   # a path answering the caller's own entity -> its (top-level) type

    @classmethod
    def of(cls, model: WorldModel) -> PathTables:
        """The path tables of a world, once per world (not once per operation: a 10,000-path spec)."""
        types = list(model.types.values())
        items: dict[str, EntityType] = {}
        collections: dict[str, EntityType] = {}
        segments: dict[str, EntityType] = {}
        for entity in types:
            collection, item = _paths(entity)
            for path, table in ((item, items), (collection, collections), *((p, items) for p in _id_paths(entity))):
                if path:
                    table.setdefault(path, entity)
            for path in (item, collection):
                literals = [t for t in (path or "").split("/") if t and not PARAM.match(t)]
                if literals:
                    segments.setdefault(literals[-1], entity)
        for entity in types:
            segments.setdefault(entity.name, entity)
        return cls(types, {t.name: t for t in types}, items, collections, segments, _current_paths(types))

    def segment_type(self, segment: str) -> EntityType | None:
        """The type a literal path segment names (``orders``, ``Tasks``), if any."""
        return self.segments.get(segment) or self.by_name.get(singular(snake(segment)))


def _paths(entity: EntityType) -> tuple[str | None, str | None]:
    """(collection path, item path) of a type: where the spec serves it, else its configured path."""
    if entity.inferred is not None:
        return entity.inferred.collection_path, entity.inferred.item_path
    return entity.config.path, None


def _current_paths(types: list[EntityType]) -> dict[str, EntityType]:
    """The paths without parameters that answer the caller's own entity (``/user``, ``/users/@me``), by the
    top-level type they answer."""
    paths = ((t.inferred.current_path if t.inferred is not None else None, t) for t in types if t.parent is None)
    return {path: entity for path, entity in paths if path and "{" not in path}


def _id_paths(entity: EntityType) -> list[str]:
    """Further item paths of a type, keyed by its id (``/repositories/{id}`` beside ``/repos/{owner}/{repo}``)."""
    return list(entity.inferred.id_paths) if entity.inferred is not None else []


def _child_named(parent: EntityType, segment: str) -> EntityType | None:
    """A child type of ``parent`` its relationship names (``/orders/{id}/items`` for ``has_items``)."""
    for relationship, child in parent.children.items():
        if relationship.removeprefix("has_") == segment or child.segment == segment:
            return child
    return None


def _bound(tokens: list[str], tables: PathTables) -> list[tuple[str, EntityType]]:
    """Path parameters that name entities: at a type's item path, or right after its literal segment."""
    bound: list[tuple[str, EntityType]] = []
    prefix, last_literal = "", None
    for index, token in enumerate(tokens):
        prefix += "/" + token
        match = PARAM.match(token)
        if not match:
            last_literal = token
            continue
        entity = tables.items.get(prefix)
        followed_by_param = index + 1 < len(tokens) and PARAM.match(tokens[index + 1])
        if entity is None and last_literal and tokens[index - 1] == last_literal and not followed_by_param:
            entity = tables.segment_type(last_literal)
        if entity is not None:
            bound.append((match.group(1), entity))
    return bound


def classify(op: Any, tables: PathTables) -> Operation:
    """The typed operation a spec operation is in the world (see the module notes)."""
    tokens = [t for t in op.path.split("/") if t]
    bound = _bound(tokens, tables)
    success = op.success()
    base = {
        "method": op.method.upper(), "path": op.path,
        "status": int(success.status) if success and success.status.isdigit() else 200,
        "schema": success.schema if success and _json(success.media_type) else None,
        "examples": success.examples if success else {},
        "validator": validator_for(op.request_schema, "request"),
        "query": tuple(p for p in op.parameters if p.location == "query"),
        "bound": tuple(bound), "body_required": bool(op.request_required),
    }
    base["created_status"] = _created_status(op, success, base["status"])
    method = _rpc_write(op, base, tables)
    if method is not None:
        return method
    last = tokens[-1] if tokens else ""
    match = PARAM.match(last)
    if match:
        return _on_item(match.group(1), bound, tokens, base, tables)
    return _on_literal(last, bound, tokens, base, tables)


def _created_status(op: Any, success: Any, status: int) -> int:
    """The status a create answers: 201 where the spec declares it with the body it serves (svix declares 200 for
    an app it already had and 201 for a new one), else the success ``status``."""
    created = op.responses.get("201")
    same = created is not None and success is not None and created.schema == success.schema
    return 201 if same else status


def classify_path(ops: list[Any], tables: PathTables) -> dict[str, Operation]:
    """The typed operations of one path by method: each classified, then a write to a path whose GET is a
    facet of an entity is a write to that facet (not an action answered from its schema)."""
    typed = {t.method: t for t in (classify(op, tables) for op in ops)}
    read = typed.get("GET")
    if not isinstance(read, FacetOp):
        return typed
    absent = any(op.method.upper() == "GET" and "404" in op.responses for op in ops)
    read = typed["GET"] = replace(read, absent=absent)
    for method, op in typed.items():
        if isinstance(op, ActionOp) and op.entity is read.entity and op.id_param == read.id_param:
            base = {f.name: getattr(op, f.name) for f in fields(Operation)}
            typed[method] = FacetWriteOp(**base, entity=read.entity, id_param=read.id_param, read=read)
    return typed


def _on_item(param: str, bound: list[tuple[str, EntityType]], tokens: list[str], base: dict,
             tables: PathTables) -> Operation:
    """An operation whose path ends in a parameter: an item of the type it names, or an action on it."""
    if not bound or bound[-1][0] != param:
        return SchemaOp(**base)
    entity = bound[-1][1]
    collection, item = _paths(entity)
    path = base["path"]
    under_collection = collection is not None and path.rsplit("/", 1)[0] == collection.rstrip("/")
    own_item = path in (item, *_id_paths(entity)) or under_collection   # /admin/users/{username} of /admin/users
    before = bound[-2] if len(bound) > 1 else None
    parent_param = before[0] if before is not None and before[1] is entity.parent else None
    if base["method"] in ("GET", "HEAD") or own_item or parent_param:
        return ItemOp(**base, entity=entity, id_param=param, parent_param=parent_param)
    return ActionOp(**base, entity=entity, id_param=param)


def _on_literal(last: str, bound: list[tuple[str, EntityType]], tokens: list[str], base: dict,
                tables: PathTables) -> Operation:
    """An operation whose path ends in a literal: a list, a facet, ``/me``, an action or schema-only."""
    schema, method, path = base["schema"], base["method"], base["path"]
    current = tables.current.get(path)
    if method == "GET" and current is not None and schema is not None and not is_array(schema) \
            and list_slot(schema, current) is None:   # /user, /users/@me: the caller's own user
        return ItemOp(**base, entity=current, id_param=None, parent_param=None)
    if method in ("PUT", "PATCH") and current is not None:   # PATCH /users/@me changes the caller's own user
        return ItemOp(**{**base, "bound": ((CURRENT, current),)}, entity=current, id_param=CURRENT, parent_param=None)
    listed = tables.collections.get(path) or tables.segment_type(last)
    callers = _own_list(tokens, base, listed, tables)
    if callers is not None:
        return callers
    parent = bound[-1] if bound and len(tokens) > 1 and PARAM.match(tokens[-2]) else None
    if parent is None and listed is not None and bound and bound[-1][1] is listed.parent:
        parent = bound[-1]   # /guilds/{guild_id}/auto-moderation/rules: the children of that guild
    if parent is not None:
        id_param, owner = parent
        listed = listed or _child_named(owner, last)
        if listed is not None and listed.parent is owner and listed.relationship:
            return ChildrenOp(**base, listed=listed, parent=owner, id_param=id_param, relationship=listed.relationship)
        key = key_to(listed, owner) if listed is not None else None
        if method == "POST" and listed is not None and (key is not None or _shows(schema, listed)
                                                        or tables.collections.get(path) is listed):
            return RelatedOp(**base, listed=listed, parent=owner, id_param=id_param, key=key)
        if method != "GET":
            return ActionOp(**base, entity=owner, id_param=id_param)
        own = listed is not None and (_lists(schema, listed) or tables.collections.get(path) is listed)
        target = listed if own else _listed_type(schema, tables.types, path)
        if target is not None and target.parent is owner and target.relationship:   # /sites/{id}/dns: dns zones
            return ChildrenOp(**base, listed=target, parent=owner, id_param=id_param, relationship=target.relationship)
        if target is not None:
            return RelatedOp(**base, listed=target, parent=owner, id_param=id_param, key=key_to(target, owner))
        if schema is not None and "object" in schema_types(merge_schema(schema)) and not is_array(schema):
            return FacetOp(**base, entity=owner, id_param=id_param, facet=last)
        return SchemaOp(**base)
    if listed is not None and (tables.collections.get(path) is listed or not bound):
        return CollectionOp(**base, listed=listed, filters=parent_filters(listed, base["query"]))
    counted = tables.collections.get(path.rsplit("/", 1)[0]) if last.lower() in COUNT_NAMES else None
    if method == "GET" and counted is not None and _counts(schema):
        return CountOp(**base, counted=counted)
    if method == "GET" and last.lower() == "me":
        persona = _persona_type(schema, tables.types)
        if persona is not None:   # /me: the first persona of the world
            return ItemOp(**base, entity=persona, id_param=None, parent_param=None)
    if method == "GET":
        target = _listed_type(schema, tables.types, path)
        if target is not None and bound and bound[-1][1] is target.parent and target.relationship:
            return ChildrenOp(**base, listed=target, parent=bound[-1][1], id_param=bound[-1][0],
                              relationship=target.relationship)   # /accounts/{id}/limits/current
        if target is not None and target.parent is not None and \
                any(p.name in key_names(target.parent.name) for p in base["query"]):   # conversations.history?channel=
            return CollectionOp(**base, listed=target, filters=parent_filters(target, base["query"]))
        if target is not None:
            return SearchOp(**base, listed=target)
    return SchemaOp(**base)


def _own_list(tokens: list[str], base: dict, listed: EntityType | None, tables: PathTables) -> ListOp | None:
    """A list (or create) of ``listed`` at a path under the caller's own entity (``/user/repos``, ``/me/playlists``,
    ``/users/@me/guilds``): that entity's children, or the entities linking to it (of a type with no link to it,
    those related to it), as at its own item path."""
    if listed is None or base["bound"] or base["method"] not in ("GET", "POST"):
        return None
    owner = tables.current.get("/" + "/".join(tokens[:-1]))
    if owner is None and _aliased(tokens, listed):
        owner = listed.parent
    if owner is None or owner.parent is not None or owner is listed:
        return None
    mine = {**base, "bound": ((CURRENT, owner),)}
    if listed.parent is owner and listed.relationship:
        return ChildrenOp(**mine, listed=listed, parent=owner, id_param=CURRENT, relationship=listed.relationship)
    return RelatedOp(**mine, listed=listed, parent=owner, id_param=CURRENT, key=key_to(listed, owner))


def parent_filters(listed: EntityType, query: tuple[Any, ...]) -> tuple[str, ...]:
    """The query names that pick one parent's children from a list of ``listed``: the spellings of its parent
    key, and a declared parameter naming the parent (``conversations.history?channel=``)."""
    if listed.parent is None:
        return ()
    declared = [p.name for p in query if p.name in key_names(listed.parent.name)]
    return tuple(dict.fromkeys(s for s in [*listed.fk_spellings(), *declared] if s))


def _rpc_write(op: Any, base: dict, tables: PathTables) -> MethodOp | None:
    """A POST of an RPC method that creates, changes or deletes an entity of a type the spec reads by
    methods of its own: the type its answer holds (of several, the one sharing the method's namespace), else,
    for a change, the type of that namespace it names by a key parameter."""
    does = rpc_kind(op.path) if base["method"] == "POST" else None
    if does is None:
        return None
    namespace = rpc_namespace(op.path)
    read = [t for t in tables.types if any(_paths(t))]
    held = [t for t in read if entity_slots(base["schema"], t, strict=True)]
    same = [t for t in read if namespace in (rpc_namespace(p) for p in _paths(t))]
    given = {p.name for p in base["query"]} | set(merge_schema(op.request_schema or {}).get("properties") or {})
    order = [t for t in held if t in same] + held + ([] if does == "create" else same)
    keyed = [(t, next((n for n in key_names(t.name) if n in given), None)) for t in order]
    entity, key = next(((t, k) for t, k in keyed if does == "create" or k is not None), (None, None))
    return MethodOp(**base, entity=entity, does=does, key=key) if entity is not None else None


def _aliased(tokens: list[str], listed: EntityType) -> bool:
    """Whether a path without parameters names the listed type's parent by an alias: its name in the
    singular (``/user/keys``) or, for a person, ``me`` (``/me/keys``, ``/users/@me/keys``) before the last segment."""
    parent = listed.parent
    if parent is None or any(PARAM.match(t) for t in tokens):
        return False
    aliases = {parent.name, *(("me", "@me", "self", "current") if parent.person else ())}
    return any(snake(t.lstrip("@")) in aliases or t.lower() in aliases for t in tokens[:-1])


def owner_embed(entity: EntityType, owner: EntityType) -> Embed | None:
    """The one property of ``entity`` that embeds a single ``owner`` entity (a repo's ``owner``), if it has one."""
    embeds = [e for e in entity.embeds if e.target is owner and e.inner is None and not e.many]
    return embeds[0] if len(embeds) == 1 and entity is not owner else None   # an account's ``moved``: no owner


def key_to(listed: EntityType, owner: EntityType) -> str | None:
    """The one field of ``listed`` that holds the id of an ``owner`` entity, if it has exactly one."""
    keys = [r.field for r in listed.references if r.target is owner and not r.many]
    return keys[0] if len(keys) == 1 else None


def _shows(schema: dict | None, entity: EntityType) -> bool:
    """Whether a response schema is one entity of ``entity``'s type, recognised by schema identity."""
    return entity_slots(schema, entity, strict=True) == [[]]


def _counts(schema: dict | None) -> bool:
    """Whether a response schema can say a count: a number, or an object with a number field."""
    if schema is None:
        return False
    flat = merge_schema(schema)
    if bool(NUMBERS & schema_types(flat)):
        return True
    props = flat.get("properties") or {}
    return any(isinstance(p, dict) and bool(NUMBERS & schema_types(merge_schema(p))) for p in props.values())


def _json(media_type: str | None) -> bool:
    return media_type is None or "json" in media_type.lower() or media_type.startswith("*/*")


def _lists(schema: dict | None, entity: EntityType) -> bool:
    return schema is not None and list_slot(schema, entity) is not None


def _persona_type(schema: dict | None, types: list[EntityType]) -> EntityType | None:
    """The person-like top-level type a ``/me`` response shows, if any."""
    for entity in types:
        if entity.parent is None and entity.person \
                and entity_slots(schema, entity, strict=True):
            return entity
    return None


SCHEMA_REACH = 24   # steps (a property, items, a branch, an allOf part) past the deepest that list_slot looks


def _schema_objects(schema: dict) -> set[int]:
    """The ids of the schema objects within ``schema`` (as written and as merged) that ``list_slot`` could
    look at: a type none of whose schema objects is among them is listed by none of its slots."""
    seen: set[int] = set()
    frontier: list[Any] = [schema]
    for _ in range(SCHEMA_REACH):
        ahead: list[Any] = []
        for node in frontier:
            if not isinstance(node, dict) or id(node) in seen:
                continue
            seen.add(id(node))
            for form in (node, merge_all_of(node), merge_schema(node)):
                seen.add(id(form))
                props = form.get("properties")
                ahead.extend(props.values() if isinstance(props, dict) else ())
                ahead.append(form.get("items"))
                for key in ("oneOf", "anyOf", "allOf"):
                    branches = form.get(key)
                    ahead.extend(branches if isinstance(branches, list) else ())
        frontier = ahead
    return seen


def _may_show(entity: EntityType, within: set[int]) -> bool:
    """Whether one of ``entity``'s schema objects (or, for a type known by its value, its id property) is
    among ``within``: the one way ``list_slot`` can find it (it matches schema objects by identity)."""
    if not entity.variants.isdisjoint(within):
        return True
    source = entity.inferred
    own = source.schema if source is not None and source.origin == "value" else None
    return isinstance(own, dict) and id((own.get("properties") or {}).get(entity.id_field)) in within


def _listed_type(schema: dict | None, types: list[EntityType], path: str = "") -> EntityType | None:
    """The entity type a response lists, recognised by schema identity (not merely by an ``id`` field):
    of several, items that are the type itself (not objects embedding it), in the array the path names."""
    if schema is None:
        return None
    words = {singular(snake(t)) for t in path.split("/") if t and not PARAM.match(t)}
    within = _schema_objects(schema)
    candidates = [e for e in types if _may_show(e, within)]
    found = [(e, slot) for e, slot in ((e, list_slot(schema, e, strict=True)) for e in candidates) if slot is not None]
    direct = [(e, slot) for e, slot in found if entity_slots(slot[1], e, strict=True) == [[]]]
    named = [e for e, slot in direct if slot[0] and singular(snake(slot[0][-1])) in words]
    wrapped = [e for e, slot in found if not _identified(slot[1])]
    return next(iter(named + [e for e, _ in direct] + wrapped), None)


def _identified(item: dict) -> bool:
    """Whether list items have an ``id`` of their own: things of their own (a channel with its latest message),
    not wrappers of the entity they hold (``{added_at, track}``), so a list of them is not a list of that entity."""
    return "id" in (merge_schema(item).get("properties") or {})
