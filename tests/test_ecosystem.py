"""Fits the Python ecosystem: the pytest plugin and the embeddable World."""

from __future__ import annotations

import asyncio

import httpx

from mockverse import World


def test_plugin_gives_a_user_test_a_server_without_manual_start(pytester):
    pytester.makepyfile(test_billing="""
        def test_churn_risk_billing(mockverse):
            mockverse.persona("user:123").set_state("ChurnRisk")
            body = mockverse.get("/users/123/billing").json()
            assert body["billing_status"] == "active"
            assert body["discount_offer_available"] is True
            mockverse.clock.advance("31d")
            assert mockverse.get("/users/123").json()["lifecycle_state"] == "Churned"
            mockverse.post("/orders", json={"user_id": 7})
            sent = mockverse.requests(path="/orders", method="POST")
            assert [(r["method"], r["path"], r["status"]) for r in sent] == [("POST", "/orders", 201)]
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_plugin_ini_options_share_one_server_per_module(pytester):
    pytester.makeini("[pytest]\nmockverse_seed = 9\nmockverse_scope = module\n")
    pytester.makepyfile(test_seed="""
        import httpx
        def test_one(mockverse):
            assert mockverse.get("/users/1").status_code == 200
            globals()["URL"] = mockverse.url
        def test_same_server_for_the_module(mockverse):
            assert mockverse.url == URL
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


PATHS = ["/users/1", "/users/123", "/users/123/orders", "/orders/123001", "/users/9/billing",
         "/api/v1/consistency/users/77", "/users?_page=2&_per_page=5"]


def test_embedded_world_serves_the_cli_servers_bytes(start_server):
    server = start_server(seed="7")
    world = World.from_spec(None, seed=7)

    async def fetch() -> list[bytes]:
        transport = httpx.ASGITransport(app=world.asgi_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            return [(await client.get(path)).content for path in PATHS]

    embedded = asyncio.run(fetch())
    over_socket = [server.client.get(path).content for path in PATHS]
    assert embedded == over_socket
    assert world.engine.find_related_entities("default", "user:123", "order", "has_orders") == \
        server.client.get("/users/123/orders").json()
