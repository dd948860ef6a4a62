"""Bodies valid against their response schema, by class of failure seen on real specs.

A small spec holds one instance of each class: a creation time the schema types as Unix seconds,
a ``format: date`` on a field whose name says timestamp, ``type: "null"``, an ``enum`` beside an
``allOf`` whose part is a ``oneOf`` of consts, a write whose request schema types fields otherwise
than the response (a string for an integer, a free string for an enum, an object with a property
the response forbids and without one it requires). Real specs show the renderer's classes: an
embedded entity where the response declares its id (Kong), an item path declaring a string
(Coolify), a list declaring strings (Gitea).
"""

from __future__ import annotations

from datetime import UTC, datetime

import yaml

from conftest import SHARED
from mockverse.world.generate import Generator

SPECS = SHARED / "specs"
SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Bodies", "version": "1"},
    "paths": {
        "/things": {
            "get": {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                "type": "array", "items": {"$ref": "#/components/schemas/Thing"}}}}}}},
            "post": {"requestBody": {"content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/ThingWrite"}}}},
                "responses": {"201": {"description": "ok", "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/Thing"}}}}}},
        },
        "/things/{thingId}": {"get": {
            "parameters": [{"name": "thingId", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/Thing"}}}}}}},
    },
    "components": {"schemas": {
        "Kind": {"type": "integer", "oneOf": [{"const": 1, "title": "small"}, {"const": 2, "title": "large"}]},
        "Thing": {"type": "object", "required": ["thingId", "created_at", "kind"], "properties": {
            "thingId": {"type": "integer"},
            "created_at": {"type": "integer", "description": "Unix seconds"},
            "last_seen_at": {"type": "string", "format": "date"},
            "legacy": {"type": "null"},
            "kind": {"type": "integer", "enum": [2], "allOf": [{"$ref": "#/components/schemas/Kind"}]},
            "depth": {"type": "integer"},
            "mood": {"type": "string", "enum": ["calm", "busy"]},
            "box": {"$ref": "#/components/schemas/Box"}}},
        "Box": {"type": "object", "additionalProperties": False, "required": ["label", "size"],
                "properties": {"label": {"type": "string"}, "size": {"type": "integer"}}},
        "ThingWrite": {"type": "object", "properties": {
            "depth": {"type": "string"}, "mood": {"type": "string"},
            "box": {"type": "object", "properties": {"label": {"type": "string"}, "colour": {"type": "string"}}}}},
    }},
}
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _client(app_client, tmp_path):
    spec = tmp_path / "bodies.yaml"
    spec.write_text(yaml.safe_dump(SPEC, sort_keys=False))
    return app_client(spec=spec, auth_check=False)


def test_generated_fields_take_the_type_and_format_their_schema_states(app_client, tmp_path):
    thing = _client(app_client, tmp_path).get("/things/1").json()
    assert thing == {"thingId": 1, "created_at": 1739125329, "last_seen_at": "2025-09-06", "legacy": None,
                     "kind": 2, "depth": 241, "mood": "calm", "box": {"label": "Beyond hotel", "size": 527}}
    assert datetime.fromtimestamp(thing["created_at"], UTC) < NOW   # a moment, as Unix seconds


def test_a_write_is_answered_in_the_response_schema_and_read_back_the_same(app_client, tmp_path):
    client = _client(app_client, tmp_path)
    created = client.post("/things", json={"depth": "12", "mood": "sleepy", "box": {"label": "A", "colour": "red"}})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body == {"thingId": 51, "created_at": int(NOW.timestamp()), "last_seen_at": "2026-01-01", "legacy": None,
                    "kind": 2, "depth": 12, "mood": "calm", "box": {"label": "A", "size": 139}}
    assert client.get("/things/51").json() == body


def test_optional_nulls_are_left_out_required_ones_generated_and_values_converted_exactly():
    gen = Generator("42")
    schema = {"type": "object", "required": ["id", "name"], "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "task_id": {"type": "string"},
        "parent_id": {"type": ["string", "null"]}, "at": {"type": "integer"}, "ok": {"type": "boolean"},
        "code": {"type": "string"}, "answers": {"type": "array", "items": {
            "type": "object", "required": ["answer_id"], "properties": {"answer_id": {"type": "integer"}}}}}}
    ctx = {"created_at": NOW, "now": NOW, "person": False, "fields": {}}
    given = {"id": "7", "name": None, "task_id": None, "parent_id": None, "at": "2026-01-01T00:00:00Z",
             "ok": "true", "code": 42, "answers": [{"answer_id": 3}, {}]}
    out = gen.object(schema, "thing:7", "$", ctx, given=given)
    assert out == {"id": 7, "name": "Robust real-time strategy", "parent_id": None, "at": 1767225600, "ok": True,
                   "code": "42", "answers": [{"answer_id": 3}, {"answer_id": 618}]}


def test_an_entity_the_response_names_by_id_is_its_id_and_resolves(app_client):
    client = app_client(spec=SPECS / "kong.yaml", auth_check=False)
    plugin = client.get("/plugins").json()["data"][0]
    assert plugin["route"] == "91241082-98b2-4c44-b3ff-3218a08226c7"   # the response declares a string
    assert client.get(f"/routes/{plugin['route']}").json()["id"] == plugin["route"]
    assert client.get(f"/services/{plugin['service']}").json()["id"] == plugin["service"]


def test_item_and_list_paths_that_declare_strings_answer_strings(app_client):
    coolify = app_client(spec=SPECS / "coolify.yaml", auth_check=False)
    assert coolify.get("/databases/EmDNuXOv4cwXfXaZ9Cue6U").json() == "Fine customer"
    assert coolify.get("/databases/ZDdyDMgw3D2IhiMwwUswIq").json() == "Administration long"
    assert coolify.get("/databases/nothing-here").status_code == 404
    gitea = app_client(spec=SPECS / "gitea.json", auth_check=False)
    assert gitea.get("/admin/unadopted").json()[:3] == ["Qvaf3Bsciwrt708k921AXt", "Df02OhMoe4cAqoGHt01GZg",
                                                       "DApoVV3z20R3loOqk33Cm3"]


def test_a_pattern_with_unicode_property_escapes_is_generated_and_read_as_ecma_262_reads_it():
    from mockverse.world.pattern import matching_string, python_pattern

    name = r"^[\p{L}]+([ '-][\p{L}]+){0,2}\.?$"
    assert python_pattern(name) == r"^[A-Za-z]+([ '-][A-Za-z]+){0,2}\.?$"
    assert python_pattern(r"^\p{Lu}\P{N}$") == r"^[A-Z][^0-9]$"
    assert [matching_string(name, lambda i, k=k: Generator("42").draw("name", k, i)) for k in range(3)] == [
        "l'lx'nq.", "g.", "l"]
