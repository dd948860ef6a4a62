"""The suite's own helpers: a command line run in process leaves the test process as it was; the slow tests
are handed out first, and what collection built is frozen out of the garbage collector."""

from __future__ import annotations

import gc
import logging
import resource
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import known_seconds, run_main, scheduled


def test_a_refused_serve_run_in_process_leaves_logging_limits_and_signals_as_they_were(tmp_path):
    spec = tmp_path / "broken.yaml"
    spec.write_text("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {/x: 7}\n")
    root = logging.getLogger()
    before = (root.handlers[:], root.level, logging.getLogger("mockverse").level,
              resource.getrlimit(resource.RLIMIT_NOFILE), signal.getsignal(signal.SIGTERM))
    code, out, err = run_main("serve", "--spec", str(spec), "--store", str(tmp_path / "s.db"), "--port", "0")
    assert code == 2 and err.startswith(f"mockverse: {spec}") and out == ""
    after = (root.handlers[:], root.level, logging.getLogger("mockverse").level,
             resource.getrlimit(resource.RLIMIT_NOFILE), signal.getsignal(signal.SIGTERM))
    assert after == before


def test_a_command_line_that_would_serve_fails_instead(tmp_path):
    with pytest.raises(AssertionError, match="started serving"):
        run_main("serve", "--store", str(tmp_path / "s.db"), "--port", "0")


def test_every_known_slow_test_is_a_test_of_the_suite():
    root = Path(__file__).parent.parent
    for nodeid in known_seconds():
        file, _, name = nodeid.partition("::")
        assert f"def {name.split('[')[0]}(" in (root / file).read_text(), nodeid


@dataclass
class _Item:
    """What `scheduled` reads of a pytest item."""

    nodeid: str
    fixturenames: tuple[str, ...] = ()
    group: str | None = None

    @property
    def path(self) -> Path:
        return Path(self.nodeid.split("::")[0])

    def get_closest_marker(self, name: str) -> Any:
        return pytest.mark.xdist_group(self.group).mark if name == "xdist_group" and self.group else None


def test_slow_tests_go_first_slowest_first_with_their_module_and_group():
    items = [_Item("tests/a.py::quick"), _Item("tests/a.py::slow"), _Item("tests/b.py::quick"),
             _Item("tests/b.py::server", ("start_server",)), _Item("tests/b.py::slowest"),
             _Item("tests/c.py::one@pair", group="pair"), _Item("tests/d.py::two@pair", group="pair"),
             _Item("tests/process/test_e.py::cli"), _Item("tests/a.py::slower")]
    seconds = {"tests/a.py::slow": 2.0, "tests/a.py::slower": 5.0, "tests/b.py::slowest": 9.0,
               "tests/d.py::two": 3.0}
    order = [item.nodeid for item in scheduled(items, seconds)]
    assert order == ["tests/b.py::slowest", "tests/b.py::server", "tests/a.py::slower", "tests/a.py::slow",
                     "tests/d.py::two@pair", "tests/c.py::one@pair", "tests/process/test_e.py::cli",
                     "tests/a.py::quick", "tests/b.py::quick"]


def test_what_collection_built_is_frozen_out_of_the_garbage_collector():
    assert gc.get_freeze_count() > 10_000
