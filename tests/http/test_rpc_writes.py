"""RPC-style writes (``POST /things.create``, ``things.rename``, ``things.delete``): kept in the world, read back by
the type's ``info`` and ``list`` methods, and counted by ``mockverse check`` as write round-trips."""

from __future__ import annotations

import json
from pathlib import Path

from mockverse.check import run_check
from rpc_specs import answer, form

THING = {"type": "object", "required": ["id", "name"], "additionalProperties": False, "properties": {
    "id": {"type": "string", "pattern": "^T[0-9A-Z]{8}$"}, "name": {"type": "string"},
    "topic": {"type": "string"}, "is_archived": {"type": "boolean"}}}
REF = {"$ref": "#/components/schemas/thing"}
KEY = {"thing": {"type": "string"}}



def _post(body: dict, shape: dict) -> dict:
    return {"post": {"requestBody": body, "responses": answer(shape)}}


SPEC = {
    "openapi": "3.0.3", "info": {"title": "Things RPC", "version": "1"},
    "components": {"schemas": {"thing": THING}},
    "paths": {
        "/things.create": _post(form({"name": {"type": "string"}, "topic": {"type": "string"}}, ["name"]),
                                {"thing": REF}),
        "/things.info": {"get": {"parameters": [{"name": "thing", "in": "query", "required": True,
                                                 "schema": {"type": "string"}}], "responses": answer({"thing": REF})}},
        "/things.list": {"get": {"parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
                                 "responses": answer({"things": {"type": "array", "items": REF}})}},
        "/things.rename": _post(form({**KEY, "name": {"type": "string"}}, ["thing", "name"]), {"thing": REF}),
        "/things.archive": _post(form(KEY, ["thing"]), {}),
        "/things.unarchive": _post(form(KEY, ["thing"]), {}),
        "/things.delete": _post(form(KEY, ["thing"]), {}),
    },
}


def _spec(tmp_path: Path) -> Path:
    path = tmp_path / "things.json"
    path.write_text(json.dumps(SPEC))
    return path


def _listed(client, id: str) -> list[dict]:
    """The things.list entries with this id (the whole list asked for)."""
    return [t for t in client.get("/things.list", params={"limit": 100}).json()["things"] if t["id"] == id]


def test_a_created_thing_is_read_by_info_and_listed(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_spec(tmp_path))
    before = int(c.get("/things.list").headers["x-total-count"])
    created = c.post("/things.create", data={"name": "mock-verse", "topic": "hello"})
    assert created.status_code == 200
    thing = created.json()["thing"]
    assert created.json()["ok"] is True
    assert (thing["name"], thing["topic"]) == ("mock-verse", "hello")
    info = c.get("/things.info", params={"thing": thing["id"]})
    assert info.status_code == 200
    assert info.json() == {"ok": True, "thing": thing}
    assert _listed(c, thing["id"]) == [thing]
    assert int(c.get("/things.list").headers["x-total-count"]) == before + 1


def test_update_methods_change_the_fields_they_name(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_spec(tmp_path))
    id = c.post("/things.create", data={"name": "first", "topic": "kept"}).json()["thing"]["id"]
    renamed = c.post("/things.rename", data={"thing": id, "name": "second"})
    assert renamed.status_code == 200
    assert (renamed.json()["thing"]["name"], renamed.json()["thing"]["topic"]) == ("second", "kept")
    assert c.post("/things.archive", data={"thing": id}).json() == {"ok": True}
    read = c.get("/things.info", params={"thing": id}).json()["thing"]
    assert (read["name"], read["topic"], read["is_archived"]) == ("second", "kept", True)
    assert c.post("/things.unarchive", data={"thing": id}).json() == {"ok": True}
    assert c.get("/things.info", params={"thing": id}).json()["thing"]["is_archived"] is False
    assert _listed(c, id)[0]["name"] == "second"


def test_a_deleted_thing_is_gone_from_info_and_list(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_spec(tmp_path))
    id = c.post("/things.create", data={"name": "brief"}).json()["thing"]["id"]
    total = int(c.get("/things.list").headers["x-total-count"])
    assert c.post("/things.delete", data={"thing": id}).json() == {"ok": True}
    gone = c.get("/things.info", params={"thing": id})
    assert gone.status_code == 404
    assert gone.json()["field"] == "thing"
    assert _listed(c, id) == []
    assert int(c.get("/things.list").headers["x-total-count"]) == total - 1


def test_bad_rpc_writes_are_problems_naming_the_field(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_spec(tmp_path))
    missing = c.post("/things.rename", data={"thing": "T00000000", "name": "x"})
    assert (missing.status_code, missing.json()["field"]) == (404, "thing")
    assert missing.json()["detail"] == "thing T00000000 does not exist"
    unnamed = c.post("/things.rename", data={"name": "x"})
    assert (unnamed.status_code, unnamed.json()["field"]) == (422, "$.thing")
    extra = c.post("/things.create", data={"name": "x", "colour": "red"})
    assert (extra.status_code, extra.json()["field"]) == (422, "$.colour")
    assert extra.headers["content-type"] == "application/problem+json"


def test_check_counts_rpc_create_and_update_round_trips(tmp_path: Path) -> None:
    report = run_check(str(_spec(tmp_path)))
    writes = report.to_dict()["scores"]["writes"]
    assert (writes["passed"], writes["total"]) == (4, 4)   # create, rename, archive, unarchive
    assert report.status_5xx == 0
    assert [f for f in report.findings if f.category == "writes"] == []
