"""``GET /api/v1/consistency/world``: the world as inferred from the spec and corrected by the config.

Besides the entity types and relationships (with evidence, confidence and how the world
uses each), it lists how every operation is served (its kind and which entity type each
path parameter names) and, per type, a few ids of entities that exist in the requested
workspace, so a client (or a test) can walk the whole API without guessing.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockverse.ai.relations import Relations
from mockverse.ai.text_writer import TextService
from mockverse.http.admin_schema import WORKSPACE, json_ok, problems
from mockverse.http.errors import Problem, json_response
from mockverse.http.mock import MockRoutes, workspace_of
from mockverse.http.operations import CollectionOp, ListOp, Operation
from mockverse.openapi import Spec
from mockverse.world.engine import ConsistencyEngine, WorldView
from mockverse.world.model import EntityType, WorldModel

SAMPLES = 3
PARENTS_READ = 25   # parents a sample of a child type looks under, at most


def _served_types(op: Operation) -> dict[str, str | None]:
    """The entity an operation's path names (a collection: its type) and the type a nested list lists."""
    if isinstance(op, CollectionOp):
        return {"entity": op.listed.name, "target": None}
    named = op.named
    return {"entity": named[0].name if named is not None else None,
            "target": op.listed.name if isinstance(op, ListOp) else None}


def world_routes(model: WorldModel, spec: Spec, engine: ConsistencyEngine, mock: MockRoutes,
                 relations: Relations | None = None, texts: TextService | None = None) -> list[Route]:
    """The world view's routes; the static part is computed once (the world does not change while serving)."""
    operations = [(op.method, op.path) for op in spec.operations]
    static = {"spec": {"title": spec.title, "openapi": spec.openapi, "source": spec.source,
                       "operations": len(spec.operations)},
              **model.describe(operations)}
    served = [{"method": m.method, "path": m.path, "kind": m.kind, **_served_types(m),
               "params": {name: entity.name for name, entity in m.bound}}
              for methods in mock.by_path.values() for m in methods.values()]

    async def world(request: Request) -> Response:
        view = engine.view(workspace_of(request))
        types = [{**row, "sample": _samples(view, model.types[row["name"]])} for row in static["entity_types"]]
        return json_response({**static, "entity_types": types, "served": served, **_inference(static, relations),
                              "consistency": {"enabled": "consistency" not in engine.off,
                                              "persona_graph": "persona_graph" not in engine.off, "off": engine.off},
                              **({"text": texts.stats()} if texts is not None else {})})

    async def accept(request: Request) -> Response:
        """Accept an LLM relationship proposal: stored now, applied when the server next starts."""
        wanted = request.path_params["id"]
        known = [p.id for p in relations.proposals()] if relations is not None else []
        try:
            proposal = relations.accept(wanted) if relations is not None and wanted in known else None
        except ValueError as exc:
            raise Problem(422, "Nothing to apply", str(exc), field="id") from None
        if proposal is None:
            detail = (f"no relationship proposal '{wanted[:120]}'" if relations is not None and relations.config
                      else "this world has no LLM relationship proposals (inference: heuristics)")
            raise Problem(404, "Unknown proposal", detail, field="id", allowed=known or None)
        return json_response(proposal.to_dict())

    return [Route("/api/v1/consistency/world", world, methods=["GET"]),
            Route("/api/v1/consistency/world/relationships/{id}/accept", accept, methods=["POST"])]


def _inference(static: dict, relations: Relations | None) -> dict:
    """How relationships were inferred: heuristics only, or with LLM proposals (each with its status)."""
    if relations is None or relations.config is None:
        return {"inference": "heuristics", "relationship_proposals": []}
    proposals = [p.to_dict() for p in relations.proposals()]
    applied = {p["relationship_id"] for p in proposals if p["applied"]}
    links = [{**r, "source_of_inference": "llm"} if r.get("id") in applied else r for r in static["relationships"]]
    return {"inference": "llm", "relationships": links, "relationship_proposals": proposals,
            "relationship_threshold": relations.config.relationship_threshold,
            "relationship_inference": {"candidates": len(relations.candidates), "answered": len(proposals),
                                       "error": relations.error,
                                       "applies": "proposals are applied when a server starts; an acceptance "
                                                  "takes effect at the next start"}}


