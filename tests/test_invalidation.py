"""A write drops exactly what depends on it: the entities, lists and counts it touched, nothing else.

What a view builds is counted by its ``Budget`` (entities built, i.e. cache misses), so "rebuilt"
and "served from cache" are exact numbers here, not timings.
"""

from __future__ import annotations

import pytest

from conftest import RedisServer, redis_binary
from mockverse.http.app import Settings, create_app
from mockverse.world.engine import Budget, ConsistencyEngine, WorldView


def engine_on(store: str, **settings) -> ConsistencyEngine:
    return create_app(Settings(store=store, seed="42", **settings)).state.engine


def counted(engine: ConsistencyEngine) -> WorldView:
    """A view of the default workspace that counts the entities it builds."""
    view = engine.view("default")
    view.budget = Budget(10**9)
    return view


def built(engine: ConsistencyEngine, read) -> int:
    """How many entities ``read(view)`` built on a fresh view (0: all from cache)."""
    view = counted(engine)
    read(view)
    return view.budget.spent  # type: ignore[union-attr]


def warm(engine: ConsistencyEngine) -> None:
    """Read users 3, 5 and 9 with their orders, the first page of orders and the order count."""
    user, order = engine.model.types["user"], engine.model.types["order"]
    view = engine.view("default")
    for id in (3, 5, 9):
        view.body(user, id, {"properties": {"orders": {}}})
    view.page(order, 1, 20)
    view.count(order)


@pytest.fixture
def engine(tmp_path) -> ConsistencyEngine:
    engine = engine_on(str(tmp_path / "state.db"))
    engine.update("default", "user", 1, {"name": "First write"})   # the workspace leaves the base world
    warm(engine)
    return engine


def test_patching_a_user_rebuilds_that_user_only(engine):
    user, order = engine.model.types["user"], engine.model.types["order"]
    before = engine.view("default").get(user, 3)
    count = engine.view("default").count(order)
    engine.update("default", "user", 9, {"name": "Nine"})
    assert built(engine, lambda v: v.get(user, 3)) == 0
    assert built(engine, lambda v: v.page(order, 1, 20)) == 0
    assert built(engine, lambda v: v.count(order)) == 0
    view = engine.view("default")
    assert view.get(user, 9)["name"] == "Nine"
    assert view.get(user, 3) == before
    assert view.count(order) == count


def test_creating_an_order_changes_its_user_the_list_and_the_count_only(engine):
    user, order = engine.model.types["user"], engine.model.types["order"]
    view = engine.view("default")
    count, mine = view.count(order), [o["id"] for o in view.children(user, 5, "has_orders")]
    created = engine.create("default", "order", {"userId": 5, "currency": "EUR"})
    assert built(engine, lambda v: v.get(user, 3)) == 0
    assert built(engine, lambda v: v.children(user, 9, "has_orders")) == 0
    view = engine.view("default")
    assert view.count(order) == count + 1
    assert [o["id"] for o in view.children(user, 5, "has_orders")] == [*mine, created["id"]]
    assert view.get(order, created["id"])["user_id"] == 5


def test_deleting_an_order_drops_it_from_its_user_and_the_count(engine):
    user, order = engine.model.types["user"], engine.model.types["order"]
    view = engine.view("default")
    count, mine = view.count(order), [o["id"] for o in view.children(user, 5, "has_orders")]
    engine.delete("default", "order", mine[0])
    assert built(engine, lambda v: v.get(user, 3)) == 0
    view = engine.view("default")
    assert view.count(order) == count - 1
    assert [o["id"] for o in view.children(user, 5, "has_orders")] == mine[1:]
    assert view.get(order, mine[0]) is None


def test_bookkeeping_writes_rebuild_nothing(engine):
    user, order = engine.model.types["user"], engine.model.types["order"]
    engine.store.append("default", "delivery", "evt-1", {"status": "queued"})
    engine.store.put_setting("default", "webhooks.queue", {"evt-1": 1})
    assert built(engine, lambda v: (v.get(user, 3), v.get(user, 9), v.page(order, 1, 20), v.count(order))) == 0


def test_a_lifecycle_change_rebuilds_that_persona(engine):
    user = engine.model.types["user"]
    engine.persona("default", "user:9").update_lifecycle_state("ChurnRisk")
    assert built(engine, lambda v: v.get(user, 3)) == 0
    view = engine.view("default")
    assert view.get(user, 9)["lifecycle_state"] == "ChurnRisk"


def test_a_reset_rebuilds_everything_of_the_workspace(engine):
    user = engine.model.types["user"]
    engine.update("default", "user", 3, {"name": "Three"})
    engine.reset_workspace("default")
    view = engine.view("default")
    assert view.get(user, 3)["name"] != "Three"


def test_over_http_a_write_changes_exactly_the_answers_it_should(app_client):
    c = app_client()
    c.patch("/users/1", json={"name": "First write"})
    users = {id: c.get(f"/users/{id}").json() for id in (3, 5, 9)}
    total = int(c.get("/orders").headers["x-total-count"])
    created = c.post("/orders", json={"userId": 5, "currency": "EUR"}).json()
    assert c.get("/users/3").json() == users[3]
    assert c.get("/users/9").json() == users[9]
    assert [o["id"] for o in c.get("/users/5").json()["orders"]] == [o["id"] for o in users[5]["orders"]] + \
        [created["id"]]
    assert int(c.get("/orders").headers["x-total-count"]) == total + 1
    assert int(c.get("/orders?userId=5").headers["x-total-count"]) == len(users[5]["orders"]) + 1
    c.patch("/users/9", json={"name": "Nine"})
    assert c.get("/users/9").json()["name"] == "Nine"
    assert c.get("/users/3").json() == users[3]


def test_two_redis_instances_see_each_others_writes_and_keep_the_rest(tmp_path):
    redis = RedisServer(redis_binary(), tmp_path).start()
    try:
        one = engine_on(redis.url)
        two = engine_on(redis.url)
        user = one.model.types["user"]
        one.update("default", "user", 1, {"name": "First write"})
        warm(one)
        warm(two)
        one.update("default", "user", 9, {"name": "Nine"})
        assert two.view("default").get(user, 9)["name"] == "Nine"
        assert built(two, lambda v: v.get(user, 3)) == 0
        created = two.create("default", "order", {"userId": 5, "currency": "EUR"})
        assert created["id"] in [o["id"] for o in one.view("default").children(user, 5, "has_orders")]
        assert built(one, lambda v: v.get(user, 3)) == 0
    finally:
        redis.stop()
