"""Conventions of peer mock servers, on the mock routes: Prism's ``Prefer`` and json-server's list queries.

*Prism*: ``Prefer: code=404``, ``Prefer: example=alice``, ``Prefer: dynamic=false`` (combinable,
comma-separated; also the query forms ``__code``, ``__example``, ``__dynamic``) ask for one of the
responses the spec declares instead of the world's answer. Other RFC 7240 preferences
(``return=minimal``, ...) are ignored, as the RFC asks.

*json-server*: on every list, ``_sort=-created_at,id`` (``_order=desc`` too), field filters
(``status=paid``, ``user_id=3``, type-aware), operators in both spellings (``total_gte=100`` of
json-server 0.x, ``total:gte=100`` of 1.x), ``_embed=orders`` (children) and ``_expand=user`` (the
parent), ``q=`` (full text over the string fields) and ``_start``/``_end``/``_limit`` slices. Anything
that is neither a field nor a known parameter is a 400 naming it.

*Limits*: what a query may ask is checked before any work (values per filter, sort keys, pattern
length, numbers within their type, rows times relations, pages within the collection), each a 400
naming the parameter and the limit; the work a request then does is bounded by ``BUILD_BUDGET``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from starlette.requests import Request

from mockverse.http.errors import Problem
from mockverse.openapi.jsonschema import fits
from mockverse.world.generate import merge_schema, schema_types
from mockverse.world.lifecycle import LifecycleError, parse_state
from mockverse.world.model import EntityType

PREFER_QUERY = ("__code", "__example", "__dynamic")
PAGING = ("_page", "_per_page", "_limit", "_start", "_end")
LIST_CONTROLS = ("_sort", "_order", "_embed", "_expand")
# Query names that never filter: paging (json-server's and the spellings specs use), workspace, Prefer.
PASS_THROUGH = frozenset({*PAGING, "workspace", "workspace_id", *PREFER_QUERY, "limit", "offset", "page", "pageSize",
                          "page_size", "per_page", "perPage", "pageNumber", "page_number", "max_results"})
OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "like", "in", "contains", "startsWith", "endsWith")
_SUFFIX_OPERATORS = ("gte", "lte", "gt", "lt", "ne", "like")   # json-server 0.x: ``total_gte=100``
MAX_VALUES = 100    # values one filter may list (a repeated key or ``:in``)
MAX_SORT_KEYS = 5   # fields in ``_sort``, each at most once
MAX_PATTERN = 100   # characters of a text pattern (``_like``, ``:contains``, ``q``, ...)
EMBED_ROWS = 100    # rows times relations (``_embed``/``_expand``) one answer may carry
MAX_WINDOW = 1000   # rows of one page or slice
BUILD_BUDGET = 20_000   # entities one read may build (a cold 2,000-row scan of payments builds about 9,000)
INTEGER_RANGES = {"int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1)}
MAX_DOUBLE = 1.7976931348623157e308
TEXT_OPERATORS = ("like", "contains", "startsWith", "endsWith")


# -- Prism: Prefer --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Preference:
    """What a request asked for with ``Prefer`` or ``__code``/``__example``/``__dynamic``, and where
    each value came from (the ``field`` an error names)."""

    code: int | None = None
    example: str | None = None
    dynamic: bool | None = None
    fields: dict[str, str] = field(default_factory=dict)

    def applied(self) -> str:
        """The ``Preference-Applied`` header (RFC 7240) for what was honoured."""
        parts = [f"code={self.code}"] if self.code is not None else []
        if self.example is not None:
            parts.append(f"example={self.example}")
        if self.dynamic is not None:
            parts.append(f"dynamic={'true' if self.dynamic else 'false'}")
        return ", ".join(parts)


def preference_of(request: Request) -> Preference | None:
    """The request's Prism preferences, or None when it states none. Raises a 400 Problem for a
    malformed value (``code=abc``, ``dynamic=maybe``)."""
    headers = request.headers.getlist("prefer")
    query = request.query_params
    if not headers and not any(name in query for name in PREFER_QUERY):
        return None
    values: dict[str, str] = {}
    fields: dict[str, str] = {}
    for part in ",".join(headers).split(","):
        token, _, value = part.split(";", 1)[0].strip().partition("=")
        token = token.strip().lower()
        if token in ("code", "example", "dynamic"):
            values[token], fields[token] = value.strip().strip('"'), "Prefer"
    for name in PREFER_QUERY:
        if name in query:
            values[name[2:]], fields[name[2:]] = query[name], name
    if not values:
        return None
    code = example = dynamic = None
    if "code" in values:
        raw = values["code"]
        # 1xx are interim answers a server sends before its response, never the response itself
        if not (raw.isascii() and raw.isdigit() and len(raw) == 3 and 200 <= int(raw) <= 599):
            raise Problem(400, "Invalid preference", f"code must be an HTTP status from 200 to 599, got {raw[:40]!r}",
                          field=fields["code"])
        code = int(raw)
    if "example" in values:
        if not values["example"]:
            raise Problem(400, "Invalid preference", "example needs the name of one of the spec's examples",
                          field=fields["example"])
        example = values["example"]
    if "dynamic" in values:
        if values["dynamic"].lower() not in ("true", "false"):
            raise Problem(400, "Invalid preference", f"dynamic must be true or false, got {values['dynamic'][:40]!r}",
                          field=fields["dynamic"], allowed=["true", "false"])
        dynamic = values["dynamic"].lower() == "true"
    return Preference(code, example, dynamic, fields)


def declared_response(operation: Any, preference: Preference, success_status: int) -> tuple[int, Any]:
    """(status, loader Response or None) the preference picks from the operation's declared
    responses: the exact code, else its ``4XX`` range, else ``default``; 422 naming ``allowed`` codes."""
    responses = operation.responses if operation is not None else {}
    if preference.code is None:
        success = operation.success() if operation is not None else None
        return success_status, success
    code = preference.code
    for key in (str(code), f"{code // 100}XX", f"{code // 100}xx", "default"):
        if key in responses:
            return code, responses[key]
    raise Problem(422, "Undeclared response", f"{operation.method} {operation.path} declares no {code} response"
                  if operation is not None else f"this operation declares no {code} response",
                  field=preference.fields.get("code", "Prefer"), allowed=sorted(responses))


def chosen_example(response: Any, preference: Preference) -> tuple[str | None, Any]:
    """(name, value) of the example to serve: the named one, else the first; (None, None) when none."""
    examples = getattr(response, "examples", None) or {}
    if preference.example is not None:
        if preference.example not in examples:
            raise Problem(422, "Unknown example", f"the {'chosen' if preference.code else 'success'} response has no "
                          f"example named {preference.example[:80]!r}" + ("" if examples else "; it has no examples"),
                          field=preference.fields.get("example", "Prefer"), allowed=sorted(examples))
        return preference.example, examples[preference.example]
    if examples:
        name = next(iter(examples))
        return name, examples[name]
    return None, None


def problem_body(status: int, detail: str) -> dict:
    """A problem+json body for a declared error response that has no example."""
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    return Problem(status, title, detail).body()


def fits_problem(schema: dict | None, body: dict) -> bool:
    """Whether a generated problem body is a valid answer for the declared schema (or there is none)."""
    return schema is None or fits(body, schema)


# -- json-server: list queries ---------------------------------------------------------------------
@dataclass(frozen=True)
class Filter:
    """One field condition: ``path`` into the entity, an operator and the parsed value(s)."""

    param: str
    path: tuple[str, ...]
    op: str
    values: tuple


@dataclass
class ListQuery:
    """A json-server list query, parsed and checked against the listed entity type."""

    filters: list[Filter]
    sort: list[tuple[tuple[str, ...], bool]]     # (field path, descending)
    embed: list[str]
    expand: list[str]

    def parent_filter(self, entity: EntityType) -> list | None:
        """The parent ids of an equality filter on the foreign key (``user_id=3``, ``user_id=3&user_id=4``,
        ``user_id:in=3,4``), if any: those parents' children are the rows, no scan needed."""
        for f in self.filters:
            if entity.parent is not None and f.path == (entity.fk,) and f.op in ("eq", "in"):
                return list(dict.fromkeys(f.values))
        return None

    def id_filter(self, entity: EntityType) -> list | None:
        """The ids of an equality filter on the id field (``id=3&id=4``, ``id:in=3,4``), if any:
        those entities are read directly, no scan needed."""
        for f in self.filters:
            if f.path == (entity.id_field,) and f.op in ("eq", "in"):
                return list(dict.fromkeys(f.values))
        return None

    def needs_scan(self, entity: EntityType) -> bool:
        return bool(self.filters or self.sort) and self.parent_filter(entity) is None and self.id_filter(entity) is None

    def relations(self) -> int:
        """How many relations each row carries (``_embed`` and ``_expand`` names)."""
        return len(self.embed) + len(self.expand)

    def relation_param(self) -> str:
        return "_embed" if self.embed else "_expand"


