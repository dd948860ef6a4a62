"""/api/v1/workspaces: workspaces are names over the server's world; define one with its own
seed, read what one is, reset one to the world as generated."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockverse.http.admin_schema import BODY_ERRORS, WORKSPACE_PATTERN, WRITE_ERRORS, json_body, json_ok, problems
from mockverse.http.errors import Problem, json_response, read_json
from mockverse.world.engine import ConsistencyEngine

_FIELDS = ("name", "seed")


class WorkspacesAPI:
    """Handlers for /api/v1/workspaces; the engine does the work (one call each)."""

    def __init__(self, engine: ConsistencyEngine, max_body_bytes: int) -> None:
        self.engine = engine
        self.max_body_bytes = max_body_bytes

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/workspaces", self.workspaces, methods=["GET", "POST"]),
            Route("/api/v1/workspaces/{ws}", self.workspace, methods=["GET"]),
            Route("/api/v1/workspaces/{ws}/reset", self.reset, methods=["POST"]),
        ]

    async def workspaces(self, request: Request) -> Response:
        """GET: the server's seed and the workspaces holding changes; POST: define one with its own seed."""
        if request.method == "GET":
            return json_response({"seed": self.engine.seed, "workspaces": self.engine.store.workspaces()})
        body = await read_json(request, self.max_body_bytes)
        if not isinstance(body, dict):
            raise Problem(422, "Invalid body", "the body must be a JSON object", field="body")
        unknown = sorted(set(body) - set(_FIELDS))
        if unknown:
            raise Problem(422, "Unknown field", f"unknown field '{unknown[0][:80]}'", field=unknown[0][:80],
                          allowed=list(_FIELDS))
        name, seed = body.get("name"), body.get("seed")
        if not isinstance(name, str):
            raise Problem(422, "Invalid body", "name is required: the workspace's name", field="name")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (str, int))
                                 or not 1 <= len(str(seed)) <= 64):
            raise Problem(422, "Invalid body", "seed must be an integer or a string of 1-64 characters "
                          "(or null: the server's world)", field="seed")
        return json_response(self.engine.create_workspace(name, seed), 201)

    async def workspace(self, request: Request) -> Response:
        """What one workspace is."""
        return json_response(self.engine.describe_workspace(request.path_params["ws"]))

    async def reset(self, request: Request) -> Response:
        """Drop the workspace's changes, clock and recordings."""
        return json_response(self.engine.reset_workspace(request.path_params["ws"]))


# -- the OpenAPI description of these routes --------------------------------------------------------
_WS = {"name": "ws", "in": "path", "required": True, "description": "the workspace's name",
       "schema": {"type": "string", "pattern": WORKSPACE_PATTERN}}
_DESCRIBED = {"type": "object", "required": ["name", "seed", "own_seed", "version"], "properties": {
    "name": {"type": "string"},
    "seed": {"type": "string", "description": "the seed whose world the workspace serves"},
    "own_seed": {"type": "boolean", "description": "false: the server's world (the default for every workspace)"},
    "version": {"type": "integer", "minimum": 0, "description": "its write counter; 0 for a workspace never changed"}}}

OPENAPI_PATHS: dict[str, dict] = {
    "/api/v1/workspaces": {
        "get": {
            "summary": "The server's seed and every workspace that holds changes",
            "responses": json_ok(
                "The workspaces",
                {
                    "type": "object",
                    "required": ["seed", "workspaces"],
                    "properties": {
                        "seed": {"type": "string"},
                        "workspaces": {"type": "array", "items": {"type": "string"}},
                    },
                },
            ),
        },
        "post": {
            "summary": "Define a workspace with its own seed (any other name already serves the server's world)",
            "requestBody": json_body(
                {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string", "pattern": WORKSPACE_PATTERN},
                        "seed": {
                            "type": ["string", "integer", "null"],
                            "description": "the world a server started with --seed SEED serves; "
                            "null or absent: the server's world",
                        },
                    },
                }
            ),
            "responses": {
                **json_ok("The workspace", _DESCRIBED, 201),
                **problems(400, 409, 503, *BODY_ERRORS, *WRITE_ERRORS),
            },
        },
    },
    "/api/v1/workspaces/{ws}": {
        "get": {
            "summary": "What a workspace is: its seed, whether it is its own, its version",
            "parameters": [_WS],
            "responses": {**json_ok("The workspace", _DESCRIBED), **problems(400, 503)},
        }
    },
    "/api/v1/workspaces/{ws}/reset": {
        "post": {
            "summary": "Drop the workspace's changes, clock, recordings and logs in one call (its own seed stays)",
            "parameters": [_WS],
            "responses": {**json_ok("The workspace after the reset", _DESCRIBED), **problems(400, 503, *WRITE_ERRORS)},
        }
    },
}
