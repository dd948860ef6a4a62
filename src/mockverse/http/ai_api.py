"""``/api/v1/ai``: personas generated from a description, and the status of the LLM provider.

Every answer says which path produced it (``generated_by`` and ``X-Mockverse-Generator``:
``llm`` or ``template``). The API key is never part of any answer.
"""

from __future__ import annotations

import orjson
from jsonschema import Draft202012Validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockverse.ai.personas import PersonaGenerator
from mockverse.ai.provider import LLM, AIError
from mockverse.http.admin_schema import WORKSPACE, WORKSPACE_PATTERN, WRITE_ERRORS, json_body, json_ok, problems
from mockverse.http.errors import Problem, check_body, json_response, read_json
from mockverse.http.mock import workspace_of
from mockverse.world.engine import ConsistencyEngine

PERSONA_REQUEST = {
    "type": "object", "additionalProperties": False, "required": ["description"],
    "properties": {"description": {"type": "string", "minLength": 1, "maxLength": 2000,
                                   "description": "who the persona is, in plain words"},
                   "workspace_id": {"type": "string", "pattern": WORKSPACE_PATTERN,
                                    "description": "the workspace to register it in (default: the request's)"}},
}
_REQUEST = Draft202012Validator(PERSONA_REQUEST)


def ai_error(exc: AIError) -> Problem:
    """The problem answered for a failed LLM call (502 upstream, 504 timeout, 422 unusable output)."""
    titles = {502: "LLM upstream failed", 504: "LLM timeout", 422: "LLM output unusable"}
    return Problem(exc.status, titles.get(exc.status, "LLM failed"), exc.message, field=exc.field)


class AIAPI:
    """Handlers for ``/api/v1/ai``."""

    def __init__(self, engine: ConsistencyEngine, llm: LLM | None, mode: str, max_body_bytes: int) -> None:
        self.engine, self.llm, self.mode = engine, llm, mode
        self.personas = PersonaGenerator(engine, llm, mode)
        self.max_body_bytes = max_body_bytes

    def routes(self) -> list[Route]:
        return [Route("/api/v1/ai/personas", self.persona, methods=["POST"]),
                Route("/api/v1/ai/status", self.status, methods=["GET"])]

    async def persona(self, request: Request) -> Response:
        body = await read_json(request, self.max_body_bytes)
        check_body(_REQUEST, body)
        try:
            self.engine.view(workspace_of(request))   # a bad header/query workspace is a 400, body field or not
            workspace = body.get("workspace_id") or workspace_of(request)
            persona, made = await self.personas.generate(workspace, body["description"])
        except AIError as exc:
            raise ai_error(exc) from None
        headers = {"X-Mockverse-Workspace": workspace, "X-Mockverse-Persona": persona["persona_id"],
                   "X-Mockverse-Generator": persona["generated_by"],
                   "X-Mockverse-Artefact": "generated" if made else "frozen"}
        return Response(orjson.dumps(persona), status_code=201 if made else 200, media_type="application/json",
                        headers=headers)

    async def status(self, request: Request) -> Response:
        llm = self.llm
        if llm is None:
            return json_response({"configured": False, "provider": None, "model": None, "mode": self.mode,
                                  "base_url_host": None, "api_key_env": None, "api_key_set": False,
                                  "structured_output": None, "calls": 0, "fallback": "template"})
        return json_response({"configured": True, "provider": llm.config.provider, "model": llm.config.model,
                              "mode": self.mode, "base_url_host": llm.host, "api_key_env": llm.config.api_key_env,
                              "api_key_set": llm.key_set, "structured_output": llm.structured, "calls": llm.calls,
                              "fallback": None})


_PERSONA_OUT = {
    "type": "object",
    "required": ["generated_by", "model", "description", "persona_id", "workspace_id", "user", "lifecycle", "orders",
                 "links"],
    "properties": {
        "generated_by": {"enum": ["llm", "template"]}, "model": {"type": ["string", "null"]},
        "description": {"type": "string"}, "persona_id": {"type": "string"}, "workspace_id": {"type": "string"},
        "user": {"type": "object"},
        "lifecycle": {"type": "object", "required": ["state", "metadata"],
                      "properties": {"state": {"type": "string"}, "metadata": {"type": "object"}}},
        "orders": {"type": "array", "items": {"type": "object"}},
        "links": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
_STATUS_OUT = {
    "type": "object",
    "required": ["configured", "provider", "model", "mode", "base_url_host", "api_key_env", "api_key_set",
                 "structured_output", "calls", "fallback"],
    "properties": {"configured": {"type": "boolean"}, "provider": {"type": ["string", "null"]},
                   "model": {"type": ["string", "null"]}, "mode": {"enum": ["frozen", "live"]},
                   "base_url_host": {"type": ["string", "null"]}, "api_key_env": {"type": ["string", "null"]},
                   "api_key_set": {"type": "boolean"}, "structured_output": {"type": ["boolean", "null"]},
                   "calls": {"type": "integer", "minimum": 0}, "fallback": {"enum": ["template", None]}},
}

OPENAPI_PATHS: dict[str, dict] = {
    "/api/v1/ai/personas": {"post": {
        "summary": "Generate a persona from a description (LLM, or the template fallback), register it in the "
                   "world and freeze it: the same description returns the same body",
        "operationId": "generatePersona",
        "parameters": [WORKSPACE], "requestBody": json_body(PERSONA_REQUEST),
        "responses": {**json_ok("The persona, frozen earlier", _PERSONA_OUT),
                      **json_ok("The persona, generated and registered now", _PERSONA_OUT, status=201),
                      **problems(400, 413, 415, 422, 502, 503, 504, *WRITE_ERRORS)},
    }},
    "/api/v1/ai/status": {"get": {
        "summary": "The LLM provider: configured or not, model, mode, host (never the key)",
        "operationId": "getAIStatus",
        "responses": {**json_ok("The provider's status", _STATUS_OUT)},
    }},
}
