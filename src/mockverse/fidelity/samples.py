"""Sample similarity: flatten bodies to JSON paths and compare each path's distribution.

``path = presence × type_mix × (0.4 + 0.6·value)`` per scored path (FIDELITY.md "Sample
similarity"), combined so that one wrong field among many still shows:

``driver = (1 − α)·mean(path) + α·worst``, ``worst = min over paths of min(1, path/(1 − τ))``

with α = ``WORST_SHARE`` (0.6) and τ = ``PATH_NOISE`` (0.1). A plain mean would let a fully wrong
path cost only 0.6/n of the driver (0.03 among 20 fields); the worst-path term makes it cost its
share beyond the noise whatever n is. τ forgives what two samples of the same distribution
show on their worst path (each path's terms are floored at the median noise, so with many paths
the worst one usually lies somewhat beyond its floor). Identical inputs still give exactly 1,
and lowering any path's score never raises the driver. Presence is the share of the parent objects that hold the
key; type mix is the share of each JSON type; the value term depends on what the values are:

* numbers: Kolmogorov–Smirnov distance (ids: format and digit count instead);
* booleans and low-cardinality strings: total variation distance of the frequencies;
* ids, uuids, timestamps, emails, urls and free text: format mix (TV) and lengths (KS),
  never the literal values;
* arrays: KS over their lengths (their elements are paths of their own, ``$.items[*]``).

Every distance is forgiven up to its noise floor (see ``base``). Paths whose values are
objects on both sides carry no information of their own (their children are scored) and are
not scored themselves. A path on one side only scores 0, reported once at its topmost path.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mockverse.reality.blend import is_identity_key

from .base import (
    ITEMS,
    MIN_VALUES,
    DriverResult,
    Exclusions,
    Finding,
    child_path,
    floored,
    items_path,
    ks_distance,
    ks_floor,
    parse_path,
    size_confidence,
    skipped,
    tv_distance,
)

WORST_SHARE = 0.6  # α: the worst path's share of the driver, beside the mean over paths
PATH_NOISE = 0.1  # τ: a worst path scoring 0.9 or more is taken as sampling noise
VALUE_SHARE = 0.6  # the value term's share of a path's score: path = P × T × (1 − 0.6·(1 − value))
MAX_CATEGORIES = 100  # more distinct strings than this on a side is never "low cardinality"

_FORMATS = re.compile(
    r"(?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"|(?P<date_time>\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)"
    r"|(?P<date>\d{4}-\d{2}-\d{2})"
    r"|(?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)"
    r"|(?P<email>[^@\s]+@[^@\s]+\.[^@\s]+)"
    r"|(?P<uri>[A-Za-z][A-Za-z0-9+.-]*://\S+)"
    r"|(?P<ipv4>(?:\d{1,3}\.){3}\d{1,3})"
    r"|(?P<integer>[+-]?\d+)"
    r"|(?P<decimal>[+-]?\d*\.\d+)"
    r"|(?P<hex>[0-9a-fA-F]{8,})"
    r"|(?P<empty>)"
    r"|(?P<word>\S+)"
    r"|(?P<text>.+)",
    re.DOTALL,
)
# Formats that mark identifiers and stamps: compared by format and length, never by value.
_STRUCTURED = frozenset({"uuid", "date_time", "date", "time", "email", "uri", "ipv4", "hex"})
_TYPES = ("null", "boolean", "number", "string", "object", "array")


@dataclass(slots=True)
class PathValues:
    """Everything seen at one path across a list of bodies."""

    parent: str | None
    elements: bool  # True for ``[*]`` paths: array elements, not properties
    objects: int = 0
    nulls: int = 0
    trues: int = 0
    falses: int = 0
    numbers: list[Any] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    children: dict[str, str] = field(default_factory=dict)

    @property
    def types(self) -> dict[str, int]:
        """Occurrences per JSON type."""
        booleans = self.trues + self.falses
        counts = (self.nulls, booleans, len(self.numbers), len(self.strings), self.objects, len(self.lengths))
        return {name: count for name, count in zip(_TYPES, counts, strict=True) if count}

    @property
    def count(self) -> int:
        """How many values were seen at this path."""
        return sum(self.types.values())


def flatten(bodies: list[Any]) -> dict[str, PathValues]:
    """Every path of every body with its values, e.g. ``$.items[*].price``."""
    table: dict[str, PathValues] = {}

    def visit(value: Any, path: str, parent: str | None, elements: bool) -> None:
        acc = table.get(path)
        if acc is None:
            acc = table[path] = PathValues(parent, elements)
        kind = type(value)
        if kind is dict:
            acc.objects += 1
            children = acc.children
            for key, item in value.items():
                sub = children.get(key)
                if sub is None:
                    sub = children[key] = child_path(path, str(key))
                visit(item, sub, path, False)
        elif kind is str:
            acc.strings.append(value)
        elif kind is int or kind is float:
            acc.numbers.append(value)
        elif kind is bool:
            if value:
                acc.trues += 1
            else:
                acc.falses += 1
        elif value is None:
            acc.nulls += 1
        elif kind is list or kind is tuple:
            acc.lengths.append(len(value))
            sub = items_path(path)
            for item in value:
                visit(item, sub, path, True)
        elif isinstance(value, (int, float)):
            acc.numbers.append(float(value))
        else:
            raise ValueError(f"sample value at {path} is {type(value).__name__}, not JSON")

    for body in bodies:
        visit(body, "$", None, False)
    return table


def sample_similarity(
    mock_samples: list[Any] | None, real_samples: list[Any] | None, exclusions: Exclusions
) -> DriverResult:
    """Score how closely the mock's bodies are distributed like the real ones, path by path."""
    for side, samples in (("mock", mock_samples), ("real", real_samples)):
        if not samples:
            return skipped(f"no {side} samples given")
        if not isinstance(samples, list):
            raise ValueError(f"{side}_samples must be a list of JSON bodies")
    mock_samples, real_samples = mock_samples or [], real_samples or []
    mock, real = flatten(mock_samples), flatten(real_samples)
    paths = sorted(
        p
        for p in mock.keys() | real.keys()
        if not exclusions.matches(p) and not _objects_only(mock.get(p), real.get(p))
    )
    details: dict[str, Any] = {"paths": len(paths), "mock_bodies": len(mock_samples), "real_bodies": len(real_samples)}
    if not paths:
        return skipped("every path of the samples is excluded", details)
    scores: dict[str, float] = {}
    own: dict[str, list[Finding]] = {}
    one_sided: dict[str, Finding] = {}
    top_of: dict[str, str] = {}
    unscored = 0
    for path in paths:
        m, r = mock.get(path), real.get(path)
        if m is None or r is None:
            scores[path] = 0.0
            top_of[path] = _report_one_sided(path, mock, real, one_sided, exclusions)
            continue
        scores[path], own[path], tested = _compare_path(path, m, r, mock, real)
        unscored += not tested
    n = len(paths)
    worst_path = min(paths, key=lambda p: (scores[p], p))
    worst = floored(1.0 - scores[worst_path], PATH_NOISE)
    findings = [f for path in paths for f in own.get(path, ())]
    findings.extend(one_sided.values())
    extra = WORST_SHARE * (1.0 - worst)
    if worst_path in own:
        lost = math.fsum(f.loss for f in own[worst_path])
        bonus = [(f, extra * f.loss / lost) for f in own[worst_path]] if lost else []
    else:
        bonus = [(one_sided[top_of[worst_path]], extra)]
    for f in findings:
        f.loss *= (1.0 - WORST_SHARE) / n
    for f, points in bonus:
        f.loss += points
    details["paths_without_value_test"] = unscored
    details["worst_path"] = {"path": worst_path, "score": round(scores[worst_path], 6)}
    value = (1.0 - WORST_SHARE) * math.fsum(scores.values()) / n + WORST_SHARE * worst
    confidence = size_confidence(len(mock_samples), len(real_samples))
    return DriverResult(value=value, details=details, findings=findings, confidence=confidence)


