"""Webhooks: events fired by the API and by the virtual clock, signed, retried with backoff,
recorded, replayed, resumed. In process (an ASGI receiver, a wall clock moved by hand) for what
the dispatcher does (a restart too: a new app on the same store); real server processes and a
loopback receiver for crashes, workers and Redis."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import logging
import re
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from conftest import ROOT, Server
from mockverse.config import ConfigError
from mockverse.http.app import Settings, create_app
from mockverse.protocols.webhooks import WallClock

JSON = {"Content-Type": "application/json"}   # admin writes say JSON, also without a body

SECRET = "whsec-test-7f3a9c"
LIFECYCLE = "/api/v1/consistency/persona/lifecycle"
DELIVERIES = "/api/v1/webhooks/deliveries"
EVENTS = ["persona.lifecycle_changed", "order.created", "payment.failed", "payment.succeeded"]
_names = itertools.count(1)
HANG = -1                 # a receiver script entry: answer only after the sender's timeout


class HandClock(WallClock):
    """Wall time the test moves by hand: the dispatcher's waits end when the clock passes their
    deadline (or when it is woken), so retry gaps are exact and no test sleeps for them."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        self.now = start
        self.lock = threading.Lock()
        self.waiters: list[tuple[float, asyncio.AbstractEventLoop, asyncio.Future]] = []

    def time(self) -> float:
        return self.now

    async def wait(self, event: asyncio.Event, until: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.create_future()
        with self.lock:
            if until <= self.now:
                return
            self.waiters.append((until, loop, deadline))
        woken = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait({woken, deadline}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            with self.lock:
                self.waiters = [w for w in self.waiters if w[2] is not deadline]

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds
            due = [(loop, future) for at, loop, future in self.waiters if at <= self.now]
        for loop, future in due:
            loop.call_soon_threadsafe(lambda f=future: f.done() or f.set_result(None))


class Receiver:
    """A webhook receiver: answers each workspace's requests from its script of status codes (then
    200) and keeps every request it got. In process it is an ASGI app handed to the app as its
    webhook transport (times from the hand clock); for server processes ``serve()`` puts it on a
    free loopback port in a thread."""

    def __init__(self, clock: HandClock | None = None) -> None:
        self.requests: list[dict] = []
        self.scripts: dict[str, list[int]] = {}
        self.lock = threading.Lock()
        self.clock = clock
        self.url = "http://receiver.test/hooks"
        self.server: ThreadingHTTPServer | None = None

    def take(self, path: str, headers: dict[str, str], body: bytes) -> int:
        """Keep one request; the status to answer."""
        workspace = headers.get("x-mockverse-workspace", "")
        with self.lock:
            self.requests.append({"path": path, "headers": headers, "body": body, "workspace": workspace,
                                  "time": self.clock.time() if self.clock else time.monotonic()})
            script = self.scripts.get(workspace) or []
            return script.pop(0) if script else 200

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status = self.take(scope["path"], headers, body)
        if status == HANG:
            await asyncio.Event().wait()   # never answers: the sender's timeout ends it
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    def serve(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                status = receiver.take(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                try:
                    self.send_response(status)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass               # the sender gave up and closed the connection

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def of(self, workspace: str, event: str | None = None) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["workspace"] == workspace
                    and (event is None or r["headers"]["x-mockverse-event"] == event)]

    def wait(self, workspace: str, count: int, event: str | None = None, timeout: float = 30) -> list[dict]:
        """The requests once ``count`` have arrived (polled; the dispatcher runs in another thread)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.of(workspace, event)
            if len(got) >= count:
                return got
            time.sleep(0.01)
        raise AssertionError(
            f"expected {count} webhook requests for {workspace}/{event}, got {len(self.of(workspace, event))}"
        )

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def write_config(directory: Path, url: str, timeout: str = "5s", **retry: object) -> Path:
    retry = {"max_attempts": 3, "initial": "200ms", "factor": 4, **retry}
    text = json.dumps({"webhooks": [{"url": url, "events": EVENTS, "secret_env": "MOCKVERSE_WEBHOOK_SECRET",
                                     "retry": retry, "timeout": timeout}]})
    path = directory / "mockverse.yaml"
    path.write_text(text)  # JSON is YAML
    return path


class Logged(logging.Handler):
    """Every log line of the in-process app, to look for secrets in."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class Hooked:
    """The built-in world in process, its webhooks sent to an in-process receiver on a hand clock."""

    def __init__(self, directory: Path, secret: str | None = SECRET, spec: Path | None = None,
                 config: Path | None = None, clock: HandClock | None = None) -> None:
        self.clock = clock or HandClock()
        self.receiver = Receiver(self.clock)
        self.logged = Logged()
        config = config or write_config(directory, self.receiver.url, timeout="1s")
        patch = pytest.MonkeyPatch()
        patch.setenv("MOCKVERSE_WEBHOOK_SECRET", secret or "")
        logging.getLogger().addHandler(self.logged)
        app = create_app(Settings(config=str(config), spec=str(spec) if spec else None, seed="42",
                                  store=str(directory / "state.db")),
                         wall_clock=self.clock, webhook_transport=httpx.ASGITransport(app=self.receiver))
        self.client = TestClient(app, base_url="http://127.0.0.1:3000")
        self.client.__enter__()
        patch.undo()

    def log(self) -> str:
        return "\n".join(self.logged.lines)

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        logging.getLogger().removeHandler(self.logged)


@pytest.fixture(scope="module")
def hooked(tmp_path_factory):
    h = Hooked(tmp_path_factory.mktemp("hooked"))
    yield h
    h.close()


@pytest.fixture(scope="module")
def receiver(hooked):
    return hooked.receiver


@pytest.fixture(scope="module")
def served():
    """A receiver on a loopback port, for the tests that need mockverse server processes."""
    r = Receiver().serve()
    yield r
    r.close()


def workspace() -> str:
    return f"wh-{next(_names)}"


def client_for(server: Server | Hooked, ws: str):
    server.client.headers["X-Mockverse-Workspace"] = ws
    return server.client


def set_state(c, ws: str, persona: str, state: str, **extra) -> dict:
    r = c.post(LIFECYCLE, json={"workspace_id": ws, "persona_id": persona, "lifecycle_state": state, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def deliveries(c, **params) -> list[dict]:
    r = c.get(DELIVERIES, params=params)
    assert r.status_code == 200, r.text
    return r.json()["deliveries"]


def attempted(c, count: int, timeout: float = 30) -> list[dict]:
    """The workspace's one delivery once ``count`` attempts are recorded (the dispatcher writes them)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = deliveries(c)
        if len(rows[0]["attempts"] if rows else []) >= count:
            return rows
        time.sleep(0.01)
    raise AssertionError(f"{count} attempts were not recorded: {deliveries(c)}")


def settled(c, count: int, timeout: float = 30, **params) -> list[dict]:
    """Wait until ``count`` deliveries (matching ``params``) are no longer pending."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = deliveries(c, **params)
        if len(rows) >= count and all(d["status"] != "pending" for d in rows):
            return rows
        time.sleep(0.01)
    raise AssertionError(f"deliveries did not settle: {deliveries(c, **params)}")


def verify(secret: str, body: bytes, signature: str) -> bool:
    """The README's recipe, line for line."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def first_user_in(c, state: str, with_orders: bool = False) -> int:
    for page in range(1, 6):
        for user in c.get("/users", params={"_page": page, "_per_page": 100}).json():
            if user["lifecycle_state"] == state and (not with_orders or c.get(f"/users/{user['id']}/orders").json()):
                return user["id"]
    raise AssertionError(f"no generated {state} user in the first 500")


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- acceptance ------------------------------------------------------------------------------------
def test_new_signup_becoming_active_delivers_exactly_one_signed_event(hooked, receiver):
    ws = workspace()
    c = client_for(hooked, ws)
    uid = first_user_in(c, "NewSignup")
    set_state(c, ws, f"user:{uid}", "NewSignup")       # already its state: nothing fires, but it is watched now
    assert c.post("/api/v1/consistency/clock/advance", json={"by": "8d"}).status_code == 200
    [got] = receiver.wait(ws, 1, "persona.lifecycle_changed")
    settled(c, 1, event="persona.lifecycle_changed")    # its one delivery, and the one request it made
    assert len(receiver.of(ws, "persona.lifecycle_changed")) == 1
    user = c.get(f"/users/{uid}").json()
    event = json.loads(got["body"])
    history = c.get(f"/api/v1/consistency/persona/user:{uid}/lifecycle").json()["history"]
    assert history[-1]["state"] == "Active" and history[-1]["source"] == "rule:trial_converts"
    assert event["type"] == "persona.lifecycle_changed" and event["workspace"] == ws
    assert event["occurred_at"] == history[-1]["entered_at"]
    assert re.fullmatch(r"evt_[0-9a-f]{32}", event["id"])
    assert event["data"]["persona_id"] == f"user:{uid}"
    assert (event["data"]["from_state"], event["data"]["to_state"]) == ("NewSignup", "Active")
    assert event["data"]["source"] == "rule:trial_converts"
    assert event["data"]["user"] == user                # exactly the body of GET /users/{id}
    assert user["lifecycle_state"] == "Active"
    assert verify(SECRET, got["body"], got["headers"]["x-mockverse-signature"])
    assert not verify("another-secret", got["body"], got["headers"]["x-mockverse-signature"])
    assert got["headers"]["x-mockverse-event"] == "persona.lifecycle_changed"
    [delivery] = deliveries(c, event="persona.lifecycle_changed")
    assert got["headers"]["x-mockverse-delivery"] == str(delivery["id"])
    assert delivery["status"] == "delivered" and delivery["signed"] is True
    assert [(a["attempt"], a["status_code"]) for a in delivery["attempts"]] == [(1, 200)]
    assert delivery["payload"] == event and delivery["persona"] == f"user:{uid}"

    # the same window again (clock back, then forward): the same event id, never delivered twice
    assert c.post("/api/v1/consistency/clock/set", json={"to": "2026-01-01T00:00:00Z"}).status_code == 200
    assert c.post("/api/v1/consistency/clock/advance", json={"by": "8d"}).status_code == 200
    assert len(deliveries(c, event="persona.lifecycle_changed")) == 1   # events are published in the request
    assert len(receiver.of(ws, "persona.lifecycle_changed")) == 1


def test_a_failing_receiver_gets_three_attempts_with_growing_delays(hooked, receiver):
    ws = workspace()
    c = client_for(hooked, ws)
    receiver.scripts[ws] = [500, 500]
    set_state(
        c, ws, "user:21", "ChurnRisk" if c.get("/users/21").json()["lifecycle_state"] != "ChurnRisk" else "Active"
    )
    start = hooked.clock.time()
    for attempts, gap in ((1, 0.2), (2, 0.8)):
        receiver.wait(ws, attempts)
        [pending] = attempted(c, attempts)
        assert pending["status"] == "pending" and len(receiver.of(ws)) == attempts   # nothing before its time
        hooked.clock.advance(gap)
    got = receiver.wait(ws, 3)
    [delivery] = settled(c, 1)
    assert delivery["status"] == "delivered"
    assert [(a["attempt"], a["status_code"]) for a in delivery["attempts"]] == [(1, 500), (2, 500), (3, 200)]
    assert [r["headers"]["x-mockverse-attempt"] for r in got] == ["1", "2", "3"]
    assert len({r["body"] for r in got}) == 1 and len({r["headers"]["x-mockverse-event-id"] for r in got}) == 1
    assert all(verify(SECRET, r["body"], r["headers"]["x-mockverse-signature"]) for r in got)
    # backoff 200ms then 800ms, seen by the receiver and in the recorded attempt times
    assert [round(r["time"] - start, 3) for r in got] == [0.0, 0.2, 1.0]
    recorded = [(ts(b["at"]) - ts(a["at"])).total_seconds() for a, b in pairwise(delivery["attempts"])]
    assert recorded == [0.2, 0.8]


def test_a_hanging_receiver_never_holds_up_requests(hooked, receiver):
    ws = workspace()
    c = client_for(hooked, ws)
    receiver.scripts[ws] = [HANG]
    set_state(
        c, ws, "user:88", "ChurnRisk" if c.get("/users/88").json()["lifecycle_state"] != "ChurnRisk" else "Active"
    )
    receiver.wait(ws, 1)                                # the first attempt is in flight, the receiver hangs
    assert c.get("/users/88").status_code == 200
    [in_flight] = deliveries(c)
    assert in_flight["status"] == "pending" and in_flight["attempts"] == []
    attempted(c, 1)                                     # the subscription's 1s timeout ended it
    hooked.clock.advance(0.2)
    [delivery] = settled(c, 1)
    first, second = delivery["attempts"]
    assert first["status_code"] is None and "Timeout" in first["error"] and first["duration_ms"] >= 990
    assert second["status_code"] == 200 and delivery["status"] == "delivered"


def test_order_created_over_http_embeds_the_order_as_get_returns_it(hooked, receiver):
    ws = workspace()
    c = client_for(hooked, ws)
    r = c.post("/orders", json={"userId": 7, "currency": "EUR"})
    assert r.status_code == 201, r.text
    oid = r.json()["id"]
    [got] = receiver.wait(ws, 1, "order.created")
    event = json.loads(got["body"])
    assert event["data"]["order"] == c.get(f"/orders/{oid}").json()
    assert event["data"]["persona_id"] == "user:7"
    assert event["occurred_at"] == "2026-01-01T00:00:00Z"
    [delivery] = settled(c, 1, event="order.created")
    assert delivery["persona"] == "user:7" and delivery["status"] == "delivered"


def test_payment_failed_embeds_the_failed_payment(hooked, receiver):
    ws = workspace()
    c = client_for(hooked, ws)
    uid = first_user_in(c, "Active", with_orders=True)
    set_state(c, ws, f"user:{uid}", "PaymentFailed", metadata={"failed_payment_count": 1})
    [got] = receiver.wait(ws, 1, "payment.failed")
    event = json.loads(got["body"])
    orders = c.get(f"/users/{uid}/orders").json()
    [payment] = c.get(f"/orders/{orders[-1]['id']}/payments").json()
    assert payment["status"] == "failed"
    assert event["data"]["payment"] == c.get(f"/payments/{payment['id']}").json()
    assert event["data"]["persona_id"] == f"user:{uid}"
    [changed] = receiver.wait(ws, 1, "persona.lifecycle_changed")
    assert json.loads(changed["body"])["data"]["to_state"] == "PaymentFailed"
    assert json.loads(changed["body"])["data"]["source"] == "set"


def test_advancing_the_clock_delivers_the_new_orders_of_watched_personas(hooked, receiver):
    ws = workspace()
    c = client_for(hooked, ws)
    watched = []
    for page_user in c.get("/users", params={"_per_page": 60}).json():
        if page_user["lifecycle_state"] == "Active" and len(watched) < 5:
            watched.append(page_user["id"])
            set_state(c, ws, f"user:{page_user['id']}", "Active")   # set up: watched, no change
    unwatched = next(u["id"] for u in c.get("/users", params={"_page": 2, "_per_page": 60}).json()
                     if u["lifecycle_state"] == "Active")
    assert c.post("/api/v1/consistency/clock/advance", json={"by": "60d"}).status_code == 200
    start = ts("2026-01-01T00:00:00Z")
    expected, paid = {}, {}
    for uid in watched:
        for order in c.get(f"/users/{uid}/orders").json():
            if ts(order["created_at"]) > start:
                expected[order["id"]] = uid
                for payment in c.get(f"/orders/{order['id']}/payments").json():
                    if payment["status"] == "succeeded" and ts(payment["created_at"]) > start:
                        paid[payment["id"]] = payment
    assert expected, "five Active personas place no order in 60 days: pick others"
    settled(c, len(expected), event="order.created")   # published in the advance request, all sent now
    got = receiver.of(ws, "order.created")
    bodies = [json.loads(r["body"]) for r in got]
    assert sorted(b["data"]["order"]["id"] for b in bodies) == sorted(expected)
    for body in bodies:
        assert body["data"]["order"] == c.get(f"/orders/{body['data']['order']['id']}").json()
        assert body["occurred_at"] == body["data"]["order"]["created_at"]
        assert body["data"]["persona_id"] == f"user:{expected[body['data']['order']['id']]}"
    assert all(b["data"]["persona_id"] != f"user:{unwatched}" for b in bodies)   # only watched personas
    succeeded = [json.loads(r["body"]) for r in receiver.wait(ws, len(paid), "payment.succeeded")]
    assert sorted(b["data"]["payment"]["id"] for b in succeeded) == sorted(paid)
    assert all(b["data"]["payment"] == paid[b["data"]["payment"]["id"]] for b in succeeded)
    # the deliveries are in virtual-time order
    listed = list(reversed(deliveries(c, event="order.created")))
    assert [d["occurred_at"] for d in listed] == sorted(d["occurred_at"] for d in listed)


def test_a_failed_delivery_can_be_replayed(hooked, receiver):
    ws = workspace()
    c = client_for(hooked, ws)
    receiver.scripts[ws] = [503, 503, 503]
    set_state(c, ws, "user:33", "Churned" if c.get("/users/33").json()["lifecycle_state"] != "Churned" else "Active")
    for attempts, gap in ((1, 0.2), (2, 0.8)):
        attempted(c, attempts)
        hooked.clock.advance(gap)
    [delivery] = settled(c, 1)
    assert delivery["status"] == "failed"
    assert [a["status_code"] for a in delivery["attempts"]] == [503, 503, 503]
    assert delivery["next_attempt_at"] is None
    r = c.post(f"{DELIVERIES}/{delivery['id']}/replay", headers=JSON)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending" and r.json()["sequence"] == 2
    got = receiver.wait(ws, 4)
    [after] = settled(c, 1)
    assert after["status"] == "delivered"
    assert [(a["sequence"], a["attempt"], a["status_code"]) for a in after["attempts"]] == [
        (1, 1, 503), (1, 2, 503), (1, 3, 503), (2, 1, 200)]
    assert got[-1]["body"] == got[0]["body"]            # the same event, byte for byte
    one = c.get(f"{DELIVERIES}/{delivery['id']}")
    assert one.status_code == 200 and one.json() == after


def test_the_graph_lists_what_was_sent_about_a_persona(hooked, receiver):
    ws = workspace()
    c = client_for(hooked, ws)
    set_state(
        c, ws, "user:44", "ChurnRisk" if c.get("/users/44").json()["lifecycle_state"] != "ChurnRisk" else "Active"
    )
    assert c.post("/orders", json={"userId": 44, "currency": "USD"}).status_code == 201
    sent = settled(c, 2, persona="user:44")
    graph = c.get("/api/v1/consistency/graph/user:44", params={"type": "webhook"}).json()
    nodes = graph["nodes"]
    assert {n["relationship"] for n in nodes} == {"has_webhooks"}
    assert sorted(n["data"]["delivery_id"] for n in nodes) == sorted(d["id"] for d in sent)
    assert sorted(n["data"]["event"] for n in nodes) == ["order.created", "persona.lifecycle_changed"]
    assert all(n["data"]["user_id"] == 44 for n in nodes)
    assert "webhooks" not in c.get("/users/44").json()   # records never enter the mock bodies
    assert c.get("/api/v1/consistency/graph/user:45", params={"type": "webhook"}).json()["nodes"] == []


@pytest.mark.parametrize("params,field", [
    ({"event": "order.crated"}, "event"), ({"status": "sent"}, "status"), ({"persona": "user 44"}, "persona"),
    ({"limit": "0"}, "limit"), ({"limit": "abc"}, "limit"), ({"limit": "1001"}, "limit"),
])
def test_bad_delivery_filters_get_problem_json(hooked, params, field):
    r = hooked.client.get(DELIVERIES, params=params)
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == field
    if field in ("event", "status"):
        assert r.json()["allowed"]


def test_unknown_deliveries_and_replays(hooked):
    c = client_for(hooked, workspace())
    assert c.get(f"{DELIVERIES}/abc").json()["field"] == "id"
    assert c.get(f"{DELIVERIES}/abc").status_code == 400
    assert c.get(f"{DELIVERIES}/987654").status_code == 404
    assert c.post(f"{DELIVERIES}/987654/replay", headers=JSON).status_code == 404
    assert c.get(DELIVERIES).json() == {
        "workspace_id": c.headers["X-Mockverse-Workspace"],
        "deliveries": [],
        "count": 0,
    }


def test_the_secret_is_never_in_logs_or_responses(hooked, receiver):
    ws = workspace()
    c = client_for(hooked, ws)
    set_state(
        c, ws, "user:55", "PowerUser" if c.get("/users/55").json()["lifecycle_state"] != "PowerUser" else "Active"
    )
    settled(c, 1)
    subs = c.get("/api/v1/webhooks").json()["webhooks"]
    assert subs == [{"index": 0, "url": receiver.url, "events": EVENTS, "signed": True,
                     "secret_env": "MOCKVERSE_WEBHOOK_SECRET", "timeout_seconds": 1.0,
                     "retry": {"max_attempts": 3, "initial_seconds": 0.2, "factor": 4.0, "max_delay_seconds": 3600.0}}]
    for path in ("/api/v1/webhooks", DELIVERIES, "/api/v1/openapi.json"):
        assert SECRET not in c.get(path).text
    assert SECRET not in hooked.log()
    assert "/api/v1/webhooks/deliveries/{id}/replay" in c.get("/api/v1/openapi.json").json()["paths"]


# -- servers of their own -------------------------------------------------------------------------
def test_a_pending_delivery_resumes_after_a_restart(tmp_path):
    """The app is stopped between a failed attempt and its retry, and started again on the same store
    (a new app, engine and dispatcher): the retry goes out once its backoff has passed, not before."""
    ws = workspace()
    config = write_config(tmp_path, Receiver().url, timeout="1s", initial="3s", max_attempts=5)
    first = Hooked(tmp_path, config=config)
    try:
        first.receiver.scripts[ws] = [500]
        c = client_for(first, ws)
        set_state(
            c, ws, "user:66", "ChurnRisk" if c.get("/users/66").json()["lifecycle_state"] != "ChurnRisk" else "Active"
        )
        first.receiver.wait(ws, 1)
        [pending] = attempted(c, 1)
        assert pending["status"] == "pending" and [a["status_code"] for a in pending["attempts"]] == [500]
        first.clock.advance(2.9)   # short of the backoff: the retry is not due before the stop
    finally:
        first.close()
    assert len(first.receiver.of(ws)) == 1
    again = Hooked(tmp_path, config=config, clock=HandClock(first.clock.time()))
    try:
        c = client_for(again, ws)
        [still] = deliveries(c)
        assert still["status"] == "pending" and len(still["attempts"]) == 1 and again.receiver.of(ws) == []
        again.clock.advance(0.1)
        [got] = again.receiver.wait(ws, 1)
        [done] = settled(c, 1)
        assert done["id"] == pending["id"] and done["status"] == "delivered"
        assert [a["status_code"] for a in done["attempts"]] == [500, 200]
        assert got["body"] == first.receiver.of(ws)[0]["body"]
        assert got["time"] == first.clock.time() + 0.1
    finally:
        again.close()


def test_events_left_in_flight_by_a_crash_are_delivered_once_on_the_next_start(tmp_path, served):
    """A publisher killed mid-way leaves its events in flight, unclaimed: one after appending its
    delivery, one before. The next start finishes both, reusing the appended delivery, and claims them."""
    from mockverse.protocols.webhooks import CLAIMED, KIND, PUBLISHING, event_id
    from mockverse.store.sqlite import SQLiteStore

    ws, at, kind = workspace(), "2026-01-01T00:00:00Z", "persona.lifecycle_changed"
    eids = [event_id(ws, kind, f"user:9#{step}", at) for step in (1, 2)]
    bodies = [json.dumps({"id": eid, "type": kind, "workspace": ws, "occurred_at": at,
                          "data": {"persona_id": "user:9", "step": step}}) for step, eid in enumerate(eids, 1)]
    store = SQLiteStore(str(tmp_path / "state.db"))
    store.put_setting(
        ws,
        PUBLISHING,
        {
            eid: {"type": kind, "at": at, "persona": "user:9", "body": body, "owner": "a-killed-worker", "until": 0}
            for eid, body in zip(eids, bodies, strict=True)
        },
    )
    appended = store.append(ws, KIND, eids[0], {
        "event_id": eids[0], "event": kind, "workspace": ws, "url": served.url, "subscription": 0,
        "persona": "user:9", "occurred_at": at, "status": "pending", "signed": True,
        "signature": "X-Mockverse-Signature", "sequence": 1, "attempts": [], "created_at": at,
        "next_attempt_at": at, "body": bodies[0]})
    store.close()
    config = write_config(tmp_path, served.url)
    s = Server(tmp_path, "--config", str(config), env={"MOCKVERSE_WEBHOOK_SECRET": SECRET}).start()
    try:
        c = client_for(s, ws)
        got = served.wait(ws, 2)
        rows = settled(c, 2)
    finally:
        s.stop()
    assert sorted(r["body"] for r in served.of(ws)) == sorted(b.encode() for b in bodies)
    assert all(verify(SECRET, r["body"], r["headers"]["x-mockverse-signature"]) for r in got)
    by_event = {d["event_id"]: d for d in rows}
    assert len(rows) == 2 and by_event[eids[0]]["id"] == appended
    assert [d["status"] for d in rows] == ["delivered", "delivered"]
    store = SQLiteStore(str(tmp_path / "state.db"))
    try:
        assert store.get_setting(ws, PUBLISHING) == {}
        for eid in eids:
            assert store.get_setting(ws, CLAIMED + eid) == {"type": kind, "at": at, "deliveries": [by_event[eid]["id"]]}
    finally:
        store.close()


def test_two_workers_deliver_each_event_once(tmp_path, served):
    ws = workspace()
    config = write_config(tmp_path, served.url)
    s = Server(tmp_path, "--config", str(config), "--workers", "2", env={"MOCKVERSE_WEBHOOK_SECRET": SECRET}).start()
    try:
        c = client_for(s, ws)
        chosen = list(itertools.islice((u for u in range(101, 140)   # the first 10, read no further
                                        if c.get(f"/users/{u}").json()["lifecycle_state"] != "NewSignup"), 10))
        for uid in chosen:
            set_state(c, ws, f"user:{uid}", "NewSignup")      # 10 events, set over the API
        for _ in range(3):   # the same window, moved again and again (requests alternate between workers)
            assert c.post("/api/v1/consistency/clock/advance", json={"by": "8d"}).status_code == 200
            assert c.post("/api/v1/consistency/clock/set", json={"to": "2026-01-01T00:00:00Z"}).status_code == 200
        rows = settled(c, 20, event="persona.lifecycle_changed")
        got = [json.loads(r["body"]) for r in served.of(ws, "persona.lifecycle_changed")]
        assert len(rows) == 20 and len(got) == 20 and len({e["id"] for e in got}) == 20
        assert sorted(e["data"]["persona_id"] for e in got if e["data"]["source"] == "rule:trial_converts") == \
            sorted(f"user:{u}" for u in chosen)
    finally:
        s.stop()


def test_an_unsigned_subscription_says_so(tmp_path):
    ws = workspace()
    h = Hooked(tmp_path, secret=None)
    try:
        c = client_for(h, ws)
        set_state(
            c, ws, "user:77", "ChurnRisk" if c.get("/users/77").json()["lifecycle_state"] != "ChurnRisk" else "Active"
        )
        [got] = h.receiver.wait(ws, 1)
        assert "x-mockverse-signature" not in got["headers"]
        [delivery] = settled(c, 1)
        assert delivery["signed"] is False
        assert delivery["signature"] == "unsigned: MOCKVERSE_WEBHOOK_SECRET is not set"
        assert "MOCKVERSE_WEBHOOK_SECRET is not set" in h.log()
    finally:
        h.close()


@pytest.mark.parametrize("events,message", [
    (["order.crated"], "did you mean 'order.created'?"),
    (["widget.created"], "'widget' is not an entity type of this world"),
    ([], "at least 1"),
])
def test_bad_webhook_config_is_refused(tmp_path, events, message):
    config = tmp_path / "mockverse.yaml"
    config.write_text(json.dumps({"webhooks": [{"url": "http://127.0.0.1:9/hooks", "events": events}]}))
    with pytest.raises(ConfigError) as exc:
        create_app(Settings(config=str(config), store=str(tmp_path / "state.db")))
    assert message in str(exc.value)


def test_readme_documents_the_signature_recipe():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Webhooks", 1)[1].split("\n## ", 1)[0]
    assert 'expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()' in section
    assert "return hmac.compare_digest(expected, signature)" in section


def test_a_spec_world_embeds_its_own_user_body(tmp_path):
    ws = workspace()
    config = tmp_path / "mockverse.yaml"
    config.write_text(json.dumps({"webhooks": [{"url": Receiver().url, "events": ["persona.lifecycle_changed"]}]}))
    h = Hooked(tmp_path, spec=ROOT / "tests" / "fixtures" / "specs" / "shop.yaml", config=config)
    try:
        c = client_for(h, ws)
        types = c.get("/api/v1/consistency/world").json()["entity_types"]
        uid = next(t for t in types if t["name"] == "user")["sample"][0]["id"]
        state = c.get(f"/v1/users/{uid}").headers["x-mockverse-lifecycle"]
        set_state(c, ws, f"user:{uid}", "Churned" if state != "Churned" else "Active")
        [got] = h.receiver.wait(ws, 1)
        assert json.loads(got["body"])["data"]["user"] == c.get(f"/v1/users/{uid}").json()
        nodes = c.get(f"/api/v1/consistency/graph/user:{uid}", params={"type": "webhook"}).json()["nodes"]
        assert [n["data"]["event"] for n in nodes] == ["persona.lifecycle_changed"]
    finally:
        h.close()


def test_webhooks_on_a_redis_store(tmp_path, served, redis_server):
    ws = workspace()
    served.scripts[ws] = [500]
    config = write_config(tmp_path, served.url)
    s = Server(tmp_path, "--config", str(config), "--store", redis_server.url,
               env={"MOCKVERSE_WEBHOOK_SECRET": SECRET}).start()
    try:
        c = client_for(s, ws)
        uid = first_user_in(c, "NewSignup")
        set_state(c, ws, f"user:{uid}", "NewSignup")
        assert c.post("/api/v1/consistency/clock/advance", json={"by": "8d"}).status_code == 200
        [delivery] = settled(c, 1, event="persona.lifecycle_changed")
        assert [a["status_code"] for a in delivery["attempts"]] == [500, 200]
        assert delivery["payload"]["data"]["user"] == c.get(f"/users/{uid}").json()
        got = served.of(ws, "persona.lifecycle_changed")
        assert len(got) == 2 and verify(SECRET, got[1]["body"], got[1]["headers"]["x-mockverse-signature"])
    finally:
        s.stop()
