"""One contract, two stores: SQLite and Redis must behave the same to the engine.

Redis runs as a real ``redis-server`` on a free loopback port, without persistence.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator

import pytest

from mockverse.store import Store, StoredEntity, StoreUnavailable, open_store

WS = "default"


@pytest.fixture
def opened(store_url) -> Iterator[Callable[[], Store]]:
    """Factory: another store on the same URL, like another worker or instance; all closed after."""
    stores: list[Store] = []

    def open_one() -> Store:
        stores.append(open_store(store_url))
        return stores[-1]

    yield open_one
    for store in stores:
        store.close()


@pytest.fixture
def store(opened) -> Store:
    return opened()


def user(id: str) -> str:
    return f"user:{id}"


# -- entities ---------------------------------------------------------------------------------

def test_a_stored_entity_reads_back_exactly(store):
    data = {"name": "Zoë", "total": 12.5, "tags": ["a", "b"], "address": {"city": "Lyon"}, "n": 2**40}
    store.put_entity(WS, "user", "7", data, "patch", [])
    assert store.get_entity(WS, "user", "7") == StoredEntity("user", "7", data, "patch", False)
    assert store.get_entity(WS, "user", "8") is None
    assert store.get_entity(WS, "order", "7") is None


def test_a_second_put_replaces_data_and_mode(store):
    store.put_entity(WS, "user", "7", {"name": "A", "age": 3}, "patch", [])
    store.put_entity(WS, "user", "7", {"name": "B"}, "replace", [])
    assert store.get_entity(WS, "user", "7") == StoredEntity("user", "7", {"name": "B"}, "replace", False)


def test_deleting_leaves_a_tombstone_and_a_put_revives(store):
    store.put_entity(WS, "user", "7", {"name": "A"}, "patch", [])
    store.delete_entity(WS, "user", "7", "replace")
    assert store.get_entity(WS, "user", "7") == StoredEntity("user", "7", {"name": "A"}, "patch", True)
    store.delete_entity(WS, "user", "9", "patch")
    assert store.get_entity(WS, "user", "9") == StoredEntity("user", "9", {}, "patch", True)
    store.put_entity(WS, "user", "7", {"name": "C"}, "patch", [])
    assert store.get_entity(WS, "user", "7") == StoredEntity("user", "7", {"name": "C"}, "patch", False)


def test_created_ids_come_in_creation_order_without_the_deleted(store):
    for id in ["c", "a", "b", "d"]:
        store.put_entity(WS, "user", id, {"id": id}, "created", [])
    store.put_entity(WS, "user", "a", {"id": "a", "name": "again"}, "created", [])
    store.put_entity(WS, "user", "x", {}, "patch", [])
    store.delete_entity(WS, "user", "b", "created")
    assert store.created_ids(WS, "user") == ["c", "a", "d"]
    assert store.deleted_ids(WS, "user") == []
    store.put_entity(WS, "user", "b", {"id": "b"}, "created", [])
    assert store.created_ids(WS, "user") == ["c", "a", "b", "d"]
    assert store.created_ids(WS, "order") == []


def test_deleted_ids_are_generated_tombstones_in_id_order(store):
    for id in ["9", "10", "2"]:
        store.delete_entity(WS, "user", id, "patch")
    store.put_entity(WS, "user", "c", {}, "created", [])
    store.delete_entity(WS, "user", "c", "created")
    assert store.deleted_ids(WS, "user") == ["10", "2", "9"]
    store.put_entity(WS, "user", "2", {"name": "back"}, "patch", [])
    assert store.deleted_ids(WS, "user") == ["10", "9"]


# -- links ------------------------------------------------------------------------------------

def test_links_come_in_insertion_order_per_relationship(store):
    store.put_entity(WS, "order", "1", {}, "created", [(user("1"), "orders", "order:1")])
    store.put_entity(WS, "device", "1", {}, "created", [(user("1"), "devices", "device:1")])
    store.put_entity(WS, "order", "3", {}, "created", [(user("1"), "orders", "order:3")])
    twice = [(user("1"), "orders", "order:2"), (user("1"), "favourites", "order:2"), (user("1"), "orders", "order:2")]
    store.put_entity(WS, "order", "2", {}, "created", twice)
    assert store.linked(WS, user("1"), "orders") == ["order:1", "order:3", "order:2"]
    assert store.links_of(WS, "order:2") == twice[:2]
    assert store.linked(WS, user("1"), "devices") == ["device:1"]
    assert store.linked(WS, user("2"), "orders") == []


def test_a_put_replaces_the_links_in_which_the_entity_is_the_child(store):
    store.put_entity(WS, "order", "1", {}, "created", [(user("1"), "orders", "order:1")])
    store.put_entity(WS, "order", "2", {}, "created", [(user("1"), "orders", "order:2")])
    store.put_entity(WS, "order", "1", {}, "created", [(user("2"), "orders", "order:1")])
    assert store.linked(WS, user("1"), "orders") == ["order:2"]
    assert store.linked(WS, user("2"), "orders") == ["order:1"]
    store.put_entity(WS, "order", "3", {}, "created", [(user("1"), "orders", "order:3")])
    store.put_entity(WS, "order", "2", {"total": 1}, "patch", [(user("1"), "orders", "order:2")])
    assert store.linked(WS, user("1"), "orders") == ["order:2", "order:3"]   # a link kept keeps its place


def test_links_of_lists_both_directions_in_insertion_order(store):
    store.put_entity(WS, "order", "1", {}, "created", [(user("1"), "orders", "order:1")])
    store.put_entity(WS, "payment", "1", {}, "created", [("order:1", "payments", "payment:1")])
    store.put_entity(WS, "order", "2", {}, "created", [(user("1"), "orders", "order:2")])
    assert store.links_of(WS, "order:1") == [(user("1"), "orders", "order:1"), ("order:1", "payments", "payment:1")]
    assert store.links_of(WS, user("1")) == [(user("1"), "orders", "order:1"), (user("1"), "orders", "order:2")]
    assert store.links_of(WS, "payment:9") == []


def test_deleting_an_entity_removes_its_links_both_ways(store):
    store.put_entity(WS, "order", "1", {}, "created", [(user("1"), "orders", "order:1")])
    store.put_entity(WS, "payment", "1", {}, "created", [("order:1", "payments", "payment:1")])
    store.put_entity(WS, "order", "2", {}, "created", [(user("1"), "orders", "order:2")])
    store.delete_entity(WS, "order", "1", "created")
    assert store.links_of(WS, "order:1") == []
    assert store.links_of(WS, "payment:1") == []
    assert store.linked(WS, user("1"), "orders") == ["order:2"]


# -- counters and settings --------------------------------------------------------------------

def test_counters_count_up_per_type_without_bumping_the_version(store):
    assert [store.next_id(WS, "user") for _ in range(3)] == [1, 2, 3]
    assert store.next_id(WS, "order") == 1
    assert store.version(WS) == 0


def test_update_setting_is_atomic_across_two_instances(opened):
    first, second = opened(), opened()

    def add_ones(store: Store) -> None:
        for _ in range(100):
            store.update_setting("w", "counter", lambda old: {"n": (old or {"n": 0})["n"] + 1})

    threads = [threading.Thread(target=add_ones, args=(s,)) for s in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert first.get_setting("w", "counter") == {"n": 200}
    assert first.version("w") == 200


def test_update_setting_aborts_when_the_change_raises(store):
    store.put_setting("w", "clock", {"now": 1})

    def refuse(old):
        raise ValueError("no")

    with pytest.raises(ValueError):
        store.update_setting("w", "clock", refuse)
    assert store.get_setting("w", "clock") == {"now": 1} and store.version("w") == 1


def test_counters_are_unique_across_two_instances_in_threads(opened):
    stores = [opened(), opened()]
    results: list[list[int]] = [[], []]

    def draw(i: int) -> None:
        results[i].extend(stores[i].next_id(WS, "order") for _ in range(200))

    threads = [threading.Thread(target=draw, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == sorted(r) and len(set(r)) == 200 for r in results)
    assert sorted(results[0] + results[1]) == list(range(1, 401))


def test_concurrent_writes_from_two_instances_lose_nothing(opened):
    stores = [opened(), opened()]

    def create(store: Store) -> None:
        for _ in range(100):
            id = str(store.next_id(WS, "order"))
            store.put_entity(WS, "order", id, {"id": id}, "created", [(user("1"), "orders", f"order:{id}")])

    threads = [threading.Thread(target=create, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stores[0].version(WS) == 200
    assert sorted(map(int, stores[1].created_ids(WS, "order"))) == list(range(1, 201))
    assert sorted(stores[0].linked(WS, user("1"), "orders")) == sorted(f"order:{i}" for i in range(1, 201))


def test_settings_round_trip(store):
    assert store.get_setting(WS, "clock") is None
    store.put_setting(WS, "clock", {"offset": 3600, "frozen": False})
    store.put_setting(WS, "ratio", [0.25, "recorded"])
    store.put_setting(WS, "clock", {"offset": 7200})
    assert store.get_setting(WS, "clock") == {"offset": 7200}
    assert store.get_setting(WS, "ratio") == [0.25, "recorded"]


# -- the log ----------------------------------------------------------------------------------

def test_the_log_appends_lists_updates_and_deletes(store):
    a = store.append(WS, "recording", "GET /users", {"status": 200})
    b = store.append(WS, "recording", "GET /orders", {"status": 201})
    c = store.append(WS, "recording", "GET /users", {"status": 404})
    other = store.append(WS, "fidelity", "GET /users", 0.9)
    assert a < b < c < other
    assert store.entries(WS, "recording") == [
        (a, "GET /users", {"status": 200}), (b, "GET /orders", {"status": 201}), (c, "GET /users", {"status": 404})]
    assert store.entries(WS, "recording", key="GET /users") == [
        (a, "GET /users", {"status": 200}), (c, "GET /users", {"status": 404})]
    assert store.entries(WS, "recording", limit=2, newest_first=True) == [
        (c, "GET /users", {"status": 404}), (b, "GET /orders", {"status": 201})]
    assert store.entries(WS, "recording", key="GET /users", limit=1) == [(a, "GET /users", {"status": 200})]
    assert store.entry(WS, "recording", b) == (b, "GET /orders", {"status": 201})
    assert store.entry(WS, "fidelity", b) is None

    assert store.update_entry(WS, "recording", b, {"status": 500}) is True
    assert store.update_entry(WS, "recording", other, {"status": 500}) is False
    assert store.entry(WS, "recording", b) == (b, "GET /orders", {"status": 500})

    assert store.delete_entries(WS, "recording", a) == 1
    assert store.delete_entries(WS, "recording", a) == 0
    assert store.entries(WS, "recording", key="GET /users") == [(c, "GET /users", {"status": 404})]
    assert store.delete_entries(WS, "recording") == 2
    assert store.entries(WS, "recording") == []
    assert store.entries(WS, "recording", key="GET /users") == []
    assert store.entries(WS, "fidelity") == [(other, "GET /users", 0.9)]
    assert store.append(WS, "recording", "GET /users", {}) > other


# -- versions and workspaces ------------------------------------------------------------------

def test_every_write_bumps_the_version_by_exactly_one(store):
    assert store.version(WS) == 0
    writes = [
        lambda: store.put_entity(WS, "user", "1", {"a": 1}, "patch", [(user("1"), "orders", "order:1")]),
        lambda: store.put_entity(WS, "user", "1", {"a": 2}, "patch", []),
        lambda: store.delete_entity(WS, "user", "1", "patch"),
        lambda: store.delete_entity(WS, "user", "2", "patch"),
        lambda: store.put_setting(WS, "clock", 1),
        lambda: store.append(WS, "recording", "k", 1),
        lambda: store.update_entry(WS, "recording", 1, 2),
        lambda: store.delete_entries(WS, "recording", 999),
        lambda: store.delete_entries(WS, "recording"),
    ]
    for expected, write in enumerate(writes, start=1):
        result = write()
        assert store.version(WS) == expected
        if expected <= 5:  # entity and setting writes return the new version
            assert result == expected
    store.next_id(WS, "user")
    store.get_entity(WS, "user", "1")
    store.entries(WS, "recording")
    assert store.version(WS) == len(writes)


def test_another_instance_sees_writes_and_versions(opened):
    a, b = opened(), opened()
    assert b.version(WS) == 0
    a.put_entity(WS, "user", "1", {"name": "A"}, "patch", [])
    assert b.version(WS) == 1
    assert b.get_entity(WS, "user", "1") == StoredEntity("user", "1", {"name": "A"}, "patch", False)
    b.put_setting(WS, "clock", 5)
    assert a.version(WS) == 2 and a.get_setting(WS, "clock") == 5


def test_workspaces_are_isolated(store):
    # "team" and "team:a" would share keys if ':' in names were not escaped.
    store.put_entity("team", "user", "a:version", {"w": 1}, "created", [(user("1"), "orders", "order:1")])
    store.put_setting("team", "clock", 1)
    store.append("team", "recording", "k", 1)
    store.next_id("team", "user")
    assert store.get_entity("team:a", "user", "a:version") is None
    assert store.get_entity("team:user:a", "version", "") is None
    assert store.version("team:a") == 0 and store.version("team") == 3
    assert store.created_ids("team:a", "user") == []
    assert store.linked("team:a", user("1"), "orders") == []
    assert store.get_setting("team:a", "clock") is None
    assert store.entries("team:a", "recording") == []
    assert store.next_id("team:a", "user") == 1
    store.put_setting("team:a", "clock", 2)
    assert store.get_setting("team", "clock") == 1
    assert store.workspaces() == ["team", "team:a"]


def _fill(store: Store, ws: str) -> None:
    """One of every kind of change: entities (created, patched, deleted), links, a counter, settings, a log."""
    store.put_entity(ws, "user", "1001", {"name": "Ada"}, "created", [(user("1001"), "has_orders", "order:7")])
    store.put_entity(ws, "user", "5", {"name": "Bo"}, "patch", [])
    store.delete_entity(ws, "user", "6", "generated")
    store.next_id(ws, "user")
    store.put_setting(ws, "clock", {"now": "2026-02-01T00:00:00Z"})
    store.put_setting(ws, "workspace", {"seed": "7"})
    store.append(ws, "recording", "GET /users/1", {"status": 200})


def test_reset_drops_every_change_but_the_kept_settings_and_bumps_the_version(opened):
    first, second = opened(), opened()
    _fill(first, "team")
    _fill(first, "team*")       # a name that is a glob pattern over "team": untouched by team's reset
    _fill(first, "team:a")      # a name sharing team's key prefix: untouched too
    before = first.version("team")
    assert first.reset_workspace("team", keep=("workspace",)) == before + 1
    assert second.version("team") == before + 1
    for store in (first, second):
        assert store.get_entity("team", "user", "1001") is None and store.get_entity("team", "user", "5") is None
        assert store.created_ids("team", "user") == [] and store.deleted_ids("team", "user") == []
        assert store.links_of("team", user("1001")) == [] and store.linked("team", user("1001"), "has_orders") == []
        assert store.get_setting("team", "clock") is None
        assert store.get_setting("team", "workspace") == {"seed": "7"}
        assert store.entries("team", "recording") == []
    assert first.next_id("team", "user") == 1
    for other in ("team*", "team:a"):
        assert second.get_entity(other, "user", "1001") == StoredEntity(
            "user", "1001", {"name": "Ada"}, "created", False
        )
        assert second.deleted_ids(other, "user") == ["6"] and second.get_setting(other, "clock") is not None
        assert len(second.entries(other, "recording")) == 1 and second.next_id(other, "user") == 2
    first.reset_workspace("team")
    assert first.get_setting("team", "workspace") is None


def test_integrity_check_says_ok(store):
    assert store.integrity_check() == "ok"


# -- Redis availability -----------------------------------------------------------------------

BACKSTOP = 60   # seconds: far above the Redis store's own 0.5 s connect and 1 s socket timeouts


def assert_unavailable_quickly(call: Callable[[], object]) -> None:
    """``call`` raises StoreUnavailable rather than hanging: it runs in a thread, and a thread still
    running after the backstop is a hang (a busy machine is slow, never that slow)."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread as is
            raised.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(BACKSTOP)
    assert not worker.is_alive(), f"the store call hung for {BACKSTOP} s"
    assert len(raised) == 1 and isinstance(raised[0], StoreUnavailable), raised


