"""Facets: a sub-resource answering one object per entity (``/users/{id}/support``) is part of that entity.

Inference reads a path under an entity as a list of a type only when its answer lists something:
an array, or an envelope holding its array under the path's word or a generic key. An object
with fields of its own (``support_tier``) holding an array named otherwise (``tickets``), and no
item path beneath, is a facet of the entity it sits under: no type of its own, served from that
entity, the same bytes every time.
"""

from __future__ import annotations

import json
from pathlib import Path

from mockverse.openapi import InferredWorld, infer_world, load_spec
from mockverse.openapi.shapes import is_facet

INT = {"type": "integer"}
STR = {"type": "string"}
CURRENCY = {"type": "string", "enum": ["EUR", "GBP", "JPY", "USD"]}


def _ok(schema: dict) -> dict:
    return {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(*required: str, **props: dict) -> dict:
    return {"type": "object", "required": list(required), "properties": props}


def _array(items: dict) -> dict:
    return {"type": "array", "items": items}


def _get(schema: dict) -> dict:
    key = [{"name": "account_id", "in": "path", "required": True, "schema": INT}]
    return {"parameters": key, "get": {"responses": _ok(schema)}}


PATHS = {
    "/accounts": {"get": {"responses": _ok(_array(_ref("Account")))}},
    "/accounts/{account_id}": {**_get(_ref("Account")), "patch": {
        "requestBody": {"content": {"application/json": {"schema": _obj(name=STR, currency=CURRENCY)}}},
        "responses": _ok(_ref("Account"))}},
    "/accounts/{account_id}/support": _get(_ref("Support")),
    "/accounts/{account_id}/settings": _get(_ref("Settings")),
    "/accounts/{account_id}/cards": _get(_obj("cards", cards=_array(_ref("Card")), total_count=INT)),
    "/accounts/{account_id}/cards/{card_id}": {
        "parameters": [{"name": "account_id", "in": "path", "required": True, "schema": INT},
                       {"name": "card_id", "in": "path", "required": True, "schema": INT}],
        "get": {"responses": _ok(_ref("Card"))}},
    "/accounts/{account_id}/events": _get(_obj("data", data=_array(_ref("Event")), has_more={"type": "boolean"})),
}
SCHEMAS = {
    "Account": _obj("id", "name", "currency", id=INT, name=STR, currency=CURRENCY),
    "Support": _obj("account_id", "tier", "tickets", account_id=INT, tier={"type": "string", "enum": ["basic", "vip"]},
                    tickets=_array(_obj("id", "subject", id=STR, subject=STR))),
    "Settings": _obj("account_id", "theme", "currency", "notifications", account_id=INT, currency=CURRENCY,
                     theme={"type": "string", "enum": ["light", "dark"]},
                     notifications=_array(_obj("id", "channel", id=INT, channel=STR))),
    "Card": _obj("id", "account_id", "last4", id=INT, account_id=INT, last4=STR),
    "Event": _obj("id", "account_id", "kind", id=INT, account_id=INT, kind=STR),
}


def _spec(tmp_path: Path) -> Path:
    file = tmp_path / "facets.json"
    file.write_text(json.dumps({"openapi": "3.0.3", "info": {"title": "facets", "version": "1"}, "paths": PATHS,
                                "components": {"schemas": SCHEMAS}}))
    return file


def _infer(tmp_path: Path) -> InferredWorld:
    return infer_world(load_spec(_spec(tmp_path)))


def test_an_object_of_its_own_is_a_facet_and_a_list_envelope_is_not():
    tickets = _array(_obj("id", id=STR))
    assert is_facet(_obj(user_id=INT, support_tier=STR, tickets=tickets), "support") is True
    assert is_facet(_obj(user_id=INT, billing_status=STR), "billing") is True
    assert is_facet(_obj(orders=_array(_obj(id=INT)), total_count=INT), "orders") is False
    assert is_facet(_obj(tracks=_array(_obj(id=INT))), "top-tracks") is False
    assert is_facet(_obj(data=_array(_obj(id=INT)), has_more={"type": "boolean"}, object=STR), "events") is False
    assert is_facet(_obj(users=_array(_obj(id=INT)), next_cursor=STR), "following") is False
    assert is_facet(_obj(names=_array(STR)), "topics") is True
    assert is_facet(_array(_obj(id=INT)), "timeline") is False


def test_a_singular_sub_resource_is_a_facet_of_its_entity_not_a_type(tmp_path):
    world = _infer(tmp_path)
    assert sorted(world.entity_types) == ["account", "card", "event"]
    assert sorted(r.id for r in world.relationships) == ["card.account_id->account", "event.account_id->account"]
    assert world.entity_types["account"].operations == [
        "GET /accounts", "GET /accounts/{account_id}", "PATCH /accounts/{account_id}",
        "GET /accounts/{account_id}/support", "GET /accounts/{account_id}/settings"]


def test_a_child_collection_with_an_item_path_or_a_list_envelope_is_still_a_type(tmp_path):
    world = _infer(tmp_path)
    card, event = world.entity_types["card"], world.entity_types["event"]
    assert (card.collection_path, card.item_path, card.schema_name) == (
        "/accounts/{account_id}/cards", "/accounts/{account_id}/cards/{card_id}", "Card")
    assert (event.collection_path, event.item_path, event.schema_name) == (
        "/accounts/{account_id}/events", None, "Event")


def test_a_sub_resource_answering_a_known_types_object_stays_that_type(tmp_path):
    """``/users/@me/guilds/{id}/member`` answers the caller's member, in a spelling of the member schema."""
    paths = {
        "/guilds/{guild_id}/members": {"get": {"responses": _ok(_array(_ref("Member")))}},
        "/guilds/{guild_id}/members/{user_id}": {"get": {"responses": _ok(_ref("Member"))}},
        "/users/@me/guilds/{guild_id}/member": {"get": {"responses": _ok(_ref("PrivateMember"))}},
    }
    member = {"user_id": INT, "nick": STR, "roles": _array(STR), "joined_at": STR}
    schemas = {"Member": _obj("user_id", **member), "PrivateMember": _obj("user_id", **member, banner=STR)}
    file = tmp_path / "members.json"
    file.write_text(json.dumps({"openapi": "3.0.3", "info": {"title": "m", "version": "1"}, "paths": paths,
                                "components": {"schemas": schemas}}))
    world = infer_world(load_spec(file))
    assert "GET /users/@me/guilds/{guild_id}/member" in world.entity_types["member"].operations


def test_a_facet_is_the_same_bytes_twice_and_agrees_with_its_entity(app_client, tmp_path):
    c = app_client(spec=_spec(tmp_path), auth_check=False)
    assert c.get("/accounts/4").json() == {"id": 4, "name": "Micheal Hartman", "currency": "JPY"}
    first, second = c.get("/accounts/4/settings"), c.get("/accounts/4/settings")
    assert first.status_code == 200 and first.content == second.content
    assert first.json() == {"account_id": 4, "currency": "JPY", "theme": "dark", "notifications": [
        {"id": 462, "channel": "Building each"}, {"id": 761, "channel": "Five store"},
        {"id": 805, "channel": "Down standard"}]}
    other = app_client(spec=_spec(tmp_path), auth_check=False)   # another store: the same world
    assert other.get("/accounts/4/settings").content == first.content
    assert c.get("/accounts/3").json()["currency"] == c.get("/accounts/3/settings").json()["currency"] == "GBP"
    assert c.get("/accounts/4/support").json()["account_id"] == 4
    assert c.patch("/accounts/4", json={"currency": "EUR"}).json()["currency"] == "EUR"
    assert c.get("/accounts/4/settings").json() == {**first.json(), "currency": "EUR"}   # written through its entity
    assert c.get("/accounts/999999/settings").status_code == 404
    world = c.get("/api/v1/consistency/world").json()
    assert sorted(t["name"] for t in world["entity_types"]) == ["account", "card", "event"]


def test_the_builtin_support_is_a_facet_of_the_user_without_an_exclusion(app_client):
    c = app_client()
    world = c.get("/api/v1/consistency/world").json()
    assert world["excluded"] == {"types": [], "relationships": []}
    assert [t["name"] for t in world["entity_types"]] == ["user", "device", "order", "order_item", "payment"]
    support = c.get("/users/3/support")
    assert support.content == (
        b'{"user_id":3,"open_tickets":1,"preferred_channel":"chat","tickets":[{"id":"MH94650672",'
        b'"subject":"Here place assume","body":"Consumer before mother let participant.","status":"pending",'
        b'"created_at":"2023-03-14T03:16:36Z"},{"id":"FM65329173","subject":"Kitchen window push including '
        b'interview","body":"Participant resource toward matter life. Hotel none agree cultural.","status":"solved",'
        b'"created_at":"2023-03-14T03:16:36Z"}],"support_tier":"standard"}')
    assert c.get("/users/3/support").content == support.content
    assert c.get("/users/3/billing").content == (
        b'{"user_id":3,"currency":"USD","payment_method":"paypal","next_billing_date":"2026-02-04",'
        b'"billing_status":"paid","subscription_type":"premium","billing_cycle":"monthly"}')


def test_a_facet_holding_a_known_types_items_still_lists_them(tmp_path):
    """``/users/{id}/support`` holding ``tickets`` of the ticket type: the user's tickets, nested under the user."""
    key = {"name": "user_id", "in": "path", "required": True, "schema": INT}
    paths = {
        "/users/{user_id}": {"parameters": [key], "get": {"responses": _ok(_ref("User"))}},
        "/users/{user_id}/support": {"parameters": [key], "get": {"responses": _ok(_ref("Support"))}},
        "/tickets": {"get": {"responses": _ok(_array(_ref("Ticket")))}},
        "/tickets/{ticket_id}": {"parameters": [{**key, "name": "ticket_id"}],
                                 "get": {"responses": _ok(_ref("Ticket"))}},
    }
    schemas = {"User": _obj("id", id=INT, name=STR), "Ticket": _obj("id", "subject", id=INT, subject=STR),
               "Support": _obj("tier", "tickets", tier=STR, tickets=_array(_ref("Ticket")))}
    file = tmp_path / "tickets.json"
    file.write_text(json.dumps({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": paths,
                                "components": {"schemas": schemas}}))
    world = infer_world(load_spec(file))
    assert sorted(world.entity_types) == ["ticket", "user"]
    assert [(r.id, r.kind, r.evidence) for r in world.relationships] == [
        ("user->ticket", "has_many", ["path nesting /users/{user_id}/support"])]


def test_a_facet_named_like_another_type_is_not_that_type(tmp_path):
    """``/repos/{id}/subscription`` answers the caller's watch of the repo, not one of the issue subscribers."""
    key = {"name": "repo_id", "in": "path", "required": True, "schema": INT}
    issue = {"name": "issue_id", "in": "path", "required": True, "schema": INT}
    paths = {
        "/repos/{repo_id}": {"parameters": [key], "get": {"responses": _ok(_ref("Repo"))}},
        "/repos/{repo_id}/subscription": {"parameters": [key], "get": {"responses": _ok(_ref("WatchInfo"))}},
        "/repos/{repo_id}/issues/{issue_id}": {"parameters": [key, issue], "get": {"responses": _ok(_ref("Issue"))}},
        "/repos/{repo_id}/issues/{issue_id}/subscriptions": {"parameters": [key, issue],
                                                             "get": {"responses": _ok(_array(_ref("User")))}},
    }
    schemas = {"Repo": _obj("id", id=INT, name=STR), "Issue": _obj("id", id=INT, title=STR),
               "User": _obj("id", id=INT, login=STR),
               "WatchInfo": _obj("subscribed", subscribed={"type": "boolean"}, reason=STR, repository_url=STR)}
    file = tmp_path / "watch.json"
    file.write_text(json.dumps({"openapi": "3.0.3", "info": {"title": "w", "version": "1"}, "paths": paths,
                                "components": {"schemas": schemas}}))
    world = infer_world(load_spec(file))
    assert sorted(world.entity_types) == ["issue", "repo", "subscription"]
    assert sorted(r.id for r in world.relationships) == ["issue->subscription", "repo->issue"]
    assert "GET /repos/{repo_id}/subscription" in world.entity_types["repo"].operations
