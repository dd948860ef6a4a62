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
                             "message.reply_users->user", "channel->message"}   # history?channel= nests them
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


def test_a_literal_namespace_and_the_schema_name_the_type(tmp_path):
    """``/filters/statuses/{id}`` answering ``FilterStatus`` is a filter status, not a status."""
    world = _infer(tmp_path, {
        "/statuses/{id}": _get(_ref("Status")),
        "/filters/{filter_id}": _get(_ref("Filter")),
        "/filters/{filter_id}/statuses": _get(_array(_ref("FilterStatus"))),
        "/filters/statuses/{id}": _get(_ref("FilterStatus")),
    }, {"Status": _obj(id=STR, text=STR), "Filter": _obj(id=STR, title=STR),
        "FilterStatus": _obj(id=STR, status_id=STR)})
    assert sorted(world.entity_types) == ["filter", "filter_status", "status"]
    assert world.entity_types["filter_status"].item_path == "/filters/statuses/{id}"
    assert _links(world) == {"filter->filter_status", "filter_status.status_id->status"}


def test_side_loaded_answers_are_keyed_by_the_items_carrying_the_path_key(tmp_path):
    """``/notifications/{group_key}`` answers ``{accounts: [...], notification_groups: ...}``: groups are the type."""
    group = _obj(group_key=STR, sample_account_ids=_array(STR), status_id=STR)
    world = _infer(tmp_path, {
        "/accounts/{id}": _get(_ref("Account")),
        "/statuses/{id}": _get(_ref("Status")),
        "/notifications/{group_key}": _get(_obj(accounts=_array(_ref("Account")),
                                                notification_groups=_ref("NotificationGroup"))),
    }, {"Account": _obj(id=STR), "Status": _obj(id=STR), "NotificationGroup": group})
    assert world.entity_types["notification_group"].id_field == "group_key"
    assert _links(world) == {"notification_group.sample_account_ids->account", "notification_group.status_id->status"}


def test_a_nested_resource_with_a_schema_of_its_own_is_its_own_type(tmp_path):
    """``/vector_stores/{id}/files/{file_id}`` serves ``VectorStoreFileObject``, not the ``/files/{file_id}`` file."""
    world = _infer(tmp_path, {
        "/files/{file_id}": _get(_ref("OpenAIFile")),
        "/vector_stores/{vector_store_id}": _get(_ref("VectorStoreObject")),
        "/vector_stores/{vector_store_id}/files/{file_id}": _get(_ref("VectorStoreFileObject")),
        "/uploads/{upload_id}": _get(_ref("Upload")),
        "/uploads/{upload_id}/parts": {"post": {"responses": _ok(_ref("UploadPart"))}},
        "/fine_tuning/jobs/{job_id}": _get(_ref("FineTuningJob")),
    }, {"OpenAIFile": _obj(id=STR), "VectorStoreObject": _obj(id=STR), "Upload": _obj(id=STR),
        "VectorStoreFileObject": _obj(id=STR, vector_store_id=STR),
        "UploadPart": _obj(id=STR, upload_id=STR),
        "FineTuningJob": _obj(id=STR, training_file={**STR, "description": "The file ID used for training."},
                              result_files=_array({**STR, "description": "The result file ID."}))})
    assert sorted(world.entity_types) == ["file", "fine_tuning_job", "upload", "upload_part", "vector_store",
                                          "vector_store_file"]
    assert _links(world) == {"vector_store_file.vector_store_id->vector_store", "upload_part.upload_id->upload",
                             "fine_tuning_job.training_file->file", "fine_tuning_job.result_files->file"}


