"""Personas from a description: through a real OpenAI-compatible server on loopback (the
scripted fixture) or, with no ``ai:`` section, the template fallback; registered in the
world, coherent across its endpoints, frozen across requests and restarts; the key never leaks.
The app runs in process (``app_server``); the CLI runs as a command."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import httpx
import pytest

from conftest import AppServer, run_main
from llm_fixture import LLMServer, llm_server  # noqa: F401  (the fixture)
from mockverse.ai.personas import PERSONA_SCHEMA, _ascii

KEY = "sk-mv-test-7d1f0c2b9e4a-do-not-leak"
KEY_ENV = "MOCKVERSE_TEST_LLM_KEY"
MODEL = "test-model-7b"
LYON = ("a small-business owner in Lyon who orders office supplies monthly and has had two failed card payments")
PERSONA = {
    "first_name": "Camille", "last_name": "Girard", "company": "Papeterie Girard", "occupation": "small-business owner",
    "city": "Lyon", "country": "FR", "currency": "EUR",
    "traits": ["organised", "budget-conscious", "orders for a team of six"],
    "backstory": "Camille runs a stationery shop in Lyon's Croix-Rousse and restocks every month. Her card was "
                 "declined twice this quarter.",
    "lifecycle_state": "PaymentFailed", "failed_payment_count": 2, "login_count": 23, "cadence": "monthly",
    "orders": [{"items": [{"product_name": "A4 copy paper, 5 reams", "quantity": 4, "unit_price": 24.5},
                          {"product_name": "Ballpoint pens, box of 50", "quantity": 1, "unit_price": 12.0}]},
               {"items": [{"product_name": "Black toner cartridge", "quantity": 2, "unit_price": 79.0}]},
               {"items": [{"product_name": "Sticky notes, 12 pads", "quantity": 3, "unit_price": 9.5}]}],
}
PERSONA_JSON = json.dumps(PERSONA)
OFFICE = {"A4 copy paper, 5 reams", "Black toner cartridge", "Ballpoint pens, box of 50",
          "Lever arch files, pack of 10", "Sticky notes, 12 pads", "Desk organiser"}   # the template's catalogue


def _config(tmp_path: Path, llm: LLMServer | None, **ai: object) -> str:
    path = tmp_path / f"mockverse-{len(list(tmp_path.glob('mockverse-*.yaml')))}.yaml"
    if llm is None:
        path.write_text("seed: 42\n")
        return str(path)
    settings = {"base_url": llm.url, "model": MODEL, "api_key_env": KEY_ENV, "timeout": "1s", **ai}
    path.write_text("ai:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in settings.items()))
    return str(path)


def _serve(app_server, tmp_path: Path, llm: LLMServer | None, **ai: object) -> AppServer:
    return app_server("--config", _config(tmp_path, llm, **ai), env={KEY_ENV: KEY})


def _post(server: AppServer, description: str = LYON, **extra: object) -> httpx.Response:
    return server.client.post("/api/v1/ai/personas", json={"description": description, **extra})


def _no_key(server: AppServer, *responses: httpx.Response) -> None:
    """The API key is in no response (body or header) and not in the server's log."""
    for r in responses:
        assert KEY not in r.text
        assert all(KEY not in v for v in r.headers.values())
    assert KEY not in server.log()


def _persona_requests(llm: LLMServer) -> list[dict]:
    """The fixture's requests for personas (reads may make the server ask for text fields too, in the
    background, so persona calls are counted apart)."""
    return [r for r in llm.requests if (r["body"].get("response_format") or {}).get("json_schema", {}).get("name")
            == "persona" or "Description: " in r["body"]["messages"][-1]["content"]]


def _calls(llm: LLMServer) -> int:
    return len(_persona_requests(llm))


def _order_total(order: dict) -> float:
    return round(sum(i["quantity"] * i["unit_price"] for i in order["items"]), 2)


