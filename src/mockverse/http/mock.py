"""Mock routes: every operation of the loaded spec, served from the persona world.

Each operation is classified once against the world model: a collection (``/orders``),
an item (``/orders/{id}``), the children of an item (``/users/{id}/orders``), or a
schema-only operation answered from its examples or its schema. Reads are cached as
serialised bytes keyed by workspace version, so a repeated read of an unchanged entity
is one store lookup and a dictionary hit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Protocol

import orjson
from jsonschema import Draft202012Validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockverse.store import StoreUnavailable
from mockverse.http.errors import Problem, check_body, read_json
from mockverse.world.engine import LRU, ConsistencyEngine, EngineError, WorldView
from mockverse.world.model import EntityType

_PARAM = re.compile(r"^\{([^}]+)\}$")


def to_json_schema(schema: Any, memo: dict[int, Any] | None = None) -> Any:
    """An OpenAPI schema as JSON Schema 2020-12: ``nullable: true`` becomes a null type.
    Recursive schemas stay recursive (the copy shares its cycles)."""
    memo = {} if memo is None else memo
    if isinstance(schema, list):
        return [to_json_schema(s, memo) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if id(schema) in memo:
        return memo[id(schema)]
    out: dict = {}
    memo[id(schema)] = out
    for key, value in schema.items():
        if key in ("nullable", "discriminator", "xml", "externalDocs", "example") or key.startswith("x-"):
            continue
        if key in ("properties", "patternProperties", "$defs", "definitions"):
            out[key] = {k: to_json_schema(v, memo) for k, v in value.items()} if isinstance(value, dict) else value
        else:
            out[key] = to_json_schema(value, memo)
    if schema.get("nullable") is True:
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = types + ["null"] if "null" not in types else types
        if "enum" in out and None not in out["enum"]:
            out["enum"] = list(out["enum"]) + [None]
    return out


def validator_for(schema: dict | None) -> Draft202012Validator | None:
    if not schema:
        return None
    return Draft202012Validator(to_json_schema(schema), format_checker=Draft202012Validator.FORMAT_CHECKER)


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


def classify(op: Any, engine: ConsistencyEngine) -> MockOperation:
    """Decide how the world answers ``op`` from its path: collection, item, children or schema."""
    model = engine.model
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
                         validator_for(op.request_schema), filters)


def _page_params(request: Request) -> tuple[int, int] | None:
    q = request.query_params
    if "_page" not in q and "_per_page" not in q and "_limit" not in q:
        return None
    values = {}
    for name, default, high in (("_page", 1, None), ("_per_page", 20, 1000), ("_limit", None, 1000)):
        raw = q.get(name)
        if raw is None:
            values[name] = default
            continue
        if not raw.isdigit() or int(raw) < 1 or (high and int(raw) > high):
            raise Problem(400, "Invalid query parameter", f"{name} must be an integer from 1 to {high or 'any'}",
                          field=name)
        values[name] = int(raw)
    return values["_page"], values["_limit"] or values["_per_page"]


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

    def __init__(self, engine: ConsistencyEngine, operations: list, max_body_bytes: int) -> None:
        self.engine = engine
        self.max_body_bytes = max_body_bytes
        self.cache = LRU(20_000)
        self.direct = LRU(20_000)
        self.reality: RealityHook | None = None
        self.by_path: dict[str, dict[str, MockOperation]] = {}
        for op in operations:
            mock = classify(op, engine)
            self.by_path.setdefault(op.path, {})[mock.method] = mock

    def routes(self) -> list[Route]:
        out = []
        for path, methods in self.by_path.items():
            async def endpoint(request: Request, _methods: dict = methods) -> Response:
                return await self.handle(request, _methods)
            out.append(Route(_starlette_path(path), endpoint, methods=sorted(methods)))
        return out

    # -- dispatch ---------------------------------------------------------------------------
    async def handle(self, request: Request, methods: dict[str, MockOperation]) -> Response:
        op = methods.get(request.method) or (methods.get("GET") if request.method == "HEAD" else None)
        if op is None:
            raise Problem(405, "Method not allowed", f"{request.method} is not an operation of this path",
                          field="method", allowed=sorted(methods))
        view = self.engine.view(workspace_of(request))
        realistic = self.reality is not None and self.reality.active(view, request)

        async def synthetic() -> Response:
            """The persona world's own answer (a cached read, or a write applied to the store)."""
            if request.method in ("GET", "HEAD"):
                key = (view.workspace, view.snap.version, request.url.path, request.url.query)
                hit = self.cache.get(key)
                if hit is None:
                    hit = self.cache.put(key, self.read(op, request, view))
                status, body, headers = hit
                if not realistic and request.method == "GET":
                    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
                    self.direct.put(key, (status, body, raw + [(b"content-length", str(len(body)).encode())]))
                return Response(body, status_code=status, headers=headers, media_type=None)
            return await self.write(op, request, view)

        if realistic:
            return await self.reality.respond(request, op, view, synthetic)  # type: ignore[union-attr]
        return await synthetic()

    def fast(self, scope: dict) -> tuple[int, bytes, list] | None:
        """A GET already answered purely synthetically at this workspace version: its bytes,
        without routing. None sends the request down the full path (CORS, reality, misses)."""
        workspace = "default"
        for name, value in scope["headers"]:
            if name == b"x-mockverse-workspace":
                workspace = value.decode("latin-1")
            elif name == b"origin" or name == b"x-mockverse-reality":
                return None
        query = scope["query_string"]
        if b"workspace=" in query:
            return None
        try:
            version = self.engine.store.version(workspace)
        except StoreUnavailable:
            return None
        return self.direct.get((workspace, version, scope["path"], query.decode("latin-1")))

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
                          f"{op.id_param} must be {'a positive integer' if entity and entity.integer_ids else 'an id'}",
                          field=op.id_param)
        return parsed

    def _missing(self, entity: EntityType, id: object) -> Problem:
        return Problem(404, "Not found", f"{entity.name} {id} does not exist", field="id")

    def read(self, op: MockOperation, request: Request, view: WorldView) -> tuple[int, bytes, dict]:
        """Answer a GET: status, serialised body and headers (cached by the caller)."""
        try:
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
                        items = view.children(entity.parent, parent_id, entity.relationship) if parent_id is not None else []  # type: ignore[arg-type]
                        persona = f"{entity.parent.name}:{parent_id}" if items else None  # type: ignore[union-attr]
                        return self._list(request, view, items, persona)
                page = _page_params(request) or (1, 20)
                items = view.page(entity, *page)
                status, body, headers = self._list(request, view, items, None, paged=False)
                headers.update(_links(request, page[0], page[1], view.count(entity)))
                return status, body, headers
            return self._schema_only(op, view)
        except EngineError as exc:
            raise Problem(exc.status, exc.title, exc.detail, field=exc.field, allowed=exc.allowed) from None

    def _list(self, request: Request, view: WorldView, items: list, persona: str | None,
              paged: bool = True) -> tuple[int, bytes, dict]:
        headers: dict[str, str] = {}
        if paged:
            params = _page_params(request)
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
        if op.entity is None:
            body = await read_json(request, self.max_body_bytes, required=False)
            check_body(op.validator, body)
            status, raw, headers = self._schema_only(op, view)
            return Response(raw, status_code=status, headers=headers, media_type=None)
        try:
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
        except EngineError as exc:
            raise Problem(exc.status, exc.title, exc.detail, field=exc.field, allowed=exc.allowed) from None

    def _written(self, view: WorldView, entity: EntityType, data: dict, status: int, location: bool = False) -> Response:
        fresh = self.engine.view(view.workspace)
        extra = {"Location": f"{entity.config.path.rstrip('/')}/{data['id']}"} if location else {}
        headers = self._headers(fresh, fresh.persona(entity, data), extra)
        return Response(orjson.dumps(data), status_code=status, headers=headers, media_type=None)


def workspace_of(request: Request) -> str:
    """The workspace of a request: the X-Mockverse-Workspace header, ?workspace=, or "default"."""
    return request.headers.get("x-mockverse-workspace") or request.query_params.get("workspace") or "default"


def _safe(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _starlette_path(path: str) -> str:
    """OpenAPI path params may hold characters Starlette's router does not take: rename them."""
    return re.sub(r"\{([^}]+)\}", lambda m: "{" + _safe(m.group(1)) + "}", path)
