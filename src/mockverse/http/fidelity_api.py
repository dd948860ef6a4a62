"""The fidelity API: score a mock against the real upstream, store the score, keep its history.

``POST /api/v1/workspace/{ws}/fidelity`` takes either the inputs themselves (schemas,
samples, response times, error patterns) or ``{"source": "traffic"}``: then the real side
is the workspace's recordings of the upstream and the mock side is the mock's own answers
to the same requests (bodies recomputed synthetically, latencies and statuses from the
request journal), scored per operation and rolled up by real traffic.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, compile_path

from mockverse.http.admin import Journal
from mockverse.http.admin_schema import WORKSPACE_PATTERN, WRITE_ERRORS, json_body, json_ok, problems
from mockverse.http.errors import Problem, json_response, read_json
from mockverse.http.mock import MockRoutes, starlette_path
from mockverse.progress import Progress
from mockverse.timeutil import format_rfc3339
from mockverse.world.engine import ConsistencyEngine

PAYLOAD_KEYS: dict[str, type | tuple[type, ...]] = {
    "mock_schema": dict, "real_schema": dict, "mock_samples": list, "real_samples": list,
    "mock_response_times": list, "real_response_times": list,
    "mock_error_patterns": (dict, list), "real_error_patterns": (dict, list),
    "weights": dict, "exclude": list}
NO_BODY_NOTE = 'no body: scored the workspace\'s own traffic, as {"source": "traffic"}'
MAX_PATHS_PER_OPERATION = 200
PROGRESS_FROM = 500          # recordings: scoring fewer is quick, more logs progress lines
_log = logging.getLogger("mockverse.progress")


class FidelityAPI:
    """Handlers for /api/v1/workspace/{workspace_id}/fidelity[...]."""

    def __init__(self, engine: ConsistencyEngine, mock: MockRoutes, journal: Journal, max_body_bytes: int,
                 exclude: list[str] | None = None, weights: dict[str, float] | None = None) -> None:
        self.engine, self.mock, self.journal = engine, mock, journal
        self.max_body_bytes = max_body_bytes
        self.exclude = list(exclude or [])
        self.weights = weights

    @functools.cached_property
    def templates(self) -> list:
        """(regex, path template) of every mock path, compiled on first use (a spec may have 10,000)."""
        return [(compile_path(starlette_path(path))[0], path) for path in self.mock.by_path]

    def routes(self) -> list[Route]:
        return [Route("/api/v1/workspace/{workspace_id}/fidelity", self.fidelity, methods=["GET", "POST"]),
                Route("/api/v1/workspace/{workspace_id}/fidelity/history", self.history, methods=["GET"])]

    def _workspace(self, request: Request) -> str:
        workspace = request.path_params["workspace_id"]
        try:
            return self.engine.view(workspace).workspace
        except Problem as exc:
            raise Problem(exc.status, exc.title, exc.detail, field="workspace_id") from None

    async def fidelity(self, request: Request) -> Response:
        workspace = self._workspace(request)
        store = self.engine.store
        if request.method == "GET":
            latest = store.entries(workspace, "fidelity", limit=1, newest_first=True)
            if not latest:
                raise Problem(404, "No fidelity score", f"workspace '{workspace}' has no fidelity score yet: compute "
                              f"one with POST /api/v1/workspace/{workspace}/fidelity and a body of samples, schemas, "
                              'response times and error patterns, or {"source": "traffic"} to use recordings',
                              field="workspace_id")
            return json_response({"success": True, "workspace_id": workspace, "score": latest[0][2]})
        body = await read_json(request, self.max_body_bytes, required=False)
        defaulted = body is None
        if defaulted:   # no body: the workspace's own traffic, as {"source": "traffic"}
            body = {"source": "traffic"}
        if not isinstance(body, dict):
            raise Problem(422, "Invalid body", "the body must be a JSON object", field="body")
        source = body.get("source", "payload")
        if source == "traffic":
            unknown = sorted(set(body) - {"source", "weights", "exclude"})
            if unknown:
                raise Problem(422, "Unknown field", f"'{unknown[0]}' does not go with source 'traffic'",
                              field=unknown[0], allowed=["source", "weights", "exclude"])
            self._check(body, {"source", "weights", "exclude"})
            score = self.from_traffic(workspace, body.get("weights") or self.weights, self._exclude(body), defaulted)
            if defaulted:
                score["source_note"] = NO_BODY_NOTE
        elif source == "payload":
            self._check(body, set(PAYLOAD_KEYS) | {"source"})
            inputs = {k: body[k] for k in PAYLOAD_KEYS if k in body and k not in ("weights", "exclude")}
            score = self._compute(field=None, weights=body.get("weights") or self.weights, exclude=self._exclude(body),
                                  **inputs)
            score["source"] = "payload"
        else:
            raise Problem(422, "Invalid source", f"source '{source}' is not known", field="source",
                          allowed=["payload", "traffic"])
        score["computed_at"] = format_rfc3339(datetime.now(UTC))
        store.append(workspace, "fidelity", "score", score)
        return json_response({"success": True, "workspace_id": workspace, "score": score})

    async def history(self, request: Request) -> Response:
        workspace = self._workspace(request)
        scores = [value for _, _, value in self.engine.store.entries(workspace, "fidelity")]
        return json_response({"success": True, "workspace_id": workspace, "count": len(scores), "history": scores})

    # -- inputs --------------------------------------------------------------------------------
    def _check(self, body: dict, allowed: set[str]) -> None:
        """Refuse unknown or ill-typed fields with a 422 naming the field (fidelity, and numpy with it, is
        imported here, on the first score, so a server start does not pay for it)."""
        from mockverse.fidelity.timing import error_histogram

        unknown = sorted(set(body) - allowed)
        if unknown:
            raise Problem(
                422, "Unknown field", f"unknown field '{unknown[0]}'", field=unknown[0], allowed=sorted(allowed)
            )
        for key, kind in PAYLOAD_KEYS.items():
            if key in body and body[key] is not None and not isinstance(body[key], kind):
                names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
                what = {"dict": "an object", "list": "an array"}
                raise Problem(
                    422,
                    "Invalid field",
                    f"{key} must be {' or '.join(what[n] for n in names.split(' or '))}",
                    field=key,
                )
        for key in ("mock_response_times", "real_response_times"):
            values = body.get(key) or []
            if any(isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 for v in values):
                raise Problem(422, "Invalid field", f"{key} must be non-negative numbers of milliseconds", field=key)
        for side in ("mock", "real"):
            try:
                error_histogram(body.get(f"{side}_error_patterns"), side)
            except ValueError as exc:
                raise Problem(422, "Invalid field", str(exc), field=f"{side}_error_patterns") from None
        exclude = body.get("exclude") or []
        if any(not isinstance(p, str) for p in exclude):
            raise Problem(
                422, "Invalid field", "exclude must be JSON paths such as '$.meta.request_id'", field="exclude"
            )

    def _exclude(self, body: dict) -> list[str]:
        return self.exclude + list(body.get("exclude") or [])

    def _compute(self, field: str | None, **inputs: Any) -> dict:
        """One score, a 422 on inputs it cannot score (fidelity is imported on the first score, not at start)."""
        from mockverse.fidelity import compute_score

        try:
            return compute_score(**inputs)
        except (ValueError, TypeError) as exc:
            raise Problem(422, "Invalid fidelity input", str(exc), field=field or "body") from None

    # -- traffic -------------------------------------------------------------------------------
    def _template(self, path: str) -> str | None:
        for regex, template in self.templates:
            if regex.match(path):
                return template
        return None

    def from_traffic(self, workspace: str, weights: dict | None, exclude: list[str], defaulted: bool = False) -> dict:
        """Score each operation the upstream was recorded for, then roll up by real traffic (fidelity is
        imported on the first score, not at start)."""
        recordings = [value for _, _, value in self.engine.store.entries(workspace, "recording")]
        if not recordings:
            raise Problem(409, "No recordings", (NO_BODY_NOTE + ", but " if defaulted else "") +
                          f"workspace '{workspace}' has no recordings of the upstream: record "
                          "with `mockverse record --upstream URL` or import a HAR file first", field="source")
        groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for rec in recordings:
            route = rec.get("route") or self._template(rec.get("path", ""))
            if route is not None:
                groups[(rec.get("method", "GET").upper(), route)].append(rec)
        served: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for entry in self.journal.entries:
            if entry["workspace"] == workspace and entry["source"] in ("synthetic", None):
                route = self._template(entry["path"])
                if route is not None:
                    served[(entry["method"], route)].append(entry)
        entries, skipped = [], []
        view = self.engine.view(workspace)
        scored, progress = 0, (Progress(f"fidelity of workspace '{workspace}'", "recordings", logger=_log)
                               if len(recordings) >= PROGRESS_FROM else None)  # long work shows progress
        for (method, route), recs in sorted(groups.items()):
            if progress is not None:
                progress.update(scored, len(recordings))
                scored += len(recs)
            op = self.mock.by_path.get(route, {}).get(method)
            if op is None:
                skipped.append({"operation": f"{method} {route}", "reason": "not an operation of the loaded spec"})
                continue
            real_ok = [
                r["body"]
                for r in recs
                if 200 <= int(r.get("status", 0)) < 300 and isinstance(r.get("body"), (dict, list))
            ]
            mock_bodies, mock_codes = [], []
            if method == "GET":
                for rec in recs[:MAX_PATHS_PER_OPERATION]:
                    status, body = self._synthetic(op, rec["path"], rec.get("query", ""), view)
                    mock_codes.append(status)
                    if 200 <= status < 300 and body is not None:
                        mock_bodies.append(body)
            seen = served.get((method, route), [])
            score = self._compute(
                field="source",
                mock_schema=op.schema,
                real_schema=None,
                mock_samples=mock_bodies or None,
                real_samples=real_ok or None,
                mock_response_times=[e["latency_ms"] for e in seen] or None,
                real_response_times=[r["latency_ms"] for r in recs if isinstance(r.get("latency_ms"), (int, float))]
                or None,
                mock_error_patterns=[e["status"] for e in seen] or mock_codes or None,
                real_error_patterns=[int(r.get("status", 0)) for r in recs] or None,
                weights=weights,
                exclude=exclude,
            )
            entries.append({"operation": f"{method} {route}", "weight": len(recs), "score": score})
        if progress is not None:
            progress.update(len(recordings), len(recordings))
        if not entries:
            raise Problem(409, "Nothing to score", "no recording matches an operation of the loaded spec",
                          field="source", extra={"skipped": skipped})
        from mockverse.fidelity import combine_operation_scores

        combined = combine_operation_scores(entries)
        combined["source"] = "traffic"
        combined["skipped_operations"] = skipped
        return combined

    def _synthetic(self, op: Any, path: str, query: str, view: Any) -> tuple[int, Any]:
        """The mock's own synthetic answer to one recorded request (the persona world's, at ratio 0)."""
        params: dict[str, Any] = next((m.groupdict() for regex, template in self.templates
                       if template == op.path and (m := regex.match(path))), {})
        scope = {"type": "http", "method": "GET", "path": path, "query_string": (query or "").encode(),
                 "headers": [(b"x-mockverse-workspace", view.workspace.encode())], "path_params": params}
        try:
            served = self.mock.read(op, Request(scope), view)
        except Problem as exc:
            return exc.status, None
        return served.status, orjson.loads(served.body) if served.body else None


# -- the OpenAPI description of these routes (collected by app.py into GET /api/v1/openapi.json) -------
_WORKSPACE_ID = {"name": "workspace_id", "in": "path", "required": True, "description": "the workspace",
                 "schema": {"type": "string", "pattern": WORKSPACE_PATTERN}}
_SCORE = {"type": "object", "required": ["overall", "overall_percentage", "driver_metrics", "computed_at"],
          "description": "the score: overall, the four drivers with value, weight, confidence and details, findings",
          "properties": {"overall": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                         "overall_percentage": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
                         "driver_metrics": {"type": "object", "additionalProperties": {"type": "object"}},
                         "source": {"enum": ["payload", "traffic"]},
                         "source_note": {"type": "string", "description": "why this source (a POST without a body)"},
                         "computed_at": {"type": "string", "format": "date-time"}}}
_SCORED = {"type": "object", "required": ["success", "workspace_id", "score"],
           "properties": {"success": {"const": True}, "workspace_id": {"type": "string"}, "score": _SCORE}}
# every input may also be null: the same as leaving it out
_TIMES = {"type": ["array", "null"], "items": {"type": "number", "minimum": 0}, "description": "milliseconds"}
_ERRORS = {"type": ["object", "array", "null"], "description": "status codes, or {status: count}"}
_COMMON = {"weights": {"type": ["object", "null"], "description": "driver -> weight",
                       "additionalProperties": {"type": "number", "minimum": 0}},
           "exclude": {"type": ["array", "null"], "items": {"type": "string"}, "description": "JSON paths left out"}}

OPENAPI_PATHS: dict[str, dict] = {
    "/api/v1/workspace/{workspace_id}/fidelity": {
        "get": {
            "summary": "The workspace's latest fidelity score",
            "parameters": [_WORKSPACE_ID],
            "responses": {**json_ok("The latest score", _SCORED), **problems(400, 404, 503)},
        },
        "post": {
            "summary": "Score the mock against the real upstream: from given inputs, or from recorded traffic "
            "(also without a body)",
            "parameters": [_WORKSPACE_ID],
            "requestBody": json_body(
                {
                    "oneOf": [
                        {
                            "type": "object",
                            "title": "payload",
                            "additionalProperties": False,
                            "properties": {
                                "source": {"const": "payload"},
                                "mock_schema": {"type": ["object", "null"]},
                                "real_schema": {"type": ["object", "null"]},
                                "mock_samples": {"type": ["array", "null"]},
                                "real_samples": {"type": ["array", "null"]},
                                "mock_response_times": _TIMES,
                                "real_response_times": _TIMES,
                                "mock_error_patterns": _ERRORS,
                                "real_error_patterns": _ERRORS,
                                **_COMMON,
                            },
                        },
                        {
                            "type": "object",
                            "title": "traffic",
                            "required": ["source"],
                            "additionalProperties": False,
                            "properties": {"source": {"const": "traffic"}, **_COMMON},
                        },
                    ]
                },
                required=False,
            ),
            "responses": {
                **json_ok("The score, stored in the history", _SCORED),
                **problems(400, 409, 413, 415, 422, 503, *WRITE_ERRORS),
            },
        },
    },
    "/api/v1/workspace/{workspace_id}/fidelity/history": {
        "get": {
            "summary": "Every fidelity score of the workspace, oldest first",
            "parameters": [_WORKSPACE_ID],
            "responses": {
                **json_ok(
                    "The history",
                    {
                        "type": "object",
                        "required": ["success", "workspace_id", "count", "history"],
                        "properties": {
                            "success": {"const": True},
                            "workspace_id": {"type": "string"},
                            "count": {"type": "integer", "minimum": 0},
                            "history": {"type": "array", "items": _SCORE},
                        },
                    },
                ),
                **problems(400, 503),
            },
        }
    },
}
