"""Stubs on top of the world: the middleware that answers a request from a matching stub before the
read cache and the world do, and mockverse's own stub API under ``/api/v1/stubs``.

Matching, templates and storage are :mod:`mockverse.stubbing`; this module turns a chosen stub into
an HTTP answer: its templates filled from the request, the persona and the world, its delay slept
without blocking (``anyio.sleep``), its fault broken into the connection (``http/simulation.py``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, compile_path

from mockverse.cache import LRU
from mockverse.http.admin_schema import BODY_ERRORS, WORKSPACE, WRITE_ERRORS, json_body, json_ok, problems
from mockverse.http.errors import Problem, json_response, read_json
from mockverse.http.mock import FAST_OK, MockRoutes, starlette_path, workspace_of
from mockverse.http.operations import CURRENT, PARAM
from mockverse.http.reads import safe_name
from mockverse.http.simulation import DELAY_HEADER, NEVER, break_connection, format_ms
from mockverse.reality.continuum import realism_delay
from mockverse.store import StoreUnavailable
from mockverse.stubbing import (
    FAULTS,
    MAX_DELAY_MS,
    Facts,
    Scope,
    Stub,
    StubBook,
    StubError,
    delay_key,
    random_bytes,
    render_json,
    render_text,
)
from mockverse.world.engine import WORKSPACE_NAME, ConsistencyEngine, WorldView

log = logging.getLogger("mockverse")
STUB_ID = "mockverse.stub"          # scope state: the id of the stub that answered (for the journal)
_FAULT_NAMES = dict(zip(FAULTS, ("connection_reset", "empty_response", "malformed_chunk", "random_data"), strict=True))


def scope_workspace(scope: dict) -> str:
    """The workspace of a raw ASGI request, as :func:`workspace_of` reads a Starlette one."""
    for name, value in scope["headers"]:
        if name == b"x-mockverse-workspace" and value:
            return value.decode("latin-1")
    query = scope.get("query_string", b"")
    if b"workspace=" in query:
        values = parse_qs(query.decode("latin-1")).get("workspace")
        if values and values[0]:
            return values[0]
    return "default"


class SpecRoutes:
    """The loaded spec's path templates, to name a stubbed request's path parameters and find its persona."""

    def __init__(self, mock: MockRoutes) -> None:
        self.mock = mock

    @functools.cached_property
    def routes(self) -> list[tuple[Any, str, dict]]:
        """(regex, template, methods) in routing order, compiled when a stub is first answered (a
        spec may have 10,000 paths: compiling them all is seconds, paid only by worlds with stubs)."""
        ordered = sorted(
            self.mock.by_path.items(), key=lambda kv: [bool(PARAM.match(t)) for t in kv[0].split("/") if t]
        )
        return [(compile_path(starlette_path(path))[0], path, methods) for path, methods in ordered]

    def match(self, path: str, method: str) -> tuple[Any, dict[str, str]]:
        """The operation answering ``method path`` (or None) and the path parameters by both spellings.
        A path the spec does not have is read by its longest prefix that names an entity
        (``/users/12/greeting`` by ``/users/{id}``), so its persona is still known."""
        op, params = self._match(path, method)
        trimmed = path.rstrip("/")
        while (op is None or op.named is None) and trimmed.count("/") > 1:
            trimmed = trimmed.rsplit("/", 1)[0]
            found, found_params = self._match(trimmed, "GET")
            if found is not None and found.named is not None:
                return found, {**found_params, **params}
        return op, params

    def _match(self, path: str, method: str) -> tuple[Any, dict[str, str]]:
        """The first spec route matching ``path`` exactly."""
        for regex, template, methods in self.routes:
            hit = regex.match(path)
            if hit is None:
                continue
            safe = hit.groupdict()
            params = dict(safe)
            for token in template.split("/"):
                m = PARAM.match(token)
                if m and safe_name(m.group(1)) in safe:
                    params[m.group(1)] = safe[safe_name(m.group(1))]
            return methods.get(method) or methods.get("GET"), params
        return None, {}


class StubLayer:
    """Pure ASGI middleware inside the request log: a request a stub matches gets the stub's answer."""

    def __init__(self, app: Any, book: StubBook, engine: ConsistencyEngine, spec_routes: SpecRoutes,
                 max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.book = book
        self.engine = engine
        self.spec_routes = spec_routes
        self.seen: LRU = LRU(100_000)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Answer from the chosen stub, else hand on (marking whether the read cache may keep the answer)."""
        if scope["type"] != "http" or scope["path"].startswith(NEVER):
            await self.app(scope, receive, send)
            return
        workspace = scope_workspace(scope)
        state = scope.setdefault("state", {})
        if not WORKSPACE_NAME.match(workspace):   # the world answers the bad name with a 400
            state[FAST_OK] = -1
            await self.app(scope, receive, send)
            return
        try:
            version = self.engine.store.version(workspace)
            loaded = self.book.load(workspace, version)
        except StoreUnavailable:
            state[FAST_OK] = -1
            await self.app(scope, receive, send)
            return
        if not loaded.stubs:
            state[FAST_OK] = version
            await self.app(scope, receive, send)
            return
        state[FAST_OK] = -1
        body: bytes | None = b""
        replay = receive
        if any(s.request.body for s in loaded.stubs):
            body, replay = await _read_body(receive, self.max_body_bytes)
        if body is None:
            await self.app(scope, replay, send)
            return
        facts = Facts.from_raw(scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1"),
                               scope["headers"], body)
        stub = self.book.choose(workspace, facts, version)
        if stub is None:
            await self.app(scope, replay, send)
            return
        if replay is receive:   # read what was sent, for templates and the journal
            read, replay = await _read_body(receive, self.max_body_bytes)
            facts.body = read or b""
        state[STUB_ID] = stub.id
        await self.answer(stub, workspace, facts, scope, replay, send)

    async def answer(self, stub: Stub, workspace: str, facts: Facts, scope: dict, receive: Any, send: Any) -> None:
        """Sleep the stub's delay, then break the connection or send the filled-in response."""
        spec = stub.response
        seed = self.engine.workspace_seed(workspace)
        key = delay_key(stub, facts, self._count(scope, stub, facts))
        delay = realism_delay(spec.delay, seed, key, None)
        if delay is not None:
            delay = min(delay, MAX_DELAY_MS / 1000.0)
            await anyio.sleep(delay)
        if spec.fault is not None:
            log.info("%s %s -> stub %s fault %s", facts.method, facts.url[:300], stub.id, spec.fault)
            await break_connection(
                _FAULT_NAMES[spec.fault], scope, receive, random_bytes(seed, f"{stub.id} {facts.url}")
            )
            return
        status, headers, body = self.render(stub, workspace, facts)
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1", errors="replace")) for k, v in headers]
        raw.append((b"content-length", str(len(body)).encode()))
        if delay is not None:
            raw.append((DELAY_HEADER, format_ms(delay).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": b"" if facts.method == "HEAD" else body})

    def render(self, stub: Stub, workspace: str, facts: Facts) -> tuple[int, list[tuple[str, str]], bytes]:
        """The stub's status, headers and body, templates filled from the request, persona and world."""
        view = self.engine.view(workspace)
        op, params = self.spec_routes.match(facts.path, facts.method)
        facts.path_params = {**params, **stub.request.params(facts)}
        scope = Scope(facts, lambda filled: self._persona(stub, view, op, filled),
                      lambda name, id: _lookup(view, name, id))
        spec = stub.response
        headers = [(name, render_text(value, scope) if not isinstance(value, str) else value)
                   for name, value in spec.headers]
        names = {name.lower() for name, _ in headers}
        if spec.body_kind == "json":
            body = orjson.dumps(render_json(spec.body, scope))
            if "content-type" not in names:
                headers.append(("content-type", "application/json"))
        elif spec.body_kind == "text":
            body = render_text(spec.body, scope).encode()
        elif spec.body_kind == "bytes":
            body = spec.body
        else:
            body = b""
        headers += [("X-Mockverse-Source", "stub"), ("X-Mockverse-Stub", stub.id),
                    ("X-Mockverse-Workspace", workspace)]
        return spec.status, headers, body

    def _persona(self, stub: Stub, view: WorldView, op: Any, scope: Scope) -> dict | None:
        """The persona a stub talks about: its ``persona`` ref, else the owner of the entity the path names."""
        try:
            if stub.persona is not None:
                return view.resolve(render_text(stub.persona, scope))[2]
            if op is None or op.named is None:
                return None
            entity, param = op.named
            id = entity.root_id(1) if param == CURRENT else entity.parse_id(scope.facts.path_params.get(param))
            data = view.get(entity, id) if id is not None else None
            if data is None:
                return None
            _, _, owner = view.resolve(view.persona(entity, data))
            return owner
        except Problem:
            return None

    def _count(self, scope: dict, stub: Stub, facts: Facts) -> str:
        """The request key a drawn delay depends on: X-Mockverse-Request-Key, else how often this process saw it."""
        for name, value in scope["headers"]:
            if name == b"x-mockverse-request-key":
                return value.decode("latin-1")
        key = (stub.id, facts.method, facts.url)
        count = self.seen.get(key, 0) + 1
        self.seen.put(key, count)
        return str(count)


def _lookup(view: WorldView, name: str, id: Any) -> dict | None:
    """``world.<type>(<id>)``: the entity of that type (name or collection segment) in the workspace."""
    entity = view.model.types.get(name) or view.model.by_segment(name)
    if entity is None or id is None or isinstance(id, (dict, list)):
        return None
    parsed = entity.parse_id(str(id))
    return view.get(entity, parsed) if parsed is not None else None


async def _read_body(receive: Any, limit: int) -> tuple[bytes | None, Callable[[], Awaitable[dict]]]:
    """The request body (None past ``limit`` bytes: the world answers that with a 413), and a receive
    that hands what was read on to the app, then the rest as it comes."""
    chunks, size, more = [], 0, True
    while more and size <= limit:
        message = await receive()
        if message["type"] != "http.request":
            more = False
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        more = bool(message.get("more_body"))
    body = b"".join(chunks)
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return (body if size <= limit else None), replay


def reset_workspace(book: StubBook, journal: Any, workspace: str, journal_workspace: str | None) -> dict:
    """Stubs, scenario states and journal entries back to nothing: what ``/__admin/reset`` and
    ``POST /api/v1/stubs/reset`` do."""
    stubs = book.clear(workspace)
    return {"workspace": workspace, "stubs": stubs, "requests": journal.clear(journal_workspace)}


class StubsAPI:
    """``/api/v1/stubs``: the same stubs as ``/__admin/mappings``, answered in mockverse's style."""

    def __init__(self, engine: ConsistencyEngine, book: StubBook, journal: Any, max_body_bytes: int) -> None:
        self.engine = engine
        self.book = book
        self.journal = journal
        self.max_body_bytes = max_body_bytes

    def routes(self) -> list[Route]:
        """The stub API's routes (literal paths before ``{id}``)."""
        return [
            Route("/api/v1/stubs", self.collection, methods=["GET", "POST", "DELETE"]),
            Route("/api/v1/stubs/scenarios", self.scenarios, methods=["GET"]),
            Route("/api/v1/stubs/scenarios/reset", self.reset_scenarios, methods=["POST"]),
            Route("/api/v1/stubs/reset", self.reset, methods=["POST"]),
            Route("/api/v1/stubs/{id}", self.item, methods=["GET", "PUT", "DELETE"]),
        ]

    def _workspace(self, request: Request) -> str:
        """The request's workspace, checked (400 for a bad name)."""
        try:
            return self.engine.view(workspace_of(request)).workspace
        except Problem as exc:
            raise Problem(exc.status, exc.title, exc.detail, field="workspace", allowed=exc.allowed) from None

    async def collection(self, request: Request) -> Response:
        """List, add (201) or remove every stub of the workspace."""
        workspace = self._workspace(request)
        if request.method == "GET":
            mappings = self.book.mappings(workspace)
            return json_response({"workspace": workspace, "count": len(mappings), "stubs": mappings})
        if request.method == "DELETE":
            return json_response({"workspace": workspace, "deleted": self.book.clear(workspace)})
        body = await read_json(request, self.max_body_bytes)
        with stub_problems():
            mapping = self.book.add(workspace, body)
        return json_response(mapping, status=201, headers={"Location": f"/api/v1/stubs/{mapping['id']}"})

    async def item(self, request: Request) -> Response:
        """Read, replace or remove one stub."""
        workspace = self._workspace(request)
        id = request.path_params["id"]
        with stub_problems():
            if request.method == "GET":
                mapping = self.book.get(workspace, id)
                if mapping is None:
                    raise StubError("id", f"no stub {id[:80]} in workspace '{workspace}'", status=404)
                return json_response(mapping)
            if request.method == "DELETE":
                return json_response(self.book.remove(workspace, id))
            body = await read_json(request, self.max_body_bytes)
            return json_response(self.book.replace(workspace, id, body))

    async def scenarios(self, request: Request) -> Response:
        """Each scenario of the workspace's stubs and its state."""
        workspace = self._workspace(request)
        return json_response({"workspace": workspace, "scenarios": self.book.scenarios(workspace)})

    async def reset_scenarios(self, request: Request) -> Response:
        """Every scenario back to Started."""
        workspace = self._workspace(request)
        self.book.reset_scenarios(workspace)
        return json_response({"workspace": workspace, "scenarios": self.book.scenarios(workspace)})

    async def reset(self, request: Request) -> Response:
        """Drop the workspace's stubs, scenario states and journal entries."""
        workspace = self._workspace(request)
        return json_response(reset_workspace(self.book, self.journal, workspace, workspace))


@contextlib.contextmanager
def stub_problems() -> Iterator[None]:
    """Turn a StubError raised inside the block into problem JSON naming the field."""
    try:
        yield
    except StubError as exc:
        title = {404: "Not found", 409: "Too many stubs"}.get(exc.status, "Invalid stub")
        raise Problem(exc.status, title, exc.message, field=exc.field, allowed=exc.allowed) from None


# -- the OpenAPI description of these routes (collected by app.py into GET /api/v1/openapi.json) -------
_MATCHER = {"type": "object", "description": "one of equalTo (caseInsensitive), contains, doesNotContain, matches, "
            "doesNotMatch, absent, equalToJson (ignoreArrayOrder, ignoreExtraElements), matchesJsonPath",
            "minProperties": 1}
_MAPPING = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "format": "uuid"}, "uuid": {"type": "string", "format": "uuid"},
        "name": {"type": "string"}, "priority": {"type": "integer", "minimum": 1, "description": "1 wins over 5"},
        "times": {"type": "integer", "minimum": 1, "description": "the stub stops matching after this many uses"},
        "persona": {"type": "string", "description": "the entity {{persona.*}} reads, e.g. user:{{request.path.id}}"},
        "scenarioName": {"type": "string"}, "requiredScenarioState": {"type": "string"},
        "newScenarioState": {"type": "string"}, "metadata": {"type": "object"}, "persistent": {"type": "boolean"},
        "request": {"type": "object", "additionalProperties": False, "properties": {
            "method": {"type": "string"}, "url": {"type": "string"}, "urlPath": {"type": "string"},
            "urlPattern": {"type": "string"}, "urlPathPattern": {"type": "string"},
            "urlPathTemplate": {"type": "string"},
            "queryParameters": {"type": "object", "additionalProperties": _MATCHER},
            "headers": {"type": "object", "additionalProperties": _MATCHER},
            "bodyPatterns": {"type": "array", "items": _MATCHER}}},
        "response": {"type": "object", "additionalProperties": False, "properties": {
            "status": {"type": "integer", "minimum": 100, "maximum": 599}, "headers": {"type": "object"},
            "body": {"type": "string"}, "jsonBody": {}, "base64Body": {"type": "string"},
            "fixedDelayMilliseconds": {"type": "number", "minimum": 0, "maximum": MAX_DELAY_MS},
            "delayDistribution": {"type": "object"}, "fault": {"enum": list(FAULTS)},
            "transformers": {"type": "array", "items": {"const": "response-template"}}}},
    },
}
_STORED = {**_MAPPING, "required": ["id", "uuid"]}
_ID = {"name": "id", "in": "path", "required": True, "description": "the stub's id", "schema": {"type": "string"}}
_SCENARIOS = {"type": "object", "required": ["workspace", "scenarios"], "properties": {
    "workspace": {"type": "string"}, "scenarios": {"type": "array", "items": {
        "type": "object", "required": ["id", "name", "state", "possibleStates", "mappings"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "state": {"type": "string"},
                       "possibleStates": {"type": "array", "items": {"type": "string"}},
                       "mappings": {"type": "array", "items": {"type": "string"}}}}}}}
