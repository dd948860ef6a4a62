"""``GET /api/v1/openapi.json``: the admin API's own OpenAPI 3.1 document.

Each HTTP module with ``/api/v1`` routes describes them in a module-level ``OPENAPI_PATHS``
(path template -> path item); this module holds the shared pieces (the problem JSON every
error is, the workspace header) and joins the modules' paths into one document, built once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockverse import __version__
from mockverse.http.errors import PROBLEM

PROBLEM_REF = {"$ref": "#/components/responses/Problem"}
WORKSPACE = {"$ref": "#/components/parameters/Workspace"}
WORKSPACE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"   # ConsistencyEngine.view's WORKSPACE_NAME
BODY_ERRORS = (400, 413, 415, 422)                        # what read_json and the checks of a body answer
WRITE_ERRORS = (401, 403, 415)  # writes: token (401/403), upstream allow-list (403), no JSON content type (415)

COMPONENTS: dict[str, Any] = {
    "schemas": {
        "Problem": {
            "type": "object",
            "description": "An RFC 9457 problem: every error of mockverse is one.",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string", "pattern": "^urn:mockverse:problem:"},
                "title": {"type": "string"},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "detail": {"type": "string"},
                "field": {"type": "string", "description": "the culprit: a body field, parameter or header"},
                "allowed": {"type": "array", "description": "the values that field takes"},
                "errors": {
                    "type": "array",
                    "description": "every violation of a body's schema",
                    "items": {
                        "type": "object",
                        "required": ["field", "message"],
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
            "additionalProperties": True,
        },
    },
    "responses": {
        "Problem": {
            "description": "An error, as problem JSON whose field names the culprit",
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        },
    },
    "parameters": {
        "Workspace": {
            "name": "X-Mockverse-Workspace",
            "in": "header",
            "required": False,
            "description": "the workspace (also ?workspace= or ?workspace_id=); 'default' when absent or empty",
            "schema": {"type": "string", "pattern": r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,63})?$"},
        },
    },
}


def problems(*statuses: int) -> dict[str, Any]:
    """Error responses for ``statuses``, each the shared problem JSON response."""
    return {str(status): PROBLEM_REF for status in sorted(set(statuses))}


def json_ok(description: str, schema: dict, status: int = 200) -> dict[str, Any]:
    """A success response whose body is JSON of ``schema``."""
    return {str(status): {"description": description, "content": {"application/json": {"schema": schema}}}}


def json_body(schema: dict, required: bool = True) -> dict[str, Any]:
    """A JSON request body of ``schema``."""
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def build_document(path_sets: Iterable[Mapping[str, dict]]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the admin API from the modules' ``OPENAPI_PATHS``
    (a path described twice is an error: two modules would be claiming one route)."""
    paths: dict[str, dict] = {}
    for path_set in path_sets:
        for path, item in path_set.items():
            if path in paths:
                raise ValueError(f"{path} is described by two modules")
            paths[path] = {method: _guarded(method, operation) for method, operation in item.items()}
    return {
        "openapi": "3.1.0",
        "info": {"title": "mockverse admin API", "version": __version__,
                 "description": "The engine's own API under /api/v1: consistency views, personas, the clock, "
                                "the reality continuum, recordings, fidelity. Errors are problem JSON."},
        "paths": dict(sorted(paths.items())),
        "components": COMPONENTS,
    }


def _guarded(method: str, operation: Any) -> Any:
    """What ``security.AdminGuard`` answers before any operation: 403 to a foreign ``Host`` or ``Origin``,
    and for a POST, PUT or PATCH 415 without ``Content-Type: application/json``."""
    if not isinstance(operation, dict) or not isinstance(operation.get("responses"), dict):
        return operation
    guard = problems(403, 415) if method in ("post", "put", "patch") else problems(403)
    return {**operation, "responses": {**operation["responses"], **guard}}


def openapi_routes(path_sets: Iterable[Mapping[str, dict]]) -> list[Route]:
    """The route serving the document; its bytes are built once, as the routes do not change."""
    body = orjson.dumps(build_document([OPENAPI_PATHS, *path_sets]))

    async def document(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return [Route("/api/v1/openapi.json", document, methods=["GET"])]


OPENAPI_PATHS: dict[str, dict] = {
    "/api/v1/openapi.json": {"get": {
        "summary": "This document: the OpenAPI 3.1 description of every /api/v1 endpoint",
        "operationId": "getOpenAPI",
        "responses": json_ok("The document", {"type": "object", "required": ["openapi", "info", "paths", "components"],
                                              "properties": {"openapi": {"const": "3.1.0"}}}),
    }},
}
