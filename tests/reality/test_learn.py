"""Reality-aware generation: the synthetic world draws its values from recorded upstream traffic."""

from __future__ import annotations

import httpx
import orjson
import pytest
import yaml
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from mockverse.config import builtin_spec_path
from mockverse.ids import unit_draw
from mockverse.reality.learn import shape

UPSTREAM = "http://upstream.test"
USERS = range(1, 61)   # 60 recorded users: every learnt field is seen far more often than MIN_SEEN
COMPANIES = (("Acme GmbH", 0.5), ("Globex AG", 0.8), ("Initech", 1.0))
CITIES = ("Berlin", "Hamburg", "Vienna")


def upstream_user(body: dict) -> dict:
    """A user of another world whose company, phone and city the default generator never makes."""
    u = unit_draw("upstream", body["id"])
    company = next(name for name, edge in COMPANIES if u < edge)
    digits = str(int(unit_draw("phone", body["id"]) * 10**7)).zfill(7)
    city = CITIES[int(unit_draw("city", body["id"]) * 3)]
    address = {**body["address"], "city": city}
    return {**body, "company": company, "phone": f"+49 30 {digits}", "address": address}


@pytest.fixture
def recorded(app_client, tmp_path):
    """A store holding 60 recordings of GET /users/{id} from an upstream served in process."""
    other = app_client(seed=7)
    bodies = {i: orjson.dumps(upstream_user(other.get(f"/users/{i}").json())) for i in USERS}

    async def user(request) -> Response:
        return Response(bodies[int(request.path_params["id"])], media_type="application/json")

    upstream = Starlette(routes=[Route("/users/{id:int}", user)])
    store = tmp_path / "recorded.db"
    config = tmp_path / "record.yaml"
    config.write_text(yaml.safe_dump({"reality_continuum": {"enabled": True, "upstream": UPSTREAM, "record": True}}))
    recorder = app_client(config=config, store=store)
    recorder.app.state.reality.upstream.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=upstream),
                                                                   base_url=UPSTREAM)
    for i in USERS:
        r = recorder.get(f"/users/{i}")
        assert r.status_code == 200 and r.headers["x-mockverse-source"] == "upstream"
    return store, bodies


def serving(app_client, tmp_path, store, learn: bool):
    config = tmp_path / f"learn-{learn}.yaml"
    config.write_text(yaml.safe_dump({"consistency": {"personas": {"reality_aware_generation": learn}}}))
    return app_client(config=config, store=store)


def samples_score(client) -> float:
    r = client.post("/api/v1/workspace/default/fidelity", json={"source": "traffic"})
    assert r.status_code == 200, r.text
    return r.json()["score"]["driver_metrics"]["sample_similarity"]["value"]


def test_learning_from_recordings_brings_synthetic_samples_close_to_reality(app_client, tmp_path, recorded):
    store, bodies = recorded
    plain = serving(app_client, tmp_path, store, learn=False)
    learnt = serving(app_client, tmp_path, store, learn=True)
    before, after = samples_score(plain), samples_score(learnt)
    # measured: the default generator's companies, phones and cities against the upstream's, then learnt
    assert (before, after) == (0.632368, 0.997416)
    user = learnt.get("/users/17").json()
    assert user["company"] in {"Acme GmbH", "Globex AG", "Initech"}
    assert shape(user["phone"]) == "+9 9 9" and len(user["phone"]) == len("+49 30 1234567")
    assert user["address"]["city"] in CITIES
    assert learnt.get("/users/17").content == learnt.get("/users/17").content

    # drawn per entity, never a recorded value; ids, stamps, the persona's state, links and totals untouched
    recorded_phones = {orjson.loads(b)["phone"] for b in bodies.values()}
    for i in (3, 17, 250, 999):
        mine, theirs = learnt.get(f"/users/{i}").json(), plain.get(f"/users/{i}").json()
        for name in ("id", "created_at", "lifecycle_state", "email", "first_name", "last_name"):
            assert mine[name] == theirs[name]
        assert mine["phone"] not in recorded_phones
        orders = learnt.get(f"/users/{i}/orders").json()
        assert [o["id"] for o in orders] == [o["id"] for o in plain.get(f"/users/{i}/orders").json()]
        for order in orders[:2]:
            full = learnt.get(f"/orders/{order['id']}").json()
            assert full["user"] == {k: mine[k] for k in full["user"]}
            assert full["total"] == round(sum(x["quantity"] * x["unit_price"] for x in full["items"]), 2)

    # with the flag off, or nothing recorded, the bytes are the default generator's
    fresh = app_client()
    nothing = serving(app_client, tmp_path, tmp_path / "empty.db", learn=True)
    for path in ("/users/17", "/users/17/orders", "/orders/17001", "/users/400"):
        assert plain.get(path).content == fresh.get(path).content == nothing.get(path).content


def test_a_new_recording_invalidates_the_profile(app_client, tmp_path):
    learnt = serving(app_client, tmp_path, tmp_path / "fresh.db", learn=True)
    before = learnt.get("/users/17").json()["company"]
    engine = learnt.app.state.reality.engine
    for i in range(40):
        engine.store.append("default", "recording", "GET /users/{id}", {
            "method": "GET", "route": "/users/{id}", "path": f"/users/{1000 + i}", "query": "", "status": 200,
            "body_kind": "json", "body": {"id": 1000 + i, "company": "Umbrella plc"}})
    assert before != "Umbrella plc"
    assert {learnt.get(f"/users/{i}").json()["company"] for i in (17, 18, 19)} == {"Umbrella plc"}


def test_the_profile_learns_numbers_enums_text_arrays_and_presence() -> None:
    from mockverse.config import load_config
    from mockverse.openapi import infer_world
    from mockverse.openapi.loader import load_spec
    from mockverse.reality.learn import draw, learn
    from mockverse.world.model import WorldModel

    config = load_config(None)
    spec = load_spec(str(builtin_spec_path()))
    model = WorldModel.from_spec(spec, infer_world(spec), config.world)
    bodies = [{"id": i, "status": "paid" if i % 4 else "cancelled", "weight": 1.5 * i, "tags": ["a"] * (i % 3),
               "note": f"N-{i:03d}", **({"coupon": "X"} if i % 2 else {}), "gift": i % 5 == 0} for i in range(1, 41)]
    profile = learn(model, [{"method": "GET", "route": "/orders/{id}", "status": 200, "body": b} for b in bodies])
    order = profile["order"]
    assert order[("status",)].kind == "enum" and order[("status",)].choices == [("paid", 0.75), ("cancelled", 1.0)]
    assert order[("weight",)].kind == "number" and (order[("weight",)].numbers[0], order[("weight",)].numbers[-1]) == (
        1.5,
        60.0,
    )
    assert order[("tags",)].kind == "array" and order[("tags",)].lengths[:3] == [0, 0, 0]
    assert order[("note",)].kind == "text" and order[("note",)].shapes == frozenset({"a-9"})
    assert order[("coupon",)].presence == 0.5
    assert order[("gift",)].kind == "boolean" and order[("gift",)].true_rate == 0.2
    assert draw(order[("weight",)], 3.0, "seed", "order:1", "learned", "weight") == 18.1
    # text keeps the generator's value when it has the recorded format and length, else takes a new one
    assert draw(order[("note",)], "Q-123", "seed", "order:1", "learned", "note") == "Q-123"
    assert draw(order[("note",)], "free text here", "seed", "order:1", "learned", "note") == "K-543"
