"""Persona lifecycle and the virtual clock over HTTP, against real server processes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from mockverse.config import ConfigError

LIFECYCLE = "/api/v1/consistency/persona/lifecycle"
STATES = ["NewSignup", "Active", "ChurnRisk", "Churned", "UpgradePending", "PaymentFailed", "PowerUser"]


def set_state(c, persona: str, state: str, workspace: str = "default", **extra):
    r = c.post(LIFECYCLE, json={"workspace_id": workspace, "persona_id": persona, "lifecycle_state": state, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


BILLING = {
    "NewSignup": {"billing_status": "trial", "subscription_type": "free_tier"},
    "Active": {"billing_status": "paid", "subscription_type": "premium"},
    "ChurnRisk": {"billing_status": "active", "discount_offer_available": True},
    "Churned": {"billing_status": "cancelled", "outstanding_balance": 0.0},
}
SUPPORT = {
    "NewSignup": {"support_tier": "basic", "onboarding_ticket_status": "open"},
    "PowerUser": {"support_tier": "priority", "dedicated_support_agent": "true"},
    "ChurnRisk": {"support_tier": "standard", "proactive_outreach_ticket": "open"},
}


@pytest.mark.parametrize("state,expected", BILLING.items())
def test_billing_per_state(server, state, expected):
    c = server.client
    set_state(c, "user:456", state)
    body = c.get("/users/456/billing").json()
    assert {k: body[k] for k in expected} == expected
    assert body["user_id"] == 456
    assert c.get("/users/456").json()["lifecycle_state"] == state


@pytest.mark.parametrize("state,expected", SUPPORT.items())
def test_support_per_state(server, state, expected):
    c = server.client
    set_state(c, "user:457", state)
    body = c.get("/users/457/support").json()
    assert {k: body[k] for k in expected} == expected


def test_change_shows_on_the_very_next_get(server):
    c = server.client
    set_state(c, "user:458", "Active")
    assert c.get("/users/458/billing").json()["billing_status"] == "paid"
    assert c.get("/orders", params={"userId": 458}).status_code == 200
    set_state(c, "user:458", "churn_risk")
    assert c.get("/users/458/billing").json()["billing_status"] == "active"
    r = c.get("/users/458")
    assert r.json()["lifecycle_state"] == "ChurnRisk"
    assert r.headers["x-mockverse-lifecycle"] == "ChurnRisk"
    for order in r.json()["orders"][:1]:
        assert c.get(f"/orders/{order['id']}").json()["user"]["lifecycle_state"] == "ChurnRisk"


def test_payment_failed_billing_and_latest_payment(server):
    c = server.client
    orders = c.get("/users/459/orders").json()
    assert orders, "user 459 needs orders for this test"
    set_state(c, "user:459", "PaymentFailed", metadata={"failed_payment_count": 2})
    billing = c.get("/users/459/billing").json()
    assert billing["billing_status"] == "past_due" and billing["failed_payment_count"] == 2
    latest = c.get("/users/459/orders").json()[-1]
    assert [p["status"] for p in c.get(f"/orders/{latest['id']}/payments").json()] == ["failed"]
    assert latest["status"] == "pending"


def test_unknown_state_and_unknown_persona(server):
    c = server.client
    r = c.post(LIFECYCLE, json={"workspace_id": "default", "persona_id": "user:1", "lifecycle_state": "Sleepy"})
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == "lifecycle_state" and r.json()["allowed"] == STATES
    r = c.post(LIFECYCLE, json={"workspace_id": "default", "persona_id": "user:99999", "initial_state": "Active"})
    assert r.status_code == 404
    r = c.post("/api/v1/consistency/clock/advance", json={"by": "soon"})
    assert r.status_code == 400 and r.json()["field"] == "by"


def test_initial_state_alias_and_lifecycle_view(server):
    c = server.client
    body = set_state(c, "user:460", "PowerUser")
    assert body["persona_id"] == "user:460" and body["lifecycle_state"] == "PowerUser"
    r = c.post(LIFECYCLE, json={"workspace_id": "default", "persona_id": "user:461", "initial_state": "new_signup"})
    assert r.json()["lifecycle_state"] == "NewSignup"
    view = c.get("/api/v1/consistency/persona/user:461/lifecycle").json()
    assert view["state"] == "NewSignup" and view["history"][-1]["state"] == "NewSignup"
    assert view["next_transition"]["to"] == "Active"
    assert ts(view["next_transition"]["at"]) - ts(view["entered_at"]) == timedelta(days=7)
    patched = c.patch("/api/v1/consistency/persona/user:461/lifecycle", json={"metadata": {"login_count": 9}}).json()
    assert patched["metadata"]["login_count"] == 9


def test_config_states_default_and_unknown_key(app_server, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("""
consistency:
  personas:
    default_lifecycle_state: "ChurnRisk"
    lifecycle_mix: {}
    lifecycle_states:
      - persona_id: "user:123"
        state: "NewSignup"
