"""The suite's own helpers: a command line run in process leaves the test process as it was."""

from __future__ import annotations

import logging
import resource
import signal

import pytest

from conftest import run_main


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
