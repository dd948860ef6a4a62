"""Fuzzing with schemathesis against the app in process (schemathesis' ASGI client): the admin API from
its own ``GET /api/v1/openapi.json``, and the built-in world's mock routes from its spec.

Every generated request (valid and invalid: the positive and negative modes) must get a
response that is not a 5xx, whose status, content type and body the document describes,
within a per-request timeout (no hang). Examples are bounded per operation and derandomized,
so a run is reproducible and fits the test budget. The totals are printed in pytest's summary.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import ASGIClient
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.routing import Route

from conftest import ROOT
from mockverse.http.app import Settings, create_app

BUILTIN_SPEC = ROOT / "src" / "mockverse" / "builtin" / "openapi.yaml"
SENT = 20  # integer parameters probed with bad digits (GETs of the admin document and the built-in world), twice
MAX_EXAMPLES = 10          # per operation and generation mode; derandomized
REQUEST_TIMEOUT = 30.0     # seconds: a request that takes longer is a hang
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
BASE = "http://127.0.0.1:3000"   # the app in process answers its admin API on a loopback host
SINK = "http://127.0.0.1:9/"   # a closed loopback port: any URL the fuzzer writes into a body points here
TOTALS: dict[str, Counter] = {}


class _Totals:
    """A pytest plugin registered by the fixtures: prints the fuzzing totals in the terminal summary."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not TOTALS:
            return
        terminalreporter.section("schemathesis totals")
        for name, counts in TOTALS.items():
            statuses = ", ".join(f"{k[7:]}: {v}" for k, v in sorted(counts.items()) if k.startswith("status:"))
            terminalreporter.write_line(
                f"{name}: {counts['operations']} operations, {counts['cases']} test cases, "
                f"{counts['failures']} failures (responses by status: {statuses or 'none'})")


@pytest.fixture(scope="module", autouse=True)
def _report_totals(request):
    if not request.config.pluginmanager.has_plugin("mockverse-fuzz-totals"):
        request.config.pluginmanager.register(_Totals(), "mockverse-fuzz-totals")


@pytest.fixture
def fuzz_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ASGIClient]:
    """The built-in world's app with a fresh store and no AI key in the environment, in process, behind
    schemathesis' own requests-compatible ASGI client (which starts the app's lifespan and, through its
    pytest plugin, ends it with the test)."""
    monkeypatch.setenv("OPENAI_API_KEY", "")
    app = create_app(Settings(store=str(tmp_path / "state.db"), seed="42"))
    with ASGIClient(app, base_url=BASE) as client:
        yield client


def _still_serving(client: ASGIClient) -> None:
    """Fuzzing left the app serving (the in-process form of "the server process is still running")."""
    assert client.get("/api/v1/health").status_code == 200


def _loopback_only(value: Any) -> Any:
    """Every http(s) URL in a generated value replaced by the closed loopback sink (upstreams, webhook
    targets): fuzzing must never send the server's traffic off this machine."""
    if isinstance(value, str):
        return SINK if re.match(r"(?i)\s*https?:", value) else value
    if isinstance(value, dict):
        return {k: _loopback_only(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_loopback_only(v) for v in value]
    return value


def _fuzz(name: str, schema: Any, session: ASGIClient, mode: GenerationMode) -> list[str]:
    """Run every operation of ``schema`` through ``session`` in one generation mode, with the checks;
    return one message per failing operation (the shrunk failure schemathesis reports)."""
    counts = TOTALS.setdefault(name, Counter())
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        counts["operations"] += mode is GenerationMode.POSITIVE

        @FUZZ_SETTINGS
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            counts["cases"] += 1
            if isinstance(case.body, (dict, list, str)):
                case.body = _loopback_only(case.body)
            if case.query:
                case.query = _loopback_only(case.query)
            response = case.call_and_validate(base_url=BASE, session=session, checks=CHECKS,
                                              timeout=REQUEST_TIMEOUT)
            counts[f"status:{response.status_code}"] += 1

        try:
            run()
        except Unsatisfiable:  # no invalid input exists (an operation without parameters or body)
            continue
        except (Exception, BaseExceptionGroup) as exc:  # a check failed or a request timed out: report it
            counts["failures"] += 1
            failures.append(f"{operation.label} ({mode.value}): {exc}")
    return failures


FUZZ_SETTINGS = settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                         suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate,
                                                                            Phase.shrink])


MODES = pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)


