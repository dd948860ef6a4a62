"""Batched store reads: ``Store.read_many`` answers exactly what the single reads answer (Redis in
one MULTI/EXEC round trip), and a view that reads ahead serves the same bytes as one that does not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import RedisServer, redis_binary
from mockverse.store import Store, StoredEntity, open_store
from mockverse.world.freshness import TaggedReads

WS = "default"


@pytest.fixture
def store(store_url) -> Iterator[Store]:
    opened = open_store(store_url)
    opened.put_entity(WS, "user", "3", {"name": "Three"}, "patch", [])
    opened.put_entity(WS, "order", "9001", {"userId": 3}, "created", [("user:3", "has_orders", "order:9001")])
    opened.put_entity(WS, "order", "9002", {"userId": 3}, "created", [("user:3", "has_orders", "order:9002")])
    opened.put_entity(WS, "order", "9003", {"userId": 4}, "created", [("user:4", "has_orders", "order:9003"),
                                                                     ("user:3", "watches", "order:9003")])
    opened.delete_entity(WS, "user", "5", "patch")
    opened.put_setting(WS, "lifecycle:user:3", {"state": "Churned"})
    yield opened
    opened.close()


READS = [("get_entity", ("user", "3")), ("get_entity", ("user", "5")), ("get_entity", ("user", "6")),
         ("get_entity", ("order", "9001")), ("linked", ("user:3", "has_orders")), ("linked", ("user:3", "watches")),
         ("linked", ("user:6", "has_orders")), ("get_setting", ("lifecycle:user:3",)),
         ("get_setting", ("lifecycle:user:6",)), ("get_entity", ("user", "3"))]


def test_a_batch_answers_what_each_single_read_answers(store):
    batch = store.read_many(WS, READS)
    assert batch == [getattr(store, kind)(WS, *args) for kind, args in READS]
    assert batch[:2] == [StoredEntity("user", "3", {"name": "Three"}, "patch", False),
                         StoredEntity("user", "5", {}, "patch", True)]
    assert batch[2] is None
    assert batch[4:7] == [["order:9001", "order:9002"], ["order:9003"], []]
    assert batch[7:9] == [{"state": "Churned"}, None]
    assert store.read_many(WS, []) == []


def test_a_read_a_store_does_not_batch_is_refused_by_name(store):
    with pytest.raises(ValueError, match="'stored_ids' is not a batched read; these are: get_entity, linked, "
                                         "get_setting"):
        store.read_many(WS, [("get_entity", ("user", "3")), ("stored_ids", ("user",))])


def test_a_redis_batch_is_one_round_trip(module_redis):
    module_redis.flush()
    store = open_store(module_redis.url)
    pipelines = []
    make = store._redis.pipeline

    def counted(*args, **kwargs):
        pipelines.append(kwargs)
        return make(*args, **kwargs)
    store._redis.pipeline = counted
    assert store.read_many(WS, READS[:5]) == [None] * 4 + [[]]
    assert pipelines == [{"transaction": True}]
    store.close()


def test_reads_fetched_ahead_answer_once_and_not_after_a_write(store):
    noted: list[str] = []
    reads = TaggedReads(store, noted.append)
    reads.read_ahead(WS, [("get_setting", ("lifecycle:user:3",)), ("linked", ("user:3", "has_orders"))])
    store.put_setting(WS, "lifecycle:user:3", {"state": "Active"})   # by another instance: the view's batch holds
    assert reads.get_setting(WS, "lifecycle:user:3") == {"state": "Churned"}
    assert reads.get_setting(WS, "lifecycle:user:3") == {"state": "Active"}
    reads.read_ahead(WS, [("get_setting", ("lifecycle:user:3",)), ("linked", ("user:3", "has_orders"))])
    reads.put_setting(WS, "lifecycle:user:3", {"state": "Dormant"})   # the view writes: what it read ahead goes
    assert reads.get_setting(WS, "lifecycle:user:3") == {"state": "Dormant"}
    assert reads.linked(WS, "user:3", "has_orders") == ["order:9001", "order:9002"]
    assert noted == ["g:lifecycle:user:3"] * 3 + ["l:user:3"]


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_a_view_reading_ahead_serves_what_single_reads_serve(app_client, monkeypatch, tmp_path, backend):
    def world(store: str, ahead: bool) -> list[bytes]:
        c = app_client(store=store, redis_volatile=True)
        if not ahead:
            monkeypatch.setattr(TaggedReads, "read_ahead", lambda self, workspace, reads: None)
        batches: list[int] = []
        read_many = c.app.state.engine.store.read_many
        monkeypatch.setattr(c.app.state.engine.store, "read_many",
                            lambda ws, reads: batches.append(len(reads)) or read_many(ws, reads))
        c.patch("/users/42", json={"name": "Forty-two"})
        c.post("/orders", json={"userId": 42, "currency": "EUR"})
        c.delete("/orders/42002")
        bodies = [c.get(path).content for path in ("/users/42", "/users/43", "/orders/42003", "/orders?_page=3",
                                                   "/users?_page=2")]
        assert bool(batches) == ahead
        monkeypatch.undo()
        return bodies

    if backend == "sqlite":
        with_batches, single = world(str(tmp_path / "a.db"), True), world(str(tmp_path / "b.db"), False)
    else:
        first, second = (RedisServer(redis_binary(), tmp_path / name) for name in ("r1", "r2"))
        for server in (first, second):
            server.directory.mkdir()
            server.start()
        try:
            with_batches, single = world(first.url, True), world(second.url, False)
        finally:
            first.stop()
            second.stop()
    assert with_batches == single
    assert b"Forty-two" in with_batches[0]
    assert b'"id":42003' in with_batches[0]
    assert b'"id":42002' not in with_batches[0]
