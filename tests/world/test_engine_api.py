"""The engine's Python API: the same calls the HTTP layer makes."""

from __future__ import annotations

from mockverse.http.app import Settings, create_app
from mockverse.world.lifecycle import LifecycleState


def engine_for(tmp_path):
    return create_app(Settings(store=str(tmp_path / "state.db"))).state.engine


def test_find_related_entities_matches_the_orders_endpoint(tmp_path):
    engine = engine_for(tmp_path)
    view = engine.view("default")
    user = engine.model.types["user"]
    orders = engine.find_related_entities("default", "user:123", "order", "has_orders")
    assert orders == view.children(user, 123, "has_orders")
    assert [o["id"] for o in orders][:2] == [123001, 123002]
    payments = engine.find_related_entities("default", "user:123", "payment", depth=2)
    assert {p["order_id"] for p in payments} == {o["id"] for o in orders}


def test_persona_handle_changes_state_and_effects(tmp_path):
    engine = engine_for(tmp_path)
    persona = engine.persona("default", "user:456").update_lifecycle_state(LifecycleState.CHURN_RISK)
    assert persona.state is LifecycleState.CHURN_RISK
    billing = persona.apply_lifecycle_effects("billing", {"user_id": 456})
    assert billing["billing_status"] == "active" and billing["discount_offer_available"] is True
    view = engine.view("default")
    user = engine.model.types["user"]
    assert view.get(user, 456)["lifecycle_state"] == "ChurnRisk"
    assert view.facet(user, 456, "billing", None)["billing_status"] == "active"
    persona = persona.update_metadata({"discount_accepted": True})
    assert persona.to_dict()["entered_at"] == "2026-01-01T00:00:00Z"  # the clock stands at the world's epoch
    assert persona.lifecycle.next_transition == {"to": "Active", "at": "2026-01-08T00:00:00Z",
                                                 "rule": "won_back_by_discount"}
