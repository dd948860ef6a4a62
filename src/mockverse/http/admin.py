"""The engine's own API under /api/v1: consistency views, entity registration, graph, journal."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from datetime import datetime
from fnmatch import fnmatchcase

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockverse.http.admin_schema import (
    BODY_ERRORS,
    WORKSPACE,
    WORKSPACE_PATTERN,
    WRITE_ERRORS,
    json_body,
    json_ok,
    problems,
)
from mockverse.http.errors import Problem, is_decimal, json_response, read_json
from mockverse.http.mock import workspace_of
from mockverse.reality.har import HAR_SCHEMA, har_document, journal_har_entry
from mockverse.reality.recordings import redact_headers
from mockverse.world import clock
from mockverse.world.engine import ConsistencyEngine, WorldView
from mockverse.world.lifecycle import LifecycleError, LifecycleState, parse_state
from mockverse.world.model import EntityType
from mockverse.world.persona import Persona

ENTRY_BODY_BYTES = 65_536           # of each body a journal entry keeps
JOURNAL_BODY_BYTES = 16 * 1_048_576  # of bodies the whole journal keeps


def _engine_errors(fn):
    """Lifecycle input the rules refuse, answered as a 422 naming the field."""
    async def wrapper(self: AdminAPI, request: Request) -> Response:
        try:
            return await fn(self, request)
        except LifecycleError as exc:
            raise Problem(422, "Invalid lifecycle input", exc.message, field=exc.field, allowed=exc.allowed) from None
    wrapper.__name__ = fn.__name__
    return wrapper


class AdminAPI:
    """Handlers for /api/v1/...; each works for any loaded world, not just the built-in one."""

    def __init__(self, engine: ConsistencyEngine, journal: Journal, max_body_bytes: int) -> None:
        self.engine = engine
        self.journal = journal
        self.max_body_bytes = max_body_bytes

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/health", self.health, methods=["GET"]),
            Route("/api/v1/requests", self.requests, methods=["GET", "DELETE"]),
            Route("/api/v1/requests.har", self.requests_har, methods=["GET"]),
            Route("/api/v1/consistency/entities", self.register, methods=["POST"]),
            Route("/api/v1/consistency/entities/{type}/{id}", self.entity, methods=["GET"]),
            Route("/api/v1/consistency/graph/{ref}", self.graph, methods=["GET"]),
            Route("/api/v1/consistency/persona/lifecycle", self.set_lifecycle, methods=["POST"]),
            Route("/api/v1/consistency/persona/{persona_id}/lifecycle", self.lifecycle, methods=["GET", "PATCH"]),
            Route("/api/v1/consistency/clock", self.clock, methods=["GET"]),
            Route("/api/v1/consistency/clock/{action}", self.move_clock, methods=["POST"]),
            Route("/api/v1/consistency/{segment}/{id}", self.consistent_item, methods=["GET"]),
            Route("/api/v1/consistency/{segment}/{id}/{relation}", self.consistent_children, methods=["GET"]),
        ]

    async def health(self, request: Request) -> Response:
        return json_response({"status": "ok", "entity_types": sorted(self.engine.model.types)})

    # -- consistency views -------------------------------------------------------------------
    def _entity_by_segment(self, segment: str) -> EntityType:
        entity = self.engine.model.by_segment(segment) or self.engine.model.types.get(segment)
        if entity is None:
            raise Problem(404, "Unknown entity type", f"'{segment}' is not a collection of this world",
                          field="segment", allowed=sorted(t.segment for t in self.engine.model.types.values()))
        return entity

    def _lookup(self, view: WorldView, entity: EntityType, raw: str) -> tuple[object, dict]:
        """(id, fields) of the entity ``raw`` names: its id, else one of its keys (a user's ``identity``)."""
        id: object = entity.parse_id(raw)
        data = view.get(entity, id) if id is not None else None
        if data is None and entity.keys:
            id = entity.by_key(view, raw)
            data = view.get(entity, id) if id is not None else None
        if data is None:
            raise Problem(404, "Not found", f"{entity.name} {raw} does not exist in workspace '{view.workspace}'",
                          field="id")
        return id, data

    def _full(self, view: WorldView, entity: EntityType, id: object, data: dict) -> dict:
        """The entity with every relation embedded: its parent and each child list."""
        out = dict(data)
        if entity.parent is not None:
            out[entity.parent.name] = view.get(entity.parent, data.get(entity.fk))
        for rel in entity.children:
            out[rel.removeprefix("has_")] = view.children(entity, id, rel)
        return out

    def _headers(self, view: WorldView, entity: EntityType, data: dict) -> dict[str, str]:
        return {"X-Mockverse-Workspace": view.workspace, "X-Mockverse-Persona": view.persona(entity, data)}

    @_engine_errors
    async def consistent_item(self, request: Request) -> Response:
        view = self.engine.view(workspace_of(request))
        entity = self._entity_by_segment(request.path_params["segment"])
        id, data = self._lookup(view, entity, request.path_params["id"])
        return json_response(self._full(view, entity, id, data), headers=self._headers(view, entity, data))

    @_engine_errors
    async def consistent_children(self, request: Request) -> Response:
        view = self.engine.view(workspace_of(request))
        entity = self._entity_by_segment(request.path_params["segment"])
        relation = request.path_params["relation"]
        names = entity.relation_names()[0]
        if relation not in names:
            raise Problem(404, "Unknown relation", f"{entity.name} has no '{relation}'", field="relation",
                          allowed=sorted(names))
        id, data = self._lookup(view, entity, request.path_params["id"])
        items = view.children(entity, id, names[relation])
        body = {f"{entity.name}_id": id, relation: items, "count": len(items)}
        return json_response(body, headers=self._headers(view, entity, data))

    # -- entities ----------------------------------------------------------------------------
    @_engine_errors
    async def register(self, request: Request) -> Response:
        body = await read_json(request, self.max_body_bytes)
        if not isinstance(body, dict):
            raise Problem(422, "Invalid body", "the body must be a JSON object", field="body")
        allowed = {"entity_type", "entity_id", "data", "persona_id", *WORKSPACE_KEYS}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise Problem(
                422, "Unknown field", f"unknown field '{unknown[0]}'", field=unknown[0], allowed=sorted(allowed)
            )
        entity_type, entity_id = _typed_id(body.get("entity_type"), body.get("entity_id"), self.engine.model.types)
        if not isinstance(entity_type, str):
            raise Problem(422, "Invalid body", "entity_type is required and must be a string", field="entity_type",
                          allowed=sorted(self.engine.model.types))
        data = body.get("data", {})
        if not isinstance(data, dict):
            raise Problem(422, "Invalid body", "data must be a JSON object", field="data")
        persona = body.get("persona_id")
        if persona is not None and not isinstance(persona, str):
            raise Problem(
                422, "Invalid body", "persona_id must be an entity ref such as 'user:123'", field="persona_id"
            )
        entity = self.engine.type_of(entity_type)
        if entity_id is not None and entity.valid_id(entity_id) is None:   # checked before anything is written
            raise Problem(422, "Invalid id", f"entity_id {str(entity_id)[:40]} is not a valid {entity.name} id: it "
                          f"must be {entity.id_rule()}", field="entity_id")
        view = self._body_view(body, request)
        if persona is not None:
            try:
                view.resolve(persona)
            except Problem as exc:  # report the body's field, not the engine's "ref"
                raise Problem(exc.status, exc.title, exc.detail, field="persona_id", allowed=exc.allowed) from None
        created = view.create(entity, data, id=entity_id, persona=persona)
        fresh = self.engine.view(view.workspace)
        id = created[entity.id_field]
        return json_response({"entity_type": entity.name, "entity_id": id, "ref": f"{entity.name}:{id}",
                              "data": created}, status=201, headers=self._headers(fresh, entity, created))

    @_engine_errors
    async def entity(self, request: Request) -> Response:
        view = self.engine.view(workspace_of(request))
        entity = self.engine.type_of(request.path_params["type"])
        id, data = self._lookup(view, entity, request.path_params["id"])
        return json_response({"entity_type": entity.name, "entity_id": id, "ref": f"{entity.name}:{id}",
                              "data": data}, headers=self._headers(view, entity, data))

    @_engine_errors
    async def graph(self, request: Request) -> Response:
        view = self.engine.view(workspace_of(request))
        q = request.query_params
        depth_raw = q.get("depth", "1")
        if not is_decimal(depth_raw) or not 1 <= int(depth_raw) <= 5:
            raise Problem(400, "Invalid query parameter", "depth must be an integer from 1 to 5", field="depth")
        type_ = q.get("type")
        if type_ is not None and type_ not in self.engine.model.types:
            raise Problem(400, "Invalid query parameter", f"'{type_}' is not an entity type", field="type",
                          allowed=sorted(self.engine.model.types))
        relationship = q.get("relationship")
        edges = self.engine.model.edges()
        if relationship is not None and relationship not in edges:
            raise Problem(400, "Invalid query parameter", f"'{relationship[:100]}' is not an edge of this world",
                          field="relationship", allowed=edges)
        result = view.graph(request.path_params["ref"], type_, relationship, int(depth_raw))
        return json_response(result)

    # -- lifecycle ---------------------------------------------------------------------------
    def _persona(self, view: WorldView, ref: object) -> Persona:
        if not isinstance(ref, str):
            raise Problem(
                422, "Invalid body", "persona_id must be an entity ref such as 'user:123'", field="persona_id"
            )
        try:
            return view.persona_handle(ref)
        except Problem as exc:
            raise Problem(exc.status, exc.title, exc.detail, field="persona_id", allowed=exc.allowed) from None

    def _body_view(self, body: dict, request: Request) -> WorldView:
        """The view of the workspace a body names (``workspace_id`` or ``workspace``), else the request's."""
        named = [k for k in WORKSPACE_KEYS if body.get(k) is not None]
        if len(named) == 2 and body[named[0]] != body[named[1]]:
            raise Problem(422, "Invalid body", "workspace_id and workspace name different workspaces; send one",
                          field="workspace_id")
        workspace = body[named[0]] if named else workspace_of(request)
        field = named[0] if named else "workspace"
        if not isinstance(workspace, str):
            raise Problem(422, "Invalid body", f"{field} must be a string", field=field)
        try:
            return self.engine.view(workspace)
        except Problem as exc:
            raise Problem(exc.status, exc.title, exc.detail, field=field) from None

    @_engine_errors
    async def set_lifecycle(self, request: Request) -> Response:
        body = await read_json(request, self.max_body_bytes)
        if not isinstance(body, dict):
            raise Problem(422, "Invalid body", "the body must be a JSON object", field="body")
        allowed = {"persona_id", "lifecycle_state", "initial_state", "metadata", *WORKSPACE_KEYS}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise Problem(
                422, "Unknown field", f"unknown field '{unknown[0]}'", field=unknown[0], allowed=sorted(allowed)
            )
        view = self._body_view(body, request)
        field = "lifecycle_state" if "lifecycle_state" in body else "initial_state"
        raw = body.get(field)
        try:
            state = parse_state(raw) if isinstance(raw, str) else parse_state("")
        except LifecycleError:
            raise Problem(400, "Invalid lifecycle state", f"'{raw}' is not a lifecycle state", field=field,
                          allowed=[s.value for s in LifecycleState]) from None
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise Problem(422, "Invalid body", "metadata must be a JSON object", field="metadata")
        persona = self._persona(view, body.get("persona_id")).update_lifecycle_state(state, metadata)
        return json_response(persona.to_dict(), headers={"X-Mockverse-Workspace": view.workspace})

    @_engine_errors
    async def lifecycle(self, request: Request) -> Response:
        view = self.engine.view(workspace_of(request))
        persona = self._persona(view, request.path_params["persona_id"])
        if request.method == "PATCH":
            body = await read_json(request, self.max_body_bytes)
            if not isinstance(body, dict) or set(body) != {"metadata"} or not isinstance(body["metadata"], dict):
                raise Problem(422, "Invalid body", 'send {"metadata": {...}}: the metadata fields to set',
                              field="metadata")
            persona = persona.update_metadata(body["metadata"])
        return json_response(persona.to_dict(), headers={"X-Mockverse-Workspace": view.workspace})

    # -- clock -------------------------------------------------------------------------------
    @_engine_errors
    async def clock(self, request: Request) -> Response:
        workspace = self.engine.view(workspace_of(request)).workspace
        return json_response(self.engine.clock(workspace).to_dict(workspace))

    @_engine_errors
    async def move_clock(self, request: Request) -> Response:
        workspace = self.engine.view(workspace_of(request)).workspace
        action = request.path_params["action"]
        epoch = self.engine.model.epoch
        assert isinstance(epoch, datetime)   # the config model parses world.epoch into a datetime
        store = self.engine.store
        before = self.engine.clock(workspace)
        if action == "reset":
            state = clock.reset(store, workspace, epoch)
        elif action in ("advance", "set"):
            body = await read_json(request, self.max_body_bytes)
            key = "by" if action == "advance" else "to"
            if not isinstance(body, dict) or key not in body:
                example = '{"by": "7d"}' if action == "advance" else '{"to": "2026-02-01T00:00:00Z"}'
                raise Problem(422, "Invalid body", f"send {example}", field=key)
            try:
                move = clock.advance if action == "advance" else clock.set_to
                state = move(store, workspace, epoch, body[key])
            except ValueError as exc:
                raise Problem(400, "Invalid clock value", str(exc), field=key) from None
        else:
            raise Problem(404, "Unknown clock action", f"'{action}' is not a clock action", field="action",
                          allowed=["advance", "set", "reset"])
        self.engine.events.emit(workspace, "clock.moved", action=action, before=clock.format_rfc3339(before.now),
                                after=clock.format_rfc3339(state.now))
        return json_response(state.to_dict(workspace))

    # -- journal -----------------------------------------------------------------------------
    async def requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            cleared = self.journal.clear()
            return json_response({"cleared": cleared})
        q = request.query_params
        limit_raw = q.get("limit", "100")
        if not is_decimal(limit_raw) or int(limit_raw) < 1:
            raise Problem(400, "Invalid query parameter", "limit must be a positive integer", field="limit")
        status = q.get("status")
        if status is not None and not is_decimal(status):
            raise Problem(400, "Invalid query parameter", "status must be an HTTP status code", field="status")
        bodies = q.get("bodies", "false")
        if bodies not in ("true", "false"):
            raise Problem(400, "Invalid query parameter", "bodies is true or false", field="bodies",
                          allowed=["true", "false"])
        entries = self.journal.find(method=q.get("method"), path=q.get("path"), workspace=q.get("workspace"),
                                    status=int(status) if status else None, source=q.get("source"),
                                    limit=int(limit_raw))
        return json_response({"count": len(entries),
                              "requests": [Journal.public(e, bodies == "true") for e in entries]})


    async def requests_har(self, request: Request) -> Response:
        """The request journal (oldest first, ``?workspace=`` for one workspace) as a HAR 1.2 file,
        headers (credentials redacted) and bodies included."""
        workspace = request.query_params.get("workspace")
        entries = [journal_har_entry(e, str(request.base_url), Journal.exchange(e)) for e in self.journal.entries
                   if workspace is None or e["workspace"] == workspace]
        return json_response(har_document(entries, "the request journal of mockverse"),
                             headers={"Content-Disposition": 'attachment; filename="mockverse-requests.har"'})


WORKSPACE_KEYS = ("workspace_id", "workspace")     # a body may name its workspace by either


def _typed_id(entity_type: object, entity_id: object, types: Collection[str]) -> tuple[object, object]:
    """(entity_type, entity_id) of a registration: an ``entity_id`` written as a ref (``"order:456"``,
    its prefix an entity type of the world) gives the type when ``entity_type`` is absent and must
    agree with it when present; any other id (``"urn:x:1"``) is the id as written."""
    if not isinstance(entity_id, str) or ":" not in entity_id:
        return entity_type, entity_id
    kind, _, raw = entity_id.partition(":")
    if kind not in types:
        return entity_type, entity_id
    if not raw:
        raise Problem(422, "Invalid body", f"entity_id '{entity_id[:80]}' names no id; write 'type:id', e.g. "
                      "'order:456', or the id alone", field="entity_id")
    if entity_type is not None and kind != entity_type:
        raise Problem(422, "Invalid body", f"entity_id '{entity_id[:80]}' is a {kind[:40]} but entity_type is "
                      f"'{str(entity_type)[:40]}'", field="entity_id")
    return kind, raw


class Journal:
    """Recent requests to mock routes, newest last, bounded in count and in body bytes kept;
    WireMock-style verification. An entry holds references to the header lists and body bytes the
    request and response already had (nothing is copied on the hot path); credentials are redacted
    when an entry is shown (:meth:`exchange`)."""

    def __init__(self, size: int, body_limit: int = ENTRY_BODY_BYTES, total_limit: int = JOURNAL_BODY_BYTES) -> None:
        self.entries: deque = deque()
        self.size = max(1, size)
        self.enabled = size > 0
        self.counter = 0
        self.body_limit = body_limit
        self.total_limit = total_limit
        self.held = 0          # body bytes the entries keep

    def add(self, entry: dict) -> None:
        """Keep ``entry``; bodies past the per-entry limit are cut, the oldest entries go past the totals."""
        if not self.enabled:
            return
        self.counter += 1
        entry["seq"] = self.counter
        for key in ("request_body", "response_body"):
            body = entry.get(key)
            if body is not None and len(body) > self.body_limit:
                entry[key] = body[:self.body_limit]
                entry[f"{key}_truncated"] = len(body)
        entry["held"] = len(entry.get("request_body") or b"") + len(entry.get("response_body") or b"")
        self.entries.append(entry)
        self.held += entry["held"]
        while len(self.entries) > self.size or (self.held > self.total_limit and len(self.entries) > 1):
            self.held -= self.entries.popleft()["held"]

    def clear(self, workspace: str | None = None) -> int:
        """Forget every entry, or only those of ``workspace``; returns how many went."""
        if workspace is None:
            n = len(self.entries)
            self.entries.clear()
            self.held = 0
            return n
        kept = [e for e in self.entries if e.get("workspace") != workspace]
        n = len(self.entries) - len(kept)
        self.entries = deque(kept)
        self.held = sum(e["held"] for e in kept)
        return n

    def get(self, id: str) -> dict | None:
        return next((e for e in self.entries if e["id"] == id), None)

    def find(self, *, method: str | None, path: str | None, workspace: str | None, status: int | None,
             source: str | None, limit: int) -> list[dict]:
        """Entries by method, path glob (``/orders/*``), workspace, status and source; the newest ``limit``."""
        out = [e for e in self.entries
               if (method is None or e["method"] == method.upper())
               and (path is None or e["path"] == path or fnmatchcase(e["path"], path))
               and (workspace is None or e["workspace"] == workspace)
               and (status is None or e["status"] == status)
               and (source is None or e["source"] == source)]
        return out[-limit:]

    @staticmethod
    def exchange(entry: dict) -> dict:
        """Headers (credentials redacted) and bodies (as text) of an entry, as the APIs show them."""
        def headers(raw: list | None) -> dict[str, str]:
            return redact_headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw or ())

        def text(body: bytes | None) -> str | None:
            return None if not body else bytes(body).decode("utf-8", errors="replace")

        return {
            "request_headers": headers(entry.get("request_headers")),
            "request_body": text(entry.get("request_body")),
            "response_headers": headers(entry.get("response_headers")),
            "response_body": text(entry.get("response_body")),
        }

    @classmethod
    def public(cls, entry: dict, exchange: bool) -> dict:
        """An entry as ``GET /api/v1/requests`` lists it; with ``exchange``, its headers and bodies too."""
        out = {k: entry.get(k) for k in ("id", "time", "method", "path", "query", "workspace", "status", "latency_ms",
                                         "source", "seq", "stub")}
        return {**out, **cls.exchange(entry)} if exchange else out


