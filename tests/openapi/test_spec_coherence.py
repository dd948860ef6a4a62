"""A coherent world on any real spec: Swagger 2.0 converted on load, self and sibling references
that never recurse, ids in the API's own style, links that resolve, nested lists that agree.

All in process (``app_client``): each test builds one world from a corpus spec or a small spec
written here, and checks the exact answers a person would expect of the real API.
"""

from __future__ import annotations

import json
import re

import pytest

from conftest import ROOT, SHARED
from mockverse.openapi import load_spec

SPECS = SHARED / "specs"
FIXTURES = ROOT / "tests" / "fixtures" / "specs"

SWAGGER = {
    "swagger": "2.0",
    "info": {"title": "Shelf", "version": "1"},
    "host": "api.example.com",
    "basePath": "/v2",
    "schemes": ["https"],
    "produces": ["application/json"],
    "parameters": {
        "bookBody": {"name": "book", "in": "body", "required": True, "schema": {"$ref": "#/definitions/Book"}},
        "limit": {"name": "limit", "in": "query", "type": "integer", "maximum": 100, "collectionFormat": "csv"},
    },
    "responses": {"Book": {"description": "one book", "schema": {"$ref": "#/definitions/Book"}}},
    "paths": {
        "/books": {
            "get": {"parameters": [{"$ref": "#/parameters/limit"}],
                    "responses": {"200": {"description": "books",
                                          "schema": {"type": "array", "items": {"$ref": "#/definitions/Book"}}}}},
            "post": {"consumes": ["application/json"], "parameters": [{"$ref": "#/parameters/bookBody"}],
                     "responses": {"201": {"$ref": "#/responses/Book"}}},
        },
        "/books/{book_id}": {
            "parameters": [{"name": "book_id", "in": "path", "required": True, "type": "string"}],
            "get": {"responses": {"200": {"$ref": "#/responses/Book"}}},
        },
        "/books/{book_id}/cover": {
            "parameters": [{"name": "book_id", "in": "path", "required": True, "type": "string"}],
            "post": {"consumes": ["multipart/form-data"],
                     "parameters": [{"name": "file", "in": "formData", "type": "file", "required": True},
                                    {"name": "caption", "in": "formData", "type": "string"}],
                     "responses": {"204": {"description": "stored"}}},
        },
    },
    "definitions": {
        "Book": {"type": "object", "required": ["id", "title"],
                 "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                                "subtitle": {"type": "string", "x-nullable": True},
                                "shelf": {"items": [{"type": "string"}, {"type": "null"}]},
                                "tags": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]}}},
    },
}


def test_a_swagger_2_document_is_converted_to_openapi_3_on_load(tmp_path):
    path = tmp_path / "shelf.json"
    path.write_text(json.dumps(SWAGGER))
    spec = load_spec(path)
    assert spec.openapi == "3.0.3"
    assert spec.document["servers"] == [{"url": "https://api.example.com/v2"}]
    ops = {(op.method, op.path): op for op in spec.operations}
    assert sorted(ops) == [("GET", "/books"), ("GET", "/books/{book_id}"), ("POST", "/books"),
                           ("POST", "/books/{book_id}/cover")]
    book = spec.schemas["Book"]
    assert book["properties"]["subtitle"] == {"type": "string", "nullable": True}
    assert book["properties"]["shelf"] == {"oneOf": [{"type": "string"}, {"type": "null"}]}
    assert book["properties"]["tags"] == {"type": "array", "items": {"oneOf": [{"type": "string"},
                                                                                 {"type": "integer"}]}}
    create = ops[("POST", "/books")]
    assert create.request_schema is book and create.request_required is True
    assert create.responses["201"].schema is book and create.responses["201"].media_type == "application/json"
    limit = ops[("GET", "/books")].parameters[0]
    assert (limit.name, limit.location, limit.schema) == ("limit", "query", {"type": "integer", "maximum": 100})
    assert [(p.name, p.location, p.required) for p in ops[("GET", "/books/{book_id}")].parameters] == \
        [("book_id", "path", True)]
    cover = ops[("POST", "/books/{book_id}/cover")]
    assert cover.request_schema == {"type": "object", "required": ["file"],
                                    "properties": {"file": {"type": "string", "format": "binary"},
                                                   "caption": {"type": "string"}}}
    assert spec.document["paths"]["/books/{book_id}/cover"]["post"]["requestBody"]["content"].keys() == \
        {"multipart/form-data"}