def test_llm_persona_is_registered_coherent_and_frozen(app_server, tmp_path, llm_server):
    llm_server.script({"content": PERSONA_JSON})
    # no text fields: no background text job can be in flight across the restart ("calls": 0 below)
    server = _serve(app_server, tmp_path, llm_server, text_fields=[])
    first = _post(server)
    assert first.status_code == 201, first.text
    assert first.headers["x-mockverse-generator"] == "llm"
    assert first.headers["x-mockverse-artefact"] == "generated"
    body = first.json()
    assert (body["generated_by"], body["model"], body["persona_id"]) == ("llm", MODEL, "user:1001")

    # the request the fixture saw: model, schema, bearer key from the environment
    assert _calls(llm_server) == 1
    request = _persona_requests(llm_server)[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    assert request["body"]["model"] == MODEL
    assert request["body"]["temperature"] == 0
    assert request["body"]["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "persona", "schema": PERSONA_SCHEMA, "strict": True}}
    assert LYON in request["body"]["messages"][-1]["content"]

    # coherent across the endpoints
    user = server.client.get("/users/1001").json()
    assert (user["first_name"], user["last_name"], user["company"]) == ("Camille", "Girard", "Papeterie Girard")
    assert user["traits"] == PERSONA["traits"] and user["backstory"] == PERSONA["backstory"]
    assert user["lifecycle_state"] == "PaymentFailed"
    assert (user["address"]["city"], user["address"]["country"]) == ("Lyon", "FR")
    assert user["email"] == "camille.girard@papeteriegirard.example"
    orders = server.client.get("/users/1001/orders").json()
    assert [o["id"] for o in orders] == [1001000, 1001001, 1001002] == [o["id"] for o in body["orders"]]
    assert [o["total"] for o in orders] == [110.0, 158.0, 28.5] == [_order_total(o) for o in body["orders"]]
    assert [o["status"] for o in orders] == ["delivered", "pending", "pending"]  # the two failed payments
    assert {o["currency"] for o in orders} == {"EUR"}
    assert server.client.get("/orders?userId=1001").json() == orders == user["orders"]
    assert server.client.get("/orders/1001001").json()["user"]["traits"] == PERSONA["traits"]
    assert [p["status"] for p in server.client.get("/orders/1001002/payments").json()] == ["failed"]
    assert [p["status"] for p in server.client.get("/orders/1001000/payments").json()] == ["succeeded"]
    billing = server.client.get("/users/1001/billing").json()
    assert (billing["billing_status"], billing["failed_payment_count"]) == ("past_due", 2)
    assert server.client.get("/users/1001/support").json()["billing_ticket_status"] == "open"
    lifecycle = server.client.get("/api/v1/consistency/persona/user:1001/lifecycle").json()
    assert lifecycle["metadata"]["failed_payment_count"] == 2

    # frozen: no LLM call, the same bytes, no second user
    again = _post(server)
    assert (again.status_code, again.headers["x-mockverse-artefact"]) == (200, "frozen")
    assert again.content == first.content
    assert _calls(llm_server) == 1
    assert server.client.get("/users/1002").status_code == 404
    user_bytes = server.client.get("/users/1001").content

    # ... also after a restart on the same store
    server.restart()
    after = _post(server)
    assert after.content == first.content
    assert _calls(llm_server) == 1
    assert server.client.get("/users/1001").content == user_bytes
    status = server.client.get("/api/v1/ai/status")
    assert status.json() == {"configured": True, "provider": "openai-compatible", "model": MODEL, "mode": "frozen",
                             "base_url_host": f"127.0.0.1:{llm_server.port}", "api_key_env": KEY_ENV,
                             "api_key_set": True, "structured_output": True, "calls": 0, "fallback": None}
    read = server.client.get("/users/1001/orders")
    traces = [server.client.get(f"/api/v1/reality/trace/{r.headers['x-mockverse-request-id']}") for r in (read, after)]
    _no_key(server, first, again, after, status, read, *traces)


def test_a_429_is_retried_after_its_retry_after(app_server, tmp_path, llm_server):
    """... and the answer's <think> preamble (reasoning models) is skipped."""
    llm_server.script({"status": 429, "headers": {"Retry-After": "0"}, "error": "rate limited"},
                      {"content": f"<think>The user wants a persona.</think>\n{PERSONA_JSON}"})
    server = _serve(app_server, tmp_path, llm_server)
    r = _post(server)
    assert r.status_code == 201, r.text
    assert r.json()["user"]["first_name"] == "Camille"
    assert _calls(llm_server) == 2
    assert _persona_requests(llm_server)[1]["body"] == _persona_requests(llm_server)[0]["body"]
    _no_key(server, r)


def test_5xx_until_the_retries_run_out_is_a_502_problem(app_server, tmp_path, llm_server, monkeypatch):
    monkeypatch.setattr("mockverse.ai.provider.BACKOFF_BASE", 0.01)   # the retries wait 10 ms, then 20 ms
    llm_server.script({"status": 500, "error": f"upstream exploded near {KEY}"}, {"status": 500}, {"status": 503})
    server = _serve(app_server, tmp_path, llm_server)
    r = _post(server)
    assert r.status_code == 502
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert (problem["title"], problem["field"]) == ("LLM upstream failed", "ai")
    assert problem["detail"] == f"the LLM server at 127.0.0.1:{llm_server.port} answered 503: scripted 503"
    assert _calls(llm_server) == 3                      # 1 + max_retries (2)
    assert server.client.get("/users/1001").status_code == 404   # nothing registered
    # a later request tries again (nothing was frozen) and an upstream message quoting the key has it masked
    llm_server.script({"status": 500, "error": f"key {KEY} rejected"}, {"status": 500},
                      {"status": 500, "error": f"key {KEY} rejected"})
    again = _post(server)
    assert again.status_code == 502 and "key *** rejected" in again.json()["detail"]
    _no_key(server, r, again)


def test_a_hang_past_the_timeout_is_a_504_problem(app_server, tmp_path, llm_server):
    llm_server.script({"hang": 30}, {"hang": 30})
    server = _serve(app_server, tmp_path, llm_server, timeout="200ms", max_retries=1)
    r = _post(server)
    assert r.status_code == 504
    problem = r.json()
    assert (problem["title"], problem["field"]) == ("LLM timeout", "ai.timeout")
    assert problem["detail"] == (f"the LLM server at 127.0.0.1:{llm_server.port} did not answer within 200ms "
                                 "(2 attempt(s))")
    # two attempts made, each given up after 200 ms, long before the 30 s hang ends (counted by the client: a
    # busy machine may not let the fixture read a request within 200 ms, and the attempt is made all the same)
    assert server.app.state.llm.calls == 2
    _no_key(server, r)


def test_malformed_json_is_repaired_by_a_second_call(app_server, tmp_path, llm_server):
    broken = PERSONA_JSON[:120]
    llm_server.script({"content": broken}, {"content": f"```json\n{PERSONA_JSON}\n```"})
    server = _serve(app_server, tmp_path, llm_server)
    r = _post(server)
    assert r.status_code == 201, r.text
    assert r.json()["generated_by"] == "llm"
    assert _calls(llm_server) == 2
    repair = _persona_requests(llm_server)[1]["body"]["messages"]
    assert repair[-2] == {"role": "assistant", "content": broken}
    assert repair[-1]["role"] == "user" and "not valid JSON" in repair[-1]["content"]
    assert _persona_requests(llm_server)[1]["body"]["response_format"]["json_schema"]["name"] == "persona"


def test_output_that_cannot_be_repaired_is_a_422_problem(app_server, tmp_path, llm_server):
    wrong = {**PERSONA, "lifecycle_state": "Happy"}
    llm_server.script({"content": "Sure! Here is your persona."}, {"content": json.dumps(wrong)})
    server = _serve(app_server, tmp_path, llm_server)
    r = _post(server)
    assert r.status_code == 422
    problem = r.json()
    assert (problem["title"], problem["field"]) == ("LLM output unusable", "ai.persona")
    assert problem["detail"].startswith("the model's output for 'persona' did not fit its schema, also after one "
                                        "repair attempt: $.lifecycle_state: 'Happy' is not one of ")
    assert _calls(llm_server) == 2
    assert server.client.get("/users/1001").status_code == 404


def test_a_server_without_response_format_is_asked_in_the_prompt(app_server, tmp_path, llm_server):
    llm_server.script({"status": 400, "error": "response_format not supported"}, {"content": PERSONA_JSON},
                      {"content": json.dumps({**PERSONA, "first_name": "Léa"})})
    server = _serve(app_server, tmp_path, llm_server)
    r = _post(server)
    assert r.status_code == 201, r.text
    assert _calls(llm_server) == 2
    second = _persona_requests(llm_server)[1]["body"]
    assert "response_format" not in second
    assert json.dumps(PERSONA_SCHEMA, separators=(",", ":")) in second["messages"][0]["content"]
    # remembered: the next persona goes straight without it
    other = _post(server, "a teacher in Madrid")
    assert other.status_code == 201 and _calls(llm_server) == 3
    assert "response_format" not in _persona_requests(llm_server)[2]["body"]
    assert server.client.get("/api/v1/ai/status").json()["structured_output"] is False


def test_live_mode_regenerates_every_time(app_server, tmp_path, llm_server):
    llm_server.script({"content": PERSONA_JSON}, {"content": json.dumps({**PERSONA, "first_name": "Inès"})})
    server = _serve(app_server, tmp_path, llm_server, mode="live")
    first, second = _post(server), _post(server)
    assert (first.status_code, second.status_code) == (201, 201)
    assert _calls(llm_server) == 2
    assert (first.json()["persona_id"], second.json()["persona_id"]) == ("user:1001", "user:1002")
    assert server.client.get("/users/1002").json()["first_name"] == "Inès"


def test_without_an_ai_section_the_template_fallback_works_offline(app_server, tmp_path):
    server = _serve(app_server, tmp_path, None)
    first = _post(server)
    assert first.status_code == 201, first.text
    assert first.headers["x-mockverse-generator"] == "template"
    body = first.json()
    assert (body["generated_by"], body["model"], body["persona_id"]) == ("template", None, "user:1001")
    user = server.client.get("/users/1001").json()
    assert user["lifecycle_state"] == "PaymentFailed"
    assert (user["address"]["city"], user["address"]["country"], user["occupation"]) == ("Lyon", "FR",
                                                                                        "small-business owner")
    assert user["traits"][:3] == ["budget-conscious", "orders for the team", "orders monthly"]
    assert user["company"] == "Martinez Fournier et Fils"          # Faker fr_FR seeded by (seed 42, description)
    assert user["email"] == f"{_ascii(user['first_name'])}.{_ascii(user['last_name'])}@martinezfournieretfils.example"
    orders = server.client.get("/users/1001/orders").json()
    assert [o["id"] for o in orders] == [o["id"] for o in body["orders"]] == [1001000, 1001001, 1001002, 1001003]
    assert [o["total"] for o in orders] == [_order_total(o) for o in body["orders"]]
    assert [o["status"] for o in orders] == ["delivered", "delivered", "pending", "pending"]
    assert {o["currency"] for o in orders} == {"EUR"}
    assert {i["product_name"] for o in body["orders"] for i in o["items"]} <= OFFICE
    billing = server.client.get("/users/1001/billing").json()
    assert (billing["billing_status"], billing["failed_payment_count"]) == ("past_due", 2)
    again = _post(server)
    assert (again.status_code, again.content) == (200, first.content)
    assert server.client.get("/api/v1/ai/status").json()["configured"] is False

    # deterministic: another instance on another store makes the same persona, byte for byte
    other = _serve(app_server, tmp_path, None)
    assert _post(other).content == first.content
    assert other.client.get("/users/1001").content == server.client.get("/users/1001").content


@pytest.mark.parametrize("description, state, count", [
    ("a churned student in Berlin", "Churned", 0),
    ("a power user in London who buys electronics weekly", "PowerUser", 0),
    ("a new signup from Chicago", "NewSignup", 0),
    ("a freelancer in Paris with 3 declined payments", "PaymentFailed", 3),
    ("a teacher who has had a failed payment", "PaymentFailed", 1),
    ("a teacher who never had a failed payment", "Active", 0),
    ("a nurse with no failed payments and five orders", "Active", 0),
])
def test_template_keywords_set_the_lifecycle(description, state, count):
    from mockverse.ai.personas import template_spec

    spec = template_spec(description, "42/default")
    assert (spec["lifecycle_state"], spec["failed_payment_count"]) == (state, count)
    if "five orders" in description:
        assert len(spec["orders"]) == 5
    assert spec == template_spec(description, "42/default")


def test_bad_requests_are_problems(app_server, tmp_path):
    server = _serve(app_server, tmp_path, None)
    cases = [({"description": ""}, "$.description"), ({"description": "x" * 2001}, "$.description"),
             ({"description": LYON, "style": "noir"}, "$.style"), ({}, "$.description"),
             ({"description": 7}, "$.description"), ({"description": LYON, "workspace_id": "bad name!"},
                                                    "$.workspace_id")]
    for body, field in cases:
        r = server.client.post("/api/v1/ai/personas", json=body)
        assert (r.status_code, r.json()["field"]) == (422, field), (body, r.text)
    r = server.client.post("/api/v1/ai/personas", json={"description": LYON, "workspace_id": "ok"},
                           headers={"X-Mockverse-Workspace": "not ok!"})
    assert (r.status_code, r.json()["field"]) == (400, "workspace")
    r = server.client.post("/api/v1/ai/personas", content=b"{", headers={"content-type": "application/json"})
    assert (r.status_code, r.json()["field"]) == (400, "body")


def test_workspaces_get_their_own_persona(app_server, tmp_path):
    server = _serve(app_server, tmp_path, None)
    server.client.post("/api/v1/workspaces", json={"name": "team-b", "seed": 7})   # its own seed, asked for
    a = _post(server, workspace_id="team-a")
    b = server.client.post(
        "/api/v1/ai/personas", json={"description": LYON}, headers={"X-Mockverse-Workspace": "team-b"}
    )
    c = server.client.post(
        "/api/v1/ai/personas", json={"description": LYON}, headers={"X-Mockverse-Workspace": "team-c"}
    )
    assert (a.json()["workspace_id"], b.json()["workspace_id"]) == ("team-a", "team-b")
    assert a.json()["user"]["name"] != b.json()["user"]["name"]   # team-b has its own seed
    assert a.json()["user"]["name"] == c.json()["user"]["name"]   # team-a and team-c serve the server's world
    assert server.client.get("/users/1001", headers={"X-Mockverse-Workspace": "team-a"}).json()["name"] == \
        a.json()["user"]["name"]
    assert server.client.get("/users/1001").status_code == 404     # nothing in the default workspace


SPEC = """openapi: 3.0.3
info: {title: widgets, version: "1"}
paths:
  /widgets:
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: array,
          items: {$ref: "#/components/schemas/Widget"}}}}}
  /widgets/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Widget"}}}}
components:
  schemas:
    Widget:
      type: object
      properties: {id: {type: integer}, name: {type: string}}
"""


def test_a_world_without_a_persona_type_says_so(app_server, tmp_path):
    spec = tmp_path / "widgets.yaml"
    spec.write_text(SPEC)
    server = app_server("--spec", str(spec))
    r = _post(server)
    assert r.status_code == 422
    assert (r.json()["title"], r.json()["field"]) == ("No persona type", "consistency.personas.type")


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``mockverse persona generate ARGS`` (its main, in process): exit code, stdout and stderr."""
    code, out, err = run_main("persona", "generate", *args, env=env)
    return subprocess.CompletedProcess(["mockverse", "persona", "generate", *args], code, out, err)


def test_cli_generates_the_same_persona_as_the_endpoint(app_server, tmp_path):
    store = tmp_path / "cli.db"
    done = _cli(LYON, "--store", str(store), "--json")
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    assert (made["generated_by"], made["persona_id"]) == ("template", "user:1001")
    server = app_server(store=store)
    r = _post(server)
    assert (r.status_code, r.content.decode()) == (200, done.stdout.strip())   # frozen by the command
    text = _cli(LYON, "--store", str(store))
    assert text.returncode == 0
    assert text.stdout.splitlines()[0].startswith("user:1001 ") and "frozen earlier by the template" in text.stdout
    bad = _cli("", "--store", str(store))
    assert (bad.returncode, bad.stderr.strip()) == (2, "mockverse: the description must be 1 to 2000 characters")


def test_cli_uses_the_configured_llm_and_reports_its_errors(tmp_path, llm_server, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)   # in process, what the command logs goes to the log records, not stderr
    monkeypatch.setattr("mockverse.ai.provider.BACKOFF_BASE", 0.01)   # the retries wait 10 ms, then 20 ms
    llm_server.script({"content": PERSONA_JSON})
    config = _config(tmp_path, llm_server)
    done = _cli(LYON, "--store", str(tmp_path / "s.db"), "--config", config, "--json", env={KEY_ENV: KEY})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["user"]["first_name"] == "Camille"
    assert _calls(llm_server) == 1 and _persona_requests(llm_server)[0]["headers"]["authorization"] == f"Bearer {KEY}"
    llm_server.script({"status": 500}, {"status": 500}, {"status": 500})
    failed = _cli("a teacher in Rome", "--store", str(tmp_path / "s.db"), "--config", config, env={KEY_ENV: KEY})
    assert failed.returncode == 1
    assert (
        failed.stderr.strip()
        == f"mockverse: ai: the LLM server at 127.0.0.1:{llm_server.port} answered 500: scripted 500"
    )
    assert KEY not in failed.stdout + failed.stderr + done.stdout + done.stderr + caplog.text


def test_unknown_ai_keys_are_config_errors(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("ai:\n  base_url: http://127.0.0.1:9/v1\n  model: m\n  temprature: 0\n")
    code, _, err = run_main("serve", "--config", str(path), "--port", "0", "--store", str(tmp_path / "s.db"))
    assert code == 2
    assert "ai.temprature: unknown key 'temprature'" in err


def test_a_frozen_persona_is_shared_by_instances_on_one_redis_store(app_server, tmp_path, llm_server, redis_server):
    llm_server.script({"content": PERSONA_JSON})
    config = _config(tmp_path, llm_server)
    a = app_server("--config", config, "--store", redis_server.url, env={KEY_ENV: KEY})
    b = app_server("--config", config, "--store", redis_server.url, env={KEY_ENV: KEY})
    first = _post(a)
    assert first.status_code == 201, first.text
    second = _post(b)
    assert (second.status_code, second.content) == (200, first.content)
    assert _calls(llm_server) == 1
    assert b.client.get("/users/1001/billing").json()["billing_status"] == "past_due"


def test_an_unreachable_llm_server_is_a_502_problem(app_server, tmp_path, llm_server):
    llm_server.stop()   # nothing listens on its port any more
    server = _serve(app_server, tmp_path, llm_server, max_retries=0)
    r = _post(server)
    assert r.status_code == 502
    problem = r.json()
    assert (problem["title"], problem["field"]) == ("LLM upstream failed", "ai.base_url")
    assert problem["detail"].startswith(f"cannot reach the LLM server at 127.0.0.1:{llm_server.port}: ConnectError")
    _no_key(server, r)


CUSTOMERS = """openapi: 3.0.3
info: {title: crm, version: "1"}
paths:
  /customers:
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: array,
          items: {$ref: "#/components/schemas/Customer"}}}}}
  /customers/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Customer"}}}}
