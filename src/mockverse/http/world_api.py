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

from mockverse.http.errors import json_response
from mockverse.http.mock import MockRoutes, workspace_of
from mockverse.spec import Spec
from mockverse.world.engine import ConsistencyEngine, EngineError, WorldView
from mockverse.world.model import EntityType, WorldModel

SAMPLES = 3


def world_routes(model: WorldModel, spec: Spec, engine: ConsistencyEngine, mock: MockRoutes) -> list[Route]:
    """The world view's route; the static part is computed once (the world does not change while serving)."""
    operations = [(op.method, op.path) for op in spec.operations]
    static = {"spec": {"title": spec.title, "openapi": spec.openapi, "source": spec.source,
                       "operations": len(spec.operations)},
              **model.describe(operations)}
    served = [{"method": m.method, "path": m.path, "kind": m.kind,
               "entity": m.entity.name if m.entity is not None else None,
               "target": m.target.name if m.target is not None else None,
               "params": {name: entity.name for name, entity in m.bound}}
              for methods in mock.by_path.values() for m in methods.values()]

    async def world(request: Request) -> Response:
        try:
            view = engine.view(workspace_of(request))
        except EngineError as exc:
            return json_response({"title": exc.title, "detail": exc.detail}, status=exc.status)
        types = [{**row, "sample": _samples(view, model.types[row["name"]])} for row in static["entity_types"]]
        return json_response({**static, "entity_types": types, "served": served})

    return [Route("/api/v1/consistency/world", world, methods=["GET"])]


def _samples(view: WorldView, entity: EntityType) -> list[dict]:
    """A few entities of a type that exist: ``{"id": ..., "parent_id": ...}`` (children found under parents)."""
    if entity.parent is None:
        ids = [entity.root_id(i) for i in range(1, min(SAMPLES, entity.config.population or 0) + 1)]
        return [{"id": i, "parent_id": None} for i in ids if view.get(entity, i) is not None]
    out: list[dict] = []
    for parent in _samples(view, entity.parent) if entity.parent.parent is not None else [
            {"id": entity.parent.root_id(i)} for i in range(1, min(25, entity.parent.config.population or 0) + 1)]:
        for child in view.child_ids(entity.parent, parent["id"], entity.relationship):  # type: ignore[arg-type]
            out.append({"id": child, "parent_id": parent["id"]})
            if len(out) >= SAMPLES:
                return out
    return out
