"""Links that resolve, by class of failure seen on real specs.

* **Disagreeing id patterns.** The keys that point at a type may carry narrower patterns than its
  own id (a channel key that takes public channels only, another that takes direct messages only):
  the type's ids honour its own pattern and as many of the others as one shape can, never falling
  back to bare serials that honour none.
* **Method paths keyed by a query parameter** (``/users.info?user=U1``): the method reads the entity
  the parameter names, so a link found in a list resolves there (404 for an id that does not exist).
* **Lists of envelopes of lists** (``{contacts: [{contacts: [...]}]}``): one envelope holds the page,
  rendered from the world.
* **An embed inside a nullable object** (``rsvp: oneOf [null, {owner_id, owner}]``) shows a world
  entity, the one its sibling key names.
* **Property names with a dot** (``"owner.previous"``) are one property, not a path.
* **An item path whose answer names no id** (``GET /keys/{key_id}`` answers ``{secret}``): a link
  resolves when the path answers 200 and the world knows the entity (an unknown id is a 404).
* **An embedded ``id`` that is not the target's key** (a type whose own schema has no ``id``) is
  reported, not filled with ids no body of that type shows.
* **Values as entities**: strings a path lists (``GET /tags``) are a type identified by its value, and
  a field named for it (``tagList``) holds values that list shows.
* **Keys only a write sends** (``media_ids`` of a create request) are references of the type.
* **Lists of free-form objects** (``{recipients: [{type: object}]}`` at a type's own path) show the
  entities with their own fields, as the item path does.
* **Deep links into a shared rendering** (a channel's ``shares[].accepted_user``, the share rendered
  once and cached) change the embedding entity's copy only, so a list and the item path agree.
"""

from __future__ import annotations

import re

import yaml

from conftest import SHARED
from mockverse.check import run_check
from mockverse.world.idscheme import codec_for

