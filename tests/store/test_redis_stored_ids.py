"""Redis keeps each type's set of stored ids beside the records, so listing them is one round trip
whatever else the Redis holds; a Redis written without those sets gets them filled once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mockverse.store.redis import STORED_INDEXED, RedisStore


@pytest.fixture
def redis_store(module_redis) -> Iterator[RedisStore]:
    module_redis.flush()
    store = RedisStore(module_redis.url, volatile=True)
    yield store
    store.close()


def test_stored_ids_list_the_records_of_one_type_and_workspace(redis_store):
    redis_store.put_entity("ws", "order", "7:1", {}, "patch", [])
    redis_store.put_entity("ws", "order", "50%", {"status": "paid"}, "created", [])
    redis_store.delete_entity("ws", "order", "5002", "generated")
    redis_store.put_entity("ws", "user", "9", {"name": "Nine"}, "patch", [])
    redis_store.put_entity("other", "order", "8", {}, "patch", [])
    assert redis_store.stored_ids("ws", "order") == ["50%", "5002", "7:1"]
    assert redis_store.stored_ids("ws", "user") == ["9"]
    assert redis_store.stored_ids("other", "order") == ["8"]
    redis_store.reset_workspace("ws")
    assert redis_store.stored_ids("ws", "order") == []
    assert redis_store.stored_ids("other", "order") == ["8"]


def test_a_redis_written_without_the_sets_gets_them_filled_once(redis_store, module_redis):
    redis_store.put_entity("ws", "order", "7:1", {}, "patch", [])
    redis_store.delete_entity("w:s", "order", "5002", "generated")
    raw = redis_store._redis
    for key in raw.scan_iter(match="mockverse:*:stored:*"):   # as a version keeping no sets left it
        raw.delete(key)
    raw.delete(STORED_INDEXED)
    later = RedisStore(module_redis.url, volatile=True)
    try:
        assert later.stored_ids("ws", "order") == ["7:1"]
        assert later.stored_ids("w:s", "order") == ["5002"]
        assert raw.get(STORED_INDEXED) == b"1"
        raw.delete("mockverse:ws:stored:order")   # filled once: a later start trusts the sets
        again = RedisStore(module_redis.url, volatile=True)
        assert again.stored_ids("ws", "order") == []
        again.close()
    finally:
        later.close()
