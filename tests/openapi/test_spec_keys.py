"""Parents keyed by something other than the id, and list and item answers that agree.

In process (``app_client``) over small specs written here: a path parameter naming alternative
keys (``service_id_or_name``) serves the entity whose id or name equals the value, the same one
its lists show, and its nested list by either key; an item path whose response is a list answers
that one entity; a list whose schema shows one entity but whose example shows an envelope lists
the world's entities; a stored field shown in a narrower schema shows what that schema declares.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mockverse.openapi.infer import key_param

SERVICE = {"type": "object", "required": ["id", "name"],
           "properties": {"id": {"type": "string", "format": "uuid"}, "name": {"type": "string"},
                          "host": {"type": "string"}}}
ROUTE = {"type": "object", "required": ["id", "service_id"],
         "properties": {"id": {"type": "string", "format": "uuid"}, "name": {"type": "string"},
                        "service_id": {"type": "string", "format": "uuid"}}}


def _page(ref: str) -> dict:
    return {"type": "object", "properties": {"data": {"type": "array", "items": {"$ref": ref}},
                                             "next": {"type": "string", "nullable": True}}}


def _ok(schema: dict, example: object = None) -> dict:
    media: dict = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"200": {"description": "ok", "content": {"application/json": media}}}


SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Gateway", "version": "1"},
    "paths": {
        "/services": {
            "get": {"responses": _ok(_page("#/components/schemas/Service"))},
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"name": {"type": "string"}, "host": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {
                    "201": {
                        "description": "created",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Service"}}},
                    }
                },
            },
        },
        "/services/{service_id_or_name}": {
            "parameters": [
                {"name": "service_id_or_name", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "get": {"responses": _ok({"$ref": "#/components/schemas/Service"})},
            "patch": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"type": "object", "properties": {"name": {"type": "string"}}}}
                    },
                },
                "responses": _ok({"$ref": "#/components/schemas/Service"}),
            },
        },
        "/services/{service_id_or_name}/routes": {
            "parameters": [
                {"name": "service_id_or_name", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "get": {"responses": _ok(_page("#/components/schemas/Route"))},
        },
        "/routes/{route_name_or_id}": {
            "parameters": [{"name": "route_name_or_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"responses": _ok(_page("#/components/schemas/Route"))},
        },
        "/plugins": {
            "get": {
                "responses": _ok(
                    {"$ref": "#/components/schemas/Plugin"},
                    {"data": [{"id": "9d5a0b5e-1111-4111-8111-111111111111", "name": "rate-limiting"}], "next": None},
                )
            }
        },
        "/plugins/{plugin_id}": {
            "parameters": [{"name": "plugin_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"responses": _ok({"$ref": "#/components/schemas/Plugin"})},
        },
    },
    "components": {
        "schemas": {
            "Service": SERVICE,
            "Route": ROUTE,
            "Plugin": {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "string", "format": "uuid"}, "name": {"type": "string"}},
            },
        }
    },
}

SUMMARY_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Shelves", "version": "1"},
    "paths": {
        "/shelves": {
            "get": {"responses": _ok({"type": "array", "items": {"$ref": "#/components/schemas/ShelfSummary"}})}
        },
        "/shelves/{shelf_id}": {
            "parameters": [{"name": "shelf_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "get": {"responses": _ok({"$ref": "#/components/schemas/Shelf"})},
        },
    },
    "components": {
        "schemas": {
            "Shelf": {
                "type": "object",
                "required": ["id", "name", "books"],
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "books": {
                        "type": "object",
                        "required": ["href", "total", "items"],
                        "properties": {
                            "href": {"type": "string"},
                            "total": {"type": "integer"},
                            "items": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                        },
                    },
                },
            },
            "ShelfSummary": {
                "type": "object",
                "required": ["id", "name", "books"],
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "books": {
                        "type": "object",
                        "properties": {"href": {"type": "string"}, "total": {"type": "integer"}},
                    },
                },
            },
        }
    },
}


@pytest.fixture
def gateway(app_client, tmp_path: Path):
    path = tmp_path / "gateway.json"
    path.write_text(json.dumps(SPEC))
    return app_client(spec=path)


def test_a_parameter_naming_alternative_keys_names_its_type_by_the_stem():
    assert key_param("service_id_or_name") == ("service", ["id", "name"])
    assert key_param("consumer_username_or_id") == ("consumer", ["username", "id"])
    assert key_param("key-set_id_or_name") == ("key_set", ["id", "name"])
    assert key_param("name_or_title") is None
    assert key_param("userId") is None


def test_the_world_has_no_type_named_after_the_parameter(gateway):
    types = {t["name"]: t for t in gateway.get("/api/v1/consistency/world").json()["entity_types"]}
    assert sorted(types) == ["plugin", "route", "service"]
    assert types["service"]["id_param"] == "service_id_or_name"
    assert types["route"]["parent"]["type"] == "service"


def test_the_item_path_serves_the_entity_by_id_or_by_name(gateway):
    listed = gateway.get("/services").json()["data"][0]
    by_id = gateway.get(f"/services/{listed['id']}")
    by_name = gateway.get(f"/services/{listed['name']}")
    assert by_id.status_code == by_name.status_code == 200
    assert by_id.json() == by_name.json() == listed
    assert gateway.get("/services/summit999999").status_code == 404


def test_a_name_a_write_set_finds_the_entity(gateway):
    created = gateway.post("/services", json={"name": "edge-proxy", "host": "edge.internal"})
    assert created.status_code == 201
    assert gateway.get("/services/edge-proxy").json() == gateway.get(f"/services/{created.json()['id']}").json()
    listed = gateway.get("/services").json()["data"][1]
    renamed = gateway.patch(f"/services/{listed['name']}", json={"name": "billing-api"})
    assert renamed.status_code == 200 and renamed.json()["id"] == listed["id"]
    assert gateway.get("/services/billing-api").json()["id"] == listed["id"]
    assert gateway.get(f"/services/{listed['name']}").status_code == 404


def test_the_nested_list_by_name_is_the_nested_list_by_id(gateway):
    services = gateway.get("/services").json()["data"]
    with_routes = next(s for s in services if gateway.get(f"/services/{s['id']}/routes").json()["data"])
    by_id = gateway.get(f"/services/{with_routes['id']}/routes").json()["data"]
    by_name = gateway.get(f"/services/{with_routes['name']}/routes").json()["data"]
    assert by_id == by_name
    assert {r["service_id"] for r in by_id} == {with_routes["id"]}


def test_an_item_path_answering_a_list_answers_that_one_entity(gateway):
    services = gateway.get("/services").json()["data"]
    route = next(r for s in services for r in gateway.get(f"/services/{s['id']}/routes").json()["data"])
    assert gateway.get(f"/routes/{route['id']}").json()["data"] == [route]
    assert gateway.get(f"/routes/{route['name']}").json()["data"] == [route]


def test_a_list_whose_schema_is_one_entity_lists_the_world_in_the_example_envelope(gateway):
    body = gateway.get("/plugins").json()
    assert sorted(body) == ["data", "next"]
    assert "9d5a0b5e-1111-4111-8111-111111111111" not in {p["id"] for p in body["data"]}
    for plugin in body["data"]:
        assert gateway.get(f"/plugins/{plugin['id']}").json() == plugin


def test_a_stored_field_in_a_narrower_schema_shows_what_that_schema_declares(app_client, tmp_path: Path):
    path = tmp_path / "shelves.json"
    path.write_text(json.dumps(SUMMARY_SPEC))
    client = app_client(spec=path)
    listed = client.get("/shelves").json()
    assert listed
    for summary in listed:
        assert sorted(summary["books"]) == ["href", "total"]
        full = client.get(f"/shelves/{summary['id']}").json()
        assert sorted(full["books"]) == ["href", "items", "total"]
        assert {k: full["books"][k] for k in ("href", "total")} == summary["books"]
        assert full["name"] == summary["name"]


NESTED_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Hosting", "version": "1"},
    "paths": {
        "/sites": {"get": {"responses": _ok({"type": "array", "items": {"$ref": "#/components/schemas/Site"}})}},
        "/sites/{site_id}": {
            "parameters": [{"name": "site_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"responses": _ok({"$ref": "#/components/schemas/Site"})},
        },
        "/sites/{site_id}/dns": {
            "parameters": [{"name": "site_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"responses": _ok({"type": "array", "items": {"$ref": "#/components/schemas/DnsZone"}})},
        },
        "/sites/{site_id}/hooks": {
            "parameters": [{"name": "site_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"responses": _ok({"type": "array", "items": {"$ref": "#/components/schemas/Hook"}})},
        },
        "/dns_zones": {"get": {"responses": _ok({"type": "array", "items": {"$ref": "#/components/schemas/DnsZone"}})}},
        "/dns_zones/{zone_id}": {
            "parameters": [{"name": "zone_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"responses": _ok({"$ref": "#/components/schemas/DnsZone"})},
        },
        "/hooks": {"get": {"responses": _ok({"type": "array", "items": {"$ref": "#/components/schemas/Hook"}})}},
        "/hooks/{hook_id}": {
            "parameters": [{"name": "hook_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"responses": _ok({"$ref": "#/components/schemas/Hook"})},
        },
    },
    "components": {
        "schemas": {
            "Site": {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
            },
            "DnsZone": {
                "type": "object",
                "required": ["id", "site_id"],
                "properties": {"id": {"type": "string"}, "site_id": {"type": "string"}, "name": {"type": "string"}},
            },
            "Hook": {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "string"}, "site_id": {"type": "string"}, "url": {"type": "string"}},
            },
        }
    },
}


@pytest.fixture
def hosting(app_client, tmp_path: Path):
    path = tmp_path / "hosting.json"
    path.write_text(json.dumps(NESTED_SPEC))
    config = tmp_path / "hosting.yaml"
    config.write_text("world:\n  entities:\n    hook: {parent: null}\n")   # hooks: top-level, keyed to a site
    return app_client(spec=path, config=config)


def test_a_nested_list_of_the_children_lists_exactly_that_parents_children(hosting):
    types = {t["name"]: t for t in hosting.get("/api/v1/consistency/world").json()["entity_types"]}
    assert types["dns_zone"]["parent"]["type"] == "site"
    listed = 0
    for site in hosting.get("/sites").json()[:6]:
        zones = hosting.get(f"/sites/{site['id']}/dns").json()
        assert {z["site_id"] for z in zones} <= {site["id"]}
        for zone in zones:
            assert hosting.get(f"/dns_zones/{zone['id']}").json() == zone
        listed += len(zones)
    assert listed > 0


def test_a_nested_list_of_another_type_lists_those_whose_key_names_the_parent(hosting):
    types = {t["name"]: t for t in hosting.get("/api/v1/consistency/world").json()["entity_types"]}
    assert types["hook"]["parent"] is None
    assert [r["field"] for r in types["hook"]["references"]] == ["site_id"]
    listed, sites = [], hosting.get("/sites").json()
    for site in sites:
        hooks = hosting.get(f"/sites/{site['id']}/hooks").json()
        assert {h["site_id"] for h in hooks} <= {site["id"]}
        for hook in hooks:
            assert hosting.get(f"/hooks/{hook['id']}").json() == hook
        listed += [h["id"] for h in hooks]
    assert len(listed) == len(set(listed)) > 0
    shown = {s["id"] for s in sites}
    keyed = [h["id"] for h in hosting.get("/hooks").json() if h["site_id"] in shown]
    assert keyed and set(keyed) <= set(listed)


PEOPLE_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Forge", "version": "1"},
    "paths": {
        "/users": {"get": {"responses": _ok({"type": "array", "items": {"$ref": "#/components/schemas/User"}})}},
        "/users/{username}": {
            "parameters": [{"name": "username", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"responses": _ok({"$ref": "#/components/schemas/User"})}},
    },
    "components": {"schemas": {"User": {"type": "object", "required": ["id", "login"], "properties": {
        "id": {"type": "integer"}, "login": {"type": "string"}, "full_name": {"type": "string"}}}}},
}


def test_a_username_path_serves_the_user_whose_login_it_is(app_client, tmp_path: Path):
    path = tmp_path / "forge.json"
    path.write_text(json.dumps(PEOPLE_SPEC))
    client = app_client(spec=path)
    users = client.get("/users").json()
    assert [u["id"] for u in users[:3]] == [1, 2, 3]
    for user in users[:3]:
        assert client.get(f"/users/{user['login']}").json() == user
    assert client.get("/users/nobody").status_code == 404
