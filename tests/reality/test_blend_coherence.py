"""A blended persona never contradicts itself: another mockverse world (another seed) plays the
real upstream in process, and the persona's world decides what exists and what adds up."""

from __future__ import annotations

import httpx
import pytest
import yaml

UPSTREAM = "http://upstream.test"


@pytest.fixture
def blended(app_client, tmp_path):
    """A mock whose upstream is the built-in world of seed 7, served in process (no socket)."""
    real = app_client(seed=7)
    config = tmp_path / "reality.yaml"
    config.write_text(yaml.safe_dump({"reality_continuum": {"enabled": True, "upstream": UPSTREAM}}))
    mock = app_client(config=config)
    mock.app.state.reality.upstream.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=real.app),
                                                               base_url=UPSTREAM)
    return mock, real


def at(r: float) -> dict:
    return {"X-Mockverse-Reality": str(r)}


def test_derived_fields_agree_with_the_embedded_items_at_high_ratios(blended):
    mock, real = blended
    checked = 0
    for user in range(100, 106):
        orders = mock.get(f"/users/{user}/orders", headers=at(0)).json()
        for order in orders[:4]:
            ours = mock.get(f"/orders/{order['id']}", headers=at(0)).json()
            theirs = real.get(f"/orders/{order['id']}")
            if theirs.status_code != 200:
                continue
            for r in (0.7, 0.85, 0.95):
                got = mock.get(f"/orders/{order['id']}", headers=at(r))
                assert got.status_code == 200 and got.headers["x-mockverse-source"] == "blend"
                body = got.json()
                assert body["item_count"] == len(body["items"]) == len(ours["items"])
                assert [i["id"] for i in body["items"]] == [i["id"] for i in ours["items"]]
                assert body["total"] == round(sum(i["quantity"] * i["unit_price"] for i in body["items"]), 2)
                assert all(i["currency"] == body["currency"] for i in body["items"])
                assert all(p["amount"] == body["total"] for p in body.get("payments", []))
                listed = next(o for o in mock.get(f"/users/{user}/orders", headers=at(r)).json()
                              if o["id"] == order["id"])
                assert (listed["total"], listed["item_count"]) == (body["total"], body["item_count"])
                checked += 1
    assert checked >= 30


def test_an_order_the_persona_does_not_have_stays_a_404_at_every_ratio(blended):
    mock, real = blended
    absent = []
    for user in range(100, 140):
        for n in range(1, 6):
            order_id = user * 1000 + n
            if mock.get(f"/orders/{order_id}", headers=at(0)).status_code == 404 and \
                    real.get(f"/orders/{order_id}").status_code == 200:
                absent.append(order_id)
    assert len(absent) >= 10
    for order_id in absent:
        for r in (0.3, 0.5, 0.7, 0.9, 0.999):
            got = mock.get(f"/orders/{order_id}", headers=at(r))
            assert got.status_code == 404, (order_id, r, got.text)
            assert got.headers["x-mockverse-source"] == "synthetic"
            trace = mock.get(f"/api/v1/reality/trace/{got.headers['x-mockverse-request-id']}").json()
            assert [(d["path"], d["rule"], d["source"]) for d in trace["decisions"]][:1] in (
                [("#status", "persona-absent", "synthetic")], [("$", "band", "synthetic")])
