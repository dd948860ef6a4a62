"""Relationship inference, one class of spelling at a time, on tiny specs written here.

Each test is a spec snippet in the style of a real API of the corpus (../shared/specs) and the
exact entity types and relationships inferred from it: keys that name another resource, union
entity schemas, RPC method paths with query-parameter keys, typed id schemas, the caller's own
entity, URL-valued references, polymorphic type + id pairs, name-keyed references and more.
"""

from __future__ import annotations

import json
from pathlib import Path

from mockverse.openapi import InferredWorld, infer_world, load_spec


def _ok(schema: dict) -> dict:
    return {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(**props: dict) -> dict:
    return {"type": "object", "properties": props}


def _array(items: dict) -> dict:
    return {"type": "array", "items": items}


STR = {"type": "string"}


def _query(*names: str) -> list[dict]:
    return [{"name": n, "in": "query", "schema": STR} for n in names]


def _infer(tmp_path: Path, paths: dict, schemas: dict) -> InferredWorld:
    """The world inferred from an OpenAPI 3.0 document with these paths and component schemas."""
    document = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": paths,
                "components": {"schemas": schemas}}
    file = tmp_path / "spec.json"
    file.write_text(json.dumps(document))
    return infer_world(load_spec(file))


def _links(world: InferredWorld) -> set[str]:
    """Every relationship as ``source.field->target`` (``source->target`` for path nesting)."""
    return {r.id for r in world.relationships}


def _get(schema: dict, params: list[dict] | None = None) -> dict:
    return {"get": {"parameters": params or [], "responses": _ok(schema)}}


def test_a_key_naming_another_resource_that_serves_its_schema_is_that_resource(tmp_path):
    """``/messages/{id}/reactions/{emoji}`` lists users keyed by ``{user_id}``: users under a message."""
    world = _infer(tmp_path, {
        "/users/{user_id}": _get(_ref("User")),
        "/messages/{message_id}": _get(_ref("Message")),
        "/messages/{message_id}/reactions/{emoji_name}": _get(_array(_ref("User"))),
        "/messages/{message_id}/reactions/{emoji_name}/{user_id}": {"put": {"responses": {"204": {"description": ""}}}},
    }, {"User": _obj(id=STR, name=STR), "Message": _obj(id=STR, author=_ref("User"))})
    assert sorted(world.entity_types) == ["message", "user"]
    assert _links(world) == {"message->user", "message.author->user"}


def test_a_union_entity_schema_is_walked_kind_by_kind(tmp_path):
    """A channel is ``oneOf`` guild channel or thread: its id is their common ``id``, its keys all of theirs."""
    snowflake = {"type": "string", "pattern": "^(0|[1-9][0-9]*)$"}
    world = _infer(tmp_path, {
        "/guilds/{guild_id}": _get(_ref("Guild")),
        "/users/{user_id}": _get(_ref("User")),
        "/channels/{channel_id}": _get({"oneOf": [_ref("GuildChannel"), _ref("Thread")]}),
    }, {"Guild": _obj(id=snowflake, name=STR), "User": _obj(id=snowflake, name=STR),
        "GuildChannel": _obj(id=snowflake, guild_id=snowflake, parent_id={"oneOf": [{"type": "null"}, snowflake]}),
        "Thread": _obj(id=snowflake, guild_id=snowflake, owner_id=snowflake)})
    assert world.entity_types["channel"].id_field == "id"
    assert _links(world) == {"channel.guild_id->guild", "channel.parent_id->channel", "channel.owner_id->user"}


