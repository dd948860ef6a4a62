"""json-server list queries on any list operation: filters, sorts, slices, pages, ``_embed`` and ``_expand``.

A list read with such parameters is filtered, sorted, then paged or sliced (the total counts the
filtered rows), with ``_embed`` children and ``_expand`` parents on the rows of the page. What the
query asks is checked against the limits before any row is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request

from mockverse.http.conventions import (
    ListQuery,
    apply_filters,
    apply_sort,
    check_relations,
    check_start,
    parse_list_query,
    reference_names,
    slice_params,
)
from mockverse.http.operations import ChildrenOp, CollectionOp, ListOp, RelatedOp, SearchOp
from mockverse.http.paging import (
    declares_paging,
    own_paging,
    page_links,
    page_params,
    pages_whole,
    usual_page,
    whole_size,
)
from mockverse.http.served import Served
from mockverse.world.engine import WorldView
from mockverse.world.generate import merge_schema
from mockverse.world.model import SCAN_LIMIT, EntityType
from mockverse.world.render import Renderer, entity_slots, is_variant, list_slot
from mockverse.world.specworld import admits, variant_shapes

if TYPE_CHECKING:
    from mockverse.http.reads import Reads

Rows = tuple[list[dict], int, bool, str | None, str | None]   # rows, total, already paged, scan note, persona


class ListQueries:
    """json-server queries over the lists of one world (``reads`` resolves paths and shapes pages)."""

    def __init__(self, reads: Reads) -> None:
        self.reads = reads
        self.known: dict[tuple[str, str], frozenset[str]] = {}   # see own_params

    def own_params(self, op: ListOp) -> frozenset[str]:
        """Query names the operation reads itself (declared, foreign-key spellings): not json-server
        filters, except declared names that are fields of a collection (``/pets?status=sold``).
        Worked out once per operation."""
        key = (op.method, op.path)
        known = self.known.get(key)
        if known is None:
            filters = set(op.filters) if isinstance(op, CollectionOp) else set()
            own = {p.name for p in op.query} | filters
            if not isinstance(op, SearchOp):
                own -= set(merge_schema(op.listed.schema or {}).get("properties") or {}) - filters
            known = self.known[key] = frozenset(own)
        return known

    def check(self, op: ListOp, request: Request) -> bool:
        """The limits a list query can be held to before any work (values, sort keys, patterns,
        numbers, rows times relations), raised as 400 problems; True when it is heavy (it scans,
        follows parents or carries relations), False when it only names ids or slices."""
        entity = op.listed
        query = parse_list_query(request, entity, self.own_params(op))
        window = slice_params(request)
        asked = self._rows_asked(op, request, window, page_params(request) if window is None else None)
        if asked is not None:
            check_relations(query, asked[1], asked[0])
        return query.relations() > 0 or bool(query.filters or query.sort) and query.id_filter(entity) is None

    def read_list(self, op: ListOp, request: Request, view: WorldView) -> Served:
        """A list read with json-server parameters (see the module notes)."""
        entity = op.listed
        query = parse_list_query(request, entity, self.own_params(op))
        window = slice_params(request)
        checks = [n for n in ("_page", "_start") if n in request.query_params]
        if view.budget is not None and checks:
            view.budget.param = checks[0]
        collection = view.count(entity) if isinstance(op, CollectionOp) and checks else None
        params = page_params(request, collection) if window is None else None
        if window is not None and collection is not None:
            check_start(window[0], collection)
        asked = self._rows_asked(op, request, window, params)
        if asked is not None:
            check_relations(query, asked[1], asked[0])
        if view.budget is not None:
            view.budget.param = _cost_param(query, entity, asked)
        rows, total, paged, scanned, persona = self._list_rows(op, request, view, query, window)
        if not paged:
            rows = apply_sort(apply_filters(rows, query), query)
            total = len(rows)
        extra = {"X-Mockverse-Scanned": scanned} if scanned else {}
        if view.budget is not None and query.relations():
            view.budget.param = query.relation_param()
        if declares_paging(op):
            return self._rendered(op, request, view, query, rows, total, paged, persona, params, extra)
        if window is not None:
            rows = rows if paged else rows[window[0]:window[1]]
            extra["X-Total-Count"] = str(total)
            offset, size = window[0], window[1] - window[0]
        elif params is not None and not paged:
            page, per_page = page_params(request, total) or params
            extra.update(page_links(request, page, per_page, total))
            rows = rows[(page - 1) * per_page: page * per_page]
            offset, size = (page - 1) * per_page, per_page
        elif paged:   # the usual page of the collection, linked like GET /users
            page, per_page = params or usual_page(op, request, None, query.relations())
            whole = params is None and pages_whole(op) and total <= per_page
            extra.update({"X-Total-Count": str(total)} if whole else page_links(request, page, per_page, total))
            offset, size = (page - 1) * per_page, per_page
        elif len(rows) > whole_size(query.relations()):   # whole up to what its relations allow; linked on
            size = whole_size(query.relations())
            extra.update(page_links(request, 1, size, total))
            rows, offset = rows[:size], 0
        else:
            extra["X-Total-Count"] = str(total)
            offset, size = 0, max(len(rows), 1)
        check_relations(query, len(rows), asked[0] if asked else "_per_page")
        served = self.reads.shape.rows(op, request, view, rows, total, (offset, size), persona, extra)
        return self._with_query_relations(view, op, served, query)

    def _rendered(self, op: ListOp, request: Request, view: WorldView, query: ListQuery, rows: list[dict],
                  total: int, paged: bool, persona: str | None, params: tuple[int, int] | None,
                  extra: dict[str, str]) -> Served:
        """The rows of a list query of an operation with its own paging, placed in its schema, relations added."""
        served = self.reads.shape.page(op, request, view, rows, total, persona,
                                       (0, max(len(rows), 1)) if paged else None)
        headers = dict(served.headers)
        if params is not None:
            offset, size = own_paging(op, request)
            headers.update(page_links(request, offset // size + 1, size, total))
        headers.update(extra)
        return self._with_query_relations(view, op, Served(served.status, served.body, headers, served.source,
                                                           served.workspace), query)

    def _with_query_relations(self, view: WorldView, op: ListOp, served: Served, query: ListQuery) -> Served:
        """A list answer with the query's ``_embed`` children and ``_expand`` parents added to its items."""
        if not (query.embed or query.expand) or op.schema is None:
            return served
        body = self._embed_into(view, op, served.body, query)
        return Served(served.status, body, served.headers, served.source, served.workspace)

    def _rows_asked(self, op: ListOp, request: Request, window: tuple[int, int] | None,
                    params: tuple[int, int] | None) -> tuple[str, int] | None:
        """(parameter, rows) a list query asks for by its paging or slice, when it says."""
        q = request.query_params
        if window is not None:
            return ("_end" if "_end" in q else "_limit"), window[1] - window[0]
        if params is not None:
            return ("_limit" if "_limit" in q else "_per_page"), params[1]
        if declares_paging(op):
            return "_per_page", own_paging(op, request)[1]
        return None

    def _list_rows(self, op: ListOp, request: Request, view: WorldView, query: ListQuery,
                   window: tuple[int, int] | None = None) -> Rows:
        """(rows, total, already paged, scan note, persona) before filtering: a parent's children when
        the path or a foreign-key filter names it, the entities an id filter names, else the collection
        (bounded by SCAN_LIMIT)."""
        entity = op.listed
        if isinstance(op, (ChildrenOp, RelatedOp, SearchOp)):
            found = self.reads.resolve(op, request, view)
            rows = self.reads.rows(op, request, view, found)
            return rows, len(rows), False, None, self.reads.persona(view, found)
        bound = op.bound_parent() if isinstance(op, CollectionOp) else None
        if bound is not None and entity.parent is not None and entity.relationship:
            found = self.reads.resolve(op, request, view)
            _, parent_id, data = found[bound]
            rows = of_shape(op, view.children(entity.parent, parent_id, entity.relationship))
            return rows, len(rows), False, None, view.persona(entity.parent, data)
        parent_ids = query.parent_filter(entity)
        if parent_ids is not None and entity.parent is not None and entity.relationship:
            rows, personas = [], []
            for raw in parent_ids:   # each named parent's children, in the order asked
                parent_id = entity.parent.parse_id(raw)
                if parent_id is not None and view.get(entity.parent, parent_id) is not None:
                    kids = view.children(entity.parent, parent_id, entity.relationship)
                    rows += kids
                    personas += [f"{entity.parent.name}:{parent_id}"] if kids else []
            return rows, len(rows), False, None, personas[0] if len(personas) == 1 else None
        ids = query.id_filter(entity)
        if ids is not None:   # the named entities, in the order asked
            wanted = [entity.parse_id(raw) for raw in ids]
            rows = [d for d in (view.get(entity, i) for i in dict.fromkeys(wanted) if i is not None) if d is not None]
            return rows, len(rows), False, None, None
        if query.needs_scan(entity):
            rows = []
            for data in view.all_of(entity)():
                if len(rows) >= SCAN_LIMIT:
                    break
                rows.append(data)
            count = view.count(entity)
            return rows, len(rows), False, f"{len(rows)} of {count}" if count > len(rows) else None, None
        if declares_paging(op):   # only _embed/_expand: the usual page of the collection
            offset, size = own_paging(op, request)
            rows = view.rows(entity, offset, offset + size)
        elif window is not None:
            rows = view.rows(entity, *window)
        else:
            page, per_page = usual_page(op, request, None, query.relations())
            rows = view.page(entity, page, per_page)
        return rows, view.count(entity), True, None, None

    def _with_relations(self, view: WorldView, entity: EntityType, row: dict, query: ListQuery) -> dict:
        """A row with its ``_embed`` children and ``_expand`` parent under their names."""
        if not query.embed and not query.expand:
            return row
        children, _ = entity.relation_names()
        out = dict(row)
        for name in query.embed:
            out[name] = view.children(entity, row.get(entity.id_field), children[name])
        references = reference_names(entity)
        for name in query.expand:
            ref = references.get(name) if entity.parent is None or name != entity.parent.name else None
            if ref is not None:   # a spec reference by its field: the entity (or entities) its ids name
                value = row.get(ref.field)
                out[name] = ([self._referenced(view, ref.target, v) for v in value] if isinstance(value, list)
                             else self._referenced(view, ref.target, value))
            else:
                out[name] = self._referenced(view, entity.parent, row.get(entity.fk or "")) \
                    if entity.parent is not None else None
        return out

    @staticmethod
    def _referenced(view: WorldView, target: EntityType, raw: object) -> Any:
        """The entity a reference value names, in its own schema (as a list of them shows it); None when
        there is none."""
        id = target.parse_id(raw) if raw is not None else None
        return Renderer(view).entity(target, id, target.schema) if id is not None else None

    def _embed_into(self, view: WorldView, op: ListOp, body: bytes, query: ListQuery) -> bytes:
        """Relations added to the rendered items of a list response."""
        entity = op.listed
        slot = list_slot(op.schema, entity)
        if slot is None or not body:
            return body
        data = orjson.loads(body)
        items: Any = data
        for part in slot[0]:
            items = items.get(part) if isinstance(items, dict) else None
        if not isinstance(items, list):
            return body
        for index, item in enumerate(items):
            if isinstance(item, dict) and entity.id_field in item:
                raw = view.get(entity, item[entity.id_field]) or {}
                items[index] = {**item, **{k: v for k, v in self._with_relations(view, entity, raw, query).items()
                                           if k in query.embed or k in query.expand}}
        return orjson.dumps(data)


def of_shape(op: ListOp, rows: list[dict]) -> list[dict]:
    """The rows a list of one shape of its type shows (``/threads`` of a channel type whose shapes are told
    apart by ``type``): those whose stored fields fit its items' enums, so no row is shown as another shape."""
    entity = op.listed
    slot = list_slot(op.schema, entity) if op.schema is not None else None
    if slot is None or entity_slots(slot[1], entity) != [[]]:
        return rows
    shapes = [b for b in variant_shapes(slot[1]) if is_variant(b, entity)] or [slot[1]]
    return [row for row in rows if any(admits(shape, row) for shape in shapes)]


def _cost_param(query: ListQuery, entity: EntityType, asked: tuple[str, int] | None) -> str:
    """The query parameter that asks for the rows a list query builds (named when over budget)."""
    for f in query.filters:
        if f.path in ((entity.fk,), (entity.id_field,)) and f.op in ("eq", "in"):
            return f.param
    if query.filters:
        return query.filters[0].param
    if query.sort:
        return "_sort"
    return asked[0] if asked else "_per_page"
