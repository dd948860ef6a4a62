"""Writes: a POST, PUT, PATCH or DELETE of any operation, kept in the world as the spec describes it.

The body is read in the operation's own style (JSON, or a form typed by the request schema), checked
against the request schema as written, opened from an ``{"article": {...}}``-style envelope and
respelled to the entity's own field names; then a create (collection, children or a nested list), an
update (PUT replaces, PATCH and POST merge, a JSON Patch applies its operations) or a delete of the
item. Any other write answers from its schema.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import jsonpatch
import jsonpointer
import orjson
from starlette.requests import Request

from mockverse.http.errors import Problem, check_body, read_form_or_json, typed_value
from mockverse.http.operations import (
    ChildrenOp,
    CollectionOp,
    FacetWriteOp,
    ItemOp,
    ListOp,
    MethodOp,
    Operation,
    RelatedOp,
    owner_embed,
)
from mockverse.http.reads import Reads, Resolved, safe_name
from mockverse.http.served import Served, world_served
from mockverse.http.shapes import body_served, schema_served
from mockverse.openapi import singular, snake
from mockverse.openapi.jsonschema import fits
from mockverse.openapi.rpc import flag_fields
from mockverse.openapi.words import singular_word
from mockverse.world.derived_fields import owner_parts
from mockverse.world.engine import ConsistencyEngine, WorldView
from mockverse.world.generate import merge_schema, schema_types
from mockverse.world.model import EntityType, key_text
from mockverse.world.numbers import path_value
from mockverse.world.render import list_slot
from mockverse.world.writes import parent_required, unique_keys

ENVELOPES = ("data", "item", "record", "resource")   # one-key request envelopes opened around an entity
_GONE = object()   # a field a JSON Patch removed
_KEEP = object()   # a summary field a bulk create leaves as its answer gives it
# words of a bulk create's summary fields: what it created, what a create of new entities has none of
CREATED_WORDS = frozenset({"new", "created", "added", "inserted", "persisted", "imported", "accepted", "saved"})
NONE_CREATED = frozenset({"error", "errors", "fail", "failed", "failure", "failures", "invalid", "rejected",
                          "skipped", "duplicate", "duplicates", "ignored", "existing", "existed", "updated",
                          "unchanged", "unprocessed", "warning", "warnings"})
COUNT_WORDS = frozenset({"count", "total", "number", "num"})
SUCCEEDED = frozenset({"success", "successful", "succeeded", "ok"})
SUMMARY_DEPTH = 1   # objects inside a bulk create's summary that summarise it too (``{result: {ids, count}}``)


class Writes:
    """Applies writes to a world's store and answers them shaped like its reads."""

    def __init__(self, engine: ConsistencyEngine, reads: Reads, max_body_bytes: int) -> None:
        self.engine = engine
        self.reads = reads
        self.max_body_bytes = max_body_bytes

    async def write(self, op: Operation, request: Request, view: WorldView) -> Served:
        """Apply one write and answer it (see the module notes)."""
        schema = op.validator.schema if op.validator is not None else None
        body = await read_form_or_json(request, self.max_body_bytes, schema, required=op.body_required)
        creates = request.method == "POST" and isinstance(op, (CollectionOp, ChildrenOp, RelatedOp))
        updates = isinstance(op, ItemOp) and op.id_param is not None and request.method != "DELETE"
        bulk = creates and isinstance(body, list) and schema is not None and "array" in schema_types(schema)
        if body is not None and (creates and not bulk or updates and not is_json_patch(body)):
            _object(body, required=True)
        check_body(op.validator, body)
        if (creates or updates) and not bulk and not is_json_patch(body):
            body = {**_query_fields(op, request), **(body or {})}
        joining = op.id_param if isinstance(op, ItemOp) and request.method == "PUT" and op.entity.scoped else None
        joins = isinstance(op, ItemOp) and request.method in ("PUT", "POST") and op.entity.member_of is not None
        found = self.reads.resolve(op, request, view, absent=joining, join=joins)
        if joining is not None and joining not in found and isinstance(op, ItemOp):
            return self.join(op, request, view, found, _object(body, required=False))
        if isinstance(op, (CollectionOp, ChildrenOp, RelatedOp)) and creates:
            if bulk and isinstance(body, list):   # one entity per item the spec's array holds
                _bulk_keys(view, op.listed, body)
                rows = [self.create(op, view, found, _object(item, required=True)) for item in body]
                return self.bulk_answer(op, request, self.engine.view(view.workspace), rows)
            created = self.create(op, view, found, _object(body, required=False))
            return self.written(op, view, op.listed, created, created=_location_under(op, request.url.path, created))
        if isinstance(op, FacetWriteOp):
            return self.facet_write(op, request, view, found, body)
        if isinstance(op, MethodOp):
            return self.method_write(op, request, view, _object(body, required=op.body_required))
        if isinstance(op, ItemOp) and op.id_param is not None:
            entity, id, _ = found[op.id_param]
            if request.method == "DELETE":
                view.delete(entity, id)
                fresh = self.engine.view(view.workspace)
                if op.status == 204:
                    return world_served(fresh, 204, b"")
                return schema_served(op, fresh, request.url.path, None)
            if entity.member_of is not None:   # a membership's fields are its member's: a write adds it, no more
                return self.written(op, view, entity, self.engine.view(view.workspace).get(entity, id) or {})
            if is_json_patch(body):
                updated = view.update(entity, id, patched(view.get(entity, id) or {}, body), replace=False)
                return self.written(op, view, entity, updated)
            data = _entity_fields(entity, _object(body, required=op.body_required))
            updated = view.update(entity, id, data, replace=request.method == "PUT")
            return self.written(op, view, entity, updated)
        return schema_served(op, view, request.url.path, self.reads.persona(view, found))

    def join(self, op: ItemOp, request: Request, view: WorldView, found: Resolved, body: dict) -> Served:
        """A PUT at a key within the parent that no child holds yet (``PUT /guilds/{guild_id}/members/{user_id}``):
        adds the child holding that target, which must exist (else a 404 naming the parameter)."""
        entity, key, name = op.entity, op.entity.scoped, op.id_param or ""
        assert key is not None and entity.parent is not None, f"{entity.name} has a key within its parent"
        raw = request.path_params.get(safe_name(name))
        target_id = key.target.linked_id(raw, view, key.key)
        if target_id is None or view.get(key.target, target_id) is None:
            raise Problem(404, "Not found", f"{key.target.name} {raw} does not exist", field=name)
        data = _entity_fields(entity, body)
        data[key.field] = {key.target.id_field: target_id} if key.embed else key.target.held(view, target_id, key.key)
        if entity.fk is not None:
            data[entity.fk] = next(id for e, id, _ in reversed(found.values()) if e is entity.parent)
        return self.written(op, view, entity, _created(op, view, entity, data), created=request.url.path)

    def method_write(self, op: MethodOp, request: Request, view: WorldView, body: dict) -> Served:
        """An RPC method's write: a create makes an entity of the fields given; an update writes the fields it
        names (and the flags its verb states: ``archive``) on the entity its key parameter names; a delete
        deletes that entity. A create or update answers the entity in the method's envelope."""
        entity = op.entity
        given = {**_query_fields(op, request), **body}
        if op.does == "create":
            return self.written(op, view, entity, _created(op, view, entity, _entity_fields(entity, given)))
        key = op.key or ""
        raw = given.get(key, request.query_params.get(key))
        if raw is None:
            raise Problem(422, "Invalid body", f"{key} is required: the {entity.name} to change", field=key)
        id = entity.parse_id(str(raw))
        if id is None or view.get(entity, id) is None:
            raise Problem(404, "Not found", f"{entity.name} {raw} does not exist", field=key)
        if op.does == "delete":
            view.delete(entity, id)
            fresh = self.engine.view(view.workspace)
            return schema_served(op, fresh, request.url.path, None) if op.schema is not None \
                else world_served(fresh, op.status, b"")
        props = merge_schema(entity.schema).get("properties") or {}
        data = {**_entity_fields(entity, {k: v for k, v in given.items() if k != key}), **flag_fields(op.path, props)}
        return self.written(op, view, entity, view.update(entity, id, data, replace=False))

    def facet_write(self, op: FacetWriteOp, request: Request, view: WorldView, found: Resolved, body: Any) -> Served:
        """A write to an entity's facet, answered with the facet as it now reads (a deleted one: as its
        DELETE answers). The fields it shares with its entity are written to the entity too."""
        entity, id, data = found[op.id_param]
        facet = op.read.facet
        if request.method == "DELETE":
            view.delete_facet(entity, id, facet)
        else:
            written = _object(body, required=op.body_required)
            view.write_facet(entity, id, facet, written, replace=request.method == "PUT",
                             shared=_shared_fields(entity, op.read.schema, written))
        fresh = self.engine.view(view.workspace)
        persona = fresh.persona(entity, fresh.get(entity, id) or data)
        if op.status == 204:
            return world_served(fresh, 204, b"", persona)
        facet_body = fresh.facet(entity, id, facet, op.schema) if op.schema is not None else None
        if request.method == "DELETE" or facet_body is None or not fits(facet_body, op.schema):
            return schema_served(op, fresh, request.url.path, persona)
        return body_served(op, fresh, facet_body, persona)

    def bulk_answer(self, op: ListOp, request: Request, view: WorldView, rows: list[dict]) -> Served:
        """The answer of a bulk create: the created entities where its schema lists them, else its summary
        (``{new_count, persisted_recipients: [...]}``) telling what was created (see :func:`summarised`)."""
        entity = op.listed
        if op.schema is None or list_slot(op.schema, entity) is not None or not summary_fields(op.schema, entity.name):
            return self.reads.shape.page(op, request, view, rows, len(rows), None, (0, max(len(rows), 1)))
        answer = orjson.loads(schema_served(op, view, request.url.path, None).body or b"null")
        ids = [row.get(entity.id_field) for row in rows]
        return world_served(view, op.status, orjson.dumps(summarised(answer, op.schema, entity.name, ids)))

    def create(self, op: CollectionOp | ChildrenOp | RelatedOp, view: WorldView, found: Resolved,
               body: dict) -> dict:
        """Create one entity of the listed type from a body, keyed to the path's parent (or the caller's own)."""
        entity = op.listed
        data = _entity_fields(entity, body)
        if isinstance(op, RelatedOp) and op.key is not None:
            data[op.key] = found[op.id_param][1]
        parent = op.id_param if isinstance(op, ChildrenOp) else op.bound_parent()
        if parent is not None and entity.fk is not None:   # the path names the parent: it wins over the body
            data = {k: v for k, v in data.items() if k not in entity.fk_spellings()}
            data[entity.fk] = found[parent][1]
        under = (op.parent, found[op.id_param][1]) if isinstance(op, RelatedOp) and op.key is None else None
        embed = owner_embed(entity, under[0]) if under is not None else None
        if under is not None and embed is not None:   # the path names the owner it embeds: it wins over the body
            data[embed.field] = {under[0].id_field: under[1]}
        return _created(op, view, entity, data, under=under)

    def written(self, op: Operation, view: WorldView, entity: EntityType, data: dict,
                created: bool | str = False) -> Served:
        """The written entity in the shape of the operation's response, with ``Location`` for a creation
        (``created`` may give it)."""
        fresh = self.engine.view(view.workspace)
        location = created if isinstance(created, str) else self.reads.shape.location(entity, data) if created \
            else None
        extra = {"Location": location} if location else {}
        shown = entity.member_of or entity   # a membership answers as the entity it makes a member
        body = self.reads.shape.written(fresh, shown, data, op.schema)
        return world_served(fresh, op.created_status if created else op.status, body, fresh.persona(entity, data),
                            extra)


