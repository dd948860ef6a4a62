"""A persona never contradicts itself: random personas, lifecycle states, clock moves and writes
(Hypothesis, derandomized and bounded), then every endpoint that shows a fact must agree on it."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

PAID = {"paid", "shipped", "delivered"}
CURRENCY = {"US": "USD", "GB": "GBP", "DE": "EUR"}
STATES = ["NewSignup", "Active", "ChurnRisk", "Churned", "UpgradePending", "PaymentFailed", "PowerUser",
          "NEW", "CHURN_RISK"]
CANONICAL = {"NEW": "NewSignup", "CHURN_RISK": "ChurnRisk"}

personas = st.one_of(st.integers(1, 400), st.sampled_from(sorted(CURRENCY)))
steps = st.lists(st.one_of(
    st.tuples(st.just("state"), st.sampled_from(STATES)),
    st.tuples(st.just("advance"), st.sampled_from(["90m", "36h", "3d", "8d", "15d", "31d"])),
    st.tuples(st.just("order"), st.sampled_from([None, "EUR"])),
    st.tuples(st.just("fail_payment"), st.just(None)),
    st.tuples(st.just("put_patch"), st.just(None)),
), max_size=5)


def test_personas_never_contradict_themselves(app_client):
    c = app_client()
    counter = itertools.count()

    @settings(max_examples=40, derandomize=True, deadline=None, database=None)
    @given(persona=personas, steps=steps)
    def check(persona: int | str, steps: list[tuple[str, str | None]]) -> None:
        ws = {"X-Mockverse-Workspace": f"prop-{next(counter)}"}
        uid = persona if isinstance(persona, int) else create_user(c, ws, persona)
        explicit: set[int] = set()           # orders created with a currency of their own
        replaced: set[str] = set()           # user fields a PUT removed
        for kind, arg in steps:
            if kind == "state":
                r = c.post("/api/v1/consistency/persona/lifecycle", headers=ws,
                           json={"persona_id": f"user:{uid}", "lifecycle_state": arg})
                assert (r.status_code, r.json()["state"]) == (200, CANONICAL.get(arg, arg))
            elif kind == "advance":
                assert c.post("/api/v1/consistency/clock/advance", headers=ws, json={"by": arg}).status_code == 200
            elif kind == "order":
                r = c.post("/orders", headers=ws, json={"user_id": uid, **({"currency": arg} if arg else {})})
                assert r.status_code == 201, r.text
                if arg:
                    explicit.add(r.json()["id"])
            elif kind == "fail_payment":
                fail_latest_payment(c, ws, uid)
            else:
                replaced |= put_then_patch(c, ws, uid)
        assert_coherent(c, ws, uid, explicit, replaced)

    check()


def create_user(c, ws: dict, country: str) -> int:
    body = {"first_name": "Ann", "last_name": "Lee",
            "address": {"street": "1 High St", "city": "Somewhere", "postal_code": "N1", "country": country}}
    r = c.post("/users", headers=ws, json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def fail_latest_payment(c, ws: dict, uid: int) -> None:
    """Mark the payment of the user's latest order failed (a write on a generated or created payment)."""
    orders = c.get(f"/users/{uid}/orders", headers=ws, params={"_per_page": 1000}).json()
    if not orders:
        return
    payments = c.get(f"/orders/{orders[-1]['id']}/payments", headers=ws).json()
    for payment in payments:
        assert c.patch(f"/payments/{payment['id']}", headers=ws, json={"status": "failed"}).status_code == 200


def put_then_patch(c, ws: dict, uid: int) -> set[str]:
    """PUT the user with fewer fields, then PATCH its phone: the removed fields stay removed."""
    before = c.get(f"/users/{uid}", headers=ws).json()
    assert c.put(f"/users/{uid}", headers=ws, json={"first_name": before["first_name"], "last_name": "Put",
                                                     "address": before["address"]}).status_code == 200
    assert c.patch(f"/users/{uid}", headers=ws, json={"phone": "+44 20 7946 0000"}).status_code == 200
    return {"company", "bio", "avatar_url"}