def test_url_references_and_schema_name_aliases(tmp_path):
    """``issue_url`` holds the URL of an issue; ``pull_request_url`` one of the ``pull`` type (schema PullRequest)."""
    world = _infer(tmp_path, {
        "/repos/{owner}/{repo}/issues/{index}": _get(_ref("Issue")),
        "/repos/{owner}/{repo}/pulls/{index}": _get(_ref("PullRequest")),
        "/repos/{owner}/{repo}/issues/{index}/comments": _get(_array(_ref("Comment"))),
        "/repos/{owner}/{repo}/issues/comments/{id}": _get(_ref("Comment")),
    }, {"Issue": _obj(id=STR), "PullRequest": _obj(id=STR),
        "Comment": _obj(id=STR, issue_url=STR, pull_request_url=STR, html_url=STR)})
    by_id = {r.id: r for r in world.relationships}
    assert set(by_id) == {"comment.issue_url->issue", "comment.pull_request_url->pull", "issue->comment",
                          "repo->issue", "repo->pull", "repo->comment"}
    assert (by_id["comment.issue_url->issue"].holds, by_id["issue->comment"].holds) == ("url", "id")


def test_polymorphic_type_and_id_pairs(tmp_path):
    """``entityType`` naming types in its description, and ``resourceable_type`` naming none (the parents count)."""
    kinds = {**STR, "description": "One of **accountHolder** or **balanceAccount**."}
    key = _obj(entityReference=STR, entityType=kinds)
    world = _infer(tmp_path, {
        "/accountHolders/{id}": _get(_ref("AccountHolder")),
        "/balanceAccounts/{id}": _get(_ref("BalanceAccount")),
        "/transactionRules/{id}": _get(_obj(id=STR, entityKey=key)),
        "/applications/{uuid}/envs": _get(_array(_ref("Env"))),
        "/services/{uuid}/envs": _get(_array(_ref("Env"))),
        "/applications/{uuid}": _get(_obj(uuid=STR)),
        "/services/{uuid}": _get(_obj(uuid=STR)),
        "/envs/{env_id}": {"delete": {"responses": {"204": {"description": ""}}}},
    }, {"AccountHolder": _obj(id=STR), "BalanceAccount": _obj(id=STR),
        "Env": _obj(id={"type": "integer"}, resourceable_type=STR, resourceable_id={"type": "integer"})})
    polymorphic = {r.id: r.type_field for r in world.relationships if r.type_field}
    assert polymorphic == {"transaction_rule.entityKey.entityReference->account_holder": "entityKey.entityType",
                           "transaction_rule.entityKey.entityReference->balance_account": "entityKey.entityType",
                           "env.resourceable_id->application": "resourceable_type",
                           "env.resourceable_id->service": "resourceable_type"}


def test_a_type_keyed_by_a_name_is_referenced_by_that_name(tmp_path):
    """``/event-type/{event_type_name}`` keys event types by ``name``; ``eventType`` with its pattern holds one."""
    name = {"type": "string", "pattern": "^[a-zA-Z0-9\\-_.]+$"}
    world = _infer(tmp_path, {
        "/event-type/{event_type_name}": _get(_ref("EventTypeOut")),
        "/msg/{msg_id}": _get(_ref("MessageOut")),
    }, {"EventTypeOut": _obj(name=name, description=STR),
        "MessageOut": _obj(id=STR, eventType=name, eventTypes=_array(name), eventId=name)})
    assert world.entity_types["event_type"].id_field == "name"
    assert _links(world) == {"msg.eventType->event_type", "msg.eventTypes->event_type"}


def test_a_path_answering_one_object_stays_an_item_before_a_trailing_key(tmp_path):
    """``/projects/{uuid}/{environment_name_or_uuid}`` is an environment; ``/projects/{uuid}`` stays the project."""
    world = _infer(tmp_path, {
        "/projects/{uuid}": _get(_ref("Project")),
        "/projects/{uuid}/environments": _get(_array(_ref("Environment"))),
        "/projects/{uuid}/{environment_name_or_uuid}": _get(_ref("Environment")),
        "/applications/{uuid}": _get(_obj(uuid=STR, environment_id={"type": "integer"})),
    }, {"Project": _obj(uuid=STR, id={"type": "integer"}),
        "Environment": _obj(id={"type": "integer"}, name=STR, project_id={"type": "integer"})})
    project, environment = world.entity_types["project"], world.entity_types["environment"]
    assert project.item_path == "/projects/{uuid}"
    assert environment.item_path == "/projects/{uuid}/{environment_name_or_uuid}"
    assert {"application.environment_id->environment", "environment.project_id->project"} <= _links(world)


