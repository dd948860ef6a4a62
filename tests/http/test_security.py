"""Safe on a developer's laptop: no web page drives the admin API, no SSRF through it, no
silent loss in Redis, no exhaustion by idle or slow clients, no unbounded ids.

In-process (``app_client``) for what is about HTTP; real processes for ports, descriptors,
Redis and timeouts (loopback only).
"""

from __future__ import annotations

import resource
import socket
import subprocess
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import yaml

from conftest import RedisServer, Server, free_port, redis_binary, run_main
from mockverse.config import ServerConfig
from mockverse.launcher import tls_context

PROBLEM = "application/problem+json"
ADVANCE = "/api/v1/consistency/clock/advance"


# -- the admin API answers only this server's own names ------------------------------------------
@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:3000", "127.0.0.1.nip.io:3000",
                                  "127.0.0.1:3001", "localhost:80", "", "[::2]:3000"])
def test_a_forged_host_is_refused_on_admin_paths(app_client, host):
    c = app_client()
    for method, path, body in [("POST", ADVANCE, {"by": "1h"}), ("GET", "/api/v1/consistency/clock", None),
                               ("GET", "/__mockverse/", None), ("GET", "/__admin/mappings", None)]:
        got = c.request(method, path, json=body, headers={"Host": host})
        assert got.status_code == 403 and got.headers["content-type"] == PROBLEM, (method, path, got.text)
        assert (got.json()["title"], got.json()["field"]) == ("Forbidden host", "host")
        assert got.json()["allowed"] == ["127.0.0.1:3000", "[::1]:3000", "localhost:3000"]
    assert c.get("/api/v1/consistency/clock").json()["moved"] is False   # nothing moved
    assert c.get("/users/3", headers={"Host": host}).status_code == 200   # the mock routes stay open


@pytest.mark.parametrize("host", ["127.0.0.1:3000", "localhost:3000", "[::1]:3000", "LOCALHOST:3000"])
def test_the_bound_names_are_accepted(app_client, host):
    got = app_client().post(ADVANCE, json={"by": "1h"}, headers={"Host": host})
    assert got.status_code == 200, got.text


def test_allowed_hosts_from_the_config_and_the_command_line(app_client, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"server": {"allowed_hosts": ["mock.internal:3000"]}}))
    c = app_client(config=config, allow_hosts=("dev.test",))
    assert c.post(ADVANCE, json={"by": "1h"}, headers={"Host": "mock.internal:3000"}).status_code == 200
    assert c.post(ADVANCE, json={"by": "1h"}, headers={"Host": "mock.internal:4000"}).status_code == 403
    assert c.post(ADVANCE, json={"by": "1h"}, headers={"Host": "dev.test:8443"}).status_code == 200   # any port


@pytest.mark.parametrize("bad", ["http://mock.internal", "mock internal", "a/b", "*"])
def test_allowed_hosts_are_checked_strictly(tmp_path, bad):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"server": {"allowed_hosts": [bad]}}))
    code, _, err = run_main("serve", "--config", str(config), "--store", str(tmp_path / "s.db"), "--port", "0")
    assert code == 2
    assert "server.allowed_hosts: allowed_hosts[0]:" in err and "is not a host name" in err


