"""The seed's snippets ("Smart Personas & Reality Continuum") work as written: each config,
request and Python call it shows, run literally against the built-in world, in process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mockverse.config import ConfigError, load_config
from mockverse.http.app import Settings, create_app
from mockverse.initconfig import write_starter
from mockverse.world.lifecycle import LifecycleState

WS = "workspace-123"


def config(tmp_path: Path, data: dict, name: str = "mockverse.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), "utf-8")
    return path


def har(*entries: tuple[str, int, dict]) -> dict:
    """A HAR 1.2 document of GET exchanges with the upstream: (path, status, JSON body)."""
    return {"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": [
        {"startedDateTime": "2026-03-02T09:15:00.000Z", "time": 40.0,
         "request": {"method": "GET", "url": f"https://api.test{path}", "headers": []},
         "response": {"status": status, "headers": [], "content": {"mimeType": "application/json",
                                                                   "text": json.dumps(body)}}}
        for path, status, body in entries]}}


# -- the walkthrough ---------------------------------------------------------------------------

def test_the_seed_walkthrough_runs_as_written(app_client):
    c = app_client()
    upstream = c.get("/users/456/orders").json()[:2]
    imported = c.post("/api/v1/recordings/import", params={"workspace_id": WS},
                      json=har(("/users/456", 200, c.get("/users/456").json()),
                               *((f"/orders/{o['id']}", 200, o) for o in upstream)))
    assert imported.json()["imported"] == 3

    # 1. set the persona's state, naming the workspace in the body
    r = c.post("/api/v1/consistency/persona/lifecycle",
               json={"workspace_id": WS, "persona_id": "user:456", "lifecycle_state": "ChurnRisk"})
    assert (r.status_code, r.headers["x-mockverse-workspace"], r.json()["state"]) == (200, WS, "ChurnRisk")
    # 2. read the user in that workspace: the state is there (not in the default workspace)
    user = c.get("/api/v1/consistency/users/456", params={"workspace_id": WS})
    assert (user.status_code, user.headers["x-mockverse-workspace"]) == (200, WS)
    assert user.json()["lifecycle_state"] == "ChurnRisk"
    assert c.get("/api/v1/consistency/users/456").json()["lifecycle_state"] == "UpgradePending"
    # 3. its orders, the same through every route
    orders = c.get("/api/v1/consistency/users/456/orders", params={"workspace_id": WS}).json()
    assert orders["user_id"] == 456 and orders["count"] == len(orders["orders"]) == 44   # the server's world
    assert orders["orders"] == c.get("/users/456/orders", params={"workspace_id": WS, "_per_page": 100}).json()
    # 4. the fidelity of the workspace, with no body: its own traffic, and it says so
    scored = c.post(f"/api/v1/workspace/{WS}/fidelity", headers={"Content-Type": "application/json"})
    assert scored.status_code == 200, scored.text
    score = scored.json()["score"]
    assert (score["source"], score["source_note"]) == (
        "traffic", 'no body: scored the workspace\'s own traffic, as {"source": "traffic"}')
    assert sorted(e["operation"] for e in score["operations"]) == ["GET /orders/{id}", "GET /users/{id}"]
    assert c.get(f"/api/v1/workspace/{WS}/fidelity").json()["score"] == score


def test_fidelity_without_a_body_and_without_recordings_says_what_it_tried(app_client):
    r = app_client().post("/api/v1/workspace/empty/fidelity", headers={"Content-Type": "application/json"})
    assert r.status_code == 409
    assert r.json()["detail"] == ('no body: scored the workspace\'s own traffic, as {"source": "traffic"}, but '
                                  "workspace 'empty' has no recordings of the upstream: record with `mockverse "
                                  "record --upstream URL` or import a HAR file first")


def test_workspace_id_names_the_workspace_in_queries_and_bodies(app_client):
    c = app_client()
    created = c.post("/api/v1/consistency/entities", json={"workspace": "team-a", "entity_type": "device",
                                                            "data": {"user_id": 7, "platform": "ios"}})
    assert (created.status_code, created.headers["x-mockverse-workspace"]) == (201, "team-a")
    device = created.json()["entity_id"]
    assert c.get(f"/devices/{device}", params={"workspace_id": "team-a"}).status_code == 200
    assert c.get(f"/devices/{device}").status_code == 404
    clash = c.post("/api/v1/consistency/entities", json={"workspace": "a", "workspace_id": "b",
                                                          "entity_type": "device", "data": {"user_id": 7}})
    assert (clash.status_code, clash.json()["field"]) == (422, "workspace_id")


# -- config snippets ---------------------------------------------------------------------------

def test_the_integration_config_starts(app_client, tmp_path):
    c = app_client(config=config(tmp_path, {"consistency": {"enabled": True, "persona_graph": {"enabled": True}}}))
    assert "x-mockverse-off" not in c.get("/users/1").headers
    graph = c.get("/api/v1/consistency/graph/user:1", params={"type": "order"})
    assert graph.status_code == 200 and len(graph.json()["nodes"]) == len(c.get("/users/1/orders").json())
    assert c.get("/api/v1/consistency/world").json()["consistency"] == {
        "enabled": True, "persona_graph": True, "off": []}


def test_persona_graph_off_is_said_and_refused(app_client, tmp_path):
    c = app_client(config=config(tmp_path, {"consistency": {"persona_graph": {"enabled": False}}}))
    user = c.get("/users/1")
    assert user.headers["x-mockverse-off"] == "persona_graph" and user.json()["lifecycle_state"] == "Active"
    graph = c.get("/api/v1/consistency/graph/user:1")
    assert (graph.status_code, graph.headers["x-mockverse-off"]) == (409, "persona_graph")
    assert graph.json()["detail"] == ("the persona graph is switched off (consistency.persona_graph.enabled: "
                                      "false); entities are still served by their routes")
    assert c.get("/api/v1/consistency/world").json()["consistency"] == {
        "enabled": True, "persona_graph": False, "off": ["persona_graph"]}


def test_consistency_off_serves_entities_without_personas(app_client, tmp_path):
    c = app_client(config=config(tmp_path, {"consistency": {"enabled": False}}))
    user = c.get("/users/19")
    assert user.headers["x-mockverse-off"] == "consistency, persona_graph"
    assert "lifecycle_state" not in user.json() and "x-mockverse-lifecycle" not in user.headers
    assert [o["id"] for o in user.json()["orders"]][:2] == [19001, 19002]   # the entities are still linked
    for request in (c.get("/api/v1/consistency/persona/user:19/lifecycle"),
                    c.post("/api/v1/consistency/persona/lifecycle",
                           json={"persona_id": "user:19", "lifecycle_state": "Churned"})):
        assert (request.status_code, request.json()["field"]) == (409, "persona_id")
        assert request.json()["detail"] == ("personas are switched off (consistency.enabled: false): "
                                            "no lifecycle states, effects or rules")
    assert c.get("/api/v1/consistency/graph/user:19").status_code == 409
    billing = c.get("/users/19/billing").json()
    assert "past_due_since" not in billing and "failed_payment_count" not in billing


def test_default_lifecycle_state_without_a_mix_starts_every_unlisted_persona_there(app_client, tmp_path):
    c = app_client(config=config(tmp_path, {"consistency": {"personas": {
        "default_lifecycle_state": "ChurnRisk", "lifecycle_states": [{"persona_id": "user:3", "state": "NEW"}]}}}))
    assert [c.get(f"/users/{i}").json()["lifecycle_state"] for i in range(1, 8)] == [
        "ChurnRisk", "ChurnRisk", "NewSignup", "ChurnRisk", "ChurnRisk", "ChurnRisk", "ChurnRisk"]
    created = c.post("/users", json={"first_name": "Ann", "last_name": "Lee"}).json()
    assert created["lifecycle_state"] == "ChurnRisk"
    assert c.get("/users/5/billing").json()["discount_offer_available"] is True


@pytest.mark.parametrize("personas, field", [
    ({"default_lifecycle_state": "Dormant"}, "consistency.personas.default_lifecycle_state"),
    ({"lifecycle_mix": {"Dormant": 1}}, "consistency.personas.lifecycle_mix.Dormant"),
    ({"lifecycle_rules": [{"from": "Dormant", "to": "Active", "after": "7d"}]},
     "consistency.personas.lifecycle_rules[0].from"),
])
def test_a_bad_lifecycle_state_in_the_config_names_the_real_key(tmp_path, personas, field):
    path = config(tmp_path, {"consistency": {"personas": personas}})
    with pytest.raises(ConfigError) as caught:
        create_app(Settings(config=str(path), store=str(tmp_path / "s.db")))
    assert caught.value.field == field
    assert caught.value.message.startswith("'Dormant' is not a lifecycle state")


def test_the_overview_state_spellings_are_accepted_and_answered_canonically(app_client, tmp_path):
    c = app_client(config=config(tmp_path, {"consistency": {"personas": {
        "lifecycle_states": [{"persona_id": "user:2", "state": "CHURNED"}],
        "lifecycle_mix": {"ACTIVE": 1, "CHURN_RISK": 0}}}}))
    assert c.get("/users/2").json()["lifecycle_state"] == "Churned"
    assert c.get("/users/1").json()["lifecycle_state"] == "Active"
    for spelled, canonical in (("NEW", "NewSignup"), ("ACTIVE", "Active"), ("CHURN_RISK", "ChurnRisk"),
                               ("CHURNED", "Churned")):
        r = c.post("/api/v1/consistency/persona/lifecycle", json={"persona_id": "user:9", "lifecycle_state": spelled})
        assert (r.status_code, r.json()["lifecycle_state"]) == (200, canonical)
        assert c.get("/users/9").headers["x-mockverse-lifecycle"] == canonical
    listed = c.get("/users", params={"lifecycle_state": "CHURNED", "_per_page": 5})
    assert [u["id"] for u in listed.json()] == [2, 9] and listed.headers["x-total-count"] == "2"


def test_init_writes_fidelity_weights_the_server_takes(app_client, tmp_path):
    write_starter(tmp_path)
    text = (tmp_path / "mockverse.yaml").read_text("utf-8")
    line = next(line for line in text.splitlines() if line.strip().startswith("# weights:"))
    weights = json.loads(line.split("# weights:", 1)[1])
    assert weights == {"schema_similarity": 0.4, "sample_similarity": 0.4, "response_time_similarity": 0.1,
                       "error_pattern_similarity": 0.1}
    (tmp_path / "mockverse.yaml").write_text(text.replace(line, line.replace("# weights:", "weights:")), "utf-8")
    c = app_client(config=tmp_path / "mockverse.yaml")
    # the starter file as written changes nothing: the generated personas keep the bundled mix
    assert [c.get(f"/users/{i}").json()["lifecycle_state"] for i in (456, 19, 123)] == [
        "UpgradePending", "PaymentFailed", "PowerUser"]
    scored = c.post("/api/v1/workspace/default/fidelity", json={"mock_response_times": [10.0] * 20,
                                                                "real_response_times": [10.0] * 20})
    assert scored.status_code == 200, scored.text
    bad = config(tmp_path, {"fidelity": {"weights": {"response_times": 0.2}}}, "bad.yaml")
    with pytest.raises(ConfigError) as caught:
        load_config(str(bad))
    assert caught.value.field == "fidelity.weights"
    assert caught.value.message == ("unknown fidelity driver 'response_times'; use one of schema_similarity, "
                                    "sample_similarity, response_time_similarity, error_pattern_similarity")


# -- requests ----------------------------------------------------------------------------------

def test_an_order_embeds_its_user_items_and_payments(app_client):
    c = app_client()
    order = c.get("/orders/123002").json()
    assert order["user"]["id"] == 123
    assert order["items"] == c.get("/orders/123002/items").json()
    assert order["payments"] == c.get("/orders/123002/payments").json()
    assert [(p["order_id"], p["amount"], p["currency"]) for p in order["payments"]] == [
        (123002, order["total"], order["currency"])]


def test_entity_ids_written_as_refs(app_client, tmp_path):
    c = app_client()
    r = c.post("/api/v1/consistency/entities", json={"entity_id": "order:456", "data": {"user_id": 4}})
    assert (r.status_code, r.json()["ref"], r.json()["entity_id"]) == (201, "order:456", 456)
    assert c.get("/api/v1/consistency/entities/order/456").json()["data"]["user_id"] == 4
    r = c.post("/api/v1/consistency/entities", json={"entity_type": "order", "entity_id": "order:457",
                                                      "data": {"user_id": 4}})
    assert r.json()["entity_id"] == 457
    clash = c.post("/api/v1/consistency/entities", json={"entity_type": "device", "entity_id": "order:458",
                                                          "data": {"user_id": 4}})
    assert (clash.status_code, clash.json()["field"]) == (422, "entity_id")

    spec = tmp_path / "accounts.yaml"
    spec.write_text(ACCOUNTS, "utf-8")
    s = app_client(spec=spec)
    for written, id in (("account:9b2f6c1e-8d3a-4f5b-9c7d-2e1a0b3c4d5e", "9b2f6c1e-8d3a-4f5b-9c7d-2e1a0b3c4d5e"),
                        ("account:acc_abc", "acc_abc"), ("urn:acct:7", "urn:acct:7")):
        r = s.post("/api/v1/consistency/entities", json={"entity_type": "account", "entity_id": written,
                                                          "data": {"name": "x"}})
        assert (r.status_code, r.json()["entity_id"]) == (201, id)
        assert s.get(f"/api/v1/consistency/entities/account/{id}").json()["data"]["name"] == "x"


ACCOUNTS = """\
openapi: 3.0.3
info: {title: Accounts, version: "1"}
paths:
  /accounts:
    get:
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: array,
          items: {$ref: '#/components/schemas/Account'}}}}}
  /accounts/{accountId}:
    get:
      parameters: [{name: accountId, in: path, required: true, schema: {type: string, format: uuid}}]
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Account'}}}}
components:
  schemas:
    Account:
      type: object
      properties:
        id: {type: string, format: uuid}
        name: {type: string}