def test_a_converted_swagger_2_spec_is_served_with_its_writes_kept(tmp_path, app_client):
    path = tmp_path / "shelf.json"
    path.write_text(json.dumps(SWAGGER))
    client = app_client(auth_check=False, spec=path)
    created = client.post("/books", json={"id": "ignored", "title": "Dune"})
    assert created.status_code == 201, created.text
    book_id = created.json()["id"]
    assert client.get(f"/books/{book_id}").json()["title"] == "Dune"
    missing = client.post("/books", json={"subtitle": None})
    assert missing.status_code == 422
    assert "title" in missing.text


@pytest.mark.parametrize(("name", "list_path", "item_path", "unknown"), [
    ("gitea.json", "/orgs", "/orgs/{}", 987654321),
    ("netlify.yaml", "/sites", "/sites/{}", "no-such-site"),
])
def test_swagger_2_corpus_specs_serve_their_lists_and_items(app_client, name, list_path, item_path, unknown):
    client = app_client(auth_check=False, spec=SPECS / name)
    listed = client.get(list_path)
    assert listed.status_code == 200, listed.text
    first = listed.json()[0]
    item = client.get(item_path.format(first["id"]))
    assert item.status_code == 200, item.text
    assert item.json() == first
    assert client.get(item_path.format(unknown)).status_code == 404
    assert client.get("/api/v1/consistency/world").status_code == 200


def test_slack_rpc_methods_answer_in_one_of_their_declared_shapes(app_client):
    client = app_client(auth_check=False, spec=SPECS / "slack.json")
    listed = client.get("/conversations.list")
    assert listed.status_code == 200
    assert isinstance(listed.json()["channels"][0], dict)   # items: [shape, shape] read as one of the shapes
    member = client.get("/users.list", params={"token": "xoxb-1"}).json()["members"][0]
    user = client.get("/users.info", params={"user": member["id"], "token": "xoxb-1"})   # the spec requires the token
    assert user.status_code == 200
    assert user.json()["user"]["id"] == member["id"]   # the user the query names
    assert client.get("/users.info", params={"user": "U1", "token": "xoxb-1"}).status_code == 404   # none such
    assert client.get("/api/v1/consistency/world").status_code == 200


def _world(client) -> dict:
    response = client.get("/api/v1/consistency/world")
    assert response.status_code == 200, response.text
    return response.json()


def _without(body: dict, name: str) -> dict:
    return {k: v for k, v in body.items() if k != name}


def test_self_references_point_at_other_entities_of_the_same_type(app_client):
    client = app_client(auth_check=False, spec=FIXTURES / "self_refs.yaml")
    links = {r["id"] for r in _world(client)["relationships"]}
    assert {"status.in_reply_to_id->status", "status.reblog->status", "channel.parent_id->channel",
            "message.referenced_message->message"} <= links
    statuses = client.get("/statuses").json()
    assert len(statuses) == 50
    replies = [s for s in statuses if s["in_reply_to_id"] is not None]
    reblogs = [s for s in statuses if s["reblog"] is not None]
    assert 0 < len(replies) < 50 and 0 < len(reblogs) < 50
    for status in replies:
        assert status["in_reply_to_id"] != status["id"]
        assert client.get(f"/statuses/{status['in_reply_to_id']}").status_code == 200
    for status in reblogs:
        boosted = status["reblog"]
        assert boosted["id"] != status["id"]
        own = client.get(f"/statuses/{boosted['id']}").json()
        assert _without(boosted, "reblog") == _without(own, "reblog")
        assert boosted["reblog"] is None or boosted["reblog"]["reblog"] is None   # depth-bounded


