"""How a world's bodies are shaped: each entity rendered into the operation's response schema.

An entity is generated once from its own schema and rendered into each response: bare, in an
envelope, as a variant, with the related entities the schema embeds (``GET /users/1`` embeds the
user's ``orders`` because its schema has them). A list pages as its operation declares: by its own
paging parameters (``limit``/``offset``, ``page``/``pageSize``, id cursors) with ``X-Total-Count``
and a cursor ``Link``; an operation that declares none pages as json-server does (``_page``,
``_per_page``, ``_limit``, a ``Link`` with first/prev/next/last) when asked; unasked, one that declares
json-server's paging answers its first page of 20, one that declares no paging at all the whole list, as
its real API does, up to ``MAX_WINDOW`` rows (past it, the first page and a ``Link``).
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.requests import Request

from mockverse.http.conventions import MAX_WINDOW
from mockverse.http.errors import Problem
from mockverse.http.operations import ListOp, Operation
from mockverse.http.paging import (
    cursor_links,
    declares_paging,
    own_paging,
    page_links,
    page_params,
    pages_whole,
    usual_page,
)
from mockverse.http.served import Served, world_served
from mockverse.openapi.jsonschema import fits
from mockverse.world.engine import WorldView
from mockverse.world.model import SCAN_LIMIT, EntityType
from mockverse.world.numbers import path_value
from mockverse.world.render import MISSING, Renderer, entity_slots


def schema_served(op: Operation, view: WorldView, key: str, persona: str | None) -> Served:
    """The operation's first example that fits its schema, else a body generated from the schema (keyed by
    ``key``, the request URL), else its first example; no body when it declares none."""
    if op.schema is None:
        example = next(iter(op.examples.values()), None) if op.examples else None
        return world_served(view, op.status, orjson.dumps(example) if example is not None else b"", persona)
    for example in op.examples.values():
        if fits(example, op.schema):
            return world_served(view, op.status, orjson.dumps(example), persona)
    ctx = {"created_at": view.now, "now": view.now, "person": False, "fields": {}}
    body = view.gen.value(op.schema, f"route:{op.method} {key}", "$", "body", ctx)
    return world_served(view, op.status, orjson.dumps(body), persona)


def body_served(op: Operation, view: WorldView, body: Any, persona: str | None,
                extra: dict[str, str] | None = None) -> Served:
    """A world answer carrying ``body`` (no body when it is None and the operation declares none)."""
    raw = b"" if body is None and op.schema is None else orjson.dumps(body)
    return world_served(view, op.status, raw, persona, extra)


class Shape:
    """Entities rendered into each operation's response schema; lists paged as the operation declares."""

    def item(self, view: WorldView, entity: EntityType, id: object, schema: dict | None) -> Any:
        """One entity as its item path answers it; None when it is missing or the route has no body."""
        if schema is None:
            return None
        return Renderer(view).entity(entity, id, schema)

    def window(self, op: ListOp, request: Request, view: WorldView, total: int) -> tuple[int, int]:
        """(offset, size) of the page of a collection a list request asks for."""
        if declares_paging(op):
            return own_paging(op, request, lambda param, raw: _position(view, op.listed, param, raw))
        page, per_page = usual_page(op, request, total)
        return (page - 1) * per_page, per_page

    def page(self, op: ListOp, request: Request, view: WorldView, rows: list[dict], total: int,
             persona: str | None, window: tuple[int, int] | None) -> Served:
        """A list answer: ``rows`` (already this page's when ``window`` is given, else all of them)."""
        entity = op.listed
        if window is not None:
            offset, size = window
            paged = not pages_whole(op) or page_params(request) is not None or offset + size < total
            headers = self._headers(op, request, rows, total, offset, size, paged)
            return self.rows(op, request, view, rows, total, (offset, size), persona, headers)
        if declares_paging(op):
            offset, size = own_paging(op, request, lambda param, raw: _index(rows, entity, param, raw))
            paged = True
        else:
            params = page_params(request, len(rows))
            paged = params is not None or len(rows) > MAX_WINDOW
            whole = (0, max(min(len(rows), MAX_WINDOW), 1))
            offset, size = ((params[0] - 1) * params[1], params[1]) if params else whole
        rows = rows[offset: offset + size]
        headers = self._headers(op, request, rows, total, offset, size, paged)
        return self.rows(op, request, view, rows, total, (offset, size), persona, headers)

    def rows(self, op: ListOp, request: Request, view: WorldView, rows: list[dict], total: int,
             window: tuple[int, int], persona: str | None, headers: dict[str, str]) -> Served:
        """One page of ``rows`` (``window``: its offset and size) placed where the operation's schema lists them."""
        entity = op.listed
        offset, size = window
        if op.schema is None:
            return body_served(op, view, None, persona, headers)
        key = request.url.path + ("?" + request.url.query if request.url.query else "")
        render = Renderer(view)
        body = render.page(entity, [], op.schema, f"route:{key}", total=total, per_page=size, offset=offset,
                           datas=rows)
        if body is MISSING:
            body = _example_page(op, render, entity, rows)
        if body is MISSING:
            return schema_served(op, view, key, persona)
        first, last = (rows[0].get(entity.id_field), rows[-1].get(entity.id_field)) if rows else (None, None)
        _cursor_fields(body, first, last, offset + len(rows) < total)
        return body_served(op, view, body, persona, headers)

    @staticmethod
    def _headers(op: ListOp, request: Request, rows: list[dict], total: int, offset: int, size: int,
                 paged: bool) -> dict[str, str]:
        """``X-Total-Count`` and the ``Link`` of one page: the operation's cursors, or json-server's pages."""
        if declares_paging(op):
            id_field = op.listed.id_field
            first, last = (rows[0].get(id_field), rows[-1].get(id_field)) if rows else (None, None)
            return {"X-Total-Count": str(total),
                    **cursor_links(op, request, first, last, offset + len(rows) < total, offset)}
        if paged:
            return page_links(request, offset // size + 1, size, total)
        return {"X-Total-Count": str(total)}

    def written(self, view: WorldView, entity: EntityType, data: dict, schema: dict | None) -> bytes:
        """The body answering a write of ``data``."""
        if schema is None:
            return b""
        return orjson.dumps(self.item(view, entity, data.get(entity.id_field), schema))

    def location(self, entity: EntityType, data: dict) -> str | None:
        """The item path of a created entity, for ``Location`` (its number within its parent where the path takes
        one); None when that path names a parent it has not."""
        item_path = entity.inferred.item_path if entity.inferred else None
        if not item_path:
            return None
        params = re.findall(r"\{([^}]+)\}", item_path)
        values: dict[str, object] = {params[-1]: path_value(entity, params[-1], data)}
        if len(params) > 1 and entity.parent is not None and entity.fk:
            if data.get(entity.fk) is None:
                return None
            values[params[-2]] = data.get(entity.fk)
        return re.sub(r"\{([^}]+)\}", lambda m: str(values.get(m.group(1), m.group(0))), item_path)


def _position(view: WorldView, entity: EntityType, param: str, raw: str) -> int:
    """Where the entity a cursor names sits in its type's list (0-based): 400 when no entity is it."""
    id = entity.parse_id(raw)
    index = entity.root_index(id) if id is not None and entity.parent is None else None
    if index is not None and view.get(entity, id) is not None \
            and not view.store.deleted_ids(view.snap.workspace, entity.name):
        return index - 1
    for position, data in enumerate(view.all_of(entity)()):
        if position >= SCAN_LIMIT:
            break
        if id is not None and data.get(entity.id_field) == id:
            return position
    raise _no_cursor(entity, param, raw)


def _index(rows: list[dict], entity: EntityType, param: str, raw: str) -> int:
    """Where the entity a cursor names sits in ``rows``: 400 when none of them is it."""
    id = entity.parse_id(raw)
    for position, data in enumerate(rows):
        if id is not None and data.get(entity.id_field) == id:
            return position
    raise _no_cursor(entity, param, raw)


def _no_cursor(entity: EntityType, param: str, raw: str) -> Problem:
    return Problem(400, "Invalid query parameter", f"{param} must name a {entity.name} of this list; "
                   f"{raw!r} names none", field=param)


def _cursor_fields(body: Any, first: object, last: object, more: bool) -> None:
    """An envelope's cursor fields agreeing with the page: ``has_more``, ``first_id``/``last_id``."""
    if not isinstance(body, dict):
        return
    for name, value in list(body.items()):
        key = name.replace("-", "_").lower()
        if key in ("has_more", "hasmore") and isinstance(value, bool):
            body[name] = more
        elif key in ("first_id", "firstid") and isinstance(value, (str, int)) and first is not None:
            body[name] = first
        elif key in ("last_id", "lastid") and isinstance(value, (str, int)) and last is not None:
            body[name] = last


def _example_page(op: ListOp, render: Renderer, entity: EntityType, rows: list[dict]) -> Any:
    """A list whose schema describes one entity but whose example shows the envelope (``{data: [...]}``):
    the example's envelope around this page's rows, each shaped as the schema; MISSING otherwise."""
    if entity_slots(op.schema, entity) != [[]]:
        return MISSING
    for example in op.examples.values():
        for name, value in example.items() if isinstance(example, dict) else ():
            if isinstance(value, list) and value and all(isinstance(v, dict) and entity.id_field in v for v in value):
                return {**example, name: [render.shape(entity, d.get(entity.id_field), d, op.schema) for d in rows]}
    return MISSING