"""


def test_reality_settings_read_can_be_put_back(app_client):
    c = app_client()
    shown = c.get("/api/v1/reality", params={"workspace_id": "team-r"}).json()
    put = c.put("/api/v1/reality", params={"workspace_id": "team-r"}, json=shown)
    assert put.status_code == 200, put.text
    assert put.json()["settings"] == shown["settings"]
    again = put.json()          # the body names its workspace: the PUT goes there
    edited = {**again, "settings": {**again["settings"], "default_ratio": 0.25}}
    assert c.put("/api/v1/reality", json=edited).json()["settings"]["default_ratio"] == 0.25
    assert c.get("/api/v1/reality", params={"workspace": "team-r"}).json()["settings"]["default_ratio"] == 0.25
    assert c.get("/api/v1/reality").json()["settings"]["default_ratio"] == 0.0
    stale = c.put("/api/v1/reality", json=shown)   # overrides changed since this GET
    assert (stale.status_code, stale.json()["field"]) == (400, "overrides")
    refused = c.put("/api/v1/reality", json={**edited, "enabled": True})
    assert (refused.status_code, refused.json()["field"]) == (400, "enabled")
    assert refused.json()["detail"] == ("'enabled' is decided by the config (reality_continuum.enabled), not by "
                                        "this PUT; send it as GET shows it, or leave it out")


# -- Python ------------------------------------------------------------------------------------

def test_the_python_calls_of_the_seed(app_client):
    engine = app_client().app.state.engine
    assert LifecycleState.ChurnRisk is LifecycleState.CHURN_RISK
    persona = engine.persona("default", "user:456").update_lifecycle_state(LifecycleState.ChurnRisk)
    own = persona.apply_lifecycle_effects()
    assert (own["id"], own["lifecycle_state"]) == (456, "ChurnRisk")
    billing = persona.apply_lifecycle_effects("billing", {"user_id": 456})
    assert billing == {"user_id": 456, "billing_status": "active", "subscription_type": "premium",
                       "billing_cycle": "monthly", "discount_offer_available": True, "discount_percent": 20}