def _samples(view: WorldView, entity: EntityType, most: int = SAMPLES) -> list[dict]:
    """A few entities of a type that exist: ``{"id": ..., "parent_id": ...}`` (children found under up to
    PARENTS_READ parents, so a type whose first parents have none, a channel's members, still shows some)."""
    if entity.parent is None or entity.relationship is None:
        ids = [entity.root_id(i) for i in range(1, min(most, entity.config.population or 0) + 1)]
        return [{"id": i, "parent_id": None} for i in ids if view.get(entity, i) is not None]
    out: list[dict] = []
    for parent in _samples(view, entity.parent, PARENTS_READ):
        for child in view.child_ids(entity.parent, parent["id"], entity.relationship):
            out.append({"id": child, "parent_id": parent["id"]})
            if len(out) >= most:
                return out
    return out


# -- the OpenAPI description of this route (collected by app.py into GET /api/v1/openapi.json) --------
OPENAPI_PATHS: dict[str, dict] = {
    "/api/v1/consistency/world": {"get": {
        "summary": "The world: entity types and relationships (with evidence), how each operation is served, "
                   "a few ids of entities that exist in the workspace",
        "parameters": [WORKSPACE],
        "responses": {**json_ok("The world", {
            "type": "object", "required": ["spec", "entity_types", "relationships", "served"],
            "properties": {
                "spec": {"type": "object", "required": ["title", "openapi", "source", "operations"],
                         "properties": {"title": {"type": "string"}, "operations": {"type": "integer"}}},
                "entity_types": {"type": "array", "items": {
                    "type": "object", "required": ["name", "sample"],
                    "properties": {"name": {"type": "string"}, "sample": {"type": "array", "items": {
                        "type": "object", "required": ["id", "parent_id"],
                        "properties": {"id": {"type": ["integer", "string"]},
                                       "parent_id": {"type": ["integer", "string", "null"]}}}}}}},
                "relationships": {"type": "array", "items": {"type": "object"}},
                "served": {"type": "array", "items": {
                    "type": "object", "required": ["method", "path", "kind", "entity", "target", "params"],
                    "properties": {"method": {"type": "string"}, "path": {"type": "string"},
                                   "kind": {"type": "string"}, "entity": {"type": ["string", "null"]},
                                   "target": {"type": ["string", "null"]},
                                   "params": {"type": "object", "additionalProperties": {"type": "string"}}}}}}}),
            **problems(400, 503)},
    }},
}

# -- LLM relationship proposals in the world view, and accepting one ----------------------
PROPOSAL_SCHEMA = {
    "type": "object",
    "required": ["id", "source", "entity_type", "field", "target", "relationship_id", "kind", "reason",
                 "confidence", "status", "applied", "heuristic_target", "model", "note"],
    "properties": {
        "id": {"type": "string"}, "source": {"const": "llm"}, "entity_type": {"type": "string"},
        "field": {"type": "string"}, "target": {"type": ["string", "null"]},
        "relationship_id": {"type": ["string", "null"]}, "kind": {"enum": ["belongs_to", "has_many"]},
        "reason": {"type": "string"}, "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "status": {"enum": ["proposed", "applied", "accepted"]}, "applied": {"type": "boolean"},
        "heuristic_target": {"type": ["string", "null"]}, "model": {"type": "string"}, "note": {"type": "string"},
    },
}
_world_schema = OPENAPI_PATHS["/api/v1/consistency/world"]["get"]["responses"]["200"]["content"]["application/json"][
    "schema"
]
_world_schema["required"] = [*_world_schema["required"], "inference", "relationship_proposals"]
_world_schema["properties"].update({
    "inference": {"enum": ["heuristics", "llm"]},
    "relationship_proposals": {"type": "array", "items": PROPOSAL_SCHEMA},
    "relationship_threshold": {"type": "number"},
    "text": {"type": "object", "description": "the LLM text queue: jobs queued, dropped (queue full), fields "
                                              "written, failed calls",
             "required": ["queued", "dropped", "written", "failed", "calls", "waiting", "queue_size", "llm"],
             "properties": {k: {"type": "integer", "minimum": 0} for k in
                            ("queued", "dropped", "written", "failed", "calls", "waiting", "queue_size")}},
})
OPENAPI_PATHS["/api/v1/consistency/world/relationships/{id}/accept"] = {"post": {
    "summary": "Accept an LLM relationship proposal: stored now, applied to the world when the server next starts",
    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
                    "description": "the proposal id, '<entity type>.<field>'"}],
    "responses": {**json_ok("The accepted proposal", PROPOSAL_SCHEMA), **problems(401, 403, 404, 422, 503)},
}}
