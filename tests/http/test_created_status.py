"""A create answers 201 where the spec declares 201 with the body it serves, even beside a 200 (svix declares 200
for an application it already had and 201 for a new one); where it declares only 200, or a 201 of another body,
the create answers 200 as declared."""

from __future__ import annotations

import json
from pathlib import Path

THING = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
OTHER = {"type": "object", "properties": {"queued": {"type": "boolean"}}}


def _json(schema: dict) -> dict:
    return {"description": "ok", "content": {"application/json": {"schema": schema}}}


def _spec(tmp_path: Path, responses: dict) -> Path:
    body = {"content": {"application/json": {"schema": {"type": "object", "properties": {
        "name": {"type": "string"}}}}}}
    spec = {"openapi": "3.0.3", "info": {"title": "created", "version": "1"}, "paths": {
        "/things": {"get": {"responses": {"200": _json({"type": "array", "items": THING})}},
                    "post": {"requestBody": body, "responses": responses}},
        "/things/{id}": {"get": {"parameters": [{"name": "id", "in": "path", "required": True,
                                                 "schema": {"type": "integer"}}],
                                 "responses": {"200": _json(THING)}}}}}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def test_a_create_answers_201_where_declared_beside_200(app_client, tmp_path: Path):
    """200 and 201 of one body: the create answers 201, its Location the new item."""
    c = app_client(spec=_spec(tmp_path, {"200": _json(THING), "201": _json(THING)}))
    created = c.post("/things", json={"name": "Lamp"})
    assert (created.status_code, created.headers["location"], created.json()) == (
        201, "/things/51", {"id": 51, "name": "Lamp"})


def test_a_create_answers_200_where_only_200_or_another_201_is_declared(app_client, tmp_path: Path):
    """Only 200, or a 201 whose body is another schema: the create answers 200 with the served body."""
    for responses in ({"200": _json(THING)}, {"200": _json(THING), "201": _json(OTHER)}):
        c = app_client(spec=_spec(tmp_path, responses))
        created = c.post("/things", json={"name": "Lamp"})
        assert (created.status_code, created.json()) == (200, {"id": 51, "name": "Lamp"})
