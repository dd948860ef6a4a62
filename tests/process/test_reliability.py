"""Reliability and security against real server processes: hostile input, crash safety,
concurrent writers, safe defaults, graceful shutdown, and config that is never code."""

from __future__ import annotations

import re
import signal
import socket
import sqlite3
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from concurrent_http import Call, Reply, run_chains
from conftest import Server, free_port, run_main
from mockverse.config import Config, ConfigError, load_config
from mockverse.launcher import tls_context


@pytest.fixture(scope="module")
def server(live_server):
    """A real `mockverse serve` process: raw sockets, the startup log and the bound address."""
    return live_server


PROBLEM = "application/problem+json"
LIFECYCLE = "/api/v1/consistency/persona/lifecycle"
ADVANCE = "/api/v1/consistency/clock/advance"
MIB = 1_048_576


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def assert_problem(r: httpx.Response, status: int, field: str) -> dict:
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and body["field"] == field, body
    assert body["title"] and body["detail"]
    return body


def raw_request(port: int, head: bytes, parts: list[bytes] = (), timeout: float = 10) -> tuple[int, dict, bytes]:
    """Send ``head`` then each of ``parts`` over one socket and read one response:
    for requests httpx will not make (chunked without Content-Length, byte-exact framing)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(head)
            for part in parts:
                s.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (413) and close before it has read everything we meant to send
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            assert chunk, f"connection closed before a response: {data!r}"
            data += chunk
        top, _, body = data.partition(b"\r\n\r\n")
        lines = top.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = s.recv(65536)
            assert chunk, "connection closed mid-response"
            body += chunk
        return int(lines[0].split()[1]), headers, body


def chunked(payload: bytes, size: int = 65536) -> list[bytes]:
    """``payload`` framed as HTTP/1.1 chunks."""
    out = [b"%x\r\n" % len(payload[i:i + size]) + payload[i:i + size] + b"\r\n" for i in range(0, len(payload), size)]
    return out + [b"0\r\n\r\n"]


# -- bad input ---------------------------------------------------------------------------------
def nested(levels: int) -> bytes:
    return b'{"entity_type": "device", "data": {"user_id": 1, "deep": ' + b"[" * levels + b"]" * levels + b"}}"


BAD_INPUT = [
    # (case, method, path, body, status, field)
    ("malformed JSON", "POST", "/orders", b"{not json", 400, "body"),
    ("truncated JSON", "POST", "/api/v1/consistency/entities", b'{"entity_type": "device"', 400, "body"),
    ("empty body", "POST", "/orders", b"", 400, "body"),
    ("wrong type: foreign key", "POST", "/orders", b'{"user_id": true}', 422, "$.user_id"),
    ("wrong type: entity_type", "POST", "/api/v1/consistency/entities", b'{"entity_type": 5}', 422, "entity_type"),
    ("wrong type: persona_id", "POST", LIFECYCLE, b'{"persona_id": 123, "lifecycle_state": "Active"}', 422,
     "persona_id"),
    ("wrong type: duration", "POST", ADVANCE, b'{"by": 7}', 400, "by"),
    ("wrong type: patch field", "PATCH", "/users/1", b'{"company": 5}', 422, "$.company"),
    ("wrong type: body is an array", "POST", LIFECYCLE, b'["user:1"]', 422, "body"),
    ("missing field: entity_type", "POST", "/api/v1/consistency/entities", b'{"data": {}}', 422, "entity_type"),
    ("missing field: by", "POST", ADVANCE, b"{}", 422, "by"),
    ("missing field: parent key", "POST", "/orders", b'{"status": "pending"}', 422, "$.user_id"),
    ("missing field: persona_id", "POST", LIFECYCLE, b'{"lifecycle_state": "Active"}', 422, "persona_id"),
    ("missing field: PUT replaces whole", "PUT", "/users/1", b"{}", 422, "$.first_name"),
    ("unknown field", "POST", LIFECYCLE, b'{"persona_id": "user:1", "state": "Active"}', 422, "state"),
    ("unknown enum: lifecycle state", "POST", LIFECYCLE, b'{"persona_id": "user:1", "lifecycle_state": "Zombie"}',
     400, "lifecycle_state"),
    ("unknown enum: order status", "POST", "/orders", b'{"user_id": 1, "status": "lost"}', 422, "$.status"),
    ("bad duration: word", "POST", ADVANCE, b'{"by": "soon"}', 400, "by"),
    ("bad duration: negative", "POST", ADVANCE, b'{"by": "-1d"}', 400, "by"),
    ("bad duration: overflows", "POST", ADVANCE, b'{"by": "99999999999999d"}', 400, "by"),
    ("bad duration: 400 digits", "POST", ADVANCE, b'{"by": "' + b"9" * 400 + b'd"}', 400, "by"),
    ("bad moment: not a date", "POST", "/api/v1/consistency/clock/set", b'{"to": "yesterday"}', 400, "to"),
    ("bad moment: out of range", "POST", "/api/v1/consistency/clock/set", b'{"to": "0001-01-01T00:00:00+05:00"}',
     400, "to"),
    ("bad moment: year 9999", "POST", "/api/v1/consistency/clock/set", b'{"to": "9999-12-31T23:59:59Z"}', 400, "to"),
    ("unknown clock action", "POST", "/api/v1/consistency/clock/rewind", b"{}", 404, "action"),
    ("bad ref: no colon", "GET", "/api/v1/consistency/graph/user-123", None, 400, "ref"),
    ("bad ref: unknown type", "GET", "/api/v1/consistency/graph/planet:1", None, 422, "ref"),
    ("bad ref: outside population", "GET", "/api/v1/consistency/graph/user:99999", None, 404, "ref"),
    ("bad ref: unknown edge", "GET", "/api/v1/consistency/graph/user:1?relationship=has_planets", None, 400,
     "relationship"),
    ("bad ref: depth", "GET", "/api/v1/consistency/graph/user:1?depth=99", None, 400, "depth"),
    ("bad ref: persona of a lifecycle", "POST", LIFECYCLE, b'{"persona_id": "user:abc", "lifecycle_state": "Active"}',
     404, "persona_id"),
    ("bad ref: persona of a registration", "POST", "/api/v1/consistency/entities",
     b'{"entity_type": "device", "data": {"user_id": 1}, "persona_id": "nope"}', 400, "persona_id"),
    ("oversized: Content-Length", "POST", "/orders", b'{"user_id": 1, "x": "' + b"a" * MIB + b'"}', 413, "body"),
    ("deeply nested: 100,000 [", "POST", "/orders", b"[" * 100_000, 400, "body"),
    ("deeply nested: valid, 1,000 levels", "POST", "/api/v1/consistency/entities", nested(1000), 400, "body"),
    ("deeply nested: valid, 100 levels", "POST", "/api/v1/consistency/entities", nested(100), 400, "body"),
    ("invalid UTF-8 in a mock write", "POST", "/orders", b'{"user_id": 1, "status": "\xff\xfe"}', 400, "body"),
    ("invalid UTF-8 in an admin write", "POST", LIFECYCLE, b'{"persona_id": "user:\xc3\x28"}', 400, "body"),
    ("not JSON media type", "POST", "/orders", b"<order/>", 415, "content-type"),
    ("very long path: 20 KB", "GET", "/" + "a" * 20_000, None, 404, "path"),
    ("very long id: 20 KB", "GET", "/users/" + "1" * 20_000, None, 400, "id"),
    ("query: _page=-1", "GET", "/users?_page=-1", None, 400, "_page"),
    ("query: _per_page=0", "GET", "/users?_per_page=0", None, 400, "_per_page"),
    ("query: _per_page too large", "GET", "/users?_per_page=100000", None, 400, "_per_page"),
    ("query: _limit not a number", "GET", "/orders?_limit=ten", None, 400, "_limit"),
    ("query: journal limit", "GET", "/api/v1/requests?limit=-1", None, 400, "limit"),
    ("query: journal status", "GET", "/api/v1/requests?status=ok", None, 400, "status"),
    ("query: graph type", "GET", "/api/v1/consistency/graph/user:1?type=planet", None, 400, "type"),
    ("bad workspace", "GET", "/users/1?workspace=bad%20workspace!", None, 400, "workspace"),
]


@pytest.mark.parametrize("case,method,path,body,status,field", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_gets_problem_json(server, case, method, path, body, status, field):
    media = "application/xml" if case == "not JSON media type" else "application/json"
    r = server.client.request(method, path, content=body, headers={"content-type": media} if body is not None else {})
    problem = assert_problem(r, status, field)
    if case == "unknown enum: lifecycle state":
        assert "PowerUser" in problem["allowed"]
    if case.startswith("very long"):
        assert len(r.content) < 2000  # the 20 KB path is not echoed back whole


def test_oversized_chunked_body_without_content_length(server):
    body = b'{"user_id": 1, "x": "' + b"a" * (MIB + 100) + b'"}'
    head = (b"POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    status, headers, raw = raw_request(server.port, head, chunked(body))
    assert status == 413 and headers["content-type"] == PROBLEM
    assert b'"field":"body"' in raw
    # just under the limit, chunked, is read whole and accepted
    small = b'{"user_id": 1, "currency": "EUR"' + b" " * 1000 + b"}"
    status, _, raw = raw_request(server.port, head, chunked(small, 100))
    assert status == 201, raw


def test_no_bad_input_reached_an_internal_error(server):
    """After the whole table: nothing above made the server fail or log a traceback."""
    assert server.client.get("/api/v1/health").status_code == 200
    log = server.log()
    assert "Traceback" not in log and "-> 500" not in log


def test_body_limit_is_configurable(app_server, tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text("server:\n  max_body_bytes: 2000\n")
    c = app_server("--config", str(config)).client
    fits = b'{"user_id": 1' + b" " * 1900 + b"}"
    assert c.post("/orders", content=fits, headers={"content-type": "application/json"}).status_code == 201
    too_big = b'{"user_id": 1' + b" " * 2100 + b"}"
    r = c.post("/orders", content=too_big, headers={"content-type": "application/json"})
    assert "2000 bytes" in assert_problem(r, 413, "body")["detail"]
    r = c.post("/orders", content=iter([too_big[:1000], too_big[1000:]]), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert_problem(r, 413, "body")


# -- crash safety ------------------------------------------------------------------------------
CRASH_STATES = ["ChurnRisk", "PowerUser", "UpgradePending", "Active"]


def test_acknowledged_writes_survive_sigkill(start_server):
    s = start_server()
    acked_orders: list[tuple[int, int]] = []
    acked_state: dict[str, str] = {}
    pending_state: dict[str, str] = {}
    acked_clock: list[str] = []
    errors: list[str] = []
    stop = threading.Event()

    def burst() -> None:
        """Creations, lifecycle changes and clock advances, one after another, until the server dies."""
        with httpx.Client(base_url=s.url, timeout=10) as c:
            for i in range(3000):
                if stop.is_set():
                    return
                kind, n = i % 3, i // 3
                try:
                    if kind == 0:
                        user = n % 40 + 1
                        r = c.post("/orders", json={"user_id": user, "status": "pending"})
                        if r.status_code == 201:
                            acked_orders.append((r.json()["id"], user))
                    elif kind == 1:
                        persona, state = f"user:{n % 5 + 1}", CRASH_STATES[(n // 5) % len(CRASH_STATES)]
                        pending_state[persona] = state
                        r = c.post(LIFECYCLE, json={"persona_id": persona, "lifecycle_state": state},
                                   headers={"X-Mockverse-Workspace": "crash-life"})
                        if r.status_code == 200:
                            acked_state[persona] = state
                    else:
                        r = c.post(ADVANCE, json={"by": "1h"}, headers={"X-Mockverse-Workspace": "crash-clock"})
                        if r.status_code == 200:
                            acked_clock.append(r.json()["now"])
                    if r.status_code >= 300:
                        errors.append(r.text)
                        return
                except httpx.TransportError:
                    return  # the server is gone: everything not acknowledged may or may not have landed

    writer = threading.Thread(target=burst)
    writer.start()
    deadline = time.monotonic() + 30
    while len(acked_orders) < 40 and time.monotonic() < deadline:  # about 120 writes of the three kinds
        time.sleep(0.01)
    s.proc.send_signal(signal.SIGKILL)  # mid-burst: the writer is still sending
    s.proc.wait()
    stop.set()
    writer.join(timeout=15)
    assert not writer.is_alive() and errors == []
    assert len(acked_orders) >= 40 and len(acked_clock) >= 39 and len(acked_state) == 5

    s.stop()
    s.start()
    c = s.client
    for order_id, user in acked_orders:
        r = c.get(f"/orders/{order_id}")
        assert r.status_code == 200 and r.json()["user_id"] == user, (order_id, r.text)
    for persona, state in acked_state.items():
        now = c.get(f"/api/v1/consistency/persona/{persona}/lifecycle",
                    headers={"X-Mockverse-Workspace": "crash-life"}).json()["lifecycle_state"]
        assert now in {state, pending_state[persona]}, (persona, now, state)  # the last write may have landed unacked
    last = ts(acked_clock[-1])
    assert last == ts("2026-01-01T00:00:00Z") + timedelta(hours=len(acked_clock))  # one hour per acknowledgement
    clock_now = ts(c.get("/api/v1/consistency/clock", headers={"X-Mockverse-Workspace": "crash-clock"}).json()["now"])
    assert clock_now in (last, last + timedelta(hours=1))  # at most the one unacknowledged advance landed
    with sqlite3.connect(s.store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert "Traceback" not in s.log()


# -- concurrency -------------------------------------------------------------------------------
CONCURRENT_STATES = ["Active", "ChurnRisk", "PowerUser", "UpgradePending"]


def _write(url: str, kind: str, user: int, seq: int) -> Call:
    """The ``seq``-th write to one key: a user's fields, or a persona's lifecycle."""
    if kind == "fields":
        return Call(url, "PATCH", f"/users/{user}", {"company": f"seq-{seq:04d}"})
    return Call(url, "POST", LIFECYCLE, {"persona_id": f"user:{user}", "metadata": {"seq": seq},
                                         "lifecycle_state": CONCURRENT_STATES[seq % 4]})


def _hammer(url: str, personas: range, writes_per_key: int) -> tuple[list[Reply], dict]:
    """Per key (a user's fields, a persona's lifecycle) writes go one after another, so the
    last acknowledged one is well defined; keys run concurrently over at most 32 connections."""
    keys = [(kind, user) for user in personas for kind in ("fields", "lifecycle")]
    replies = run_chains([[_write(url, kind, user, seq) for seq in range(writes_per_key)] for kind, user in keys],
                         connections=32)
    last = {key: max((seq for seq, r in enumerate(chain) if r.status < 300), default=None)
            for key, chain in zip(keys, replies, strict=True)}
    return [r for chain in replies for r in chain], last


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    """``mockverse serve --workers 2``: two uvicorn worker processes on one SQLite file."""
    s = Server(tmp_path_factory.mktemp("workers"), "--workers", "2").start()
    deadline = time.monotonic() + 20
    while s.log().count("mockverse serving") < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    yield s
    s.stop()


@pytest.mark.xdist_group("two_workers")   # one worker builds the two-worker server, once
def test_two_workers_take_2000_concurrent_writes(two_workers):
    s = two_workers
    assert s.log().count("mockverse serving") == 2, s.log()  # two worker processes, each logging like one server
    personas, per_key = range(1, 21), 50
    started = time.monotonic()
    responses, last = _hammer(s.url, personas, per_key)
    elapsed = time.monotonic() - started
    assert len(responses) == 2000
    failures = [(r.status, r.text[:200]) for r in responses if r.status >= 300]
    assert failures == []
    assert not any("locked" in r.text for r in responses)
    print(f"2000 writes on 2 workers in {elapsed:.1f}s ({2000 / elapsed:.0f}/s)")
    with httpx.Client(base_url=s.url, timeout=10, verify=tls_context()) as c, \
            httpx.Client(base_url=s.url, timeout=10, verify=tls_context(), headers={"connection": "close"}) as fresh:
        for user in personas:
            assert last[("fields", user)] == last[("lifecycle", user)] == per_key - 1
            for _ in range(3):  # new connections: spread over both workers, each must see the last write
                user_body = fresh.get(f"/users/{user}").json()
                assert user_body["company"] == f"seq-{per_key - 1:04d}"
                life = fresh.get(f"/api/v1/consistency/persona/user:{user}/lifecycle").json()
                assert life["metadata"]["seq"] == per_key - 1
                assert life["lifecycle_state"] == CONCURRENT_STATES[(per_key - 1) % 4]
                assert c.get(f"/users/{user}").json()["lifecycle_state"] == life["lifecycle_state"]
    log = s.log()
    assert "database is locked" not in log and "Traceback" not in log


@pytest.mark.xdist_group("two_workers")   # one worker builds the two-worker server, once
def test_concurrent_moves_of_one_clock_lose_none(two_workers):
    advance = Call(two_workers.url, "POST", ADVANCE, {"by": "1h"}, {"X-Mockverse-Workspace": "race"})
    replies = run_chains([[advance]] * 200, connections=32)
    assert {r.status for chain in replies for r in chain} == {200}
    now = two_workers.client.get("/api/v1/consistency/clock", headers={"X-Mockverse-Workspace": "race"}).json()
    assert now["elapsed_seconds"] == 200 * 3600


# -- safe defaults -----------------------------------------------------------------------------
TOKEN = "tok-3f9c1e-not-a-real-secret-7d2a"


def _listening_addresses(port: int) -> set[str]:
    """Local addresses listening on ``port``, from /proc/net/tcp (IPv4, hex little-endian)."""
    out = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, _, hex_port = local.partition(":")
        if state == "0A" and int(hex_port, 16) == port:
            out.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return out


def test_binds_loopback_by_default(server):
    assert Config().server.host == "127.0.0.1"
    assert re.search(rf"mockverse serving .* on http://127\.0\.0\.1:{server.port};", server.log())
    if Path("/proc/net/tcp").exists():
        assert _listening_addresses(server.port) == {"127.0.0.1"}


def test_refuses_a_public_address_without_a_token(tmp_path, monkeypatch):
    monkeypatch.delenv("MOCKVERSE_ADMIN_TOKEN", raising=False)
    code, out, err = run_main("serve", "--host", "0.0.0.0", "--port", str(free_port()),   # run_main: never serves
                              "--store", str(tmp_path / "state.db"))
    assert code == 2
    assert "refusing to serve on 0.0.0.0" in err and "MOCKVERSE_ADMIN_TOKEN" in err
    with pytest.raises(ConfigError, match="admin_token"):
        load_config(overrides={"server": {"admin_token": "  "}})


@pytest.mark.parametrize("how", ["flag", "env"])
def test_public_address_requires_the_token_for_admin_writes(start_server, how):
    args, env = (("--admin-token", TOKEN), None) if how == "flag" else ((), {"MOCKVERSE_ADMIN_TOKEN": TOKEN})
    s = start_server("--host", "0.0.0.0", *args, env=env)  # bound to every address; we only talk to 127.0.0.1
    assert f"on http://0.0.0.0:{s.port}" in s.log()
    c = s.client
    seen: list[httpx.Response] = []
    r = c.post(ADVANCE, json={"by": "1d"})
    seen.append(r)
    assert_problem(r, 401, "authorization")
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = c.post(ADVANCE, json={"by": "1d"}, headers={"Authorization": f"Bearer {TOKEN}x"})
    seen.append(r)
    assert_problem(r, 403, "authorization")
    r = c.post(ADVANCE, json={"by": "1d"}, headers={"Authorization": TOKEN})  # no scheme
    seen.append(r)
    assert_problem(r, 403, "authorization")
    seen.append(c.delete("/api/v1/requests"))
    assert_problem(seen[-1], 401, "authorization")
    seen.append(c.post(ADVANCE, json={"by": "1d"}, headers={"Authorization": f"Bearer {TOKEN}"}))
    assert seen[-1].status_code == 200 and seen[-1].json()["now"] == "2026-01-02T00:00:00Z"
    seen.append(c.post(ADVANCE, json={"by": "1d"}, headers={"Authorization": f"bearer {TOKEN}"}))
    assert seen[-1].status_code == 200
    # reads of the admin API and the mock API itself stay open
    seen.append(c.get("/api/v1/consistency/clock"))
    assert seen[-1].json()["now"] == "2026-01-03T00:00:00Z"
    seen.append(c.post("/orders", json={"user_id": 3}))
    assert seen[-1].status_code == 201
    seen.append(c.patch("/users/3", json={"company": "Open Co"}))
    assert seen[-1].status_code == 200
    for r in seen:
        assert TOKEN not in r.text and TOKEN not in str(r.headers)
    s.stop()
    assert TOKEN not in s.log()
    assert "POST /api/v1/consistency/clock/advance -> 401" in s.log()


# -- graceful shutdown -------------------------------------------------------------------------
def test_sigterm_finishes_the_request_in_flight_then_exits_0(start_server):
    s = start_server()
    body = b'{"user_id": 42, "status": "pending"' + b" " * 20_000 + b"}"
    head = (f"POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    result: dict = {}

    def slow_upload() -> None:
        """A request held open by its body: half now, the rest after the server was told to stop."""
        parts = [body[:10_000], b"WAIT", body[10_000:]]
        with socket.create_connection(("127.0.0.1", s.port), timeout=15) as sock:
            sock.sendall(head)
            for part in parts:
                if part == b"WAIT":
                    result["sent_half"] = True
                    assert started.wait(10)
                    time.sleep(0.8)  # the server is shutting down meanwhile
                    result["alive_mid_request"] = s.proc.poll() is None
                    continue
                sock.sendall(part)
            data = b""
            while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            result["response"] = data

    started = threading.Event()
    client = threading.Thread(target=slow_upload)
    client.start()
    deadline = time.monotonic() + 10
    while not result.get("sent_half") and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    s.proc.send_signal(signal.SIGTERM)
    started.set()
    client.join(timeout=20)
    assert result["alive_mid_request"]
    status_line = result["response"].split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 201 Created", result["response"][:300]
    assert b'"user_id":42' in result["response"]
    assert s.proc.wait(timeout=15) == 0
    log = s.log()
    assert "POST /orders -> 201" in log
    assert log.index("POST /orders -> 201") < log.index("mockverse stopped; store closed")


# -- config and data are never code ------------------------------------------------------------
@pytest.mark.parametrize("where", ["config", "spec"])
def test_yaml_tags_that_run_code_are_refused(tmp_path, where):
    marker = tmp_path / "pwned"
    evil = f'!!python/object/apply:os.system ["echo pwned; touch {marker}"]'
    path = tmp_path / f"{where}.yaml"
    if where == "config":
        path.write_text(f"seed: {evil}\n")
    else:
        path.write_text(f"openapi: 3.0.3\ninfo: {evil}\npaths: {{}}\n")
    code, out, err = run_main("serve", f"--{where}", str(path), "--port", str(free_port()),   # in this process
                              "--store", str(tmp_path / "state.db"))
    assert code == 2
    assert "python/object/apply:os.system" in err and str(path) in err
    assert "pwned" not in out and not marker.exists()
    if where == "config":
        with pytest.raises(ConfigError, match="tags that build Python objects are refused"):
            load_config(str(path))
        assert not marker.exists()


# -- the upstream client only talks to the configured upstream ------------------------------------
class Recorder:
    """A real HTTP server on a free loopback port that answers JSON and keeps what it was sent."""

    def __init__(self, name: str) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.seen: list[tuple[str, str, dict]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                recorder.seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                body = f'{{"id": 3, "answered_by": "{name}"}}'.encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.netloc = f"127.0.0.1:{self.server.server_address[1]}"
        self.url = f"http://{self.netloc}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def send_raw(port: int, head: str, body: bytes = b"") -> bytes:
    """Send bytes exactly as written (absolute-form targets, forged headers) and read the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_the_upstream_client_only_talks_to_the_configured_upstream(start_server, tmp_path):
    import yaml

    upstream, attacker = Recorder("upstream"), Recorder("attacker")
    try:
        config = tmp_path / "reality.yaml"
        config.write_text(yaml.safe_dump({"reality_continuum": {"enabled": True, "default_ratio": 1,
                                                                 "upstream": upstream.url, "timeout": "2s"}}))
        mock = start_server("--config", str(config))
        c, evil = mock.client, attacker.netloc
        forged = [{"Host": evil}, {"X-Forwarded-Host": evil, "X-Forwarded-Proto": "http", "X-Forwarded-Port": "80"},
                  {"Forwarded": f"host={evil};proto=http"}, {"X-Original-URL": f"{attacker.url}/users/3",
                                                             "X-Rewrite-URL": f"{attacker.url}/users/3"},
                  {"X-Mockverse-Upstream": attacker.url, "Referer": attacker.url, "Origin": attacker.url}]
        for headers in forged:
            got = c.get("/users/3", headers=headers)
            assert (got.status_code, got.json()["answered_by"]) == (200, "upstream"), headers
        got = c.get("/users/3", params={"next": f"{attacker.url}/", "url": attacker.url})
        assert got.json()["answered_by"] == "upstream"
        got = c.request("GET", "/users/3", json={"url": attacker.url, "upstream": attacker.url})
        assert got.json()["answered_by"] == "upstream"
        created = c.post("/orders", json={"user_id": 3, "callback_url": f"{attacker.url}/hook"})
        assert created.status_code == 201 and created.headers["x-mockverse-source"] == "synthetic"
        absolute = send_raw(mock.port, f"GET {attacker.url}/users/3 HTTP/1.1\nHost: {evil}\n"
                                          "Connection: close\n")
        assert absolute.startswith(b"HTTP/1.1 200") and b'"answered_by": "upstream"' in absolute
        statuses = []
        for target in (f"//{evil}/users/3", f"/users/3@{evil}", f"/..//{evil}/users/3", f"/%2F%2F{evil}/users/3"):
            answer = send_raw(mock.port, f"GET {target} HTTP/1.1\nHost: {evil}\nConnection: close\n")
            statuses.append(answer.split(b"\r\n", 1)[0].decode())
            if statuses[-1].startswith("HTTP/1.1 200"):
                assert b'"answered_by": "upstream"' in answer
        # none leaves for another host: each is a path of this server. /users/3@host is the upstream's
        # /users/3@host (proxied at ratio 1); //host/users/3, /..//host/... and /%2F%2F... match no route
        assert statuses == ["HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found",
                            "HTTP/1.1 404 Not Found"], statuses
        proxied = sum(s.startswith("HTTP/1.1 200") for s in statuses)
        assert attacker.seen == []
        assert len(upstream.seen) == len(forged) + 3 + proxied
        assert {m for m, _, _ in upstream.seen} == {"GET"}
        assert all(p.startswith("/users/3") for _, p, _ in upstream.seen)   # /users/3@host is a path there too
        assert {h["host"] for _, _, h in upstream.seen} == {upstream.netloc}
        assert not any(name.lower().startswith(("x-forwarded", "forwarded", "x-original", "x-rewrite", "origin",
                                                "referer")) for _, _, h in upstream.seen for name in h)
    finally:
        upstream.stop()
        attacker.stop()