def test_a_type_addressed_by_uuid_keeps_the_integer_id_its_keys_carry(tmp_path):
    """``/projects/{uuid}`` while every ``project_id`` is the integer ``id``: the id is ``id``; a ``server_uuid``
    key elsewhere keeps servers keyed by their uuid."""
    uuid, integer = STR, {"type": "integer"}
    world = _infer(tmp_path, {
        "/projects/{uuid}": _get(_ref("Project")),
        "/servers/{uuid}": _get(_ref("Server")),
        "/environments/{id}": _get(_ref("Environment")),
        "/destinations/{uuid}": _get(_ref("Destination")),
    }, {"Project": _obj(id=integer, uuid=uuid), "Server": _obj(id=integer, uuid=uuid),
        "Environment": _obj(id=integer, project_id=integer, server_id=integer),
        "Destination": _obj(uuid=uuid, server_uuid=uuid)})
    project, server = world.entity_types["project"], world.entity_types["server"]
    assert (project.id_field, project.id_type, server.id_field, server.id_type) == ("id", "integer", "uuid", "string")


def test_an_array_named_after_a_type_whose_description_says_uuids_holds_its_ids(tmp_path):
    """Kong's ``ca_certificates: ["…"]``, "Array of CA Certificate object UUIDs", holds CA certificate ids."""
    uuids = {"type": "array", "items": STR, "description": "Array of `CA Certificate` object UUIDs."}
    world = _infer(tmp_path, {
        "/ca_certificates/{ca_certificate_id}": _get(_ref("CACertificate")),
        "/services/{service_id}": _get(_ref("Service")),
    }, {"CACertificate": _obj(id=STR, cert=STR), "Service": _obj(id=STR, ca_certificates=uuids, tags=_array(STR))})
    assert _links(world) == {"service.ca_certificates->ca_certificate"}


def test_a_field_holding_another_types_alternate_key(tmp_path):
    """Twilio's ``User.identity`` uniquely identifies a user; ``Member.identity`` and ``Message.from`` hold one."""
    identity = {"type": "string", "description": "The string that uniquely identifies the resource's User."}
    world = _infer(tmp_path, {
        "/Users/{Sid}": _get(_ref("User")),
        "/Members/{Sid}": _get(_ref("Member")),
        "/Messages/{Sid}": _get(_ref("Message")),
    }, {"User": _obj(sid=STR, identity=identity),
        "Member": _obj(sid=STR, identity={**STR, "description": "The identity of the member's [User]."}),
        "Message": _obj(sid=STR, **{"from": {**STR, "description": "The Identity of the message's author."}})})
    assert {r.id: r.holds for r in world.relationships} == {"member.identity->user": "identity",
                                                           "message.from->user": "identity"}


def test_a_generic_last_word_spelled_as_a_noun_in_the_description_is_a_dangling_type(tmp_path):
    """``legalEntityId``, "the legal entity", names a type this spec does not define; ``entityId`` does not."""
    world = _infer(tmp_path, {"/accountHolders/{id}": _get(_ref("AccountHolder"))}, {"AccountHolder": _obj(
        id=STR, legalEntityId={**STR, "description": "The unique identifier of the legal entity."},
        entityId={**STR, "description": "The identifier of the entity."})})
    assert _links(world) == {"account_holder.legalEntityId->legal_entity"}
    assert world.entity_types["legal_entity"].dangling