# -- the OpenAPI description of these routes (collected by app.py into GET /api/v1/openapi.json) -------
_REF = {"type": "string", "pattern": "^[^:]+:.+$", "description": "an entity ref such as 'user:123'"}
_ENTITY = {"type": "object", "description": "an entity's fields", "additionalProperties": True}
_REGISTERED = {"type": "object", "required": ["entity_type", "entity_id", "ref", "data"],
               "properties": {"entity_type": {"type": "string"}, "entity_id": {"type": ["integer", "string"]},
                              "ref": {"type": "string"}, "data": _ENTITY}}
_PERSONA = {
    "type": "object",
    "required": ["workspace_id", "persona_id", "lifecycle_state", "state", "entered_at", "time_in_state_seconds",
                 "history", "metadata", "source", "next_transition", "now"],
    "properties": {
        "workspace_id": {"type": "string"}, "persona_id": {"type": "string"},
        "lifecycle_state": {"enum": [s.value for s in LifecycleState]},
        "state": {"enum": [s.value for s in LifecycleState]},
        "entered_at": {"type": "string", "format": "date-time"},
        "time_in_state_seconds": {"type": "integer", "minimum": 0},
        "history": {"type": "array", "items": {"type": "object", "required": ["state", "entered_at"],
                                               "properties": {"state": {"type": "string"},
                                                              "entered_at": {"type": "string"}}}},
        "metadata": {"type": "object"}, "source": {"type": "string"},
        "next_transition": {"type": ["object", "null"]}, "now": {"type": "string", "format": "date-time"},
    },
}
_CLOCK = {"type": "object", "required": ["workspace_id", "now", "start", "elapsed_seconds", "moved"],
          "properties": {"workspace_id": {"type": "string"}, "now": {"type": "string", "format": "date-time"},
                         "start": {"type": "string", "format": "date-time"}, "elapsed_seconds": {"type": "integer"},
                         "moved": {"type": "boolean"}}}