# -- secrets never appear in logs, traces or API responses -----------------------------------------
def test_credentials_sent_to_the_upstream_never_appear_in_logs_traces_or_responses(app_server, tmp_path):
    import yaml

    upstream = Recorder("upstream")
    key, bearer, cookie, basic = "key-9f3c2a71", "bearer-4d81e6b0", "sid-77c1d2e9", "basic-5a0b3c4d"
    try:
        credentialed = f"http://svc:{basic}@{upstream.netloc}"
        config = tmp_path / "reality.yaml"
        config.write_text(yaml.safe_dump({"reality_continuum": {"enabled": True, "default_ratio": 1,
                                                                 "upstream": credentialed, "timeout": "2s"}}))
        mock = app_server("--config", str(config))
        c = mock.client
        got = c.get("/users/3", params={"api_key": key, "page": "1"},
                    headers={"Authorization": f"Bearer {bearer}", "X-Api-Key": key, "Cookie": f"sid={cookie}"})
        assert got.status_code == 200 and got.json()["answered_by"] == "upstream"
        _, path, headers = upstream.seen[-1]
        assert path == f"/users/3?api_key={key}&page=1"            # the upstream gets what it needs
        assert headers["authorization"] == f"Bearer {bearer}" and headers["x-api-key"] == key, headers
        assert "cookie" not in headers
        request_id = got.headers["x-mockverse-request-id"]
        seen = [got.text, str(dict(got.headers))]
        for path in ("/api/v1/reality", "/api/v1/reality/resolve?path=/users/3", f"/api/v1/reality/trace/{request_id}",
                     "/api/v1/requests", "/api/v1/recordings", "/api/v1/consistency/world",
                     "/api/v1/recordings.har", "/api/v1/requests.har"):
            answer = c.get(path)
            assert answer.status_code == 200, (path, answer.text[:300])
            seen.append(answer.text)
        for recording in c.get("/api/v1/recordings").json()["recordings"]:
            seen.append(c.get(f"/api/v1/recordings/{recording['id']}").text)
        shown = c.get("/api/v1/reality").json()["settings"]["upstream"]
        assert shown == f"http://svc:[redacted]@{upstream.netloc}"
        put = c.put("/api/v1/reality", json={"upstream": shown, "default_ratio": 1})  # what the dashboard does
        assert put.status_code == 200 and put.json()["overrides"]["upstream"] == shown
        seen.append(put.text)
        # a token standing as the user name (https://sk_live_...@api.example.com) is a credential too
        token = "tok-6e2f90ab"
        put = c.put("/api/v1/reality", json={"upstream": f"http://{token}@{upstream.netloc}"})
        assert put.json()["overrides"]["upstream"] == f"http://[redacted]@{upstream.netloc}"
        again = c.put("/api/v1/reality", json={"upstream": put.json()["overrides"]["upstream"]})  # sent back
        seen += [put.text, again.text, c.get("/api/v1/reality").text, c.get("/api/v1/recordings.har").text]
        mock.stop()
        stored = b"".join(p.read_bytes() for p in mock.store.parent.glob(mock.store.name + "*"))
        assert token.encode() in stored       # the redacted URL sent back kept the real credential
        seen.append(mock.log())
        everything = "\n".join(seen)
        assert "[redacted]" in everything
        for secret in (key, bearer, cookie, basic, token):
            assert secret not in everything, secret
    finally:
        upstream.stop()
