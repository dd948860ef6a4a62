"""A key is claimed in the store's own write: two mockverse processes on one SQLite file, or on one Redis, racing
creates that give one ``uid`` answer exactly one 201 and 409s, and exactly one stored app holds the uid."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from key_specs import apps_spec
from mockverse.store import KEY_LINK, open_store

RACERS = 8   # loopback creates, half on each instance
UID = "race-uid"


def _race(urls: list[str]) -> list[httpx.Response]:
    """POST one app with :data:`UID` from :data:`RACERS` threads, spread over ``urls``, released at once."""
    start = threading.Barrier(RACERS)

    def create(n: int) -> httpx.Response:
        with httpx.Client(base_url=urls[n % len(urls)], timeout=120) as client:
            start.wait()
            return client.post("/apps", json={"name": f"racer {n}", "uid": UID})

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(create, range(RACERS)))


def _one_holder(store_url: str, responses: list[httpx.Response], urls: list[str]) -> None:
    """Exactly one 201 and the rest 409 naming its app; the store links the uid to that app alone and holds no
    other app with it; both instances answer the uid with that app."""
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (RACERS - 1), statuses
    winner = next(r.json() for r in responses if r.status_code == 201)
    assert {r.json()["held_by"] for r in responses if r.status_code == 409} == {winner["id"]}
    assert {r.json()["field"] for r in responses if r.status_code == 409} == {"uid"}
    store = open_store(store_url)
    try:
        assert store.linked("default", f"app.uid={UID}", KEY_LINK) == [f"app:{winner['id']}"]
        holders = [id for id in store.created_ids("default", "app")
                   if (stored := store.get_entity("default", "app", id)) and stored.data.get("uid") == UID]
        assert holders == [winner["id"]]
    finally:
        store.close()
    for url in urls:
        assert httpx.get(f"{url}/apps/{UID}", timeout=120).json()["id"] == winner["id"]


def test_two_processes_on_one_sqlite_file_give_a_uid_once(start_server, tmp_path: Path):
    spec, store = apps_spec(tmp_path), tmp_path / "shared.db"
    a = start_server("--spec", str(spec), store=store)
    b = start_server("--spec", str(spec), store=store)
    urls = [a.url, b.url]
    _one_holder(str(store), _race(urls), urls)


def test_two_processes_on_one_redis_give_a_uid_once(start_server, redis_server, tmp_path: Path):
    spec = apps_spec(tmp_path)
    a = start_server("--spec", str(spec), "--store", redis_server.url)
    b = start_server("--spec", str(spec), "--store", redis_server.url)
    urls = [a.url, b.url]
    _one_holder(redis_server.url, _race(urls), urls)
