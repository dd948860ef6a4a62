"""The corpus ratchet: `mockverse check` on every spec of ../shared/specs, never worse than recorded.

Each spec is checked in its own process (`mockverse check --spec X --json`, by the CLI's main in a child of a
forkserver that imported mockverse once: tests/corpus_process.py) with a CPU-time limit,
so a spec the mock cannot serve in time is a figure ("timeout"), not a hung test run; CPU time,
unlike wall time, does not depend on how busy the machine is. Its figures (loads, 5xx,
links resolved, nested lists agreeing, write round-trips, valid bodies, and the inferred links
compared with tests/corpus_links.yaml, the relationships the specs' README lists) are compared with
tests/corpus_figures.json: the test fails when a spec gets worse than recorded, and prints the
issue's acceptance bars beside the measured figures.

Each spec is its own test, so xdist spreads the corpus over the workers; the same check also gives the
spec's verdict on its bodies (every 2xx body valid, no 5xx: tests/test_corpus_bodies.py has the rules),
so each spec is checked once. Re-record the figures after an improvement:

    MOCKVERSE_RECORD_FIGURES=1 PYTHONPATH=src python -m pytest -s -n 2 tests/test_check_corpus.py
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import corpus_process
from conftest import SHARED
from mockverse.openapi import singular, snake
from test_corpus_bodies import body_problems, gap_lines

SPECS = sorted(p for p in (SHARED / "specs").iterdir() if p.suffix in (".json", ".yaml"))
FIGURES = Path(__file__).with_name("corpus_figures.json")
LINKS = yaml.safe_load(Path(__file__).with_name("corpus_links.yaml").read_text())
CPU_LIMIT = 60         # CPU seconds one spec's check may take
WALL_LIMIT = 1800      # wall seconds, a backstop only
RECORD = os.environ.get("MOCKVERSE_RECORD_FIGURES") == "1"
CATEGORIES = ("links", "nested", "writes", "schema", "item_list", "members", "served")   # the ratchet's fractions
KEPT = ("keys",)       # figures tests/test_corpus_keys.py records, kept when this module re-records a spec
BARS = "bars: 0 5xx; links >= 98%; nested lists 100%; every create + read round-trip; " \
       "inference >= 90% of the README's links found, <= 5% wrong"


@pytest.fixture(scope="module", autouse=True)
def _checks_counted() -> Iterator[None]:
    """After this module's checks, the forkserver that ran them is waited for (their CPU is this run's)."""
    yield
    corpus_process.stop()


@functools.cache
def run(spec: Path) -> tuple[int | None, dict | None, str, float]:
    """(exit code or None on timeout, the JSON report, stderr, seconds) of one check in its own process."""
    started = time.perf_counter()
    code, stdout, stderr = corpus_process.check(spec, CPU_LIMIT, WALL_LIMIT)
    if code is None:
        return None, None, f"timed out after {WALL_LIMIT}s", time.perf_counter() - started
    if code == -signal.SIGXCPU:
        return None, None, f"timed out after {CPU_LIMIT} CPU seconds", time.perf_counter() - started
    report = json.loads(stdout) if code in (0, 1) and stdout.strip() else None
    return code, report, stderr.strip(), time.perf_counter() - started


def _matches(name: str, world_type: dict, aliases: dict) -> bool:
    """Whether a README type name means a world entity type."""
    if name in aliases:
        return world_type["name"] in aliases[name]
    return singular(snake(name)) == world_type["name"] or world_type.get("schema") == name


def inference(report: dict | None, expected: dict) -> dict:
    """found / missed / wrong for the README's links and nested relations of one spec."""
    aliases = expected.get("types") or {}
    types = report["entity_types"] if report else []
    rels = report["relationships"] if report else []
    by_name = {t["name"]: t for t in types}
    out: dict = {"found": 0, "missed": [], "wrong": []}
    for line in expected.get("links") or []:
        left, right = (s.strip() for s in line.split("->"))
        source, field = left.split(".", 1)
        targets = right.split("|")
        sources = {t["name"] for t in types if _matches(source, t, aliases)}
        on_field = [r for r in rels if r["source"] in sources and r["field"]
                    and r["field"].replace("[]", "") == field.replace("[]", "")]
        if not on_field:
            out["missed"].append(line)
        elif any(_matches(t, by_name.get(r["target"], {"name": r["target"]}), aliases)
                 for r in on_field for t in targets):
            out["found"] += 1
        else:
            out["wrong"].append(f"{line} (inferred {', '.join(sorted({r['target'] for r in on_field}))})")
    for line in expected.get("nested") or []:
        parent, child = (s.strip() for s in line.split("->"))
        parents = {t["name"] for t in types if _matches(parent, t, aliases)}
        children = {t["name"] for t in types if _matches(child, t, aliases)}
        linked = any(t["parent"] in parents for t in types if t["name"] in children) or any(
            {r["source"], r["target"]} & parents and {r["source"], r["target"]} & children for r in rels)
        if linked:
            out["found"] += 1
        else:
            out["missed"].append(line)
    out["total"] = len(expected.get("links") or []) + len(expected.get("nested") or [])
    return out


