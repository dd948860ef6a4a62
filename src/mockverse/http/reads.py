"""Reads: a GET of any operation, answered from the world as one :class:`Served` value.

The path parameters that name entities are resolved first (400 for one that cannot be an id, 404 for
one that does not exist); then the operation's kind picks the entity or the rows, and the world's
:class:`~mockverse.http.shapes.Shape` shapes the body. Lists with json-server queries (filters, sorts,
``_embed``) go through :mod:`mockverse.http.list_queries`.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from starlette.requests import Request

from mockverse.http.conventions import wants_list_query
from mockverse.http.errors import Problem
from mockverse.http.list_queries import ListQueries, of_shape
from mockverse.http.operations import (
    CURRENT,
    NUMBERS,
    ChildrenOp,
    CollectionOp,
    CountOp,
    FacetOp,
    ItemOp,
    ListOp,
    Operation,
    RelatedOp,
    SearchOp,
    owner_embed,
)
from mockverse.http.paging import declares_paging
from mockverse.http.served import Served
from mockverse.http.shapes import Shape, body_served, schema_served
from mockverse.openapi.jsonschema import fits
from mockverse.openapi.words import key_names
from mockverse.world import memberships, numbers
from mockverse.world.derive import KeyPart, key_part_params
from mockverse.world.derived_fields import key_value
from mockverse.world.engine import WorldView
from mockverse.world.generate import merge_schema, schema_types
from mockverse.world.model import SCAN_LIMIT, Accept, EntityType
from mockverse.world.render import Renderer, embedded_id, entity_slots
from mockverse.world.urls import url_children

Resolved = dict[str, tuple[EntityType, object, dict]]   # path parameter -> (type, id, stored data)
SEARCH_READ, SEARCH_MOST = 500, 200   # entities a search reads and returns, at most


def safe_name(name: str) -> str:
    """A path parameter's name as Starlette's router takes it."""
    return re.sub(r"\W", "_", name)


def url_key(request: Request) -> str:
    """The request's path and query: the key of bodies generated for this URL."""
    return request.url.path + ("?" + request.url.query if request.url.query else "")