_STUB_ERRORS = (400, 404, 422)

OPENAPI_PATHS: dict[str, dict] = {
    "/api/v1/stubs": {
        "get": {
            "summary": "The workspace's stubs, oldest first",
            "parameters": [WORKSPACE],
            "responses": {
                **json_ok(
                    "The stubs",
                    {
                        "type": "object",
                        "required": ["workspace", "count", "stubs"],
                        "properties": {
                            "workspace": {"type": "string"},
                            "count": {"type": "integer", "minimum": 0},
                            "stubs": {"type": "array", "items": _STORED},
                        },
                    },
                ),
                **problems(400, 422, 503),
            },
        },
        "post": {
            "summary": "Add a stub (a WireMock mapping); it answers before the world",
            "parameters": [WORKSPACE],
            "requestBody": json_body(_MAPPING),
            "responses": {
                **json_ok("The stub as stored", _STORED, 201),
                **problems(409, 503, *_STUB_ERRORS, *BODY_ERRORS, *WRITE_ERRORS),
            },
        },
        "delete": {
            "summary": "Remove every stub of the workspace (and their uses and scenario states)",
            "parameters": [WORKSPACE],
            "responses": {
                **json_ok(
                    "How many went",
                    {
                        "type": "object",
                        "required": ["workspace", "deleted"],
                        "properties": {"workspace": {"type": "string"}, "deleted": {"type": "integer"}},
                    },
                ),
                **problems(400, 422, 503, *WRITE_ERRORS),
            },
        },
    },
    "/api/v1/stubs/scenarios": {
        "get": {
            "summary": "Scenarios of the workspace's stubs and their states",
            "parameters": [WORKSPACE],
            "responses": {**json_ok("The scenarios", _SCENARIOS), **problems(400, 422, 503)},
        }
    },
    "/api/v1/stubs/scenarios/reset": {
        "post": {
            "summary": "Every scenario back to Started",
            "parameters": [WORKSPACE],
            "responses": {**json_ok("The scenarios", _SCENARIOS), **problems(400, 422, 503, *WRITE_ERRORS)},
        }
    },
    "/api/v1/stubs/reset": {
        "post": {
            "summary": "Drop the workspace's stubs, scenario states and journal entries",
            "parameters": [WORKSPACE],
            "responses": {
                **json_ok(
                    "What went",
                    {
                        "type": "object",
                        "required": ["workspace", "stubs", "requests"],
                        "properties": {
                            "workspace": {"type": "string"},
                            "stubs": {"type": "integer"},
                            "requests": {"type": "integer"},
                        },
                    },
                ),
                **problems(400, 422, 503, *WRITE_ERRORS),
            },
        }
    },
    "/api/v1/stubs/{id}": {
        "get": {
            "summary": "One stub",
            "parameters": [_ID, WORKSPACE],
            "responses": {**json_ok("The stub", _STORED), **problems(400, 404, 422, 503)},
        },
        "put": {
            "summary": "Replace a stub",
            "parameters": [_ID, WORKSPACE],
            "requestBody": json_body(_MAPPING),
            "responses": {
                **json_ok("The stub as stored", _STORED),
                **problems(503, *_STUB_ERRORS, *BODY_ERRORS, *WRITE_ERRORS),
            },
        },
        "delete": {
            "summary": "Remove a stub",
            "parameters": [_ID, WORKSPACE],
            "responses": {**json_ok("The stub removed", _STORED), **problems(400, 404, 422, 503, *WRITE_ERRORS)},
        },
    },
}
