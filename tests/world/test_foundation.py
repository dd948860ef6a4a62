"""The built-in commerce world over HTTP: coherence, realism, state, workspaces, errors."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from conftest import run_main

PROBLEM = "application/problem+json"


def without_embeds(body: dict, *names: str) -> dict:
    return {k: v for k, v in body.items() if k not in names}


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- coherence -----------------------------------------------------------------------------
def test_user_orders_agree_everywhere(server):
    c = server.client
    user = c.get("/users/123").json()
    embedded = user["orders"]
    assert [o["id"] for o in embedded][:3] == [123001, 123002, 123003]
    assert c.get("/users/123/orders").json() == embedded
    assert c.get("/orders", params={"userId": 123}).json() == embedded
    assert c.get("/orders", params={"user_id": "123"}).json() == embedded
    consistency = c.get("/api/v1/consistency/users/123/orders").json()
    assert consistency == {"user_id": 123, "orders": embedded, "count": len(embedded)}
    for order in embedded:
        assert c.get(f"/orders/{order['id']}").json()["total"] == order["total"]


def test_order_embeds_the_same_user(server):
    c = server.client
    user = without_embeds(c.get("/users/123").json(), "orders")
    order = c.get("/orders/123002").json()
    assert order["user_id"] == 123
    assert order["user"] == user
    full = c.get("/api/v1/consistency/orders/123002").json()
    assert full["user"] == user
    assert full["payments"] == c.get("/orders/123002/payments").json()
    assert full["items"] == order["items"] == c.get("/orders/123002/items").json()


def test_consistency_user_embeds_orders_and_devices(server):
    c = server.client
    full = c.get("/api/v1/consistency/users/7").json()
    assert full["orders"] == c.get("/users/7/orders").json()
    assert full["devices"] == c.get("/users/7/devices").json()
    assert without_embeds(full, "orders", "devices") == without_embeds(c.get("/users/7").json(), "orders")


def test_child_ids_encode_their_parent(server):
    c = server.client
    for user_id in (1, 123, 999):
        for order in c.get(f"/users/{user_id}/orders").json():
            assert order["id"] // 1000 == user_id
            for item in c.get(f"/orders/{order['id']}/items").json():
                assert item["id"] // 100 == order["id"] and item["order_id"] == order["id"]
            for payment in c.get(f"/orders/{order['id']}/payments").json():
                assert payment["id"] // 100 == order["id"]
        for device in c.get(f"/users/{user_id}/devices").json():
            assert device["id"] // 100 == user_id


# -- realism -------------------------------------------------------------------------------
def test_values_agree_with_each_other(server):
    c = server.client
    real_now = datetime.now(UTC)
    for user_id in (1, 2, 3, 42, 123, 500, 1000):
        user = c.get(f"/users/{user_id}").json()
        local = user["email"].split("@")[0]
        first, last = user["first_name"].lower(), user["last_name"].lower()
        assert local.startswith(first.replace(" ", "")[:3]) and last.replace(" ", "").replace("'", "")[:3] in local
        assert user["name"] == f"{user['first_name']} {user['last_name']}"
        signup = ts(user["created_at"])
        assert signup <= real_now
        for order in user["orders"]:
            detail = c.get(f"/orders/{order['id']}").json()
            assert round(sum(i["quantity"] * i["unit_price"] for i in detail["items"]), 2) == detail["total"]
            assert all(i["currency"] == detail["currency"] for i in detail["items"])
            assert detail["item_count"] == len(detail["items"])
            assert ts(order["created_at"]) > signup
            for payment in c.get(f"/orders/{order['id']}/payments").json():
                assert (payment["amount"], payment["currency"]) == (detail["total"], detail["currency"])
                assert ts(payment["created_at"]) > ts(order["created_at"])
                assert ts(payment["created_at"]) <= real_now


def test_population_is_lazy_and_bounded(server):
    c = server.client
    assert c.get("/users/1000").status_code == 200
    for missing in ("/users/1001", "/users/0", "/orders/1001001", "/orders/123999", "/payments/12300299"):
        r = c.get(missing)
        assert r.status_code == 404, missing
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["status"] == 404
    r = c.get("/users", params={"_page": 2, "_per_page": 20})
    assert [u["id"] for u in r.json()] == list(range(21, 41))
    assert r.headers["x-total-count"] == "1000"
    assert 'rel="next"' in r.headers["link"] and "_page=3" in r.headers["link"]


# -- determinism ---------------------------------------------------------------------------
REQUESTS = ["/users/1", "/users/123", "/users/123/orders", "/orders?userId=5", "/users/9/devices",
            "/users?_page=3&_per_page=5", "/orders?_page=2&_per_page=7", "/api/v1/consistency/users/77"]


def test_same_seed_same_bytes_across_processes(start_server, app_client):
    """A server process and the app in this test process (another interpreter, another hash seed)."""
    a = start_server(seed="7")
    b = app_client(seed=7)
    other = app_client(seed=8)
    order = next(o for u in range(1, 50) for o in a.client.get(f"/users/{u}/orders").json())["id"]
    paths = REQUESTS + [f"/orders/{order}", f"/orders/{order}/items", f"/orders/{order}/payments",
                        f"/api/v1/consistency/orders/{order}", f"/payments/{order * 100 + 1}"]
    for path in paths:
        ra, rb = a.client.get(path), b.get(path)
        assert ra.status_code == 200, path
        assert ra.content == rb.content, path
    assert a.client.get("/users/1").content != other.get("/users/1").content


# -- state ---------------------------------------------------------------------------------
def test_created_order_appears_everywhere_and_survives_restart(app_server):
    s = app_server()
    c = s.client
    r = c.post("/orders", json={"userId": "123", "status": "pending", "currency": "EUR"})
    assert r.status_code == 201
    order = r.json()
    assert order["user_id"] == 123 and order["total"] == 0.0 and r.headers["location"] == f"/orders/{order['id']}"
    item = c.post("/order_items", json={"order_id": order["id"], "quantity": 3, "unit_price": 12.5}).json()
    assert item["currency"] == "EUR"
    assert c.get(f"/orders/{order['id']}").json()["total"] == 37.5
    assert order["id"] in [o["id"] for o in c.get("/users/123/orders").json()]
    assert order["id"] in [o["id"] for o in c.get("/users/123").json()["orders"]]
    assert order["id"] in [o["id"] for o in c.get("/orders?userId=123").json()]
    before = c.get("/users/123").content
    s.restart()
    assert c.get("/users/123").content == before
    assert c.get(f"/orders/{order['id']}").json()["total"] == 37.5


def test_delete_cascades_everywhere(app_server):
    c = app_server().client
    orders = c.get("/users/50/orders").json()
    first = orders[0]["id"]
    assert c.delete(f"/orders/{first}").status_code == 204
    assert c.get(f"/orders/{first}").status_code == 404
    assert c.get(f"/orders/{first}/items").status_code == 404
    assert c.get(f"/order_items/{first * 100 + 1}").status_code == 404
    assert c.get(f"/payments/{first * 100 + 1}").status_code == 404
    assert [o["id"] for o in c.get("/users/50/orders").json()] == [o["id"] for o in orders[1:]]
    assert [o["id"] for o in c.get("/users/50").json()["orders"]] == [o["id"] for o in orders[1:]]
    devices = c.get("/users/50/devices").json()
    assert c.delete("/users/50").status_code == 204
    for path in ["/users/50", f"/orders/{orders[1]['id']}", "/users/50/orders", "/orders?userId=50"][:3]:
        assert c.get(path).status_code == 404, path
    assert c.get("/orders", params={"userId": 50}).json() == []
    for device in devices:
        assert c.get(f"/devices/{device['id']}").status_code == 404
    assert c.get("/users", params={"_per_page": 1}).headers["x-total-count"] == "999"


def test_patch_and_put_change_what_every_endpoint_shows(app_server):
    c = app_server().client
    r = c.patch("/users/10", json={"first_name": "Ada"})
    assert r.status_code == 200 and r.json()["first_name"] == "Ada"
    assert c.get("/orders/10001").json()["user"]["first_name"] == "Ada"
    c.patch("/order_items/1000101", json={"quantity": 5, "unit_price": 2.0})
    order = c.get("/orders/10001").json()
    assert round(sum(i["quantity"] * i["unit_price"] for i in order["items"]), 2) == order["total"]
    assert c.get("/payments/1000101").json()["amount"] == order["total"]


def test_register_entity_links_by_foreign_key(app_server):
    c = app_server().client
    r = c.post("/api/v1/consistency/entities", json={
        "entity_type": "device", "entity_id": "9001", "data": {"userId": "12", "platform": "ios"}})
    assert r.status_code == 201
    assert r.json()["ref"] == "device:9001"
    assert c.get("/api/v1/consistency/entities/device/9001").json()["data"]["user_id"] == 12
    assert 9001 in [d["id"] for d in c.get("/users/12/devices").json()]
    graph = c.get("/api/v1/consistency/graph/user:12", params={"type": "device", "relationship": "has_devices"}).json()
    assert "device:9001" in [n["ref"] for n in graph["nodes"]]
    near = c.get("/api/v1/consistency/graph/user:12", params={"type": "payment", "depth": 1}).json()
    assert near["nodes"] == []
    deep = c.get("/api/v1/consistency/graph/user:12", params={"type": "payment", "depth": 2}).json()
    order_ids = {o["id"] for o in c.get("/users/12/orders").json()}
    assert {n["data"]["order_id"] for n in deep["nodes"]} == order_ids


# -- workspaces ----------------------------------------------------------------------------
def test_workspaces_are_isolated(app_server):
    c = app_server().client
    a = c.get("/users/1", headers={"X-Mockverse-Workspace": "team-a"})
    b = c.get("/users/1?workspace=team-b")
    assert a.headers["x-mockverse-workspace"] == "team-a" and b.headers["x-mockverse-workspace"] == "team-b"
    assert a.headers["x-mockverse-persona"] == "user:1"
    assert a.content == b.content == c.get("/users/1").content   # one world: the server's, byte for byte
    created = c.post("/users", json={"first_name": "Grace", "last_name": "Hopper"},
                     headers={"X-Mockverse-Workspace": "team-a"}).json()
    assert c.get(f"/users/{created['id']}", headers={"X-Mockverse-Workspace": "team-a"}).status_code == 200
    assert c.get(f"/users/{created['id']}", headers={"X-Mockverse-Workspace": "team-b"}).status_code == 404
    assert c.get(f"/users/{created['id']}").status_code == 404
    r = c.get("/users/1", headers={"X-Mockverse-Workspace": "bad workspace!"})
    assert r.status_code == 400 and r.json()["field"] == "workspace"


# -- expected of any mock server -----------------------------------------------------------
def test_cors_preflight_and_headers(server):
    r = server.client.options("/users/1", headers={"Origin": "http://localhost:5173",
                                                   "Access-Control-Request-Method": "POST"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"
    r = server.client.get("/users/1", headers={"Origin": "http://localhost:5173"})
    assert r.headers["access-control-allow-origin"] == "*"
    # a browser script can read what mockverse says about a response, not only the body
    exposed = [h.strip() for h in r.headers["access-control-expose-headers"].split(",")]
    assert exposed == ["X-Mockverse-Workspace", "X-Mockverse-Persona", "X-Mockverse-Lifecycle", "X-Mockverse-Source",
                       "X-Mockverse-Reality", "X-Mockverse-Request-Id", "X-Mockverse-Text", "X-Mockverse-Generator",
                       "Preference-Applied", "X-Total-Count", "Link"]


def test_request_journal(app_server):
    s = app_server()
    c = s.client
    c.get("/users/1")
    c.post("/orders", json={"user_id": 1})
    c.get("/users/404404")
    entries = c.get("/api/v1/requests", params={"method": "POST"}).json()["requests"]
    assert [(e["method"], e["path"], e["status"], e["workspace"], e["source"]) for e in entries] == [
        ("POST", "/orders", 201, "default", "synthetic")]
    assert c.get("/api/v1/requests", params={"status": 404}).json()["count"] == 1
    assert c.delete("/api/v1/requests").json() == {"cleared": 3}
    assert c.get("/api/v1/requests").json()["count"] == 0
    log = s.log()
    assert "GET /users/1 -> 200" in log and "POST /orders -> 201" in log


# -- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize("method,path,body,status,field", [
    ("post", "/orders", b"{not json", 400, "body"),
    ("post", "/orders", b'{"user_id": true}', 422, "$.user_id"),
    ("post", "/orders", b'{"user_id": 5000}', 422, "user_id"),
    ("post", "/orders", b'{"status": "pending"}', 422, "$.user_id"),
    ("post", "/orders", b'[1, 2]', 422, "body"),
    ("post", "/orders", b'{"user_id": 1, "status": "lost"}', 422, "$.status"),
    ("get", "/users/abc", None, 400, "id"),
    ("post", "/api/v1/consistency/entities", b'{"entity_type": "spaceship", "data": {}}', 422, "entity_type"),
    ("post", "/api/v1/consistency/entities", b'{"entity_type": "order", "data": []}', 422, "data"),
    ("get", "/api/v1/consistency/graph/user-123", None, 400, "ref"),
    ("get", "/api/v1/consistency/graph/planet:1", None, 422, "ref"),
    ("get", "/api/v1/consistency/graph/user:99999", None, 404, "ref"),
    ("get", "/users?_page=0", None, 400, "_page"),
    ("get", "/nowhere", None, 404, "path"),
])
def test_bad_input_gets_problem_json(server, method, path, body, status, field):
    r = server.client.request(method.upper(), path, content=body,
                              headers={"content-type": "application/json"} if body else {})
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["field"] == field


def test_cli_version_and_module():
    out = subprocess.run([sys.executable, "-m", "mockverse", "version"], capture_output=True, text=True)
    assert out.stdout.strip() == "mockverse 0.1.0"
    code, help_text, _ = run_main("serve", "--help")
    assert code == 0
    for flag in ("--host", "--port", "--config", "--spec", "--store", "--seed", "--log-level"):
        assert flag in help_text
