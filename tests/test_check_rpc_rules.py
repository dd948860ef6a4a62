"""How the world and the checker read RPC-style methods: an update method in a namespace below its entity's
(``things.labels.update`` answering the thing) is a write the checker counts, and a list whose items have an
id of their own is not a list of an entity each embeds (boxes, each with its id and the thing it holds, are
not a list of things), while a list of wrappers (``{added_at, thing}``) is."""

from __future__ import annotations

import json
from pathlib import Path

from mockverse.check import run_check
from rpc_specs import answer, form

THING = {"type": "object", "required": ["id", "name", "label"], "additionalProperties": False,
         "properties": {"id": {"type": "string", "pattern": "^T[0-9A-Z]{8}$"}, "name": {"type": "string"},
                        "label": {"type": "string"}}}
REF = {"$ref": "#/components/schemas/thing"}
BOX = {"type": "object", "required": ["id", "size"],
       "properties": {"id": {"type": "string"}, "size": {"type": "integer"}}}
# a box as an older method answers it: another shape, with the thing it holds
HOLDER = {"type": "object", "required": ["id", "size", "thing"], "properties": {
    "id": {"type": "string"}, "size": {"type": "integer"}, "thing": REF}}
WRAPPER = {"type": "object", "required": ["added_at", "thing"], "properties": {
    "added_at": {"type": "string", "format": "date-time"}, "thing": REF}}
QUERY = [{"name": "query", "in": "query", "schema": {"type": "string"}}]


def _get(params: list[dict], props: dict) -> dict:
    return {"get": {"parameters": params, "responses": answer(props)}}


SPEC = {
    "openapi": "3.0.3", "info": {"title": "Things", "version": "1"},
    "components": {"schemas": {"thing": THING, "box": BOX}},
    "paths": {
        "/things.create": {"post": {"requestBody": form({"name": {"type": "string"}}, ["name"]),
                                    "responses": answer({"thing": REF})}},
        "/things.info": _get([{"name": "thing", "in": "query", "required": True, "schema": {"type": "string"}}],
                             {"thing": REF}),
        "/things.list": _get([], {"things": {"type": "array", "items": REF}}),
        "/things.labels.update": {"post": {"requestBody": form({"thing": {"type": "string"},
                                                                 "label": {"type": "string"}}, ["thing", "label"]),
                                           "responses": answer({"thing": REF})}},
        "/boxes.info": _get([{"name": "box", "in": "query", "required": True, "schema": {"type": "string"}}],
                            {"box": {"$ref": "#/components/schemas/box"}}),
        "/boxes.list": _get([], {"boxes": {"type": "array", "items": {"$ref": "#/components/schemas/box"}}}),
        "/admin.boxes.search": _get(QUERY, {"boxes": {"type": "array", "items": HOLDER}}),
        "/things.recent": _get(QUERY, {"items": {"type": "array", "items": WRAPPER}}),
    },
}


def _spec(tmp_path: Path) -> Path:
    path = tmp_path / "things.json"
    path.write_text(json.dumps(SPEC))
    return path


def test_an_update_method_below_its_entitys_namespace_is_a_counted_write(tmp_path: Path) -> None:
    report = run_check(str(_spec(tmp_path)))
    writes = report.to_dict()["scores"]["writes"]
    assert (writes["passed"], writes["total"]) == (2, 2)   # things.create, things.labels.update
    assert [f for f in report.findings if f.category == "writes"] == []


def test_a_list_of_things_with_their_own_id_is_not_a_list_of_what_they_hold(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_spec(tmp_path))
    served = {row["path"]: (row["kind"], row["target"]) for row in c.get("/api/v1/consistency/world").json()["served"]}
    assert served["/admin.boxes.search"] == ("schema", None)
    assert served["/things.recent"] == ("search", "thing")
    assert served["/things.labels.update"] == ("method", None)
