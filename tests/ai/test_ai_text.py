"""LLM-written text fields (bios, support tickets, reviews) against a real loopback
chat-completions server: a cold read serves the deterministic fallback and asks for the text,
the queue writes it once, every process then serves the same bytes; a full queue or a dead
LLM never blocks a read, and offline the fallback says so."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from conftest import free_port
from llm_fixture import example, llm_server, schema_of  # noqa: F401
from mockverse.ai.text_writer import COOLDOWN
from mockverse.protocols.webhooks import WallClock
from mockverse.world.free_text import TICKET_BY_STATE

LIFECYCLE = "/api/v1/consistency/persona/lifecycle"
KEY = "sk-text-secret-7777"
HEADER = "x-mockverse-text"


def config(tmp_path: Path, url: str, **ai: str) -> str:
    path = tmp_path / "ai.yaml"
    lines = [f"  {k}: {v}" for k, v in {"base_url": url, "model": "test-model", "text_budget": "0ms", **ai}.items()]
    path.write_text("ai:\n" + "\n".join(lines) + "\n")
    return str(path)


def payment_failed(client, persona: str = "user:7") -> None:
    r = client.post(LIFECYCLE, json={"persona_id": persona, "lifecycle_state": "PaymentFailed"})
    assert r.status_code == 200, r.text


def until_llm(client, path: str, tries: int = 60):
    """Read ``path`` until its text comes from the LLM (a bounded number of reads)."""
    for _ in range(tries):
        r = client.get(path)
        if r.headers[HEADER] == "llm":
            return r
        time.sleep(0.1)
    raise AssertionError(f"{path} never served LLM text: {r.headers.get(HEADER)}")


def text_requests(llm) -> list[dict]:
    return [r for r in llm.requests if schema_of(r["body"])[0] == "mockverse_text"]


class HandClock(WallClock):
    """The app's timer clock, moved by the test: the cooldown ends when the test says, not after a wait."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def time(self) -> float:
        return self.now


def test_offline_the_fallback_is_shaped_by_the_state_and_says_so(app_server):
    server = app_server()
    c = server.client
    payment_failed(c)
    r = c.get("/users/7/support")
    assert r.status_code == 200 and r.headers[HEADER] == "fallback"
    ticket = r.json()["tickets"][0]
    assert ticket["subject"] in TICKET_BY_STATE["PaymentFailed"][0]
    assert "payment" in ticket["subject"].lower()
    assert ticket["body"].split(". ")[0] + "." in TICKET_BY_STATE["PaymentFailed"][1]
    assert c.get("/users/7/support").content == r.content
    user = c.get("/users/7")
    assert user.headers[HEADER] == "fallback"
    assert user.json()["bio"] == "Oil issue left serious. Your mouth west series media fish expect fund."  # seed 42
    assert HEADER not in c.get("/users/7/billing").headers          # no text field in that response
    assert c.get("/api/v1/consistency/world").json()["text"]["llm"] is False
    written = c.patch("/users/7", json={"bio": "Written by the user."})
    assert written.status_code == 200 and written.json()["bio"] == "Written by the user."
    r = c.get("/users/7")
    assert r.json()["bio"] == "Written by the user." and HEADER not in r.headers   # the user's text is not ours


