"""Infer the entity world of a spec: which entity types exist and how they relate.

Entity types come from resource paths (``/users/{id}`` -> ``user``), from sub-collections
listed under a parent (``/subscriptions/{id}/transactions``), from top-level listings of
identifiable objects (``/ProjectsUsers``), from RPC methods (``/users.info?user=``, see
``rpc.py``), from the caller's own entity (``/user``, ``/users/@me``) and from schemas that are
only ever embedded in other entities. Relationships come from path nesting (and its method form: a
list method that must name another type, ``conversations.history?channel=``), foreign-key fields
in the usual spellings (``user_id``, ``userId``, ``idUser``, ``*_ids``, ``training_file``), keys
typed with another type's id schema or prefixed ``pattern``, URL-valued references
(``issue_url``), polymorphic type + id pairs, name-keyed references (``eventType``), embedded
objects and, when given, recorded sample bodies. Every relationship carries human-readable
evidence and a confidence built from it. Path templates are read by ``paths.py``, schema
shapes by ``shapes.py``, words by ``words.py``.

Decisions (documented here because consumers depend on them):

* **Schema-only types.** An object embedded in an entity's schema that matches no other
  type becomes an entity type (``origin="schema"``) when it has a scalar id field that is
  either non-nullable or read-only (server-assigned): petstore ``Category``/``Tag``,
  apideck ``Pipeline.stages[]`` (named ``pipeline_stage``). A writable, nullable id marks
  a value object instead (apideck ``Address``, ``Email``); those are not entity types.
* **Value types.** A top-level list of plain strings named for its path (``GET /tags``
  answering ``{tags: ["dragons"]}``) that an entity's field is named for (``tagList``, ``tags``,
  ``tag``) is a type of entities identified by their value (``origin="value"``): its id field is
  its own name, its schema that one property, and those fields hold its values.
* **Dangling targets.** A foreign key naming a type the spec does not define (xero
  ``contactId``, paypal ``product_id``) still yields a relationship, with
  ``dangling=True``; its target is an entity type with ``origin="dangling"``, no paths
  and no schema, so consumers can mint ids for it. Dangling targets are only created from
  top-level fields of an entity, never from fields deep inside value objects.
* **What a link holds.** ``Relationship.holds`` is ``"id"`` (the target's id field, which is
  its key: ``name`` for event types keyed by ``{event_type_name}``) or ``"url"`` (the URL of
  the target's item path), or an alternate key the target describes as uniquely identifying it
  (``identity``: a member's ``identity``, a ``created_by`` described as "The `identity` of the User").
  A polymorphic key has ``type_field``, the sibling naming the type.
  ``EntityType.id_in`` says whether the item path takes the id in the path or the query, and
  ``current_path`` names the path answering the caller's own entity.
* **One type per schema and key.** A type served only at an item path keyed by its id
  (gitea ``/repositories/{id}``) whose schema exactly one other type serves at an item path keyed
  by something that is no id spelling (``/repos/{owner}/{repo}``) is that type: its path is in
  ``id_paths``, its name still names that type in fields (``repository``). Two id paths of one
  schema (``/users/{id}``, ``/admins/{id}``) stay two types: nothing says they hold one entity.
* **Confidence.** Each piece of evidence has a weight (see ``_W``); a relationship's
  confidence is their noisy-or, ``1 - prod(1 - w)``, capped at 0.99. Path nesting plus a
  matching foreign key (0.96) ranks above either alone (0.8); synonyms (``owner_id`` ->
  user, 0.5) and dangling references (0.6) rank lower.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .loader import Operation, Spec, is_nullable, merge_all_of
from .paths import (
    ID_SUFFIX,
    PARAM,
    VERSION_SEGMENT,
    Step,
    nameable,
    namespace_of,
    param_stem,
    refine_name,
    steps_of,
)
from .paths import key_param as key_param  # world/specworld.py imports it from here
from .rpc import PAGING, RPC_METHOD, key_parameter, list_key
from .shapes import (
    answer_lists,
    answer_objects,
    field_schema,
    id_field_of,
    is_enum,
    is_facet,
    is_objectish,
    list_items,
    non_null,
    object_alternative,
    object_variants,
    properties_of,
    scalar_type,
    tag_value,
    type_of,
    unwrap_item,
)
from .words import is_plural, schema_base_name, singular, snake

_schema_base_name = schema_base_name  # the name world/specworld.py imports from this module

# Evidence weights; a relationship's confidence is the noisy-or of its evidence.
_W = {
    "nesting": 0.8,  # /users/{user_id}/orders
    "fk": 0.8,  # order.user_id names user
    "polymorphic": 0.7,  # resourceable_type + resourceable_id
    "typed": 0.85,  # the key's schema is the target's own id schema (defs_user_id) or id pattern
    "id_field": 0.8,  # the field is named like the target's own id field (userId)
    "qualified": 0.65,  # primary_contact_id -> contact, parent_id -> self
    "suffix": 0.6,  # user_id -> project_user (the only type ending in "user")
    "dangling": 0.6,  # names a type this spec does not define
    "schema": 0.85,  # embedded object is (a variant of) the target's schema
    "type_tag": 0.8,  # embedded object's `type` enum names the target
    "field_name": 0.6,  # embedded object's field is named after the target
    "synonym": 0.5,  # owner_id -> user
    "bare": 0.5,  # customer: "cus_123" holding an id
    "description": 0.3,  # the field's description names the target
    "carries_id": 0.3,  # the embedded objects carry the target's id field
    "reverse": 0.3,  # the target points back the same way (many-to-many)
}
_MAX_DEPTH = 4

_POLY_TYPE = re.compile(r"^(.+?)(_type|Type)$")
_POLY_ID = re.compile(r"^(.+?)(_id|Id|_reference|Reference|_ref|Ref)$")
# An id pattern that starts with the type's own letters (``^US[0-9a-f]{32}$``, ``^[UW][A-Z0-9]{2,}$``).
_PREFIXED_PATTERN = re.compile(r"^\^(?:[A-Za-z]{1,4}[^A-Za-z*+?{]|\[[A-Z]{1,3}\])")
_URL_REFERENCE = re.compile(r"^(.+?)(_url|Url|URL|_uri|Uri)$")
_ID_PREFIX = re.compile(r"^id([A-Z][A-Za-z0-9]*)$")
_ACTOR = re.compile(r"^(.+?)(_by|By)$")
# Words of a key that points at another entity of the key's own type (a reply, a fork, a replacement).
_SELF_WORDS = frozenset({"parent", "reply", "replied", "reblog", "reblogged", "boost", "boosted", "repost", "quote",
                         "quoted", "replaced", "replacement", "original", "previous", "prev", "next", "fork",
                         "forked", "duplicate", "duplicated", "root", "ancestor", "predecessor", "successor",
                         "superseded", "supersedes"})

# Path segments that stand for the caller's own entity (``/users/@me``, ``/accounts/self``).
_CURRENT_WORDS = frozenset({"me", "self", "current", "mine", "myself"})
# Foreign-key stems that identify something other than an entity of the world.
_NOT_REFERENCES = frozenset(
    {
        "external", "remote", "downstream", "upstream", "custom", "debug", "error", "request", "idempotency",
        "correlation", "trace", "tracking", "session", "tenant", "client", "api", "app", "consumer", "service",
        "snapshot", "version", "row", "operation", "event", "entity", "object", "unified", "tax", "vat",
        "message", "nonce", "checksum", "hash", "token", "key",
    }
)
# Scalar fields never read as a bare reference even when named like a type.
_NOT_BARE = frozenset({"name", "type", "status", "title", "description", "kind", "state", "label", "value", "code"})
_ID_FORMATS = frozenset({"uuid", "int32", "int64", "guid", "ulid", "objectid"})
# Last words of a field that holds several values of a value type (``tagList``, ``tag_names``).
_VALUE_WORDS = frozenset({"list", "set", "names", "values", "array"})

# Words for "a person who did or owns something", and the types they most often mean.
_PERSON_WORDS = frozenset(
    {
        "user", "account", "member", "customer", "person", "profile", "employee", "owner", "author", "creator",
        "assignee", "reporter", "sender", "actor", "editor", "agent", "contributor", "organizer", "host",
        "participant", "by",
    }
)
_PERSON_TYPES = ("user", "account", "member", "customer", "person", "profile", "employee")
_ORG_WORDS = frozenset({"company", "organization", "organisation", "org", "business", "team", "workspace"})
_ORG_TYPES = ("organization", "organisation", "company", "org", "team", "workspace")


@dataclass
class EntityType:
    """One kind of entity of the world and where the spec serves it."""

    name: str
    collection_path: str | None = None
    item_path: str | None = None
    id_param: str | None = None
    id_field: str | None = None
    id_type: str = "string"
    schema: dict | None = None
    operations: list[str] = dataclasses.field(default_factory=list)
    origin: str = "path"  # "path" | "schema" (only embedded) | "dangling" (referenced, not defined) | "value"
    schema_name: str | None = None
    id_in: str = "path"  # where the item path takes the id: "path" (``/users/{id}``) or "query" (``/users.info?user=``)
    current_path: str | None = None  # the path answering the caller's own entity (``/user``, ``/users/@me``)
    # item paths keyed by the id besides the item path (``/repositories/{id}`` of ``/repos/{owner}/{repo}``)
    id_paths: list[str] = dataclasses.field(default_factory=list)
    # by parent type, the query parameter the methods listing this type name their parent by (``channel``)
    parent_keys: dict[str, str] = dataclasses.field(default_factory=dict)
    min_children: int = 0  # the fewest one such parent has: 1 when one of those lists says ``minItems: 1``

    @property
    def dangling(self) -> bool:
        """Whether the spec only refers to this type without defining it."""
        return self.origin == "dangling"

    def to_dict(self) -> dict:
        """A JSON-ready summary (the schema by name, not by content)."""
        return {
            "name": self.name,
            "origin": self.origin,
            "collection_path": self.collection_path,
            "item_path": self.item_path,
            "id_param": self.id_param,
            "id_in": self.id_in,
            "current_path": self.current_path,
            "id_paths": list(self.id_paths),
            "parent_keys": dict(self.parent_keys),
            "min_children": self.min_children,
            "id_field": self.id_field,
            "id_type": self.id_type,
            "schema": self.schema_name,
            "operations": list(self.operations),
        }


@dataclass
class Relationship:
    """A link between two entity types, with the evidence it was inferred from."""

    id: str
    source: str
    target: str
    kind: str  # "belongs_to" | "has_many" | "many_to_many" | "embeds"
    field: str | None
    evidence: list[str]
    confidence: float
    dangling: bool = False
    holds: str = "id"  # the target's "id", the "url" of its item path (issue_url), or an alternate key (identity)
    type_field: str | None = None  # a polymorphic key's sibling naming the target's type (``resourceable_type``)

    def to_dict(self) -> dict:
        """A JSON-ready copy."""
        return {
            "holds": self.holds,
            "type_field": self.type_field,
            "id": self.id,
            "source": self.source,
            "target": self.target,
            "kind": self.kind,
            "field": self.field,
            "evidence": list(self.evidence),
            "confidence": self.confidence,
            "dangling": self.dangling,
        }


@dataclass
class InferredWorld:
    """Entity types by name and the relationships between them."""

    entity_types: dict[str, EntityType]
    relationships: list[Relationship]

    def to_dict(self) -> dict:
        """A deterministic, JSON-serialisable view (types by name, relationships by id)."""
        return {
            "entity_types": [self.entity_types[name].to_dict() for name in sorted(self.entity_types)],
            "relationships": [r.to_dict() for r in sorted(self.relationships, key=lambda r: r.id)],
        }

    def relationships_of(self, name: str) -> list[Relationship]:
        """Relationships with ``name`` at either end."""
        return [r for r in self.relationships if name in (r.source, r.target)]


@dataclass
class _Evidence:
    """Accumulated evidence for one (source, target, field) link."""

    source: str
    target: str
    field: str | None
    kind: str
    items: list[tuple[str, float]] = dataclasses.field(default_factory=list)
    holds: str = "id"
    type_field: str | None = None

    def add(self, text: str, weight: float) -> None:
        """Add one piece of evidence, once."""
        if all(text != t for t, _ in self.items):
            self.items.append((text, weight))


class _WorldBuilder:
    """Builds an InferredWorld from a Spec in a fixed sequence of passes."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.paths: dict[str, list[Operation]] = {}
        for op in spec.operations:
            self.paths.setdefault(op.path, []).append(op)
        self.order = {id(op): n for n, op in enumerate(spec.operations)}
        self.entities: dict[str, EntityType] = {}
        self.entity_ops: dict[str, list[Operation]] = {}
        self.segment_entity: dict[str, str] = {}
        self.step_entity: dict[str | None, str] = {}
        self.schema_entity: dict[int, tuple[str, str, float]] = {}
        self.links: dict[tuple[str, str, str | None], _Evidence] = {}
        self.nesting: dict[tuple[str, str], list[str]] = {}
        self.recording = False
        self.id_schemas: dict[str, list[str]] | None = None
        self.aliases: dict[str, str] | None = None
        self.alternate_keys: dict[str, str] | None = None  # alternate key field -> the type it identifies
        self.key_types: dict[str, set[str]] | None = None  # scalar types of each snake_case property name
        self.shapes: dict[str, list[dict]] = {}  # further schemas of one type, walked like its own
        self.merged: dict[str, str] = {}  # a type's name served at an id path -> the type it is (repository -> repo)

    # -- operations and responses --

    def _get(self, path: str | None) -> Operation | None:
        """The GET operation of a path, if the spec has one."""
        return next((op for op in self.paths.get(path or "", []) if op.method == "GET"), None)

    def _success_schema(self, op: Operation | None) -> dict | None:
        """The schema of an operation's success response."""
        response = op.success() if op else None
        return response.schema if response else None

    def _attach(self, name: str, path: str) -> None:
        """Record that the operations of ``path`` serve entity type ``name``."""
        bucket = self.entity_ops.setdefault(name, [])
        bucket.extend(op for op in self.paths.get(path, []) if op not in bucket)

    # -- pass 1: resources /things/{id} --

    def discover_resources(self) -> None:
        """Entity types from every literal segment followed by a parameter."""
        all_steps = {path: steps_of(path) for path in self.paths}
        scoped = {s.collection for steps in all_steps.values() for s in steps if s.param}
        scoped = {path for path in scoped if not self._answers_one(path)}   # /projects/{uuid} stays an item
        unnested = {singular(s.segment) for steps in all_steps.values() for s in steps if s.param and not s.parent}
        shapes: dict[str, set[int]] = {}
        top: dict[str, set[int]] = {}
        for steps in all_steps.values():
            for step in steps:
                if step.param and nameable(step.segment) and step.item not in scoped:
                    served = self._step_shapes(step)
                    shapes.setdefault(singular(step.segment), set()).update(served)
                    if not step.parent:
                        top.setdefault(singular(step.segment), set()).update(served)
        found: dict[str, list[Step]] = {}
        for steps in all_steps.values():
            for step in steps:
                if not step.param or not nameable(step.segment) or step.item in scoped:
                    continue
                name = self._keyed_by_other(step, shapes) or self._resource_name(step, unnested, top)
                found.setdefault(name, []).append(step)
                self.segment_entity.setdefault(step.segment, name)
                self.step_entity[step.item] = name
                parent = self.step_entity.get(step.parent.item) if step.parent else None
                if parent:
                    listed = step.collection in self.paths or step.item not in self.paths
                    self._nest(parent, name, step.collection if listed or step.item is None else step.item)
        for name, steps in found.items():
            self._define_resource(name, steps)

    def _answers_one(self, path: str) -> bool:
        """Whether a GET of ``path`` answers one identifiable object (an item path, not a scope)."""
        schema = self._success_schema(self._get(path))
        if schema is None or list_items(schema) is not None:
            return False
        inner = unwrap_item(schema, "")
        return inner is not None and id_field_of(inner, "", None) is not None

    def _step_shapes(self, step: Step) -> set[int]:
        """Identities of the object schemas a resource step serves: its item and its listed items."""
        base = singular(step.segment)
        found = [unwrap_item(self._success_schema(self._get(step.item)), base),
                 list_items(self._success_schema(self._get(step.collection)), (snake(step.segment),))]
        return {id(shape) for shape in found if shape is not None and properties_of(shape)}

    def _keyed_by_other(self, step: Step, shapes: dict[str, set[int]]) -> str | None:
        """The type a step really serves when its key names another resource whose schema it returns.

        ``/messages/{message_id}/reactions/{emoji}/{user_id}`` lists users (``UserResponse``),
        keyed by the user id: a sub-collection of users, not a ``reaction`` type.
        """
        stem = param_stem(step.param)
        base = singular(step.segment)
        if stem is None or stem == base or stem not in shapes:
            return None
        return stem if self._step_shapes(step) & shapes[stem] else None

    def _resource_name(self, step: Step, unnested: set[str], shapes: dict[str, set[int]]) -> str:
        """The entity name of a resource step: the singular segment, refined when the spec is more specific.

        A nested step named like a top-level resource is that resource, unless it serves a schema
        of its own named after parent and segment (``/vector_stores/{id}/files`` of ``VectorStoreFileObject``).
        """
        base = singular(step.segment)
        item = self._success_schema(self._get(step.item))
        inner = unwrap_item(item, base, step.param) if item else None
        schema_name = self.spec.schema_name(inner) if inner else None
        parent = singular(step.parent.segment) if step.parent else namespace_of(step)
        if step.parent and base in unnested:
            own = self._step_shapes(step)
            refined = refine_name(base, None, schema_name, parent)
            return refined if own and not own & shapes.get(base, set()) and refined != base else base
        if schema_name and inner is not None and step.param in properties_of(inner):
            named = schema_base_name(schema_name)
            if named.startswith(base + "_") and step.param != "id" and not ID_SUFFIX.match(step.param or "id"):
                return singular(named)   # /notifications/{group_key} answering NotificationGroup
        refined = refine_name(base, step.param, schema_name, parent)
        namespace = namespace_of(step)
        return refine_name(base, step.param, schema_name, namespace) if refined == base and namespace else refined

    def _define_resource(self, name: str, steps: list[Step]) -> None:
        """Create the entity type for ``name`` from its steps, least nested first."""
        steps = sorted(steps, key=lambda s: (singular(s.segment) != name, s.parent is not None, len(s.item or "")))
        items = {s.item for s in steps}
        collections = (s.collection for s in steps if s.collection in self.paths and s.collection not in items)
        collection = next(collections, None)
        with_item = next((s for s in steps if self._get(s.item)), None)
        with_item = with_item or next((s for s in steps if s.item in self.paths), steps[0])
        item_path = with_item.item if with_item.item in self.paths else None
        entity = EntityType(name=name, collection_path=collection, item_path=item_path, id_param=with_item.param)
        for step in steps:
            for path in (step.collection, step.item):
                if path in self.paths:
                    self._attach(name, path)
        self.entities[name] = entity

    # -- pass 1b: RPC methods (/users.info?user=U1, /conversations.list) --

    def discover_methods(self) -> None:
        """Entity types of an RPC-style API, whose paths are method names and whose keys travel as parameters.

        A method answering ``{ok, user: {...}}`` for ``?user=`` reads one user; an array of
        identifiable objects (``{channels: [...]}``) lists them. Readers are taken first, so a
        list of the same schema under another name (``users.list`` -> ``members``) is that type.
        """
        methods = [op for op in self.spec.operations
                   if "{" not in op.path and RPC_METHOD.match(op.path.rstrip("/").rsplit("/", 1)[-1])]
        for op in methods:
            for prop, shape in answer_objects(self._success_schema(op)):
                key = key_parameter(op, prop)
                if key is not None:
                    self._method_type(op, singular(snake(prop)), shape, key, reads=True)
        for _ in range(2):  # the second round adds lists met before the method that keys their type
            for op in methods:
                for prop, shape in answer_lists(self._success_schema(op)):
                    name = singular(snake(prop))
                    self._method_type(op, name, shape, list_key(op, name, shape), reads=False)
        for op in methods:
            for _, shape in answer_objects(self._success_schema(op)):
                known = self.schema_entity.get(id(shape))
                if known:
                    self._attach(known[0], op.path)
        self._method_children(methods)

    def _method_children(self, methods: list[Operation]) -> None:
        """List methods that must name an entity of another type (``conversations.history?channel=``) are the
        method form of a nested path (``/channels/{channel}/messages``): the listed type is nested under it.

        The parameter must name the parent: it is required, or it is the one key of another type that every
        method listing the type takes (``files.list?user=&channel=`` only filters)."""
        listing: dict[str, list[Operation]] = {}
        for op in methods:
            for _, shape in answer_lists(self._success_schema(op)) if op.method == "GET" else []:
                known = self.schema_entity.get(id(shape))
                if known and op not in listing.get(known[0], []):
                    listing.setdefault(known[0], []).append(op)
        for child, ops in sorted(listing.items()):
            keyed = {parent: [(op, key_parameter(op, parent)) for op in ops]
                     for parent in sorted(self.entities) if parent != child}
            taken = [parent for parent, keys in keyed.items() if all(key for _, key in keys)]
            for parent, keys in keyed.items():
                required = any(p.name == key and p.required for op, key in keys for p in op.parameters)
                if not required and taken != [parent]:
                    continue
                nesting = [op for op, key in keys if key is not None and key not in PAGING]
                for op, key in keys:
                    if op in nesting and key is not None:
                        self._nest(parent, child, f"{op.path}?{key}=")
                        self.entities[child].parent_keys.setdefault(parent, key)
                if any(self._listed_at_least(op, child) for op in nesting):   # a list never empty
                    self.entities[child].min_children = 1

    def _listed_at_least(self, op: Operation, name: str) -> int:
        """The ``minItems`` of the array of ``name`` entities a method answers (0 when it has none)."""
        for value in properties_of(self._success_schema(op)).values():
            flat = merge_all_of(value) if isinstance(value, dict) else {}
            items = flat.get("items")
            if isinstance(items, dict) and self.schema_entity.get(id(items), ("",))[0] == name:
                return int(flat.get("minItems") or 0)
        return 0

    def _method_type(self, op: Operation, name: str, shape: dict, key: str | None, reads: bool) -> None:
        """Record (or extend) the entity type an RPC method reads (``reads``) or lists."""
        known = self.schema_entity.get(id(shape))
        if known:
            entity = self.entities[known[0]]
            if not reads and entity.collection_path is None and entity.id_in == "query" and op.method == "GET":
                entity.collection_path = op.path
            self._attach(known[0], op.path)
            return
        id_name = id_field_of(shape, name, None) or (key if key in properties_of(shape) or not reads else None)
        same = self.entities.get(name)
        if same is not None and same.schema is not shape:
            if same.id_in == "query" and same.id_field and same.id_field in properties_of(shape):
                self.shapes.setdefault(name, []).append(shape)   # another spelling of the same objects
                self._register_schema(shape, name, f"listed at {op.path}", _W["schema"])
                self._attach(name, op.path)
            return
        if not id_name:
            return
        entity = self.entities.get(name) or EntityType(name=name, schema=shape, id_in="query", id_field=id_name,
                                                       schema_name=self.spec.schema_name(shape))
        self.entities[name] = entity
        if reads and entity.item_path is None and op.method == "GET":
            entity.item_path, entity.id_param = op.path, key
        elif not reads and entity.collection_path is None and op.method == "GET":
            entity.collection_path = op.path
        how = f"read by {op.method} {op.path}" if reads else f"listed at {op.path}"
        self._register_schema(shape, name, how, _W["schema"])
        self._attach(name, op.path)

    # -- pass 2b: the caller's own entity (/user, /users/@me) --

    def discover_current(self) -> None:
        """Paths that answer the caller's own entity: ``/users/@me`` and a top-level singular ``/user``.

        The type gets ``current_path``; a singular path whose identifiable object no other path
        serves (netlify ``/user``) defines that type.
        """
        for path in sorted(self.paths, key=lambda p: (p.count("{"), len(p), p)):
            tokens = path.strip("/").split("/")
            get = self._get(path)
            alias = tokens[-1].lstrip("@").lower() in _CURRENT_WORDS
            if ("{" in path and not alias) or get is None or list_items(self._success_schema(get)) is not None:
                continue
            shape = unwrap_item(self._success_schema(get), singular(snake(tokens[-1])))
            if shape is None:
                continue
            known = self._schema_target(shape)
            name = known[0] if known else None
            if name is None and alias and len(tokens) > 1 and singular(snake(tokens[-2])) in self.entities:
                name = singular(snake(tokens[-2]))
            singular_top = (len([t for t in tokens if not VERSION_SEGMENT.match(t)]) == 1
                            and not is_plural(tokens[-1]) and not RPC_METHOD.match(tokens[-1]))
            if name is None and singular_top and nameable(tokens[-1]) and id_field_of(shape, snake(tokens[-1]), None):
                name = singular(snake(tokens[-1]))
                if name in self.entities:
                    continue
                entity = EntityType(name=name, schema=shape, schema_name=self.spec.schema_name(shape))
                self.entities[name] = entity
                self._set_id(entity)
                self._register_schema(shape, name, f"the caller's own {name} at {path}", _W["schema"])
            if name is not None and (alias or singular_top) and self.entities[name].current_path is None:
                self.entities[name].current_path = path
                self._attach(name, path)

    # -- pass 1c: one schema served by its id and by another key is one type --

    def merge_id_paths(self) -> None:
        """A type served only at an item path keyed by its id (``/repositories/{id}``) whose schema another type
        serves at an item path keyed otherwise (``/repos/{owner}/{repo}``) is that type: its entities answer at
        both paths, so an id a body shows resolves at the id path to the same entity. The keyed types are grouped
        by schema once, so a spec of 10,000 types costs one pass, not one per pair."""
        keyed: dict[tuple[str, str | None], list[str]] = {}
        for t in self.entities.values():
            if t.origin == "path" and t.schema_name is not None and t.item_path is not None and \
                    t.id_param is not None and t.id_param != t.id_field and not ID_SUFFIX.match(t.id_param):
                keyed.setdefault((t.schema_name, t.id_field), []).append(t.name)
        nested = {name for pair in self.nesting for name in pair}
        for name in list(self.entities):
            entity = self.entities[name]
            twin = self._keyed_twin(entity, keyed, nested)
            if twin is not None:
                self._merge(entity, twin)

    @staticmethod
    def _keyed_twin(entity: EntityType, keyed: dict[tuple[str, str | None], list[str]], nested: set[str]) -> str | None:
        """The one other type of ``entity``'s schema, keyed by a key that is no id spelling (``{repo}``, not
        ``{personId}``; ``keyed`` groups them by schema and id field), that a type served only by its id is."""
        by_id = entity.origin == "path" and entity.schema_name is not None and entity.collection_path is None \
            and entity.item_path is not None and entity.id_param is not None and entity.id_param == entity.id_field \
            and entity.name not in nested
        twins = keyed.get((entity.schema_name or "", entity.id_field), []) if by_id else []
        return twins[0] if len(twins) == 1 else None

    def _merge(self, entity: EntityType, into: str) -> None:
        """Serve ``entity``'s item path as an id path of type ``into``, and drop ``entity``."""
        kept = self.entities[into]
        kept.id_paths.append(entity.item_path or "")
        self._attach(into, entity.item_path or "")
        self.segment_entity = {k: into if v == entity.name else v for k, v in self.segment_entity.items()}
        self.step_entity = {k: into if v == entity.name else v for k, v in self.step_entity.items()}
        for key, (name, how, weight) in list(self.schema_entity.items()):
            if name == entity.name:
                self.schema_entity[key] = (into, how, weight)
        self.entity_ops.pop(entity.name, None)
        del self.entities[entity.name]
        self.merged[entity.name] = into

    def _named(self, word: str) -> str | None:
        """The type a word names: a type's own name, or the name of an id path merged into it."""
        return word if word in self.entities else self.merged.get(word)

    # -- pass 2: trailing segments (/things/{id}/others, /others) --

    def discover_listings(self) -> None:
        """Sub-collections, actions and top-level listings that pass 1 did not claim."""
        claimed = {op.path for ops in self.entity_ops.values() for op in ops}
        unlisted = []
        for path in self.paths:
            steps = steps_of(path)
            if path in claimed or not steps or steps[-1].param:
                continue
            if not self._claim_listing(path, steps, created=False):
                unlisted.append(path)
        for path in unlisted:  # created-only children, once every listing has named its schema
            self._claim_listing(path, steps_of(path), created=True)

    def _claim_listing(self, path: str, steps: list[Step], created: bool) -> bool:
        """Attach ``path`` to the type it lists (or, with ``created``, creates), nesting it under its parent."""
        last = steps[-1]
        tokens = path.strip("/").split("/")
        after_param = len(tokens) > 1 and PARAM.match(tokens[-2]) is not None
        parent = self._entity_of_step(last.parent) if after_param and last.parent else None
        child = self._listing_entity(path, last, parent, created) if nameable(last.segment) else None
        if not created and child is None:
            return False
        if child and parent:
            self._nest(parent, child, path)
            if self.entities[child].collection_path is None:
                self.entities[child].collection_path = path
        owner = child or parent or self._prefix_entity(steps)
        if owner:
            self._attach(owner, path)
        return True

    def discover_values(self) -> None:
        """Types of plain values listed at a path of literal segments (see the module notes)."""
        claimed = {op.path for ops in self.entity_ops.values() for op in ops}
        held = {_value_base(str(k)) for e in self.entities.values() if e.schema
                for shape in (e.schema, *object_variants(e.schema)) for k in properties_of(shape)}
        for path in self.paths:
            steps = steps_of(path)
            last = steps[-1] if steps else None
            if path in claimed or last is None or any(s.param for s in steps) or not nameable(last.segment) \
                    or not is_plural(last.segment) or singular(last.segment) in self.entities:
                continue
            items = _value_items(self._success_schema(self._get(path)), last.segment)
            name = singular(last.segment)
            if items is None or name not in held:
                continue
            schema = {"type": "object", "required": [name], "properties": {name: items}}
            self.entities[name] = EntityType(name=name, collection_path=path, id_field=name, schema=schema,
                                             origin="value")
            self._attach(name, path)

    def _entity_of_step(self, step: Step) -> str | None:
        """The entity type a resource step was given in pass 1."""
        return self.step_entity.get(step.item) or self.segment_entity.get(step.segment)

    def _listing_entity(self, path: str, last: Step, parent: str | None, created: bool = False) -> str | None:
        """The entity type listed at ``path``: a known one, or a new one when the items have ids."""
        base = singular(last.segment)
        items = list_items(self._success_schema(self._get(path)), (snake(last.segment),))
        known = self._schema_target(items) if items is not None else None
        if known:
            self._adopt(known[0], items, path)
            return known[0]
        if self._facet(path, last):   # /users/{id}/support holding the user's tickets: no type of its own
            return None
        if parent and base in self.entities:
            refined = refine_name(base, None, self.spec.schema_name(items), parent) if items is not None else base
            if refined == base or items is None or not id_field_of(items, refined, None):
                self._adopt(base, items, path)
                return base
            if refined not in self.entities:   # /pulls/{index}/reviews/{id}/comments of PullReviewComment
                self._new_listed(refined, path, items)
            return refined
        listed = items is not None
        if items is None and created and parent and is_plural(last.segment) and self._get(path) is None:
            items = self._created(path, base)   # /uploads/{id}/parts: created, never listed
        if items is None:
            return None
        if parent is None and not is_plural(last.segment):
            return None
        name = refine_name(base, None, self.spec.schema_name(items), parent)
        if name in self.entities or not id_field_of(items, name, None):
            return name if name in self.entities else None
        self._new_listed(name, path if listed else None, items)
        return name

    def _facet(self, path: str, last: Step) -> bool:
        """Whether ``path`` answers one object of its own per entity it sits under (``/users/{id}/support``
        holding the user's ``tickets``): a facet of that entity, not a list of a type, when no item path
        lies beneath it and the object is no known type's."""
        schema = self._success_schema(self._get(path))
        if any(other.startswith(path + "/{") for other in self.paths) or not is_facet(schema, last.segment):
            return False
        shown = unwrap_item(schema, singular(last.segment))
        if shown is None:
            return True
        named = self.entities.get(singular(last.segment))
        alike = named is not None and named.schema is not None and _alike(shown, named.schema)
        return self._schema_target(shown) is None and not alike   # /users/@me/guilds/{id}/member: a member

    def _adopt(self, name: str, items: dict | None, path: str) -> None:
        """Give a type whose own paths declare no schema the schema of its items listed at ``path``."""
        entity = self.entities[name]
        if entity.schema is None and items is not None and id_field_of(items, name, None):
            entity.schema, entity.schema_name = items, self.spec.schema_name(items)
            self._set_id(entity)
            self._register_schema(items, name, f"listed at {path}", _W["schema"])

    def _new_listed(self, name: str, path: str | None, items: dict) -> None:
        """A type found listed (or created) at ``path``, with its items' schema."""
        entity = EntityType(name=name, collection_path=path, schema=items, schema_name=self.spec.schema_name(items))
        self.entities[name] = entity
        self._set_id(entity)
        self._register_schema(items, name, f"schema listed at {path}", _W["schema"])

    def _created(self, path: str, base: str) -> dict | None:
        """The identifiable object a POST to ``path`` creates when it is of no known type."""
        post = next((op for op in self.paths.get(path, []) if op.method == "POST"), None)
        shape = unwrap_item(self._success_schema(post), base) if post else None
        if shape is None or self._schema_target(shape) or not id_field_of(shape, base, None):
            return None
        return shape

    def _prefix_entity(self, steps: list[Step]) -> str | None:
        """The entity an action path sits under (``/user/login`` -> user)."""
        for step in reversed(steps):
            if step.segment in self.segment_entity:
                return self.segment_entity[step.segment]
            if singular(step.segment) in self.entities:
                return singular(step.segment)
        return None

    def _nest(self, parent: str, child: str, path: str) -> None:
        """Record path nesting of ``child`` under ``parent``."""
        paths = self.nesting.setdefault((parent, child), [])
        if path not in paths:
            paths.append(path)

    # -- schemas, ids and the schema index --

    def resolve_schemas(self) -> None:
        """Give each path entity its item schema, id field and id type, and index those schemas."""
        for entity in self.entities.values():
            if entity.schema is None:
                entity.schema = self._item_schema(entity)
                entity.schema_name = self.spec.schema_name(entity.schema) if entity.schema else None
            self._set_id(entity)
            if entity.schema is not None:
                self._register_schema(entity.schema, entity.name, f"{entity.name}'s own schema", _W["schema"])
                for variant in object_variants(entity.schema):
                    how = f"one kind of {entity.name} ({self.spec.schema_name(variant) or 'inline'})"
                    self._register_schema(variant, entity.name, how, _W["schema"])
            listed = list_items(self._success_schema(self._get(entity.collection_path)))
            if listed is not None and "{" not in (entity.collection_path or "{"):
                self._register_schema(listed, entity.name, f"listed at {entity.collection_path}", _W["schema"])
        self.index_component_names()

    def _item_schema(self, entity: EntityType) -> dict | None:
        """The schema of one entity: the first with an id field among GET item, listed items, writes."""
        candidates = [unwrap_item(self._success_schema(self._get(entity.item_path)), entity.name, entity.id_param)]
        candidates.append(list_items(self._success_schema(self._get(entity.collection_path))))
        for path in (entity.collection_path, entity.item_path):
            for op in self.paths.get(path or "", []):
                if op.method in ("POST", "PUT", "PATCH"):
                    candidates.append(unwrap_item(self._success_schema(op), entity.name))
                    candidates.append(unwrap_item(op.request_schema, entity.name))
        present = [c for c in candidates if c is not None]
        with_id = [c for c in present if id_field_of(c, entity.name, entity.id_param)]
        for op in [] if with_id else self.entity_ops.get(entity.name, []):   # served only under other parents
            own = singular(snake(op.path.rstrip("/").rsplit("/", 1)[-1])) == entity.name
            listed = list_items(self._success_schema(op)) if op.method == "GET" and own else None
            with_id += [listed] if listed is not None and id_field_of(listed, entity.name, entity.id_param) else []
        return with_id[0] if with_id else present[0] if present else None

    def _set_id(self, entity: EntityType) -> None:
        """The id field and id type of an entity, from its schema and its path parameter."""
        if entity.id_in == "path" or entity.id_field is None:
            entity.id_field = id_field_of(entity.schema, entity.name, entity.id_param) if entity.schema else None
        kinds = []
        param = self._path_param(entity)
        if self._keys_carry_id(entity):
            entity.id_field, param = "id", None   # /projects/{uuid} while every project_id is the integer id
        if param is not None:
            kinds.append(scalar_type(merge_all_of(param)))
        if entity.id_field and entity.schema:
            kinds.append(scalar_type(field_schema(entity.schema, entity.id_field)))
        entity.id_type = next((k for k in kinds if k), "string")

    def _keys_carry_id(self, entity: EntityType) -> bool:
        """Whether the spec's ``<type>_id`` keys hold the entity's ``id`` property rather than its path key.

        Coolify addresses projects by ``{uuid}`` but every ``project_id`` is the integer ``id``.
        """
        if not entity.schema or entity.id_field in (None, "id"):
            return False
        own = scalar_type(field_schema(entity.schema, "id"))
        if own is None or own == scalar_type(field_schema(entity.schema, entity.id_field or "")):
            return False
        if self.key_types is None:
            self.key_types = {}
            for schema in self.spec.schemas.values():
                for key, prop in properties_of(schema).items():
                    kind = scalar_type(non_null(prop)) if isinstance(prop, dict) else None
                    if kind:
                        self.key_types.setdefault(snake(str(key)), set()).add(kind)
        carried = self.key_types.get(f"{entity.name}_{snake(entity.id_field or '')}")
        return self.key_types.get(f"{entity.name}_id") == {own} and not carried

    def _path_param(self, entity: EntityType) -> dict | None:
        """The schema of the id parameter on the entity's item path."""
        for op in self.paths.get(entity.item_path or "", []):
            for p in op.parameters:
                if p.location == "path" and p.name == entity.id_param and p.schema:
                    return p.schema
        return None

    def _register_schema(self, schema: dict, name: str, how: str, weight: float) -> None:
        """Remember that ``schema`` (by identity) is a representation of entity ``name``."""
        self.schema_entity.setdefault(id(schema), (name, how, weight))

    def index_component_names(self) -> None:
        """Map component schemas to entities by name, ``type`` tag and ``allOf`` composition."""
        for comp, schema in self.spec.schemas.items():
            if not isinstance(schema, dict) or id(schema) in self.schema_entity:
                continue
            base = schema_base_name(comp)
            tag = tag_value(schema) if is_objectish(schema) else None
            if base in self.entities and singular(base) == base and is_objectish(schema):
                self._register_schema(schema, base, f"schema {comp} is a variant of {base}", _W["schema"])
            elif tag and singular(tag) in self.entities:
                self._register_schema(schema, singular(tag), f"schema {comp} has type tag '{tag}'", _W["type_tag"])
        changed = True
        while changed:
            changed = False
            for comp, schema in self.spec.schemas.items():
                if not isinstance(schema, dict) or id(schema) in self.schema_entity:
                    continue
                for part in schema.get("allOf") or ():
                    if isinstance(part, dict) and id(part) in self.schema_entity:
                        name, _, weight = self.schema_entity[id(part)]
                        self._register_schema(schema, name, f"schema {comp} extends {name}'s schema", weight)
                        changed = True
                        break

    def _schema_target(self, schema: dict, depth: int = 0) -> tuple[str, str, float] | None:
        """The entity a schema object represents, by identity, composition or ``type`` tag."""
        if not isinstance(schema, dict) or depth > 3:
            return None
        if id(schema) in self.schema_entity:
            return self.schema_entity[id(schema)]
        for part in schema.get("allOf") or ():
            found = self._schema_target(part, depth + 1)
            if found:
                return found
        tag = tag_value(schema)
        if tag and singular(tag) in self.entities and not self.entities[singular(tag)].dangling:
            return singular(tag), f"type tag '{tag}'", _W["type_tag"]
        return None

    # -- pass 3: walking entity schemas for embedded types and references --

    def walk_schemas(self, recording: bool) -> None:
        """Walk every entity schema: first to find schema-only types, then to record references."""
        self.recording = recording
        done: set[str] = set()
        while True:
            pending = [(e.name, e.schema) for e in self.entities.values()
                       if e.name not in done and e.schema is not None]
            if not pending:
                return
            for name, schema in pending:
                done.add(name)
                for whole in (schema, *self.shapes.get(name, ())):
                    for shape in (whole, *object_variants(whole)):
                        self._walk_object(name, shape, "", 0, frozenset())

    def walk_writes(self) -> None:
        """Keys only a type's writes send (``media_ids`` of a status created with media) reference too."""
        self.recording = True
        for entity in list(self.entities.values()):
            if entity.origin != "path" or entity.schema is None:
                continue
            own = {snake(str(k)) for shape in (entity.schema, *object_variants(entity.schema))
                   for k in properties_of(shape)}
            writes = [op for op in self.paths.get(entity.collection_path or "", []) if op.method == "POST"]
            writes += [op for op in self.paths.get(entity.item_path or "", []) if op.method in ("PUT", "PATCH")]
            for op in writes:
                body = op.request_schema if isinstance(op.request_schema, dict) else {}
                for shape in (body, *object_variants(body)):
                    for name, prop in properties_of(shape).items():
                        if isinstance(prop, dict) and snake(str(name)) not in own and ID_SUFFIX.match(str(name)):
                            self._write_key(entity.name, str(name), non_null(prop))

    def _write_key(self, source: str, name: str, flat: dict) -> None:
        """One key (or array of keys) a write sends: a reference when it names a type whose ids it can hold."""
        many = type_of(flat) == "array"
        leaf = merge_all_of(flat["items"]) if many and isinstance(flat.get("items"), dict) else flat
        match = ID_SUFFIX.match(name)
        if match is None or not scalar_type(leaf) or is_enum(leaf):
            return
        resolved = self._resolve_stem(source, name, snake(match.group(1)), leaf, 1)
        target = self.entities[resolved[0]] if resolved is not None else None
        declared = scalar_type(field_schema(target.schema, target.id_field)) \
            if target is not None and target.schema and target.id_field else None
        if resolved is None or target is None or target.dangling or scalar_type(leaf) != (declared or target.id_type):
            return   # project_uuid of a project whose id is an integer: another key, not its id
        many = many or match.group(2).lower().endswith("ids")
        link = self._link(source, target.name, name, "has_many" if many else "belongs_to")
        link.add(f"{resolved[1]} (a key its writes send)", resolved[2])

    def _walk_object(self, source: str, schema: dict, prefix: str, depth: int, seen: frozenset[int]) -> None:
        """Look at each property of an object schema found inside ``source``'s schema."""
        if id(schema) in seen or depth > _MAX_DEPTH:
            return
        seen = seen | {id(schema)}
        own_id = self.entities[source].id_field if depth == 0 else None
        props = properties_of(schema)
        paired = self._polymorphic(source, props, prefix) if self.recording else set()
        for name, prop in props.items():
            if isinstance(prop, dict) and name != own_id and name not in paired:
                self._walk_property(source, str(name), prop, prefix, depth, seen)

    def _polymorphic(self, source: str, props: dict, prefix: str) -> set[str]:
        """Type + id pairs (``resourceable_type`` + ``resourceable_id``, ``entityType`` + ``entityReference``).

        The id references each type the type field names (its enum, or the types its description
        lists); a type field that names none means the types the source is nested under. Returns the
        id fields so paired.
        """
        paired = set()
        for type_key, type_schema in props.items():
            match = _POLY_TYPE.match(str(type_key))
            if match is None or not isinstance(type_schema, dict):
                continue
            stem = match.group(1)
            if singular(snake(stem)) in self.entities or singular(snake(str(type_key))) in self.entities:
                continue   # destination_type + destination_id: a plain key with a subtype; eventType names a type
            id_key = next((k for k in props if _poly_stem(str(k)) == stem
                           and isinstance(props[k], dict) and scalar_type(non_null(props[k]))), None)
            if id_key is None:
                continue
            flat = non_null(type_schema)
            named = self._named_types(flat)
            parents = sorted(p for (p, child) in self.nesting if child == source and p != source)
            parents = parents if "enum" not in flat and type_of(flat) == "string" else []
            for target in named or parents:
                link = self._link(source, target, prefix + str(id_key), "belongs_to")
                link.type_field = prefix + str(type_key)
                how = "names" if named else "is nested under"
                link.add(f"{source}.{prefix}{type_key} {how} {target}: a polymorphic key", _W["polymorphic"])
            paired.add(str(id_key))
        return paired

    def _named_types(self, schema: dict) -> list[str]:
        """The entity types a type field's enum or description names (``accountHolder``, ``balance_account``)."""
        words = [str(v) for v in schema.get("enum") or () if isinstance(v, str)]
        words += re.findall(r"[A-Za-z][A-Za-z0-9_]+", str(schema.get("description") or "")) if not words else []
        found = []
        for word in words:
            name = singular(snake(word.rsplit("\\", 1)[-1]))
            if name in self.entities and not self.entities[name].dangling and name not in found:
                found.append(name)
        return found if len(found) > 1 or words[:1] == found[:1] else []

    def _walk_property(self, source: str, name: str, prop: dict, prefix: str, depth: int, seen: frozenset[int]) -> None:
        """Classify one property: a scalar reference, an array of them, or an embedded object."""
        path = prefix + name
        flat = non_null(prop)
        description = str(flat.get("description") or "")
        if type_of(flat) == "array" and isinstance(flat.get("items"), dict):
            items = flat["items"]
            description = description or str(merge_all_of(items).get("description") or "")
            if is_objectish(items):
                self._embedded(source, name, path, items, depth, seen, many=True)
            elif self.recording and scalar_type(merge_all_of(items)):
                self._reference(source, name, path, merge_all_of(items), description, depth, many=True)
        elif is_objectish(flat):
            self._embedded(source, name, path, prop, depth, seen, many=False)
        elif self.recording and _URL_REFERENCE.match(name) and type_of(flat) == "string":
            self._url_reference(source, name, path)
        elif self.recording and scalar_type(flat) and not is_enum(flat):
            self._reference(source, name, path, flat, description, depth, many=False)

    def _embedded(
        self, source: str, name: str, path: str, schema: dict, depth: int, seen: frozenset[int], many: bool
    ) -> None:
        """An embedded object: link it to the types it represents, or look inside it."""
        targets = self._embedded_targets(source, name, schema)
        if targets:
            if self.recording:
                for target, how, weight in targets:
                    link = self._link(source, target, path, "embeds")
                    link.add(f"field {source}.{path} embeds {target} ({how})", weight)
                    target_id = self.entities[target].id_field
                    if target_id and target_id in properties_of(schema) and weight < _W["schema"]:
                        link.add(f"embedded objects carry {target}'s id field '{target_id}'", _W["carries_id"])
            return
        flat = merge_all_of(schema)
        child_prefix = path + ("[]." if many else ".")
        for alternative in (flat, *(flat.get("oneOf") or ()), *(flat.get("anyOf") or ())):
            if isinstance(alternative, dict):
                self._walk_object(source, alternative, child_prefix, depth + 1, seen)

    def _embedded_targets(self, source: str, name: str, schema: dict) -> list[tuple[str, str, float]]:
        """The entity types an embedded object (or each of its oneOf/anyOf alternatives) represents."""
        found = self._schema_target(schema)
        if found:
            return [found]
        flat = merge_all_of(schema)
        targets: list[tuple[str, str, float]] = []
        for alternative in (*(flat.get("oneOf") or ()), *(flat.get("anyOf") or ())):
            hit = self._schema_target(alternative)
            if hit and hit[0] not in [t[0] for t in targets]:
                targets.append(hit)
        if targets:
            return targets
        shape = object_alternative(schema)
        words = singular(snake(name)).split("_")
        for cut in range(len(words)):
            base = self._named("_".join(words[cut:])) or "_".join(words[cut:])   # referenced_message, then message
            known = self.entities.get(base)
            carries_id = known is not None and (known.id_field is None or known.id_field in properties_of(shape))
            if known and not known.dangling and carries_id and list_items(schema) is None:
                qualified = f", qualified as '{'_'.join(words[:cut])}'" if cut else ""
                return [(base, f"field name '{name}'{qualified}", _W["field_name"] if not cut else _W["qualified"])]
        created = self._schema_only(source, name, schema)
        return [(created, "an identifiable embedded object", _W["schema"])] if created else []

    def _schema_only(self, source: str, field_name: str, schema: dict) -> str | None:
        """Make an embedded identifiable object an entity type of its own (see module notes)."""
        comp = self.spec.schema_name(schema)
        if comp is None and len(schema.get("allOf") or ()) == 1:
            comp = self.spec.schema_name(schema["allOf"][0])
        name = singular(schema_base_name(comp)) if comp else f"{source}_{singular(field_name)}"
        id_name = id_field_of(schema, name, None) if not object_variants(schema) else None
        if not id_name:
            return None
        id_schema = field_schema(schema, id_name)
        if is_nullable(id_schema) and not id_schema.get("readOnly"):
            return None  # a value object whose id is optional and client-supplied
        if name in self.entities and not self.entities[name].dangling:
            return name
        self.entities[name] = EntityType(
            name=name,
            id_field=id_name,
            id_type=scalar_type(id_schema) or "string",
            schema=schema,
            origin="schema",
            schema_name=comp,
        )
        self._register_schema(schema, name, "an identifiable embedded object", _W["schema"])
        return name

    def _reference(
        self, source: str, name: str, path: str, flat: dict, description: str, depth: int, many: bool
    ) -> None:
        """A scalar (or array of scalars) that may hold the id of another entity."""
        typed = self._typed_target(flat)
        if typed is not None:
            link = self._link(source, typed[0], path, "has_many" if many else "belongs_to")
            link.add(f"field {source}.{path} {typed[1]}", _W["typed"])
            return
        match = ID_SUFFIX.match(name)
        prefix_match = _ID_PREFIX.match(name)
        actor = _ACTOR.match(name)
        if match:
            stem, many = match.group(1), many or match.group(2).lower().endswith("ids")
        elif prefix_match:
            stem = prefix_match.group(1)
        elif actor and not many:
            stem = "by"
        else:
            if not self._value_reference(source, name, path, flat, many):
                self._bare_reference(source, name, path, flat, description, many)
            return
        resolved = self._resolve_stem(source, name, snake(stem), flat, depth)
        if resolved is None:
            return
        target, text, weight = resolved
        link = self._link(source, target, path, "has_many" if many else "belongs_to")
        link.add(text, weight)
        self._description_evidence(link, description)
        if stem == "by":
            self._actor_key(link, target, description)

    def _actor_key(self, link: _Evidence, target: str, description: str) -> None:
        """``created_by``: "The `identity` of the User that created the invite" holds the target's alternate key
        its description names, not its id."""
        if self.alternate_keys is None:
            self.alternate_keys = self._index_alternate_keys()
        text = description.lower()
        keys = (k for k, t in self.alternate_keys.items() if t == target and re.search(rf"\b{re.escape(k)}\b", text))
        key = next(keys, None)
        if key is not None:
            link.holds = key
            link.add(f"field {link.source}.{link.field} holds {target}'s alternate key '{key}'", _W["synonym"])

    def _value_reference(self, source: str, name: str, path: str, flat: dict, many: bool) -> bool:
        """``tagList: ["dragons"]``: a string field named for a value type holds its values."""
        base = _value_base(name)
        target = self.entities.get(base)
        if target is None or target.origin != "value" or scalar_type(flat) != "string" or is_enum(flat):
            return False
        link = self._link(source, base, path, "has_many" if many else "belongs_to")
        link.add(f"field {source}.{path} holds {base} values (listed at {target.collection_path})", _W["fk"])
        return True

    def _url_reference(self, source: str, name: str, path: str) -> None:
        """``issue_url``: a URL of another entity's item path, a reference spelled as a link."""
        match = _URL_REFERENCE.match(name)
        stem = singular(snake(match.group(1))) if match else ""
        target = stem if stem in self.entities else self._aliased(stem)
        if target is None or target == source or self.entities[target].dangling or not self.entities[target].item_path:
            return
        if (source, target) in self.nesting:
            return   # site.deploy_url: a child's URL (its preview site), not a key of the world
        link = self._link(source, target, path, "belongs_to")
        link.holds = "url"
        link.add(f"field {source}.{path} is the URL of a {target} ('{stem}')", _W["fk"])

    def _alternate_key_reference(self, source: str, name: str, path: str, description: str, many: bool) -> bool:
        """``Member.identity`` / ``Message.from``: a field holding another type's alternate key (``User.identity``).

        The key is a property its own type describes as uniquely identifying it; the field is named
        like the key and its description names the type, or its description names the key and a
        person or the type (``The Identity of the message's author``).
        """
        if self.alternate_keys is None:
            self.alternate_keys = self._index_alternate_keys()
        text = description.lower()
        for key, target in self.alternate_keys.items():
            words = {target.replace("_", " "), *(w for w in _PERSON_WORDS if self._synonym_target(w) == target)}
            names = any(re.search(rf"\b{re.escape(w)}s?\b", text) for w in words)
            said = re.search(rf"\b{re.escape(key)}\b", text) is not None
            if target != source and names and (snake(name) == key or said):
                link = self._link(source, target, path, "has_many" if many else "belongs_to")
                link.holds = key
                link.add(f"field {source}.{path} holds {target}'s alternate key '{key}'", _W["synonym"])
                return True
        return False

    def _index_alternate_keys(self) -> dict[str, str]:
        """Properties a type describes as uniquely identifying it, besides its id (``User.identity``)."""
        found: dict[str, set[str]] = {}
        for entity in self.entities.values():
            if entity.origin != "path" or not entity.schema:
                continue
            for key, prop in properties_of(entity.schema).items():
                said = str(merge_all_of(prop).get("description") or "").lower() if isinstance(prop, dict) else ""
                if key != entity.id_field and "uniquely identif" in said and entity.name.replace("_", " ") in said:
                    found.setdefault(snake(str(key)), set()).add(entity.name)
        return {key: next(iter(types)) for key, types in found.items() if len(types) == 1}

    def _holds_key(self, target: str, flat: dict) -> bool:
        """Whether a field named after a type keyed by a name (``eventType`` of event types keyed by ``name``)
        holds that key: the type's key is not an id and the two agree on their ``pattern``."""
        entity = self.entities[target]
        if not entity.schema or not entity.id_field or id_field_of(entity.schema, entity.name, None):
            return False
        pattern = flat.get("pattern")
        return pattern is not None and pattern == field_schema(entity.schema, entity.id_field).get("pattern")

    def _typed_target(self, flat: dict) -> tuple[str, str] | None:
        """(type, evidence) when a key's schema is the id schema of exactly one type, by name or by ``pattern``.

        Slack's ``objs_message.user`` is ``$ref: defs_user_id``, the schema of ``objs_user.id``; a
        ``pattern`` such as ``^[UW][A-Z0-9]{2,}$`` shared with one type's id says the same.
        """
        if self.id_schemas is None:
            self.id_schemas = self._index_id_schemas()
        comp, pattern = self.spec.schema_name(flat), flat.get("pattern")
        for key, how in ((f"schema:{comp}", f"id schema {comp}"), (f"pattern:{pattern}", f"id pattern {pattern}")):
            owners = self.id_schemas.get(key) or []
            distinctive = key.startswith("schema:") or _PREFIXED_PATTERN.match(str(pattern))
            if len(owners) == 1 and key.split(":", 1)[1] not in ("None", "") and distinctive:
                return owners[0], f"has {owners[0]}'s {how}"
        return None

    def _index_id_schemas(self) -> dict[str, list[str]]:
        """The types whose id field has each named id schema and each ``pattern``."""
        index: dict[str, dict[str, None]] = {}   # owners in order, as a dict: 10,000 types sharing a key stay linear
        for entity in self.entities.values():
            if entity.origin != "path" or not entity.schema or not entity.id_field:
                continue
            kinds = (entity.schema, *object_variants(entity.schema))
            keys = (properties_of(kind).get(entity.id_field) for kind in kinds)
            for shape in (key for key in keys if isinstance(key, dict)):
                flat = merge_all_of(shape)
                for key in (f"schema:{self.spec.schema_name(shape)}", f"pattern:{flat.get('pattern')}"):
                    index.setdefault(key, {})[entity.name] = None
        return {key: list(owners) for key, owners in index.items()}

    def _bare_reference(self, source: str, name: str, path: str, flat: dict, description: str, many: bool) -> None:
        """``customer: "cus_123"``: a field named after a type that holds its id."""
        if self._alternate_key_reference(source, name, path, description, many):
            return
        base = singular(name)
        if base in _NOT_BARE or snake(name) in _NOT_BARE:
            return
        words = base.split("_")
        tails = ("_".join(words[cut:]) for cut in range(1, len(words)))
        qualified = next((t for t in tails if t in self.entities and t not in _NOT_BARE), None)
        target = base if base in self.entities else self._synonym_target(base) or qualified
        if target is None or target == source or self.entities[target].dangling:
            return
        if target == qualified and (source, target) in self.nesting:
            return   # primaryBalanceAccount: one of the source's own children, chosen by the API, not a key
        said = f"{description} {flat.get('title') or ''}"
        holds_id = re.search(r"\b(ids?|identifiers?|uuids?|guids?)\b", said, re.IGNORECASE) is not None
        holds_id = holds_id or (target == base and self._holds_key(target, flat))
        holds_id = holds_id or (str(flat.get("format", "")).lower() in _ID_FORMATS and target != qualified)
        if not holds_id or scalar_type(flat) != self.entities[target].id_type:
            return
        link = self._link(source, target, path, "has_many" if many else "belongs_to")
        how = "" if target == base else f" ('{base}' read as '{target}')"
        link.add(f"field {source}.{path} holds a {target} id{how}", _W["bare"])
        self._description_evidence(link, description)

    def _resolve_stem(
        self, source: str, field_name: str, stem: str, flat: dict, depth: int
    ) -> tuple[str, str, float] | None:
        """Which entity a foreign-key stem names, with the evidence for it."""
        name = singular(stem)
        words = name.split("_")
        where = f"field {source}.{field_name}"
        if name == "by":
            target = self._synonym_target("by")
            return (target, f"{where} names who acted, read as {target}", _W["synonym"]) if target else None
        if name == "parent" or (words[0] == "parent" and "_".join(words[1:]) == source):
            return source, f"{where} is a parent reference to the same type", _W["qualified"]
        if self._named(name) is not None:
            name = self._named(name) or name
            return name, f"{where} names {name}", _W["dangling"] if self.entities[name].dangling else _W["fk"]
        aliased = self._aliased(name)
        if aliased is not None and aliased != source:
            return aliased, f"{where} names {aliased} by its schema's name", _W["fk"]
        for entity in self.entities.values():
            if entity.id_field == field_name and entity.id_field != "id" and entity.name != source:
                return entity.name, f"{where} matches {entity.name}'s id field {entity.id_field}", _W["id_field"]
        for cut in range(1, len(words)):
            tail = "_".join(words[cut:])
            if tail in self.entities and not self.entities[tail].dangling:
                qualifier = "_".join(words[:cut])
                return tail, f"{where} names {tail} (qualified as '{qualifier}')", _W["qualified"]
        if set(words) & _SELF_WORDS and source in self.entities:
            return source, f"{where} points at another {source} ('{name}')", _W["qualified"]
        ending = [e for e in self.entities if e.endswith("_" + name) and not self.entities[e].dangling]
        if len(ending) == 1:
            return ending[0], f"{where} names '{name}', the only type ending in it is {ending[0]}", _W["suffix"]
        target = self._synonym_target(name)
        if target and not self._pattern_conflict(flat, target):
            return target, f"{where}: '{name}' is a synonym of {target}", _W["synonym"]
        spelled = len(words) > 1 and " ".join(words) in str(flat.get("description") or "").lower()
        generic = words[-1] in _NOT_REFERENCES and not spelled   # entity_id is generic; "the legal entity" is not
        if depth > 0 or name in _NOT_REFERENCES or generic or len(name) < 3 or {*words} & PAGING:
            return None
        self.entities[name] = EntityType(name=name, id_type=scalar_type(flat) or "string", origin="dangling")
        return name, f"{where} names {name}, which this spec does not define", _W["dangling"]

    def _aliased(self, name: str) -> str | None:
        """The type a name means through a type's schema name (``pull_request`` -> ``pull``,
        ``pull_request_review`` -> ``pull_review``)."""
        if self.aliases is None:
            self.aliases = {}
            for entity in self.entities.values():
                alias = singular(schema_base_name(entity.schema_name)) if entity.schema_name else None
                if alias and alias != entity.name and not entity.dangling and alias not in self.entities:
                    self.aliases.setdefault(alias, entity.name)
        if name in self.aliases:
            return self.aliases[name]
        for alias, type_name in sorted(self.aliases.items(), key=lambda a: -len(a[0])):
            if name.startswith(alias + "_") and f"{type_name}{name[len(alias):]}" in self.entities:
                return f"{type_name}{name[len(alias):]}"
        return None

    def _pattern_conflict(self, flat: dict, target: str) -> bool:
        """Whether a key's ``pattern`` differs from the one the target's own id declares (``^AC…`` vs ``^US…``)."""
        entity = self.entities[target]
        own = field_schema(entity.schema, entity.id_field or "id") if entity.schema else {}
        mine, theirs = flat.get("pattern"), own.get("pattern")
        return isinstance(mine, str) and isinstance(theirs, str) and mine != theirs

    def _synonym_target(self, word: str) -> str | None:
        """The defined entity type a synonym such as owner, author or account most likely means."""
        for words, types in ((_PERSON_WORDS, _PERSON_TYPES), (_ORG_WORDS, _ORG_TYPES)):
            if word in words:
                for candidate in types:
                    if candidate != word and candidate in self.entities and not self.entities[candidate].dangling:
                        return candidate
        return None

    def _description_evidence(self, link: _Evidence, description: str) -> None:
        """Extra evidence when a field's description names the target type."""
        words = link.target.replace("_", " ")
        if description and re.search(rf"\b{re.escape(words)}s?\b", description, re.IGNORECASE):
            link.add(f"its description mentions '{words}'", _W["description"])

    def _link(self, source: str, target: str, path: str | None, kind: str) -> _Evidence:
        """The evidence record of one (source, target, field) link, created on first use."""
        key = (source, target, path)
        if key not in self.links:
            self.links[key] = _Evidence(source, target, path, kind)
        return self.links[key]

    # -- pass 4: nesting, many-to-many, samples --

    def apply_nesting(self) -> None:
        """Fold path nesting into matching foreign keys, or record it as has_many / many_to_many."""
        for (parent, child), paths in sorted(self.nesting.items()):
            text = f"path nesting {min(paths, key=len)}"
            reverse = self.nesting.get((child, parent))
            if reverse and parent != child:
                if parent > child:
                    continue  # recorded once, from the alphabetically first side
                link = self._link(parent, child, None, "many_to_many")
                link.add(text, _W["nesting"])
                link.add(f"path nesting {min(reverse, key=len)}", _W["reverse"])
                continue
            fks = [k for k in self.links.values() if (k.source, k.target, k.kind, k.holds, k.type_field)
                   == (child, parent, "belongs_to", "id", None)]
            if fks:
                best = max(fks, key=lambda k: (max(w for _, w in k.items), -len(k.field or "")))
                best.add(text, _W["nesting"])
            if not any(_top_level(k.field) for k in fks):   # a deep key (``base.repo_id``) is no parent key
                self._link(parent, child, None, "has_many").add(text, _W["nesting"])

    def apply_many_to_many(self) -> None:
        """Arrays of ids that point both ways are many-to-many."""
        arrays = [k for k in self.links.values() if k.kind == "has_many" and k.field]
        for link in arrays:
            back = [o for o in arrays if o.source == link.target and o.target == link.source and o is not link]
            if back:
                link.kind = "many_to_many"
                link.add(f"{back[0].source}.{back[0].field} points back", _W["reverse"])

    def apply_samples(self, samples: dict[str, list[object]]) -> None:
        """Links where recorded values of a field equal the ids of recorded entities."""
        ids = {name: self._sample_ids(name, bodies) for name, bodies in samples.items() if name in self.entities}
        for source, bodies in sorted(samples.items()):
            if source not in self.entities:
                continue
            own_id = self.entities[source].id_field or "id"
            values: dict[str, list[object]] = {}
            many: set[str] = set()
            for body in bodies:
                for path, value, is_list in _leaves(body):
                    if path != own_id:
                        values.setdefault(path, []).append(value)
                        if is_list:
                            many.add(path)
            for path, found in sorted(values.items()):
                distinct = {str(v) for v in found}
                for target, target_ids in sorted(ids.items()):
                    matched = distinct & target_ids
                    if not _convincing(matched, distinct):
                        continue
                    link = self._link(source, target, path, "has_many" if path in many else "belongs_to")
                    counts = f"{len(matched)} of {len(distinct)} distinct values"
                    weight = min(0.9, 0.5 + 0.1 * len(matched))
                    link.add(f"samples: {counts} of {source}.{path} are {target} ids", weight)

    def _sample_ids(self, name: str, bodies: list[object]) -> set[str]:
        """The ids seen in recorded bodies of one entity type."""
        key = self.entities[name].id_field or "id"
        values = (b.get(key) for b in bodies if isinstance(b, dict))
        return {str(v) for v in values if isinstance(v, (str, int)) and not isinstance(v, bool)}

    # -- assembly --

    def world(self) -> InferredWorld:
        """The finished world: operations attached, relationships scored and sorted."""
        for name, ops in self.entity_ops.items():
            if name in self.entities:
                ordered = sorted(ops, key=lambda op: self.order[id(op)])
                self.entities[name].operations = [f"{op.method} {op.path}" for op in ordered]
        relationships = [self._relationship(link) for link in self.links.values() if link.items]
        relationships.sort(key=lambda r: r.id)
        entities = {name: self.entities[name] for name in sorted(self.entities)}
        return InferredWorld(entity_types=entities, relationships=relationships)

    def _relationship(self, link: _Evidence) -> Relationship:
        """Score one evidence record into a Relationship."""
        doubt = 1.0
        for _, weight in link.items:
            doubt *= 1.0 - weight
        if link.kind == "many_to_many" and link.field is None:
            rid = f"{link.source}<->{link.target}"
        elif link.field is None:
            rid = f"{link.source}->{link.target}"
        else:
            rid = f"{link.source}.{link.field}->{link.target}"
        return Relationship(
            id=rid,
            source=link.source,
            target=link.target,
            kind=link.kind,
            field=link.field,
            evidence=[text for text, _ in link.items],
            confidence=round(min(0.99, 1.0 - doubt), 2),
            dangling=self.entities[link.target].dangling,
            holds=link.holds,
            type_field=link.type_field,
        )


