"""Stubs the WireMock way, in process: matching, priority over the world, times, scenarios,
templates that read the persona and the world, delays, and the request journal they feed."""

from __future__ import annotations

import pytest

from mockverse.http.admin import Journal
from mockverse.http.simulation import SimulatedFault


def stub(client, mapping: dict, workspace: str | None = None) -> dict:
    headers = {"X-Mockverse-Workspace": workspace} if workspace else {}
    r = client.post("/__admin/mappings", json=mapping, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_a_stub_answers_before_the_world_and_only_where_it_matches(app_client):
    c = app_client()
    c.get("/users/7")
    stub(c, {"request": {"method": "GET", "urlPath": "/users/7"},
             "response": {"status": 503, "jsonBody": {"error": "down"}, "headers": {"Retry-After": "3"}}})
    r = c.get("/users/7")
    assert (r.status_code, r.json(), r.headers["retry-after"]) == (503, {"error": "down"}, "3")
    assert r.headers["x-mockverse-source"] == "stub"
    assert r.headers["content-type"] == "application/json"
    assert c.get("/users/8").headers["x-mockverse-source"] == "synthetic"
    assert c.delete("/users/7").status_code == 204   # another method: the world deletes
    assert c.get("/users/7", headers={"X-Mockverse-Workspace": "other"}).headers["x-mockverse-source"] == "synthetic"
    assert c.get("/api/v1/stubs", headers={"X-Mockverse-Workspace": "other"}).json()["count"] == 0   # per workspace


@pytest.mark.parametrize("request_pattern, hits, misses", [
    ({"url": "/orders?status=paid"}, ["/orders?status=paid"], ["/orders?status=paid&x=1", "/orders"]),
    ({"urlPattern": r"/orders\?status=(paid|new)"}, ["/orders?status=new"], ["/orders?status=gone"]),
    ({"urlPathPattern": r"/users/[0-9]+/orders"}, ["/users/12/orders?x=1"], ["/users/ab/orders"]),
    ({"urlPath": "/orders", "queryParameters": {"status": {"equalTo": "PAID", "caseInsensitive": True}}},
     ["/orders?status=paid"], ["/orders?status=new", "/orders"]),
    ({"urlPath": "/orders", "queryParameters": {"debug": {"absent": True}}}, ["/orders"], ["/orders?debug=1"]),
])
def test_url_and_query_matching(app_client, tmp_path, request_pattern, hits, misses):
    """Which URLs a stub's URL and query patterns match; the world behind it is small (20 users), as a miss
    that the world answers scans its orders for the query's value and matching does not depend on their number."""
    config = tmp_path / "small.yaml"
    config.write_text("world:\n  entities:\n    user:\n      population: 20\n")
    c = app_client(config=config)
    stub(c, {"request": {"method": "GET", **request_pattern}, "response": {"status": 418}})
    assert [c.get(u).status_code for u in hits] == [418] * len(hits)
    assert ["x-mockverse-stub" in c.get(u).headers for u in misses] == [False] * len(misses)


def test_header_and_body_matching(app_client):
    c = app_client()
    stub(c, {"request": {"method": "POST", "urlPath": "/orders",
                         "headers": {"X-Tenant": {"matches": "acme-[0-9]+"}},
                         "bodyPatterns": [{"matchesJsonPath": "$.items[?(@.qty > 3)]"},
                                          {"equalToJson": {"user_id": 1}, "ignoreExtraElements": True},
                                          {"contains": "sku-9"}]},
             "response": {"status": 202, "body": "accepted"}})
    body = {"user_id": 1, "items": [{"sku": "sku-9", "qty": 5}]}
    r = c.post("/orders", json=body, headers={"X-Tenant": "acme-12"})
    assert (r.status_code, r.text) == (202, "accepted")
    assert c.post("/orders", json=body, headers={"X-Tenant": "other"}).status_code == 201
    few = {"user_id": 1, "items": [{"sku": "sku-9", "qty": 1}]}
    assert c.post("/orders", json=few, headers={"X-Tenant": "acme-1"}).status_code == 201
    # the world still received the body the stub layer read
    assert c.post("/orders", json=few, headers={"X-Tenant": "acme-1"}).json()["user_id"] == 1


def test_equal_to_json_exact_and_array_order(app_client):
    c = app_client()
    stub(c, {"request": {"method": "POST", "urlPath": "/echo",
                         "bodyPatterns": [{"equalToJson": '{"tags": ["a", "b"]}', "ignoreArrayOrder": True}]},
             "response": {"status": 200, "jsonBody": {"ok": True}}})
    assert c.post("/echo", json={"tags": ["b", "a"]}).json() == {"ok": True}
    assert c.post("/echo", json={"tags": ["b", "a"], "x": 1}).status_code == 404   # extra key: no stub, no route


def test_priority_lower_wins_and_the_newest_breaks_ties(app_client):
    c = app_client()
    stub(c, {"priority": 5, "request": {"urlPathPattern": "/users/.*"}, "response": {"status": 201}})
    stub(c, {"priority": 1, "request": {"urlPath": "/users/3"}, "response": {"status": 202}})
    stub(c, {"priority": 5, "request": {"urlPathPattern": "/users/[0-9]+"}, "response": {"status": 203}})
    assert c.get("/users/3").status_code == 202
    assert c.get("/users/4").status_code == 203
    assert c.get("/users/x").status_code == 201


def test_times_limits_a_stub_then_the_world_answers(app_client):
    c = app_client()
    created = stub(c, {"times": 2, "request": {"urlPath": "/users/5"}, "response": {"status": 500}})
    assert [c.get("/users/5").status_code for _ in range(3)] == [500, 500, 200]
    assert c.get(f"/api/v1/stubs/{created['id']}").json()["times"] == 2


def test_scenarios_move_through_states(app_client):
    c = app_client()
    base = {"scenarioName": "checkout", "request": {"method": "GET", "urlPath": "/orders/1001"}}
    stub(c, {**base, "requiredScenarioState": "Started", "newScenarioState": "paid",
             "response": {"jsonBody": {"status": "pending"}}})
    stub(c, {**base, "requiredScenarioState": "paid", "response": {"jsonBody": {"status": "paid"}}})
    assert [c.get("/orders/1001").json()["status"] for _ in range(3)] == ["pending", "paid", "paid"]
    scenarios = c.get("/__admin/scenarios").json()["scenarios"]
    assert [(s["name"], s["state"], s["possibleStates"]) for s in scenarios] == [
        ("checkout", "paid", ["Started", "paid"])
    ]
    assert c.post("/__admin/scenarios/reset", headers={"Content-Type": "application/json"}).status_code == 200
    assert c.get("/orders/1001").json()["status"] == "pending"


def test_templates_read_the_request_the_persona_and_the_world(app_client):
    c = app_client()
    user = c.get("/users/12").json()
    order = c.get("/orders/1001").json()
    stub(c, {"request": {"method": "GET", "urlPathTemplate": "/users/{id}/greeting"},
             "response": {"jsonBody": {"hello": "{{persona.name}}", "id": "{{request.path.id}}",
                                       "total": "{{world.order(request.query.order).total}}",
                                       "line": "{{persona.name}} owes {{world.order(1001).total}}",
                                       "missing": "{{request.query.nope}}", "escape": "{{request.method.__class__}}"},
                          "headers": {"X-Who": "{{persona.email}}"}}})
    r = c.get("/users/12/greeting?order=1001")
    assert r.json() == {"hello": user["name"], "id": "12", "total": order["total"],
                        "line": f"{user['name']} owes {order['total']}", "missing": None, "escape": None}
    assert r.headers["x-who"] == user["email"]
    # the persona of a spec route: an order's path names its user
    stub(c, {"request": {"method": "GET", "urlPath": "/orders/1001"}, "response": {"body": "for {{persona.name}}"}})
    owner = c.get(f"/users/{order['user_id']}").json()
    assert c.get("/orders/1001").text == f"for {owner['name']}"
    # an explicit persona ref, itself a template
    stub(c, {"persona": "user:{{request.query.u}}", "request": {"urlPath": "/whoami"},
             "response": {"body": "{{persona.name}}"}})
    assert c.get("/whoami?u=12").text == user["name"]
    # the request body, read as JSON
    stub(
        c,
        {
            "request": {"method": "POST", "urlPath": "/echo"},
            "response": {
                "status": 201,
                "jsonBody": {"for": "{{request.body.user_id}}", "first": "{{request.body.items[0]}}"},
            },
        },
    )
    assert c.post("/echo", json={"user_id": 12, "items": ["a", "b"]}).json() == {"for": 12, "first": "a"}


@pytest.mark.parametrize("body, field", [
    ({"response": {"body": "{{os.system('x')}}"}}, "response.body"),
    ({"response": {"jsonBody": {"a": "{{request.path.id + 1}}"}}}, "response.jsonBody.a"),
    ({"response": {"body": "{{persona.name()}}"}}, "response.body"),
    ({"response": {"fixedDelayMilliseconds": 60001}}, "response.fixedDelayMilliseconds"),
    ({"response": {"delayDistribution": {"type": "normal"}}}, "response.delayDistribution.type"),
    ({"request": {"urlPattern": "(("}}, "request.urlPattern"),
    ({"request": {"headers": {"Accept": {"startsWith": "x"}}}}, "request.headers.Accept"),
    ({"request": {"bodyPatterns": [{"matchesJsonPath": "$[[["}]}}, "request.bodyPatterns[0].matchesJsonPath"),
    ({"request": {"url": "/a", "urlPath": "/a"}}, "request.urlPath"),
    ({"response": {"proxyBaseUrl": "http://x"}}, "response.proxyBaseUrl"),
    ({"times": 0}, "times"),
    ({"postServeActions": {}}, "postServeActions"),
])
def test_bad_stubs_are_problems_naming_the_field(app_client, body, field):
    c = app_client()
    r = c.post("/api/v1/stubs", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == field
    wiremock = c.post("/__admin/mappings", json=body).json()
    assert wiremock["errors"][0]["source"]["pointer"] == "/" + field.replace(".", "/").replace("[", "/").replace(
        "]", ""
    )


def test_delays_are_drawn_deterministically_and_reported(app_client):
    c = app_client()
    stub(c, {"request": {"urlPath": "/slow"}, "response": {"fixedDelayMilliseconds": 20, "body": "late"}})
    stub(c, {"request": {"urlPath": "/uniform"},
             "response": {"delayDistribution": {"type": "uniform", "lower": 5, "upper": 5}}})
    stub(c, {"id": "6f1f2f8e-0000-4000-8000-000000000001", "request": {"urlPath": "/lognormal"},
             "response": {"delayDistribution": {"type": "lognormal", "median": 10, "sigma": 0.4}}})
    r = c.get("/slow")
    assert (r.text, r.headers["x-mockverse-delay"]) == ("late", "20")
    assert c.get("/uniform").headers["x-mockverse-delay"] == "5"
    key = {"X-Mockverse-Request-Key": "k1"}
    first = c.get("/lognormal", headers=key).headers["x-mockverse-delay"]
    assert c.get("/lognormal", headers=key).headers["x-mockverse-delay"] == first
    other = app_client()   # a fresh server with the same seed draws the same delay
    stub(other, {"id": "6f1f2f8e-0000-4000-8000-000000000001", "request": {"urlPath": "/lognormal"},
                 "response": {"delayDistribution": {"type": "lognormal", "median": 10, "sigma": 0.4}}})
    assert other.get("/lognormal", headers=key).headers["x-mockverse-delay"] == first


def test_a_fault_without_a_socket_fails_the_request(app_client):
    c = app_client()
    stub(c, {"request": {"urlPath": "/broken"}, "response": {"fault": "CONNECTION_RESET_BY_PEER"}})
    with pytest.raises(SimulatedFault):
        c.get("/broken")


def test_a_warm_read_stays_fast_until_a_stub_exists_and_after_it_goes(app_client):
    c = app_client()
    c.get("/users/1")
    assert c.get("/users/1").headers["x-mockverse-source"] == "synthetic"
    created = stub(c, {"request": {"urlPath": "/users/1", "headers": {"X-Case": {"equalTo": "a"}}},
                       "response": {"status": 500}})
    assert c.get("/users/1", headers={"X-Case": "a"}).status_code == 500
    c.get("/users/1")
    assert c.get("/users/1", headers={"X-Case": "a"}).status_code == 500   # never served from the read cache
    assert c.delete(f"/__admin/mappings/{created['id']}").status_code == 200
    assert c.get("/users/1", headers={"X-Case": "a"}).status_code == 200


def test_stubs_persist_across_a_restart_and_are_shared_by_workers(app_client, tmp_path):
    store = tmp_path / "shared.db"
    a = app_client(store=store)
    b = app_client(store=store)
    created = stub(a, {"times": 1, "request": {"urlPath": "/users/9"}, "response": {"status": 409}})
    assert b.get("/users/9").status_code == 409
    assert a.get("/users/9").status_code == 200   # the one use was spent on the other worker
    restarted = app_client(store=store)
    assert restarted.get(f"/api/v1/stubs/{created['id']}").json()["request"] == {"urlPath": "/users/9"}


def test_stubs_on_a_redis_store_are_shared_and_spent_once(app_client, redis_server):
    a = app_client(store=redis_server.url)
    b = app_client(store=redis_server.url)
    stub(a, {"times": 1, "request": {"urlPath": "/users/9"}, "response": {"status": 409}})
    assert [b.get("/users/9").status_code, a.get("/users/9").status_code] == [409, 200]
    assert a.delete("/api/v1/stubs/6f1f2f8e-0000-4000-8000-00000000dead").status_code == 404


def test_stub_api_crud_in_mockverse_style(app_client):
    c = app_client()
    r = c.post("/api/v1/stubs", json={"request": {"urlPath": "/a"}, "response": {"status": 201}})
    assert r.status_code == 201 and r.headers["location"] == f"/api/v1/stubs/{r.json()['id']}"
    id = r.json()["id"]
    assert (
        c.put(f"/api/v1/stubs/{id}", json={"request": {"urlPath": "/a"}, "response": {"status": 204}}).status_code
        == 200
    )
    assert c.get("/a").status_code == 204
    assert c.get("/api/v1/stubs").json()["count"] == 1
    assert c.delete(f"/api/v1/stubs/{id}").json()["id"] == id
    missing = c.get(f"/api/v1/stubs/{id}")
    assert (missing.status_code, missing.json()["field"]) == (404, "id")
    assert c.get("/api/v1/stubs", headers={"X-Mockverse-Workspace": "bad name"}).status_code == 400


def test_the_journal_keeps_headers_and_bodies_redacted_and_filters_by_glob(app_client):
    c = app_client()
    stub(c, {"request": {"method": "POST", "urlPath": "/orders"}, "response": {"status": 201, "jsonBody": {"id": 1}}})
    c.post("/orders", json={"user_id": 1}, headers={"Authorization": "Bearer s3cret", "X-Trace": "t1"})
    c.get("/users/2")
    listed = c.get("/api/v1/requests", params={"path": "/ord*", "method": "post", "bodies": "true"}).json()
    assert listed["count"] == 1
    entry = listed["requests"][0]
    assert (entry["request_body"], entry["response_body"]) == ('{"user_id":1}', '{"id":1}')
    assert entry["request_headers"]["authorization"] == "[redacted]"
    assert entry["request_headers"]["x-trace"] == "t1"
    assert entry["stub"] is not None
    assert "request_body" not in c.get("/api/v1/requests", params={"path": "/ord*"}).json()["requests"][0]
    found = c.post("/__admin/requests/find", json={"method": "POST", "urlPathPattern": "/ord.*",
                                                   "bodyPatterns": [{"matchesJsonPath": "$.user_id"}]}).json()
    assert [(r["url"], r["body"]) for r in found["requests"]] == [("/orders", '{"user_id":1}')]
    assert c.post("/__admin/requests/count", json={"method": "GET", "urlPath": "/users/2"}).json() == {"count": 1}
    warm = c.get("/users/2")   # the read cache's answer is journaled with its body too
    assert c.get("/__admin/requests", params={"limit": 1}).json()["requests"][0]["response"]["body"] == warm.text


def test_the_journal_bounds_each_body_and_the_total():
    journal = Journal(10, body_limit=4, total_limit=10)
    for i in range(4):
        journal.add({"id": str(i), "workspace": "w", "request_body": b"abcdef", "response_body": None})
    assert [e["id"] for e in journal.entries] == ["2", "3"]
    assert journal.entries[0]["request_body"] == b"abcd" and journal.entries[0]["request_body_truncated"] == 6
    assert journal.held == 8


def test_near_misses_and_the_one_reset(app_client):
    c = app_client()
    stub(c, {"scenarioName": "s", "newScenarioState": "two", "request": {"method": "POST", "urlPath": "/users/1"},
             "response": {"status": 200}})
    c.get("/users/1")
    near = c.get("/__admin/requests/unmatched/near-misses").json()["nearMisses"]
    assert [(n["request"]["url"], n["matchResult"]["distance"]) for n in near] == [("/users/1", 0.5)]
    asked = c.post("/__admin/near-misses/request", json={"url": "/users/1", "method": "PUT"}).json()
    assert [n["matchResult"]["distance"] for n in asked["nearMisses"]] == [0.5]
    c.post("/users/1")
    assert c.get("/__admin/scenarios").json()["scenarios"][0]["state"] == "two"
    generated = c.get("/users/2").json()
    assert c.patch("/users/2", json={"name": "Changed Name"}).json()["name"] == "Changed Name"
    assert c.post("/api/v1/consistency/clock/advance", json={"by": "1d"}).status_code == 200
    assert c.post("/__admin/reset", headers={"Content-Type": "application/json"}).status_code == 200
    assert c.get("/__admin/mappings").json() == {"mappings": [], "meta": {"total": 0}}
    assert c.get("/__admin/scenarios").json() == {"scenarios": []}
    assert c.get("/__admin/requests").json()["meta"] == {"total": 0}
    assert c.get("/users/2").json() == generated             # the world's changes and clock went too
    assert c.get("/api/v1/consistency/clock").json()["now"] == "2026-01-01T00:00:00Z"
    assert c.get("/__admin/health").json()["status"] == "healthy"


def test_mappings_list_newest_first_with_limit_and_offset(app_client):
    c = app_client()
    ids = [stub(c, {"request": {"urlPath": f"/p/{i}"}, "response": {"status": 200}})["id"] for i in range(3)]
    listed = c.get("/__admin/mappings", params={"offset": 1, "limit": 1}).json()
    assert (listed["meta"], [m["id"] for m in listed["mappings"]]) == ({"total": 3}, [ids[1]])
    bad = c.get("/__admin/mappings", params={"limit": "-1"})
    assert (bad.status_code, bad.json()["errors"][0]["source"]["pointer"]) == (400, "/limit")


def test_admin_writes_need_the_token_when_one_is_set(app_client):
    c = app_client(admin_token="tok-stubs-not-a-secret")
    mapping = {"request": {"urlPath": "/users/1"}, "response": {"status": 500}}
    assert c.post("/__admin/mappings", json=mapping).status_code == 401
    assert c.post("/api/v1/stubs", json=mapping).status_code == 401
    assert c.post("/__admin/mappings", json=mapping,
                  headers={"Authorization": "Bearer tok-stubs-not-a-secret"}).status_code == 201
    assert c.get("/__admin/mappings").json()["meta"] == {"total": 1}


def test_a_body_past_the_limit_is_not_buffered_for_matching(app_client):
    c = app_client()
    stub(c, {"request": {"method": "POST", "urlPath": "/orders", "bodyPatterns": [{"contains": "x"}]},
             "response": {"status": 202}})
    r = c.post("/orders", content=b"x" * 1_100_000, headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()["field"]) == (413, "body")


def test_simulated_faults_never_touch_the_wiremock_admin_api(app_client, tmp_path):
    config = tmp_path / "mockverse.yaml"
    config.write_text('simulation:\n  routes:\n    - pattern: "/**"\n      fault: {type: empty_response, rate: 1.0}\n')
    c = app_client(config=config)
    assert c.get("/__admin/health").json()["status"] == "healthy"
    with pytest.raises(SimulatedFault):
        c.get("/users/1")
