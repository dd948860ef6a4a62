"""Hostile input: requests and files an attacker would send. Each is refused with problem JSON naming the
parameter and the limit, and none stalls the other clients of the server: they are answered while
expensive queries are still being computed (held on their worker threads by the test), so the
behaviour is asserted without timing it."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from conftest import run_main
from hostile_files import alias_bomb, huge_enum, item_path, many_paths, spec_document, wide_dag

INT64 = {"minimum": -2**63, "maximum": 2**63 - 1}
MAX = 1.7976931348623157e308


def _problem(title: str, status: int, detail: str, field: str, **extra) -> dict:
    return {"type": f"urn:mockverse:problem:{title.lower().replace(' ', '-')}", "title": title, "status": status,
            "detail": detail, "field": field, **extra}


def _ids(name: str, n: int) -> str:
    return "&".join(f"{name}={i}" for i in range(1, n + 1))


# (request, the exact problem it answers)
HOSTILE = [
    ("/orders?" + _ids("user_id", 1000),
     _problem("Invalid query parameter", 400, "user_id lists more than 100 values (a repeated key or a "
              "comma-separated :in)", "user_id", limit=100)),
    ("/orders?user_id:in=" + ",".join(str(i) for i in range(1, 5001)),
     _problem("Invalid query parameter", 400, "user_id:in lists more than 100 values (a repeated key or a "
              "comma-separated :in)", "user_id:in", limit=100)),
    ("/users?_embed=orders&_per_page=1000",
     _problem("Invalid query parameter", 400, "with 1 relation (_embed) a list carries at most 100 rows; "
              "_per_page asks for 1000", "_per_page", minimum=1, maximum=100)),
    ("/users?_embed=orders&_embed=devices&_per_page=100",
     _problem("Invalid query parameter", 400, "with 2 relations (_embed) a list carries at most 50 rows; "
              "_per_page asks for 100", "_per_page", minimum=1, maximum=50)),
    ("/users?_sort=" + ",".join(["-email"] * 200),
     _problem("Invalid query parameter", 400, "_sort takes at most 5 fields", "_sort", limit=5)),
    ("/users?_sort=-email,-email",
     _problem("Invalid query parameter", 400, "_sort names 'email' more than once; each field sorts at most once",
              "_sort", limit=5)),
    ("/users?email_like=" + "a" * 5000,
     _problem("Invalid query parameter", 400, "email_like is a pattern of 5000 characters; at most 100",
              "email_like", limit=100)),
    ("/users?q=" + "(a+)+" * 100,
     _problem("Invalid query parameter", 400, "q is a pattern of 500 characters; at most 100", "q", limit=100)),
    ("/users?id=99999999999999999999999999",
     _problem("Invalid filter value", 400, f"id compares an integer from {-2**63} to {2**63 - 1}", "id", **INT64)),
    ("/users?id_gte=1e400",
     _problem("Invalid filter value", 400, f"id_gte compares a number from {-MAX} to {MAX}; '1e400' is past it",
              "id_gte", minimum=-MAX, maximum=MAX)),
    ("/users?_page=99999999999999999999",
     _problem("Invalid query parameter", 400, "_page must be from 1 to 50 (the last page of 1000 at 20 per page)",
              "_page", minimum=1, maximum=50)),
    ("/users?_start=5000&_end=5010",
     _problem("Invalid query parameter", 400, "_start must be from 0 to 1000 (the collection's size)", "_start",
              minimum=0, maximum=1000)),
    ("/users?_start=0&_end=100000",
     _problem("Invalid query parameter", 400, "_end must be an integer from 0 to 1000", "_end",
              minimum=0, maximum=1000)),
]


# legitimate list queries (filters, a sort: json-server queries computed on worker threads), made as long as
# the test likes by holding them inside their computation
EXPENSIVE = ("/orders?user_id:in=200,201,202", "/orders?user_id=3&_sort=-created_at")
HELD = 60   # seconds a held query waits for the test to release it: past that the test has failed anyway


def test_hostile_requests_are_refused_while_expensive_queries_are_computed_off_the_event_loop(app_client,
                                                                                              monkeypatch):
    """Two legitimate list queries are held inside their computation on worker threads, taking both slots of
    such queries; while they are, each hostile request gets its exact problem, a third list query is a 503
    with Retry-After and another client's reads are answered (were the computation on the event loop,
    nothing would answer until it ended). Released, both answer."""
    c = app_client()
    routes = c.app.state.mock
    ids = range(1, 21)
    for i in ids:
        assert c.get(f"/users/{i}").status_code == 200
    entered, release = threading.Semaphore(0), threading.Event()
    done: list[int] = []
    read, loop = routes.read, c.portal.call(threading.get_ident)   # the thread the app's event loop runs on

    def held(op: Any, request: Any, view: Any) -> Any:
        """The read of an expensive query, waiting inside its worker thread until the test releases it."""
        if f"{request.url.path}?{request.url.query}" in EXPENSIVE:
            assert threading.get_ident() != loop, "a list query computed on the event loop"
            entered.release()
            release.wait(HELD)
        return read(op, request, view)

    def expensive(url: str) -> None:
        done.append(c.get(url).status_code)

    monkeypatch.setattr(routes, "read", held)
    threads = [threading.Thread(target=expensive, args=(url,)) for url in EXPENSIVE]
    for thread in threads:
        thread.start()
    try:
        for _ in EXPENSIVE:
            assert entered.acquire(timeout=HELD), "an expensive query never reached its computation"
        for url, expected in HOSTILE:
            r = c.get(url)
            assert (r.status_code, r.headers["content-type"], r.json()) == \
                (expected["status"], "application/problem+json", expected), url[:80]
        assert [c.get(f"/users/{i}").json()["id"] for i in ids] == list(ids)
        r = c.get("/users?_sort=-id&_per_page=1")
        assert (r.status_code, r.headers["retry-after"], r.json()["field"]) == (503, "1", "query")
        assert done == [], "an expensive query ended before the test released it"
    finally:
        release.set()
        for thread in threads:
            thread.join(HELD)
    assert done == [200, 200]
    r = c.get("/users?" + "&".join(f"id={i}" for i in range(0, 7)))
    assert [u["id"] for u in r.json()] == [1, 2, 3, 4, 5, 6]
    assert r.headers["x-total-count"] == "6"


def test_work_past_the_budget_is_a_problem_naming_the_parameter(app_client, monkeypatch):
    """A query within the static limits that would still build too much is refused, naming the
    parameter that asked for the work and the limit; the server goes on serving."""
    monkeypatch.setattr("mockverse.http.mock.BUILD_BUDGET", 40)
    c = app_client()
    r = c.get("/orders?user_id:in=1,2,3,4,5,6,7,8")
    assert (r.status_code, r.json()) == (400, _problem(
        "Query too expensive", 400, "user_id:in asks for more than 40 entities to be built; narrow it (fewer ids, "
        "a smaller page, fewer relations, a filter on the parent)", "user_id:in", limit=40))
    r = c.get("/users?_embed=orders&_per_page=10")
    assert r.json()["field"] == "_embed" and r.json()["limit"] == 40
    assert [u["id"] for u in c.get("/users?_per_page=3").json()] == [1, 2, 3]


def _strings(value) -> list[str]:
    """Every string in a JSON value, nested ones too."""
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [text for item in items for text in _strings(item)]


def test_q_and_slices(app_client):
    """json-server's q= (full text over the string fields) and _start/_end/_limit slices, with the
    total of the whole list in X-Total-Count."""
    c = app_client()
    r = c.get("/users?_start=10&_end=13")
    assert ([u["id"] for u in r.json()], r.headers["x-total-count"]) == ([11, 12, 13], "1000")
    r = c.get("/users?_start=998&_limit=5")
    assert ([u["id"] for u in r.json()], r.headers["x-total-count"]) == ([999, 1000], "1000")
    assert [u["id"] for u in c.get("/users?_end=2").json()] == [1, 2]
    three = c.get("/users/3/orders").json()
    r = c.get("/users/3/orders?_start=1&_end=3")
    assert (r.json(), r.headers["x-total-count"]) == (three[1:3], str(len(three)))
    user = c.get("/users/7").json()
    r = c.get("/users", params={"q": user["email"].upper()})
    assert ([u["id"] for u in r.json()], r.headers["x-total-count"]) == ([7], "1")
    r = c.get("/users", params={"q": user["last_name"], "_sort": "id"})
    expected = [u["id"] for u in c.get("/users?_per_page=1000").json()
                if any(user["last_name"].lower() in text.lower() for text in _strings(u))]
    assert [u["id"] for u in r.json()] == expected and 7 in expected
    r = c.get("/users", params={"q": user["last_name"], "_start": "0", "_end": "1"})
    assert ([u["id"] for u in r.json()], r.headers["x-total-count"]) == (expected[:1], str(len(expected)))


# -- hostile files --------------------------------------------------------------------------------
def _serve(tmp_path, *args: str) -> tuple[int, str]:
    """(exit code, stderr) of ``mockverse serve`` (its main, in process) that must refuse its input:
    it exits (2) instead of listening."""
    code, _, err = run_main("serve", "--port", "0", "--store", str(tmp_path / "state.db"), *args, cwd=tmp_path)
    return code, err


def test_a_yaml_alias_bomb_config_fails_fast_naming_the_file_and_the_limit(tmp_path):
    bomb = alias_bomb(tmp_path / "bomb.yaml")
    code, err = _serve(tmp_path, "--config", str(bomb))
    assert code == 2, err
    assert err.strip() == (
        f"mockverse: {bomb}: /consistency/personas/lifecycle_effects/a5: YAML aliases expand this document to "
        "4,412,961,509 values from 23 written; at most 100,000 may come from aliases")


def test_a_yaml_alias_bomb_spec_fails_fast_naming_the_file_and_the_limit(tmp_path):
    spec = tmp_path / "bomb.yaml"
    spec.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\nx-bomb:\n"
        + alias_bomb(tmp_path / "b.yaml").read_text().split("lifecycle_effects:\n", 1)[1].replace("      ", "  ")
    )
    code, err = _serve(tmp_path, "--spec", str(spec))
    assert code == 2, err
    assert err.strip().startswith(f"mockverse: {spec}: /x-bomb/a5: YAML aliases expand this document to ")
    assert err.strip().endswith("; at most 100,000 may come from aliases")


def test_a_wide_dag_of_schemas_fails_fast_naming_the_pointer_and_the_limit(tmp_path):
    spec = wide_dag(tmp_path / "dag.json")
    code, err = _serve(tmp_path, "--spec", str(spec))
    assert code == 2, err
    assert err.strip() == (f"mockverse: {spec}: /components/schemas/Thing: a value of this schema would "
                           "hold more than 50,000 values (its references fan out); the limit is 50,000")


def test_a_wide_dag_within_the_budget_answers(app_client, tmp_path):
    """Four levels of the same fan-out fit the budget: the first read answers with every level."""
    schemas: dict = {"Thing": {"type": "object", "properties": {"id": {"type": "integer"},
                                                                "root": {"$ref": "#/components/schemas/S0"}}}}
    for i in range(4):
        props = {f"p{k}": {"$ref": f"#/components/schemas/S{i + 1}"} for k in range(4)}
        schemas[f"S{i}"] = {"type": "object", "properties": props, "required": list(props)}
    schemas["S4"] = {"type": "object", "properties": {"leaf": {"type": "string"}}, "required": ["leaf"]}
    spec = tmp_path / "small-dag.json"
    spec.write_text(json.dumps(spec_document({"/things/{id}": item_path("Thing")}, schemas)))
    body = app_client(spec=spec).get("/things/1").json()
    assert body["id"] == 1 and isinstance(body["root"]["p3"]["p2"]["p1"]["p0"]["leaf"], str)


@pytest.mark.parametrize("make, path", [(many_paths, "/r9999/1"), (huge_enum, "/things/1")])
def test_a_large_spec_loads_and_answers(app_client, tmp_path, make, path):
    """10,000 paths, or 10 MB that is one enum: served, by the app in process (start-up time and peak
    memory are figures of `make bench`)."""
    spec = make(tmp_path / "big.json")
    body = app_client(spec=spec).get(path).json()
    assert body["id"] == 1
    if make is huge_enum:
        assert body["kind"].startswith("value-")


def test_paths_are_routed_by_their_segments(app_client, tmp_path):
    """The spec's paths as one segment tree: a literal segment wins over a parameter, a method only
    the parameter path has is routed there, an unknown depth or segment is the 404 problem."""
    me = {"get": {"responses": {"200": {"description": "me", "content": {"application/json": {
        "schema": {"type": "object", "properties": {"me": {"type": "boolean", "const": True}}}}}}}}}
    paths = {"/users/me": me, "/users/{id}": {**item_path("User"), "delete": {"parameters": [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"204": {"description": "gone"}}}}}
    spec = tmp_path / "users.json"
    spec.write_text(json.dumps(spec_document(paths, {"User": {"type": "object", "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}}}})))
    c = app_client(spec=spec)
    assert c.get("/users/me").json() == {"me": True}
    assert c.get("/users/7").json()["id"] == 7
    r = c.delete("/users/me")           # only /users/{id} has DELETE: routed there, and "me" is no integer id
    assert (r.status_code, r.json()["title"], r.json()["field"]) == (400, "Invalid path parameter", "id")
    assert c.delete("/users/7").status_code == 204
    for path in ("/users", "/users/7/x", "/nope/7"):
        assert c.get(path).json()["title"] == "No route", path
    assert c.post("/users/7").json()["title"] == "Method not allowed"
