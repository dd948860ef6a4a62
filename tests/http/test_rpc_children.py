"""RPC list methods that must name a parent (``notes.history?thing=``) are the method form of a nested path
(``/things/{thing}/notes``): the listed type is a child of the named one, the list holds exactly that parent's
children, a create naming the parent (``notes.post thing=T…``) adds one to it, keyed by an honest ``ts``."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mockverse.check import run_check
from mockverse.openapi import infer_world, load_spec
from rpc_specs import answer, form

TS = {"type": "string", "pattern": r"^\d{10}\.\d{6}$"}
THING = {"type": "object", "required": ["id", "name"], "additionalProperties": False, "properties": {
    "id": {"type": "string", "pattern": "^T[0-9A-Z]{8}$"}, "name": {"type": "string"}}}
NOTE = {"type": "object", "required": ["ts", "text"], "additionalProperties": False, "properties": {
    "ts": {"$ref": "#/components/schemas/ts"}, "text": {"type": "string"}, "user": {"type": "string"}}}
THING_REF = {"$ref": "#/components/schemas/thing"}
NOTE_REF = {"$ref": "#/components/schemas/note"}
QUERY_THING = {"name": "thing", "in": "query", "required": True, "schema": {"type": "string"}}



SPEC = {
    "openapi": "3.0.3", "info": {"title": "Things and notes RPC", "version": "1"},
    "components": {"schemas": {"thing": THING, "note": NOTE, "ts": TS}},
    "paths": {
        "/things.create": {"post": {"requestBody": form({"name": {"type": "string"}}, ["name"]),
                                    "responses": answer({"thing": THING_REF})}},
        "/things.info": {"get": {"parameters": [QUERY_THING], "responses": answer({"thing": THING_REF})}},
        "/things.list": {"get": {"parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
                                 "responses": answer({"things": {"type": "array", "items": THING_REF}})}},
        "/notes.post": {"post": {
            "requestBody": form({"thing": {"type": "string"}, "text": {"type": "string"}}, ["thing", "text"]),
            "responses": answer({"thing": {"type": "string"}, "ts": {"$ref": "#/components/schemas/ts"},
                                  "note": NOTE_REF})}},
        "/notes.history": {"get": {
            "parameters": [QUERY_THING, {"name": "limit", "in": "query", "schema": {"type": "integer"}}],
            "responses": answer({"notes": {"type": "array", "items": NOTE_REF, "minItems": 1}})}},
        "/notes.replies": {"get": {   # a thread: the notes of a thing from one ts (the key notes are read by)
            "parameters": [QUERY_THING, {"name": "ts", "in": "query", "schema": {"type": "string"}}],
            "responses": answer({"notes": {"type": "array", "items": NOTE_REF}})}},
    },
}


def _spec(tmp_path: Path) -> Path:
    path = tmp_path / "notes.json"
    path.write_text(json.dumps(SPEC))
    return path


def _history(client, thing: str) -> list[str]:
    """The ``ts`` of each note ``notes.history`` lists for a thing, in its order."""
    answer = client.get("/notes.history", params={"thing": thing, "limit": 100})
    assert answer.status_code == 200
    return [note["ts"] for note in answer.json()["notes"]]


def test_the_listed_type_is_nested_under_the_type_its_method_must_name(tmp_path: Path) -> None:
    world = infer_world(load_spec(str(_spec(tmp_path))))
    note = world.entity_types["note"]
    assert (note.parent_keys, note.min_children) == ({"thing": "thing"}, 1)
    nested = [r for r in world.relationships if (r.source, r.target) == ("thing", "note")]
    assert [(r.kind, r.field, r.evidence) for r in nested] == [
        ("has_many", None, ["path nesting /notes.history?thing="])]
    assert (note.collection_path, note.id_field) == ("/notes.replies", "ts")


def test_each_list_holds_exactly_its_parents_children(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_spec(tmp_path))
    things = [t["id"] for t in c.get("/things.list", params={"limit": 3}).json()["things"]]
    lists = [_history(c, thing) for thing in things]
    assert [len(ts) for ts in lists] == [2, 4, 4]   # minItems 1: every thing has a note
    assert len({ts for listed in lists for ts in listed}) == sum(len(listed) for listed in lists)
    for thing, listed in zip(things, lists, strict=True):
        for ts in listed:
            assert re.fullmatch(r"\d{10}\.\d{6}", ts)
            stored = c.get(f"/api/v1/consistency/entities/note/{ts}").json()["data"]
            assert stored["thing"] == thing
    unknown = c.get("/notes.history", params={"thing": "T00000000"})
    assert unknown.json()["notes"] == []   # no such thing: no notes (the schema's minItems is its own matter)


def test_a_posted_note_joins_its_things_list_under_a_fresh_ts(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_spec(tmp_path))
    thing, other = [t["id"] for t in c.get("/things.list", params={"limit": 2}).json()["things"]]
    before, others = _history(c, thing), _history(c, other)
    first = c.post("/notes.post", data={"thing": thing, "text": "hello"})
    second = c.post("/notes.post", data={"thing": thing, "text": "again"})
    assert (first.status_code, second.status_code) == (200, 200)
    body = first.json()
    ts = body["note"]["ts"]
    assert (body["thing"], body["ts"], body["note"]["text"]) == (thing, ts, "hello")
    assert re.fullmatch(r"\d{10}\.\d{6}", ts)
    assert second.json()["ts"] != ts
    assert ts not in before
    assert _history(c, thing) == [*before, ts, second.json()["ts"]]
    assert _history(c, other) == others
    read = c.get(f"/api/v1/consistency/entities/note/{ts}").json()["data"]
    assert (read["ts"], read["text"], read["thing"]) == (ts, "hello", thing)


def test_a_note_for_a_thing_that_does_not_exist_is_a_problem(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_spec(tmp_path))
    missing = c.post("/notes.post", data={"thing": "T00000000", "text": "lost"})
    assert (missing.status_code, missing.json()["field"]) == (422, "thing")
    assert missing.json()["detail"] == "thing 'T00000000' does not exist"


def test_check_counts_the_method_nested_lists_and_the_posted_note(tmp_path: Path) -> None:
    scores = run_check(str(_spec(tmp_path))).to_dict()["scores"]
    assert (scores["writes"]["passed"], scores["writes"]["total"]) == (2, 2)   # things.create, notes.post
    assert (scores["nested"]["passed"], scores["nested"]["total"]) == (8, 8)
    assert scores["schema"]["passed"] == scores["schema"]["total"]