def test_a_sibling_reference_is_a_message_of_the_same_channel(app_client):
    client = app_client(auth_check=False, spec=FIXTURES / "self_refs.yaml")
    seen = 0
    for channel in client.get("/channels").json():
        messages = client.get(f"/channels/{channel['id']}/messages").json()
        for message in messages:
            quoted = message["referenced_message"]
            if quoted is None:
                continue
            seen += 1
            assert quoted["channel_id"] == channel["id"] and quoted["id"] != message["id"]
            own = client.get(f"/channels/{channel['id']}/messages/{quoted['id']}").json()
            assert _without(quoted, "referenced_message") == _without(own, "referenced_message")
    assert seen > 0


def test_discord_messages_quoting_messages_are_served_without_recursion(app_client):
    client = app_client(auth_check=False, spec=SPECS / "discord.json")
    world = _world(client)
    samples = next(t for t in world["entity_types"] if t["name"] == "channel")["sample"]
    answers = {s["id"]: client.get(f"/channels/{s['id']}/messages") for s in samples}
    assert all(a.status_code == 200 for a in answers.values()), [a.text for a in answers.values()]
    channel, messages = next(((c, a) for c, a in answers.items() if a.json()), next(iter(answers.items())))
    assert messages.json(), "a sampled channel has messages"
    for message in messages.json():
        assert message["channel_id"] == channel
        item = client.get(f"/channels/{channel}/messages/{message['id']}")
        assert item.status_code == 200, item.text
        quoted = item.json().get("referenced_message")
        assert quoted is None or quoted["channel_id"] == channel


def _sample(world: dict, name: str) -> object:
    return next(t for t in world["entity_types"] if t["name"] == name)["sample"][0]["id"]


def test_entities_embedded_below_the_top_level_are_the_world_s_own(app_client):
    client = app_client(auth_check=False, spec=SPECS / "spotify.yaml")
    playlist = client.get(f"/playlists/{_sample(_world(client), 'playlist')}").json()
    items = playlist["tracks"]["items"]
    assert items
    for item in items:
        track = item["track"]
        own = client.get(f"/{track['type']}s/{track['id']}")
        assert own.status_code == 200, own.text
        assert own.json()["name"] == track["name"]
        adder = client.get(f"/users/{item['added_by']['id']}")
        assert adder.status_code == 200


def test_ids_held_below_the_top_level_name_existing_entities(app_client):
    client = app_client(auth_check=False, spec=SPECS / "openai.yaml")
    thread = client.get(f"/threads/{_sample(_world(client), 'thread')}").json()
    files = thread["tool_resources"]["code_interpreter"]["file_ids"]
    stores = thread["tool_resources"]["file_search"]["vector_store_ids"]
    assert files and stores
    assert [client.get(f"/files/{f}").status_code for f in files] == [200] * len(files)
    assert [client.get(f"/vector_stores/{s}").status_code for s in stores] == [200] * len(stores)


def test_ids_follow_the_pattern_of_their_id_field_and_keys_point_at_them(app_client):
    client = app_client(auth_check=False, spec=SPECS / "twilio-chat.json")
    services = client.get("/v2/Services").json()["services"]
    assert len({s["sid"] for s in services}) == len(services) == 20
    service = services[0]
    assert re.fullmatch(r"IS[0-9a-f]{32}", service["sid"])
    assert client.get(f"/v2/Services/{service['sid']}").json() == service
    channels = client.get(f"/v2/Services/{service['sid']}/Channels").json()["channels"]
    assert channels
    for channel in channels:
        assert re.fullmatch(r"CH[0-9a-f]{32}", channel["sid"]) and channel["service_sid"] == service["sid"]
        assert client.get(f"/v2/Services/{service['sid']}/Channels/{channel['sid']}").json() == channel
    roles = [(s["sid"], s["default_service_role_sid"]) for s in services if s["default_service_role_sid"]]
    assert roles
    for sid, role in roles:
        assert re.fullmatch(r"RL[0-9a-f]{32}", role)
        assert client.get(f"/v2/Services/{sid}/Roles/{role}").status_code == 200
    assert client.get(f"/v2/Services/{service['sid']}/Channels/CH{'0' * 32}").status_code == 404


