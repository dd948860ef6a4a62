"""A workspace's standing (clock and seed) is read from the store only when a write changed it: an
entity write leaves it, so the read after it costs no clock read; a clock moved by another instance
is seen by the next request."""

from __future__ import annotations

import pytest

from mockverse.store import Store


def spied_settings(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys of every ``get_setting`` the store answers from now on."""
    asked: list[str] = []
    read = store.get_setting

    def counted(workspace: str, key: str):
        asked.append(key)
        return read(workspace, key)
    monkeypatch.setattr(store, "get_setting", counted)
    return asked


def test_an_entity_write_keeps_the_standing_and_a_clock_move_elsewhere_is_seen(app_client, tmp_path, monkeypatch):
    db = tmp_path / "shared.db"
    one, other = app_client(store=db), app_client(store=db)
    assert one.patch("/users/1", json={"name": "First write"}).status_code == 200
    warm = one.get("/users/3").content
    engine = one.app.state.engine
    asked = spied_settings(engine.store, monkeypatch)

    assert one.patch("/users/9", json={"name": "Nine"}).status_code == 200
    assert one.get("/users/3").content == warm
    assert [key for key in asked if key in ("clock", "workspace")] == []

    moved = other.post("/api/v1/consistency/clock/advance", json={"by": "30d"}).json()["now"]
    one.get("/users/3")
    assert [key for key in asked if key in ("clock", "workspace")] == ["clock"]   # the seed's setting is kept
    assert engine.snapshot("default").now.strftime("%Y-%m-%dT%H:%M:%SZ") == moved