def _objects_only(m: PathValues | None, r: PathValues | None) -> bool:
    """Whether every value at the path, on both sides, is an object (its children say it all)."""
    return all(side is None or side.objects == side.count for side in (m, r))


def _report_one_sided(
    path: str, mock: dict[str, PathValues], real: dict[str, PathValues], found: dict[str, Finding], ex: Exclusions
) -> str:
    """Charge a one-sided path to the finding at its topmost one-sided ancestor; returns that ancestor."""
    table = mock if path in mock else real
    other = real if table is mock else mock
    top = path
    parent = table[top].parent
    while parent is not None and parent not in other and not ex.matches(parent):
        top, parent = parent, table[parent].parent
    finding = found.get(top)
    if finding is None:
        in_mock = table is mock
        code = "extra-in-mock" if in_mock else "missing-in-mock"
        said = "only in the mock samples" if in_mock else "never in the mock samples"
        types = _shares(table[top].types)
        mock_types, real_types = (types, None) if in_mock else (None, types)
        finding = found[top] = Finding(top, code, f"{top} is {said}", mock_types, real_types)
    finding.loss += 1.0
    return top


def _compare_path(
    path: str, m: PathValues, r: PathValues, mock: dict[str, PathValues], real: dict[str, PathValues]
) -> tuple[float, list[Finding], bool]:
    """One path's score, its findings (losses in path units), and whether values were tested."""
    findings: list[Finding] = []
    pm, pn = _presence(m, mock)
    rm, rn = _presence(r, real)
    d, d0 = tv_distance({True: pm, False: pn - pm}, {True: rm, False: rn - rm})
    presence = floored(d, d0)
    if presence < 1.0:
        mock_rate, real_rate = round(pm / pn, 4), round(rm / rn, 4)
        message = f"{path} is present in {mock_rate:.0%} of mock objects but {real_rate:.0%} of real ones"
        findings.append(Finding(path, "presence-differs", message, mock_rate, real_rate, 1.0 - presence))
    d, d0 = tv_distance(m.types, r.types)
    type_mix = floored(d, d0)
    if type_mix < 1.0:
        message = f"{path} has a different mix of JSON types (TV distance {d:.2f}, noise floor {d0:.2f})"
        loss = presence * (1 - type_mix)
        findings.append(Finding(path, "type-mix-differs", message, _shares(m.types), _shares(r.types), loss))
    kept = presence * type_mix
    kind = _value_kind(m, r)
    tested = True
    value = 1.0
    if kind is not None:
        n, k = _kind_count(m, kind), _kind_count(r, kind)
        if min(n, k) < MIN_VALUES:
            tested = False
            message = (
                f"{path} has {n} mock and {k} real {kind} values; fewer than {MIN_VALUES} on a side are not compared"
            )
            findings.append(Finding(path, "too-few-values", message, n, k, 0.0))
        else:
            for code, s, message, mock_summary, real_summary in _value_terms(path, kind, m, r):
                if s < 1.0:
                    loss = kept * VALUE_SHARE * value * (1.0 - s)
                    findings.append(Finding(path, code, message, mock_summary, real_summary, loss))
                value *= s
    score = kept * (1.0 - VALUE_SHARE * (1.0 - value))
    return score, findings, tested