SPECS = SHARED / "specs"


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
        "/users.list": {"get": {
            "parameters": [{"name": "token", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": _object("members", {"type": "array", "items": _ref("User")})}},
        "/users.info": {"get": {
            "parameters": [{"name": "user", "in": "query", "required": True, "schema": _ref("UserId")}],
            "responses": _object("user", _ref("User"))}},
        "/team.info": {"get": {
            "parameters": [{"name": "team", "in": "query", "required": False, "schema": _ref("TeamId")}],
            "responses": _object("team", _ref("Team"))}},
        "/conversations.list": {"get": {"responses": _object("channels", {"type": "array",
                                                                           "items": _ref("Channel")})}},
        "/conversations.info": {"get": {
            "parameters": [{"name": "channel", "in": "query", "required": True, "schema": _ref("ChannelId")}],
            "responses": _object("channel", _ref("Channel"))}},
    },
    "components": {"schemas": {
        "UserId": {"type": "string", "pattern": "^[UW][A-Z0-9]{2,}$"},
        "TeamId": {"type": "string", "pattern": "^T[A-Z0-9]{8}$"},
        "Team": {"type": "object", "required": ["id", "name"],
                 "properties": {"id": _ref("TeamId"), "name": {"type": "string"}}},
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
    first = client.get("/team.info", params={"team": "TZZZZZZZZ"})
    assert first.status_code == 404


def test_check_resolves_links_at_a_method_path_keyed_by_a_query_parameter(tmp_path) -> None:
    spec = tmp_path / "rpc.yaml"
    spec.write_text(yaml.safe_dump(RPC))
    report = run_check(str(spec))
    assert report.counts["links"] == [3, 3]
    assert report.counts["item_list"] == [6, 6]
    assert report.counts["determinism"] == [5, 5]   # the replay sends the required token again
    assert report.status_5xx == 0


def _get(schema: dict, parameter: str | None = None) -> dict:
    """A GET answering ``schema``, with a string path parameter when named."""
    op: dict = {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}}
    if parameter:
        op["parameters"] = [{"name": parameter, "in": "path", "required": True, "schema": {"type": "string"}}]
    return {"get": op}


NESTED_LISTS = {
    "openapi": "3.1.0",
    "info": {"title": "Lists of lists", "version": "1"},
    "paths": {
        "/owners": _get({"type": "object", "properties": {"owners": {"type": "array", "items": _ref("Owner")}}}),
        "/owners/{owner_id}": _get(_ref("Owner"), "owner_id"),
        "/contacts": _get({"type": "object", "properties": {"contacts": {"type": "array",
                                                                         "items": _ref("ContactPage")}}}),
        "/contacts/{contact_id}": _get(_ref("ContactPage"), "contact_id"),
    },
    "components": {"schemas": {
        "Owner": {"type": "object", "required": ["id", "name"],
                  "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
        "ContactPage": {"type": "object", "properties": {"contacts": {"type": "array", "items": {
            "type": "object", "required": ["id", "email", "owner_id"], "properties": {
                "id": {"type": "string"}, "email": {"type": "string", "format": "email"},
                "owner_id": {"type": "integer"}}}}}},
    }},
}


def test_a_list_of_envelopes_of_lists_holds_the_page_in_one_envelope(app_client, tmp_path) -> None:
    spec = tmp_path / "lists.yaml"
    spec.write_text(yaml.safe_dump(NESTED_LISTS))
    client = app_client(spec=spec)
    groups = client.get("/contacts").json()["contacts"]
    assert len(groups) == 1
    contacts = groups[0]["contacts"]
    assert len(contacts) == 100   # the whole collection: the list declares no paging
    assert [(c["id"], c["owner_id"]) for c in contacts[:2]] == [("uG79Mq5cZFJBixuURZw6sx", 1),
                                                                 ("6n069zPkzX1TuImkvfIwQN", 2)]
    item = client.get(f"/contacts/{contacts[0]['id']}").json()
    assert item == {"contacts": [contacts[0]]}
    owner = client.get(f"/owners/{contacts[0]['owner_id']}")
    assert owner.status_code == 200 and owner.json()["id"] == contacts[0]["owner_id"]


def test_check_follows_links_inside_a_list_of_envelopes_of_lists(tmp_path) -> None:
    spec = tmp_path / "lists.yaml"
    spec.write_text(yaml.safe_dump(NESTED_LISTS))
    report = run_check(str(spec))
    assert report.counts["links"] == [3, 3]
    assert report.counts["item_list"] == [3, 3]
    assert report.counts["schema"] == [8, 8]


def _paths(schema: dict, *params: str) -> dict:
    """A GET answering ``schema`` with string path parameters."""
    op = _get(schema)
    op["get"]["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                               for p in params]
    return op


LINKS = {
    "openapi": "3.1.0",
    "info": {"title": "Links", "version": "1"},
    "paths": {
        "/owners": _get({"type": "array", "items": _ref("Owner")}),
        "/owners/{owner_id}": _paths(_ref("Owner"), "owner_id"),
        "/owners/{owner_id}/members": _paths({"type": "array", "items": _ref("Member")}, "owner_id"),
        "/owners/{owner_id}/members/{user_id}": _paths(_ref("Member"), "owner_id", "user_id"),
        "/keys": _get({"type": "array", "items": _ref("Key")}),
        "/keys/{key_id}": _paths(_ref("KeySecret"), "key_id"),
        "/events": _get({"type": "array", "items": _ref("Event")}),
        "/events/{event_id}": _paths(_ref("Event"), "event_id"),
    },
    "components": {"schemas": {
        "Owner": {"type": "object", "required": ["id", "name"],
                  "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
        "Member": {"type": "object", "required": ["nick"],
                   "properties": {"nick": {"type": "string"}, "owner": _ref("Owner")}},
        "Key": {"type": "object", "required": ["key_id", "label"],
                "properties": {"key_id": {"type": "string"}, "label": {"type": "string"}}},
        "KeySecret": {"type": "object", "required": ["secret"], "properties": {"secret": {"type": "string"}}},
        "Rsvp": {"type": "object", "required": ["owner_id", "owner"],
                 "properties": {"owner_id": {"type": "integer"}, "owner": _ref("Owner")}},
        "Event": {"type": "object", "required": ["id", "name", "key_id", "rsvp", "members", "owner.previous"],
                  "properties": {
                      "id": {"type": "integer"}, "name": {"type": "string"}, "key_id": {"type": "string"},
                      "rsvp": {"oneOf": [{"type": "null"}, _ref("Rsvp")]},
                      "owner.previous": _ref("Owner"),
                      "members": {"type": "array", "items": {"type": "object", "required": ["id"], "properties": {
                          "id": {"type": "integer"}, "flags": {"type": "integer"}}}}}},
    }},
}


def _links_client(app_client, tmp_path):
    spec = tmp_path / "links.yaml"
    spec.write_text(yaml.safe_dump(LINKS))
    return app_client(spec=spec)


def test_an_embed_in_a_nullable_object_is_the_entity_its_sibling_key_names(app_client, tmp_path) -> None:
    client = _links_client(app_client, tmp_path)
    event = client.get("/events").json()[0]
    assert event["rsvp"] == {"owner": {"id": 15, "name": "Christopher Briggs"}, "owner_id": 15}
    assert client.get("/owners/15").json() == {"id": 15, "name": "Christopher Briggs"}


def test_a_property_named_with_a_dot_embeds_a_world_entity(app_client, tmp_path) -> None:
    client = _links_client(app_client, tmp_path)
    event = client.get("/events").json()[0]
    assert event["owner.previous"] == {"id": 36, "name": "Morgan James"}
    assert client.get("/owners/36").json() == event["owner.previous"]


def test_an_embedded_id_that_is_not_the_target_s_key_is_reported(app_client, tmp_path) -> None:
    client = _links_client(app_client, tmp_path)
    links = {r["id"]: r for r in client.get("/api/v1/consistency/world").json()["relationships"]}
    assert links["event.members->member"]["used_as"] == "reported"
    assert links["event.members->member"]["note"] == \
        "not embedded: event.members.id is no member id (member's own schema has no id)"


def test_check_resolves_every_link_class_of_the_links_spec(tmp_path) -> None:
    spec = tmp_path / "links.yaml"
    spec.write_text(yaml.safe_dump(LINKS))
    report = run_check(str(spec))
    assert report.counts["links"] == [23, 23]
    assert report.counts["schema"] == [25, 25]
    assert [f.line() for f in report.findings if f.category == "links"] == []


VALUES = {
    "openapi": "3.1.0",
    "info": {"title": "Values", "version": "1"},
    "paths": {
        "/tags": _get({"type": "object", "required": ["tags"], "properties": {
            "tags": {"type": "array", "items": {"type": "string"}}}}),
        "/media/{media_id}": _paths(_ref("Media"), "media_id"),
        "/owners/{owner_id}": _paths(_ref("Owner"), "owner_id"),
        "/posts": {**_get({"type": "array", "items": _ref("Post")}),
                   "post": {"requestBody": {"content": {"application/json": {"schema": {"oneOf": [
                       {"type": "object", "properties": {"text": {"type": "string"}, "owner_uuid": {"type": "string"}}},
                       {"type": "object", "required": ["media_ids"], "properties": {
                           "media_ids": {"type": "array", "items": {"type": "string"}}}}]}}}},
                       "responses": {"200": {"description": "ok", "content": {"application/json": {
                           "schema": _ref("Post")}}}}}},
        "/posts/{post_id}": _paths(_ref("Post"), "post_id"),
    },
    "components": {"schemas": {
        "Media": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"},
                                                                      "url": {"type": "string"}}},
        "Owner": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}},
        "Post": {"type": "object", "required": ["id", "tagList"], "properties": {
            "id": {"type": "integer"}, "text": {"type": "string"},
            "tagList": {"type": "array", "items": {"type": "string"}},
            "cover": {"type": "object", "properties": {"media_id": {"type": "string"}}},
            "draft": {"type": "object", "properties": {"media_id": {"type": "string", "pattern": "^D[0-9]{3}$"}}}}},
    }},
}


def test_values_listed_by_a_path_are_entities_that_fields_named_for_them_hold(app_client, tmp_path) -> None:
    spec = tmp_path / "values.yaml"
    spec.write_text(yaml.safe_dump(VALUES))
    client = app_client(spec=spec)
    links = {r["id"]: r for r in client.get("/api/v1/consistency/world").json()["relationships"]}
    assert links["post.tagList->tag"]["used_as"] == "reference"
    tags = client.get("/tags").json()["tags"]
    assert len(tags) == 20
    assert tags[:3] == ["frost1", "onyx2", "maple3"]
    posts = client.get("/posts").json()
    assert posts[0]["tagList"] == ["flint5"]
    assert all(tag in tags for post in posts for tag in post["tagList"])


def test_a_key_only_a_write_sends_is_a_reference(app_client, tmp_path) -> None:
    spec = tmp_path / "values.yaml"
    spec.write_text(yaml.safe_dump(VALUES))
    client = app_client(spec=spec)
    links = {r["id"]: r for r in client.get("/api/v1/consistency/world").json()["relationships"]}
    assert links["post.media_ids->media"]["kind"] == "has_many"
    assert links["post.media_ids->media"]["evidence"] == ["field post.media_ids names media (a key its writes send)"]
    assert "post.owner_uuid->owner" not in links   # a string key cannot hold the integer ids of owners


def test_check_resolves_values_at_the_world_s_own_entity_api(tmp_path) -> None:
    spec = tmp_path / "values.yaml"
    spec.write_text(yaml.safe_dump(VALUES))
    report = run_check(str(spec))
    assert report.counts["links"] == [10, 10]
    assert report.status_5xx == 0


def test_a_deep_key_whose_pattern_refuses_the_target_s_ids_is_reported(app_client, tmp_path) -> None:
    spec = tmp_path / "values.yaml"
    spec.write_text(yaml.safe_dump(VALUES))
    client = app_client(spec=spec)
    links = {r["id"]: r for r in client.get("/api/v1/consistency/world").json()["relationships"]}
    assert links["post.cover.media_id->media"]["used_as"] == "reference"
    assert links["post.draft.media_id->media"]["used_as"] == "reported"
    assert links["post.draft.media_id->media"]["note"] == \
        "not filled: media ids do not fit post.draft.media_id's schema"
    post = client.get("/posts").json()[0]
    assert client.get(f"/media/{post['cover']['media_id']}").status_code == 200
    assert re.fullmatch("D[0-9]{3}", post["draft"]["media_id"])


def test_a_deep_link_into_a_shared_embedded_rendering_changes_only_its_own_copy(app_client) -> None:
    client = app_client(auth_check=False, spec=SPECS / "slack.json")
    channels = client.get("/conversations.list", params={"token": "x"}).json()["channels"]
    shared = channels[1]
    assert shared["id"] == "CMP4GUUYCFP" and shared["shares"][0]["accepted_user"] == "UDLUVOHID1M"
    for channel in channels[:3]:
        one = client.get("/conversations.info", params={"token": "x", "channel": channel["id"]}).json()["channel"]
        assert one["shares"] == channel["shares"]


FREE_LIST = {
    "openapi": "3.1.0",
    "info": {"title": "Free-form lists", "version": "1"},
    "paths": {
        "/people": _get({"type": "object", "required": ["people"], "properties": {
            "people": {"type": "array", "items": {"type": "object"}}}}),
        "/people/{person_id}": _paths(_ref("Person"), "person_id"),
    },
    "components": {"schemas": {
        "Person": {"type": "object", "required": ["id", "email"], "properties": {
            "id": {"type": "string"}, "email": {"type": "string", "format": "email"}}},
    }},
}


def test_a_list_of_free_form_objects_shows_the_entities_with_their_own_fields(app_client, tmp_path) -> None:
    spec = tmp_path / "free.yaml"
    spec.write_text(yaml.safe_dump(FREE_LIST))
    client = app_client(spec=spec)
    people = client.get("/people").json()["people"]
    assert len(people) == 50
    assert client.get(f"/people/{people[0]['id']}").json() == people[0]
    assert set(people[0]) == {"id", "email"}
