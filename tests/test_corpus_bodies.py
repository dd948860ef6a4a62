"""Every 2xx body the mock answers on a corpus spec is valid against its response schema, and none is a 5xx.

The rules, applied to each spec's `mockverse check --spec X --json` report by the per-spec corpus test
of tests/test_check_corpus.py (one check per spec serves both its ratchet figures and these rules, and
xdist spreads the specs over the workers). A body may be invalid only where an exception below covers it:
each names the spec, the operations and JSON pointers it covers, and quotes the line of the specs'
README ("Validator errors in the added files") that lists the spec error making a valid body
impossible; the test checks that the README still says so. No spec needs one today: every spec
error the README lists leaves a valid body possible (`\\p{L}` patterns are read as ECMA-262 reads
them; Slack's `items` arrays, OpenAI's repeated enum values, Svix's undeclared path parameters and
Mastodon's string defaults do not constrain a response body).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conftest import SHARED

README = (SHARED / "specs" / "README.md").read_text()
ERRORS_SECTION = README.split("### Validator errors in the added files", 1)[1].split("\n## ", 1)[0]


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


def body_problems(name: str, code: int | None, report: dict | None, err: str) -> list[str]:
    """What breaks the body rules in one spec's check: no report, a 5xx, an invalid body no exception or
    known gap covers, a known gap that no longer occurs."""
    if report is None:
        return [f"{name}: no report (exit {code}): {err.splitlines()[-1] if err else ''}"]
    problems: list[str] = []
    if report["status_5xx"]:
        served = [f"{f['operation']}: {f['message']}" for f in report["findings"] if f["category"] == "served"]
        problems.append(f"{name}: {report['status_5xx']} 5xx: {served}")
    problems += uncovered(name, report)
    schema_findings = [f for f in report["findings"] if f["category"] == "schema"]
    for gap in (g for g in KNOWN_GAPS if g.spec == name):
        if not any(_gap(gap, name, f) for f in schema_findings):
            problems.append(f"{name}: known gap {gap.operation} {gap.pointer} no longer occurs: remove it")
    return problems


def gap_lines(name: str) -> list[str]:
    """The known gaps of one spec, for the corpus test's printed table."""
    return [f"  known gap, {g.spec}: {g.operation} {g.pointer}: {g.why}" for g in KNOWN_GAPS if g.spec == name]


def test_every_exception_quotes_a_line_the_readme_lists():
    assert [e.name for e in EXCEPTIONS if not e.listed()] == []


def test_the_body_rules_of_one_report():
    """A 5xx, a missing report, and a known gap that no longer occurs are each a problem; a clean report is none."""
    clean = {"status_5xx": 0, "findings": [], "unchecked": [], "scores": {"schema": {"passed": 3, "total": 3}}}
    assert body_problems("petstore.yaml", 0, clean, "") == []
    assert gap_lines("petstore.yaml") == [] and len(gap_lines("slack.json")) == len(KNOWN_GAPS)
    crashed = {**clean, "status_5xx": 1,
               "findings": [{"category": "served", "operation": "GET /pets", "pointer": "/", "message": "500"}]}
    assert body_problems("petstore.yaml", 0, crashed, "") == ["petstore.yaml: 1 5xx: ['GET /pets: 500']"]
    assert body_problems("petstore.yaml", None, None, "boom\nkilled") == [
        "petstore.yaml: no report (exit None): killed"]
    assert body_problems("slack.json", 0, clean, "") == [
        f"slack.json: known gap {g.operation} {g.pointer} no longer occurs: remove it" for g in KNOWN_GAPS]


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