def _created(op: Operation, view: WorldView, entity: EntityType, data: dict,
             under: tuple[EntityType, object] | None = None) -> dict:
    """Create one entity of ``data``, keyed by the id its named key field gives (``ts``, ``username``; never a
    generic ``id``), its parent required where the operation's request schema requires it."""
    explicit = data.get(entity.id_field) if entity.id_field != "id" else None
    required = parent_required(entity, op.validator.schema if op.validator is not None else None)
    return view.create(entity, data, id=explicit, parent_required=required, under=under)


def created_ids_field(name: str, type_name: str) -> bool:
    """Whether an answer's field of this name lists the entities of a type a write created, by id: ``ids``,
    ``created_ids``, ``recipient_ids``, ``recipients``, ``persisted_recipients`` (never ``failed_ids``)."""
    words = snake(name).split("_")
    if words[-1] in ("id", "ids"):
        words = words[:-1]
    elif words == singular(snake(name)).split("_"):
        return False   # a singular name (``recipient``) holds one entity, not the list of them
    kind = type_name.split("_")
    named = len(words) >= len(kind) and [singular_word(w) for w in words[len(words) - len(kind):]] == kind
    return set(words[: len(words) - len(kind)] if named else words) <= CREATED_WORDS


def summary_fields(schema: dict, type_name: str, depth: int = 0) -> list[str]:
    """The fields of an answer's schema (or of an object inside it: ``{result: {...}}``) that summarise a
    bulk create of a type: its lists of created ids and its counts (see :func:`_summary_value`)."""
    props = merge_schema(schema).get("properties") or {}
    return [name for name, prop in props.items() if isinstance(prop, dict) and (
        _summary_value(name, prop, type_name, []) is not _KEEP
        or depth < SUMMARY_DEPTH and schema_types(merge_schema(prop)) == {"object"}
        and summary_fields(prop, type_name, depth + 1))]


