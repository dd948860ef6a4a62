"""Links and nested lists that resolve on any spec shape.

In process (``app_client``) over small specs written here: a list under a parent bound before
literal segments (``/guilds/{guild_id}/auto-moderation/rules``, ``/accounts/{id}/limits/current``)
holds exactly that parent's children; an object inside an object (``transfer.doer``) shows an
entity that resolves at its own item path; an embedded object whose id field cannot hold the
type's ids is not filled with them; of the types a list response holds, the listed one is the
items themselves in the array the path names; a collection whose items are a schema named for
another use (a create request) lists the world's entities.
"""

from __future__ import annotations

import json
from pathlib import Path

STR_ID = {"type": "string", "pattern": "^(0|[1-9][0-9]*)$", "format": "snowflake"}


def _ok(schema: dict) -> dict:
    return {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}


def _param(name: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(name: str) -> dict:
    return {"type": "array", "items": _ref(name)}


def _spec(paths: dict, schemas: dict) -> dict:
    return {"openapi": "3.0.3", "info": {"title": "Links", "version": "1"}, "paths": paths,
            "components": {"schemas": schemas}}


GUILDS = _spec(
    {
        "/guilds/{guild_id}": {"parameters": [_param("guild_id", STR_ID)], "get": {"responses": _ok(_ref("Guild"))}},
        "/guilds/{guild_id}/auto-moderation/rules": {
            "parameters": [_param("guild_id", STR_ID)], "get": {"responses": _ok(_array("Rule"))}},
        "/guilds/{guild_id}/auto-moderation/rules/{rule_id}": {
            "parameters": [_param("guild_id", STR_ID), _param("rule_id", STR_ID)],
            "get": {"responses": _ok(_ref("Rule"))}},
        "/guilds/{guild_id}/templates": {
            "parameters": [_param("guild_id", STR_ID)], "get": {"responses": _ok(_array("Template"))}},
        "/guilds/templates/{code}": {"parameters": [_param("code")], "get": {"responses": _ok(_ref("Template"))}},
        "/channels/{channel_id}": {"parameters": [_param("channel_id", STR_ID)],
                                   "get": {"responses": _ok(_ref("Channel"))}},
        "/guilds/{guild_id}/channels": {
            "parameters": [_param("guild_id", STR_ID)], "get": {"responses": _ok(_array("Channel"))}},
    },
    {
        "Guild": {"type": "object", "required": ["id", "name"],
                  "properties": {"id": STR_ID, "name": {"type": "string"}}},
        "Rule": {"type": "object", "required": ["id", "guild_id", "name"],
                 "properties": {"id": STR_ID, "guild_id": STR_ID, "name": {"type": "string"}}},
        "Channel": {"type": "object", "required": ["id", "guild_id"],
                    "properties": {"id": STR_ID, "guild_id": STR_ID, "name": {"type": "string"},
                                   "topic": {"type": "string"}, "position": {"type": "integer"}}},
        "Template": {
            "type": "object", "required": ["id", "code", "serialized_source_guild"],
            "properties": {
                "id": STR_ID, "code": {"type": "string"},
                "serialized_source_guild": {"type": "object", "required": ["channels"], "properties": {
                    "channels": {"type": "array", "minItems": 1, "items": _ref("ChannelSnapshot")}}},
            },
        },
        "ChannelSnapshot": {"type": "object", "required": ["id", "name"],
                            "properties": {"id": {"type": "integer", "minimum": 0, "maximum": 9},
                                           "name": {"type": "string"}, "topic": {"type": "string"},
                                           "position": {"type": "integer"}}},
    },
)


def _client(app_client, tmp_path: Path, spec: dict):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return app_client(spec=path)


def test_a_list_behind_literal_segments_holds_exactly_its_parents_children(app_client, tmp_path: Path) -> None:
    c = _client(app_client, tmp_path, GUILDS)
    guild = "1100000000000000002"
    listed = c.get(f"/guilds/{guild}/auto-moderation/rules")
    assert listed.status_code == 200
    rules = listed.json()
    assert [r["id"] for r in rules] == ["1100000000000000201", "1100000000000000202", "1100000000000000203"]
    assert {r["guild_id"] for r in rules} == {guild}
    for rule in rules:
        assert c.get(f"/guilds/{guild}/auto-moderation/rules/{rule['id']}").json() == rule
    assert [r["id"] for r in c.get("/guilds/1100000000000000003/auto-moderation/rules").json()] == [
        "1100000000000000301"]
    assert c.get("/guilds/1100000000000000001/auto-moderation/rules").json() == []


def test_an_embedded_object_whose_id_cannot_hold_the_types_ids_is_not_that_type(app_client, tmp_path: Path) -> None:
    c = _client(app_client, tmp_path, GUILDS)
    world = c.get("/api/v1/consistency/world").json()
    link = next(r for r in world["relationships"] if r["source"] == "template" and r["target"] == "channel")
    assert link["used_as"] == "reported"
    assert link["note"] == ("not embedded: template.serialized_source_guild.channels.id is integer, "
                            "channel ids are strings")
    channels = c.get("/guilds/1100000000000000001/templates").json()[0]["serialized_source_guild"]["channels"]
    assert all(isinstance(ch["id"], int) and 0 <= ch["id"] <= 9 for ch in channels)


USER = {"type": "object", "required": ["id", "login"],
        "properties": {"id": {"type": "integer"}, "login": {"type": "string"}}}
REPOS = _spec(
    {
        "/users/{id}": {"parameters": [_param("id", {"type": "integer"})], "get": {"responses": _ok(_ref("User"))}},
        "/users": {"get": {"responses": _ok(_array("User"))}},
        "/repos": {"get": {"responses": _ok(_array("Repository"))}},
        "/repos/{id}": {"parameters": [_param("id", {"type": "integer"})],
                        "get": {"responses": _ok(_ref("Repository"))}},
        "/repos/{id}/limits": {"parameters": [_param("id", {"type": "integer"})],
                               "get": {"responses": _ok({"type": "object", "properties": {
                                   "limits": _array("Limit")}})}},
        "/repos/{id}/limits/{limit_id}": {
            "parameters": [_param("id", {"type": "integer"}), _param("limit_id", {"type": "integer"})],
            "get": {"responses": _ok(_ref("Limit"))}},
        "/repos/{id}/limits/current": {
            "parameters": [_param("id", {"type": "integer"})],
            "get": {"responses": _ok({"type": "object", "properties": {"limits": _array("Limit")}})}},
        "/starred": {"get": {"responses": _ok(_array("Repository"))}},
        "/labels": {"get": {"responses": _ok({"type": "object", "properties": {"labels": _array("NewLabel")}})}},
        "/labels/{label_id}": {"parameters": [_param("label_id", {"type": "integer"})],
                               "get": {"responses": _ok(_ref("Label"))}},
    },
    {
        "User": USER,
        "Repository": {
            "type": "object", "required": ["id", "name", "owner", "transfer"],
            "properties": {
                "id": {"type": "integer"}, "name": {"type": "string"}, "owner": _ref("User"),
                "transfer": {"type": "object", "required": ["doer"], "properties": {"doer": _ref("User")}},
            },
        },
        "Limit": {"type": "object", "required": ["id", "repo_id", "amount"],
                  "properties": {"id": {"type": "integer"}, "repo_id": {"type": "integer"},
                                 "amount": {"type": "integer"}}},
        "Label": {"type": "object", "required": ["id", "name", "color"],
                  "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                                 "color": {"type": "string"}}},
        "NewLabel": {"type": "object", "required": ["name", "color"],
                     "properties": {"name": {"type": "string"}, "color": {"type": "string"}}},
    },
)


def test_an_object_inside_an_object_shows_an_entity_that_resolves(app_client, tmp_path: Path) -> None:
    c = _client(app_client, tmp_path, REPOS)
    repo = c.get("/repos/1").json()
    doer = repo["transfer"]["doer"]
    assert 1 <= doer["id"] <= 50
    assert c.get(f"/users/{doer['id']}").json() == doer
    assert c.get(f"/users/{repo['owner']['id']}").json() == repo["owner"]


def test_a_filtered_list_under_a_parent_holds_that_parents_children(app_client, tmp_path: Path) -> None:
    c = _client(app_client, tmp_path, REPOS)
    assert c.get("/repos/7/limits/current").json() == c.get("/repos/7/limits").json()
    limits = c.get("/repos/7/limits/current").json()["limits"]
    assert [limit["id"] for limit in limits] == [701, 702]
    assert {limit["repo_id"] for limit in limits} == {7}


def test_a_list_of_objects_embedding_users_lists_those_objects(app_client, tmp_path: Path) -> None:
    c = _client(app_client, tmp_path, REPOS)
    served = {row["path"]: row for row in c.get("/api/v1/consistency/world").json()["served"]}
    assert (served["/starred"]["kind"], served["/starred"]["target"]) == ("search", "repo")
    starred = c.get("/starred").json()
    assert starred and all(c.get(f"/repos/{r['id']}").json() == r for r in starred[:3])


def test_a_collection_of_items_shaped_by_another_schema_lists_world_entities(app_client, tmp_path: Path) -> None:
    c = _client(app_client, tmp_path, REPOS)
    labels = c.get("/labels").json()["labels"]
    assert len(labels) == 50
    assert labels[0] == {k: v for k, v in c.get("/labels/1").json().items() if k != "id"}


POSTS = _spec(
    {
        "/posts": {"get": {"responses": _ok(_array("PostSummary"))}},
        "/posts/{id}": {"parameters": [_param("id", {"type": "integer"})], "get": {"responses": _ok(_ref("Post"))}},
        "/posts/{id}/context": {"parameters": [_param("id", {"type": "integer"})],
                                "get": {"responses": _ok({"type": "object", "required": ["before", "after"],
                                                          "properties": {"before": _array("Post"),
                                                                         "after": _array("Post")}})}},
    },
    {
        "Post": {"type": "object", "required": ["id", "title", "state"],
                 "properties": {"id": {"type": "integer"}, "title": {"type": "string"},
                                "state": {"type": "string"}, "reply_to_id": {"type": "integer"}}},
        "PostSummary": {"type": "object", "required": ["id", "title", "state"],
                        "properties": {"id": {"type": "integer"}, "title": {"type": "string"},
                                       "state": {"type": "string", "enum": ["draft", "live"]}}},
    },
)


def test_every_array_of_a_list_envelope_that_lists_the_type_shows_world_entities(app_client, tmp_path: Path) -> None:
    c = _client(app_client, tmp_path, POSTS)
    context = c.get("/posts/3/context").json()
    assert [p["id"] for p in context["after"]] == [12, 42]
    for post in context["before"] + context["after"]:
        assert c.get(f"/posts/{post['id']}").json() == post


def test_a_property_takes_the_enum_the_collection_list_declares(app_client, tmp_path: Path) -> None:
    c = _client(app_client, tmp_path, POSTS)
    listed = c.get("/posts").json()
    assert [p["state"] for p in listed[3:6]] == ["draft", "live", "live"]
    for post in listed[3:6]:
        item = c.get(f"/posts/{post['id']}").json()
        assert {k: item[k] for k in post} == post


SNOWFLAKE = {"type": "string", "pattern": "^(0|[1-9][0-9]*)$", "format": "snowflake"}
MESSAGES = _spec(
    {
        "/messages/{message_id}": {"parameters": [_param("message_id", SNOWFLAKE)],
                                   "get": {"responses": _ok(_ref("Message"))}},
        "/interactions/{interaction_token}": {"parameters": [_param("interaction_token")],
                                              "get": {"responses": _ok(_ref("Interaction"))}},
        "/vars": {"get": {"responses": _ok({"type": "object", "properties": {
            "key": {"type": "string"}, "value": {"type": "string"},
            "scope": {"type": "string", "enum": ["builds", "runtime"]}}})}},
        "/vars/{key}": {"parameters": [_param("key")], "get": {"responses": _ok(_ref("Var"))}},
    },
    {
        "Message": {"type": "object", "required": ["id", "interaction"],
                    "properties": {"id": SNOWFLAKE, "interaction": _ref("MessageInteraction")}},
        "MessageInteraction": {"type": "object", "required": ["id", "name"],
                               "properties": {"id": SNOWFLAKE, "name": {"type": "string"}}},
        "Interaction": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
        "Var": {"type": "object", "required": ["key", "value", "scope"],
                "properties": {"key": {"type": "string"}, "value": {"type": "string"}, "scope": {"type": "string"}}},
    },
)


def test_a_type_whose_own_id_is_shapeless_takes_the_shape_of_the_objects_embedding_it(app_client,
                                                                                        tmp_path: Path) -> None:
    c = _client(app_client, tmp_path, MESSAGES)
    interaction = c.get("/messages/1100000000000000001").json()["interaction"]
    assert interaction["id"] == "1100000000000000011"
    assert c.get(f"/api/v1/consistency/entities/interaction/{interaction['id']}").status_code == 200


def test_a_type_keyed_by_a_field_its_path_names_and_a_single_object_collection(app_client, tmp_path: Path) -> None:
    c = _client(app_client, tmp_path, MESSAGES)
    types = {t["name"]: t for t in c.get("/api/v1/consistency/world").json()["entity_types"]}
    assert types["var"]["id_field"] == "key"
    key = types["var"]["id_example"]
    var = c.get(f"/vars/{key}").json()
    assert var["key"] == key and var["scope"] == "runtime"


TOKENS = _spec(
    {
        "/cards/{id}": {"parameters": [_param("id")], "get": {"responses": _ok(_ref("Card"))}},
        "/cards/{id}/networkTokens": {"parameters": [_param("id")],
                               "get": {"responses": _ok({"type": "object",
                                                         "properties": {"networkTokens": _array("NetworkToken")}})}},
        "/networkTokens/{networkTokenId}": {"parameters": [_param("networkTokenId")],
                                            "get": {"responses": _ok(_ref("GetNetworkTokenResponse"))}},
    },
    {
        "Card": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
        "NetworkToken": {"type": "object", "required": ["id", "cardId", "status"],
                  "properties": {"id": {"type": "string"}, "cardId": {"type": "string"},
                                 "status": {"type": "string"}}},
        "GetNetworkTokenResponse": {"type": "object", "properties": {"token": _ref("NetworkToken")}},
    },
)


def test_an_envelope_around_one_object_of_the_type_shows_that_entity(app_client, tmp_path: Path) -> None:
    c = _client(app_client, tmp_path, TOKENS)
    samples = next(t for t in c.get("/api/v1/consistency/world").json()["entity_types"] if t["name"] == "card")
    tokens = [t for s in samples["sample"] for t in c.get(f"/cards/{s['id']}/networkTokens").json()["networkTokens"]]
    assert len(tokens) == 12
    for token in tokens:
        assert c.get(f"/networkTokens/{token['id']}").json() == {"token": token}


ASSISTANTS = _spec(
    {
        "/assistants": {"get": {"responses": _ok({"type": "object", "properties": {"data": _array("Assistant")}})}},
        "/assistants/{assistant_id}": {"parameters": [_param("assistant_id")],
                                       "get": {"responses": _ok(_ref("Assistant"))}},
    },
    {
        "Assistant": {"type": "object", "required": ["id", "name"],
                      "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
                      "example": {"id": "asst_abc123", "name": "Math Tutor"}},
    },
)


def test_ids_take_the_prefix_the_schemas_example_shows(app_client, tmp_path: Path) -> None:
    c = _client(app_client, tmp_path, ASSISTANTS)
    first = c.get("/assistants").json()["data"][0]
    assert first["id"] == "asst_ryYQJN5ehUpCyJH6RUGUWUu6"
    assert c.get(f"/assistants/{first['id']}").json() == first


ACCOUNT = {"type": "object", "required": ["id", "username"],
           "properties": {"id": {"type": "string"}, "username": {"type": "string"}}}
STATUSES = _spec(
    {
        "/accounts/{id}": {"parameters": [_param("id")], "get": {"responses": _ok(_ref("Account"))}},
        "/accounts": {"get": {"responses": _ok(_array("Account"))}},
        "/statuses/{id}": {"parameters": [_param("id")], "get": {"responses": _ok(_ref("Status"))}},
        "/statuses": {"get": {"responses": _ok(_array("Status"))}},
    },
    {
        "Account": ACCOUNT,
        "Status": {"type": "object", "required": ["id", "account", "in_reply_to_account_id"],
                   "properties": {"id": {"type": "string"}, "account": _ref("Account"),
                                  "in_reply_to_account_id": {"type": "string", "nullable": True}}},
    },
)


def test_an_embed_shows_an_entity_even_when_another_key_names_the_same_type(app_client, tmp_path: Path) -> None:
    c = _client(app_client, tmp_path, STATUSES)
    statuses = c.get("/statuses").json()
    assert len(statuses) == 50
    for status in statuses:
        assert c.get(f"/accounts/{status['account']['id']}").json() == status["account"]
    replies = [s for s in statuses if s["in_reply_to_account_id"] is not None]
    assert len(replies) == 50 and sum(s["account"]["id"] != s["in_reply_to_account_id"] for s in replies) == 48


def _shape(kind: int, extra: str) -> dict:
    return {"type": "object", "required": ["type", "code", extra],
            "properties": {"type": {"type": "integer", "enum": [kind]}, "code": {"type": "string"},
                           extra: {"type": "string"}}}


INVITES = _spec(
    {
        "/invites/{code}": {"parameters": [_param("code")], "get": {"responses": _ok(
            {"oneOf": [_ref("FriendInvite"), _ref("GuildInvite")]})}},
        "/invites": {"get": {"responses": _ok({"type": "array", "items": {
            "oneOf": [_ref("FriendInvite"), _ref("GuildInvite")]}})}},
    },
    {"FriendInvite": _shape(1, "friend_name"), "GuildInvite": _shape(2, "guild_name")},
)


def test_a_type_of_several_shapes_has_every_shapes_properties(app_client, tmp_path: Path) -> None:
    c = _client(app_client, tmp_path, INVITES)
    invite = next(t for t in c.get("/api/v1/consistency/world").json()["entity_types"] if t["name"] == "invite")
    assert invite["id_field"] == "code"
    listed = c.get("/invites").json()
    assert len(listed) == 50
    for item in listed[:3]:
        assert c.get(f"/invites/{item['code']}").json() == item
