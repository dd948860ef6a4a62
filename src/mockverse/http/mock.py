"""Mock routes: every operation of the loaded spec, served from the persona world.

Each operation is classified once against the world model. The built-in world's paths
are a collection (``/orders``), an item (``/orders/{id}``), the children of an item
(``/users/{id}/orders``) or a facet (``/users/{id}/billing``). A world built from a
user's spec adds: items under any prefix and nesting (``/v1/billing/subscriptions/{id}``,
``/Projects/{projectId}/Tasks/{taskId}``), *related* lists (a nested path whose items
have their parent elsewhere: ``/artists/{id}/albums``), *search* listings of entities at
literal paths (``/pet/findByStatus``) and *actions* on an entity (``/subscriptions/{id}/
suspend``). Everything else is a schema-only operation answered from its (valid) examples
or its schema. Reads are cached as serialised bytes keyed by workspace version, so a
repeated read of an unchanged entity is one store lookup and a dictionary hit.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import anyio.to_thread
import orjson
from jsonschema import Draft202012Validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from mockverse.cache import LRU
from mockverse.http.conventions import (
    BUILD_BUDGET,
    MAX_WINDOW,
    SCAN_LIMIT,
    ListQuery,
    Preference,
    apply_filters,
    apply_sort,
    check_page,
    check_relations,
    check_start,
    chosen_example,
    declared_response,
    fits_problem,
    parse_list_query,
    preference_of,
    problem_body,
    reference_names,
    relation_names,
    slice_params,
    wants_list_query,
)
from mockverse.http.errors import PROBLEM, Problem, check_body, is_decimal, read_form_or_json, read_json
from mockverse.http.pathtable import path_routes
from mockverse.http.validation import RequestRules, Scheme, error_response
from mockverse.openapi import singular, snake
from mockverse.openapi.jsonschema import fits, to_json_schema, validator_for
from mockverse.store import StoreUnavailable
from mockverse.world.engine import WORKSPACE_NAME, Budget, ConsistencyEngine, WorldView
from mockverse.world.generate import merge_schema
from mockverse.world.model import EntityType
from mockverse.world.render import MISSING, Renderer, entity_slots, is_array, list_slot
from mockverse.world.specworld import SpecEntityType

__all__ = ["MockOperation", "MockRoutes", "RealityHook", "classify", "to_json_schema", "validator_for", "workspace_of"]

_PARAM = re.compile(r"^\{([^}]+)\}$")
_LIMIT_NAMES = ("limit", "pageSize", "page_size", "per_page", "perPage", "_per_page", "_limit", "max_results")
_PAGE_NAMES = ("page", "_page", "pageNumber", "page_number")
_LIST_KINDS = ("collection", "children", "related", "search")
WORKERS = 8         # threads computing reads at once (cache misses), off the event loop
HEAVY = 2           # of which json-server list queries (filters, sorts, embeds) at most; more wait for none: 503
# scope state: the workspace version at which the stubs layer found no stubs; a read answered at another
# version (or with stubs about) never enters the fast path, which skips the stubs layer
FAST_OK = "mockverse.fast_ok"


@dataclass
class MockOperation:
    """One spec operation and how the world answers it."""

    method: str
    path: str
    kind: str                       # collection | item | children | facet | schema
    entity: EntityType | None
    relationship: str | None
    id_param: str | None
    status: int
    schema: dict | None
    examples: dict[str, Any]
    validator: Draft202012Validator | None
    query_filters: dict[str, str]   # query name -> "parent" filter
    spec_world: bool = False        # classified against a world built from a user's spec
    bound: list[tuple[str, EntityType]] = field(default_factory=list)   # path params naming entities
    target: EntityType | None = None    # the listed type of related and search operations
    parent_param: str | None = None     # an item's parent in its own path (/Projects/{projectId}/Tasks/{taskId})
    body_required: bool = False
    query: list[Any] = field(default_factory=list)   # the operation's query parameters


def classify(op: Any, engine: ConsistencyEngine, tables: SpecTables | None = None) -> MockOperation:
    """Decide how the world answers ``op`` from its path: collection, item, children or schema
    (``tables``: a spec world's path tables, worked out once for all its operations)."""
    model = engine.model
    if any(isinstance(t, SpecEntityType) for t in model.types.values()):
        return classify_spec(op, engine, tables or spec_tables(engine))
    segments = [s for s in op.path.split("/") if s]
    kind, entity, relationship, id_param = "schema", None, None, None
    if segments and not _PARAM.match(segments[-1]) and model.by_segment(segments[-1]) and len(segments) == 1:
        kind, entity = "collection", model.by_segment(segments[-1])
    elif len(segments) == 2 and _PARAM.match(segments[1]) and model.by_segment(segments[0]):
        kind, entity, id_param = "item", model.by_segment(segments[0]), _PARAM.match(segments[1]).group(1)
    elif len(segments) == 3 and _PARAM.match(segments[1]) and model.by_segment(segments[0]):
        parent = model.by_segment(segments[0])
        names = model.embed_names(parent)  # type: ignore[arg-type]
        if segments[2] in names and names[segments[2]][0] == "children":
            kind, entity, relationship = "children", parent, names[segments[2]][1]
            id_param = _PARAM.match(segments[1]).group(1)
        elif not _PARAM.match(segments[2]):
            # a facet of one entity (/users/{id}/billing): generated from its schema, shaped by its persona's state
            kind, entity, relationship = "facet", parent, segments[2]
            id_param = _PARAM.match(segments[1]).group(1)
    success = op.success()
    status = int(success.status) if success and success.status.isdigit() else 200
    filters: dict[str, str] = {}
    if kind == "collection" and entity is not None and entity.parent is not None:
        for spelling in entity.fk_spellings():
            filters[spelling] = "parent"
    return MockOperation(op.method.upper(), op.path, kind, entity, relationship, id_param, status,
                         success.schema if success else None, success.examples if success else {},
                         validator_for(op.request_schema, "request"), filters)


def _path_types(types: list[SpecEntityType]) -> tuple[dict[str, SpecEntityType], dict[str, SpecEntityType],
                                                      dict[str, SpecEntityType]]:
    """Item paths, collection paths and literal segments that name each type of a spec world."""
    items: dict[str, SpecEntityType] = {}
    collections: dict[str, SpecEntityType] = {}
    segments: dict[str, SpecEntityType] = {}
    for entity in types:
        source = entity.inferred
        if source is None:
            continue
        for path, table in ((source.item_path, items), (source.collection_path, collections)):
            if path:
                table.setdefault(path, entity)
        for path in (source.item_path, source.collection_path):
            literals = [t for t in (path or "").split("/") if t and not _PARAM.match(t)]
            if literals:
                segments.setdefault(literals[-1], entity)
    for entity in types:
        segments.setdefault(entity.name, entity)
    return items, collections, segments


@dataclass(frozen=True)
class SpecTables:
    """A spec world's types by name, by item path, by collection path and by literal segment."""

    types: list[SpecEntityType]
    by_name: dict[str, SpecEntityType]
    items: dict[str, SpecEntityType]
    collections: dict[str, SpecEntityType]
    segments: dict[str, SpecEntityType]


def spec_tables(engine: ConsistencyEngine) -> SpecTables:
    """The path tables of a spec world, once per world (not once per operation: a 10,000-path spec)."""
    types: list[SpecEntityType] = [t for t in engine.model.types.values() if isinstance(t, SpecEntityType)]
    return SpecTables(types, {t.name: t for t in types}, *_path_types(types))


def _segment_type(segment: str, segments: dict[str, SpecEntityType], types: dict) -> SpecEntityType | None:
    return segments.get(segment) or types.get(singular(snake(segment)))


def classify_spec(op: Any, engine: ConsistencyEngine, tables: SpecTables) -> MockOperation:
    """Classify an operation of a world built from a user's spec (see the module notes)."""
    types, by_name = tables.types, tables.by_name
    items, collections, segments = tables.items, tables.collections, tables.segments
    tokens = [t for t in op.path.split("/") if t]
    bound: list[tuple[str, SpecEntityType]] = []
    prefix, last_literal = "", None
    for index, token in enumerate(tokens):
        prefix += "/" + token
        match = _PARAM.match(token)
        if not match:
            last_literal = token
            continue
        entity = items.get(prefix)
        followed_by_param = index + 1 < len(tokens) and _PARAM.match(tokens[index + 1])
        if entity is None and last_literal and tokens[index - 1] == last_literal and not followed_by_param:
            entity = _segment_type(last_literal, segments, by_name)
        if entity is not None:
            bound.append((match.group(1), entity))
    success = op.success()
    schema = success.schema if success and _json(success.media_type) else None
    status = int(success.status) if success and success.status.isdigit() else 200
    method = op.method.upper()
    kind, entity, target, relationship, id_param, parent_param = "schema", None, None, None, None, None
    last = tokens[-1] if tokens else ""
    if _PARAM.match(last):
        if bound and bound[-1][0] == _PARAM.match(last).group(1):  # type: ignore[union-attr]
            id_param, entity = bound[-1]
            own_item = entity.inferred is not None and entity.inferred.item_path == op.path
            before = bound[-2] if len(bound) > 1 else None
            if before is not None and before[1] is entity.parent:
                parent_param = before[0]
            if method in ("GET", "HEAD") or own_item or parent_param:
                kind = "item"
            else:
                kind = "action"
    else:
        listed = collections.get(op.path) or _segment_type(last, segments, by_name)
        parent = bound[-1] if bound and len(tokens) > 1 and _PARAM.match(tokens[-2]) else None
        if parent is None and listed is not None and bound and bound[-1][1] is listed.parent:
            parent = bound[-1]   # /guilds/{guild_id}/auto-moderation/rules: the children of that guild
        if parent is not None:
            id_param, entity = parent
            if listed is not None and listed.parent is entity:
                kind, target, relationship = "children", listed, listed.relationship
            elif method == "GET":
                own = listed is not None and (_lists(schema, listed) or collections.get(op.path) is listed)
                target = listed if own else _listed_type(schema, types, op.path)
                if target is not None and target.parent is entity:   # /sites/{id}/dns listing dns zones
                    kind, relationship = "children", target.relationship
                elif target is not None:
                    kind = "related"
                elif schema is not None and "object" in _types_of(schema) and not is_array(schema):
                    kind, relationship = "facet", last
            else:
                kind = "action"
        elif listed is not None and (collections.get(op.path) is listed or not bound):
            kind, entity = "collection", listed
        elif method == "GET" and last.lower() == "me" and _persona_type(schema, types) is not None:
            kind, entity = "item", _persona_type(schema, types)   # /me: the first persona of the world
        elif method == "GET":
            target = _listed_type(schema, types, op.path)
            kind = "search" if target is not None else "schema"
            if target is not None and bound and bound[-1][1] is target.parent:   # /accounts/{id}/limits/current
                (id_param, entity), kind, relationship = bound[-1], "children", target.relationship
    filters: dict[str, str] = {}
    if kind == "collection" and entity is not None and entity.parent is not None:
        for spelling in entity.fk_spellings():
            filters[spelling] = "parent"
    return MockOperation(method, op.path, kind, entity, relationship, id_param, status, schema,
                         success.examples if success else {}, validator_for(op.request_schema, "request"), filters,
                         spec_world=True, bound=list(bound), target=target, parent_param=parent_param,
                         body_required=bool(op.request_required),
                         query=[p for p in op.parameters if p.location == "query"])


def _json(media_type: str | None) -> bool:
    return media_type is None or "json" in media_type.lower() or media_type.startswith("*/*")


def _types_of(schema: dict) -> set[str]:
    from mockverse.world.generate import merge_schema, schema_types
    return schema_types(merge_schema(schema))


def _lists(schema: dict | None, entity: SpecEntityType) -> bool:
    return schema is not None and list_slot(schema, entity) is not None


def _persona_type(schema: dict | None, types: list[SpecEntityType]) -> SpecEntityType | None:
    """The person-like top-level type a ``/me`` response shows, if any."""
    for entity in types:
        if entity.parent is None and entity.person and entity_slots(schema, entity, strict=True):
            return entity
    return None


def _listed_type(schema: dict | None, types: list[SpecEntityType], path: str = "") -> SpecEntityType | None:
    """The entity type a response lists, recognised by schema identity (not merely by an ``id`` field):
    of several, items that are the type itself (not objects embedding it), in the array the path names."""
    if schema is None:
        return None
    words = {singular(snake(t)) for t in path.split("/") if t and not _PARAM.match(t)}
    found = [(e, slot) for e, slot in ((e, list_slot(schema, e, strict=True)) for e in types) if slot is not None]
    direct = [(e, slot) for e, slot in found if entity_slots(slot[1], e, strict=True) == [[]]]
    named = [e for e, slot in direct if slot[0] and singular(snake(slot[0][-1])) in words]
    return next(iter(named + [e for e, _ in direct] + [e for e, _ in found]), None)


def _page_params(request: Request, total: int | None = None) -> tuple[int, int] | None:
    """(page, per page) of json-server paging, or None when not asked; with ``total`` (the collection's
    size) a page past its last page is a 400 naming the last one."""
    q = request.query_params
    if "_page" not in q and "_per_page" not in q and "_limit" not in q:
        return None
    values = {}
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
    page, per_page = values["_page"], values["_limit"] or values["_per_page"]
    if total is not None:
        check_page(page, per_page, total)
    return page, per_page


def _links(request: Request, page: int, per_page: int, total: int | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if total is None:
        return headers
    headers["X-Total-Count"] = str(total)
    last = max(1, -(-total // per_page))
    base = request.url.remove_query_params(["_page", "_per_page", "_limit"])
    rels = {"first": 1, "last": last}
    if page > 1:
        rels["prev"] = page - 1
    if page < last:
        rels["next"] = page + 1
    headers["Link"] = ", ".join(f'<{base.include_query_params(_page=p, _per_page=per_page)}>; rel="{r}"'
                                for r, p in rels.items())
    return headers


class RealityHook(Protocol):
    """What the reality continuum plugs into the mock path (see ``mockverse.reality``)."""

    def active(self, view: WorldView, request: Request) -> bool:
        """Cheap: does this request need more than the synthetic answer (ratio > 0, record mode)?"""

    async def respond(self, request: Request, op: MockOperation, view: WorldView,
                      synthetic: Callable[[], Awaitable[Response]]) -> Response:
        """The final response: synthetic, recorded, upstream or blended, with its trace headers."""


class MockRoutes:
    """Builds the Starlette routes of the spec and answers them through the engine."""

    def __init__(self, engine: ConsistencyEngine, operations: list, max_body_bytes: int,
                 schemes: dict[str, Scheme] | None = None, auth_check: bool = True, *,
                 texts: Any = None, reality: RealityHook | None = None) -> None:
        self.engine = engine
        self.max_body_bytes = max_body_bytes
        self.cache = LRU(20_000)
        self.direct = LRU(20_000)
        self.reality = reality
        self.texts = texts    # ai.text_writer.TextService: free-text fields of a fresh read (X-Mockverse-Text)
        self.by_path: dict[str, dict[str, MockOperation]] = {}
        spec_world = any(isinstance(t, SpecEntityType) for t in engine.model.types.values())
        tables = spec_tables(engine) if spec_world else None
        for op in operations:
            mock = classify(op, engine, tables)
            self.by_path.setdefault(op.path, {})[mock.method] = mock
        self.declared = {(op.method.upper(), op.path): op for op in operations}   # for Prefer (conventions)
        self.rules = {key: RequestRules(op, schemes or {}, auth_check) for key, op in self.declared.items()}
        self.own_params: dict[tuple[str, str], frozenset[str]] = {}   # see _own_params
        self.workers: anyio.CapacityLimiter | None = None   # made on first use, inside the event loop
        self.heavy: anyio.CapacityLimiter | None = None

    def routes(self) -> list[BaseRoute]:
        out = []
        # literal segments before parameters, so /recipients/count is not read as /recipients/{id}
        ordered = sorted(self.by_path.items(), key=lambda kv: [bool(_PARAM.match(t)) for t in kv[0].split("/") if t])
        for path, methods in ordered:
            async def endpoint(request: Request, _methods: dict = methods) -> Response:
                return await self.handle(request, _methods)
            out.append((_starlette_path(path), endpoint, sorted(methods)))
        return path_routes(out)

    # -- dispatch ---------------------------------------------------------------------------
    async def handle(self, request: Request, methods: dict[str, MockOperation]) -> Response:
        op = methods.get(request.method) or (methods.get("GET") if request.method == "HEAD" else None)
        if op is None:
            raise Problem(405, "Method not allowed", f"{request.method} is not an operation of this path",
                          field="method", allowed=sorted(methods))
        try:
            self.rules[(op.method, op.path)].check(request)
            return await self.answer(op, request)
        except Problem as problem:
            return error_response(self.declared.get((op.method, op.path)), problem, self._error_body(op, request))

    def _error_body(self, op: MockOperation, request: Request) -> Callable[[dict], Any]:
        """A body generator for a declared error schema: deterministic per operation and status."""
        def generate(schema: dict) -> Any:
            epoch = self.engine.model.epoch
            ctx = {"created_at": epoch, "now": epoch, "person": False, "fields": {}}
            return self.engine.generator(self.engine.base_seed).value(schema, f"error:{op.method} {op.path}", "$",
                                                                      "body", ctx)
        return generate

    async def answer(self, op: MockOperation, request: Request) -> Response:
        """The operation's answer to a request that passed its checks."""
        view = self.engine.view(workspace_of(request))
        preference = preference_of(request)
        if preference is not None:   # Prism's Prefer: a declared response instead of the world's answer
            answered = await self.preferred(op, request, view, preference)
            if answered is not None:
                return answered
        realistic = self.reality is not None and self.reality.active(view, request)

        async def synthetic() -> Response:
            """The persona world's own answer (a cached read, or a write applied to the store)."""
            if request.method in ("GET", "HEAD"):
                key, version = (*view.snap.key, request.url.path, request.url.query), view.snap.version
                hit = self.cache.get(key)
                keep = True   # False: LLM text still to be written, so the next read computes (and asks) again
                if hit is None:
                    hit = await self.offload(op, request, view)
                    if self.texts is not None:   # LLM text asked for, waited on within its budget (ai/text_writer.py)
                        seen, hit = await self.texts.finish_read(view, hit, lambda fresh: self.read(op, request, fresh))
                        key, version = (*seen.snap.key, request.url.path, request.url.query), seen.snap.version
                        keep = self.texts.cacheable(hit)
                    hit = self.cache.put(key, hit) if keep else hit
                status, body, headers = hit
                fast_ok = request.scope.get("state", {}).get(FAST_OK, version) == version   # no stubs about
                if keep and not realistic and request.method == "GET" and fast_ok \
                        and self.rules[(op.method, op.path)].open:
                    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
                           if k != "X-Mockverse-Workspace"]
                    self.direct.put(key, (status, body, raw + [(b"content-length", str(len(body)).encode())]))
                if headers.get("X-Mockverse-Workspace") != view.workspace:   # the base world's bytes, shared
                    headers = {**headers, "X-Mockverse-Workspace": view.workspace}
                return Response(body, status_code=status, headers=headers, media_type=None)
            return await self.write(op, request, view)

        if realistic:
            return await self.reality.respond(request, op, view, synthetic)  # type: ignore[union-attr]
        return await synthetic()

    async def offload(self, op: MockOperation, request: Request, view: WorldView) -> tuple[int, bytes, dict]:
        """A read computed on a worker thread within its work budget (``BUILD_BUDGET`` entities built),
        so the event loop keeps serving other clients. At most ``HEAVY`` json-server list queries run
        at once; another is a 503 with ``Retry-After`` rather than a wait behind them."""
        if self.workers is None:
            self.workers, self.heavy = anyio.CapacityLimiter(WORKERS), anyio.CapacityLimiter(HEAVY)
        view.budget = Budget(BUILD_BUDGET)
        if not (op.kind in _LIST_KINDS and wants_list_query(request, self._own_params(op), paging=op.spec_world)) \
                or not self.check_list(op, request):
            return await anyio.to_thread.run_sync(self.read, op, request, view, limiter=self.workers)
        try:
            self.heavy.acquire_nowait()
        except anyio.WouldBlock:
            raise Problem(503, "Server busy", f"{HEAVY} list queries are being computed; retry in a second",
                          field="query", headers={"Retry-After": "1"}) from None
        try:
            return await anyio.to_thread.run_sync(self.read, op, request, view, limiter=self.workers)
        finally:
            self.heavy.release()

    def check_list(self, op: MockOperation, request: Request) -> bool:
        """The limits a list query can be held to before any work (values, sort keys, patterns,
        numbers, rows times relations), raised as 400 problems; True when it is heavy (it scans,
        follows parents or carries relations), False when it only names ids or slices."""
        entity = self._listed(op)
        query = parse_list_query(request, entity, self._own_params(op))
        window = slice_params(request)
        asked = self._rows_asked(op, request, window, _page_params(request) if window is None else None)
        if asked is not None:
            check_relations(query, asked[1], asked[0])
        return query.relations() > 0 or bool(query.filters or query.sort) and query.id_filter(entity) is None

    def fast(self, scope: dict) -> tuple[int, bytes, list] | None:
        """A GET already answered purely synthetically at this workspace version: its bytes,
        without routing. None sends the request down the full path (CORS, reality, misses)."""
        workspace, raw = "default", b"default"
        for name, value in scope["headers"]:
            if name == b"x-mockverse-workspace":
                workspace, raw = value.decode("latin-1"), value
            elif name == b"origin" or name == b"x-mockverse-reality" or name == b"prefer":
                return None
        query = scope["query_string"]
        # ?workspace= or ?workspace_id= names another workspace: route it; so is a name the world refuses
        if b"workspace" in query or (raw != b"default" and not WORKSPACE_NAME.match(workspace)):
            return None
        try:
            version = self.engine.store.version(workspace)
        except StoreUnavailable:
            return None
        hit = self.direct.get((*self.engine.cache_key(workspace, version), scope["path"], query.decode("latin-1")))
        if hit is None:
            return None
        status, body, headers = hit
        return status, body, [(b"x-mockverse-workspace", raw), *headers]

    def _headers(self, view: WorldView, persona: str | None, extra: dict | None = None) -> dict[str, str]:
        headers = {"content-type": "application/json", "X-Mockverse-Workspace": view.workspace,
                   "X-Mockverse-Source": "synthetic", "X-Mockverse-Reality": "0"}
        if view.degraded:
            headers["X-Mockverse-Store"] = "unavailable"
        if persona:
            headers["X-Mockverse-Persona"] = persona
            state = view.persona_state(persona)
            if state:
                headers["X-Mockverse-Lifecycle"] = state
        if extra:
            headers.update(extra)
        return headers

    def _id(self, op: MockOperation, request: Request) -> object:
        raw = request.path_params.get(_safe(op.id_param or ""))
        entity = op.entity
        parsed = entity.parse_id(raw) if entity else raw  # type: ignore[union-attr]
        if parsed is None:
            raise Problem(400, "Invalid path parameter",
                          f"{op.id_param} must be {entity.id_rule() if entity else 'an id'}",
                          field=op.id_param)
        return parsed

    def _missing(self, entity: EntityType, id: object) -> Problem:
        return Problem(404, "Not found", f"{entity.name} {id} does not exist", field="id")

    def read(self, op: MockOperation, request: Request, view: WorldView) -> tuple[int, bytes, dict]:
        """Answer a GET: status, serialised body and headers (cached by the caller)."""
        if op.kind in _LIST_KINDS and wants_list_query(request, self._own_params(op), paging=op.spec_world):
            return self.read_list(op, request, view)   # json-server list queries (conventions)
        if op.spec_world:
            return self.read_spec(op, request, view)
        if op.kind == "item":
            id = self._id(op, request)
            body = view.body(op.entity, id, op.schema)  # type: ignore[arg-type]
            if body is None:
                raise self._missing(op.entity, id)  # type: ignore[arg-type]
            return op.status, orjson.dumps(body), self._headers(view, view.persona(op.entity, body))  # type: ignore[arg-type]
        if op.kind == "facet" and request.method == "GET":
            id = self._id(op, request)
            body = view.facet(op.entity, id, op.relationship, op.schema)  # type: ignore[arg-type]
            if body is None:
                raise self._missing(op.entity, id)  # type: ignore[arg-type]
            return op.status, orjson.dumps(body), self._headers(view, view.persona(op.entity, view.get(op.entity, id)))  # type: ignore[arg-type]
        if op.kind == "children":
            id = self._id(op, request)
            if view.get(op.entity, id) is None:  # type: ignore[arg-type]
                raise self._missing(op.entity, id)  # type: ignore[arg-type]
            items = view.children(op.entity, id, op.relationship)  # type: ignore[arg-type]
            return self._list(request, view, items, f"{op.entity.name}:{id}")  # type: ignore[union-attr]
        if op.kind == "collection":
            entity: EntityType = op.entity  # type: ignore[assignment]
            for name in op.query_filters:
                if name in request.query_params:
                    parent_id = entity.parent.parse_id(request.query_params[name])  # type: ignore[union-attr]
                    items = (
                        view.children(entity.parent, parent_id, entity.relationship) if parent_id is not None else []
                    )  # type: ignore[arg-type]
                    persona = f"{entity.parent.name}:{parent_id}" if items else None  # type: ignore[union-attr]
                    return self._list(request, view, items, persona)
            total = view.count(entity)
            page = _page_params(request, total) or (1, 20)
            if view.budget is not None:
                view.budget.param = next((n for n in ("_page", "_per_page", "_limit") if n in request.query_params),
                                         "_per_page")
            items = view.page(entity, *page)
            status, body, headers = self._list(request, view, items, None, paged=False)
            headers.update(_links(request, page[0], page[1], total))
            return status, body, headers
        return self._schema_only(op, view)

    def _list(self, request: Request, view: WorldView, items: list, persona: str | None,
              paged: bool = True) -> tuple[int, bytes, dict]:
        headers: dict[str, str] = {}
        if paged:
            params = _page_params(request, len(items))
            if params is not None:
                page, per_page = params
                headers = _links(request, page, per_page, len(items))
                items = items[(page - 1) * per_page: page * per_page]
            else:
                headers["X-Total-Count"] = str(len(items))
        return 200, orjson.dumps(items), self._headers(view, persona, headers)

    def _schema_only(self, op: MockOperation, view: WorldView) -> tuple[int, bytes, dict]:
        """An operation that is not an entity path: its first example, or a body generated from its schema."""
        if op.examples:
            body = next(iter(op.examples.values()))
        elif op.schema:
            ctx = {"created_at": view.now, "now": view.now, "person": False, "fields": {}}
            body = view.gen.value(op.schema, f"route:{op.method} {op.path}", "$", "body", ctx)
        else:
            return op.status, b"", self._headers(view, None)
        return op.status, orjson.dumps(body), self._headers(view, None)

    # -- writes -----------------------------------------------------------------------------
    async def write(self, op: MockOperation, request: Request, view: WorldView) -> Response:
        if op.spec_world:
            return await self.write_spec(op, request, view)
        if op.entity is None:
            body = await read_json(request, self.max_body_bytes, required=False)
            check_body(op.validator, body)
            status, raw, headers = self._schema_only(op, view)
            return Response(raw, status_code=status, headers=headers, media_type=None)
        if request.method == "DELETE":
            if op.kind != "item":
                raise Problem(405, "Method not allowed", "DELETE works on an item path", field="method")
            id = self._id(op, request)
            view.delete(op.entity, id)
            return Response(status_code=204, headers=self._headers(view, None))
        body = await read_json(request, self.max_body_bytes)
        if not isinstance(body, dict):
            raise Problem(422, "Invalid body", "the body must be a JSON object", field="body")
        check_body(op.validator, body)
        if op.kind == "item":
            id = self._id(op, request)
            data = view.update(op.entity, id, body, replace=request.method == "PUT")
            return self._written(view, op.entity, data, op.status or 200)  # type: ignore[arg-type]
        if op.kind == "children" and request.method == "POST":
            parent_id = self._id(op, request)
            if view.get(op.entity, parent_id) is None:  # type: ignore[arg-type]
                raise self._missing(op.entity, parent_id)  # type: ignore[arg-type]
            child = op.entity.children[op.relationship]  # type: ignore[union-attr,index]
            body = {k: v for k, v in body.items() if k not in child.fk_spellings()}
            body[child.fk] = parent_id
            data = view.create(child, body)
            return self._written(view, child, data, 201, location=True)
        if op.kind == "collection" and request.method == "POST":
            data = view.create(op.entity, body)  # type: ignore[arg-type]
            return self._written(view, op.entity, data, 201, location=True)  # type: ignore[arg-type]
        raise Problem(405, "Method not allowed", f"{request.method} is not supported on {op.path}", field="method")

    def _written(
        self, view: WorldView, entity: EntityType, data: dict, status: int, location: bool = False
    ) -> Response:
        fresh = self.engine.view(view.workspace)
        extra = {"Location": f"{entity.config.path.rstrip('/')}/{data['id']}"} if location else {}
        headers = self._headers(fresh, fresh.persona(entity, data), extra)
        return Response(orjson.dumps(data), status_code=status, headers=headers, media_type=None)

    # -- bodies for other protocols (webhooks, TCP) ---------------------------------------------
    def item_body(self, view: WorldView, entity: EntityType, id: object) -> Any:
        """What ``GET`` of the entity's item path answers (``GET /users/{id}``), rendered exactly as
        ``read`` renders it; the entity's own fields when the spec has no item path; None if missing."""
        if view.get(entity, id) is None:
            return None
        op = next((op for methods in self.by_path.values() for op in methods.values()
                   if op.method == "GET" and op.kind == "item" and op.entity is entity and op.id_param), None)
        if op is None:
            return view.body(entity, id, None)
        if op.spec_world:
            return Renderer(view).entity(entity, id, op.schema) if op.schema else None  # type: ignore[arg-type]
        return view.body(entity, id, op.schema)


    # -- a world built from a user's spec -------------------------------------------------------
    def _entity_id(self, entity: EntityType, name: str, request: Request) -> object:
        raw = request.path_params.get(_safe(name))
        parsed = entity.parse_id(raw)
        if parsed is None:
            raise Problem(400, "Invalid path parameter",
                          f"{name} must be {'a positive integer' if entity.integer_ids else 'an id'}", field=name)
        return parsed

    def _resolve(
        self, op: MockOperation, request: Request, view: WorldView
    ) -> dict[str, tuple[EntityType, object, dict]]:
        """Every path parameter that names an entity, parsed and looked up: 404 for one that does not exist."""
        found: dict[str, tuple[EntityType, object, dict]] = {}
        for name, entity in op.bound:
            parsed = entity.parse_id(request.path_params.get(_safe(name)))
            data = view.get(entity, parsed) if parsed is not None else None
            keyed = None
            if data is None and isinstance(entity, SpecEntityType) and entity.keys:
                keyed = entity.by_key(view, request.path_params.get(_safe(name)))
            named = isinstance(entity, SpecEntityType) and bool(entity.keys)   # the value may be a key, not an id
            id = keyed if keyed is not None else parsed if parsed is not None or named else \
                self._entity_id(entity, name, request)
            id = request.path_params.get(_safe(name)) if id is None else id
            data = data if keyed is None else view.get(entity, keyed)
            if data is None:
                raise Problem(404, "Not found", f"{entity.name} {id} does not exist", field=name)
            found[name] = (entity, id, data)
        if op.kind == "item" and op.parent_param and op.id_param in found and op.parent_param in found:
            entity, id, data = found[op.id_param]
            if data.get(entity.fk) != found[op.parent_param][1]:  # type: ignore[arg-type]
                raise Problem(404, "Not found", f"{entity.name} {id} does not belong to {entity.parent.name} "  # type: ignore[union-attr]
                              f"{found[op.parent_param][1]}", field=op.id_param)
        return found

    def _paging(self, op: MockOperation, request: Request) -> tuple[int, int]:
        """(offset, page size) from the operation's own paging parameters (limit/offset, page/pageSize, ...)."""
        q = request.query_params
        window = slice_params(request)
        if window is not None:
            return window[0], window[1] - window[0]
        declared = {p.name: p.schema or {} for p in op.query}
        size_name = next((n for n in _LIMIT_NAMES if n in q), None)
        default = next((declared[n].get("default") for n in _LIMIT_NAMES if n in declared
                        and isinstance(declared[n].get("default"), int)), 20)
        size = self._int_param(q, size_name, 1) if size_name else default
        ceiling = next((declared[n].get("maximum") for n in _LIMIT_NAMES if n in declared
                        and isinstance(declared[n].get("maximum"), int)), 1000)
        size = max(1, min(size, ceiling, 1000))
        if "offset" in q:
            return self._int_param(q, "offset", 0), size
        page_name = next((n for n in _PAGE_NAMES if n in q), None)
        page = self._int_param(q, page_name, 1) if page_name else 1
        return (page - 1) * size, size

    @staticmethod
    def _int_param(q: Any, name: str, low: int) -> int:
        raw = q.get(name, "")
        if not is_decimal(raw) or int(raw) < low:
            raise Problem(400, "Invalid query parameter", f"{name} must be an integer of at least {low}", field=name)
        return int(raw)

    def read_spec(self, op: MockOperation, request: Request, view: WorldView) -> tuple[int, bytes, dict]:
        """Answer a GET of a spec world (see the module notes for the kinds)."""
        found = self._resolve(op, request, view)
        render = Renderer(view)
        key = request.url.path + ("?" + request.url.query if request.url.query else "")
        if op.kind == "item" and op.entity is not None:
            if op.id_param is None:   # /me
                found[""] = (op.entity, op.entity.root_id(1), view.get(op.entity, op.entity.root_id(1)) or {})
            entity, id, data = found[op.id_param or ""]
            body = render.entity(entity, id, op.schema) if op.schema else None  # type: ignore[arg-type]
            return self._answer(op, view, body, view.persona(entity, data))
        if op.kind in ("children", "related") and op.entity is not None:
            entity, id, data = found[op.id_param]  # type: ignore[index]
            persona = view.persona(entity, data)
            target: SpecEntityType = op.target  # type: ignore[assignment]
            if op.kind == "children":
                rows = view.children(entity, id, op.relationship)  # type: ignore[arg-type]
            else:
                rows = self._related_rows(view, entity, id, target, op.path)
            return self._list_answer(op, request, view, render, target, rows, len(rows), key, persona)
        if op.kind == "collection" and op.entity is not None:
            return self._collection(op, request, view, render, key)
        if op.kind == "search" and op.target is not None:
            rows = self._search(op, request, view)
            return self._list_answer(op, request, view, render, op.target, rows, len(rows), key, None)  # type: ignore[arg-type]
        if op.kind == "facet" and op.entity is not None:
            entity, id, data = found[op.id_param]  # type: ignore[index]
            body = view.facet(entity, id, op.relationship, op.schema)  # type: ignore[arg-type]
            if body is None or not fits(body, op.schema):
                return self._schema_answer(op, view, key, view.persona(entity, data))
            return self._answer(op, view, body, view.persona(entity, data))
        persona = next((view.persona(e, d) for e, _, d in reversed(list(found.values()))), None)
        return self._schema_answer(op, view, key, persona)

    def _collection(self, op: MockOperation, request: Request, view: WorldView, render: Renderer,
                    key: str) -> tuple[int, bytes, dict]:
        entity: SpecEntityType = op.entity  # type: ignore[assignment]
        q = request.query_params
        for name in op.query_filters:
            if name in q:
                parent_id = entity.parent.parse_id(q[name])  # type: ignore[union-attr]
                rows = view.children(entity.parent, parent_id, entity.relationship) if parent_id is not None else []  # type: ignore[arg-type]
                return self._list_answer(op, request, view, render, entity, rows, len(rows), key, None)
        ids_param = next((n for n in ("ids", "id") if n in q and any(p.name == n for p in op.query)), None)
        if ids_param:
            wanted = [entity.parse_id(raw.strip()) for raw in q[ids_param].split(",") if raw.strip()]
            rows = [d for d in (view.get(entity, i) for i in wanted if i is not None) if d is not None]
            return self._list_answer(op, request, view, render, entity, rows, len(rows), key, None)
        offset, size = self._paging(op, request)
        total = view.count(entity)
        rows = view.rows(entity, offset, offset + size)
        return self._list_answer(op, request, view, render, entity, rows, total, key, None, paged=(offset, size))

    @staticmethod
    def _related_rows(view: WorldView, parent: EntityType, id: object, target: SpecEntityType, path: str) -> list[dict]:
        """The entities a nested list of another type shows: those whose key names the parent
        (``/sites/{site_id}/dns`` lists the zones whose ``site_id`` is that site) when the listed type
        has such a key, else a stable selection of existing ones."""
        keys = [r.field for r in target.references if r.target is parent and not r.many]
        if not keys:
            ids = Renderer(view).sample(target, (f"{parent.name}:{id}", path), most=6)
            return [d for d in (view.get(target, i) for i in ids) if d is not None]
        rows = []
        for index, data in enumerate(view.all_of(target)()):
            if index >= SCAN_LIMIT:
                break
            if any(data.get(key) == id for key in keys):
                rows.append(data)
        return rows

    def _search(self, op: MockOperation, request: Request, view: WorldView) -> list[dict]:
        """Entities of the listed type whose fields equal the query's values (``?status=sold``), in order."""
        entity: SpecEntityType = op.target  # type: ignore[assignment]
        props = entity.schema.get("properties", {})
        filters = {n: {v.strip() for v in value.split(",")} for n, value in request.query_params.items() if n in props}
        rows = []
        for index, data in enumerate(view.all_of(entity)()):
            if index >= 500 or len(rows) >= 200:
                break
            if all(str(data.get(n)).lower() in {v.lower() for v in vs} or
                   isinstance(data.get(n), list) and {str(x) for x in data[n]} & vs for n, vs in filters.items()):
                rows.append(data)
        return rows

    def _list_answer(self, op: MockOperation, request: Request, view: WorldView, render: Renderer,
                     entity: SpecEntityType, rows: list[dict], total: int, key: str, persona: str | None,
                     paged: tuple[int, int] | None = None) -> tuple[int, bytes, dict]:
        """A list response: the rows of this page placed in the operation's schema, paging fields agreeing."""
        if paged is None:
            offset, size = self._paging(op, request)
            rows = rows[offset: offset + size]
        else:
            offset, size = paged
        if op.schema is None:
            return self._answer(op, view, None, persona)
        body = render.page(entity, [], op.schema, f"route:{key}", total=total, per_page=size, offset=offset, datas=rows)
        if body is MISSING:
            body = self._example_page(op, render, entity, rows)
        if body is MISSING:
            return self._schema_answer(op, view, key, persona)
        return self._answer(op, view, body, persona, {"X-Total-Count": str(total)})

    @staticmethod
    def _example_page(op: MockOperation, render: Renderer, entity: SpecEntityType, rows: list[dict]) -> Any:
        """A list whose schema describes one entity but whose example shows the envelope (``{data: [...]}``):
        the example's envelope around this page's rows, each shaped as the schema; MISSING otherwise."""
        if entity_slots(op.schema, entity) != [[]]:
            return MISSING
        for example in op.examples.values():
            for name, value in example.items() if isinstance(example, dict) else ():
                if (
                    isinstance(value, list)
                    and value
                    and all(isinstance(v, dict) and entity.id_field in v for v in value)
                ):
                    return {**example, name: [render.shape(entity, d.get(entity.id_field), d, op.schema) for d in rows]}
        return MISSING

    def _answer(self, op: MockOperation, view: WorldView, body: Any, persona: str | None,
                extra: dict | None = None) -> tuple[int, bytes, dict]:
        if body is None and op.schema is None:
            return op.status, b"", self._headers(view, persona, extra)
        return op.status, orjson.dumps(body), self._headers(view, persona, extra)

    def _schema_answer(
        self, op: MockOperation, view: WorldView, key: str, persona: str | None
    ) -> tuple[int, bytes, dict]:
        """The operation's first example that fits its schema, else a body generated from the schema (keyed by URL)."""
        if op.schema is None:
            example = next(iter(op.examples.values()), None) if op.examples else None
            return op.status, (orjson.dumps(example) if example is not None else b""), self._headers(view, persona)
        for example in op.examples.values():
            if fits(example, op.schema):
                return op.status, orjson.dumps(example), self._headers(view, persona)
        ctx = {"created_at": view.now, "now": view.now, "person": False, "fields": {}}
        body = view.gen.value(op.schema, f"route:{op.method} {key}", "$", "body", ctx)
        return op.status, orjson.dumps(body), self._headers(view, persona)

    async def write_spec(self, op: MockOperation, request: Request, view: WorldView) -> Response:
        """A write of a spec world: the body checked against the spec, then kept as in the built-in world."""
        schema = op.validator.schema if op.validator is not None else None
        body = await read_form_or_json(request, self.max_body_bytes, schema, required=op.body_required)
        check_body(op.validator, body)
        key = request.url.path
        written = op.target if op.kind == "children" else op.entity
        if isinstance(written, SpecEntityType):
            body = _own_spelling(written, _unwrapped(written, body))
        found = self._resolve(op, request, view)
        creates = (op.kind == "collection" and request.method == "POST") or \
                  (op.kind == "children" and request.method == "POST")
        if creates:
            entity: SpecEntityType = op.entity if op.kind == "collection" else op.target  # type: ignore[assignment]
            data = dict(body) if isinstance(body, dict) else {}
            if op.kind == "children":
                parent_id = found[op.id_param][1]  # type: ignore[index]
                data = {k: v for k, v in data.items() if k not in entity.fk_spellings()}
                data[entity.fk] = parent_id  # type: ignore[index]
            explicit = data.get(entity.id_field) if entity.id_field != "id" else None
            created = view.create(entity, data, id=explicit)
            return self._written_spec(op, view, entity, created, location=True)
        if op.kind == "item" and op.entity is not None:
            entity, id, _ = found[op.id_param]  # type: ignore[index,assignment]
            if request.method == "DELETE":
                view.delete(entity, id)
                fresh = self.engine.view(view.workspace)
                status, raw, headers = (
                    self._schema_answer(op, fresh, key, None)
                    if op.status != 204
                    else (204, b"", self._headers(fresh, None))
                )
                return Response(raw, status_code=status, headers=headers, media_type=None)
            if request.method in ("PUT", "PATCH", "POST"):
                if not isinstance(body, dict):
                    raise Problem(422, "Invalid body", "the body must be a JSON object", field="body")
                data = view.update(entity, id, body, replace=request.method == "PUT")
                return self._written_spec(op, view, entity, data)  # type: ignore[arg-type]
        persona = next((view.persona(e, d) for e, _, d in reversed(list(found.values()))), None)
        status, raw, headers = self._schema_answer(op, view, key, persona)
        return Response(raw, status_code=status, headers=headers, media_type=None)

    def _written_spec(self, op: MockOperation, view: WorldView, entity: SpecEntityType, data: dict,
                      location: bool = False) -> Response:
        """The written entity in the shape of the operation's response, with Location for a creation."""
        fresh = self.engine.view(view.workspace)
        id = data.get(entity.id_field)
        extra = {}
        item_path = entity.inferred.item_path if entity.inferred is not None else None
        if location and item_path:
            params = re.findall(r"\{([^}]+)\}", item_path)
            values = {params[-1]: id}
            if len(params) > 1 and entity.parent is not None:
                values[params[-2]] = data.get(entity.fk)  # type: ignore[arg-type]
            extra["Location"] = re.sub(r"\{([^}]+)\}", lambda m: str(values.get(m.group(1), m.group(0))), item_path)
        headers = self._headers(fresh, fresh.persona(entity, data), extra)
        if op.schema is None:
            return Response(b"", status_code=op.status, headers=headers, media_type=None)
        body = Renderer(fresh).entity(entity, id, op.schema)
        return Response(orjson.dumps(body), status_code=op.status, headers=headers, media_type=None)

    # -- conventions of peer mock servers: Prism's Prefer, json-server's list queries ------------
    async def preferred(self, op: MockOperation, request: Request, view: WorldView,
                        preference: Preference) -> Response | None:
        """The declared response a ``Prefer`` asks for; None when it asks for the world's own answer
        (the success code, dynamic, no named example), which then takes the usual path."""
        declared = self.declared.get((op.method, op.path))
        status, response = declared_response(declared, preference, op.status)
        if preference.example is None and preference.dynamic is not False and status == op.status:
            return None
        if request.method not in ("GET", "HEAD"):   # an invalid request is a 422 whatever is preferred
            check_body(op.validator, await read_json(request, self.max_body_bytes, required=False))
        name, value = chosen_example(response, preference)
        schema = getattr(response, "schema", None)
        media = getattr(response, "media_type", None) or ""
        problem = "problem" in media
        if name is None:
            body = problem_body(status, f"the {status} response {op.method} {op.path} declares "
                                        f"(asked for with {preference.fields.get('code', 'Prefer')})")
            if status >= 400 and fits_problem(schema, body):
                value, problem = body, True
            elif schema is not None:
                static = preference.dynamic is False
                ref = f"prefer:{op.method} {op.path} {status}" if static else \
                    f"prefer:{op.method} {request.url.path}?{request.url.query} {status}"
                ctx = {"created_at": view.now, "now": view.now, "person": False, "fields": {}}
                value = view.gen.value(schema, ref, "$", "body", ctx)
        extra = {"Preference-Applied": preference.applied(), "X-Mockverse-Source": "spec"}
        if name is not None:
            extra["X-Mockverse-Example"] = name
        headers = self._headers(view, None, extra)
        headers["content-type"] = PROBLEM if problem else "application/json"
        raw = b"" if value is None or status in (204, 304) else orjson.dumps(value)
        return Response(raw, status_code=status, headers=headers, media_type=None)

    def _own_params(self, op: MockOperation) -> frozenset[str]:
        """Query names the operation reads itself (declared, foreign-key spellings): not json-server
        filters, except declared names that are fields of a collection (``/pets?status=sold``).
        Worked out once per operation."""
        key = (op.method, op.path)
        known = self.own_params.get(key)
        if known is None:
            own = {p.name for p in op.query} | set(op.query_filters)
            if op.kind != "search":
                listed = self._listed(op)
                own -= set(merge_schema(listed.schema or {}).get("properties") or {}) - set(op.query_filters)
            known = self.own_params[key] = frozenset(own)
        return known

    @staticmethod
    def _listed(op: MockOperation) -> EntityType:
        """The entity type a list operation lists."""
        if op.spec_world and op.kind != "collection":
            return op.target  # type: ignore[return-value]
        if op.kind == "children":
            return op.entity.children[op.relationship]  # type: ignore[union-attr,index]
        return op.entity  # type: ignore[return-value]

    def read_list(self, op: MockOperation, request: Request, view: WorldView) -> tuple[int, bytes, dict]:
        """A list read with json-server parameters: filtered, sorted, then paged or sliced (the total
        counts the filtered rows), with ``_embed`` children and ``_expand`` parents on the rows of the
        page. What the query asks is checked against the limits before any row is built."""
        entity = self._listed(op)
        query = parse_list_query(request, entity, self._own_params(op))
        window = slice_params(request)
        checks = [n for n in ("_page", "_start") if n in request.query_params]
        if view.budget is not None and checks:
            view.budget.param = checks[0]
        collection = view.count(entity) if op.kind == "collection" and checks else None
        params = _page_params(request, collection) if window is None else None
        if window is not None and collection is not None:
            check_start(window[0], collection)
        asked = self._rows_asked(op, request, window, params)
        if asked is not None:
            check_relations(query, asked[1], asked[0])
        if view.budget is not None:
            view.budget.param = self._cost_param(query, entity, asked)
        rows, total, paged, scanned, persona = self._list_rows(op, request, view, entity, query, window)
        if not paged:
            rows = apply_sort(apply_filters(rows, query), query)
            total = len(rows)
        extra = {"X-Mockverse-Scanned": scanned} if scanned else {}
        if view.budget is not None and query.relations():
            view.budget.param = query.relation_param()
        if op.spec_world:
            key = request.url.path + "?" + request.url.query
            status, body, headers = self._list_answer(op, request, view, Renderer(view), entity, rows, total, key,  # type: ignore[arg-type]
                                                      persona, paged=(0, max(len(rows), 1)) if paged else None)
            if params is not None:
                offset, size = self._paging(op, request)
                headers.update(_links(request, offset // size + 1, size, total))
            if (query.embed or query.expand) and op.schema is not None:
                body = self._embed_into(view, entity, op, body, query)
            headers.update(extra)
            return status, body, headers
        if window is not None:
            rows = rows if paged else rows[window[0]:window[1]]
            extra["X-Total-Count"] = str(total)
        elif params is not None and not paged:
            page, per_page = _page_params(request, total)  # type: ignore[misc]
            extra.update(_links(request, page, per_page, total))
            rows = rows[(page - 1) * per_page: page * per_page]
        elif paged:   # the usual page of the collection, linked like GET /users
            page, per_page = params or (1, 20)
            extra.update(_links(request, page, per_page, total))
        else:
            extra["X-Total-Count"] = str(total)
        check_relations(query, len(rows), asked[0] if asked else "_per_page")
        rows = [self._with_relations(view, entity, row, query) for row in rows]
        return 200, orjson.dumps(rows), self._headers(view, persona, extra)

    def _rows_asked(self, op: MockOperation, request: Request, window: tuple[int, int] | None,
                    params: tuple[int, int] | None) -> tuple[str, int] | None:
        """(parameter, rows) a list query asks for by its paging or slice, when it says."""
        q = request.query_params
        if window is not None:
            return ("_end" if "_end" in q else "_limit"), window[1] - window[0]
        if params is not None:
            return ("_limit" if "_limit" in q else "_per_page"), params[1]
        if op.spec_world:
            return "_per_page", self._paging(op, request)[1]
        return None

    @staticmethod
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

    def _list_rows(self, op: MockOperation, request: Request, view: WorldView, entity: EntityType,
                   query: ListQuery, window: tuple[int, int] | None = None
                   ) -> tuple[list[dict], int, bool, str | None, str | None]:
        """(rows, total, already paged, scan note, persona) before filtering: a parent's children when
        the path or a foreign-key filter names it, the entities an id filter names, else the collection
        (bounded by SCAN_LIMIT)."""
        if op.kind == "children" and not op.spec_world:
            id = self._id(op, request)
            if view.get(op.entity, id) is None:  # type: ignore[arg-type]
                raise self._missing(op.entity, id)  # type: ignore[arg-type]
            rows = view.children(op.entity, id, op.relationship)  # type: ignore[arg-type]
            return rows, len(rows), False, None, f"{op.entity.name}:{id}"  # type: ignore[union-attr]
        if op.kind in ("children", "related"):
            parent, id, data = self._resolve(op, request, view)[op.id_param]  # type: ignore[index]
            if op.kind == "children":
                rows = view.children(parent, id, op.relationship)  # type: ignore[arg-type]
            else:
                rows = self._related_rows(view, parent, id, op.target, op.path)  # type: ignore[arg-type]
            return rows, len(rows), False, None, view.persona(parent, data)
        if op.kind == "search":
            rows = self._search(op, request, view)
            return rows, len(rows), False, None, None
        parent_ids = query.parent_filter(entity)
        if parent_ids is not None and entity.parent is not None:
            rows, personas = [], []
            for raw in parent_ids:   # each named parent's children, in the order asked
                parent_id = entity.parent.parse_id(raw)
                if parent_id is not None and view.get(entity.parent, parent_id) is not None:
                    kids = view.children(entity.parent, parent_id, entity.relationship)  # type: ignore[arg-type]
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
        if op.spec_world:   # only _embed/_expand: the usual page of the collection
            offset, size = self._paging(op, request)
            rows = view.rows(entity, offset, offset + size)
        elif window is not None:
            rows = view.rows(entity, *window)
        else:
            page, per_page = _page_params(request) or (1, 20)
            rows = view.page(entity, page, per_page)
        return rows, view.count(entity), True, None, None

    def _with_relations(self, view: WorldView, entity: EntityType, row: dict, query: ListQuery) -> dict:
        """A row with its ``_embed`` children and ``_expand`` parent under their names."""
        if not query.embed and not query.expand:
            return row
        children, _ = relation_names(entity)
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
            elif isinstance(entity, SpecEntityType) and entity.parent is not None:   # as its item route renders it
                out[name] = self._referenced(view, entity.parent, row.get(entity.fk))
            else:
                out[name] = view.get(entity.parent, row.get(entity.fk)) if entity.parent is not None else None  # type: ignore[arg-type]
        return out

    def _referenced(self, view: WorldView, target: EntityType, raw: object) -> Any:
        """The entity a reference value names, as its item route renders it; None when there is none."""
        id = target.parse_id(raw) if raw is not None else None
        return self.item_body(view, target, id) if id is not None else None

    def _embed_into(self, view: WorldView, entity: EntityType, op: MockOperation, body: bytes,
                    query: ListQuery) -> bytes:
        """Relations added to the rendered items of a spec world's list response."""
        slot = list_slot(op.schema, entity)  # type: ignore[arg-type]
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


def _unwrapped(entity: SpecEntityType, body: Any) -> Any:
    """A request body's entity fields: ``{"article": {...}}`` and ``{"data": {...}}`` envelopes opened."""
    if not isinstance(body, dict) or len(body) != 1:
        return body
    (name, inner), = body.items()
    own = entity.schema.get("properties") or {}
    names = {entity.name, entity.segment.lower(), singular(snake(entity.segment)), "data", "item", "record", "resource"}
    if isinstance(inner, dict) and name not in own and snake(str(name)) in names:
        return inner
    return body


def _own_spelling(entity: SpecEntityType, body: Any) -> Any:
    """Request fields renamed to the entity's own spelling where only case differs (``FriendlyName``
    is ``friendly_name``): form APIs write PascalCase and answer snake_case."""
    if not isinstance(body, dict):
        return body
    own = entity.schema.get("properties") or {}
    loose = {re.sub(r"[^a-z0-9]", "", str(name).lower()): name for name in own}
    out = {}
    for name, value in body.items():
        spelled = name if name in own else loose.get(re.sub(r"[^a-z0-9]", "", str(name).lower()), name)
        prop = own.get(spelled)
        out.setdefault(spelled, _as_declared(value, prop) if spelled != name and isinstance(prop, dict) else value)
    return out


def _as_declared(value: Any, prop: dict) -> Any:
    """A written scalar in the JSON type the entity's own field declares (a form's ``true`` for a string field)."""
    kinds = _types_of(prop)
    if isinstance(value, bool) and "boolean" not in kinds and "string" in kinds:
        return "true" if value else "false"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not kinds & {"integer", "number"} \
            and "string" in kinds:
        return str(value)
    return value


def workspace_of(request: Request) -> str:
    """The workspace of a request: the X-Mockverse-Workspace header, ?workspace= (or ?workspace_id=), or "default"."""
    return (request.headers.get("x-mockverse-workspace") or request.query_params.get("workspace")
            or request.query_params.get("workspace_id") or "default")


def _safe(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _starlette_path(path: str) -> str:
    """OpenAPI path params may hold characters Starlette's router does not take: rename them."""
    return re.sub(r"\{([^}]+)\}", lambda m: "{" + _safe(m.group(1)) + "}", path)
