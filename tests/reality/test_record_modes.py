"""vcrpy's record modes for `mockverse record --record-mode`: a real upstream on loopback (a mockverse
server, whose request journal counts what reaches it) and a recording proxy (in process) pointed at it.

A request is matched when a recording has its method, path and query."""

from __future__ import annotations

import pytest

from conftest import run_main


def reached(upstream) -> list[tuple[str, str, str]]:
    """The requests the upstream has answered, oldest first: (method, path, query)."""
    return [(r["method"], r["path"], r["query"]) for r in upstream.client.get("/api/v1/requests").json()["requests"]]


@pytest.fixture
def upstream(start_server):
    return start_server(seed="5")


def recorder(app_server, upstream, store, mode: str | None):
    """`mockverse record` (its command line, in process) in front of the upstream process."""
    args = ["--upstream", upstream.url] + (["--record-mode", mode] if mode else [])
    return app_server(*args, command="record", store=store)


def test_new_episodes_replays_what_it_has_and_records_the_rest(app_server, upstream, tmp_path):
    proxy = recorder(app_server, upstream, tmp_path / "rec.db", "new_episodes")
    first = proxy.client.get("/users/1")
    assert first.headers["x-mockverse-source"] == "upstream"
    assert first.content == upstream.client.get("/users/1").content
    upstream.client.delete("/api/v1/requests")
    again = proxy.client.get("/users/1")
    assert again.headers["x-mockverse-source"] == "recorded" and again.content == first.content
    assert reached(upstream) == []
    assert proxy.client.get("/users/1", params={"_fields": "id"}).headers["x-mockverse-source"] == "upstream"
    created = proxy.client.post("/orders", json={"user_id": 1})
    assert created.status_code == 201 and created.headers["x-mockverse-source"] == "upstream"
    assert reached(upstream) == [("GET", "/users/1", "_fields=id"), ("POST", "/orders", "")]
    replayed = proxy.client.post("/orders", json={"user_id": 1})
    assert (replayed.status_code, replayed.content) == (201, created.content)
    assert replayed.headers["x-mockverse-source"] == "recorded"
    missing = proxy.client.get("/users/999999")  # a 404 of the upstream is an episode like any other
    assert missing.status_code == 404 and proxy.client.get("/users/999999").headers["x-mockverse-source"] == "recorded"
    assert len(reached(upstream)) == 3
    recordings = proxy.client.get("/api/v1/recordings").json()
    assert recordings["total"] == 4


def test_none_never_calls_the_upstream_and_refuses_what_is_not_recorded(app_server, upstream, tmp_path):
    store = tmp_path / "rec.db"
    first = recorder(app_server, upstream, store, "all")
    recorded = first.client.get("/users/2").content
    first.stop()
    upstream.client.delete("/api/v1/requests")
    replay = recorder(app_server, upstream, store, "none")
    got = replay.client.get("/users/2")
    assert (got.status_code, got.content, got.headers["x-mockverse-source"]) == (200, recorded, "recorded")
    refused = replay.client.get("/users/3")
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["x-mockverse-source"] == "unrecorded"
    problem = refused.json()
    assert problem["field"] == "record_mode" and problem["allowed"] == ["once", "new_episodes", "none", "all"]
    assert "GET /users/3" in problem["detail"] and "'none'" in problem["detail"]
    assert replay.client.get("/users/2", params={"page": "2"}).status_code == 409  # the query is part of the match
    assert replay.client.post("/orders", json={"user_id": 2}).status_code == 409
    assert reached(upstream) == []
    assert replay.client.get("/api/v1/recordings").json()["total"] == 1


def test_once_records_a_new_workspace_then_only_replays(app_server, upstream, tmp_path):
    store = tmp_path / "rec.db"
    first = recorder(app_server, upstream, store, "once")
    for path in ("/users/1", "/users/2", "/users/1"):  # the recording session: everything goes upstream
        assert first.client.get(path).headers["x-mockverse-source"] == "upstream"
    team = first.client.get("/users/4", headers={"X-Mockverse-Workspace": "team-a"})
    assert team.headers["x-mockverse-source"] == "upstream"  # another workspace is another cassette
    first.stop()
    assert reached(upstream) == [("GET", "/users/1", ""), ("GET", "/users/2", ""), ("GET", "/users/1", ""),
                                 ("GET", "/users/4", "")]
    upstream.client.delete("/api/v1/requests")
    second = recorder(app_server, upstream, store, "once")
    assert second.client.get("/users/2").headers["x-mockverse-source"] == "recorded"
    assert second.client.get("/users/5").status_code == 409
    assert second.client.get("/users/4", headers={"X-Mockverse-Workspace": "team-a"}).status_code == 200
    fresh = second.client.get("/users/6", headers={"X-Mockverse-Workspace": "team-b"})
    assert fresh.headers["x-mockverse-source"] == "upstream"  # never recorded before: this one records
    assert reached(upstream) == [("GET", "/users/6", "")]


def test_all_is_the_default_and_always_records(app_server, upstream, tmp_path):
    proxy = recorder(app_server, upstream, tmp_path / "rec.db", None)
    for _ in range(3):
        assert proxy.client.get("/users/8").headers["x-mockverse-source"] == "upstream"
    assert reached(upstream) == [("GET", "/users/8", "")] * 3
    assert proxy.client.get("/api/v1/recordings").json()["total"] == 3
    assert proxy.client.get("/api/v1/reality").json()["record"] is True


def test_a_record_mode_that_does_not_exist_is_refused(tmp_path):
    code, _, err = run_main("record", "--upstream", "http://127.0.0.1:9", "--record-mode", "sometimes")
    assert code == 2 and "invalid choice: 'sometimes'" in err and "new_episodes" in err
    config = tmp_path / "record.yaml"
    config.write_text("reality_continuum: {enabled: true, record: true, upstream: 'http://127.0.0.1:9', "
                      "record_mode: sometimes}\n")
    code, _, err = run_main("serve", "--config", str(config), "--store", str(tmp_path / "s.db"))
    assert code == 2 and "reality_continuum.record_mode" in err and "'new_episodes'" in err