def figures(spec: Path) -> tuple[dict, dict, float, list[str]]:
    """The ratchet figures of one spec, the inference details, the seconds its check took, and what breaks
    the body rules (tests/test_corpus_bodies.py) in the same check."""
    code, report, err, seconds = run(spec)
    bodies = body_problems(spec.name, code, report, err)
    found = inference(report, LINKS.get(spec.name) or {})   # the check's report holds the world it inferred
    row: dict = {"loads": code != 2, "completed": report is not None, "timeout": code is None,
                 "inference": {"found": found["found"], "missed": len(found["missed"]), "wrong": len(found["wrong"]),
                               "total": found["total"]}}
    if report is None:
        row["error"] = err.splitlines()[-1] if err else f"exit {code}"
        return row, found, seconds, bodies
    row["status_5xx"] = report["status_5xx"]
    for category in CATEGORIES:
        row[category] = [report["scores"][category]["passed"], report["scores"][category]["total"]]
    return row, found, seconds, bodies


def _fraction(pair: list[int] | None) -> float | None:
    return None if not pair or not pair[1] else pair[0] / pair[1]


def worse(now: dict, before: dict) -> list[str]:
    """How a spec's figures are worse than recorded (empty: not worse)."""
    out = []
    for flag in ("loads", "completed"):
        if before.get(flag) and not now.get(flag):
            out.append(f"{flag}: was true, now false ({now.get('error', '')})")
    if before.get("completed") and now.get("completed"):
        if now["status_5xx"] > before["status_5xx"]:
            out.append(f"5xx: {now['status_5xx']} > recorded {before['status_5xx']}")
        for category in CATEGORIES:
            was, is_ = _fraction(before.get(category)), _fraction(now.get(category))
            if was is not None and (is_ is None or is_ < was - 1e-9):
                out.append(f"{category}: {now.get(category)} < recorded {before.get(category)}")
    if now["inference"]["found"] < before["inference"]["found"]:
        out.append(f"inference found {now['inference']['found']} < recorded {before['inference']['found']}")
    if now["inference"]["wrong"] > before["inference"]["wrong"]:
        out.append(f"inference wrong {now['inference']['wrong']} > recorded {before['inference']['wrong']}")
    return out


def _cell(pair: list[int] | None) -> str:
    return "-" if pair is None else f"{pair[0]}/{pair[1]}" + (f" {pair[0] / pair[1]:.0%}" if pair[1] else "")


def table(rows: dict[str, dict], seconds: dict[str, float]) -> str:
    """The per-spec figures as a table, with the acceptance bars above it."""
    head = (
        "spec",
        "loads",
        "5xx",
        "links",
        "nested",
        "writes",
        "schema",
        "item/list",
        "inference f/m/w (of n)",
        "time",
    )
    lines = [head]
    for name, row in rows.items():
        inf = row["inference"]
        lines.append(
            (
                name,
                "yes" if row["loads"] else "NO",
                str(row.get("status_5xx", "-"))
                if row["completed"]
                else ("timeout" if row.get("timeout") else "crash" if row["loads"] else "-"),
                _cell(row.get("links")),
                _cell(row.get("nested")),
                _cell(row.get("writes")),
                _cell(row.get("schema")),
                _cell(row.get("item_list")),
                f"{inf['found']}/{inf['missed']}/{inf['wrong']} (of {inf['total']})",
                f"{seconds[name]:.1f}s",
            )
        )
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    text = [BARS] + ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in lines]
    return "\n".join(text)


