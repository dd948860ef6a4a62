"""Conventions from peer mock servers, through real `mockverse serve` processes: Prism's Prefer,
WireMock's per-route delays and faults, json-server's list queries, Hoverfly-style fidelity exclusions."""

from __future__ import annotations

import socket

import httpx
import pytest

from conftest import ROOT, run_main
from mockverse.config import builtin_spec_path
from mockverse.http.conventions import OPERATORS
from mockverse.http.simulation import format_ms
from mockverse.ids import unit_draw
from mockverse.openapi.loader import load_spec
from mockverse.reality.continuum import realism_delay

PRISM_SPEC = str(ROOT / "tests" / "fixtures" / "specs" / "prism.yaml")
ALICE = {"id": 1, "name": "Alice", "species": "cat", "age": 3, "vaccinated": True}
BOB = {"id": 2, "name": "Bob", "species": "dog", "age": 5, "vaccinated": False}


def problem(r: httpx.Response, status: int, field: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["field"] == field, body
    return body


@pytest.fixture(scope="module")
def pets(tmp_path_factory):
    """The Prism pets spec served in process (an AppServer), shared by the module's tests."""
    from conftest import AppServer
    s = AppServer(tmp_path_factory.mktemp("pets"), "--spec", PRISM_SPEC)
    yield s
    s.stop()


# -- Prism ------------------------------------------------------------------------------------------
def test_prefer_code_answers_the_declared_response(server):
    c = server.client
    r = c.get("/users/1", headers={"Prefer": "code=404"})
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert r.json() == {"type": "urn:mockverse:problem:not-found", "title": "Not Found", "status": 404,
                        "detail": "the 404 response GET /users/{id} declares (asked for with Prefer)"}
    assert r.headers["preference-applied"] == "code=404"
    assert c.get("/users/1?__code=404").json()["detail"] == \
        "the 404 response GET /users/{id} declares (asked for with __code)"
    declared = sorted(next(op for op in load_spec(builtin_spec_path()).operations
                           if (op.method, op.path) == ("GET", "/users/{id}")).responses)
    assert "200" in declared and "404" in declared
    body = problem(c.get("/users/1", headers={"Prefer": "code=418"}), 422, "Prefer")
    assert body["allowed"] == declared
    assert problem(c.get("/users/1?__code=418"), 422, "__code")["allowed"] == declared
    problem(c.get("/users/1?__code=abc"), 400, "__code")
    # an interim 1xx is never a response (the client would wait for one that never comes)
    assert problem(c.get("/users/1", headers={"Prefer": "code=100"}), 400, "Prefer")["detail"] == \
        "code must be an HTTP status from 200 to 599, got '100'"
    assert problem(c.get("/users/1", headers={"Prefer": "dynamic=maybe"}), 400, "Prefer")["allowed"] == [
        "true",
        "false",
    ]
    # code=200 is the world's own answer; other RFC 7240 preferences are ignored
    plain = c.get("/users/1").content
    assert c.get("/users/1", headers={"Prefer": "code=200"}).content == plain
    assert c.get("/users/1", headers={"Prefer": "return=minimal"}).content == plain


def test_prefer_is_never_answered_from_the_read_cache(server):
    c = server.client
    first = c.get("/users/2")
    assert c.get("/users/2").content == first.content          # a cache hit
    assert c.get("/users/2", headers={"Prefer": "code=404"}).status_code == 404
    assert c.get("/users/2?__code=404").status_code == 404
    again = c.get("/users/2")
    assert again.status_code == 200 and again.content == first.content


def test_prefer_named_examples_and_static_answers(pets):
    c = pets.client
    r = c.get("/pets/7", headers={"Prefer": "example=bob"})
    assert r.status_code == 200 and r.json() == BOB
    assert r.headers["x-mockverse-example"] == "bob" and r.headers["x-mockverse-source"] == "spec"
    assert c.get("/pets/7?__example=alice").json() == ALICE
    assert c.get("/pets/7", headers={"Prefer": "dynamic=false"}).json() == ALICE     # the first example
    assert c.get("/pets/7?__dynamic=false").json() == ALICE
    world = c.get("/pets/7").json()
    assert world["id"] == 7 and world != ALICE
    assert c.get("/pets/7", headers={"Prefer": "dynamic=true"}).json() == world
    r = c.get("/pets/7", headers={"Prefer": "code=404, example=missing"})
    assert r.status_code == 404 and r.json() == {"code": 404, "message": "pet not found"}
    assert r.headers["preference-applied"] == "code=404, example=missing"
    assert c.get("/pets/7", headers={"Prefer": "code=404"}).json() == {"code": 404, "message": "pet not found"}
    r = c.get("/pets/7", headers={"Prefer": "code=503"})           # declared without a body: problem JSON
    assert r.status_code == 503 and r.json()["title"] == "Service Unavailable"
    assert problem(c.get("/pets/7", headers={"Prefer": "example=carol"}), 422, "Prefer")["allowed"] == ["alice", "bob"]
    assert problem(c.get("/pets/7?__example=carol"), 422, "__example")["allowed"] == ["alice", "bob"]
    assert problem(c.get("/pets/7", headers={"Prefer": "code=404, example=alice"}), 422, "Prefer")["allowed"] == [
        "missing"
    ]
    assert c.get("/pets", headers={"Prefer": "dynamic=false"}).json() == [ALICE, BOB]


def test_prefer_on_a_write_checks_the_request_and_changes_nothing(pets):
    c = pets.client
    before = c.get("/pets").headers["x-total-count"]
    r = c.post("/pets", json={"name": "Rex", "species": "dog"}, headers={"Prefer": "code=409"})
    assert r.status_code == 409 and r.json() == {"code": 409, "message": "a pet with this name exists"}
    assert c.get("/pets").headers["x-total-count"] == before
    body = problem(c.post("/pets", json={"species": "fish"}, headers={"Prefer": "code=409"}), 422, "$.name")
    assert [e["field"] for e in body["errors"]] == ["$.name", "$.species"]


def test_unknown_routes_are_404_and_invalid_requests_422_listing_violations(server):
    c = server.client
    body = problem(c.get("/no/such/route"), 404, "path")
    assert body["detail"] == "no operation matches GET /no/such/route"
    body = problem(c.post("/users", json={"first_name": "", "email": 3}), 422, "$.email")
    assert [e["field"] for e in body["errors"]] == ["$.email", "$.first_name", "$.last_name"]


# -- json-server --------------------------------------------------------------------------------------
def test_filters_and_sort_on_a_collection_agree_with_the_children_path(server):
    c = server.client
    children = c.get("/users/3/orders").json()
    newest_first = sorted(children, key=lambda o: o["created_at"], reverse=True)
    r = c.get("/orders?user_id=3&_sort=-created_at")
    assert r.json() == newest_first and r.headers["x-total-count"] == str(len(children))
    assert c.get("/orders?userId=3").json() == children                       # the existing filter
    assert c.get("/orders?userId=3&_sort=-created_at").json() == newest_first
    assert c.get("/users/3/orders?_sort=-created_at").json() == newest_first
    by_total = sorted(children, key=lambda o: (o["status"], -o["total"]))
    assert c.get("/users/3/orders?_sort=status,-total").json() == by_total
    assert c.get("/users/3/orders?_sort=status,total&_order=asc,desc").json() == by_total


def test_several_parents_give_each_ones_children_without_a_scan(server):
    """``user_id=3&user_id=900`` (json-server: any of the values) and ``user_id:in=900,3`` are those users'
    orders, however far into the collection they lie: no 2,000-entity scan cuts them short."""
    c = server.client
    three, nine_hundred = c.get("/users/3/orders").json(), c.get("/users/900/orders").json()
    r = c.get("/orders?user_id=3&user_id=900")
    assert r.json() == three + nine_hundred and r.headers["x-total-count"] == str(len(three) + len(nine_hundred))
    assert "x-mockverse-scanned" not in r.headers and "x-mockverse-persona" not in r.headers
    assert c.get("/orders?user_id:in=900,3").json() == nine_hundred + three
    assert c.get("/orders?user_id=900&user_id=900").json() == nine_hundred
    assert c.get("/orders?user_id:in=900,3&_sort=-total").json() == sorted(
        three + nine_hundred, key=lambda o: -o["total"]
    )


def test_field_filters_are_typed_and_operators_come_in_both_spellings(server):
    c = server.client
    orders = c.get("/users/3/orders").json()
    wanted = [o for o in orders if o["status"] == "delivered" and o["total"] >= 100]
    r = c.get("/users/3/orders?status=delivered&total_gte=100")
    assert r.json() == wanted and r.headers["x-total-count"] == str(len(wanted))
    assert c.get("/users/3/orders?status=delivered&total:gte=100").content == r.content
    assert c.get("/users/3/orders?status_ne=delivered").json() == [o for o in orders if o["status"] != "delivered"]
    assert c.get("/users/3/orders?total_lt=200&total_gt=50").json() == [o for o in orders if 50 < o["total"] < 200]
    assert c.get("/users/3/orders?status_like=IVER").json() == [o for o in orders if "iver" in o["status"]]
    assert c.get("/users/3/orders?status:in=paid,shipped").json() == \
        [o for o in orders if o["status"] in ("paid", "shipped")]
    assert c.get("/users/3/orders?created_at_gte=2025-01-01").json() == \
        [o for o in orders if o["created_at"] >= "2025-01-01"]
    assert c.get(f"/users/3/orders?id={orders[1]['id']}&id={orders[4]['id']}").json() == [orders[1], orders[4]]


def test_paging_applies_after_filters_with_total_and_link(server):
    c = server.client
    orders = sorted(c.get("/users/3/orders").json(), key=lambda o: -o["total"])
    r = c.get("/users/3/orders?_sort=-total&_page=2&_per_page=5")
    assert r.json() == orders[5:10]
    assert r.headers["x-total-count"] == str(len(orders))
    last = -(-len(orders) // 5)
    base = f"{server.url}/users/3/orders?_sort=-total"
    assert r.headers["link"] == (f'<{base}&_page=1&_per_page=5>; rel="first", <{base}&_page={last}&_per_page=5>; '
                                 f'rel="last", <{base}&_page=1&_per_page=5>; rel="prev", '
                                 f'<{base}&_page=3&_per_page=5>; rel="next"')
    users = c.get("/users?_per_page=1000").json()
    churned = [u for u in users if u["lifecycle_state"] == "Churned"]
    r = c.get("/users?lifecycle_state=Churned&_page=2&_per_page=3")
    assert r.json() == churned[3:6] and r.headers["x-total-count"] == str(len(churned))


def test_embed_children_and_expand_parents(server):
    c = server.client
    r = c.get("/users?_embed=orders,devices&_page=2&_per_page=2")
    plain = c.get("/users?_page=2&_per_page=2").json()
    assert [u["id"] for u in r.json()] == [3, 4]
    for user, base in zip(r.json(), plain, strict=True):
        assert user["orders"] == c.get(f"/users/{base['id']}/orders").json()
        assert user["devices"] == c.get(f"/users/{base['id']}/devices").json()
        assert {k: v for k, v in user.items() if k not in ("orders", "devices")} == base
    user3 = plain[0]
    expanded = c.get("/orders?user_id=3&_expand=user").json()
    assert expanded and all(o["user"] == user3 for o in expanded)
    assert c.get("/orders?user_id=3&_embed=user").json() == expanded             # json-server 1.x spelling
    first = expanded[0]["id"]
    items = c.get(f"/orders/{first}/items").json()
    assert c.get(f"/orders?user_id=3&id={first}&_embed=items").json()[0]["items"] == items


def test_a_filter_over_a_whole_collection_says_how_much_it_read(server):
    c = server.client
    total = c.get("/orders").headers["x-total-count"]
    r = c.get("/orders?status=paid&_per_page=3")
    assert r.headers["x-mockverse-scanned"] == f"2000 of {total}"
    assert [o["status"] for o in r.json()] == ["paid", "paid", "paid"]
    assert c.get("/orders?status=paid&_per_page=3").content == r.content        # cached, same bytes


def test_bad_list_queries_are_problems_naming_the_parameter(server):
    c = server.client
    body = problem(c.get("/orders?colour=red"), 400, "colour")
    assert body["allowed"] == ["created_at", "currency", "id", "item_count", "status", "total", "user_id"]
    problem(c.get("/orders?colour_gte=3"), 400, "colour_gte")
    assert problem(c.get("/orders?total:near=3"), 400, "total:near")["allowed"] == list(OPERATORS)
    problem(c.get("/users/3/orders?total_gte=lots"), 400, "total_gte")
    problem(c.get("/users/3/orders?_sort=colour"), 400, "_sort")
    assert problem(c.get("/users/3/orders?_order=up&_sort=total"), 400, "_order")["allowed"] == ["asc", "desc"]
    assert problem(c.get("/orders?user_id=3&_embed=user,lines"), 400, "_embed")["allowed"] == [
        "items",
        "order_items",
        "payments",
        "user",
    ]
    assert problem(c.get("/users/3/orders?_expand=shop"), 400, "_expand")["allowed"] == ["user"]
    problem(c.get("/users/3/orders?user_id=x"), 400, "user_id")


def test_list_queries_on_a_spec_world(pets):
    c = pets.client
    everyone = c.get("/pets?_per_page=100").json()
    assert len(everyone) == 50
    cats = sorted((p for p in everyone if p["species"] == "cat"), key=lambda p: (-p["age"], p["name"]))
    r = c.get("/pets?species=cat&_sort=-age,name&_page=1&_per_page=3")
    assert r.json() == cats[:3] and r.headers["x-total-count"] == str(len(cats))
    assert 'rel="next"' in r.headers["link"]
    assert c.get("/pets?vaccinated=true&age_lte=4").json() == \
        [p for p in everyone if p["vaccinated"] is True and p["age"] <= 4]
    problem(c.get("/pets?vaccinated=perhaps"), 400, "vaccinated")
    r = c.get("/pets?_page=2&_per_page=2")
    assert r.json() == everyone[2:4] and r.headers["link"].endswith(
        "<" + pets.url + '/pets?_page=3&_per_page=2>; rel="next"'
    )
    visits = c.get("/pets/3/visits").json()
    assert c.get("/pets/3/visits?_sort=-cost").json() == sorted(visits, key=lambda v: -v["cost"])
    embedded = c.get("/pets?_embed=visits&_per_page=3").json()
    assert [p["visits"] for p in embedded] == [c.get(f"/pets/{p['id']}/visits").json() for p in everyone[:3]]
    expanded = c.get("/pets/3/visits?_expand=pet").json()
    assert [v["pet"] for v in expanded] == [everyone[2]] * len(visits)


# -- Hoverfly-style fidelity exclusions ------------------------------------------------------------
def _schema(request_id_type: str) -> dict:
    return {"type": "object", "required": ["id", "request_id"],
            "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                           "request_id": {"type": request_id_type}}}


def test_fidelity_exclude_in_the_body_and_in_the_config(server, app_server, tmp_path):
    body = {"mock_schema": _schema("string"), "real_schema": _schema("integer")}
    scored = server.client.post("/api/v1/workspace/excl/fidelity", json=body).json()["score"]
    assert scored["driver_metrics"]["schema_similarity"]["value"] == 0.75   # request_id retyped: 1 of 4 nodes
    excluded = server.client.post("/api/v1/workspace/excl/fidelity", json={**body, "exclude": ["$.request_id"]})
    assert excluded.json()["score"]["driver_metrics"]["schema_similarity"]["value"] == 1.0
    config = tmp_path / "fidelity.yaml"
    config.write_text("fidelity:\n  exclude: ['$.request_id']\n")
    other = app_server("--config", str(config))
    scored = other.client.post("/api/v1/workspace/excl/fidelity", json=body).json()["score"]
    assert scored["driver_metrics"]["schema_similarity"]["value"] == 1.0


# -- WireMock-style delays and faults ----------------------------------------------------------------
SIMULATION = """
simulation:
  routes:
    - pattern: "GET /orders/*"
      delay: {fixed: 200ms}
    - pattern: "GET /devices/*"
      delay: {lognormal: {median: 20ms, sigma: 0.5}}
    - pattern: "GET /users/*/devices"
      fault: {type: empty_response}
    - pattern: "GET /users/*/billing"
      fault: {type: connection_reset}
    - pattern: "GET /users/*/support"
      fault: {type: malformed_chunk}
    - pattern: "/payments/*"
      fault: {type: empty_response, rate: 0.3}
    - pattern: "/**"
      fault: {type: empty_response, rate: 1}
"""


def raw_get(port: int, path: str, headers: str = "") -> bytes:
    """The bytes a server sends back to one GET (b"" when it closes without any)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        return data


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    from conftest import Server
    servers = []
    for n in range(2):
        directory = tmp_path_factory.mktemp(f"sim{n}")
        config = directory / "mockverse.yaml"
        config.write_text(SIMULATION)
        servers.append(Server(directory, "--config", str(config)).start())
    yield servers
    for s in servers:
        s.stop()


def test_delays_are_stated_in_a_header(simulated):
    a, b = simulated
    r = a.client.get("/orders/3001")
    assert r.status_code == 200 and r.headers["x-mockverse-delay"] == "200"
    assert r.json() == a.client.get("/orders/3001").json()
    expected = [format_ms(realism_delay(("lognormal", 0.02, 0.5), "42/default", f"GET /devices/{i}?#1", None))
                for i in (101, 201, 301)]
    assert [a.client.get(f"/devices/{i}").headers["x-mockverse-delay"] for i in (101, 201, 301)] == expected
    assert [b.client.get(f"/devices/{i}").headers["x-mockverse-delay"] for i in (101, 201, 301)] == expected
    assert "x-mockverse-delay" not in a.client.get("/api/v1/health").headers


def test_faults_break_the_connection_as_configured(simulated):
    a, _ = simulated
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        a.client.get("/users/5/devices")
    assert raw_get(a.port, "/users/5/devices") == b""
    with pytest.raises((ConnectionResetError, httpx.ReadError, httpx.RemoteProtocolError)):
        a.client.get("/users/5/billing")
    with pytest.raises(ConnectionResetError):
        raw_get(a.port, "/users/5/billing")
    with pytest.raises(httpx.RemoteProtocolError):
        a.client.get("/users/5/support")
    sent = raw_get(a.port, "/users/5/support")
    assert sent.startswith(b"HTTP/1.1 200 OK\r\n") and sent.endswith(b'\r\n\r\n5\r\n{"id"\r\nzz\r\n')
    # the catch-all rule faults every mock route, never the admin API or the dashboard
    assert raw_get(a.port, "/users/1") == b""
    assert a.client.get("/api/v1/health").status_code == 200
    assert a.client.get("/__mockverse/").status_code == 200


def _faulted(server, paths: list[str], key: str | None = None) -> list[str]:
    out = []
    for path in paths:
        try:
            server.client.get(path, headers={"X-Mockverse-Request-Key": key} if key else {})
        except httpx.RemoteProtocolError:
            out.append(path)
    return out


def test_fault_rate_is_deterministic_per_request(simulated):
    a, b = simulated
    paths = [f"/payments/{n}" for n in range(1, 41)]
    expected = [p for p in paths if unit_draw("42/default", f"GET {p}?#1", "fault") < 0.3]
    assert len(expected) == 14          # of 40 at rate 0.3, drawn by blake2b for seed 42
    assert _faulted(a, paths) == expected and _faulted(b, paths) == expected
    second = [p for p in paths if unit_draw("42/default", f"GET {p}?#2", "fault") < 0.3]
    assert _faulted(a, paths) == second and second != expected       # a retry draws anew
    keyed = [p for p in paths if unit_draw("42/default", f"GET {p}?#job-7", "fault") < 0.3]
    assert _faulted(a, paths, "job-7") == keyed and _faulted(b, paths, "job-7") == keyed


@pytest.mark.parametrize("routes, field", [
    ('[{pattern: "GET /orders/*", delay: {fixed: soon}}]', "simulation.routes[0].delay.fixed"),
    ('[{pattern: "GET /orders/*", delay: {fixed: 200}}]', "simulation.routes[0].delay.fixed"),
    ('[{pattern: "GET /orders/*", delay: {lognormal: {median: 10ms}}}]', "simulation.routes[0].delay.lognormal"),
    ('[{pattern: "FETCH /orders/*"}]', "simulation.routes[0].pattern"),
    ('[{pattern: "/api/v1/**", fault: {type: empty_response}}]', "simulation.routes[0].pattern"),
    ('[{pattern: "/orders", fault: {type: meltdown}}]', "simulation.routes.0.fault.type"),
    ('[{pattern: "/orders", fault: {type: empty_response, rate: 2}}]', "simulation.routes.0.fault.rate"),
    ('[{pattern: "/orders", latency: 3}]', "simulation.routes.0.latency"),
])
def test_bad_simulation_config_is_refused_naming_the_field(tmp_path, routes, field):
    """`mockverse serve` (its main, in process) exits 2 naming the field before it would serve."""
    config = tmp_path / "bad.yaml"
    config.write_text(f"simulation:\n  routes: {routes}\n")
    code, _, err = run_main("serve", "--config", str(config), "--store", str(tmp_path / "s.db"), "--port", "0")
    assert code == 2, err
    assert f": {field}: " in err, err


def test_an_embedded_world_raises_the_fault_it_cannot_put_on_a_socket(tmp_path):
    import asyncio

    from mockverse import World
    config = tmp_path / "faults.yaml"
    config.write_text('simulation:\n  routes: [{pattern: "GET /users/*", fault: {type: empty_response}}]\n')
    world = World.builtin(seed=42, config=config)

    async def fetch() -> tuple[int, str]:
        transport = httpx.ASGITransport(app=world.asgi_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            with pytest.raises(ConnectionResetError, match="simulated empty_response"):
                await client.get("/users/1")
            r = await client.get("/users/1/orders")
            return r.status_code, r.headers["x-total-count"]

    status, _ = asyncio.run(fetch())
    assert status == 200