def _presence(acc: PathValues, table: dict[str, PathValues]) -> tuple[int, int]:
    """(objects holding this key, objects that could have); array elements and the root count as present."""
    if acc.parent is None or acc.elements:
        return 1, 1
    return acc.count, table[acc.parent].objects


def _value_kind(m: PathValues, r: PathValues) -> str | None:
    """The JSON type whose values are compared: the most common one present on both sides."""
    best, best_share = None, 0.0
    n, k = m.count, r.count
    for kind in ("number", "string", "boolean", "array"):
        a, b = _kind_count(m, kind), _kind_count(r, kind)
        if a and b and a / n + b / k > best_share:
            best, best_share = kind, a / n + b / k
    return best


def _kind_count(acc: PathValues, kind: str) -> int:
    if kind == "boolean":
        return acc.trues + acc.falses
    return len({"number": acc.numbers, "string": acc.strings, "array": acc.lengths}[kind])


def _value_terms(path: str, kind: str, m: PathValues, r: PathValues) -> list[tuple[str, float, str, Any, Any]]:
    """The value comparisons for one path: (code, score, message, mock summary, real summary)."""
    identity = is_identity_key(_last_key(path))
    if kind == "boolean":
        return [_frequencies(path, {True: m.trues, False: m.falses}, {True: r.trues, False: r.falses})]
    if kind == "array":
        x, y = np.asarray(m.lengths, float), np.asarray(r.lengths, float)
        return [_ks_term(path, "array-length-differs", "array lengths", x, y)]
    if kind == "number":
        if identity:
            return _format_and_length(path, _number_shapes(m.numbers), _number_shapes(r.numbers), "digits")
        x, y = _finite(m.numbers), _finite(r.numbers)
        if min(x.size, y.size) < MIN_VALUES:
            return []
        return [_ks_term(path, "distribution-differs", "numbers", x, y)]
    a, b = Counter(m.strings), Counter(r.strings)
    fa, fb = _format_counts(a), _format_counts(b)
    if not identity and not _structured(fa + fb) and (_low_cardinality(a) or _low_cardinality(b)):
        return [_frequencies(path, a, b)]
    return _format_and_length(path, (fa, _lengths(a)), (fb, _lengths(b)), "characters")