def wants_list_query(request: Request, passthrough: frozenset[str] | set[str], paging: bool = False) -> bool:
    """Cheap: does the request carry a query parameter beyond paging and the operation's own ones
    (with ``paging``, json-server's paging counts too: a spec world's lists then get ``Link``)?"""
    query = request.url.query
    if not query:
        return False
    names = [name for name, _ in request.query_params.multi_items()]
    return len(names) != len(set(names)) or any(  # a repeated name means "any of these values"
        name in ("_start", "_end")
        or (name not in PASS_THROUGH or paging and name in PAGING)
        and name not in passthrough
        for name in names
    )


def reference_names(entity: EntityType) -> dict[str, Any]:
    """``_expand`` names of a spec entity's references, by their field: ``owner_id``, ``ownerId``
    and ``owner`` holding ids of another entity are expanded as ``owner``."""
    out: dict[str, Any] = {}
    for ref in getattr(entity, "references", None) or []:
        name = re.sub(r"(_ids?|Ids?)$", "", ref.field) or ref.field
        out.setdefault(name, ref)
    return out


def parse_list_query(request: Request, entity: EntityType, passthrough: frozenset[str] | set[str]) -> ListQuery:
    """Parse the json-server parameters of a list request; 400 problems name the parameter and
    list the allowed fields, operators or relations."""
    props = _properties(entity.schema)
    spellings = set(entity.fk_spellings())
    allowed_fields = sorted(props)
    children, parents = entity.relation_names()
    parents = {**reference_names(entity), **parents}
    filters: dict[tuple[tuple[str, ...], str], list] = {}
    params: dict[tuple[tuple[str, ...], str], str] = {}
    sort: list[tuple[tuple[str, ...], bool]] = []
    embed: list[str] = []
    expand: list[str] = []
    orders: list[str] = []
    for name, raw in request.query_params.multi_items():
        if name in PAGING or name in PREFER_QUERY or name in ("workspace", "workspace_id"):
            continue
        if name == "_sort":
            parts = [p.strip() for p in raw.split(",")]
            if len(sort) + len(parts) > MAX_SORT_KEYS:
                raise Problem(400, "Invalid query parameter", f"_sort takes at most {MAX_SORT_KEYS} fields",
                              field="_sort", extra={"limit": MAX_SORT_KEYS})
            for part in parts:
                desc = part.startswith("-")
                path = _field_path(part.lstrip("-"), props, "_sort", allowed_fields)
                if any(path == seen for seen, _ in sort):
                    raise Problem(400, "Invalid query parameter", f"_sort names {'.'.join(path)[:80]!r} more than "
                                  "once; each field sorts at most once", field="_sort", extra={"limit": MAX_SORT_KEYS})
                sort.append((path, desc))
            continue
        if name == "_order":
            orders = [p.strip().lower() for p in raw.split(",")]
            if not all(o in ("asc", "desc") for o in orders):
                raise Problem(400, "Invalid query parameter", "_order is asc or desc (comma-separated, one per "
                              "_sort field)", field="_order", allowed=["asc", "desc"])
            continue
        if name in ("_embed", "_expand"):
            for part in (p.strip() for p in raw.split(",")):
                if part in children and name == "_embed":
                    embed.append(part)
                elif part in parents:
                    expand.append(part)
                else:
                    names = sorted(children) + sorted(parents) if name == "_embed" else sorted(parents)
                    raise Problem(
                        400,
                        "Unknown relation",
                        f"{entity.name} has no {'related entities' if name == '_embed' else 'parent'} "
                        f"named {part[:80]!r}",
                        field=name,
                        allowed=names,
                    )
            continue
        if name == "q" and "q" not in props:
            _check_pattern(raw, name)
            filters.setdefault(((), "q"), []).append(raw.lower())
            params.setdefault(((), "q"), name)
            continue
        if entity.fk is not None and name in spellings:
            path, op = (entity.fk,), "eq"
        elif name in passthrough or name in PASS_THROUGH:
            continue
        elif name in props or "." in name and ":" not in name and name.split(".", 1)[0] in props:
            path, op = _field_path(name, props, name, allowed_fields), "eq"
        elif ":" in name:
            left, _, op = name.rpartition(":")
            if op not in OPERATORS:
                raise Problem(400, "Unknown operator", f"{op[:40]!r} is not a filter operator", field=name,
                              allowed=list(OPERATORS))
            path = _field_path(left, props, name, allowed_fields)
        elif "_" in name and name.rsplit("_", 1)[1] in _SUFFIX_OPERATORS:
            left, op = name.rsplit("_", 1)
            path = _field_path(left, props, name, allowed_fields)
        else:
            raise Problem(
                400,
                "Unknown query parameter",
                f"{name[:80]!r} is not a field of {entity.name} nor a list "
                "parameter (_page, _per_page, _start, _end, _limit, _sort, _order, _embed, _expand, q)",
                field=name,
                allowed=allowed_fields,
            )
        schema = _schema_at(props, path)
        pieces = raw.split(",") if op == "in" else [raw]
        key = (path, op)
        if len(filters.get(key, ())) + len(pieces) > MAX_VALUES:
            raise Problem(
                400,
                "Invalid query parameter",
                f"{name[:80]} lists more than {MAX_VALUES} values (a repeated key or a comma-separated :in)",
                field=name,
                extra={"limit": MAX_VALUES},
            )
        values = [_typed(piece, schema, name, op) for piece in pieces]
        if path[-1] == "lifecycle_state" and op in ("eq", "ne", "in"):
            values = [_canonical_state(v) for v in values]   # ?lifecycle_state=CHURN_RISK finds ChurnRisk
        filters.setdefault(key, []).extend(values)
        params.setdefault(key, name)
    if orders:
        if len(orders) not in (1, len(sort)) or not sort:
            raise Problem(400, "Invalid query parameter", "_order gives one direction per _sort field", field="_order")
        sort = [(path, (orders[i] if len(orders) > 1 else orders[0]) == "desc") for i, (path, _) in enumerate(sort)]
    out = [Filter(params[key], key[0], key[1], tuple(values)) for key, values in filters.items()]
    return ListQuery(out, sort, list(dict.fromkeys(embed)), list(dict.fromkeys(expand)))