def test_redis_down_fails_fast_and_recovers_without_reopening(redis_server):
    store = open_store(redis_server.url)
    store.put_entity(WS, "user", "1", {"name": "A"}, "patch", [])
    redis_server.stop()
    for call in [lambda: store.version(WS), lambda: store.get_entity(WS, "user", "1"),
                 lambda: store.put_entity(WS, "user", "1", {}, "patch", []), lambda: store.next_id(WS, "user"),
                 lambda: store.entries(WS, "recording"), lambda: store.integrity_check()]:
        assert_unavailable_quickly(call)
    redis_server.start()
    assert store.version(WS) == 1  # the append-only file kept the write across the restart
    assert store.put_entity(WS, "user", "1", {"name": "B"}, "patch", []) == 2
    assert store.get_entity(WS, "user", "1") == StoredEntity("user", "1", {"name": "B"}, "patch", False)
    store.close()


def test_a_hung_redis_times_out_instead_of_hanging(redis_server):
    store = open_store(redis_server.url)
    store.put_setting(WS, "clock", 1)
    redis_server.proc.send_signal(signal.SIGSTOP)
    try:
        assert_unavailable_quickly(lambda: store.version(WS))
        assert_unavailable_quickly(lambda: store.put_setting(WS, "clock", 2))
    finally:
        redis_server.proc.send_signal(signal.SIGCONT)
    store.put_setting(WS, "clock", 3)
    assert store.get_setting(WS, "clock") == 3
    store.close()