def test_cold_read_is_pending_then_llm_text_once_for_every_process(app_server, llm_server, tmp_path):  # noqa: F811
    store = tmp_path / "state.db"
    cfg = config(tmp_path, llm_server.url)
    server = app_server("--config", cfg, store=store, env={"OPENAI_API_KEY": KEY})
    c = server.client
    payment_failed(c)
    cold = c.get("/users/7/support")
    assert cold.status_code == 200 and cold.headers[HEADER] == "pending"
    assert cold.json()["tickets"][0]["subject"] in TICKET_BY_STATE["PaymentFailed"][0]   # the fallback, for now
    done = until_llm(c, "/users/7/support")
    tickets = done.json()["tickets"]
    assert tickets[0]["subject"] == "Example tickets[0].subject"     # the fixture's answer for that key
    assert tickets[0]["body"] == "Example tickets[0].body"
    assert done.json()["support_tier"] == cold.json()["support_tier"]  # only the text changed

    asked = text_requests(llm_server)
    assert len(asked) == 1            # subject and body of every ticket in one call; the bio was not served
    prompt = asked[0]["body"]["messages"][-1]["content"]
    assert "lifecycle state PaymentFailed" in prompt and "past due" in prompt
    assert "user:7" in prompt and '"billing_ticket_status":"open"' in prompt
    props = schema_of(asked[0]["body"])[1]["properties"]
    assert set(props) == {f"tickets[{i}].{f}" for i in range(len(tickets)) for f in ("subject", "body")}
    assert asked[0]["headers"]["authorization"] == f"Bearer {KEY}"
    with sqlite3.connect(store) as db:   # one artefact for the entity, every field in it (one write)
        keys = [k for (k,) in db.execute("SELECT key FROM setting WHERE key LIKE 'ai:text:%' ORDER BY key")]
        value = json.loads(db.execute("SELECT value FROM setting WHERE key='ai:text:user:7#support'").fetchone()[0])
    assert keys == ["ai:text:user:7#support"]
    assert value["tickets[0].subject"] == {"text": "Example tickets[0].subject", "model": "test-model", "run": None,
                                           "state": "PaymentFailed"}
    assert set(value) == set(props)

    # a repeated read is the same bytes; another process on the store serves them too, asking nothing
    assert c.get("/users/7/support").content == done.content
    other = app_server("--config", cfg, store=store, env={"OPENAI_API_KEY": KEY})
    again = other.client.get("/users/7/support")
    assert again.content == done.content and again.headers[HEADER] == "llm"
    server.restart()
    assert c.get("/users/7/support").content == done.content
    assert len(text_requests(llm_server)) == 1      # frozen: generated once, ever
    stats = c.get("/api/v1/consistency/world").json()["text"]
    assert (stats["queued"], stats["dropped"], stats["calls"]) == (0, 0, 0)
    for s in (server, other):
        assert KEY not in s.log()

    # a new lifecycle state: the text written for the old one is served, and written again for the new one
    r = c.post(LIFECYCLE, json={"persona_id": "user:7", "lifecycle_state": "ChurnRisk"})
    assert r.status_code == 200
    stale = c.get("/users/7/support")
    assert stale.headers[HEADER] == "pending" and stale.json()["tickets"][0]["subject"] == "Example tickets[0].subject"
    until_llm(c, "/users/7/support")
    asked = text_requests(llm_server)
    assert len(asked) == 2 and "lifecycle state ChurnRisk" in asked[1]["body"]["messages"][-1]["content"]


def test_within_the_budget_a_cold_read_serves_the_llm_text(app_server, llm_server, tmp_path):  # noqa: F811
    def bio(body: dict) -> dict:
        name, schema = schema_of(body)
        if name == "mockverse_text":
            return {"content": json.dumps({k: f"I write about {k} for a living." for k in schema["properties"]})}
        return {"content": json.dumps(example(schema or {}))}

    llm_server.responder = bio
    server = app_server("--config", config(tmp_path, llm_server.url, text_budget="10s"))
    r = server.client.get("/users/12")
    assert r.headers[HEADER] == "llm" and r.json()["bio"] == "I write about bio for a living."
    assert len(text_requests(llm_server)) == 1
    assert "a short bio the persona wrote" in text_requests(llm_server)[0]["body"]["messages"][-1]["content"]
    assert server.client.get("/users/12").content == r.content


def test_a_full_queue_never_blocks_a_read(app_server, llm_server, tmp_path):  # noqa: F811
    llm_server.script({"hang": 30})       # the first job's call hangs: the worker is busy
    server = app_server("--config", config(tmp_path, llm_server.url, queue_size="1", timeout="60s",
                                             max_retries="0"))
    c = server.client
    page = c.get("/users")                # 20 users with a bio each: one job fits in the queue
    assert page.status_code == 200 and page.headers[HEADER] == "pending" and len(page.json()) == 20
    stats = c.get("/api/v1/consistency/world").json()["text"]
    assert (stats["queued"], stats["dropped"]) == (1, 19)
    for _ in range(50):                   # the worker takes the job (and hangs on it)
        if c.get("/api/v1/consistency/world").json()["text"]["waiting"] == 0:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the worker never took the queued job")
    second = c.get("/users/900")
    assert second.status_code == 200 and second.headers[HEADER] == "pending"   # queued behind the hung call
    third = c.get("/users/901")
    assert third.status_code == 200 and third.headers[HEADER] == "fallback"    # the queue is full: dropped
    stats = c.get("/api/v1/consistency/world").json()["text"]
    assert (stats["queued"], stats["dropped"], stats["written"]) == (2, 20, 0)


