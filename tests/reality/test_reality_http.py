"""The reality continuum over HTTP: a real upstream on loopback, mockverse processes pointed at it.

The upstream serves the built-in world's paths with other values (a coherent "real" world), counts
what it receives, and can be made slow, broken, huge, failing or stopped.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest
import yaml

from conftest import ROOT
from mockverse.config import builtin_spec_path
from mockverse.ids import unit_draw
from mockverse.openapi.loader import load_spec
from mockverse.reality.har import import_har_file
from mockverse.reality.record_modes import apply_record_mode
from mockverse.store import open_store

HAR = ROOT / "tests" / "fixtures" / "har" / "shop-session.har"
PROBLEM = "application/problem+json"
SEED = "42/default"  # the workspace seed of `--seed 42`, workspace "default"


# -- the upstream -------------------------------------------------------------------------------
def real_user(user_id: int) -> dict:
    return {"id": user_id, "first_name": "Real", "last_name": f"Person{user_id}", "name": f"Real Person{user_id}",
            "email": f"real{user_id}@upstream.test", "phone": "+44 20 7946 0000", "company": "Upstream Ltd",
            "address": {"street": "1 Real Street", "city": "Leeds", "postal_code": "LS1 1AA", "country": "GB"},
            "avatar_url": f"https://upstream.test/a/{user_id}.png", "created_at": "2020-05-05T05:05:05Z",
            "lifecycle_state": "Active"}


def real_orders(user_id: int) -> list[dict]:
    return [{"id": user_id * 1000 + n, "user_id": user_id, "status": "paid", "currency": "EUR",
             "total": round(10.25 * n + user_id, 2), "item_count": n, "created_at": f"2021-0{n}-01T00:00:00Z"}
            for n in (1, 2, 777)]


def real_body(path: str, query: dict) -> tuple[int, object]:
    parts = [p for p in path.split("/") if p]
    if len(parts) == 2 and parts[0] == "users" and parts[1].isdigit():
        return 200, {**real_user(int(parts[1])), "orders": real_orders(int(parts[1]))}
    if len(parts) == 3 and parts[0] == "users" and parts[1].isdigit() and parts[2] == "orders":
        return 200, real_orders(int(parts[1]))
    if len(parts) == 2 and parts[0] == "orders" and parts[1].isdigit():
        order_id = int(parts[1])
        order = next((o for o in real_orders(order_id // 1000) if o["id"] == order_id), None)
        if order is None:
            return 404, {"type": "about:blank", "title": "Not Found", "status": 404}
        return 200, {**order, "user": real_user(order_id // 1000), "items": []}
    if parts == ["orders"] and "userId" in query:
        return 200, real_orders(int(query["userId"][0]))
    return 404, {"type": "about:blank", "title": "Not Found", "status": 404}


class Upstream:
    """A real HTTP server on a free loopback port, in a thread of the test process."""

    def __init__(self) -> None:
        self.count = 0
        self.mode = "healthy"
        self.seen: list[tuple] = []
        self.lock = threading.Lock()
        self.released = threading.Event()   # a "slow" answer waits for it: it never comes before the mock gives up
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                upstream.handle(self)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:  # the mock hung up on a slow answer
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("content-length") or 0)
        body = h.rfile.read(length) if length else b""
        with self.lock:
            self.count += 1
            self.seen.append((h.command, h.path, h.headers, body))  # headers: case-insensitive
        mode = self.mode
        if mode == "slow":
            self.released.wait(60)
        if mode == "garbage":
            h.wfile.write(b"THIS IS NOT HTTP\r\n\x00\x01\x02\r\n\r\n")
            return
        split = urlsplit(h.path)
        if h.command == "POST":
            status, payload = 201, {**orjson.loads(body or b"{}"), "id": 9999001, "created_by": "upstream"}
        else:
            status, payload = real_body(split.path, parse_qs(split.query))
        raw = orjson.dumps(payload)
        if mode == "error":
            status, raw = 503, b'{"error": "upstream overloaded"}'
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("X-Upstream", "yes")
        if mode == "huge":
            h.end_headers()  # no length: the mock must stop reading at its cap
            chunk = b"[" + b"1," * 512 * 1024
            for _ in range(12):
                h.wfile.write(chunk)
            return
        if mode == "close":
            h.send_header("Content-Length", str(len(raw) + 500))
            h.end_headers()
            h.wfile.write(raw[:10])
            return
        h.send_header("Content-Length", str(len(raw)))
        h.end_headers()
        h.wfile.write(raw)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10)

    def reset(self) -> None:
        with self.lock:
            self.count = 0
            self.seen.clear()
        self.mode = "healthy"

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream():
    server = Upstream()
    yield server
    server.stop()


def write_config(tmp_path: Path, name: str = "reality.yaml", **section) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"reality_continuum": {"enabled": True, **section}}))
    return str(path)


def trace_of(server, response: httpx.Response) -> dict:
    got = server.client.get(f"/api/v1/reality/trace/{response.headers['x-mockverse-request-id']}")
    assert got.status_code == 200, got.text
    return got.json()


def at(body, path: str):
    """The value at a decision path such as ``$.orders[?(@.id==3001)].total``."""
    value = body
    for part in path[1:].replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("[?(@.id=="):
            wanted = json.loads(part[len("[?(@.id=="):-2])
            value = next(item for item in value if item["id"] == wanted)
        elif part.startswith("["):
            value = value[int(part[1:-1])]
        else:
            value = value[part]
    return value


# -- r = 0 ----------------------------------------------------------------------------------------
def test_ratio_zero_never_calls_the_upstream_and_serves_the_synthetic_bytes(app_server, server, upstream, tmp_path):
    config = write_config(tmp_path, default_ratio=0, upstream=upstream.url,
                          routes=[{"pattern": "/payments/*", "ratio": 0.9}])  # the hook is active, r is 0 here
    mock = app_server("--config", config)
    # at r = 0 no draw is made: a few personas show it as well as many
    paths = [f"/users/{n}" for n in range(1, 9)] + [f"/users/{n}/orders" for n in range(1, 9)]
    for path in paths:
        got = mock.client.get(path)
        assert got.content == server.client.get(path).content
        assert got.headers["x-mockverse-source"] == "synthetic"
        assert got.headers["x-mockverse-reality"] == "0"
    asked = mock.client.get("/users/9", headers={"X-Mockverse-Reality": "0"})
    assert asked.content == server.client.get("/users/9").content
    assert asked.headers["x-mockverse-reality"] == "0"
    assert upstream.count == 0


# -- r = 1 and the fallbacks ------------------------------------------------------------------------
def test_ratio_one_serves_the_upstream_exactly_and_falls_back_when_it_fails(app_server, server, upstream, tmp_path):
    mock = app_server("--config", write_config(tmp_path, default_ratio=1, upstream=upstream.url, timeout="1s"))
    c = mock.client
    direct = upstream.get("/users/3")
    got = c.get("/users/3", headers={"Host": "evil.example", "Cookie": "sid=secret"})
    assert got.content == direct.content
    assert got.headers["x-mockverse-source"] == "upstream"
    assert got.headers["x-mockverse-reality"] == "1"
    method, path, headers, _ = upstream.seen[-1]
    assert (method, path) == ("GET", "/users/3")
    assert headers["Host"] == upstream.url.removeprefix("http://")  # only ever the configured upstream
    assert "Cookie" not in headers

    synthetic_5 = server.client.get("/users/5").content
    for mode, reason in [("slow", "upstream-timeout"), ("garbage", "upstream-protocol-error"),
                         ("close", "upstream-protocol-error"), ("huge", "upstream-too-large"),
                         ("error", "upstream-status-503")]:
        upstream.mode = mode
        if mode == "slow":   # answers only when the test ends: this workspace's timeout (50 ms) gives up first
            assert c.put("/api/v1/reality", json={"timeout": 0.05}).json()["settings"]["timeout"] == 0.05
        got = c.get("/users/3")
        assert got.status_code == 200
        assert got.json() == direct.json(), mode  # the recording of the healthy answer
        assert got.headers["x-mockverse-source"] == "recorded"
        assert got.headers["x-mockverse-fallback"] == reason
        never_recorded = c.get("/users/5")
        assert never_recorded.content == synthetic_5
        assert never_recorded.headers["x-mockverse-source"] == "synthetic"
        assert never_recorded.headers["x-mockverse-fallback"] == f"{reason}, no-recording"
        if mode == "slow":   # the config's 1 s again
            assert c.delete("/api/v1/reality").json()["settings"]["timeout"] == 1

    upstream.stop()
    got = c.get("/users/3")
    assert got.json() == direct.json()
    assert got.headers["x-mockverse-source"] == "recorded"
    assert got.headers["x-mockverse-fallback"] == "upstream-unreachable"
    trace = trace_of(mock, got)
    assert trace["band"] == "upstream" and trace["source"] == "recorded"
    assert trace["fallbacks"][0]["tier"] == "upstream" and trace["fallbacks"][0]["reason"] == "upstream-unreachable"
    assert trace["recording"]["source"] == "proxy" and trace["recording"]["match"] == "exact"


# -- which ratio applies ----------------------------------------------------------------------------
def test_route_precedence_segment_patterns_schedule_and_header(app_server, upstream, tmp_path):
    config = write_config(
        tmp_path, default_ratio=0.1, upstream=upstream.url,
        routes=[{"pattern": "/users/*", "ratio": 0.7}, {"pattern": "/users/*/orders", "ratio": 0.4},
                {"pattern": "/users/3", "ratio": 0.9}],
        # the world's epoch is 2026-01-01: the clock stands at half of the 30-day span
        schedule={"from_ratio": 0.2, "to_ratio": 0.9, "over": "30d", "start": "2025-12-17T00:00:00Z"})
    mock = app_server("--config", config)
    c = mock.client

    def resolve(path: str, **headers) -> dict:
        got = c.get("/api/v1/reality/resolve", params={"path": path}, headers=headers)
        assert got.status_code == 200, got.text
        return got.json()

    assert (resolve("/users/1")["ratio"], resolve("/users/1")["pattern"]) == (0.7, "/users/*")
    assert (resolve("/users/3")["ratio"], resolve("/users/3")["pattern"]) == (0.9, "/users/3")
    assert (resolve("/users/1/orders")["ratio"], resolve("/users/1/orders")["pattern"]) == (0.4, "/users/*/orders")
    for path in ("/usersX", "/users/1/devices", "/orders/3001"):  # '*' is one whole segment
        why = resolve(path)
        assert (why["ratio"], why["source"], why["pattern"]) == (0.55, "schedule", None), path
    assert resolve("/users/1", **{"X-Mockverse-Reality": "0.25"})["source"] == "header"
    assert resolve("/users/1")["band"] == "upstream"
    assert [k["source"] for k in resolve("/users/1")["considered"]] == ["route", "route", "route", "schedule",
                                                                         "default"]

    blended = c.get("/users/1")
    assert blended.headers["x-mockverse-reality"] == "0.7"
    assert blended.headers["x-mockverse-source"] == "blend"
    assert blended.headers["x-mockverse-blended-with"] == "upstream"
    scheduled = c.get("/orders/3001")
    assert scheduled.headers["x-mockverse-reality"] == "0.55"
    assert scheduled.headers["x-mockverse-source"] == "synthetic"  # recorded band, nothing recorded yet
    assert scheduled.headers["x-mockverse-fallback"] == "no-recording"
    low = c.get("/users/1", headers={"X-Mockverse-Reality": "0.2"})
    assert (low.headers["x-mockverse-reality"], low.headers["x-mockverse-source"]) == ("0.2", "synthetic")
    full = c.get("/users/1", headers={"X-Mockverse-Reality": "1"})
    assert full.content == upstream.get("/users/1").content
    bad = c.get("/users/1", headers={"X-Mockverse-Reality": "lots"})
    assert bad.status_code == 400 and bad.headers["content-type"] == PROBLEM
    assert bad.json()["field"] == "X-Mockverse-Reality"

    # the virtual clock drives the schedule: 15 more days reach its end
    assert c.post("/api/v1/consistency/clock/advance", json={"by": "15d"}).status_code == 200
    assert resolve("/orders/3001")["ratio"] == 0.9
    assert c.get("/orders/3001").headers["x-mockverse-reality"] == "0.9"
    # without its own start the schedule starts with the workspace clock: 15 of 30 days gone
    c.put("/api/v1/reality", json={"schedule": {"from_ratio": 0.2, "to_ratio": 0.9, "over": "30d"}})
    assert resolve("/orders/3001")["ratio"] == 0.55


# -- settings over the API -------------------------------------------------------------------------
def test_put_is_effective_on_the_next_request_and_survives_a_restart(app_server, upstream, tmp_path):
    mock = app_server("--config", write_config(tmp_path, default_ratio=0, upstream=upstream.url))
    c = mock.client
    assert c.get("/api/v1/reality").json()["settings"]["default_ratio"] == 0
    assert c.get("/users/3").headers["x-mockverse-reality"] == "0"
    put = c.put("/api/v1/reality", json={"default_ratio": 0.5, "routes": [{"pattern": "/orders/*", "ratio": 1}]})
    assert put.status_code == 200, put.text
    assert put.json()["overrides"] == {"default_ratio": 0.5, "routes": [{"pattern": "/orders/*", "ratio": 1.0}]}
    assert c.get("/users/3").headers["x-mockverse-reality"] == "0.5"
    assert c.get("/orders/3001").headers["x-mockverse-source"] == "upstream"
    other = c.get("/users/3", headers={"X-Mockverse-Workspace": "other"})
    assert other.headers["x-mockverse-reality"] == "0"
    mock.restart()
    assert c.get("/users/3").headers["x-mockverse-reality"] == "0.5"
    assert c.get("/api/v1/reality").json()["settings"]["routes"] == [{"pattern": "/orders/*", "ratio": 1.0}]

    for body, field, says in [
        ({"default_ratio": 1.5}, "default_ratio", "from 0 to 1"),
        ({"routes": [{"pattern": "users/*", "ratio": 0.5}]}, "routes[0].pattern", "starting with '/'"),
        ({"routes": [{"pattern": "/users//x", "ratio": 0.5}]}, "routes[0].pattern", "empty segment"),
        ({"routes": [{"pattern": "/users/*", "ratio": -0.1}]}, "routes[0].ratio", "from 0 to 1"),
        ({"defualt_ratio": 0.5}, "defualt_ratio", "did you mean 'default_ratio'"),
        ({"schedule": {"from_ratio": 0, "to_ratio": 1, "over": "soon"}}, "schedule.over", "not a duration"),
    ]:
        bad = c.put("/api/v1/reality", json=body)
        assert bad.status_code == 400, body
        assert bad.headers["content-type"] == PROBLEM
        assert bad.json()["field"] == field
        assert says in bad.json()["detail"]
    assert c.get("/users/3").headers["x-mockverse-reality"] == "0.5"  # a bad PUT changes nothing
    assert c.delete("/api/v1/reality").json()["overrides"] is None
    assert c.get("/users/3").headers["x-mockverse-reality"] == "0"


# -- recordings: HAR import and the recorded tier ---------------------------------------------------
def test_a_har_file_imports_and_serves_as_the_recorded_tier(app_server, server, tmp_path):
    store_path = tmp_path / "har.db"
    store = open_store(str(store_path))
    result = import_har_file(store, "default", str(HAR), load_spec(builtin_spec_path()).operations)
    store.close()
    assert (result["imported"], result["skipped"]) == (5, 6)
    assert result["reasons"] == {"failed": 1, "no-content": 1, "no-operation": 1, "not-json": 3}
    har = json.loads(HAR.read_text())
    recorded: dict[str, dict] = {}
    for e in har["log"]["entries"]:  # the JSON answers (not the preflight, not the later 304)
        if e["request"]["method"] == "GET" and e["response"]["status"] == 200:
            recorded.setdefault(e["request"]["url"].removeprefix("https://api.example.com"), e)
    real_user = json.loads(recorded["/users/3"]["response"]["content"]["text"])

    mock = app_server("--config", write_config(tmp_path, default_ratio=0), store=store_path)
    c = mock.client
    half = {"X-Mockverse-Reality": "0.5"}
    synthetic = server.client.get("/users/3").json()
    got = c.get("/users/3", headers=half)
    assert got.headers["x-mockverse-source"] == "blend"
    assert got.headers["x-mockverse-blended-with"] == "recorded"
    assert got.headers["x-mockverse-reality"] == "0.5"
    body = got.json()
    assert body != synthetic
    # the persona's identity and links are kept: same id, same orders (real-only order 3901 is not linked)
    assert (body["id"], body["created_at"]) == (3, synthetic["created_at"])
    assert [o["id"] for o in body["orders"]] == [o["id"] for o in synthetic["orders"]]
    trace = trace_of(mock, got)
    assert trace["band"] == "recorded" and trace["recording"] == {"id": 1, "match": "exact", "source": "har"}
    assert trace["ratio_reason"]["source"] == "header"
    selects = [d for d in trace["decisions"] if d["rule"] == "select" and d["path"].count(".") == 1]
    assert selects and {d["source"] for d in selects} == {"real", "synthetic"}
    for d in selects:  # every field came from the side its decision names
        side = real_user if d["source"] == "real" else synthetic
        assert at(body, d["path"]) == at(side, d["path"]), d
        assert (d["u"] < 0.5) == (d["source"] == "real") and d["r"] == 0.5
    assert any(d["rule"] == "persona-links" and "3901" in d["path"] for d in trace["decisions"])

    # deterministic: the same request gives the same bytes
    assert c.get("/users/3", headers=half).content == got.content
    # coherent at r = 0.5: the user embeds exactly the orders /users/3/orders lists, and each order
    # agrees with /orders/{id}
    listed = c.get("/users/3/orders", headers=half)
    assert listed.headers["x-mockverse-source"] == "blend"
    assert listed.json() == body["orders"]
    order = c.get("/orders/3001", headers=half).json()
    embedded = body["orders"][0]
    assert {k: order[k] for k in embedded} == embedded
    # FIDELITY's order case inside the persona world: identity kept, integer count between the two,
    # (total, currency) taken together from one side (synthetic EUR vs recorded GBP)
    syn_order = server.client.get("/orders/3001").json()
    real_order = json.loads(__import__("base64").b64decode(recorded["/orders/3001"]["response"]["content"]["text"]))
    assert (order["id"], order["user_id"]) == (3001, 3)
    assert isinstance(order["item_count"], int)
    assert min(syn_order["item_count"], 2) <= order["item_count"] <= max(syn_order["item_count"], 2)
    assert (order["total"], order["currency"]) in {(syn_order["total"], syn_order["currency"]),
                                                   (real_order["total"], real_order["currency"])}
    assert order["user"]["id"] == 3 and [i["id"] for i in order["items"]] == [i["id"] for i in syn_order["items"]]
    # a user never recorded blends with a recording of the same route, keeping its own identity
    other = c.get("/users/4", headers=half)
    assert other.headers["x-mockverse-source"] == "blend" and other.json()["id"] == 4
    assert trace_of(mock, other)["recording"]["match"] == "route"
    # below 0.3 the recording is not used
    assert c.get("/users/3", headers={"X-Mockverse-Reality": "0.29"}).json() == synthetic


def test_recordings_api_imports_lists_shows_and_deletes(app_server, tmp_path):
    mock = app_server()
    c = mock.client
    ws = {"X-Mockverse-Workspace": "har"}
    imported = c.post("/api/v1/recordings/import", content=HAR.read_bytes(),
                      headers={**ws, "Content-Type": "application/json"})
    assert imported.status_code == 201, imported.text
    assert (imported.json()["imported"], imported.json()["reasons"]["not-json"]) == (5, 3)
    again = c.post("/api/v1/recordings/import", content=HAR.read_bytes(),
                   headers={**ws, "Content-Type": "application/json"})
    assert (again.json()["imported"], again.json()["reasons"]["duplicate"]) == (0, 5)
    listing = c.get("/api/v1/recordings", headers=ws).json()
    assert listing["total"] == 5
    assert {(r["method"], r["route"], r["path"]) for r in listing["recordings"]} == {
        ("GET", "/users/{id}", "/users/3"), ("GET", "/users/{id}/orders", "/users/3/orders"),
        ("GET", "/orders/{id}", "/orders/3001"), ("GET", "/orders", "/orders"), ("POST", "/orders", "/orders")}
    assert c.get("/api/v1/recordings").json()["total"] == 0  # another workspace
    only = c.get("/api/v1/recordings", params={"route": "/users/{id}"}, headers=ws).json()["recordings"]
    one = c.get(f"/api/v1/recordings/{only[0]['id']}", headers=ws).json()
    assert one["source"] == "har" and one["latency_ms"] == 143.27 and one["status"] == 200
    assert one["body"]["first_name"] == "Rita"
    assert one["request_headers"]["authorization"] == one["request_headers"]["cookie"] == "[redacted]"
    assert one["headers"]["set-cookie"] == "[redacted]" and ":authority" not in one["request_headers"]
    keyed = next(r for r in listing["recordings"] if r["path"] == "/orders" and r["method"] == "GET")
    assert keyed["query"] == "userId=3&api_key=[redacted]"
    assert c.delete(f"/api/v1/recordings/{one['id']}", headers=ws).status_code == 204
    assert c.get(f"/api/v1/recordings/{one['id']}", headers=ws).status_code == 404
    assert c.delete("/api/v1/recordings", headers=ws).json()["deleted"] == 4
    bad = c.post("/api/v1/recordings/import", json={"entries": []})
    assert bad.status_code == 400 and bad.json()["field"] == "log"
    assert c.get("/api/v1/recordings/abc").json()["field"] == "id"
    assert c.get("/api/v1/reality/trace/nope").status_code == 404


# -- record mode -----------------------------------------------------------------------------------
def test_record_mode_proxies_stores_and_replays(app_server, upstream, tmp_path):
    assert apply_record_mode({"seed": 7}, upstream.url) == {
        "seed": 7, "reality_continuum": {"enabled": True, "record": True, "upstream": upstream.url}}
    with pytest.raises(ValueError, match="http"):
        apply_record_mode({}, "ftp://example.com")
    config = tmp_path / "record.yaml"
    config.write_text(yaml.safe_dump(apply_record_mode({}, upstream.url) | {}))
    mock = app_server("--config", str(config))
    c = mock.client
    got = c.get("/users/3", headers={"Authorization": "Bearer real-token"})
    assert got.content == upstream.get("/users/3").content
    assert got.headers["x-mockverse-source"] == "upstream"
    assert upstream.seen[-2][2]["Authorization"] == "Bearer real-token"
    created = c.post("/orders", json={"user_id": 3, "total": 5})
    assert created.status_code == 201 and created.json()["created_by"] == "upstream"
    assert upstream.seen[-1][:2] == ("POST", "/orders")
    recordings = c.get("/api/v1/recordings").json()["recordings"]
    assert [(r["method"], r["path"], r["source"]) for r in recordings] == [("POST", "/orders", "record"),
                                                                          ("GET", "/users/3", "record")]
    post = c.get(f"/api/v1/recordings/{recordings[0]['id']}").json()
    assert post["request_body"] == {"user_id": 3, "total": 5}
    get = c.get(f"/api/v1/recordings/{recordings[1]['id']}").json()
    assert get["request_headers"]["authorization"] == "[redacted]"
    upstream.stop()
    replay = c.get("/users/3")
    assert replay.json() == got.json()
    assert replay.headers["x-mockverse-source"] == "recorded"


# -- realism ---------------------------------------------------------------------------------------
def waits_of(mock) -> list[float]:
    """The app's realism waits, noted instead of slept, on a clock that stands still while the app works (the
    reality service's injectable ``clock`` and ``sleep``): each wait is the whole latency."""
    waits: list[float] = []

    async def note(seconds: float) -> None:
        waits.append(seconds)

    mock.app.state.reality.clock = lambda: 0.0
    mock.app.state.reality.sleep = note
    return waits


