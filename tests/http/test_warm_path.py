"""The warm path: a repeated plain GET answered from the read cache before routing, still exact
about writes made by any connection, and still logged in the request journal."""

from __future__ import annotations

import sqlite3

from mockverse.store.sqlite import SQLiteStore, _wal_index


def test_a_commit_by_any_connection_is_seen_by_the_next_version_read(tmp_path):
    path = str(tmp_path / "state.db")
    one, two = SQLiteStore(path), SQLiteStore(path)
    try:
        assert two.version("default") == 0
        one.put_setting("default", "note", 1)
        assert two.version("default") == 1
        other = sqlite3.connect(path)   # another program writing the file
        with other:
            other.execute("UPDATE workspace SET version = 7 WHERE ws = 'default'")
        other.close()
        assert two.version("default") == 7
        assert one.version("default") == 7
    finally:
        one.close()
        two.close()


def test_without_a_wal_index_to_map_the_store_asks_sqlite(tmp_path):
    assert _wal_index(str(tmp_path / "absent.db")) is None
    path = str(tmp_path / "state.db")
    one, two = SQLiteStore(path), SQLiteStore(path)
    try:
        assert two._commits is not None
        two._commits.close()
        two._commits = None
        assert two.version("default") == 0
        one.put_setting("default", "note", 1)
        assert two.version("default") == 1
    finally:
        one.close()
        two.close()


def test_a_write_on_one_instance_is_seen_by_the_next_cached_read_on_another(app_client, tmp_path, monkeypatch):
    store = tmp_path / "shared.db"
    one, two = app_client(store=store), app_client(store=store)
    two.get("/users/3")
    before = two.get("/users/3")
    assert before.json()["name"] != "Three"
    assert one.patch("/users/3", json={"name": "Three"}).status_code == 200
    hits = served_before_routing(two, monkeypatch)
    assert two.get("/users/3").json()["name"] == "Three"
    assert two.get("/users/3").json()["name"] == "Three"
    assert one.get("/users/3").json()["name"] == "Three"
    assert hits == [False, True]


def served_before_routing(c, monkeypatch) -> list[bool]:
    """Whether each GET from now on is answered by the read cache before routing."""
    answers, hits = c.app.state.mock.cached, []
    lookup = answers.lookup

    async def spy(scope: dict):
        hit = await lookup(scope)
        hits.append(hit is not None)
        return hit
    monkeypatch.setattr(answers, "lookup", spy)
    return hits


def test_a_cached_answer_is_journalled_like_a_routed_one(app_client, monkeypatch):
    c = app_client()
    hits = served_before_routing(c, monkeypatch)
    first, second = c.get("/users/4"), c.get("/users/4")
    assert hits == [False, True]
    assert first.content == second.content
    assert second.headers["x-mockverse-source"] == "synthetic"
    assert second.headers["x-mockverse-workspace"] == "default"
    assert second.headers["content-length"] == str(len(second.content))
    ids = [first.headers["x-mockverse-request-id"], second.headers["x-mockverse-request-id"]]
    assert ids[0] != ids[1]
    journal = c.get("/api/v1/requests", params={"path": "/users/4", "bodies": "true"}).json()
    assert [e["id"] for e in journal["requests"]] == ids
    for entry in journal["requests"]:
        assert (entry["method"], entry["status"], entry["source"], entry["workspace"]) == \
            ("GET", 200, "synthetic", "default")
        assert entry["response_body"] == second.text
        assert entry["response_headers"]["x-mockverse-request-id"] in ids


def test_a_workspace_header_is_said_back_on_a_cached_answer(app_client, monkeypatch):
    c = app_client()
    c.post("/api/v1/workspaces", json={"name": "team-a"})
    headers = {"X-Mockverse-Workspace": "team-a"}
    hits = served_before_routing(c, monkeypatch)
    c.get("/users/6", headers=headers)
    hit = c.get("/users/6", headers=headers)
    assert hits == [False, True]
    assert hit.headers["x-mockverse-workspace"] == "team-a"
    entry = c.get("/api/v1/requests", params={"path": "/users/6"}).json()["requests"][-1]
    assert (entry["id"], entry["workspace"]) == (hit.headers["x-mockverse-request-id"], "team-a")