def _top_level(field: str | None) -> bool:
    """Whether a link's field is the entity's own property (``repo_id``), not one inside a value (``base.repo_id``)."""
    return field is not None and "." not in field and "[" not in field


def _alike(shape: dict, schema: dict) -> bool:
    """Whether most fields of ``shape`` are fields of ``schema`` (another spelling of the same objects)."""
    own = {str(k) for k in properties_of(shape)}
    return bool(own) and 2 * len(own & {str(k) for k in properties_of(schema)}) > len(own)


def _value_base(name: str) -> str:
    """The value type a field is named for (``tagList``, ``tag_names``, ``tags`` -> ``tag``)."""
    words = snake(name).split("_")
    return singular("_".join(words[:-1] if len(words) > 1 and words[-1] in _VALUE_WORDS else words))


def _value_items(schema: dict | None, segment: str) -> dict | None:
    """The item schema of a list of plain strings, bare or the one array an envelope names like the path."""
    flat = merge_all_of(schema) if isinstance(schema, dict) else {}
    props = properties_of(flat)
    array = flat if type_of(flat) == "array" else props.get(segment) if len(props) == 1 else None
    items = merge_all_of(array).get("items") if isinstance(array, dict) and type_of(merge_all_of(array)) == "array" \
        else None
    plain = isinstance(items, dict) and type_of(merge_all_of(items)) == "string" and not is_enum(merge_all_of(items)) \
        and not merge_all_of(items).get("format")
    return items if plain else None