def test_fixed_latency_and_error_rate_are_deterministic_per_request(app_server, tmp_path):
    config = write_config(tmp_path, realism={"latency": {"fixed": "150ms"}, "errors": {"rate": 0.3, "status": 503}})
    mock = app_server("--config", config)
    c = mock.client
    waits = waits_of(mock)
    expected = {n: 503 if unit_draw(SEED, f"GET /users/{n}?", "error") < 0.3 else 200 for n in range(1, 9)}
    assert set(expected.values()) == {200, 503}
    for _ in range(2):
        for n, status in expected.items():
            got = c.get(f"/users/{n}")
            assert trace_of(mock, got)["realism"]["latency_s"] == 0.15
            assert waits == [0.15]
            waits.clear()
            assert got.status_code == status
            if status == 503:
                assert got.headers["content-type"] == PROBLEM
                assert got.headers["x-mockverse-source"] == "realism-error"
            else:
                assert got.headers["x-mockverse-source"] == "synthetic"


def test_recorded_latency_and_errors_are_learned_per_operation(app_server, tmp_path):
    mock = app_server("--config", write_config(tmp_path, realism={"latency": "recorded", "errors": "recorded"}))
    c = mock.client

    def entry(url: str, status: int, ms: float) -> dict:
        return {"startedDateTime": f"2026-03-02T09:15:{int(ms) % 60:02d}.000Z", "time": ms,
                "request": {"method": "GET", "url": url, "headers": []},
                "response": {"status": status, "headers": [], "content": {"mimeType": "application/json",
                                                                          "text": '{"id": 1}'}}}

    har = {"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": [
        entry("https://api.test/users/1", 200, 400.0), entry("https://api.test/users/2", 200, 400.0),
        entry("https://api.test/orders/1001", 503, 20.0)]}}
    assert c.post("/api/v1/recordings/import", json=har).json()["imported"] == 3
    waits = waits_of(mock)
    slow = c.get("/users/8")
    assert slow.status_code == 200 and trace_of(mock, slow)["realism"]["latency_s"] == 0.4
    assert waits == [0.4]
    failing = c.get("/orders/3001")
    assert failing.status_code == 503 and failing.headers["x-mockverse-source"] == "realism-error"
    assert trace_of(mock, failing)["realism"]["learned_from"] == 1


def test_persona_world_stays_coherent_when_blended_at_half(app_server, upstream, tmp_path):
    mock = app_server("--config", write_config(tmp_path, upstream=upstream.url, timeout="2s"))
    c = mock.client
    for path in ("/users/3", "/users/3/orders"):  # ratio 1: proxied from the upstream and recorded
        assert c.get(path, headers={"X-Mockverse-Reality": "1"}).headers["x-mockverse-source"] == "upstream"
    half = {"X-Mockverse-Reality": "0.5"}
    user = c.get("/users/3", headers=half)
    listed = c.get("/users/3/orders", headers=half)
    assert user.headers["x-mockverse-reality"] == "0.5" and user.headers["x-mockverse-source"] == "blend"
    assert [o["id"] for o in user.json()["orders"]] == [o["id"] for o in listed.json()]
    assert user.json()["orders"] == listed.json()  # same values: each order blends by its own id
    assert all(o["user_id"] == 3 for o in listed.json())
    decisions = trace_of(mock, listed)["decisions"]
    assert {d["source"] for d in decisions} == {"synthetic", "real"}
    assert c.get("/users/3", headers=half).content == user.content  # the same request, the same bytes
