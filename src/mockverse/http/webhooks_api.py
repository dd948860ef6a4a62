"""/api/v1/webhooks: the configured subscriptions and every delivery with its attempts; replay."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockverse.config import WEBHOOK_EVENTS
from mockverse.http.admin_schema import WORKSPACE, WRITE_ERRORS, json_ok, problems
from mockverse.http.errors import Problem, is_decimal, json_response
from mockverse.http.mock import workspace_of
from mockverse.ids import EntityRef
from mockverse.protocols.webhooks import STATUSES, Webhooks


class WebhooksAPI:
    def __init__(self, webhooks: Webhooks) -> None:
        self.webhooks = webhooks

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/webhooks", self.subscriptions, methods=["GET"]),
            Route("/api/v1/webhooks/deliveries", self.deliveries, methods=["GET"]),
            Route("/api/v1/webhooks/deliveries/{id}", self.delivery, methods=["GET"]),
            Route("/api/v1/webhooks/deliveries/{id}/replay", self.replay, methods=["POST"]),
        ]

    def _workspace(self, request: Request) -> str:
        return self.webhooks.engine.view(workspace_of(request)).workspace

    async def subscriptions(self, request: Request) -> Response:
        subs = [{"index": i, "url": s.url, "events": s.events, "signed": self.webhooks.secrets[i] is not None,
                 "secret_env": s.secret_env, "timeout_seconds": s.timeout.total_seconds(),
                 "retry": {"max_attempts": s.retry.max_attempts, "initial_seconds": s.retry.initial.total_seconds(),
                           "factor": s.retry.factor, "max_delay_seconds": s.retry.max_delay.total_seconds()}}
                for i, s in enumerate(self.webhooks.subs)]
        return json_response({"webhooks": subs})

    async def deliveries(self, request: Request) -> Response:
        workspace = self._workspace(request)
        q = request.query_params
        events = sorted({*WEBHOOK_EVENTS, *self.webhooks.event_types()})
        event, status, persona = q.get("event"), q.get("status"), q.get("persona")
        if event is not None and event not in events:
            raise Problem(400, "Invalid query parameter", f"'{event[:100]}' is not a webhook event", field="event",
                          allowed=events)
        if status is not None and status not in STATUSES:
            raise Problem(400, "Invalid query parameter", f"'{status[:100]}' is not a delivery status", field="status",
                          allowed=list(STATUSES))
        if persona is not None:
            try:
                EntityRef.parse(persona)
            except ValueError as exc:
                raise Problem(400, "Invalid query parameter", str(exc)[:200], field="persona") from None
        raw = q.get("limit", "100")
        if not is_decimal(raw) or not 1 <= int(raw) <= 1000:
            raise Problem(400, "Invalid query parameter", "limit must be an integer from 1 to 1000", field="limit")
        rows = [d for d in reversed(self.webhooks.deliveries(workspace))
                if (event is None or d["event"] == event) and (status is None or d["status"] == status)
                and (persona is None or d["persona"] == persona)]
        return json_response({"workspace_id": workspace, "deliveries": rows[: int(raw)], "count": len(rows)})

    def _id(self, request: Request) -> int:
        raw = request.path_params["id"]
        if not is_decimal(raw) or not 1 <= int(raw) < 2**63:
            raise Problem(400, "Invalid path parameter", "id must be a positive integer (a delivery id)", field="id")
        return int(raw)

    async def delivery(self, request: Request) -> Response:
        workspace, id = self._workspace(request), self._id(request)
        found = self.webhooks.delivery(workspace, id)
        if found is None:
            raise Problem(404, "Not found", f"no webhook delivery {id} in workspace '{workspace}'", field="id")
        return json_response(found)

    async def replay(self, request: Request) -> Response:
        workspace, id = self._workspace(request), self._id(request)
        try:
            found = self.webhooks.replay(workspace, id)
        except ValueError as exc:
            raise Problem(409, "Cannot replay", str(exc), field="id") from None
        if found is None:
            raise Problem(404, "Not found", f"no webhook delivery {id} in workspace '{workspace}'", field="id")
        return json_response(found, status=202)


# -- the OpenAPI description of these routes -----------------------------------------------------------
_ATTEMPT = {"type": "object", "required": ["attempt", "sequence", "at", "status_code", "error", "duration_ms", "ok"],
            "properties": {"attempt": {"type": "integer", "minimum": 1}, "sequence": {"type": "integer", "minimum": 1},
                           "at": {"type": "string", "description": "wall-clock time of the attempt"},
                           "status_code": {"type": ["integer", "null"]}, "error": {"type": ["string", "null"]},
                           "duration_ms": {"type": "number"}, "ok": {"type": "boolean"}}}
_DELIVERY = {
    "type": "object",
    "required": ["id", "event_id", "event", "workspace", "url", "persona", "occurred_at", "status", "signed",
                 "attempts", "payload"],
    "properties": {
        "id": {"type": "integer"}, "event_id": {"type": "string", "pattern": "^evt_[0-9a-f]{32}$"},
        "event": {"type": "string"}, "workspace": {"type": "string"}, "url": {"type": "string"},
        "subscription": {"type": "integer"}, "persona": {"type": "string"},
        "occurred_at": {"type": "string", "description": "the virtual moment of the event"},
        "status": {"enum": list(STATUSES)}, "signed": {"type": "boolean"}, "signature": {"type": "string"},
        "sequence": {"type": "integer"}, "attempts": {"type": "array", "items": _ATTEMPT},
        "created_at": {"type": "string"}, "next_attempt_at": {"type": ["string", "null"]},
        "payload": {"type": "object", "required": ["id", "type", "workspace", "occurred_at", "data"],
                    "description": "exactly the JSON body POSTed"},
    },
}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}, "description": "the delivery id"}

OPENAPI_PATHS: dict[str, dict] = {
    "/api/v1/webhooks": {"get": {
        "summary": "The configured webhook subscriptions (secrets never shown)",
        "operationId": "listWebhooks",
        "responses": json_ok("The subscriptions", {
            "type": "object", "required": ["webhooks"],
            "properties": {"webhooks": {"type": "array", "items": {
                "type": "object", "required": ["index", "url", "events", "signed"],
                "properties": {"index": {"type": "integer"}, "url": {"type": "string"},
                               "events": {"type": "array", "items": {"type": "string"}},
                               "signed": {"type": "boolean"}, "secret_env": {"type": ["string", "null"]}}}}}}),
    }},
    "/api/v1/webhooks/deliveries": {"get": {
        "summary": "Webhook deliveries of the workspace, newest first, each with every attempt",
        "operationId": "listWebhookDeliveries",
        "parameters": [
            WORKSPACE,
            {"name": "event", "in": "query", "schema": {"type": "string"}, "description": "only this event type"},
            {"name": "status", "in": "query", "schema": {"enum": list(STATUSES)}},
            {"name": "persona", "in": "query", "schema": {"type": "string"}, "description": "a ref: user:123"},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
        ],
        "responses": {**json_ok("The deliveries", {
            "type": "object", "required": ["workspace_id", "deliveries", "count"],
            "properties": {"workspace_id": {"type": "string"}, "deliveries": {"type": "array", "items": _DELIVERY},
                           "count": {"type": "integer"}}}), **problems(400)},
    }},
    "/api/v1/webhooks/deliveries/{id}": {"get": {
        "summary": "One webhook delivery with its attempts and payload",
        "operationId": "getWebhookDelivery",
        "parameters": [WORKSPACE, _ID],
        "responses": {**json_ok("The delivery", _DELIVERY), **problems(400, 404)},
    }},
    "/api/v1/webhooks/deliveries/{id}/replay": {"post": {
        "summary": "Send a delivered or failed delivery again: a new attempt sequence, same body and event id",
        "operationId": "replayWebhookDelivery",
        "parameters": [WORKSPACE, _ID],
        "responses": {**json_ok("The delivery, pending again", _DELIVERY, status=202),
                      **problems(400, 404, 409, *WRITE_ERRORS)},
    }},
}