def test_a_cross_origin_page_gets_no_cors_and_is_refused(app_client):
    c = app_client()
    evil = {"Origin": "https://evil.example"}
    preflight = c.options(ADVANCE, headers={**evil, "Access-Control-Request-Method": "POST",
                                            "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers
    simple = c.post(ADVANCE, content=b'{"by": "1h"}', headers={**evil, "Content-Type": "text/plain"})
    assert simple.status_code == 403 and simple.json()["field"] == "origin"
    for origin in ("null", "http://127.0.0.1:3001", "http://localhost.evil.example:3000"):
        assert c.get("/api/v1/consistency/clock", headers={"Origin": origin}).status_code == 403, origin
    same = c.get("/api/v1/consistency/clock", headers={"Origin": "http://127.0.0.1:3000"})
    assert same.status_code == 200 and "access-control-allow-origin" not in same.headers
    # mock routes keep permissive CORS: browsers are their clients
    mock = c.options("/users/3", headers={**evil, "Access-Control-Request-Method": "GET"})
    assert mock.status_code == 200 and mock.headers["access-control-allow-origin"] == "*"
    assert c.get("/users/3", headers=evil).headers["access-control-allow-origin"] == "*"


def test_admin_cors_only_for_configured_origins(app_client, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"server": {"admin_cors_origins": ["http://localhost:5173"]}}))
    c = app_client(config=config)
    ok = c.options(ADVANCE, headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "http://localhost:5173"
    moved = c.post(ADVANCE, json={"by": "1h"}, headers={"Origin": "http://localhost:5173"})
    assert moved.status_code == 200 and moved.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert c.post(ADVANCE, json={"by": "1h"}, headers={"Origin": "http://localhost:5174"}).status_code == 403


@pytest.mark.parametrize("headers,content", [({}, b""), ({}, b'{"by": "1h"}'),
                                             ({"Content-Type": "text/plain"}, b'{"by": "1h"}'),
                                             ({"Content-Type": "application/x-www-form-urlencoded"}, b"by=1h"),
                                             ({"Content-Type": "multipart/form-data; boundary=x"}, b"")])
def test_admin_writes_must_be_json(app_client, headers, content):
    c = app_client()
    for path in (ADVANCE, "/api/v1/consistency/clock/reset"):
        got = c.post(path, content=content, headers=headers)
        assert got.status_code == 415 and got.headers["content-type"] == PROBLEM, got.text
        assert (got.json()["field"], got.json()["allowed"]) == ("content-type", ["application/json"])
    assert c.get("/api/v1/consistency/clock").json()["moved"] is False
    # a bodiless write says JSON too; then it works
    assert c.post("/api/v1/consistency/clock/reset", headers={"Content-Type": "application/json"}).status_code == 200
    assert c.delete("/api/v1/reality").status_code == 200   # DELETE has no body: a browser must preflight it


# -- no SSRF through the admin API --------------------------------------------------------------
class Internal:
    """An internal service on loopback that must never be reached through the mock."""

    def __init__(self) -> None:
        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                body = b'{"secret": "internal-only"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_an_upstream_set_over_the_api_must_be_allowed(app_server, tmp_path):
    internal = Internal()
    try:
        config = tmp_path / "reality.yaml"
        config.write_text(yaml.safe_dump({"reality_continuum": {"enabled": True}}))
        mock = app_server("--config", str(config))
        put = mock.client.put("/api/v1/reality", json={"upstream": internal.url, "default_ratio": 1})
        assert put.status_code == 403 and put.headers["content-type"] == PROBLEM
        assert (put.json()["title"], put.json()["field"], put.json()["allowed"]) == ("Upstream not allowed",
                                                                                     "upstream", [])
        assert (
            "--allow-upstream" in put.json()["detail"] and "reality_continuum.allowed_upstreams" in put.json()["detail"]
        )
        got = mock.client.get("/users/3")
        assert got.status_code == 200 and got.headers["x-mockverse-source"] == "synthetic"
        assert b"internal-only" not in got.content and internal.hits == []
        # allowed explicitly, it is used (paths and credentials may differ; scheme, host and port may not)
        allowed = app_server("--config", str(config), "--allow-upstream", internal.url)
        assert allowed.client.put("/api/v1/reality", json={"upstream": f"http://svc:pw@{internal.url[7:]}/v2",
                                                           "default_ratio": 1}).status_code == 200
        other_port = f"http://127.0.0.1:{free_port()}"
        assert allowed.client.put("/api/v1/reality", json={"upstream": other_port}).status_code == 403
        assert allowed.client.get("/users/3").json() == {"secret": "internal-only"}
        assert internal.hits == ["/v2/users/3"]
    finally:
        internal.stop()


# -- Redis: refused without persistence, nothing lost with it ------------------------------------
def test_a_redis_without_persistence_is_refused_at_start(tmp_path):
    redis = RedisServer(redis_binary(), tmp_path, persist=False).start()
    try:
        code, _, err = run_main("serve", "--store", redis.url, "--port", "0")
        assert code == 2
        lines = err.strip().splitlines()
        assert lines == [f"mockverse: store {redis.url}: Redis does not persist writes (appendonly is off; RDB "
                         "snapshots alone lose every write since the last one, and ids would be handed out again): "
                         "start it with --appendonly yes (or CONFIG SET appendonly yes), or pass --redis-volatile "
                         "to accept losing data"], err
        volatile = Server(tmp_path, "--store", redis.url, "--redis-volatile").start()
        try:
            assert volatile.client.post("/orders", json={"user_id": 1, "items": [
                {"sku": "A", "quantity": 1, "unit_price": 1}]}).status_code == 201
        finally:
            volatile.stop()
    finally:
        redis.stop()


def test_redis_with_aof_loses_no_acknowledged_order_after_kill_9(tmp_path):
    redis = RedisServer(redis_binary(), tmp_path, appendfsync="always").start()
    mock = Server(tmp_path, "--store", redis.url).start()
    try:
        acknowledged = []
        for i in range(200):
            made = mock.client.post("/orders", json={"user_id": 7, "items": [
                {"sku": f"SKU-{i}", "quantity": 1, "unit_price": i + 1}]})
            assert made.status_code == 201, made.text
            acknowledged.append(made.json())
        redis.kill()
        redis.start()
        for order in acknowledged:
            got = mock.client.get(f"/orders/{order['id']}")
            assert got.status_code == 200, (order, got.text)
            assert {k: got.json()[k] for k in order} == order
        ids = [order["id"] for order in acknowledged]
        more = [mock.client.post("/orders", json={"user_id": 7, "items": [
            {"sku": "after", "quantity": 1, "unit_price": 1}]}).json()["id"] for _ in range(20)]
        assert len(set(ids) | set(more)) == 220   # no id handed out twice
        assert min(more) > max(ids)
    finally:
        mock.stop()
        redis.stop()


# -- slow and idle clients -----------------------------------------------------------------------
def start_limited(tmp_path, *args: str, nofile: int = 1024, config: dict | None = None) -> Server:
    """A server started under ``ulimit -n`` (the soft open-file limit; the hard limit as it is)."""
    if config:
        path = tmp_path / "limits.yaml"
        path.write_text(yaml.safe_dump(config))
        args = ("--config", str(path), *args)
    server = Server(tmp_path, *args)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    launch = subprocess.Popen

    def popen(*a, **kw):
        return launch(*a, **kw, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard)))
    subprocess.Popen = popen
    try:
        return server.start()
    finally:
        subprocess.Popen = launch