components:
  schemas:
    Customer:
      type: object
      properties: {id: {type: integer}, name: {type: string}, email: {type: string, format: email}}
"""


def test_a_spec_world_registers_the_persona_as_its_persona_type(app_server, tmp_path):
    spec = tmp_path / "crm.yaml"
    spec.write_text(CUSTOMERS)
    server = app_server("--spec", str(spec))
    r = _post(server)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["persona_id"].startswith("customer:") and body["orders"] == []
    ref, cid = body["persona_id"], body["persona_id"].split(":")[1]
    assert body["links"] == {"user": f"/customers/{cid}", "lifecycle": f"/api/v1/consistency/persona/{ref}/lifecycle"}
    assert body["user"]["traits"][:3] == ["budget-conscious", "orders for the team", "orders monthly"]
    customer = server.client.get(body["links"]["user"]).json()   # served as its schema says
    assert customer == {"id": int(cid), "name": body["user"]["name"], "email": body["user"]["email"]}
    lifecycle = server.client.get(body["links"]["lifecycle"]).json()
    assert (lifecycle["state"], lifecycle["metadata"]["failed_payment_count"]) == ("PaymentFailed", 2)


def test_a_400_turns_structured_output_off_only_when_the_plain_retry_works(app_server, tmp_path, llm_server):
    refused = {"status": 400, "error": "the messages are too long"}
    llm_server.script(refused, refused)       # a 400 that is not about response_format: the plain retry fails too
    server = _serve(app_server, tmp_path, llm_server, max_retries=0)
    r = _post(server)
    assert (r.status_code, r.json()["detail"]) == (
        502, f"the LLM server at 127.0.0.1:{llm_server.port} answered 400: the messages are too long")
    sent = _persona_requests(llm_server)
    assert len(sent) == 2 and "response_format" in sent[0]["body"] and "response_format" not in sent[1]["body"]
    assert server.client.get("/api/v1/ai/status").json()["structured_output"] is True   # still on

    llm_server.script(refused, {"content": PERSONA_JSON})   # a 400 the plain retry gets past: off from now on
    assert _post(server).status_code == 201
    assert _calls(llm_server) == 4 and "response_format" not in _persona_requests(llm_server)[3]["body"]
    assert server.client.get("/api/v1/ai/status").json()["structured_output"] is False


def test_the_base_url_host_shows_no_credentials(app_server, tmp_path, llm_server):
    secret = "proxy-pass-5150"
    base = f"http://gateway:{secret}@127.0.0.1:{llm_server.port}/v1"
    llm_server.script({"status": 500})
    server = _serve(app_server, tmp_path, llm_server, base_url=base, max_retries=0)
    status = server.client.get("/api/v1/ai/status")
    assert status.json()["base_url_host"] == f"127.0.0.1:{llm_server.port}"
    r = _post(server)
    assert (r.status_code, r.json()["detail"]) == (
        502, f"the LLM server at 127.0.0.1:{llm_server.port} answered 500: scripted 500")
    assert _calls(llm_server) == 1
    for text in (status.text, r.text, server.log()):
        assert secret not in text and "gateway" not in text


@pytest.mark.parametrize("orders", [[], PERSONA["orders"][:2]])
def test_a_payment_failed_spec_without_a_failed_payment_is_made_coherent(app_server, tmp_path, llm_server, orders):
    spec = {**PERSONA, "failed_payment_count": 0, "orders": orders}
    llm_server.script({"content": json.dumps(spec)})
    server = _serve(app_server, tmp_path, llm_server, text_fields=[])
    r = _post(server)
    assert r.status_code == 201, r.text
    assert r.json()["lifecycle"]["metadata"]["failed_payment_count"] == 1
    placed = server.client.get("/users/1001/orders").json()
    if orders:
        assert [o["status"] for o in placed] == ["delivered", "pending"]      # the latest payment failed
    else:   # one order from the described catalogue (office supplies), its payment failed
        assert [o["status"] for o in placed] == ["pending"]
        items = server.client.get(f"/orders/{placed[0]['id']}/items").json()
        assert [(i["quantity"], i["product_name"] in OFFICE) for i in items] == [(1, True)]
    assert [p["status"] for p in server.client.get(f"/orders/{placed[-1]['id']}/payments").json()] == ["failed"]
    billing = server.client.get("/users/1001/billing").json()
    assert (billing["billing_status"], billing["failed_payment_count"]) == ("past_due", 1)
