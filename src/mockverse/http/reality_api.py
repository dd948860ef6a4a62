"""The reality continuum's admin API: settings per workspace, ratio resolution, traces, recordings."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockverse.http.errors import Problem, json_response, read_json
from mockverse.http.mock import workspace_of
from mockverse.reality.ratio import HEADER, SettingsError
from mockverse.reality.recorder import KIND, SOURCES, HarError, import_har, summary
from mockverse.reality.serve import RealityService
from mockverse.world.engine import EngineError, WorldView

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
            Route("/api/v1/recordings/import", self.import_har, methods=["POST"]),
            Route("/api/v1/recordings/{id}", self.recording, methods=["GET", "DELETE"]),
        ]

    def _view(self, request: Request) -> WorldView:
        try:
            return self.service.engine.view(workspace_of(request))
        except EngineError as exc:
            raise Problem(exc.status, exc.title, exc.detail, field=exc.field, allowed=exc.allowed) from None

    # -- settings ----------------------------------------------------------------------------------
    async def settings(self, request: Request) -> Response:
        view = self._view(request)
        if request.method == "PUT":
            body = await read_json(request, self.max_body_bytes)
            try:
                self.service.put_settings(view, body)
            except SettingsError as exc:
                raise Problem(400, "Invalid reality settings", exc.message, field=exc.field) from None
            view = self._view(request)
        elif request.method == "DELETE":
            self.service.reset_settings(view)
            view = self._view(request)
        return json_response(self.service.describe(view), headers={"X-Mockverse-Workspace": view.workspace})

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
        if not raw.isdigit():
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


def _positive(raw: str, name: str, high: int) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise Problem(400, "Invalid query parameter", f"{name} must be an integer from 1 to {high}", field=name)
    return int(raw)


def _missing(seq: Any) -> Problem:
    return Problem(404, "Not found", f"recording {seq} does not exist in this workspace", field="id")
