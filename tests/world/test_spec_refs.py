"""Links that resolve, by class of failure seen on real specs.

* **Disagreeing id patterns.** The keys that point at a type may carry narrower patterns than its
  own id (a channel key that takes public channels only, another that takes direct messages only):
  the type's ids honour its own pattern and as many of the others as one shape can, never falling
  back to bare serials that honour none.
* **Method paths keyed by a query parameter** (``/users.info?user=U1``): the method reads the entity
  the parameter names, so a link found in a list resolves there (404 for an id that does not exist).
"""

from __future__ import annotations

import re

import yaml

from mockverse.check import run_check
from mockverse.world.idscheme import codec_for


def _object(key: str, schema: dict) -> dict:
    """A 200 response of ``{ok, <key>: schema}``."""
    return {"200": {"description": "ok", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"ok": {"type": "boolean"}, key: schema}}}}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


RPC = {
    "openapi": "3.0.3",
    "info": {"title": "RPC methods", "version": "1"},
    "paths": {
        "/users.list": {"get": {"responses": _object("members", {"type": "array", "items": _ref("User")})}},
        "/users.info": {"get": {
            "parameters": [{"name": "user", "in": "query", "required": True, "schema": _ref("UserId")}],
            "responses": _object("user", _ref("User"))}},
        "/conversations.list": {"get": {"responses": _object("channels", {"type": "array",
                                                                           "items": _ref("Channel")})}},
        "/conversations.info": {"get": {
            "parameters": [{"name": "channel", "in": "query", "required": True, "schema": _ref("ChannelId")}],
            "responses": _object("channel", _ref("Channel"))}},
    },
    "components": {"schemas": {
        "UserId": {"type": "string", "pattern": "^[UW][A-Z0-9]{2,}$"},
        "ChannelId": {"type": "string", "pattern": "^[CGD][A-Z0-9]{8,}$"},
        "User": {"type": "object", "required": ["id", "name"],
                 "properties": {"id": _ref("UserId"), "name": {"type": "string"}}},
        "Channel": {"type": "object", "required": ["id", "name", "creator"],
                    "properties": {"id": _ref("ChannelId"), "name": {"type": "string"}, "creator": _ref("UserId")}},
    }},
}


def test_disagreeing_patterns_choose_the_shape_honouring_the_most_authoritative() -> None:
    own, public, direct = "^[CGD][A-Z0-9]{8,}$", "^[C][A-Z0-9]{2,}$", "^[D][A-Z0-9]{8,}$"
    evidence = [{"type": "string", "pattern": own}, {"type": "string", "pattern": public},
                {"type": "string", "pattern": direct}, {"type": "string", "pattern": own}]
    codec = codec_for("channel", "string", evidence, "id")
    assert codec.describe() == "opaque: 'CZA5GUJA165' (10 characters after 'C', keyed permutation)"
    ids = [codec.encode(serial) for serial in (1, 2, 30)]
    assert ids == ["CZA5GUJA165", "CMP4GUUYCFP", "CY8FI7M4JCP"]
    assert all(re.match(own, i) and re.match(public, i) and not re.match(direct, i) for i in ids)
    assert codec.decode("CY8FI7M4JCP") == 30


def test_disagreeing_patterns_with_no_shape_for_any_keep_the_fallback() -> None:
    codec = codec_for("thing", "string", [{"type": "string", "maxLength": 0}], "id")
    assert codec.encode(30) == "30"


def test_a_method_path_reads_the_entity_its_query_parameter_names(app_client, tmp_path) -> None:
    spec = tmp_path / "rpc.yaml"
    spec.write_text(yaml.safe_dump(RPC))
    client = app_client(spec=spec)
    channels = client.get("/conversations.list").json()["channels"]
    creator = channels[0]["creator"]
    assert creator == "UGK9928BO94"
    user = client.get("/users.info", params={"user": creator})
    assert user.status_code == 200
    assert user.json()["user"]["id"] == creator
    channel = client.get("/conversations.info", params={"channel": channels[1]["id"]}).json()["channel"]
    assert channel == channels[1]
    assert client.get("/users.info", params={"user": "UGK9928BO95"}).status_code == 404


def test_check_resolves_links_at_a_method_path_keyed_by_a_query_parameter(tmp_path) -> None:
    spec = tmp_path / "rpc.yaml"
    spec.write_text(yaml.safe_dump(RPC))
    report = run_check(str(spec))
    assert report.counts["links"] == [3, 3]
    assert report.counts["item_list"] == [6, 6]
    assert report.status_5xx == 0
