"""Counts and pages of child types from the index: a write moves the total and the right page by
exactly one, nested types (``/order_items``) page from per-user counts, and a write recounts only
the persona it touched (the kept differences are updated, not rebuilt)."""

from __future__ import annotations

from array import array

from mockverse.http.app import Settings, create_app
from mockverse.world.engine import ConsistencyEngine
from mockverse.world.freshness import JOURNAL, Changes
from mockverse.world.index import ChildIndex, Touched


def engine_on(tmp_path, config=None) -> ConsistencyEngine:
    return create_app(Settings(store=str(tmp_path / "own.db"), seed="42",
                               config=str(config) if config else None)).state.engine


def total(c, path: str) -> int:
    return int(c.get(path).headers["x-total-count"])


def ids(c, path: str) -> list:
    return [o["id"] for o in c.get(path).json()]


def test_creating_and_deleting_an_order_moves_the_total_and_its_page_by_one(app_client):
    c = app_client()
    c.patch("/users/1", json={"name": "First write"})   # the workspace leaves the base world
    before = sum(total(c, f"/users/{id}/orders") for id in range(1, 6))   # where user 5's orders end
    page, at = before // 20 + 1, before % 20
    orders, listed = total(c, "/orders"), ids(c, f"/orders?_page={page}")
    created = c.post("/orders", json={"userId": 5, "currency": "EUR"}).json()["id"]
    assert total(c, "/orders") == orders + 1
    assert ids(c, f"/orders?_page={page}") == [*listed[:at], created, *listed[at:]][:20]
    assert c.delete(f"/orders/{created}").status_code == 204
    assert total(c, "/orders") == orders
    assert ids(c, f"/orders?_page={page}") == listed
    gone = listed[3]
    assert c.delete(f"/orders/{gone}").status_code == 204
    assert total(c, "/orders") == orders - 1
    assert ids(c, f"/orders?_page={page}")[:19] == [*listed[:3], *listed[4:]]


def test_order_items_page_and_count_from_the_index(tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text("world:\n  entities:\n    user:\n      population: 40\n")
    engine = engine_on(tmp_path, config)
    user, order, item = (engine.model.types[name] for name in ("user", "order", "order_item"))
    view = engine.view("default")   # the items user by user, order by order, from each order's own list
    items = [i["id"] for id in range(1, 41) for o in view.children(user, id, "has_orders")
             for i in view.children(order, o["id"], "has_items")]
    middle = len(items) // 20 // 2
    start = (middle - 1) * 20
    assert view.count(item) == len(items)
    assert [i["id"] for i in view.page(item, middle, 20)] == items[start: start + 20]
    engine.update("default", "user", 1, {"name": "First write"})
    parent = items[start] // 100
    created = engine.create("default", "order_item", {"order_id": parent, "quantity": 2, "unit_price": 10})["id"]
    after = items.index([i for i in items if i // 100 == parent][-1]) + 1
    view = engine.view("default")
    assert view.count(item) == len(items) + 1
    assert [i["id"] for i in view.page(item, middle, 20)] == [*items[start:after], created, *items[after:]][:20]
    engine.delete("default", "order_item", items[start])
    engine.delete("default", "order", parent)   # its items go with it
    view = engine.view("default")
    gone = [i for i in items if i // 100 == parent]
    assert view.count(item) == len(items) - len(gone)
    assert [i["id"] for i in view.page(item, middle, 20)] == [i for i in items if i // 100 != parent][start: start + 20]


def test_every_timeline_counts_and_pages_from_the_index(tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text("world:\n  entities:\n    user:\n      population: 40\n")
    engine = engine_on(tmp_path, config)
    user, order, payment, device = (engine.model.types[name] for name in ("user", "order", "payment", "device"))
    view = engine.view("default")   # payments follow their order by a drawn delay; devices come at spaced gaps
    payments = [p["id"] for id in range(1, 41) for o in view.children(user, id, "has_orders")
                for p in view.children(order, o["id"], "has_payments")]
    devices = [d["id"] for id in range(1, 41) for d in view.children(user, id, "has_devices")]
    assert (view.count(payment), view.count(device)) == (len(payments), len(devices))
    assert [p["id"] for p in view.page(payment, 3, 20)] == payments[40:60]
    assert [d["id"] for d in view.page(device, 2, 10)] == devices[10:20]


def test_a_write_recounts_only_the_persona_it_touched(tmp_path):
    engine = engine_on(tmp_path)
    order = engine.model.types["order"]
    engine.update("default", "user", 1, {"name": "First write"})
    count = engine.view("default").count(order)
    kept = engine.view("default").differences(order)
    assert kept.deltas == {}
    engine.create("default", "order", {"userId": 5, "currency": "EUR"})
    engine.create("default", "order", {"userId": 9, "currency": "EUR"})
    engine.delete("default", "order", 7001)
    view = engine.view("default")
    assert view.differences(order) is kept
    assert kept.deltas == {5: 1, 9: 1, 7: -1}
    assert view.count(order) == count + 1


def test_the_kept_differences_sum_as_a_plain_sum_would():
    deltas = {3: 2, 17: -1, 64: 5, 65: -3, 1000: 1}
    touched = Touched.of(1000, deltas)
    for position in (0, 2, 3, 16, 17, 63, 64, 65, 999, 1000):
        assert touched.shift(position) == sum(d for p, d in deltas.items() if p <= position)
    touched.set(64, 0)
    touched.set(5, 4)
    assert touched.deltas == {3: 2, 5: 4, 17: -1, 65: -3, 1000: 1}
    assert touched.shift(1000) == 3
    index = ChildIndex(array("q", range(1001)))   # every position holds one child
    assert touched.locate(index, 0) == (1, 0)
    assert touched.locate(index, 2) == (3, 0)
    assert touched.locate(index, 4) == (3, 2)
    assert touched.locate(index, 5) == (4, 0)


def test_the_changes_journal_gives_the_tags_since_a_tick_or_says_it_forgot():
    changes = Changes()
    changes.mark("ws", ["e:user:1"])
    changes.mark("other", ["e:user:2"])
    tick = changes.tick
    changes.mark("ws", ["e:order:5001", "l:user:5"])
    assert changes.since("ws", 0) == ["e:order:5001", "l:user:5", "e:user:1"]
    assert changes.since("ws", tick) == ["e:order:5001", "l:user:5"]
    assert changes.since("other", tick) == []
    for n in range(JOURNAL):
        changes.mark("ws", [f"e:user:{n}"])
    assert changes.since("ws", tick) is None   # the journal let those go: whoever asks rebuilds
    assert changes.since("ws", changes.tick - 1) == [f"e:user:{JOURNAL - 1}"]
