"""The reality continuum's admin API: settings per workspace, ratio resolution, traces, recordings."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockverse.http.admin_schema import WORKSPACE, WRITE_ERRORS, json_body, json_ok, problems
from mockverse.http.errors import Problem, is_decimal, json_response, read_json
from mockverse.http.mock import workspace_of
from mockverse.http.reality import RealityService
from mockverse.reality.continuum import public_base
from mockverse.reality.har import HAR_SCHEMA, HarError, har_document, import_har, recording_har_entry
from mockverse.reality.ratio import HEADER, SettingsError, upstream_allowed, upstream_origin
from mockverse.reality.recordings import KIND, SOURCES, summary
from mockverse.world.engine import WorldView

HAR_MAX_BYTES = 64 * 1024 * 1024  # HAR files of real sessions are large; this is an admin endpoint
MAX_LIST = 1000


class RealityAPI:
    """Handlers for ``/api/v1/reality`` and ``/api/v1/recordings``."""

    def __init__(self, service: RealityService, operations: list, max_body_bytes: int) -> None:
        self.service = service
        self.operations = operations
        self.max_body_bytes = max_body_bytes

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/reality", self.settings, methods=["GET", "PUT", "DELETE"]),
            Route("/api/v1/reality/resolve", self.resolve, methods=["GET"]),
            Route("/api/v1/reality/trace/{request_id}", self.trace, methods=["GET"]),
            Route("/api/v1/recordings", self.recordings, methods=["GET", "DELETE"]),
            Route("/api/v1/recordings.har", self.recordings_har, methods=["GET"]),
            Route("/api/v1/recordings/import", self.import_har, methods=["POST"]),
            Route("/api/v1/recordings/{id}", self.recording, methods=["GET", "DELETE"]),
        ]

    def _view(self, request: Request) -> WorldView:
        return self.service.engine.view(workspace_of(request))

    # -- settings ----------------------------------------------------------------------------------
    async def settings(self, request: Request) -> Response:
        view = self._view(request)
        if request.method == "PUT":
            body = await read_json(request, self.max_body_bytes)
            if isinstance(body, dict) and "settings" in body:
                view, body = self._described(view, body)
            self.check_upstream(body)
            try:
                self.service.put_settings(view, body)
            except SettingsError as exc:
                raise Problem(400, "Invalid reality settings", exc.message, field=exc.field) from None
            view = self.service.engine.view(view.workspace)
        elif request.method == "DELETE":
            self.service.reset_settings(view)
            view = self._view(request)
        return json_response(self.service.describe(view), headers={"X-Mockverse-Workspace": view.workspace})

    def check_upstream(self, body: Any) -> None:
        """A 403 unless the upstream sent is one the operator allowed: the config's upstream or one
        of ``reality_continuum.allowed_upstreams`` (``--allow-upstream``). Otherwise anyone who can
        reach the admin API could make this server fetch from any host it can reach."""
        upstream = body.get("upstream") if isinstance(body, dict) else None
        if not isinstance(upstream, str) or upstream_origin(upstream) is None:
            return   # absent, null, or malformed (the settings check names that one)
        config = self.service.config
        allowed = [u for u in [config.upstream, *config.allowed_upstreams] if u]
        if not upstream_allowed(upstream, allowed):
            origins = sorted({origin for u in allowed if (origin := upstream_origin(u)) is not None})
            raise Problem(403, "Upstream not allowed", f"{upstream_origin(upstream)} is not an allowed upstream; "
                          "start the server with --allow-upstream URL or list it in "
                          "reality_continuum.allowed_upstreams", field="upstream", allowed=origins)

    def _described(self, view: WorldView, body: dict) -> tuple[WorldView, Any]:
        """A body shaped as ``GET /api/v1/reality`` answers: its ``settings`` are put (in the workspace it
        names); the parts the config decides must be as GET showed them, else a 400 names the part."""
        named = body.get("workspace", body.get("workspace_id"))
        if named is not None:
            if not isinstance(named, str):
                raise Problem(400, "Invalid reality settings", "workspace must be a workspace name", field="workspace")
            try:
                view = self.service.engine.view(named)
            except Problem as exc:
                raise Problem(exc.status, exc.title, exc.detail, field="workspace") from None
        shown = self.service.describe(view)
        for key, value in body.items():
            if key in ("settings", "workspace", "workspace_id"):
                continue
            if key not in shown:
                raise Problem(400, "Invalid reality settings", f"unknown key '{key}'; a body shaped as GET's has "
                              f"{', '.join(shown)}", field=key, allowed=list(shown))
            if value != shown[key]:
                where = "the workspace's PUTs (edit settings instead)" if key == "overrides" else \
                    f"the config (reality_continuum{'.' + key if key != 'config' else ''})"
                raise Problem(400, "Invalid reality settings", f"'{key}' is decided by {where}, not by this PUT; "
                              "send it as GET shows it, or leave it out", field=key)
        return view, body["settings"]

    async def resolve(self, request: Request) -> Response:
        view = self._view(request)
        path = request.query_params.get("path")
        if not path or not path.startswith("/"):
            raise Problem(400, "Invalid query parameter", "path must be a request path starting with '/', "
                          "e.g. ?path=/users/1", field="path")
        try:
            return json_response(self.service.resolve(view, path, request.headers.get(HEADER)))
        except SettingsError as exc:
            raise Problem(400, "Invalid reality ratio", exc.message, field=exc.field) from None

    async def trace(self, request: Request) -> Response:
        request_id = request.path_params["request_id"]
        trace = self.service.trace(request_id)
        if trace is None:
            raise Problem(404, "Unknown request", f"no trace for request '{request_id[:80]}'; traces are kept for "
                          "the last 1000 requests served through the reality continuum by this process",
                          field="request_id")
        return json_response(trace)

    # -- recordings --------------------------------------------------------------------------------
    async def recordings(self, request: Request) -> Response:
        view = self._view(request)
        store = self.service.engine.store
        if request.method == "DELETE":
            return json_response({"workspace": view.workspace, "deleted": store.delete_entries(view.workspace, KIND)})
        q = request.query_params
        limit = _positive(q.get("limit", "100"), "limit", MAX_LIST)
        source = q.get("source")
        if source is not None and source not in SOURCES:
            raise Problem(400, "Invalid query parameter", f"source must be one of {', '.join(SOURCES)}",
                          field="source", allowed=list(SOURCES))
        method, route, path = q.get("method"), q.get("route"), q.get("path")
        key = f"{(method or 'GET').upper()} {route}" if route else None
        rows = [(seq, value) for seq, _k, value in store.entries(view.workspace, KIND, key=key, newest_first=True)
                if isinstance(value, dict)
                and (method is None or value.get("method") == method.upper())
                and (path is None or value.get("path") == path)
                and (source is None or value.get("source") == source)]
        return json_response({"workspace": view.workspace, "total": len(rows), "count": min(limit, len(rows)),
                              "recordings": [summary(seq, value) for seq, value in rows[:limit]]})

    async def recording(self, request: Request) -> Response:
        view = self._view(request)
        store = self.service.engine.store
        raw = request.path_params["id"]
        if not is_decimal(raw):
            raise Problem(400, "Invalid path parameter", "the recording id is a positive integer", field="id")
        seq = int(raw)
        if request.method == "DELETE":
            if not store.delete_entries(view.workspace, KIND, seq):
                raise _missing(seq)
            return Response(status_code=204, headers={"X-Mockverse-Workspace": view.workspace})
        found = store.entry(view.workspace, KIND, seq)
        if found is None:
            raise _missing(seq)
        return json_response({"id": seq, **found[2]})

    async def import_har(self, request: Request) -> Response:
        view = self._view(request)
        har = await read_json(request, max(self.max_body_bytes, HAR_MAX_BYTES))
        strip = request.query_params.get("strip_prefix", "")
        try:
            result = import_har(self.service.engine.store, view.workspace, har, self.operations, strip_prefix=strip)
        except HarError as exc:
            raise Problem(400, "Invalid HAR", exc.message, field=exc.field) from None
        return json_response({"workspace": view.workspace, **result}, status=201 if result["imported"] else 200)


    async def recordings_har(self, request: Request) -> Response:
        """The workspace's recordings, oldest first, as a HAR 1.2 file; URLs on the workspace's upstream
        when one is set (else this server). ``mockverse import-har`` reads it back."""
        view = self._view(request)
        upstream = self.service.workspace(view).settings.upstream
        base = public_base(upstream) if upstream else str(request.base_url)
        entries = [recording_har_entry(seq, value, base) for seq, _k, value in
                   self.service.engine.store.entries(view.workspace, KIND) if isinstance(value, dict)]
        document = har_document(entries, f"recordings of workspace '{view.workspace}'")
        return json_response(document, headers={
            "X-Mockverse-Workspace": view.workspace,
            "Content-Disposition": f'attachment; filename="mockverse-recordings-{view.workspace}.har"'})


def _positive(raw: str, name: str, high: int) -> int:
    if not is_decimal(raw) or not 1 <= int(raw) <= high:
        raise Problem(400, "Invalid query parameter", f"{name} must be an integer from 1 to {high}", field=name)
    return int(raw)


def _missing(seq: Any) -> Problem:
    return Problem(404, "Not found", f"recording {seq} does not exist in this workspace", field="id")


# -- the OpenAPI description of these routes (collected by app.py into GET /api/v1/openapi.json) -------
_RATIO = {"type": "number", "minimum": 0, "maximum": 1}
_SETTINGS_IN = {
    "type": "object", "additionalProperties": False,
    "description": "any of the keys; what is sent is stored over the config's reality_continuum",
    "properties": {
        "default_ratio": _RATIO,
        "routes": {"type": "array", "items": {
            "type": "object", "required": ["pattern", "ratio"], "additionalProperties": False,
            "properties": {"pattern": {"type": "string", "description": "a path pattern such as /users/*"},
                           "ratio": _RATIO}}},
        "schedule": {"type": ["object", "null"], "required": ["from_ratio", "to_ratio", "over"],
                     "additionalProperties": False,
                     "properties": {"from_ratio": _RATIO, "to_ratio": _RATIO,
                                    "over": {"type": "string", "description": "a duration such as 30d"},
                                    "start": {"type": ["string", "null"], "format": "date-time"}}},
        "upstream": {"type": ["string", "null"], "pattern": "^https?://[^/]+", "description": "the upstream base URL"},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 300, "description": "seconds"},
    },
}
_SETTINGS_OUT = {"type": "object", "required": ["default_ratio", "routes", "schedule", "upstream", "timeout"],
                 "properties": {"default_ratio": _RATIO, "routes": {"type": "array"},
                                "schedule": {"type": ["object", "null"]}, "upstream": {"type": ["string", "null"]},
                                "timeout": {"type": "number"}}}
_DESCRIBED = {
    "type": "object",
    "required": ["workspace", "enabled", "record", "settings", "overrides", "config", "realism"],
    "properties": {
        "workspace": {"type": "string"},
        "enabled": {"type": "boolean"},
        "record": {"type": "boolean"},
        "settings": _SETTINGS_OUT,
        "overrides": {"type": ["object", "null"]},
        "config": _SETTINGS_OUT,
        "realism": {"type": "object"},
    },
}
_SUMMARY = {"type": "object", "required": ["id", "method", "route", "path", "query", "status", "source"],
            "properties": {"id": {"type": "integer", "minimum": 1}, "method": {"type": "string"},
                           "route": {"type": ["string", "null"]}, "path": {"type": "string"},
                           "query": {"type": "string"}, "status": {"type": "integer"},
                           "source": {"enum": list(SOURCES)}, "recorded_at": {"type": ["string", "null"]},
                           "latency_ms": {"type": ["number", "null"]}}}
_HAR_IMPORT = {"type": "object", "required": ["workspace", "imported", "skipped", "reasons", "ids"],
               "properties": {"workspace": {"type": "string"}, "imported": {"type": "integer", "minimum": 0},
                              "skipped": {"type": "integer", "minimum": 0},
                              "reasons": {"type": "object", "additionalProperties": {"type": "integer"}},
                              "ids": {"type": "array", "items": {"type": "integer"}}}}
_RECORDING_ID = {"name": "id", "in": "path", "required": True, "description": "the recording's id",
                 "schema": {"type": "integer", "minimum": 1}}
_RATIO_HEADER = {"name": HEADER, "in": "header", "required": False, "description": "a ratio for this request, 0 to 1",
                 "schema": {"type": "string", "pattern": r"^(0(\.[0-9]+)?|1(\.0+)?|\.[0-9]+)$"}}

OPENAPI_PATHS: dict[str, dict] = {
    "/api/v1/reality": {
        "get": {"summary": "The workspace's reality settings: effective, stored overrides and config",
                "parameters": [WORKSPACE],
                "responses": {**json_ok("The settings", _DESCRIBED), **problems(400, 503)}},
        "put": {"summary": "Store settings for the workspace over the config (effective on the next request)",
                "parameters": [WORKSPACE],
                "requestBody": json_body({"oneOf": [
                    _SETTINGS_IN,
                    {**_DESCRIBED, "required": ["settings"], "description": "a body as GET answers it (edited or not): "
                     "its settings are stored; the parts the config decides must be as GET showed them"}]}),
                "responses": {**json_ok("The settings now", _DESCRIBED),
                              **problems(400, 413, 415, 503, *WRITE_ERRORS)}},
        "delete": {"summary": "Forget the workspace's stored settings: the config applies again",
                   "parameters": [WORKSPACE],
                   "responses": {**json_ok("The settings now", _DESCRIBED), **problems(400, 503, *WRITE_ERRORS)}},
    },
    "/api/v1/reality/resolve": {"get": {
        "summary": "The ratio a request path gets now, and why",
        "parameters": [{"name": "path", "in": "query", "required": True, "description": "a request path",
                        "schema": {"type": "string", "pattern": "^/"}}, WORKSPACE, _RATIO_HEADER],
        "responses": {**json_ok("The ratio and how it was chosen", {
            "type": "object",
            "required": ["workspace", "path", "ratio", "source", "pattern", "band", "considered", "now", "clock_start",
                         "upstream", "record"],
            "properties": {"workspace": {"type": "string"}, "path": {"type": "string"}, "ratio": _RATIO,
                           "source": {"type": "string"}, "pattern": {"type": ["string", "null"]},
                           "band": {"enum": ["synthetic", "recorded", "upstream"]},
                           "considered": {"type": "array", "items": {"type": "object"}},
                           "now": {"type": "string"}, "clock_start": {"type": "string"},
                           "upstream": {"type": ["string", "null"]}, "record": {"type": "boolean"}}}),
            **problems(400, 503)},
    }},
    "/api/v1/reality/trace/{request_id}": {"get": {
        "summary": "How a recent request was served through the reality continuum, field by field",
        "parameters": [{"name": "request_id", "in": "path", "required": True,
                        "description": "its X-Mockverse-Request-Id", "schema": {"type": "string", "minLength": 1}}],
        "responses": {**json_ok("The trace", {
            "type": "object",
            "required": ["request_id", "method", "path", "workspace", "route", "ratio", "band", "source", "fallbacks",
                         "decisions", "status"],
            "properties": {"request_id": {"type": "string"}, "ratio": _RATIO, "band": {"type": "string"},
                           "fallbacks": {"type": "array", "items": {"type": "object"}},
                           "decisions": {"type": "array", "items": {
                               "type": "object", "required": ["path", "rule", "source", "u", "r"]}},
                           "status": {"type": "integer"}}}),
            **problems(404)},
    }},
    "/api/v1/recordings": {
        "get": {"summary": "The workspace's recordings of the upstream, newest first",
                "parameters": [
                    WORKSPACE,
                    {"name": "limit", "in": "query", "description": "at most this many (default 100)",
                     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIST}},
                    {"name": "source", "in": "query", "schema": {"enum": list(SOURCES)}},
                    {"name": "method", "in": "query", "schema": {"type": "string"}},
                    {"name": "route", "in": "query", "description": "an operation's path template, e.g. /users/{id}",
                     "schema": {"type": "string"}},
                    {"name": "path", "in": "query", "schema": {"type": "string"}}],
                "responses": {**json_ok("Recordings (summaries: no headers or bodies)", {
                    "type": "object", "required": ["workspace", "total", "count", "recordings"],
                    "properties": {"workspace": {"type": "string"}, "total": {"type": "integer", "minimum": 0},
                                   "count": {"type": "integer", "minimum": 0},
                                   "recordings": {"type": "array", "items": _SUMMARY}}}),
                    **problems(400, 503)}},
        "delete": {"summary": "Delete every recording of the workspace", "parameters": [WORKSPACE],
                   "responses": {**json_ok("How many were deleted", {
                       "type": "object", "required": ["workspace", "deleted"],
                       "properties": {"workspace": {"type": "string"}, "deleted": {"type": "integer", "minimum": 0}}}),
                       **problems(400, 503, *WRITE_ERRORS)}},
    },
    "/api/v1/recordings/import": {"post": {
        "summary": "Import a HAR 1.2 file: its JSON exchanges with operations of the spec become recordings",
        "parameters": [WORKSPACE, {"name": "strip_prefix", "in": "query", "schema": {"type": "string"},
                                   "description": "a path prefix the HAR's URLs have and the spec's paths do not"}],
        "requestBody": json_body({"type": "object", "required": ["log"], "description": "a HAR 1.2 document",
                                  "properties": {"log": {"type": "object", "required": ["entries"],
                                                         "properties": {"entries": {"type": "array"}}}}}),
        "responses": {
            **json_ok("Nothing new imported", _HAR_IMPORT), **json_ok("Imported", _HAR_IMPORT, 201),
            **problems(400, 413, 415, 503, *WRITE_ERRORS)},
    }},
    "/api/v1/recordings/{id}": {
        "get": {"summary": "One recording, headers and bodies included (credentials redacted)",
                "parameters": [_RECORDING_ID, WORKSPACE],
                "responses": {**json_ok("The recording", {
                    "type": "object", "required": ["id", "method", "path", "status", "headers", "body_kind", "source"],
                    "properties": {"id": {"type": "integer"}, "status": {"type": "integer"},
                                   "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                                   "body_kind": {"enum": ["json", "text", "empty"]},
                                   "source": {"enum": list(SOURCES)}}}),
                    **problems(400, 404, 503)}},
        "delete": {"summary": "Delete one recording", "parameters": [_RECORDING_ID, WORKSPACE],
                   "responses": {"204": {"description": "Deleted"}, **problems(400, 404, 503, *WRITE_ERRORS)}},
    },
    "/api/v1/recordings.har": {"get": {
        "summary": "The workspace's recordings as a HAR 1.2 file, oldest first (mockverse import-har reads it back)",
        "parameters": [WORKSPACE],
        "responses": {**json_ok("The HAR document", HAR_SCHEMA), **problems(400, 503)}}},
}
