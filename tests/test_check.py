"""`mockverse check`: the built-in world passes at 100%; a broken spec shows exactly its findings."""

from __future__ import annotations

import json
import re
import shlex

import pytest

from conftest import ROOT
from mockverse.check import CATEGORIES
from mockverse.cli import main

FIXTURES = ROOT / "tests" / "fixtures" / "specs"
BROKEN = FIXTURES / "check-broken.yaml"
UNRESOLVED = "does not resolve: GET /owners/{ownerId} answered 200 with another entity"
README = ROOT / "README.md"


def check(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """Run ``mockverse check`` in process: (exit code, stdout, stderr)."""
    code = main(["check", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def scores(report: dict) -> dict[str, tuple[int, int]]:
    return {c: (report["scores"][c]["passed"], report["scores"][c]["total"]) for c in CATEGORIES}


def readme_command() -> list[str]:
    """The arguments of the command the README's "mockverse check" section prints."""
    section = README.read_text().split("## mockverse check", 1)[1].split("\n## ", 1)[0]
    line = re.findall(r"```sh\n(.*?)\n```", section, re.DOTALL)[0]
    args = shlex.split(line)
    assert args[:2] == ["mockverse", "check"]
    return args[2:]


def test_builtin_world_passes_at_100_percent(capsys):
    """The README's command, as printed: the built-in world at 100%."""
    code, out, _ = check(capsys, *readme_command())
    report = json.loads(out)
    assert code == 0
    assert scores(report) == {"served": (32, 32), "schema": (67, 67), "links": (58, 58), "nested": (46, 46),
                              "item_list": (6, 6), "writes": (15, 15), "members": (0, 0),
                              "determinism": (13, 13)}
    assert report["overall"] == {"passed": 237, "total": 237, "score": 1.0}
    assert report["operations"] == {"total": 31, "exercised": 31}
    assert report["status_5xx"] == 0
    assert report["findings"] == []


def test_broken_spec_shows_exactly_its_findings(capsys):
    code, out, _ = check(capsys, "--spec", str(BROKEN), "--json")
    report = json.loads(out)
    assert code == 0   # no --min: findings alone do not fail the command
    assert scores(report) == {"served": (5, 5), "schema": (1, 5), "links": (0, 6), "nested": (0, 0),
                              "item_list": (3, 6), "writes": (0, 0), "members": (0, 0),
                              "determinism": (4, 4)}
    found = [(f["category"], f["operation"], f["pointer"], f["message"]) for f in report["findings"]]
    assert sorted(found) == sorted([
        ("item_list", "GET /owners", "/0", "owner 1: GET /owners/{ownerId} answered 200 without that entity"),
        ("item_list", "GET /owners", "/1", "owner 2: GET /owners/{ownerId} answered 200 without that entity"),
        ("item_list", "GET /owners", "/2", "owner 3: GET /owners/{ownerId} answered 200 without that entity"),
        ("schema", "GET /pets", "/0/name", "'Con14' is too long"),
        ("schema", "GET /pets/{petId}", "/name", "'Con14' is too long"),
        ("schema", "GET /pets/{petId}", "/name", "'Mul13' is too long"),
        ("schema", "GET /pets/{petId}", "/name", "'Opt00' is too long"),
        ("links", "GET /pets", "/0/ownerId", f"owner 1 {UNRESOLVED}"),
        ("links", "GET /pets", "/1/ownerId", f"owner 1 {UNRESOLVED}"),
        ("links", "GET /pets", "/2/ownerId", f"owner 2 {UNRESOLVED}"),
        ("links", "GET /pets/{petId}", "/ownerId", f"owner 1 {UNRESOLVED}"),
        ("links", "GET /pets/{petId}", "/ownerId", f"owner 1 {UNRESOLVED}"),
        ("links", "GET /pets/{petId}", "/ownerId", f"owner 2 {UNRESOLVED}"),
    ])


def test_min_sets_the_exit_code(capsys):
    code, out, err = check(capsys, "--spec", str(BROKEN), "--min", "0.5")   # overall 13/26 = 0.5
    assert code == 0
    assert "  overall         13/26      50.0%" in out.splitlines()
    assert err == ""
    code, out, err = check(capsys, "--spec", str(BROKEN), "--min", "0.51")
    assert code == 1
    assert err == "mockverse: overall score 0.5000 is below --min 0.51\n"
    assert "links findings (6):" in out.splitlines()
    assert f"  GET /pets /0/ownerId: owner 1 {UNRESOLVED}" in out.splitlines()


def test_unloadable_spec_is_one_line_and_exit_2(capsys):
    code, out, err = check(capsys, "--spec", str(FIXTURES / "malformed.yaml"))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("mockverse: ") and "malformed.yaml" in err
    assert "Traceback" not in err
    code, _, err = check(capsys, "--spec", str(FIXTURES / "no-such-file.yaml"))
    assert code == 2
    assert err.count("\n") == 1 and "no-such-file.yaml" in err


def test_min_must_be_a_fraction(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["check", "--min", "95"])
    assert exc.value.code == 2
    assert "argument --min: 95 is not between 0 and 1" in capsys.readouterr().err


def test_json_report_shape(capsys):
    _, out, _ = check(capsys, "--spec", str(BROKEN), "--json", "--seed", "7")
    report = json.loads(out)
    assert list(report) == ["spec", "title", "seed", "operations", "status_5xx", "scores", "overall", "findings",
                            "unchecked", "entity_types", "relationships", "timings"]
    assert report["unchecked"] == []
    assert report["spec"] == str(BROKEN) and report["title"] == "Broken shelter" and report["seed"] == "7"
    assert list(report["scores"]) == list(CATEGORIES)
    assert all(list(s) == ["passed", "total", "score"] for s in report["scores"].values())
    assert all(list(f) == ["category", "operation", "pointer", "message"] for f in report["findings"])
    assert report["entity_types"] == [{"name": "owner", "schema": "Owner", "parent": None},
                                      {"name": "pet", "schema": "Pet", "parent": "owner"}]
    assert report["relationships"] == [{"source": "pet", "field": "ownerId", "target": "owner", "kind": "belongs_to"}]
    assert list(report["timings"]) == ["load", "rebuild", "check"]