def test_llm_down_serves_the_fallback(app_server, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    server = app_server("--config", config(tmp_path, dead, text_budget="5s", max_retries="0"),
                        env={"OPENAI_API_KEY": KEY}, wall_clock=HandClock())   # the cooldown never ends
    c = server.client
    payment_failed(c, "user:8")
    r = c.get("/users/8/support")
    assert r.status_code == 200 and r.headers[HEADER] == "fallback"
    assert r.json()["tickets"][0]["subject"] in TICKET_BY_STATE["PaymentFailed"][0]
    r = c.get("/order_items/500101")
    assert r.status_code == 200 and r.headers[HEADER] == "fallback"   # within the cooldown: not even queued
    stats = c.get("/api/v1/consistency/world").json()["text"]
    assert (stats["failed"], stats["written"]) == (1, 0)
    assert KEY not in server.log() and "cannot reach the LLM server" in server.log()


def test_live_mode_writes_the_text_again_once_per_run(app_server, llm_server, tmp_path):  # noqa: F811
    runs = iter(["First run's bio.", "Second run's bio."])

    def bio(body: dict) -> dict:
        name, schema = schema_of(body)
        if name == "mockverse_text":
            return {"content": json.dumps({"bio": next(runs)})}
        return {"content": json.dumps(example(schema or {}))}

    llm_server.responder = bio
    server = app_server("--config", config(tmp_path, llm_server.url, mode="live"))
    assert until_llm(server.client, "/users/3").json()["bio"] == "First run's bio."
    server.restart()
    stale = server.client.get("/users/3")
    assert stale.headers[HEADER] == "pending" and stale.json()["bio"] == "First run's bio."   # served, asked again
    assert until_llm(server.client, "/users/3").json()["bio"] == "Second run's bio."
    assert server.client.get("/users/3").json()["bio"] == "Second run's bio."
    assert len(text_requests(llm_server)) == 2


def test_a_failed_job_is_asked_again_after_the_cooldown(app_server, llm_server, tmp_path):  # noqa: F811
    llm_server.script({"status": 500})    # the first call fails; later ones get the fixture's answer
    clock = HandClock()
    server = app_server("--config", config(tmp_path, llm_server.url, max_retries="0"), wall_clock=clock)
    c = server.client
    cold = c.get("/users/7")
    assert cold.headers[HEADER] == "pending"
    for _ in range(100):
        if c.get("/api/v1/consistency/world").json()["text"]["failed"] == 1:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the failing text job never finished")
    clock.now += COOLDOWN - 0.01
    down = c.get("/users/7")              # within the cooldown: the fallback, not cached, not asked
    assert down.headers[HEADER] == "fallback" and down.content == cold.content
    assert len(text_requests(llm_server)) == 1
    clock.now += 0.01
    again = c.get("/users/7")             # once the cooldown is over a read asks again (nothing stays stuck)
    assert again.headers[HEADER] in ("pending", "llm")
    assert until_llm(c, "/users/7").json()["bio"] == "Example bio"
    assert len(text_requests(llm_server)) == 2
    stats = c.get("/api/v1/consistency/world").json()["text"]
    assert (stats["failed"], stats["written"], stats["calls"]) == (1, 1, 2)


def test_jobs_queued_while_the_llm_is_down_are_not_sent(app_server, llm_server, tmp_path):  # noqa: F811
    llm_server.script({"hang": 30})       # the first call times out (1s): the LLM is down from then on
    server = app_server("--config", config(tmp_path, llm_server.url, timeout="1s", max_retries="0"))
    c = server.client
    for id in (2, 3, 4):                  # one job taken by the worker (hangs), two queued behind it
        assert c.get(f"/users/{id}").headers[HEADER] == "pending"
    for _ in range(100):
        stats = c.get("/api/v1/consistency/world").json()["text"]
        if stats["failed"] == 1 and stats["waiting"] == 0 and c.get("/users/4").headers[HEADER] == "fallback":
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"the queue never drained: {stats}")
    assert len(text_requests(llm_server)) == 1          # the queued jobs were not sent to the down LLM
    assert (stats["queued"], stats["calls"], stats["written"]) == (3, 1, 0)