def _frequencies(path: str, a: Mapping[Any, int], b: Mapping[Any, int]) -> tuple[str, float, str, Any, Any]:
    d, d0 = tv_distance(a, b)
    message = f"{path} takes its values with different frequencies (TV distance {d:.2f}, noise floor {d0:.2f})"
    return "frequencies-differ", floored(d, d0), message, _shares(a, top=5), _shares(b, top=5)


def _ks_term(path: str, code: str, what: str, x: np.ndarray, y: np.ndarray) -> tuple[str, float, str, Any, Any]:
    d, d0 = ks_distance(x, y), ks_floor(x.size, y.size)
    message = (
        f"{path} has differently distributed {what} (KS distance {d:.2f}, noise floor {d0:.2f}; "
        f"median {_num(np.median(x))} vs {_num(np.median(y))})"
    )
    return code, floored(d, d0), message, _summary(x), _summary(y)


def _format_and_length(
    path: str, a: tuple[Counter, np.ndarray], b: tuple[Counter, np.ndarray], unit: str
) -> list[tuple[str, float, str, Any, Any]]:
    """Compare what the values look like (format mix) and how long they are, never what they are."""
    d, d0 = tv_distance(a[0], b[0])
    message = f"{path} values have a different format mix (TV distance {d:.2f}, noise floor {d0:.2f})"
    fmt = ("format-differs", floored(d, d0), message, _shares(a[0]), _shares(b[0]))
    return [fmt, _ks_term(path, "length-differs", f"lengths in {unit}", a[1], b[1])]


def _format_counts(counts: Counter) -> Counter:
    """How many strings have each format, from a table of distinct strings."""
    formats: Counter = Counter()
    for text, count in counts.items():
        formats[_format_of(text)] += count
    return formats


def _lengths(counts: Counter) -> np.ndarray:
    """The length of every string, from a table of distinct strings."""
    size = len(counts)
    lengths = np.fromiter((len(t) for t in counts), float, size)
    return np.repeat(lengths, np.fromiter(counts.values(), int, size))


def _number_shapes(numbers: list[Any]) -> tuple[Counter, np.ndarray]:
    """Format counts (integer or decimal) and digit counts of identifier numbers."""
    formats: Counter = Counter("integer" if type(v) is int else "decimal" for v in numbers)
    lengths = np.fromiter((len(str(abs(int(v)))) if math.isfinite(v) else 0 for v in numbers), float, len(numbers))
    return formats, lengths


def _format_of(text: str) -> str:
    match = _FORMATS.fullmatch(text)
    return (match.lastgroup if match else None) or "text"


def _structured(formats: Counter) -> bool:
    """Whether the strings are mostly identifiers or stamps (uuid, timestamp, email, url, ...)."""
    top = max(formats.items(), key=lambda kv: (kv[1], kv[0]))[0]
    return top in _STRUCTURED


def _low_cardinality(counts: Counter) -> bool:
    """Few distinct values that repeat: an enum-like field, compared by frequencies."""
    n = sum(counts.values())
    return len(counts) <= min(MAX_CATEGORIES, max(2, n // 2))


def _finite(numbers: list[Any]) -> np.ndarray:
    try:
        x = np.asarray(numbers, dtype=float)
    except OverflowError:
        x = np.asarray([float(max(min(v, 1e308), -1e308)) for v in numbers], dtype=float)
    return x[np.isfinite(x)]


def _last_key(path: str) -> str:
    """The innermost property name of a path (``id`` for ``$.items[*].id``)."""
    names = [t for t in parse_path(path) if t is not ITEMS and isinstance(t, str)]
    return names[-1] if names else ""


def _shares(counts: Mapping[Any, int], top: int | None = None) -> dict[str, float]:
    """Frequencies as shares, most common first (at most ``top``), keys as JSON-friendly text."""
    total = sum(counts.values()) or 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    if top is not None:
        ranked = ranked[:top]
    return {_label(k): round(v / total, 4) for k, v in ranked}


def _label(key: Any) -> str:
    if key is True or key is False:
        return "true" if key else "false"
    return str(key)


def _summary(x: np.ndarray) -> dict[str, float]:
    return {"min": _num(np.min(x)), "p50": _num(np.median(x)), "max": _num(np.max(x)), "n": int(x.size)}


def _num(value: float) -> float:
    return round(float(value), 4)