def _poly_stem(name: str) -> str | None:
    """The stem of a polymorphic id field (``resourceable_id`` -> ``resourceable``, ``entityReference``)."""
    match = _POLY_ID.match(name)
    return match.group(1) if match else None


def _leaves(body: object, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, object, bool]]:
    """(field path, scalar value, came from a list) for every id-like leaf of a sample body."""
    if not isinstance(body, dict) or depth > 6:
        return
    for key, value in body.items():
        path = f"{prefix}{key}"
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            yield path, value, False
        elif isinstance(value, dict):
            yield from _leaves(value, path + ".", depth + 1)
        elif isinstance(value, list):
            for element in value:
                if isinstance(element, (str, int)) and not isinstance(element, bool):
                    yield path, element, True
                elif isinstance(element, dict):
                    yield from _leaves(element, path + "[].", depth + 1)


def _convincing(matched: set[str], distinct: set[str]) -> bool:
    """Whether matching sample values are more than coincidence (small integers collide easily).

    At least 80% of a field's distinct values must be ids of the other type; opaque ids
    need two matches (one if it is long), numeric ids three, one of them four digits long.
    """
    if not matched or len(matched) < 0.8 * len(distinct):
        return False
    if all(v.lstrip("-").isdigit() for v in matched):
        return len(matched) >= 3 and any(len(v.lstrip("-")) >= 4 for v in matched)
    return len(matched) >= 2 or any(len(v) >= 6 for v in matched)