def summarised(answer: Any, schema: dict, type_name: str, ids: list, depth: int = 0) -> Any:
    """A bulk create's summary telling the truth about what it created: its fields listing created ids
    name them, its counts of created ones count them, its counts and lists of failures (errors,
    updated or skipped ones) are zero and empty, in the answer or an object inside it; a value the
    field's schema cannot hold is left as is."""
    if not isinstance(answer, dict):
        return answer
    props = merge_schema(schema).get("properties") or {}
    out = dict(answer)
    for name in answer:
        prop = props.get(name)
        value = _summary_value(name, prop, type_name, ids) if isinstance(prop, dict) else _KEEP
        if value is not _KEEP and fits(value, prop):
            out[name] = value
        elif isinstance(prop, dict) and isinstance(answer[name], dict) and depth < SUMMARY_DEPTH:
            out[name] = summarised(answer[name], prop, type_name, ids, depth + 1)
    return out


def _summary_value(name: str, prop: dict, type_name: str, ids: list) -> Any:
    """What one field of a bulk create's summary says about the ``ids`` created, or ``_KEEP``."""
    flat = merge_schema(prop)
    kinds = schema_types(flat) - {"null"}
    words = set(snake(name).split("_"))
    failed = bool(words & NONE_CREATED)
    if kinds == {"array"}:
        items = merge_schema(flat.get("items") or {}) if isinstance(flat.get("items"), dict) else {}
        if not failed and created_ids_field(name, type_name) and schema_types(items) & {"string", "integer"}:
            return [str(i) for i in ids] if "string" in schema_types(items) else ids
        return [] if failed else _KEEP
    if kinds and kinds <= {"integer", "number"} and words & COUNT_WORDS:
        return 0 if failed else len(ids)
    if kinds == {"boolean"} and (failed or words & SUCCEEDED):
        return not failed
    return _KEEP