def test_snowflake_ids_are_long_decimal_strings(app_client):
    client = app_client(auth_check=False, spec=SPECS / "discord.json")
    channel = _sample(_world(client), "channel")
    assert re.fullmatch(r"[1-9][0-9]{18}", channel)
    assert client.get(f"/channels/{channel}").json()["id"] == channel
    assert client.get("/channels/1100000000000009999").status_code == 404


def test_an_integer_id_in_the_schema_stays_an_integer_whatever_the_path_key(app_client):
    client = app_client(auth_check=False, spec=SPECS / "gitea.json")
    orgs = client.get("/orgs").json()
    assert [type(o["id"]) for o in orgs] == [int] * len(orgs)
    assert client.get(f"/orgs/{orgs[0]['id']}").json() == orgs[0]


def test_a_write_in_an_envelope_named_after_the_resource_is_kept(app_client):
    client = app_client(auth_check=False, spec=SPECS / "conduit.yaml")
    created = client.post("/articles", json={"article": {"title": "Dragons", "description": "d", "body": "b"}})
    assert created.status_code == 201, created.text
    slug = created.json()["article"]["slug"]
    assert client.get(f"/articles/{slug}").json()["article"]["title"] == "Dragons"
    updated = client.put(f"/articles/{slug}", json={"article": {"title": "Wyverns"}})
    assert updated.status_code == 200
    assert client.get(f"/articles/{slug}").json()["article"]["title"] == "Wyverns"


def test_an_embedded_object_naming_an_entity_by_id_shows_that_entity(app_client):
    client = app_client(auth_check=False, spec=SPECS / "petclinic.yaml")
    kind = client.get("/pettypes").json()[2]
    owner = client.get("/owners").json()[0]["id"]
    created = client.post(f"/owners/{owner}/pets", json={"name": "Rex", "birthDate": "2020-01-01",
                                                        "type": {"id": kind["id"], "name": "dog"}})
    assert created.status_code == 201, created.text
    pet = client.get(f"/pets/{created.json()['id']}").json()
    assert (pet["name"], pet["ownerId"], pet["type"]) == ("Rex", owner, kind)


def test_form_encoded_writes_in_pascal_case_are_kept_in_the_entity_s_own_spelling(app_client):
    client = app_client(auth_check=False, spec=SPECS / "twilio-chat.json")
    created = client.post("/v2/Services", data={"FriendlyName": "Support desk"})
    assert created.status_code == 201, created.text
    service = created.json()["sid"]
    assert created.headers["location"] == f"/v2/Services/{service}"
    assert client.get(f"/v2/Services/{service}").json()["friendly_name"] == "Support desk"
    channel = client.post(f"/v2/Services/{service}/Channels", data={"FriendlyName": "general", "UniqueName": "gen"})
    assert channel.status_code == 201, channel.text
    sid = channel.json()["sid"]
    listed = client.get(f"/v2/Services/{service}/Channels").json()["channels"]
    assert [(c["sid"], c["service_sid"], c["unique_name"]) for c in listed] == [(sid, service, "gen")]
    assert client.post(f"/v2/Services/{service}/Channels/{sid}", data={"FriendlyName": "renamed"}).status_code == 200
    assert client.get(f"/v2/Services/{service}/Channels/{sid}").json()["friendly_name"] == "renamed"
    bad = client.post(f"/v2/Services/{service}/Channels", data={"Type": "secret"})
    assert bad.status_code == 422 and "Type" in bad.text


def test_a_required_self_reference_always_names_an_existing_entity(app_client):
    client = app_client(auth_check=False, spec=SPECS / "adyen-balance-platform.json")
    world = _world(client)
    instruments = [s["id"] for s in next(t for t in world["entity_types"]
                                         if t["name"] == "payment_instrument")["sample"]]
    for sid in instruments:
        body = client.get(f"/paymentInstruments/{sid}").json()
        for key in ("replacedById", "replacementOfId"):
            assert isinstance(body[key], str)
            assert client.get(f"/paymentInstruments/{body[key]}").status_code == 200