def open_idle(port: int, count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        sockets.append(s)
    return sockets


def test_1100_idle_connections_under_ulimit_1024_while_another_client_is_served(tmp_path):
    tcp_port = free_port()
    server = start_limited(tmp_path, "--tcp-port", str(tcp_port))
    held: list[socket.socket] = []
    try:
        assert "open-file limit raised from 1024 to" in server.log()
        held = open_idle(server.port, 1100) + open_idle(tcp_port, 1100)
        with httpx.Client(base_url=server.url, timeout=10) as fresh:
            got = fresh.get("/users/3")
            assert got.status_code == 200 and got.json()["id"] == 3
        with socket.create_connection(("127.0.0.1", tcp_port), timeout=10) as s:
            s.sendall(b'{"op": "ping", "id": 1}\n')
            assert s.makefile("rb").readline() == b'{"id":1,"ok":true,"op":"pong"}\n'
    finally:
        for s in held:
            s.close()
        server.stop()


def test_past_the_cap_new_connections_get_503_and_a_log_line(tmp_path):
    server = start_limited(tmp_path, config={"server": {"max_connections": 20}})
    held = []
    try:
        held = open_idle(server.port, 20)
        time.sleep(0.5)   # let the server accept them all
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            answer = s.makefile("rb").read()
        assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n") and b"retry-after: 1" in answer
        assert b'"title":"Too many connections"' in answer
        assert "connection cap reached: 20 open HTTP connections (server.max_connections)" in server.log()
        for s in held:
            s.close()
        held = []
        deadline = time.monotonic() + 20
        with httpx.Client(base_url=server.url, timeout=5, verify=tls_context()) as client:
            while True:   # the server notices the closed ones and serves again
                try:
                    if client.get("/users/1").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        for s in held:
            s.close()
        server.stop()


def test_a_head_sent_too_slowly_gets_408_and_is_closed(tmp_path):
    server = start_limited(tmp_path, config={"server": {"header_timeout": "250ms"}})
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            s.sendall(b"GET /users/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n")   # and never the blank line
            answer = s.makefile("rb").read()   # to the close; the socket's 30 s timeout is only a backstop
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer[:200]
        assert b"server.header_timeout" in answer
    finally:
        server.stop()


def test_a_reused_keep_alive_connection_is_not_closed_under_the_client(tmp_path):
    """httpx drops an idle pooled connection after 5 s; uvicorn's default closed it at 5 s too, so a
    request sent on it at that moment could meet a closing socket. The server keeps an idle connection
    for ``server.keep_alive_timeout``, 75 s by default; here 2 s: reused after idling, closed after it."""
    assert ServerConfig().keep_alive_timeout == timedelta(seconds=75)
    assert ServerConfig().keep_alive_timeout.total_seconds() > httpx.Limits().keepalive_expiry == 5
    server = start_limited(tmp_path, config={"server": {"keep_alive_timeout": "2s"}})
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            reader = s.makefile("rb")
            for attempt in range(2):
                if attempt:
                    time.sleep(0.5)   # idle, then reuse the connection
                s.sendall(b"GET /users/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                status = reader.readline()
                assert status == b"HTTP/1.1 200 OK\r\n"
                length = 0
                while (line := reader.readline()) != b"\r\n":
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                assert len(reader.read(length)) == length
            assert reader.read() == b""   # the server closes it once idle for its keep_alive_timeout (30 s: backstop)
    finally:
        server.stop()


# -- ids within their type's range, on every write path -----------------------------------------
@pytest.mark.parametrize("entity_id", [-1, 0, 2**63, 2**64, "12x"])
def test_an_id_out_of_its_range_is_refused_before_anything_is_written(app_client, entity_id):
    c = app_client()
    before = c.get("/users/3/devices").json()
    got = c.post("/api/v1/consistency/entities", json={"entity_type": "device", "entity_id": entity_id,
                                                       "data": {"user_id": 3}})
    assert got.status_code == 422 and got.headers["content-type"] == PROBLEM
    assert got.json()["field"] == "entity_id"
    assert "must be an integer from 1 to 9223372036854775807" in got.json()["detail"]
    assert c.get("/users/3/devices").json() == before


def test_the_largest_id_is_written_and_read_back(app_client):
    c = app_client()
    top = 2**63 - 1
    made = c.post("/api/v1/consistency/entities", json={"entity_type": "device", "entity_id": top,
                                                        "data": {"user_id": 3}})
    assert made.status_code == 201 and made.json()["entity_id"] == top
    assert c.get(f"/api/v1/consistency/entities/device/{top}").json()["entity_id"] == top
    assert top in [d["id"] for d in c.get("/users/3/devices").json()]


@pytest.mark.parametrize("user_id", [-1, 0, 2**63, 2**64])
def test_a_foreign_key_out_of_range_is_refused_on_mock_writes(app_client, user_id):
    c = app_client()
    got = c.post("/orders", json={"user_id": user_id, "items": [{"sku": "A", "quantity": 1, "unit_price": 1}]})
    assert got.status_code == 422 and got.json()["field"] == "user_id"
    assert "must be an integer from 1 to 9223372036854775807" in got.json()["detail"]
    path = c.patch(f"/users/{2**63}", json={"name": "x"})
    assert path.status_code == 400 and path.json()["field"] == "id"
    assert path.json()["detail"] == "id must be an integer from 1 to 9223372036854775807"
