"""Fits the Python ecosystem: the pytest plugin and the embeddable World."""

from __future__ import annotations

import asyncio

import httpx

from mockverse import World


def _email_of_user_1(world: World) -> str:
    """What ``GET /users/1`` answers as the email in a world's default workspace."""
    return world.engine.view("default").get(world.engine.model.types["user"], 1)["email"]


def test_plugin_gives_each_test_its_own_workspace_of_one_world(pytester):
    pytester.makepyfile(test_billing="""
        import pytest

        def test_churn_risk_billing(mockverse):
            assert mockverse.url == "http://mockverse"          # in process: no socket, no server process
            mockverse.persona("user:123").set_state("ChurnRisk")
            body = mockverse.get("/users/123/billing").json()
            assert body["billing_status"] == "active"
            assert body["discount_offer_available"] is True
            mockverse.clock.advance("31d")
            assert mockverse.get("/users/123").json()["lifecycle_state"] == "Churned"
            mockverse.post("/orders", json={"user_id": 7})
            sent = mockverse.requests(path="/orders", method="POST")
            assert [(r["method"], r["path"], r["status"]) for r in sent] == [("POST", "/orders", 201)]

        def test_the_next_test_sees_none_of_it(mockverse):
            assert mockverse.get("/users/123").json()["lifecycle_state"] != "Churned"
            assert mockverse.clock.now == "2026-01-01T00:00:00Z"
            assert mockverse.requests(path="/orders", method="POST") == []
            default = mockverse.get("/users/7/orders", headers={"X-Mockverse-Workspace": "default"})
            assert mockverse.get("/users/7/orders").content == default.content   # same base world

        def test_reset_in_a_test(mockverse):
            created = mockverse.post("/orders", json={"user_id": 7}).json()
            mockverse.reset()
            assert mockverse.get(f"/orders/{created['id']}").status_code == 404

        @pytest.mark.mockverse(seed=7)
        def test_a_marker_picks_another_world(mockverse):
            assert mockverse.get("/users/1").json()["email"] == EMAIL_7

        def test_live_serves_on_a_port(mockverse_live):
            assert mockverse_live.url.startswith("http://127.0.0.1:")
            mockverse_live.post("/orders", json={"user_id": 7})
            assert len(mockverse_live.requests(path="/orders", method="POST")) == 1
            globals()["LIVE"] = (mockverse_live.url, mockverse_live.workspace)

        def test_live_is_one_process_with_a_fresh_workspace_per_test(mockverse_live):
            url, workspace = LIVE
            assert mockverse_live.url == url and mockverse_live.workspace != workspace
            assert mockverse_live.requests(path="/orders", method="POST") == []
    """.replace("EMAIL_7", repr(_email_of_user_1(World.builtin(seed=7)))))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")   # the plugin itself serves no socket
    result.assert_outcomes(passed=6)


# pytest plugins of this venv that the tests below do not use: each of the three processes of a run would
# import them (schemathesis, hypothesis and faker: most of a second of CPU a process)
UNRELATED_PLUGINS = ("-p", "no:schemathesis", "-p", "no:hypothesispytest", "-p", "no:faker")


def test_plugin_runs_under_xdist_with_tests_isolated(pytester):
    pytester.makeini("[pytest]\nmockverse_seed = 9\n")
    tests = "\n".join(f"""
def test_order_{n}(mockverse):
    created = mockverse.post("/orders", json={{"user_id": {n + 1}}})
    assert created.status_code == 201
    assert created.json()["id"] == FIRST_ID          # the first order created in this test's workspace
    assert mockverse.get(f"/orders/{{created.json()['id']}}").json()["user_id"] == {n + 1}
    assert mockverse.get("/users/1").json()["email"] == EMAIL_9
""" for n in range(8))
    seeded = World.builtin(seed=9).engine
    first_id = seeded.create("probe", "order", {"user_id": 1})["id"]
    email = seeded.view("default").get(seeded.model.types["user"], 1)["email"]
    pytester.makepyfile(test_many=f"FIRST_ID = {first_id!r}\nEMAIL_9 = {email!r}\n" + tests)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *UNRELATED_PLUGINS, "-n", "2")
    result.assert_outcomes(passed=8)


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


def test_world_client_is_a_sync_client_per_workspace():
    with World.builtin(seed=7) as world:
        team, default = world.client(workspace="team-a"), world.client()
        assert team.get("/users/1").content == default.get("/users/1").content
        assert team.get("/users/1").headers["x-mockverse-workspace"] == "team-a"
        created = team.post("/orders", json={"user_id": 1})
        assert created.status_code == 201
        assert team.get(f"/orders/{created.json()['id']}").status_code == 200
        assert default.get(f"/orders/{created.json()['id']}").status_code == 404
        assert default.get("/nope").json()["field"] == "path"