def infer_world(spec: Spec, samples: dict[str, list[object]] | None = None) -> InferredWorld:
    """Infer entity types and their relationships from a loaded spec (and optional recorded bodies).

    ``samples`` maps an entity type name to response bodies of that type; values of one
    type's fields that equal ids of another type become (or strengthen) relationships.
    """
    builder = _WorldBuilder(spec)
    builder.discover_resources()
    builder.discover_methods()
    builder.resolve_schemas()
    builder.merge_id_paths()
    builder.discover_listings()
    builder.discover_values()
    builder.discover_current()
    builder.index_component_names()
    builder.walk_schemas(recording=False)
    builder.walk_schemas(recording=True)
    builder.walk_writes()
    builder.apply_nesting()
    builder.apply_many_to_many()
    if samples:
        builder.apply_samples(samples)
    return builder.world()


def membership_roots(world: InferredWorld) -> dict[str, str]:
    """Types whose entities are another type's, listed under a parent (an org's ``members`` are ``User``\\ s):
    by name, the type they are. Such a type has the schema of a type served at an item path of its own (the
    root: the shortest such path) and no id of its own to serve: it is served at a nested path with no item path
    or an item path keyed by something other than its id field (``/orgs/{org}/members/{username}``), or at a
    path with no parent whose item path is keyed so (``/user/following/{username}``)."""
    by_schema: dict[str, list[EntityType]] = {}
    for entity in world.entity_types.values():
        if entity.schema_name and entity.origin == "path":
            by_schema.setdefault(entity.schema_name, []).append(entity)
    out: dict[str, str] = {}
    for group in by_schema.values():
        served = [t for t in group if t.item_path and t.id_in == "path"]
        if len(group) < 2 or not served:
            continue
        root = min(served, key=lambda t: (len([s for s in (t.item_path or "").split("/") if s]), t.name))
        for entity in group:
            collection, item = entity.collection_path or "", entity.item_path
            keyed_otherwise = entity.id_param != (entity.id_field or "id")
            nested = "{" in collection and (item is None or keyed_otherwise)
            listed = bool(collection) and item is not None and item.rsplit("/", 1)[0] == collection
            if entity is not root and (nested or listed and keyed_otherwise):
                out[entity.name] = root.name
    return out