_STATES = [s.value for s in LifecycleState]
# accepted on input (answered in the canonical spelling): the canonical names and the overview's NEW, CHURN_RISK, ...
_STATE_INPUT = _STATES + [name for name in LifecycleState.__members__ if name not in _STATES]


def _path(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema or {"type": "string", "minLength": 1}}


def _query(name: str, description: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _clock_move(summary: str, body: dict | None) -> dict:
    operation: dict = {"summary": summary, "parameters": [WORKSPACE],
                       "responses": {**json_ok("The clock after the move", _CLOCK),
                                     **problems(400, 422, 503, *WRITE_ERRORS, *(BODY_ERRORS if body else ()))}}
    if body is not None:
        operation["requestBody"] = json_body(body)
    return {"post": operation}


OPENAPI_PATHS: dict[str, dict] = {
    "/api/v1/health": {
        "get": {
            "summary": "Liveness, and the entity types of the loaded world",
            "responses": json_ok(
                "Serving",
                {
                    "type": "object",
                    "required": ["status", "entity_types"],
                    "properties": {
                        "status": {"const": "ok"},
                        "entity_types": {"type": "array", "items": {"type": "string"}},
                    },
                },
            ),
        }
    },
    "/api/v1/requests": {
        "get": {
            "summary": "The request journal: recent requests to mock routes, newest last (?bodies=true: with "
            "their headers and bodies)",
            "parameters": [
                _query("method", "only this HTTP method", {"type": "string"}),
                _query("path", "only this path, or a glob: /orders/*, /users/?/orders", {"type": "string"}),
                _query("workspace", "only this workspace", {"type": "string"}),
                _query("status", "only this status", {"type": "integer", "minimum": 0}),
                _query("source", "only this source (synthetic, upstream, recorded, blend, ...)", {"type": "string"}),
                _query("limit", "at most this many, the newest (default 100)", {"type": "integer", "minimum": 1}),
                _query(
                    "bodies",
                    "true: each entry's headers (credentials redacted) and bodies too",
                    {"enum": ["true", "false"]},
                ),
            ],
            "responses": {
                **json_ok(
                    "Matching requests",
                    {
                        "type": "object",
                        "required": ["count", "requests"],
                        "properties": {
                            "count": {"type": "integer", "minimum": 0},
                            "requests": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": [
                                        "id",
                                        "time",
                                        "method",
                                        "path",
                                        "query",
                                        "status",
                                        "latency_ms",
                                        "seq",
                                    ],
                                    "properties": {
                                        "id": {"type": "string"},
                                        "time": {"type": "number"},
                                        "method": {"type": "string"},
                                        "path": {"type": "string"},
                                        "query": {"type": "string"},
                                        "workspace": {"type": ["string", "null"]},
                                        "status": {"type": "integer"},
                                        "latency_ms": {"type": "number"},
                                        "source": {"type": ["string", "null"]},
                                        "seq": {"type": "integer"},
                                        "stub": {"type": ["string", "null"], "description": "the stub that answered"},
                                        "request_headers": {
                                            "type": "object",
                                            "additionalProperties": {"type": "string"},
                                        },
                                        "request_body": {"type": ["string", "null"]},
                                        "response_headers": {
                                            "type": "object",
                                            "additionalProperties": {"type": "string"},
                                        },
                                        "response_body": {"type": ["string", "null"]},
                                    },
                                },
                            },
                        },
                    },
                ),
                **problems(400),
            },
        },
        "delete": {
            "summary": "Clear the request journal",
            "responses": {
                **json_ok(
                    "How many entries were cleared",
                    {
                        "type": "object",
                        "required": ["cleared"],
                        "properties": {"cleared": {"type": "integer", "minimum": 0}},
                    },
                ),
                **problems(*WRITE_ERRORS),
            },
        },
    },
    "/api/v1/requests.har": {
        "get": {
            "summary": "The request journal as a HAR 1.2 file, oldest first, headers (redacted) and bodies included",
            "parameters": [_query("workspace", "only this workspace", {"type": "string"})],
            "responses": json_ok("The HAR document", HAR_SCHEMA),
        }
    },
    "/api/v1/consistency/entities": {
        "post": {
            "summary": "Register an entity (a child under an existing parent, linked to a persona)",
            "parameters": [WORKSPACE],
            "requestBody": json_body(
                {
                    "type": "object",
                    "additionalProperties": False,
                    "anyOf": [
                        {"required": ["entity_type"]},
                        {"required": ["entity_id"], "properties": {"entity_id": _REF}},
                    ],
                    "properties": {
                        "entity_type": {"type": "string", "description": "an entity type of the world"},
                        "entity_id": {
                            "type": ["string", "integer"],
                            "description": "the id, or a ref 'order:456'; generated when absent",
                        },
                        "data": {"type": "object", "description": "its fields"},
                        "persona_id": {**_REF, "description": "the persona it belongs to, e.g. 'user:123'"},
                        "workspace_id": {
                            "type": "string",
                            "pattern": WORKSPACE_PATTERN,
                            "description": "the workspace; else the header's",
                        },
                        "workspace": {
                            "type": "string",
                            "pattern": WORKSPACE_PATTERN,
                            "description": "the same as workspace_id",
                        },
                    },
                }
            ),
            "responses": {
                **json_ok("Registered", _REGISTERED, 201),
                **problems(400, 404, 409, 422, 503, *BODY_ERRORS, *WRITE_ERRORS),
            },
        }
    },
    "/api/v1/consistency/entities/{type}/{id}": {
        "get": {
            "summary": "An entity by type and id",
            "parameters": [_path("type", "the entity type, e.g. user"), _path("id", "the id"), WORKSPACE],
            "responses": {**json_ok("The entity", _REGISTERED), **problems(400, 404, 422, 503)},
        }
    },
    "/api/v1/consistency/graph/{ref}": {
        "get": {
            "summary": "Walk the persona graph from an entity",
            "parameters": [
                _path("ref", "where to start, e.g. user:123"),
                WORKSPACE,
                _query("type", "only nodes of this entity type", {"type": "string"}),
                _query("relationship", "only walk this edge (has_orders, belongs_to_user, ...)", {"type": "string"}),
                _query("depth", "how many edges away (default 1)", {"type": "integer", "minimum": 1, "maximum": 5}),
            ],
            "responses": {
                **json_ok(
                    "The nodes and edges reached",
                    {
                        "type": "object",
                        "required": ["root", "depth", "nodes", "edges", "truncated"],
                        "properties": {
                            "root": {"type": "string"},
                            "depth": {"type": "integer", "minimum": 1, "maximum": 5},
                            "nodes": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["ref", "type", "id", "distance", "data"],
                                    "properties": {
                                        "ref": {"type": "string"},
                                        "type": {"type": "string"},
                                        "id": {"type": ["integer", "string"]},
                                        "distance": {"type": "integer"},
                                        "relationship": {"type": "string"},
                                        "data": _ENTITY,
                                    },
                                },
                            },
                            "edges": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["from", "to", "relationship"],
                                    "properties": {
                                        "from": {"type": "string"},
                                        "to": {"type": "string"},
                                        "relationship": {"type": "string"},
                                    },
                                },
                            },
                            "truncated": {"type": "boolean"},
                        },
                    },
                ),
                **problems(400, 404, 422, 503),
            },
        }
    },
    "/api/v1/consistency/persona/lifecycle": {
        "post": {
            "summary": "Set a persona's lifecycle state (optionally merging metadata)",
            "parameters": [WORKSPACE],
            "requestBody": json_body(
                {
                    "type": "object",
                    "required": ["persona_id"],
                    "additionalProperties": False,
                    "anyOf": [{"required": ["lifecycle_state"]}, {"required": ["initial_state"]}],
                    "properties": {
                        "workspace_id": {
                            "type": "string",
                            "pattern": WORKSPACE_PATTERN,
                            "description": "the workspace; else the header's",
                        },
                        "workspace": {
                            "type": "string",
                            "pattern": WORKSPACE_PATTERN,
                            "description": "the same as workspace_id",
                        },
                        "persona_id": _REF,
                        "lifecycle_state": {"enum": _STATE_INPUT},
                        "initial_state": {"enum": _STATE_INPUT, "description": "the same as lifecycle_state"},
                        "metadata": {"type": "object", "description": "fields merged into the metadata"},
                    },
                }
            ),
            "responses": {
                **json_ok("The persona's lifecycle", _PERSONA),
                **problems(400, 404, 422, 503, *BODY_ERRORS, *WRITE_ERRORS),
            },
        }
    },
    "/api/v1/consistency/persona/{persona_id}/lifecycle": {
        "get": {
            "summary": "A persona's lifecycle: state, history, metadata, next transition",
            "parameters": [_path("persona_id", "the persona, e.g. user:123", _REF), WORKSPACE],
            "responses": {**json_ok("The persona's lifecycle", _PERSONA), **problems(400, 404, 422, 503)},
        },
        "patch": {
            "summary": "Merge fields into a persona's metadata",
            "parameters": [_path("persona_id", "the persona, e.g. user:123", _REF), WORKSPACE],
            "requestBody": json_body(
                {
                    "type": "object",
                    "required": ["metadata"],
                    "additionalProperties": False,
                    "properties": {"metadata": {"type": "object"}},
                }
            ),
            "responses": {
                **json_ok("The persona's lifecycle", _PERSONA),
                **problems(400, 404, 422, 503, *BODY_ERRORS, *WRITE_ERRORS),
            },
        },
    },
    "/api/v1/consistency/clock": {
        "get": {
            "summary": "The workspace's virtual clock",
            "parameters": [WORKSPACE],
            "responses": {**json_ok("The clock", _CLOCK), **problems(400, 503)},
        }
    },
    "/api/v1/consistency/clock/advance": _clock_move(
        "Move the clock forward; lifecycle rules fire",
        {
            "type": "object",
            "required": ["by"],
            "properties": {"by": {"type": "string", "description": "a duration: 90m, 36h, 7d, 1h30m"}},
        },
    ),
    "/api/v1/consistency/clock/set": _clock_move(
        "Set the clock to a moment",
        {
            "type": "object",
            "required": ["to"],
            "properties": {"to": {"type": "string", "format": "date-time", "description": "RFC 3339, 1900 to 9000"}},
        },
    ),
    "/api/v1/consistency/clock/reset": _clock_move("Set the clock back to real time", None),
    "/api/v1/consistency/{segment}/{id}": {
        "get": {
            "summary": "An entity with every relation embedded (its parent, each child list)",
            "parameters": [_path("segment", "the collection, e.g. users"), _path("id", "the id"), WORKSPACE],
            "responses": {**json_ok("The entity and its relations", _ENTITY), **problems(400, 404, 422, 503)},
        }
    },
    "/api/v1/consistency/{segment}/{id}/{relation}": {
        "get": {
            "summary": "An entity's children of one relation, e.g. /users/123/orders",
            "parameters": [
                _path("segment", "the collection, e.g. users"),
                _path("id", "the id"),
                _path("relation", "the child list, e.g. orders"),
                WORKSPACE,
            ],
            "responses": {
                **json_ok(
                    "{<type>_id, <relation>: [...], count}",
                    {
                        "type": "object",
                        "required": ["count"],
                        "properties": {"count": {"type": "integer", "minimum": 0}},
                        "additionalProperties": True,
                    },
                ),
                **problems(400, 404, 422, 503),
            },
        }
    },
}
