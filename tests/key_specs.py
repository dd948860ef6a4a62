"""Specs for the key-claim tests: apps keyed by a ``uid`` besides their id (svix-like)."""

from __future__ import annotations

import json
from pathlib import Path


def apps_spec(tmp_path: Path) -> Path:
    """Apps with a prefixed id and a ``uid`` (an alternative key shaped like the ``{app_id}`` it answers at)."""
    uid = {"type": "string", "example": "unique-app-identifier", "pattern": "^[a-zA-Z0-9\\-_.]+$", "nullable": True}
    props = {"id": {"type": "string", "example": "app_1srOrx2ZWZBpBUvZwXKQmoEYga2"}, "uid": uid,
             "name": {"type": "string", "example": "My first application"}}
    app = {"type": "object", "properties": props}
    body = {"content": {"application/json": {"schema": {"type": "object", "properties": {
        k: v for k, v in props.items() if k != "id"}}}}}

    def ok(schema: dict, code: str = "200") -> dict:
        return {code: {"description": "ok", "content": {"application/json": {"schema": schema}}}}

    spec = {"openapi": "3.0.3", "info": {"title": "apps", "version": "1"}, "paths": {
        "/apps": {"get": {"operationId": "list", "responses": ok({"type": "array", "items": app})},
                  "post": {"operationId": "create", "requestBody": body, "responses": ok(app, "201")}},
        "/apps/{app_id}": {"parameters": [{"name": "app_id", "in": "path", "required": True, "schema": uid}],
                           "get": {"operationId": "get", "responses": ok(app)}}}}
    path = tmp_path / "apps.json"
    path.write_text(json.dumps(spec))
    return path