def _bulk_keys(view: WorldView, entity: EntityType, items: list) -> None:
    """Refuse (409) a bulk create before it stores anything when an item gives an alternative key another
    entity holds, or another item gives too, naming that item's field (``$[1].uid``)."""
    seen: dict[tuple[str, str, tuple | None], int] = {}
    for index, item in enumerate(items):
        data = _entity_fields(entity, _object(item, required=True))
        unique_keys(view, entity, None, data, at=f"$[{index}].")
        owner = owner_parts(view, entity, None, data)   # a key a composite path scopes: one per owner
        for name in entity.keys:
            text = key_text(data.get(name))
            if text is None:
                continue
            if (name, text, owner) in seen:
                raise Problem(409, "Conflict", f"items {seen[name, text, owner]} and {index} both give {name} "
                              f"{text!r}: {name} must be one no other {entity.name} holds", field=f"$[{index}].{name}")
            seen[name, text, owner] = index


def _location_under(op: ListOp, path: str, data: dict) -> str | bool:
    """``Location`` of an entity created at a path its item path extends by its key
    (``/sites/{site_id}/services/{addon}/instances/{instance_id}``): the request's own path and the key;
    else True (the type's item path, filled from the entity)."""
    entity = op.listed
    item = entity.inferred.item_path if entity.inferred else None
    if item is None or not re.fullmatch(re.escape(op.path) + r"/\{[^}/]+\}", item):
        return True
    return f"{path.rstrip('/')}/{quote(str(path_value(entity, item.rsplit('{', 1)[1][:-1], data)), safe='')}"


def _query_fields(op: Operation, request: Request) -> dict[str, Any]:
    """Fields a write gives as its declared query parameters (``PUT /assets/{id}?state=uploaded``),
    typed by the written type's property of that name."""
    if not isinstance(op, (ItemOp, ListOp, MethodOp)):
        return {}
    entity = op.listed if isinstance(op, ListOp) else op.entity
    props = merge_schema(entity.schema).get("properties") or {}
    return {p.name: typed_value(request.query_params[p.name], props[p.name]) for p in op.query
            if p.name in request.query_params and isinstance(props.get(p.name), dict)}


