"""Paging: json-server's ``_page``/``_per_page``/``_limit`` with ``Link`` headers, and an operation's
own declared paging parameters (``limit``/``offset``, ``page``/``pageSize``, ...)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from mockverse.http.conventions import EMBED_ROWS, MAX_WINDOW, PAGING, check_page, slice_params
from mockverse.http.errors import Problem, is_decimal
from mockverse.http.operations import Operation

LIMIT_NAMES = ("limit", "pageSize", "page_size", "per_page", "perPage", "_per_page", "_limit", "max_results")
PAGE_NAMES = ("page", "_page", "pageNumber", "page_number")
JSON_SERVER = ("_page", "_per_page", "_limit")
# id cursors, in the list's own order: the page after the named entity, or the page before it
AFTER_NAMES = ("after", "starting_after", "after_id", "max_id")
BEFORE_NAMES = ("before", "ending_before", "before_id", "since_id", "min_id")
Locate = Callable[[str, str], int]   # (parameter, raw id) -> the entity's position in the list; 400 if none
OWN_PAGING = frozenset({*LIMIT_NAMES, *PAGE_NAMES, *AFTER_NAMES, *BEFORE_NAMES, "offset"}) - set(JSON_SERVER)
# parameter names (lower case, letters only) that say an operation pages, in any spelling a spec uses
PAGING_WORDS = ("page", "cursor", "limit", "offset")
PAGING_SPELLINGS = frozenset({"after", "before", "marker", "skip", "top", "count", "first", "last", "maxresults",
                              "maxid", "minid", "sinceid", "since", "nexttoken", "continuationtoken", "skiptoken",
                              "starttoken"})


def declares_paging(op: Operation) -> bool:
    """Whether an operation pages by query parameters of its own (``limit``/``offset``, ``page``/``pageSize``,
    id cursors); one that declares none (or only json-server's) pages as json-server does."""
    return any(p.name in OWN_PAGING for p in op.query)


def pages_whole(op: Operation) -> bool:
    """Whether a list operation declares no paging at all, neither its own parameters (in any spelling:
    ``PageSize``, ``page[size]``, ``pageToken``, ``marker``) nor json-server's: a client of such an API
    gets the whole collection, so the mock answers it whole, up to ``MAX_WINDOW`` rows an answer."""
    return not any(_pages(p.name) for p in op.query)


def _pages(name: str) -> bool:
    """Whether a query parameter's name is a paging one (see :func:`pages_whole`)."""
    letters = re.sub(r"[^a-z]", "", name.lower())
    return name in PAGING or name in OWN_PAGING or letters in PAGING_SPELLINGS \
        or any(word in letters for word in PAGING_WORDS)


def usual_page(op: Operation, request: Request, total: int | None = None, relations: int = 0) -> tuple[int, int]:
    """(page, per page) of a list read: json-server's when the request asks, else the first page, of
    20 rows when the operation declares json-server paging, of :func:`whole_size` (the whole collection up
    to it) when it declares none."""
    return page_params(request, total) or (1, whole_size(relations) if pages_whole(op) else 20)


def whole_size(relations: int = 0) -> int:
    """The most rows a list answered whole carries: ``MAX_WINDOW``, or as many as ``EMBED_ROWS`` allows when
    each row carries ``relations`` (``_embed``/``_expand``)."""
    return max(1, min(MAX_WINDOW, EMBED_ROWS // relations)) if relations else MAX_WINDOW


def page_params(request: Request, total: int | None = None) -> tuple[int, int] | None:
    """(page, per page) of json-server paging, or None when not asked; with ``total`` (the collection's
    size) a page past its last page is a 400 naming the last one."""
    q = request.query_params
    if not any(name in q for name in JSON_SERVER):
        return None
    values: dict[str, int | None] = {}
    for name, default, high in (("_page", 1, None), ("_per_page", 20, MAX_WINDOW), ("_limit", None, MAX_WINDOW)):
        raw = q.get(name)
        if raw is None:
            values[name] = default
            continue
        if name == "_page" and raw.isascii() and raw.isdigit() and 18 < len(raw) <= 100:
            values[name] = int(raw)   # a page number too large to be one: said below, with the last page
            continue
        if not is_decimal(raw) or int(raw) < 1 or (high and int(raw) > high):
            raise Problem(400, "Invalid query parameter", f"{name} must be an integer from 1 to {high or 'any'}",
                          field=name, extra={"minimum": 1, "maximum": high} if high else {"minimum": 1})
        values[name] = int(raw)
    page, per_page = values["_page"] or 1, values["_limit"] or values["_per_page"] or 20
    if total is not None:
        check_page(page, per_page, total)
    return page, per_page


def page_links(request: Request, page: int, per_page: int, total: int | None) -> dict[str, str]:
    """``X-Total-Count`` and a ``Link`` header (first, prev, next, last) for one json-server page."""
    headers: dict[str, str] = {}
    if total is None:
        return headers
    headers["X-Total-Count"] = str(total)
    last = max(1, -(-total // per_page))
    base = request.url.remove_query_params(list(JSON_SERVER))
    rels = {"first": 1, "last": last}
    if page > 1:
        rels["prev"] = page - 1
    if page < last:
        rels["next"] = page + 1
    headers["Link"] = ", ".join(f'<{base.include_query_params(_page=p, _per_page=per_page)}>; rel="{r}"'
                                for r, p in rels.items())
    return headers


def own_paging(op: Operation, request: Request, locate: Locate | None = None) -> tuple[int, int]:
    """(offset, page size) from the operation's own paging parameters (limit/offset, page/pageSize, and
    with ``locate`` the id cursors it declares: ``after``/``starting_after``/``max_id``, ``before``...)."""
    q = request.query_params
    window = slice_params(request)
    if window is not None:
        return window[0], window[1] - window[0]
    declared = {p.name: p.schema or {} for p in op.query}
    size_name = next((n for n in LIMIT_NAMES if n in q), None)
    default = _declared_int(declared, "default", 20)
    size = int_param(q, size_name, 1) if size_name else default
    ceiling = _declared_int(declared, "maximum", 1000)
    size = max(1, min(size, ceiling, 1000))
    if "offset" in q:
        return int_param(q, "offset", 0), size
    cursor = cursor_param(op, request) if locate is not None else None
    if cursor is not None and locate is not None:
        at = locate(cursor, q[cursor])
        if cursor in AFTER_NAMES:
            return at + 1, size
        return max(0, at - size), min(size, at) or size
    page_name = next((n for n in PAGE_NAMES if n in q), None)
    page = int_param(q, page_name, 1) if page_name else 1
    return (page - 1) * size, size


def cursor_param(op: Operation, request: Request) -> str | None:
    """The id cursor a list request gives, among those its operation declares."""
    declared = {p.name for p in op.query}
    return next((n for n in (*AFTER_NAMES, *BEFORE_NAMES) if n in declared and n in request.query_params), None)


def cursor_links(op: Operation, request: Request, first: object, last: object, more: bool,
                 offset: int) -> dict[str, str]:
    """A ``Link`` header walking the list by the operation's declared id cursors: next after the
    page's last entity, prev before its first."""
    declared = {p.name for p in op.query}
    after = next((n for n in AFTER_NAMES if n in declared), None)
    before = next((n for n in BEFORE_NAMES if n in declared), None)
    base = request.url.remove_query_params([*AFTER_NAMES, *BEFORE_NAMES, "offset", *PAGE_NAMES])
    rels = []
    if after is not None and more and last is not None:
        rels.append(f'<{base.include_query_params(**{after: last})}>; rel="next"')
    if before is not None and offset > 0 and first is not None:
        rels.append(f'<{base.include_query_params(**{before: first})}>; rel="prev"')
    return {"Link": ", ".join(rels)} if rels else {}


def _declared_int(declared: dict[str, dict], keyword: str, otherwise: int) -> int:
    """A paging size parameter's declared ``default`` or ``maximum``."""
    return next((value for name in LIMIT_NAMES if name in declared
                 for value in (declared[name].get(keyword),) if isinstance(value, int)), otherwise)


def int_param(q: Any, name: str, low: int) -> int:
    """A query parameter that must be an integer of at least ``low``: 400 naming it otherwise."""
    raw = q.get(name, "")
    if not is_decimal(raw) or int(raw) < low:
        raise Problem(400, "Invalid query parameter", f"{name} must be an integer of at least {low}", field=name)
    return int(raw)
