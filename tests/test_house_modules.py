"""The modules split by job: recordings and their index, HAR import, the condition language, and
the app's parts wired through their constructors."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mockverse.reality.har import import_har
from mockverse.reality.recorder import Recorder
from mockverse.reality.recordings import KIND, make_recording
from mockverse.store.sqlite import SQLiteStore
from mockverse.world.conditions import ConditionError, parse_literal

JSON = [("content-type", "application/json")]


def _recording(path: str, query: str, status: int, body: bytes, at: str) -> dict:
    return make_recording(method="GET", route="/users/{id}", path=path, query=query, status=status, headers=JSON,
                          body=body, latency_ms=12.5, source="proxy", recorded_at=at)


@pytest.fixture
def store(tmp_path) -> SQLiteStore:
    opened = SQLiteStore(str(tmp_path / "rec.db"))
    yield opened
    opened.close()


def test_the_recorder_finds_exact_then_path_then_route(store) -> None:
    recorder = Recorder(store)
    first = recorder.record("ws", _recording("/users/3", "", 200, b'{"id": 3}', "2026-01-01T00:00:00.000Z"))
    second = recorder.record("ws", _recording("/users/3", "a=1", 200, b'{"id": 33}', "2026-01-02T00:00:00.000Z"))
    failed = recorder.record("ws", _recording("/users/4", "", 503, b'{"e": 1}', "2026-01-03T00:00:00.000Z"))
    version = store.version("ws")
    exact = recorder.lookup("ws", version, "GET", "/users/{id}", "/users/3", "a=1")
    by_path = recorder.lookup("ws", version, "GET", "/users/{id}", "/users/3", "b=2")
    by_route = recorder.lookup("ws", version, "GET", "/users/{id}", "/users/9", "")
    assert (exact.id, exact.match) == (second, "exact")
    assert (by_path.id, by_path.match) == (second, "path")      # the later recording of the path
    assert (by_route.id, by_route.match) == (second, "route")
    assert recorder.lookup("ws", version, "GET", "/users/{id}", "/users/4", "").id == second  # a 503 is no snapshot
    episode = recorder.episode("ws", version, "GET", "/users/4", "")
    assert (episode.id, episode.value["status"]) == (failed, 503)   # but record modes replay it
    stats = recorder.stats("ws", version, "GET", "/users/{id}")
    assert (stats.latencies, stats.statuses) == ([12.5, 12.5, 12.5], [200, 200, 503])
    assert first == 1 and recorder.has_recordings("ws", version)


def test_har_import_keeps_json_exchanges_of_spec_operations_once(store) -> None:
    def entry(url: str, mime: str, text: str) -> dict:
        return {"startedDateTime": "2026-01-01T10:00:00.000Z", "time": 40,
                "request": {"method": "GET", "url": url, "headers": []},
                "response": {"status": 200, "headers": [], "content": {"mimeType": mime, "text": text}}}

    har = {"log": {"entries": [entry("https://api.example/users/7", "application/json", '{"id": 7}'),
                               entry("https://api.example/logo.png", "image/png", "x"),
                               entry("https://api.example/orders/1", "application/json", '{"id": 1}')]}}
    operations = [SimpleNamespace(path="/users/{id}", method="get")]
    got = import_har(store, "ws", har, operations)
    again = import_har(store, "ws", har, operations)
    assert got == {"imported": 1, "skipped": 2, "reasons": {"no-operation": 1, "not-json": 1}, "ids": [1]}
    assert again == {"imported": 0, "skipped": 3, "reasons": {"duplicate": 1, "no-operation": 1, "not-json": 1},
                     "ids": []}
    [(seq, key, value)] = store.entries("ws", KIND)
    assert (seq, key, value["route"], value["body"], value["source"]) == (1, "GET /users/{id}", "/users/{id}",
                                                                          {"id": 7}, "har")


@pytest.mark.parametrize("text,value", [("0", 0), ("'none'", "none"), ("true", True), ("null", None), ("-1.5", -1.5)])
def test_a_literal_is_read_by_the_condition_language(text: str, value: object) -> None:
    assert parse_literal(text) == value


def test_anything_but_one_literal_is_refused() -> None:
    with pytest.raises(ConditionError) as err:
        parse_literal("a == 1")
    assert (err.value.field, err.value.message) == ("effects", "'a == 1' is not one literal value")


def test_the_app_hands_each_part_what_it_needs_at_construction(app_client) -> None:
    state = app_client().app.state
    assert state.mock.reality is state.reality
    assert state.mock.texts.layer is state.engine.texts
    assert state.engine.off == []
    assert state.engine.learner is None
