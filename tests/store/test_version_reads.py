"""The freshness check of the warm path on Redis: version reads on the event loop share round
trips, and each still sees every write acknowledged before it was asked for."""

from __future__ import annotations

import asyncio

import pytest

from mockverse.store import StoreUnavailable
from mockverse.store.redis import RedisStore


def counted_mgets(store: RedisStore) -> list[int]:
    """The number of keys of each MGET the store's event-loop client sends from now on."""
    sent: list[int] = []
    make = store.async_client

    def client():
        made = make()
        mget = made.mget

        async def counted(keys, *args):
            sent.append(len(keys))
            return await mget(keys, *args)
        made.mget = counted
        return made
    store.async_client = client   # type: ignore[method-assign]  # a spy on the client the store makes
    return sent


def test_concurrent_version_reads_share_one_round_trip(redis_server):
    writer, reader = RedisStore(redis_server.url), RedisStore(redis_server.url)
    sent = counted_mgets(reader)
    writer.put_setting("a", "note", 1)
    writer.put_setting("a", "note", 2)
    writer.put_setting("b", "note", 1)

    async def main() -> list[int]:
        asked = [reader.version_now(name) for name in ["a", "b", "c"] * 10]
        versions = await asyncio.gather(*asked)
        await reader.aclose()
        return versions

    assert asyncio.run(main()) == [2, 1, 0] * 10
    assert sent == [3]
    writer.close()
    reader.close()


def test_a_write_made_while_a_read_is_on_its_way_is_seen_by_the_next_caller(redis_server):
    writer, reader = RedisStore(redis_server.url), RedisStore(redis_server.url)
    sent = counted_mgets(reader)

    async def main() -> tuple[int, int]:
        early = asyncio.ensure_future(reader.version_now("default"))
        while not sent:            # the first MGET is on its way
            await asyncio.sleep(0)
        writer.put_setting("default", "note", 1)
        late = await reader.version_now("default")
        return await early, late

    early, late = asyncio.run(main())
    assert early in (0, 1)   # sent before the write or after, as the race went
    assert late == 1
    assert sent == [1, 1]
    writer.close()
    reader.close()


def test_an_unreachable_redis_fails_every_waiting_read(redis_server):
    reader = RedisStore(redis_server.url)
    redis_server.stop()

    async def main() -> list[BaseException | int]:
        return await asyncio.gather(*(reader.version_now(name) for name in ("a", "b")), return_exceptions=True)

    failures = asyncio.run(main())
    assert [type(f) for f in failures] == [StoreUnavailable, StoreUnavailable]
    assert "the Redis store is unreachable" in str(failures[0])
    reader.close()


@pytest.fixture
def two_apps(app_client, redis_server):
    """Two in-process instances of the built-in world on one Redis."""
    return (app_client(store=redis_server.url, redis_volatile=True),
            app_client(store=redis_server.url, redis_volatile=True))


def test_a_write_on_one_redis_instance_is_seen_by_the_next_cached_read_on_another(two_apps):
    one, two = two_apps
    two.get("/users/3")
    cached = two.get("/users/3")
    assert cached.json()["name"] != "Three"
    assert one.patch("/users/3", json={"name": "Three"}).status_code == 200
    assert two.get("/users/3").json()["name"] == "Three"
    assert two.get("/users/3").json()["name"] == "Three"


def test_a_request_reads_a_version_once_unless_this_process_writes(redis_server, monkeypatch):
    from mockverse.store import ACTIVITY, Activity

    store, other = RedisStore(redis_server.url), RedisStore(redis_server.url)
    gets: list[str] = []
    get = store._redis.get
    monkeypatch.setattr(store._redis, "get", lambda key: gets.append(key) or get(key))
    other.put_setting("default", "note", 1)
    activity = Activity()
    token = ACTIVITY.set(activity)
    try:
        assert [store.version("default") for _ in range(3)] == [1, 1, 1]
        assert len(gets) == 1
        other.put_setting("default", "note", 2)      # another instance, mid-request: the next request sees it
        assert store.version("default") == 1
        store.put_setting("default", "note", 3)      # this process wrote: read again
        assert store.version("default") == 3
        assert len(gets) == 2
        activity.live = False                         # answered: a task it started reads afresh
        assert store.version("default") == 3
        assert len(gets) == 3
    finally:
        ACTIVITY.reset(token)
    assert store.version("default") == 3
    assert len(gets) == 4
    store.close()
    other.close()


def test_each_event_loop_reads_with_its_own_client(redis_server):
    writer, reader = RedisStore(redis_server.url), RedisStore(redis_server.url)
    sent = counted_mgets(reader)

    async def read() -> int:
        return await reader.version_now("default")

    assert asyncio.run(read()) == 0
    writer.put_setting("default", "note", 1)
    assert asyncio.run(read()) == 1   # the first loop is gone: a client of this loop reads
    assert sent == [1, 1]
    writer.close()
    reader.close()
