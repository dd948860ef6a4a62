"""Building an app holds the cyclic garbage collector off, and gives it back as it found it."""

from __future__ import annotations

import gc

import pytest

from mockverse.config import ConfigError
from mockverse.http import app as app_module
from mockverse.http.app import Settings, create_app
from mockverse.openapi.infer import infer_world


def test_the_collector_is_off_while_the_world_is_inferred_and_on_after(tmp_path, monkeypatch):
    seen: list[bool] = []

    def inferring(spec):
        seen.append(gc.isenabled())
        return infer_world(spec)
    monkeypatch.setattr(app_module, "infer_world", inferring)
    assert gc.isenabled()
    app = create_app(Settings(store=str(tmp_path / "a.db"), seed="42"))
    assert app.state.engine is not None
    assert (seen, gc.isenabled()) == ([False], True)


def test_a_collector_that_was_off_stays_off(tmp_path):
    gc.disable()
    try:
        create_app(Settings(store=str(tmp_path / "a.db"), seed="42"))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_build_that_fails_gives_the_collector_back(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("no_such_section: 1\n")
    with pytest.raises(ConfigError):
        create_app(Settings(store=str(tmp_path / "a.db"), seed="42", config=str(config)))
    assert gc.isenabled()
