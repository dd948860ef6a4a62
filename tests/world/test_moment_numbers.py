"""A number field holds Unix time where its name or its description says it is a moment (``created``,
``date_create``, ``last_seen``, ``cache_ts``, "Unix timestamp"), as a ``date-time`` string would: at or after the
entity's creation, never after now, and the creation time itself for a creation field; counts, indexes and
durations stay numbers (``last_index``, ``expires_in``, "start time in seconds")."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from mockverse.world.generate import moment_number

MOMENTS = {"created": {"type": "integer"}, "date_create": {"type": "integer"}, "updated": {"type": "integer"},
           "last_seen": {"type": "integer"}, "cache_ts": {"type": "integer"},
           "born": {"type": "integer", "description": "The Unix timestamp (in seconds) of its birth."},
           "created_at": {"type": "string", "format": "date-time"}}
NUMBERS = {"last_index": {"type": "integer"}, "expires_in": {"type": "integer"},
           "start": {"type": "number", "description": "Start time of the segment in seconds."},
           "updated_count": {"type": "integer"}, "date_created": {"type": "integer", "maximum": 100}}


def test_moment_numbers_are_named_or_described_so():
    """Which number fields are moments, by name and description; a bounded one never is."""
    assert sorted(n for n, s in {**MOMENTS, **NUMBERS}.items() if s["type"] != "string" and moment_number(n, s)) == \
        ["born", "cache_ts", "created", "date_create", "last_seen", "updated"]


def test_a_served_entity_shows_unix_times_in_order(app_client, tmp_path: Path):
    """Each moment number is Unix seconds between the entity's creation (its ``created_at``) and now, creation
    fields equal to it; the other numbers keep their generated ranges."""
    schema = {"type": "object", "properties": {"id": {"type": "integer"}, **MOMENTS, **NUMBERS}}
    ok = {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}
    many = {"200": {"description": "ok", "content": {"application/json": {
        "schema": {"type": "array", "items": schema}}}}}
    spec = {"openapi": "3.0.3", "info": {"title": "moments", "version": "1"}, "paths": {
        "/things": {"get": {"responses": many}},
        "/things/{id}": {"get": {"parameters": [{"name": "id", "in": "path", "required": True,
                                                 "schema": {"type": "integer"}}], "responses": ok}}}}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    c = app_client(spec=path)
    thing = c.get("/things/1").json()
    created = int(datetime.fromisoformat(thing["created_at"].replace("Z", "+00:00")).timestamp())
    assert (thing["created"], thing["date_create"]) == (created, created)
    assert {k: thing[k] for k in NUMBERS} == {"last_index": 980, "expires_in": 103, "start": 198.5,
                                              "updated_count": 20, "date_created": 48}
    assert {k: thing[k] for k in MOMENTS} == {
        "created": 1739125329, "date_create": 1739125329, "updated": 1762436234, "last_seen": 1758834439,
        "cache_ts": 1743241506, "born": 1743163997, "created_at": "2025-02-09T18:22:09Z"}
