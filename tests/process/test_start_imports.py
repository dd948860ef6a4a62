"""A server start imports what serving the world needs and nothing more: the fidelity scorer (numpy), the
HTTP client (httpx) and the stubs' JSONPath parser load on their first use, so each start (and each test's
server process) is cheaper."""

from __future__ import annotations

import subprocess
import sys

import orjson

STARTS = """
import sys, orjson
from mockverse.cli import _parser, serve_settings
from mockverse.http.app import create_app
create_app(serve_settings(_parser().parse_args(["serve", "--store", sys.argv[1]])))
print(orjson.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {"numpy", "httpx", "jsonpath_ng",
                                                                         "mockverse"})).decode())
"""


def test_a_server_start_loads_neither_numpy_nor_httpx_nor_the_fidelity_scorer(tmp_path) -> None:
    out = subprocess.run([sys.executable, "-c", STARTS, str(tmp_path / "state.db")], capture_output=True, check=True)
    loaded = set(orjson.loads(out.stdout))
    assert "mockverse.http.app" in loaded
    assert {"numpy", "httpx", "jsonpath_ng", "mockverse.fidelity", "mockverse.fidelity.score"} & loaded == set()