def assert_coherent(c, ws: dict, uid: int, explicit: set[int], replaced: set[str]) -> None:
    user_r = c.get(f"/users/{uid}", headers=ws)
    user = user_r.json()
    life = c.get(f"/api/v1/consistency/persona/user:{uid}/lifecycle", headers=ws).json()
    state = user["lifecycle_state"]
    assert state == life["state"] == user_r.headers["x-mockverse-lifecycle"]
    assert c.get(f"/api/v1/consistency/users/{uid}", headers=ws).json()["lifecycle_state"] == state
    assert not replaced & set(user), f"a PATCH after a PUT brought back {replaced & set(user)}"

    billing = c.get(f"/users/{uid}/billing", headers=ws).json()
    currency = CURRENCY[user["address"]["country"]]
    assert billing["currency"] == currency
    if state == "PaymentFailed":
        assert billing["failed_payment_count"] >= 1 and life["metadata"]["failed_payment_count"] >= 1
        assert billing["failed_payment_count"] == life["metadata"]["failed_payment_count"]

    support = c.get(f"/users/{uid}/support", headers=ws).json()
    assert support.get("open_tickets", 0) == sum(t["status"] != "solved" for t in support.get("tickets", []))

    orders = c.get(f"/users/{uid}/orders", headers=ws, params={"_per_page": 1000}).json()
    assert [o["id"] for o in user["orders"]] == [o["id"] for o in orders]
    for listed in orders[-6:]:
        order = c.get(f"/orders/{listed['id']}", headers=ws).json()
        assert {k: order[k] for k in listed} == listed
        assert order["item_count"] == len(order["items"])
        if order["items"]:
            assert order["total"] == round(sum(i["quantity"] * i["unit_price"] for i in order["items"]), 2)
        payments = order["payments"]
        assert payments == c.get(f"/orders/{order['id']}/payments", headers=ws).json()
        if order["status"] in PAID:
            assert any(p["status"] != "failed" for p in payments), f"order {order['id']} {order['status']}, {payments}"
        expected = order["currency"] if order["id"] in explicit else currency
        assert order["currency"] == expected
        assert {i["currency"] for i in order["items"]} | {p["currency"] for p in payments} <= {expected}
    if state == "PaymentFailed" and orders:
        latest = c.get(f"/orders/{orders[-1]['id']}/payments", headers=ws).json()
        if latest:
            assert latest[-1]["status"] == "failed" and billing["last_payment_status"] == "failed"
            assert c.get(f"/payments/{latest[-1]['id']}", headers=ws).json()["status"] == "failed"


def test_a_payment_failed_persona_has_a_failed_payment_on_record(app_client):
    """The seed's case: set PaymentFailed with no metadata; billing counts the failed payment, and the
    persona stays PaymentFailed (dunning) until it is Churned 14 days later, never Active at day 3."""
    c = app_client()
    r = c.post(
        "/api/v1/consistency/persona/lifecycle", json={"persona_id": "user:9", "lifecycle_state": "PaymentFailed"}
    )
    assert r.json()["metadata"]["failed_payment_count"] == 1
    latest = c.get("/users/9/orders", params={"_per_page": 1000}).json()[-1]
    assert (latest["status"], c.get(f"/orders/{latest['id']}").json()["payments"][-1]["status"]) == (
        "pending",
        "failed",
    )
    billing = c.get("/users/9/billing").json()
    assert (billing["billing_status"], billing["last_payment_status"], billing["failed_payment_count"]) == (
        "past_due", "failed", 1)
    c.post("/api/v1/consistency/clock/advance", json={"by": "3d"})
    assert c.get("/users/9").json()["lifecycle_state"] == "PaymentFailed"
    c.post("/api/v1/consistency/clock/advance", json={"by": "11d"})
    life = c.get("/api/v1/consistency/persona/user:9/lifecycle").json()
    assert (life["state"], life["history"][-1]["source"]) == ("Churned", "rule:dunning_exhausted")

    fresh = {"X-Mockverse-Workspace": "fresh"}
    state_of_8 = c.get("/users/8", headers=fresh).json()["lifecycle_state"]
    assert c.post(
        "/api/v1/consistency/persona/lifecycle",
        headers=fresh,
        json={"persona_id": "user:19", "lifecycle_state": "PaymentFailed", "metadata": {"failed_payment_count": 2}},
    ).is_success
    for request in (
            c.post("/api/v1/consistency/persona/lifecycle", headers=fresh, json={
                "persona_id": "user:8", "lifecycle_state": "PaymentFailed", "metadata": {"failed_payment_count": 0}}),
            c.patch("/api/v1/consistency/persona/user:19/lifecycle", headers=fresh,
                    json={"metadata": {"failed_payment_count": 0}})):
        assert (request.status_code, request.json()["field"]) == (422, "metadata.failed_payment_count")
        assert request.json()["detail"] == (
            "a PaymentFailed persona's latest payment failed, so failed_payment_count is at least 1 (got 0); "
            "set the state to Active for a recovered payment")
    # refused: unchanged
    assert c.get("/users/8", headers=fresh).json()["lifecycle_state"] == state_of_8 == "ChurnRisk"
    assert c.get("/users/19/billing", headers=fresh).json()["failed_payment_count"] == 2