def is_json_patch(body: Any) -> bool:
    """Whether a body is a JSON Patch (RFC 6902): a list of ``{op, path}`` operations."""
    return isinstance(body, list) and bool(body) and all(isinstance(o, dict) and "op" in o and "path" in o
                                                         for o in body)


def patched(current: dict, operations: list[dict]) -> dict:
    """The top-level fields a JSON Patch changes (a removed one: null), applied to ``current``: 422 for a
    malformed patch (an unknown op, a path that is no JSON Pointer or names nothing), 409 for a failed ``test``."""
    try:
        out = jsonpatch.JsonPatch(operations).apply(current)
    except jsonpatch.JsonPatchTestFailed as exc:
        raise Problem(409, "Patch test failed", str(exc), field="body") from None
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError, ValueError) as exc:
        raise Problem(422, "Invalid body", f"the JSON Patch does not apply: {exc}", field="body") from None
    if not isinstance(out, dict):
        raise Problem(422, "Invalid body", "the JSON Patch must leave an object", field="body")
    return {name: out.get(name) for name in {*current, *out} if current.get(name, _GONE) != out.get(name, _GONE)}


def _object(body: Any, required: bool) -> dict:
    """A write's body as an object: none is an empty one unless ``required``; anything else a 422."""
    if isinstance(body, dict):
        return body
    if body is None and not required:
        return {}
    raise Problem(422, "Invalid body", "the body must be a JSON object", field="body")


def _shared_fields(entity: EntityType, facet_schema: dict | None, written: dict) -> dict:
    """The fields a facet write gives that the facet (its GET's schema) and its entity both hold (not its
    keys), in values the entity's own fields take: what the entity shows of them changes with the facet."""
    props = merge_schema(entity.schema).get("properties") or {}
    facet_props = merge_schema(facet_schema or {}).get("properties") or {}
    keys = {entity.id_field, "id", f"{entity.name}_id", "persona_id", *entity.fk_spellings()}
    return {name: value for name, value in written.items()
            if name not in keys and name in facet_props and isinstance(props.get(name), dict)
            and fits(value, props[name])}


def _entity_fields(entity: EntityType, body: dict) -> dict:
    """The entity's fields a body writes: its envelope opened, its names in the entity's own spelling."""
    return _parent_keyed(entity, _own_spelling(entity, _unwrapped(entity, body)))


def _parent_keyed(entity: EntityType, data: dict) -> dict:
    """A parent given as the object that embeds it (``"service": {"id": ...}``) written as the parent key,
    when the body gives no key of its own."""
    parent, fk = entity.parent, entity.fk
    if parent is None or fk is None or any(s in data for s in entity.fk_spellings()):
        return data
    for embed in entity.embeds:
        value = data.get(embed.field)
        if embed.target is parent and embed.inner is None and not embed.many and isinstance(value, dict) \
                and value.get(parent.id_field) is not None:
            return {**{k: v for k, v in data.items() if k != embed.field}, fk: value[parent.id_field]}
    return data


def _unwrapped(entity: EntityType, body: dict) -> dict:
    """A request body's entity fields: ``{"article": {...}}`` and ``{"data": {...}}`` envelopes opened."""
    if len(body) != 1:
        return body
    (name, inner), = body.items()
    own = entity.schema.get("properties") or {}
    names = {entity.name, entity.segment.lower(), singular(snake(entity.segment)), *ENVELOPES}
    if isinstance(inner, dict) and name not in own and snake(str(name)) in names:
        return inner
    return body


def _own_spelling(entity: EntityType, body: dict) -> dict:
    """Request fields renamed to the entity's own spelling where only case differs (``FriendlyName``
    is ``friendly_name``): form APIs write PascalCase and answer snake_case."""
    own = entity.schema.get("properties") or {}
    loose = {re.sub(r"[^a-z0-9]", "", str(name).lower()): name for name in own}
    out: dict[str, Any] = {}
    for name, value in body.items():
        spelled = name if name in own else loose.get(re.sub(r"[^a-z0-9]", "", str(name).lower()), name)
        prop = own.get(spelled)
        out.setdefault(spelled, _as_declared(value, prop) if spelled != name and isinstance(prop, dict) else value)
    return out


def _as_declared(value: Any, prop: dict) -> Any:
    """A written scalar in the JSON type the entity's own field declares (a form's ``true`` for a string field)."""
    kinds = schema_types(merge_schema(prop))
    if isinstance(value, bool) and "boolean" not in kinds and "string" in kinds:
        return "true" if value else "false"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not kinds & {"integer", "number"} \
            and "string" in kinds:
        return str(value)
    return value