@MODES
def test_admin_api_conforms_to_its_openapi_document(fuzz_server, mode):
    schema = schemathesis.openapi.from_dict(fuzz_server.get("/api/v1/openapi.json").json())
    failures = _fuzz("admin API (GET /api/v1/openapi.json)", schema, fuzz_server, mode)
    assert failures == [], "\n\n".join(failures)
    _still_serving(fuzz_server)


@MODES
def test_builtin_world_mock_routes_conform_to_their_spec(fuzz_server, mode):
    failures = _fuzz("built-in world (builtin/openapi.yaml)", schemathesis.openapi.from_path(BUILTIN_SPEC),
                     fuzz_server, mode)
    assert failures == [], "\n\n".join(failures)
    _still_serving(fuzz_server)


# -- the document covers every route ---------------------------------------------------------------
def _undescribed(app: Any, document: dict) -> list[str]:
    """``METHOD /path`` of every /api/v1 route the document does not describe. A route whose
    template has a parameter is described by its template, or by literal paths it serves
    (``/clock/{action}`` by ``/clock/advance``, ``/clock/set``, ``/clock/reset``)."""
    routes = [r for r in app.routes if isinstance(r, Route) and r.path.startswith("/api/v1")]
    paths = document["paths"]
    missing = []
    for route in routes:
        for method in sorted((route.methods or set()) - {"HEAD"}):
            if method.lower() in paths.get(route.path, {}):
                continue
            literal = [p for p in paths if "{" not in p and route.path_regex.match(p)
                       and method.lower() in paths[p]
                       and _first_route(routes, p, method) is route]
            if not literal:
                missing.append(f"{method} {route.path}")
    return missing


def _first_route(routes: list[Route], path: str, method: str) -> Route | None:
    return next((r for r in routes if r.path_regex.match(path) and method in (r.methods or set())), None)


def test_every_admin_route_is_described(fuzz_server, tmp_path):
    document = fuzz_server.get("/api/v1/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    app = create_app(Settings(store=str(tmp_path / "routes.db")))
    assert _undescribed(app, document) == []
    described = {p for p in document["paths"] if not p.startswith("/api/v1/")}
    assert described == set()
    problem = document["components"]["responses"]["Problem"]["content"]
    assert list(problem) == ["application/problem+json"]


def test_digits_that_are_not_decimal_are_bad_input_not_a_crash(fuzz_server):
    """'²'.isdigit() is True but int('²') fails, and int() of 5,000 digits raises on Python 3.11: every
    integer parameter of every GET refuses both with a 4xx problem."""
    document = fuzz_server.get("/api/v1/openapi.json").json()
    sent = []
    for bad in ("%C2%B2", "9" * 5000):
        for path, item in document["paths"].items():
            operation = item.get("get")
            if operation is None:
                continue
            params = [p for p in item.get("parameters", []) + operation.get("parameters", []) if "name" in p]
            for param in params:
                if param.get("schema", {}).get("type") != "integer" or param["in"] not in ("path", "query"):
                    continue
                url = re.sub(
                    r"\{[^}]+\}",
                    lambda m, bad=bad, param=param: bad if m.group(0) == "{" + param["name"] + "}" else "1",
                    path,
                )
                if param["in"] == "query":
                    url += f"?{param['name']}={bad}"
                got = fuzz_server.get(url)
                sent.append((url[:80], got.status_code, got.headers["content-type"]))
        for url in (f"/users?_page={bad}", f"/users?_per_page={bad}", f"/users/{bad}", f"/users/1/orders?_page={bad}"):
            got = fuzz_server.get(url)   # and the built-in world's own integer parameters
            sent.append((url[:80], got.status_code, got.headers["content-type"]))
    bad_answers = [s for s in sent if not (400 <= s[1] < 500 and s[2] == "application/problem+json")]
    assert (len(sent), bad_answers) == (SENT, []), sent


def test_an_email_derived_from_any_name_is_an_email(fuzz_server):
    """Found by the fuzzer: a user created with names holding commas or control characters got the email
    ``34a~q\\x1c3idu,@hotmail.com``; the derived local part keeps only letters, digits, ' and -."""
    cases = [("Zoë,", "O'Brien\x1c"), ("李", "王"), ("Ann-Marie", "Smith Jones")]
    emails = []
    for first, last in cases:
        got = fuzz_server.post("/users", json={"first_name": first, "last_name": last})
        assert got.status_code == 201, got.text
        emails.append(got.json()["email"].split("@")[0])
    assert emails[0] in ("zoe.o'brien", "zoe_o'brien", "zoeo'brien")
    assert re.fullmatch(r"user\d{4}", emails[1])
    assert emails[2] in ("ann-marie.smithjones", "ann-marie_smithjones", "ann-mariesmithjones")