""")
    c = app_server("--config", str(cfg)).client
    assert c.get("/users/123").json()["lifecycle_state"] == "NewSignup"
    assert c.get("/users/5").json()["lifecycle_state"] == "ChurnRisk"
    assert c.get("/users/123/billing").json()["billing_status"] == "trial"
    bad = tmp_path / "bad.yaml"
    bad.write_text("consistency:\n  personas:\n    default_lifecycle_stat: Active\n")
    with pytest.raises(ConfigError) as err:
        app_server("--config", str(bad))
    assert "unknown key 'default_lifecycle_stat'; did you mean 'default_lifecycle_state'?" in str(err.value)


def test_rules_fire_with_the_clock(app_server):
    c = app_server().client
    entered = set_state(c, "user:321", "NewSignup")["entered_at"]
    c.post("/api/v1/consistency/clock/advance", json={"by": "6d"})
    assert c.get("/users/321").json()["lifecycle_state"] == "NewSignup"
    c.post("/api/v1/consistency/clock/advance", json={"by": "24h"})
    assert c.get("/users/321").json()["lifecycle_state"] == "Active"
    history = c.get("/api/v1/consistency/persona/user:321/lifecycle").json()["history"]
    assert [h["state"] for h in history[-2:]] == ["NewSignup", "Active"]
    assert ts(history[-1]["entered_at"]) == ts(entered) + timedelta(days=7)


def test_payment_failed_catches_up_to_churned_in_one_advance(app_server):
    c = app_server().client
    entered = ts(set_state(c, "user:322", "PaymentFailed", metadata={"failed_payment_count": 2})["entered_at"])
    c.post("/api/v1/consistency/clock/advance", json={"by": "100d"})
    view = c.get("/api/v1/consistency/persona/user:322/lifecycle").json()
    assert view["state"] == "Churned"
    steps = [h for h in view["history"] if ts(h["entered_at"]) >= entered]
    assert [h["state"] for h in steps] == ["PaymentFailed", "Churned"]
    assert ts(steps[1]["entered_at"]) == entered + timedelta(days=14)
    assert steps[1]["source"].startswith("rule:")
    assert c.get("/users/322/billing").json()["billing_status"] == "cancelled"


def test_clock_before_entry_fires_nothing(app_server):
    c = app_server().client
    c.post("/api/v1/consistency/clock/advance", json={"by": "30d"})
    entered = set_state(c, "user:323", "NewSignup")["entered_at"]
    c.post("/api/v1/consistency/clock/set", json={"to": "2025-12-01T00:00:00Z"})
    view = c.get("/api/v1/consistency/persona/user:323/lifecycle").json()
    assert view["state"] == "NewSignup" and view["entered_at"] == entered
    assert view["time_in_state_seconds"] == 0
    assert c.get("/api/v1/consistency/clock").json()["now"] == "2025-12-01T00:00:00Z"


def test_advancing_adds_orders_for_active_none_for_churned(app_server):
    a = app_server(seed="11")
    b = app_server(seed="11")
    for s in (a, b):
        set_state(s.client, "user:200", "PowerUser")
        set_state(s.client, "user:201", "Churned")
        set_state(s.client, "user:202", "Active")
    before_plain = a.client.get("/users/202/orders").json()
    before_active = a.client.get("/users/200/orders").json()
    before_churned = a.client.get("/users/201/orders").json()
    for s in (a, b):
        assert s.client.post("/api/v1/consistency/clock/advance", json={"by": "90d"}).status_code == 200
    after_active = a.client.get("/users/200/orders").json()
    after_churned = a.client.get("/users/201/orders").json()
    new = after_active[len(before_active):]
    assert after_active[:len(before_active)] == before_active and len(new) >= 1
    now = ts(a.client.get("/api/v1/consistency/clock").json()["now"])
    assert all(now - timedelta(days=90) < ts(o["created_at"]) <= now for o in new)
    assert after_churned == before_churned
    after_plain = a.client.get("/users/202/orders").json()
    assert after_plain[:len(before_plain)] == before_plain and len(after_plain) > len(before_plain)
    for path in ("/users/200", "/users/201", "/users/200/orders", "/users/200/billing"):
        assert a.client.get(path).content == b.client.get(path).content, path


def test_world_reflects_generated_states(server):
    c = server.client
    counts: dict[str, list[int]] = {}
    for user in c.get("/users", params={"_per_page": 100}).json():   # seed 42's first 100 hold all seven states
        orders = c.get(f"/users/{user['id']}/orders").json()
        counts.setdefault(user["lifecycle_state"], []).append(len(orders))
        if user["lifecycle_state"] == "NewSignup":
            assert ts(user["created_at"]) > ts("2026-01-01T00:00:00Z") - timedelta(days=7)
    assert set(counts) == set(STATES)
    mean = {k: sum(v) / len(v) for k, v in counts.items()}
    assert mean["PowerUser"] > mean["Active"] > mean["NewSignup"]
    assert max(counts["NewSignup"]) <= 2


def test_lifecycle_metadata_and_clock_survive_restart(app_server):
    s = app_server()
    c = s.client
    set_state(c, "user:77", "ChurnRisk", metadata={"login_count": 3})
    c.post("/api/v1/consistency/clock/advance", json={"by": "36h"})
    before = (c.get("/api/v1/consistency/persona/user:77/lifecycle").json(), c.get("/api/v1/consistency/clock").json())
    s.restart()
    after = (c.get("/api/v1/consistency/persona/user:77/lifecycle").json(), c.get("/api/v1/consistency/clock").json())
    assert after == before
    assert after[0]["metadata"]["login_count"] == 3 and after[0]["state"] == "ChurnRisk"


def test_entity_effects_touch_only_their_state(server):
    c = server.client
    set_state(c, "user:3", "Active")
    orders = c.get("/users/3/orders").json()
    assert orders and all(o["status"] in ("delivered", "shipped", "paid", "pending", "cancelled") for o in orders)
    payments = c.get(f"/orders/{orders[-1]['id']}/payments").json()
    assert all("status" in p for p in payments)
