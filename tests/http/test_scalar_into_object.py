"""A scalar written for an object-typed field (``things.setTopic topic=Hello`` where a thing's ``topic`` is
``{value, creator, last_set}``) is written into the object's value property, its other fields kept and its
last-set time moved to the world's now; an object with no value property answers a 422 naming the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from mockverse.check import run_check
from rpc_specs import answer, form

TOPIC = {"type": "object", "required": ["value", "creator", "last_set"], "additionalProperties": False,
         "properties": {"value": {"type": "string"}, "creator": {"type": "string", "pattern": "^U[0-9]{6}$"},
                        "last_set": {"type": "integer", "description": "Unix time it was last set"}}}
# no property holds this object's value: two required strings, neither named like a value
RANGE = {"type": "object", "required": ["low", "high"], "additionalProperties": False,
         "properties": {"low": {"type": "string"}, "high": {"type": "string"}}}
THING = {"type": "object", "required": ["id", "name", "topic", "range"], "additionalProperties": False,
         "properties": {"id": {"type": "string", "pattern": "^T[0-9A-Z]{8}$"}, "name": {"type": "string"},
                        "topic": TOPIC, "range": RANGE}}
REF = {"$ref": "#/components/schemas/thing"}
KEY = {"thing": {"type": "string"}}
NOW = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())   # the world's clock at its start


def _post(props: dict, required: list[str]) -> dict:
    """An RPC write method taking a form of these fields and answering ``{ok, thing}``."""
    return {"post": {"requestBody": form(props, required), "responses": answer({"thing": REF})}}


SPEC = {
    "openapi": "3.0.3", "info": {"title": "Topics", "version": "1"},
    "components": {"schemas": {"thing": THING}},
    "paths": {
        "/things.create": _post({"name": {"type": "string"}, "topic": {"type": "string"}}, ["name"]),
        "/things.info": {"get": {"parameters": [{"name": "thing", "in": "query", "required": True,
                                                 "schema": {"type": "string"}}], "responses": answer({"thing": REF})}},
        "/things.setTopic": _post({**KEY, "topic": {"type": "string"}}, ["thing", "topic"]),
        "/things.setRange": _post({**KEY, "range": {"type": "string"}}, ["thing", "range"]),
    },
}


def _spec(tmp_path: Path) -> Path:
    path = tmp_path / "topics.json"
    path.write_text(json.dumps(SPEC))
    return path


def test_a_scalar_for_an_object_is_its_value_and_keeps_the_other_fields(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_spec(tmp_path))
    id = c.post("/things.create", data={"name": "first"}).json()["thing"]["id"]
    before = c.get("/things.info", params={"thing": id}).json()["thing"]["topic"]
    answer = c.post("/things.setTopic", data={"thing": id, "topic": "Hello"})
    assert answer.status_code == 200
    topic = {"value": "Hello", "creator": before["creator"], "last_set": NOW}
    assert answer.json()["thing"]["topic"] == topic
    assert c.get("/things.info", params={"thing": id}).json()["thing"]["topic"] == topic
    again = c.post("/things.setTopic", data={"thing": id, "topic": "Bye"}).json()["thing"]["topic"]
    assert again == {**topic, "value": "Bye"}


def test_a_create_writes_a_scalar_into_its_object_too(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_spec(tmp_path))
    thing = c.post("/things.create", data={"name": "first", "topic": "Opening"}).json()["thing"]
    assert (thing["topic"]["value"], thing["topic"]["last_set"]) == ("Opening", NOW)
    assert c.get("/things.info", params={"thing": thing["id"]}).json()["thing"] == thing


def test_an_object_without_a_value_property_refuses_a_scalar(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_spec(tmp_path))
    id = c.post("/things.create", data={"name": "first"}).json()["thing"]["id"]
    before = c.get("/things.info", params={"thing": id}).json()["thing"]
    refused = c.post("/things.setRange", data={"thing": id, "range": "wide"})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert (refused.json()["field"], refused.json()["detail"]) == ("range", "range is an object {low, high}: "
                                                                             "give it as an object")
    assert c.get("/things.info", params={"thing": id}).json()["thing"] == before
    created = c.post("/things.create", data={"name": "second", "range": "wide"})
    assert created.status_code == 422   # the create's form has no range field


def test_check_reads_a_scalar_back_from_its_object(tmp_path: Path) -> None:
    spec = {**SPEC, "paths": {k: v for k, v in SPEC["paths"].items() if k != "/things.setRange"}}
    path = tmp_path / "topics.json"
    path.write_text(json.dumps(spec))
    report = run_check(str(path))
    writes = report.to_dict()["scores"]["writes"]
    assert (writes["passed"], writes["total"]) == (2, 2)   # create, setTopic
    assert [f for f in report.findings if f.category == "writes"] == []


BRANCH = {"type": "object", "properties": {"label": {"type": "string"}, "ref": {"type": "string"},
                                           "sha": {"type": "string", "pattern": "^[0-9a-f]{40}$"}}}
PULL = {"type": "object", "required": ["id", "title", "base"],
        "properties": {"id": {"type": "integer"}, "title": {"type": "string"}, "base": BRANCH}}
PULL_INPUT = {"type": "object", "properties": {"title": {"type": "string"}, "base": {"type": "string"}}}
PULL_REF = {"$ref": "#/components/schemas/Pull"}
ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
REST = {
    "openapi": "3.0.3", "info": {"title": "Pulls", "version": "1"},
    "components": {"schemas": {"Pull": PULL}},
    "paths": {
        "/pulls": {
            "get": {"responses": {"200": {"description": "all", "content": {"application/json": {
                "schema": {"type": "array", "items": PULL_REF}}}}}},
            "post": {"requestBody": {"content": {"application/json": {"schema": PULL_INPUT}}},
                     "responses": {"201": {"description": "made", "content": {"application/json": {
                         "schema": PULL_REF}}}}}},
        "/pulls/{id}": {
            "get": {"parameters": ID, "responses": {"200": {"description": "one", "content": {
                "application/json": {"schema": PULL_REF}}}}},
            "patch": {"parameters": ID, "requestBody": {"content": {"application/json": {"schema": PULL_INPUT}}},
                      "responses": {"200": {"description": "changed", "content": {"application/json": {
                          "schema": PULL_REF}}}}}},
    },
}


def test_a_json_write_of_a_scalar_for_an_object_writes_its_label(app_client, tmp_path: Path) -> None:
    path = tmp_path / "pulls.json"
    path.write_text(json.dumps(REST))
    c = app_client(spec=path)
    made = c.post("/pulls", json={"title": "t", "base": "main"})
    assert made.status_code == 201
    pull = made.json()
    assert pull["base"]["label"] == "main"
    assert c.get(f"/pulls/{pull['id']}").json() == pull
    changed = c.patch(f"/pulls/{pull['id']}", json={"base": "dev"}).json()
    assert changed["base"] == {**pull["base"], "label": "dev"}   # its ref and sha kept: no last-set field
    assert c.get(f"/pulls/{pull['id']}").json()["base"] == changed["base"]


def _with_milestones() -> dict:
    """The pulls spec where a pull embeds its milestone (an entity of its own) and a write names it by id."""
    spec = json.loads(json.dumps(REST))
    milestone = {"type": "object", "required": ["id", "title"],
                 "properties": {"id": {"type": "integer"}, "title": {"type": "string"}}}
    one = {"$ref": "#/components/schemas/Milestone"}
    spec["components"]["schemas"]["Milestone"] = milestone
    spec["components"]["schemas"]["Pull"]["properties"]["milestone"] = one
    for method in ("post", "patch"):
        path = "/pulls" if method == "post" else "/pulls/{id}"
        schema = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
        schema["properties"]["milestone"] = {"type": "integer"}
    spec["paths"]["/milestones"] = {"get": {"responses": {"200": {"description": "all", "content": {
        "application/json": {"schema": {"type": "array", "items": one}}}}}}}
    spec["paths"]["/milestones/{id}"] = {"get": {"parameters": ID, "responses": {"200": {
        "description": "one", "content": {"application/json": {"schema": one}}}}}}
    return spec


def test_a_key_written_for_an_embedded_entity_shows_that_entity(app_client, tmp_path: Path) -> None:
    path = tmp_path / "pulls.json"
    path.write_text(json.dumps(_with_milestones()))
    c = app_client(spec=path)
    pull = c.post("/pulls", json={"title": "t", "milestone": 3}).json()
    assert pull["milestone"] == c.get("/milestones/3").json()
    assert c.get(f"/pulls/{pull['id']}").json()["milestone"]["id"] == 3
    moved = c.patch(f"/pulls/{pull['id']}", json={"milestone": 5}).json()
    assert moved["milestone"] == c.get("/milestones/5").json()
    assert c.get(f"/pulls/{pull['id']}").json() == moved


def test_check_reads_a_json_scalar_back_from_its_object_and_a_key_from_its_entity(tmp_path: Path) -> None:
    path = tmp_path / "pulls.json"
    path.write_text(json.dumps(_with_milestones()))
    report = run_check(str(path))
    writes = report.to_dict()["scores"]["writes"]
    assert (writes["passed"], writes["total"]) == (2, 2)   # POST /pulls, PATCH /pulls/{id}
    assert [f for f in report.findings if f.category == "writes"] == []


NOTES = {
    "openapi": "3.0.3", "info": {"title": "Notes", "version": "1"},
    "components": {"schemas": {"Note": {"type": "object", "required": ["id", "title", "topic"], "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"},
        "topic": {"type": "object", "required": ["value"], "properties": {"value": {"type": "string"}}}}}}},
    "paths": {
        "/notes": {
            "get": {"responses": {"200": {"description": "all", "content": {"application/json": {
                "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Note"}}}}}}},
            "post": {"requestBody": {"content": {"application/json": {"schema": {
                "type": "object", "properties": {"title": {"type": "string"}, "topic": {}}}}}},
                "responses": {"201": {"description": "made", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Note"}}}}}}},
        "/notes/{id}": {"get": {"parameters": ID, "responses": {"200": {"description": "one", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Note"}}}}}}},
    },
}


def test_a_create_whose_scalar_does_not_fit_the_value_stores_nothing(app_client, tmp_path: Path) -> None:
    path = tmp_path / "notes.json"
    path.write_text(json.dumps(NOTES))
    c = app_client(spec=path)
    before = c.get("/notes")
    refused = c.post("/notes", json={"title": "t", "topic": 5})   # the topic's value is a string
    assert refused.status_code == 422
    assert (refused.json()["field"], refused.json()["detail"]) == (
        "topic", "topic is an object {value}: give it as an object or as its value alone (string)")
    after = c.get("/notes")
    assert (after.json(), after.headers.get("x-total-count")) == (before.json(), before.headers.get("x-total-count"))
    made = c.post("/notes", json={"title": "t", "topic": "fine"})
    assert (made.status_code, made.json()["topic"]) == (201, {"value": "fine"})


def test_a_create_with_a_scalar_for_an_object_is_one_store_write(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_spec(tmp_path))
    store = c.app.state.engine.store
    plain = store.version("default")
    c.post("/things.create", data={"name": "plain"})
    before = store.version("default")
    thing = c.post("/things.create", data={"name": "first", "topic": "Opening"}).json()["thing"]
    assert (before - plain, store.version("default") - before) == (1, 1)   # one write each, the object's too
    assert (thing["topic"]["value"], thing["topic"]["last_set"]) == ("Opening", NOW)
    assert c.get("/things.info", params={"thing": thing["id"]}).json()["thing"] == thing