class Reads:
    """Answers reads of a world's operations; ``shape`` shapes its bodies."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.lists = ListQueries(self)
        self.items: dict[str, ItemOp] = {}   # each type's GET item operation, by type name (set by the routes)
        self.parts: dict[tuple[str, str], dict[str, tuple[str, KeyPart]]] = {}   # key part parameters by route

    def read(self, op: Operation, request: Request, view: WorldView) -> Served:
        """Answer a GET (or HEAD): status, serialised body and headers."""
        if isinstance(op, ListOp) and self.wants_query(op, request):
            return self.lists.read_list(op, request, view)
        found = self.resolve(op, request, view)
        persona = self.persona(view, found)
        if isinstance(op, ItemOp):
            entity, id, data = self.item_of(op, view, found)
            return body_served(op, view, self.shape.item(view, entity, id, op.schema), view.persona(entity, data))
        if isinstance(op, FacetOp):
            entity, id, data = found[op.id_param]
            if op.absent and view.facet_gone(entity, id, op.facet):
                raise Problem(404, "Not found", f"the {op.facet} of {entity.name} {id} was deleted",
                              field=op.id_param)
            body = view.facet(entity, id, op.facet, op.schema)
            if body is None or not fits(body, op.schema):
                return schema_served(op, view, url_key(request), persona)
            return body_served(op, view, body, persona)
        if isinstance(op, CollectionOp):
            keyed = self.keyed(op, request, view)
            if keyed is not None:   # /users.info?user=U1: one entity, named by a query parameter
                entity, id, data = keyed
                return body_served(op, view, self.shape.item(view, entity, id, op.schema), view.persona(entity, data))
            return self.collection(op, request, view, found)
        if isinstance(op, CountOp):
            return count_served(op, view, url_key(request))
        if isinstance(op, ListOp):
            rows = self.rows(op, request, view, found)
            return self.shape.page(op, request, view, rows, len(rows), persona, None)
        return schema_served(op, view, url_key(request), persona)

    def wants_query(self, op: ListOp, request: Request) -> bool:
        """Cheap: does a list request carry json-server query parameters?"""
        return wants_list_query(request, self.lists.own_params(op), paging=declares_paging(op))

    @staticmethod
    def persona(view: WorldView, found: Resolved) -> str | None:
        """The persona of the innermost entity the path names."""
        return next((view.persona(e, d) for e, _, d in reversed(list(found.values()))), None)

    @staticmethod
    def item_of(op: ItemOp, view: WorldView, found: Resolved) -> tuple[EntityType, object, dict]:
        """(type, id, data) of the entity an item path names (``/me``: the world's first persona)."""
        if op.id_param is None:
            return current_entity(view, op.entity)
        return found[op.id_param]

    @staticmethod
    def keyed(op: CollectionOp, request: Request, view: WorldView) -> tuple[EntityType, object, dict] | None:
        """(type, id, data) of the entity a query parameter names at a path that answers one entity of the
        listed type (``GET /users.info?user=U1``); None when the path lists them or the query names none;
        400 for a value that cannot be an id, 404 for one that does not exist."""
        entity = op.listed
        names = key_names(entity.name)
        name = next((p.name for p in op.query if p.name in names and p.name in request.query_params), None)
        if name is None or entity_slots(op.schema, entity) is None:
            return None
        raw = request.query_params[name]
        id = entity.parse_id(raw)
        if id is None:
            raise Problem(400, "Invalid query parameter", f"{name} must be {entity.id_rule()}", field=name)
        data = view.get(entity, id)
        if data is None:
            raise Problem(404, "Not found", f"{entity.name} {id} does not exist", field=name)
        return entity, id, data

    def rows(self, op: ListOp, request: Request, view: WorldView, found: Resolved) -> list[dict]:
        """Every row a nested or search list shows, before paging."""
        if isinstance(op, ChildrenOp):
            _, id, _ = found[op.id_param]
            return of_shape(op, view.children(op.parent, id, op.relationship))
        if isinstance(op, RelatedOp):
            _, id, _ = found[op.id_param]
            return of_shape(op, related_rows(view, op, id))
        if isinstance(op, SearchOp):
            return of_shape(op, search_rows(op, request, view))
        return []

    def collection(self, op: CollectionOp, request: Request, view: WorldView, found: Resolved) -> Served:
        """A collection: one parent's children when its path or a parent-key filter names it, the entities
        an ``ids`` parameter names, else the page of the whole collection it asks for."""
        entity, q = op.listed, request.query_params
        bound = op.bound_parent()
        if bound is not None and entity.parent is not None and entity.relationship:
            _, parent_id, data = found[bound]
            rows = of_shape(op, view.children(entity.parent, parent_id, entity.relationship))
            return self.shape.page(op, request, view, rows, len(rows), view.persona(entity.parent, data), None)
        for name in op.filters:
            if name in q and entity.parent is not None and entity.relationship:
                parent_id = entity.parent.parse_id(q[name])
                rows = view.children(entity.parent, parent_id, entity.relationship) if parent_id is not None else []
                persona = f"{entity.parent.name}:{parent_id}" if rows else None
                return self.shape.page(op, request, view, rows, len(rows), persona, None)
        ids_param = next((n for n in ("ids", "id") if n in q and any(p.name == n for p in op.query)), None)
        if ids_param:
            wanted = [entity.parse_id(raw.strip()) for raw in q[ids_param].split(",") if raw.strip()]
            rows = [d for d in (view.get(entity, i) for i in wanted if i is not None) if d is not None]
            return self.shape.page(op, request, view, rows, len(rows), None, None)
        total = view.count(entity)
        offset, size = self.shape.window(op, request, view, total)
        if view.budget is not None:
            view.budget.param = next((n for n in ("_page", "_per_page", "_limit") if n in q), "_per_page")
        rows = view.rows(entity, offset, offset + size)
        return self.shape.page(op, request, view, rows, total, None, (offset, size))

    def resolve(self, op: Operation, request: Request, view: WorldView, absent: str | None = None,
                join: bool = False) -> Resolved:
        """Every path parameter that names an entity, parsed and looked up: 404 for one that does not exist (but
        ``absent``, a key within its parent that no child holds yet, is left out; ``join``: a membership the path
        names is made, a PUT's)."""
        found: Resolved = {}
        for name, entity in op.bound:
            if name == CURRENT:
                found[name] = current_entity(view, entity)
                continue
            raw = request.path_params.get(safe_name(name))
            numbered = numbered_child(view, entity, name, raw, found) or member_child(view, entity, name, raw, found,
                                                                                      join)
            if numbered is not None:
                found[name] = numbered
                continue
            if self.within_parent(entity, found):
                child = self.scoped(view, entity, name, raw, found, required=name != absent)
                if child is not None:
                    found[name] = child
                continue
            parsed = entity.parse_id(raw)
            data = view.get(entity, parsed) if parsed is not None else None
            owned = self.owned(op, request, view, name) if data is None and entity.keys else None
            keyed = entity.by_key(view, raw, owned) if data is None and entity.keys and raw is not None else None
            if keyed is None and owned is not None and raw is not None:   # another owner's: named so below
                keyed = entity.by_key(view, raw)
            named = bool(entity.keys)   # the value may be a key, not an id
            if parsed is None and keyed is None and not named:
                raise Problem(400, "Invalid path parameter", f"{name} must be {entity.id_rule()}", field=name)
            id = keyed if keyed is not None else parsed if parsed is not None else raw
            data = data if keyed is None else view.get(entity, keyed)
            if data is None:
                raise Problem(404, "Not found", f"{entity.name} {id} does not exist", field=name)
            found[name] = (entity, id, data)
        if isinstance(op, ItemOp) and op.parent_param and op.id_param in found and op.parent_param in found:
            entity, id, data = found[op.id_param]
            parent_id = found[op.parent_param][1]
            if entity.fk is not None and entity.parent is not None and data.get(entity.fk) != parent_id:
                raise Problem(404, "Not found", f"{entity.name} {id} does not belong to {entity.parent.name} "
                              f"{parent_id}", field=op.id_param)
        self.check_parts(op, request, view, found)
        return found

    def owned(self, op: Operation, request: Request, view: WorldView, own: str) -> Accept | None:
        """Which holders of a key the path parameter ``own`` may name: those whose leading key parts are the
        path's (``/repos/{owner}/{repo}``: a repository of that owner, where two owners each have one of a name);
        None when the path gives no such part."""
        leading = [(name, part) for name, (of, part) in self.key_parts(op).items() if of == own]
        if not leading:
            return None
        entity = dict(op.bound)[own]
        given = [(part, request.path_params.get(safe_name(name))) for name, part in leading]
        return lambda id, data: all(str(key_value(view, entity, id, data, part)) == raw for part, raw in given)

    def key_parts(self, op: Operation) -> dict[str, tuple[str, KeyPart]]:
        """The route's path parameters that are leading parts of a composite key, each with the parameter of the
        entity it belongs to (worked out once per route)."""
        route = (op.method, op.path)
        if route not in self.parts:
            self.parts[route] = key_part_params(op.path, dict(op.bound).get)
        return self.parts[route]

    def check_parts(self, op: Operation, request: Request, view: WorldView, found: Resolved) -> None:
        """404 for a path parameter that is a leading part of a composite key (``{owner}`` of
        ``/repos/{owner}/{repo}``) and does not hold that part of the entity named after it."""
        for name, (own, part) in self.key_parts(op).items():
            if own not in found:
                continue
            entity, id, data = found[own]
            value = key_value(view, entity, id, data, part)
            raw = request.path_params.get(safe_name(name))
            if value is not None and raw != str(value):
                raise Problem(404, "Not found", f"{name} {raw} has no {entity.name} "
                              f"{request.path_params.get(safe_name(own))}", field=name)

    @staticmethod
    def within_parent(entity: EntityType, found: Resolved) -> bool:
        """Whether the path names the entity by its key among its parent's children (a guild member by its user's
        id): the type has such a key and the path named its parent before it."""
        return entity.scoped is not None and any(e is entity.parent for e, _, _ in found.values())

    @staticmethod
    def scoped(view: WorldView, entity: EntityType, name: str, raw: str | None, found: Resolved,
               required: bool = True) -> tuple[EntityType, object, dict] | None:
        """(type, id, data) of the entity with ``raw`` as its own id or key (when its type has one), else of the
        child of the parent named earlier in the path that holds ``raw`` in its key among the parent's children;
        a 404 for neither (None when not ``required``)."""
        key, parent = entity.scoped, entity.parent
        assert key is not None and parent is not None, f"{entity.name} has a key within its parent"
        parent_id = next(id for e, id, _ in reversed(found.values()) if e is parent)
        own: object = None
        if not key.only and raw is not None:
            own = entity.parse_id(raw)
            if (own is None or view.get(entity, own) is None) and entity.keys:
                own = entity.by_key(view, raw)
        data = view.get(entity, own) if own is not None else None
        if data is not None:
            return entity, own, data
        id = entity.by_scoped_key(view, parent_id, raw) if raw is not None else None
        data = view.get(entity, id) if id is not None else None
        if (id is None or data is None) and not required:
            return None
        if id is None or data is None:
            raise Problem(404, "Not found", f"no {entity.name} of {parent.name} {parent_id} has "
                          f"{'.'.join(key.path)} {raw}", field=name)
        return entity, id, data

    def item_body(self, view: WorldView, entity: EntityType, id: object, item: ItemOp | None) -> Any:
        """What ``GET`` of the entity's item path answers, rendered exactly as :meth:`read` renders it;
        the entity's stored fields when the spec has no item path; None if it is missing."""
        if view.get(entity, id) is None:
            return None
        if item is None:
            return view.get(entity, id)
        return self.shape.item(view, entity, id, item.schema)


def current_entity(view: WorldView, entity: EntityType) -> tuple[EntityType, object, dict]:
    """(type, id, data) of the caller's own entity of a top-level type: its first; 404 once it is deleted."""
    id = entity.root_id(1)
    data = view.get(entity, id)
    if data is None:
        raise Problem(404, "Not found", f"the caller's own {entity.name} {id} does not exist")
    return entity, id, data


def numbered_child(view: WorldView, entity: EntityType, name: str, raw: str | None,
                   found: Resolved) -> tuple[EntityType, object, dict] | None:
    """(type, id, data) of the child a path parameter names by its number within the parent the path named
    before it (``/repos/{owner}/{repo}/issues/{index}``); None when the parameter is not such a number;
    400 for a value that cannot be one, 404 for a number the parent's children do not have."""
    key = entity.number
    if key is None or key.param != name or entity.parent is None:
        return None
    parent_id = next((id for e, id, _ in reversed(list(found.values())) if e is entity.parent), None)
    if parent_id is None:
        return None
    number = int(raw) if raw is not None and raw.isascii() and raw.isdigit() and len(raw) <= 18 else None
    if number is None:
        raise Problem(400, "Invalid path parameter", f"{name} must be a {key.field}: an integer from 1",
                      field=name)
    id = numbers.find(view, entity, parent_id, number)
    data = view.get(entity, id) if id is not None else None
    if data is None:
        raise Problem(404, "Not found", f"{entity.parent.name} {parent_id} has no {entity.name} of {key.field} "
                      f"{number}", field=name)
    return entity, id, data


def member_child(view: WorldView, entity: EntityType, name: str, raw: str | None, found: Resolved,
                 join: bool) -> tuple[EntityType, object, dict] | None:
    """(type, id, data) of the membership a path parameter names by its entity's key within the parent the path
    named before it (``/orgs/{org}/members/{username}``; ``/user/following/{username}`` without a parent), or by
    the membership's own id; None when the type is no membership or the path names not its parent; 404 for an
    entity that is no member (``join``: made one)."""
    root, parent = entity.member_of, entity.parent
    if root is None or raw is None:
        return None
    parent_id = next((id for e, id, _ in reversed(list(found.values())) if e is parent), None)
    if parent is not None and parent_id is None:
        return None
    member = memberships.root_of_key(view, root, raw)
    id = memberships.find(view, entity, parent_id, member) if member is not None else None
    if id is None and member is not None and join:
        id = memberships.join(view, entity, parent_id, member)
        view = view.reopened()
    if id is None:
        own = entity.parse_id(raw)
        data = view.get(entity, own) if own is not None else None
        if data is not None and (entity.fk is None or data.get(entity.fk) == parent_id):
            return entity, own, data
        of = f" of {parent.name} {parent_id}" if parent is not None else ""
        why = f"is not a {entity.name}{of}" if member is not None else "does not exist"
        raise Problem(404, "Not found", f"{root.name} {raw} {why}", field=name)
    data = view.get(entity, id)
    assert data is not None, "a membership found among its parent's children exists"
    return entity, id, data


def count_served(op: CountOp, view: WorldView, key: str) -> Served:
    """A count endpoint's answer: the collection's total, in every number field its schema has."""
    total = view.count(op.counted)
    schema = merge_schema(op.schema or {})
    if NUMBERS & schema_types(schema):
        return body_served(op, view, total, None)
    ctx = {"created_at": view.now, "now": view.now, "person": False, "fields": {}}
    body = view.gen.value(op.schema or {}, f"route:{op.method} {key}", "$", "body", ctx)
    props = schema.get("properties") or {}
    if isinstance(body, dict):
        for name, prop in props.items():
            if isinstance(prop, dict) and NUMBERS & schema_types(merge_schema(prop)) and fits(total, prop):
                body[name] = total
    return body_served(op, view, body, None)


def _sampled_at(op: RelatedOp) -> str:
    """The path whose stable selection a related list shows: its own, or for the caller's (``/user/orgs``) the one
    under the caller's type's item path (``/users/{username}/orgs``), so both list the same entities."""
    item = op.parent.inferred.item_path if op.parent.inferred is not None else None
    return f"{item}/{op.path.rsplit('/', 1)[1]}" if op.id_param == CURRENT and item else op.path


def related_rows(view: WorldView, op: RelatedOp, id: object) -> list[dict]:
    """The entities a nested list of another type shows: those whose key names the parent
    (``/sites/{site_id}/dns`` lists the zones whose ``site_id`` is that site) when the listed type
    has such keys, else a stable selection of existing ones."""
    parent, target = op.parent, op.listed
    keys = [r.field for r in target.references if r.target is parent and not r.many]
    embed = owner_embed(target, parent)
    urls = url_children(view, target, parent, id) if not keys else None
    if not keys and urls is None and embed is not None:   # the entities whose embed shows the parent (an owner)
        return [data for data in itertools.islice(view.all_of(target)(), SCAN_LIMIT)
                if embedded_id(view, target, data.get(target.id_field), data, embed) == id]
    if not keys:   # those whose URL names the parent, else a stable selection; then those made at this path
        ids = Renderer(view).sample(target, (f"{parent.name}:{id}", _sampled_at(op)), most=6) if urls is None \
            else urls
        made = [target.parse_id(ref.split(":", 1)[1])
                for ref in view.store.linked(view.workspace, f"{parent.name}:{id}", f"has_{target.segment}")]
        return [d for d in (view.get(target, i) for i in dict.fromkeys([*ids, *made]) if i is not None)
                if d is not None]
    rows = []
    for index, data in enumerate(view.all_of(target)()):
        if index >= SCAN_LIMIT:
            break
        if any(data.get(key) == id for key in keys):
            rows.append(data)
    return rows


def search_rows(op: SearchOp, request: Request, view: WorldView) -> list[dict]:
    """Entities of the listed type whose fields equal the query's values (``?status=sold``), in order."""
    entity = op.listed
    props = entity.schema.get("properties", {})
    filters = {n: {v.strip() for v in value.split(",")} for n, value in request.query_params.items() if n in props}
    rows: list[dict] = []
    for index, data in enumerate(view.all_of(entity)()):
        if index >= SEARCH_READ or len(rows) >= SEARCH_MOST:
            break
        if all(str(data.get(n)).lower() in {v.lower() for v in vs} or
               isinstance(data.get(n), list) and {str(x) for x in data[n]} & vs for n, vs in filters.items()):
            rows.append(data)
    return rows