SLACK_PATHS = {
    "/users.info": _get(_obj(ok={"type": "boolean"}, user=_ref("User")), _query("token", "user")),
    "/users.list": _get(_obj(ok={"type": "boolean"}, members=_array(_ref("User"))), _query("cursor")),
    "/conversations.info": _get(_obj(ok={"type": "boolean"}, channel=_ref("Conversation")), _query("channel")),
    "/conversations.history": _get(_obj(messages=_array(_ref("Message"))), _query("channel", "latest", "limit")),
    "/conversations.replies": _get(_obj(messages=_array(_ref("Message"))), _query("channel", "ts", "limit")),
}
SLACK_SCHEMAS = {
    "UserId": {"type": "string", "pattern": "^[UW][A-Z0-9]{2,}$", "title": "User ID"},
    "ChannelId": {"type": "string", "pattern": "^[C][A-Z0-9]{8,}$", "title": "Channel ID"},
    "User": _obj(id=_ref("UserId"), name=STR),
    "Conversation": _obj(id=_ref("ChannelId"), creator=_ref("UserId"), members=_array(_ref("UserId"))),
    "Message": {**_obj(ts=STR, user=_ref("UserId"), reply_users=_array(_ref("UserId")), text=STR),
                "required": ["ts", "text"]},
    "File": _obj(id=STR, channels=_array({"type": "string", "pattern": "^C[A-Z0-9]{2,}$", "title": "Channel ID"})),
}


def test_rpc_methods_read_entities_keyed_by_a_query_parameter(tmp_path):
    """``/users.info?user=`` reads a user, ``/users.list`` lists the same schema, messages are keyed by ``?ts=``."""
    world = _infer(tmp_path, SLACK_PATHS, SLACK_SCHEMAS)
    user, channel, message = (world.entity_types[n] for n in ("user", "channel", "message"))
    assert sorted(world.entity_types) == ["channel", "message", "user"]
    assert (user.item_path, user.id_param, user.id_in, user.id_field) == ("/users.info", "user", "query", "id")
    assert user.collection_path == "/users.list"
    assert (channel.item_path, channel.id_param, channel.schema_name) == ("/conversations.info", "channel",
                                                                            "Conversation")
    assert (message.collection_path, message.id_field, message.id_in) == ("/conversations.replies", "ts", "query")


def test_a_key_typed_with_one_types_id_schema_references_that_type(tmp_path):
    """``creator: $ref UserId``, the schema of ``User.id``, is a user whatever the field is called."""
    world = _infer(tmp_path, SLACK_PATHS, SLACK_SCHEMAS)
    assert _links(world) == {"channel.creator->user", "channel.members->user", "message.user->user",
                             "message.reply_users->user"}
    evidence = next(r.evidence for r in world.relationships if r.id == "channel.creator->user")
    assert evidence == ["field channel.creator has user's id schema UserId"]


def test_a_field_named_after_a_type_whose_title_says_id_holds_its_ids(tmp_path):
    """``channels: [{title: "Channel ID"}]`` holds channel ids even with a pattern of its own."""
    paths = {**SLACK_PATHS, "/files.info": _get(_obj(file=_ref("File")), _query("file"))}
    world = _infer(tmp_path, paths, SLACK_SCHEMAS)
    assert "file.channels->channel" in _links(world)


def test_the_callers_own_entity_at_a_singular_path_defines_its_type(tmp_path):
    """Netlify's ``GET /user`` is the only path serving a user: ``user`` exists, ``deploy.user_id`` points at it."""
    world = _infer(tmp_path, {
        "/user": _get(_ref("User")),
        "/deploys/{deploy_id}": _get(_ref("Deploy")),
        "/users/@me/guilds": _get(_array(_ref("Deploy"))),
    }, {"User": _obj(id=STR, email=STR), "Deploy": _obj(id=STR, user_id=STR)})
    assert world.entity_types["user"].current_path == "/user"
    assert world.entity_types["user"].collection_path is None
    assert _links(world) == {"deploy.user_id->user"}


def test_an_at_me_alias_marks_the_current_entity_of_its_collection(tmp_path):
    """``/users/@me`` answers the caller's own user, served at ``/users/{user_id}`` too."""
    world = _infer(tmp_path, {
        "/users/{user_id}": _get(_ref("User")),
        "/users/@me": _get(_ref("User")),
    }, {"User": _obj(id=STR, username=STR)})
    assert world.entity_types["user"].current_path == "/users/@me"
    assert world.entity_types["user"].item_path == "/users/{user_id}"