def record(name: str, row: dict, *, update: bool = False) -> None:
    """Write one spec's figures into tests/corpus_figures.json (locked: xdist workers record side by side):
    replace them, keeping those another test records (KEPT); with ``update``, set only the given ones."""
    with open(Path(tempfile.gettempdir()) / "mockverse-corpus-figures.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rows = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
        previous = rows.get(name, {})
        rows[name] = {**(previous if update else {k: previous[k] for k in KEPT if k in previous}), **row}
        FIGURES.write_text(json.dumps(dict(sorted(rows.items())), indent=2, sort_keys=True) + "\n")


def test_the_corpus_is_the_readme_s():
    """19 specs, and tests/corpus_links.yaml lists the relationships of each of them."""
    assert len(SPECS) == 19 and set(LINKS) == {p.name for p in SPECS}


@pytest.mark.parametrize("spec", SPECS, ids=[p.name for p in SPECS])
def test_spec_is_not_worse_than_recorded_and_its_bodies_are_valid(spec: Path):
    """One spec's check (its own process, CPU-limited) against its recorded figures, and its bodies against
    the body rules; each spec is its own test so that xdist spreads the corpus over the workers."""
    recorded = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    row, found, seconds, bodies = figures(spec)
    details = [f"  {spec.name} {kind}: {line}" for kind in ("missed", "wrong") for line in found[kind]]
    report = table({spec.name: row}, {spec.name: seconds}) + "\n\ninference, per README relationship not found:\n" \
        + "\n".join(details + gap_lines(spec.name))
    print("\n" + report)
    if RECORD:
        record(spec.name, row)
        recorded = {spec.name: row}
    regressions = worse(row, recorded.get(spec.name, {"inference": {"found": 0, "wrong": 10 ** 6}}))
    assert not regressions, "worse than tests/corpus_figures.json:\n" + "\n".join(
        f"{spec.name}: {problem}" for problem in regressions) + "\n\n" + report
    assert not bodies, "\n".join(bodies)


def test_inference_and_ratchet_rules():
    """found / missed / wrong against a README entry, and what counts as worse."""
    report = {"entity_types": [{"name": "pet", "schema": "PetObject", "parent": "owner"},
                               {"name": "owner", "schema": "Owner", "parent": None},
                               {"name": "category", "schema": "Category", "parent": None}],
              "relationships": [{"source": "pet", "field": "ownerId", "target": "owner", "kind": "belongs_to"},
                                {"source": "pet", "field": "tags", "target": "category", "kind": "embeds"}]}
    expected = {"types": {"Animal": ["pet"]},
                "links": ["PetObject.ownerId -> Owner", "Animal.tags[] -> Tag", "Pet.categoryId -> Category"],
                "nested": ["Owner -> Pet", "Owner -> Category"]}
    assert inference(report, expected) == {
        "found": 2, "total": 5, "missed": ["Pet.categoryId -> Category", "Owner -> Category"],
        "wrong": ["Animal.tags[] -> Tag (inferred category)"]}
    before = {"loads": True, "completed": True, "status_5xx": 0, "links": [9, 10], "nested": [0, 0],
              "inference": {"found": 2, "wrong": 1}}
    assert worse({**before, "links": [18, 20], "nested": [1, 4]}, before) == []
    assert worse({**before, "status_5xx": 2, "links": [8, 10], "inference": {"found": 1, "wrong": 2}}, before) == [
        "5xx: 2 > recorded 0", "links: [8, 10] < recorded [9, 10]", "inference found 1 < recorded 2",
        "inference wrong 2 > recorded 1"]
    assert worse({"loads": False, "completed": False, "error": "x", "inference": {"found": 0, "wrong": 0}},
                 before) == ["loads: was true, now false (x)", "completed: was true, now false (x)",
                             "inference found 0 < recorded 2"]