def check_relations(query: ListQuery, rows: int, param: str) -> None:
    """A 400 when ``rows`` rows would each carry the query's relations past ``EMBED_ROWS`` in all;
    ``param`` is the parameter that sets the row count (``_per_page``, ``_limit``, ...)."""
    relations = query.relations()
    if relations and rows * relations > EMBED_ROWS:
        most = EMBED_ROWS // relations
        raise Problem(400, "Invalid query parameter", f"with {relations} relation{'s' if relations > 1 else ''} "
                      f"({query.relation_param()}) a list carries at most {most} rows; {param} asks for {rows}",
                      field=param, extra={"minimum": 1, "maximum": most})


def check_page(page: int, per_page: int, total: int) -> None:
    """A 400 for a ``_page`` past the last page of a collection of ``total`` entities."""
    last = max(1, -(-total // per_page))
    if page > last:
        raise Problem(400, "Invalid query parameter", f"_page must be from 1 to {last} (the last page of "
                      f"{total} at {per_page} per page)", field="_page", extra={"minimum": 1, "maximum": last})


def slice_params(request: Request) -> tuple[int, int] | None:
    """json-server 0.x slices: ``_start=10&_end=20`` or ``_start=10&_limit=10`` (rows 10 to 19);
    None when neither ``_start`` nor ``_end`` is given."""
    q = request.query_params
    if "_start" not in q and "_end" not in q:
        return None
    start = _bounded_int(q.get("_start", "0"), "_start", 0, None)
    if "_end" in q:
        stop = _bounded_int(q["_end"], "_end", start, start + MAX_WINDOW)
    else:
        stop = start + _bounded_int(q.get("_limit", "10"), "_limit", 1, MAX_WINDOW)
    return start, stop


def check_start(start: int, total: int) -> None:
    """A 400 for a ``_start`` past the end of a collection of ``total`` entities."""
    if start > total:
        raise Problem(400, "Invalid query parameter", f"_start must be from 0 to {total} (the collection's size)",
                      field="_start", extra={"minimum": 0, "maximum": total})


def _bounded_int(raw: str, name: str, low: int, high: int | None) -> int:
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None
    if value is None or value < low or (high is not None and value > high):
        shown = high if high is not None else 2**63 - 1
        raise Problem(400, "Invalid query parameter", f"{name} must be an integer from {low} to {shown}",
                      field=name, extra={"minimum": low, "maximum": shown})
    return value


def _check_pattern(raw: str, param: str) -> None:
    if len(raw) > MAX_PATTERN:
        raise Problem(400, "Invalid query parameter", f"{param[:80]} is a pattern of {len(raw)} characters; at most "
                      f"{MAX_PATTERN}", field=param, extra={"limit": MAX_PATTERN})


def apply_filters(rows: list[dict], query: ListQuery) -> list[dict]:
    """The rows that meet every filter (several values of one equality filter: any of them)."""
    if not query.filters:
        return rows
    return [row for row in rows if all(_meets(row, f) for f in query.filters)]


def apply_sort(rows: list[dict], query: ListQuery) -> list[dict]:
    """The rows sorted by each ``_sort`` field in turn (stable; missing values last)."""
    out = list(rows)
    for path, desc in reversed(query.sort):
        present = [r for r in out if _get(r, path) is not None]
        missing = [r for r in out if _get(r, path) is None]
        present.sort(key=lambda r: _sort_key(_get(r, path)), reverse=desc)
        out = present + missing
    return out


def _properties(schema: dict | None) -> dict:
    props = merge_schema(schema or {}).get("properties") if isinstance(schema, dict) else None
    return props if isinstance(props, dict) else {}


def _field_path(name: str, props: dict, param: str, allowed: list[str]) -> tuple[str, ...]:
    parts = tuple(name.split("."))
    if not name or parts[0] not in props or any(not p for p in parts):
        raise Problem(400, "Unknown field", f"{name[:80]!r} is not a field of this list's entities", field=param,
                      allowed=allowed)
    return parts


def _schema_at(props: dict, path: tuple[str, ...]) -> dict:
    schema: Any = props.get(path[0]) or {}
    for part in path[1:]:
        schema = _properties(schema).get(part) or {}
    return merge_schema(schema) if isinstance(schema, dict) else {}


def _typed(raw: str, schema: dict, param: str, op: str) -> Any:
    """A query value in the field's own type: ``3`` for an integer id, ``true`` for a boolean."""
    if op in TEXT_OPERATORS:
        _check_pattern(raw, param)
        return raw.lower()
    types = schema_types(schema) if schema else set()
    if (
        "integer" in types
        and "string" not in types
        and raw.removeprefix("-").isascii()
        and raw.removeprefix("-").isdigit()
    ):
        low, high = INTEGER_RANGES["int32" if schema.get("format") == "int32" else "int64"]
        value = int(raw) if len(raw) <= 20 else None
        if value is None or not low <= value <= high:
            raise Problem(400, "Invalid filter value", f"{param[:80]} compares an integer from {low} to {high}",
                          field=param, extra={"minimum": low, "maximum": high})
        return value
    if ("number" in types or "integer" in types) and "string" not in types:
        try:
            number = float(raw) if len(raw) <= 400 else None
        except ValueError:
            number = None
        if number is None or number != number:
            raise Problem(400, "Invalid filter value", f"{param[:80]} compares a number; {raw[:40]!r} is not one",
                          field=param)
        if number in (float("inf"), float("-inf")):
            raise Problem(400, "Invalid filter value", f"{param[:80]} compares a number from {-MAX_DOUBLE} to "
                          f"{MAX_DOUBLE}; {raw[:40]!r} is past it", field=param,
                          extra={"minimum": -MAX_DOUBLE, "maximum": MAX_DOUBLE})
        return number
    if "boolean" in types and "string" not in types:
        if raw.lower() not in ("true", "false"):
            raise Problem(400, "Invalid filter value", f"{param} compares a boolean", field=param,
                          allowed=["true", "false"])
        return raw.lower() == "true"
    if raw == "null" and "null" in types:
        return None
    return raw


def _canonical_state(value: Any) -> Any:
    """A lifecycle state in its canonical spelling (``CHURN_RISK`` -> ``ChurnRisk``); anything else as given."""
    try:
        return parse_state(value).value if isinstance(value, str) else value
    except LifecycleError:
        return value


def _get(row: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(row, dict):
            return None
        row = row.get(part)
    return row


def _comparable(actual: Any, wanted: Any) -> tuple[Any, Any] | None:
    """Both sides in one type, or None when they cannot be compared."""
    if isinstance(actual, bool) or isinstance(wanted, bool):
        return (actual, wanted) if isinstance(actual, bool) and isinstance(wanted, bool) else None
    if isinstance(actual, (int, float)) and isinstance(wanted, (int, float)):
        return actual, wanted
    if isinstance(actual, (int, float)) and isinstance(wanted, str):
        try:
            return actual, float(wanted)
        except ValueError:
            return None
    if isinstance(actual, str):
        return actual, str(wanted)
    return None


def _meets(row: dict, f: Filter) -> bool:
    if f.op == "q":
        return all(any(value in text for text in _texts(row)) for value in f.values)
    actual = _get(row, f.path)
    if f.op in TEXT_OPERATORS:
        if actual is None:
            return False
        text = str(actual).lower()
        check = {"like": str.__contains__, "contains": str.__contains__, "startsWith": str.startswith,
                 "endsWith": str.endswith}[f.op]
        return all(check(text, value) for value in f.values)
    if f.op in ("eq", "in"):
        return any(_equal(actual, value) for value in f.values)
    if f.op == "ne":
        return not any(_equal(actual, value) for value in f.values)
    for value in f.values:
        pair = _comparable(actual, value)
        if pair is None:
            return False
        a, b = pair
        if not {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[f.op]:
            return False
    return True


def _texts(value: Any):
    """Every string in a row (nested objects and lists too), lower-cased, for ``q=``."""
    if isinstance(value, str):
        yield value.lower()
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _equal(actual: Any, wanted: Any) -> bool:
    if wanted is None or actual is None:
        return actual is wanted
    pair = _comparable(actual, wanted)
    if isinstance(actual, list):
        return any(_equal(item, wanted) for item in actual)
    return pair is not None and pair[0] == pair[1]


def _sort_key(value: Any) -> tuple:
    if isinstance(value, bool):
        return (0, int(value), "")
    if isinstance(value, (int, float)):
        return (1, value, "")
    return (2, 0, str(value))
