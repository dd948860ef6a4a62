"""Every 2xx body the mock answers on a corpus spec is valid against its response schema, and none is a 5xx.

Each spec of ../shared/specs is checked in its own process (`mockverse check --spec X --json`, the
ratchet's `run`, which caches its reports for the session, so the corpus is checked once for both
tests), two processes at a time. A body may be invalid only where an exception below covers it:
each names the spec, the operations and JSON pointers it covers, and quotes the line of the specs'
README ("Validator errors in the added files") that lists the spec error making a valid body
impossible; the test checks that the README still says so. No spec needs one today: every spec
error the README lists leaves a valid body possible (`\\p{L}` patterns are read as ECMA-262 reads
them; Slack's `items` arrays, OpenAI's repeated enum values, Svix's undeclared path parameters and
Mastodon's string defaults do not constrain a response body).
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from conftest import SHARED
from test_check_corpus import SPECS, run

README = (SHARED / "specs" / "README.md").read_text()
ERRORS_SECTION = README.split("### Validator errors in the added files", 1)[1].split("\n## ", 1)[0]
WORKERS = 2


@dataclass(frozen=True)
class SpecErrorException:
    """Invalid bodies a spec's own error makes unavoidable: which spec, operations and pointers, and why."""

    name: str
    spec: str
    readme: str            # the README line naming the spec error (quoted exactly)
    operation: str         # a regular expression over ``GET /path`` operation names
    pointer: str           # a regular expression over the finding's JSON pointer

    def listed(self) -> bool:
        """Whether the README lists the spec error this exception quotes, under this spec's name."""
        return self.readme in ERRORS_SECTION and self.readme.startswith(f"- `{self.spec}`")

    def covers(self, spec: str, finding: dict) -> bool:
        """Whether this exception explains ``finding`` of ``spec``."""
        return spec == self.spec and re.fullmatch(self.operation, finding["operation"]) is not None \
            and re.fullmatch(self.pointer, finding["pointer"]) is not None


EXCEPTIONS: tuple[SpecErrorException, ...] = ()


@dataclass(frozen=True)
class KnownGap:
    """Invalid bodies that are mockverse's own defect, not the spec's: listed openly so the test stays a
    ratchet (a new invalid body fails it) and fails too once a gap is fixed, so the list only shrinks."""

    spec: str
    operation: str         # a regular expression over the finding's operation
    pointer: str           # a regular expression over the finding's JSON pointer
    why: str


KNOWN_GAPS: tuple[KnownGap, ...] = ()


def uncovered(spec: str, report: dict, exceptions: tuple[SpecErrorException, ...] = EXCEPTIONS) -> list[str]:
    """The invalid 2xx bodies (and bodies that could not be checked) of one report no exception covers."""
    findings = [f for f in report["findings"] if f["category"] == "schema"]
    findings += [f for f in report["unchecked"] if f["category"] == "schema"]
    return [f"{spec}: {f['operation']} {f['pointer']}: {f['message']}" for f in findings
            if not any(e.covers(spec, f) for e in exceptions) and not any(_gap(g, spec, f) for g in KNOWN_GAPS)]


def _gap(gap: KnownGap, spec: str, finding: dict) -> bool:
    """Whether ``finding`` of ``spec`` is the known gap ``gap``."""
    return spec == gap.spec and re.fullmatch(gap.operation, finding["operation"]) is not None \
        and re.fullmatch(gap.pointer, finding["pointer"]) is not None


def test_every_corpus_body_is_valid_and_none_is_a_5xx():
    with ThreadPoolExecutor(WORKERS) as pool:
        results = dict(zip([s.name for s in SPECS], pool.map(run, SPECS), strict=True))
    problems = [f"{e.name}: the README does not list {e.readme!r}" for e in EXCEPTIONS if not e.listed()]
    table = []
    for name, (code, report, err, seconds) in results.items():
        if report is None:
            problems.append(f"{name}: no report (exit {code}): {err.splitlines()[-1] if err else ''}")
            continue
        schema = report["scores"]["schema"]
        table.append(f"  {name:<28} 5xx {report['status_5xx']:<3} valid {schema['passed']}/{schema['total']}"
                     f"  {seconds:.0f}s")
        if report["status_5xx"]:
            served = [f"{f['operation']}: {f['message']}" for f in report["findings"] if f["category"] == "served"]
            problems.append(f"{name}: {report['status_5xx']} 5xx: {served}")
        problems += uncovered(name, report)
        schema_findings = [f for f in report["findings"] if f["category"] == "schema"]
        for gap in (g for g in KNOWN_GAPS if g.spec == name):
            if not any(_gap(gap, name, f) for f in schema_findings):
                problems.append(f"{name}: known gap {gap.operation} {gap.pointer} no longer occurs: remove it")
    table += [f"  known gap, {g.spec}: {g.operation} {g.pointer}: {g.why}" for g in KNOWN_GAPS]
    print("\n" + "\n".join(table))
    assert not problems, "\n".join(problems)


def test_an_invalid_body_passes_only_under_an_exception_of_its_own_spec():
    report = {"findings": [{"category": "schema", "operation": "GET /owners/{ownerId}", "pointer": "/firstName",
                            "message": "'Ann' does not match"},
                           {"category": "links", "operation": "GET /pets", "pointer": "/0/ownerId", "message": "x"}],
              "unchecked": [{"category": "schema", "operation": "GET /vets", "pointer": "/", "message": "no regex"}]}
    line = "- `petclinic.yaml`: 2 errors, one for `OwnerFields` and one for `VetFields`. Each has the form"
    pattern = SpecErrorException("ECMA-only name pattern", "petclinic.yaml", line, r"GET /owners.*", r"/firstName")
    assert pattern.listed() and not SpecErrorException("", "xero.yaml", line, ".*", ".*").listed()
    assert uncovered("petclinic.yaml", report, (pattern,)) == ["petclinic.yaml: GET /vets /: no regex"]
    assert uncovered("xero.yaml", report, (pattern,)) == [
        "xero.yaml: GET /owners/{ownerId} /firstName: 'Ann' does not match", "xero.yaml: GET /vets /: no regex"]
