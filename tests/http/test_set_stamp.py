"""A scalar written into an object field (``setTopic topic=Hello``) moves the object's "last set" moments to
the world's now: only properties named for a setting that hold a moment (a date-time, a date, a number whose
format or description calls it a time, or named like one), never a count or a flag named for a setting."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from rpc_specs import answer, form

NOW = datetime(2026, 1, 3, 6, tzinfo=UTC)   # the world's clock, moved on from its start (2026-01-01)
TOPIC = {"type": "object", "required": ["value"], "additionalProperties": False, "properties": {
    "value": {"type": "string"},
    "updated_count": {"type": "integer", "minimum": 0},                     # a count, not a moment
    "is_set": {"type": "boolean"},                                           # a flag
    "set_by": {"type": "string", "pattern": "^U[0-9]{6}$"},                  # a name
    "changed": {"type": "string", "enum": ["yes", "no"]},                    # a plain string
    "last_set": {"type": "integer", "description": "Unix time the topic was last set"},
    "edited": {"type": "integer", "format": "unix-time"},
    "updated_on": {"type": "string", "format": "date"},
    "modified_at": {"type": "number"},                                       # a moment by its name
    "set_time": {"type": "string", "format": "date-time"},
    "updated_ms": {"type": "integer", "description": "When it was updated, in milliseconds since the epoch"},
}}
THING = {"type": "object", "required": ["id", "name", "topic"], "additionalProperties": False,
         "properties": {"id": {"type": "string", "pattern": "^T[0-9A-Z]{8}$"}, "name": {"type": "string"},
                        "topic": TOPIC}}
REF = {"$ref": "#/components/schemas/thing"}
SPEC = {
    "openapi": "3.0.3", "info": {"title": "Stamps", "version": "1"},
    "components": {"schemas": {"thing": THING}},
    "paths": {
        "/things.create": {"post": {"requestBody": form({"name": {"type": "string"}}, ["name"]),
                                    "responses": answer({"thing": REF})}},
        "/things.info": {"get": {"parameters": [{"name": "thing", "in": "query", "required": True,
                                                 "schema": {"type": "string"}}], "responses": answer({"thing": REF})}},
        "/things.setTopic": {"post": {"requestBody": form({"thing": {"type": "string"}, "topic": {"type": "string"}},
                                                          ["thing", "topic"]), "responses": answer({"thing": REF})}},
    },
}


def test_only_moments_named_for_a_setting_are_stamped(app_client, tmp_path: Path) -> None:
    path = tmp_path / "stamps.json"
    path.write_text(json.dumps(SPEC))
    c = app_client(spec=path)
    before = c.post("/things.create", data={"name": "first"}).json()["thing"]
    assert c.post("/api/v1/consistency/clock/advance", json={"by": "54h"}).status_code == 200
    topic = c.post("/things.setTopic", data={"thing": before["id"], "topic": "Hello"}).json()["thing"]["topic"]
    kept = {k: before["topic"][k] for k in ("updated_count", "is_set", "set_by", "changed") if k in before["topic"]}
    seconds = int(NOW.timestamp())
    assert topic == {**kept, "value": "Hello", "last_set": seconds, "edited": seconds, "updated_on": "2026-01-03",
                     "modified_at": float(seconds), "set_time": "2026-01-03T06:00:00Z", "updated_ms": seconds * 1000}
    assert c.get("/things.info", params={"thing": before["id"]}).json()["thing"]["topic"] == topic
    assert set(kept) == {"updated_count", "is_set", "set_by", "changed"}   # generated, and left as they were
