"""A write drops exactly what depends on it: the entities, lists and counts it touched, nothing else.

What a view builds is counted by its ``Budget`` (entities built, i.e. cache misses), so "rebuilt"
and "served from cache" are exact numbers here, not timings.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import RedisServer, redis_binary
from mockverse.http.app import Settings, create_app
from mockverse.store import Store, open_store
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
        view.get(user, id)
        view.children(user, id, "has_orders")
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


# -- the change tags every store records ---------------------------------------------------------
@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path) -> Iterator[Store]:
    """A fresh store of each implementation (Redis: a real redis-server on loopback)."""
    if request.param == "sqlite":
        opened = open_store(str(tmp_path / "state.db"))
        yield opened
        opened.close()
        return
    server = RedisServer(redis_binary(), tmp_path).start()
    opened = open_store(server.url)
    yield opened
    opened.close()
    server.stop()


def test_every_write_records_the_tags_it_touched(store):
    store.put_entity("ws", "order", "5001", {"user_id": 5}, "created", [("user:5", "has_orders", "order:5001")])
    store.put_entity("ws", "order", "5001", {"user_id": 6}, "created", [("user:6", "has_orders", "order:5001")])
    store.put_entity("ws", "user", "9", {"name": "Nine"}, "patch", [])
    store.put_setting("ws", "lifecycle:user:9", {"history": []})
    store.append("ws", "delivery", "evt-1", {"status": "queued"})
    store.delete_entity("ws", "order", "5001", "created")
    changes = store.changes("ws", 0)
    assert [version for version, _ in changes] == [1, 2, 3, 4, 5, 6]
    assert [sorted(tags) for _, tags in changes] == [
        ["e:order:5001", "l:order:5001", "l:user:5", "s:order"],
        ["e:order:5001", "l:order:5001", "l:user:5", "l:user:6", "s:order"],
        ["e:user:9", "l:user:9", "s:user"],
        ["f:lifecycle", "g:lifecycle:user:9"],
        ["k:delivery"],
        ["e:order:5001", "l:order:5001", "l:user:6", "s:order"],
    ]
    assert store.changes("ws", 4) == changes[4:]
    assert store.changes("other", 0) == []
    store.reset_workspace("ws")   # everything changed: the changes before it are no longer kept
    assert store.changes("ws", 0) == [(7, ["*"])]


def test_a_second_change_of_a_record_leaves_the_members_alone(store):
    store.put_entity("ws", "user", "9", {"name": "Nine"}, "patch", [])
    store.put_entity("ws", "user", "9", {"name": "Nine again"}, "patch", [])
    assert sorted(store.changes("ws", 1)[0][1]) == ["e:user:9", "l:user:9"]
    assert store.stored_ids("ws", "user") == ["9"]


def test_stored_ids_and_setting_keys_list_what_was_written(store):
    store.put_entity("ws", "order", "7:1", {}, "patch", [])
    store.delete_entity("ws", "order", "5002", "generated")
    store.put_setting("ws", "lifecycle:user:3", {})
    store.put_setting("ws", "lifecycle:user:12", {})
    store.put_setting("ws", "reality", {})
    assert store.stored_ids("ws", "order") == ["5002", "7:1"]
    assert store.setting_keys("ws", "lifecycle:user:") == ["lifecycle:user:12", "lifecycle:user:3"]


# -- a large world: the index finds the middle page ----------------------------------------------
def test_a_100000_persona_world_serves_the_middle_page_of_orders(app_client, tmp_path):
    config = tmp_path / "big.yaml"
    config.write_text("world:\n  entities:\n    user:\n      population: 100000\n")
    c = app_client(config=config)
    created = c.post("/orders", json={"userId": 10, "currency": "EUR"}).json()
    # the per-persona counts, from each persona's timeline in an engine of its own
    engine = engine_on(str(tmp_path / "own.db"), config=str(config))
    user, order = engine.model.types["user"], engine.model.types["order"]
    view = engine.view("default")
    counts = [len(view.child_times(user, id, view.root_created_at(user, id), order)) for id in range(1, 100_001)]
    counts[9] += 1   # the order created for persona 10 comes after its generated ones
    total = sum(counts)
    page = total // 20 // 2
    first = (page - 1) * 20
    seen, expected = 0, []
    for id, n in enumerate(counts, start=1):
        if seen + n > first:
            ids = [order.child_id(id, k) for k in range(1, n + 1)] + ([created["id"]] if id == 10 else [])
            expected.extend(ids[max(0, first - seen):])
            if len(expected) >= 20:
                break
        seen += n
    answer = c.get(f"/orders?_page={page}")
    assert answer.status_code == 200
    assert int(answer.headers["x-total-count"]) == total
    assert [o["id"] for o in answer.json()] == expected[:20]
    for id in (10, 50_000, 99_999):
        assert int(c.get(f"/users/{id}/orders?_page=1").headers["x-total-count"]) == counts[id - 1]
