"""What every fidelity driver shares: JSON paths, exclusions, noise-floored distances, findings.

Paths are written the way findings show them: ``$`` is the body, ``.name`` a property
(``['odd key']`` when the name is not a plain word), ``[*]`` any array element. A bounded
distance ``d`` becomes a score with a noise floor ``d0``, the distance two samples of the
*same* distribution typically show at these sizes: ``s = 1 - max(0, d - d0)/(1 - d0)``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MIN_VALUES = 5  # fewer values than this on a side: a distribution is not compared
KS_MEDIAN = 0.8276  # median of the Kolmogorov distribution: the KS floor's constant
MEAN_ABS_NORMAL = math.sqrt(2.0 / math.pi)  # E|Z| for a standard normal Z
MAX_FLOOR = 0.95  # a floor this close to 1 says "cannot tell"; cap it so s stays defined

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_PATH_TOKEN = re.compile(
    r"\.\.(?P<descent>)"
    r"|\.\*(?P<any_key>)"
    r"|\.(?P<key>[^.\[\]'\"]+)"
    r"|\[\*\](?P<items>)"
    r"|\[(?P<index>\d+)\]"
    r"|\['(?P<quoted>(?:[^'\\]|\\.)*)'\]"
    r'|\["(?P<dquoted>(?:[^"\\]|\\.)*)"\]'
)


class _Token:
    """A path token that is not a property name."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


ITEMS = _Token("[*]")  # any element of an array
ANY_KEY = _Token(".*")  # any property name (exclusion patterns only)


def child_path(parent: str, key: str) -> str:
    """The path of property ``key`` under ``parent``: ``$.a.b`` or ``$.a['odd key']``."""
    if _PLAIN_KEY.fullmatch(key):
        return f"{parent}.{key}"
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    return f"{parent}['{escaped}']"


def items_path(parent: str) -> str:
    """The path of any element of the array at ``parent``."""
    return f"{parent}[*]"


def parse_path(text: str) -> tuple[Any, ...]:
    """Split a path or exclusion pattern into tokens: names, ``ITEMS`` and ``ANY_KEY``.

    Array indexes (``[0]``) count as ``[*]``: fidelity compares distributions, not positions.
    Raises ValueError naming the supported forms.
    """
    if not isinstance(text, str) or not text.startswith("$"):
        raise ValueError(f"{text!r} is not a JSON path; write it like '$.meta.request_id' or '$.items[*].etag'")
    tokens: list[Any] = []
    pos = 1
    while pos < len(text):
        match = _PATH_TOKEN.match(text, pos)
        kind = match.lastgroup if match else None
        if match is None or kind is None or kind == "descent":
            raise ValueError(
                f"{text!r} is not a supported JSON path at {text[pos:]!r}; "
                "use '.name', \"['name']\", '.*', '[*]' or '[0]'"
            )
        if kind == "any_key":
            tokens.append(ANY_KEY)
        elif kind in ("items", "index"):
            tokens.append(ITEMS)
        elif kind == "key":
            tokens.append(match.group("key"))
        else:
            tokens.append(re.sub(r"\\(.)", r"\1", match.group(kind)))
        pos = match.end()
    return tuple(tokens)


class Exclusions:
    """Paths that never count: a pattern excludes the path it names and everything below it."""

    def __init__(self, patterns: list[str] | tuple[str, ...] | None = None) -> None:
        if patterns is None:
            patterns = []
        if isinstance(patterns, str) or not isinstance(patterns, (list, tuple)):
            raise ValueError("exclude must be a list of JSON paths such as ['$.meta.request_id']")
        self.patterns = tuple(dict.fromkeys(patterns))
        self._parsed = [parse_path(p) for p in self.patterns]
        self._cache: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self._parsed)

    def matches(self, path: str) -> bool:
        """Whether ``path`` is excluded by any pattern."""
        if not self._parsed:
            return False
        hit = self._cache.get(path)
        if hit is None:
            tokens = parse_path(path)
            hit = self._cache[path] = any(_prefix_of(p, tokens) for p in self._parsed)
        return hit


def _prefix_of(pattern: tuple[Any, ...], tokens: tuple[Any, ...]) -> bool:
    """Whether the pattern's tokens match the start of the path's tokens."""
    if len(pattern) > len(tokens):
        return False
    for want, got in zip(pattern, tokens, strict=False):
        if want is ANY_KEY:
            if got is ITEMS:
                return False
        elif want is not got and want != got:
            return False
    return True


@dataclass(slots=True)
class Finding:
    """One explained difference; ``loss`` is in driver units (it sums to 1 − driver value)."""

    path: str | None
    code: str
    message: str
    mock: Any = None
    real: Any = None
    loss: float = 0.0


@dataclass(slots=True)
class DriverResult:
    """A driver's value (None when not computable, with ``reason``), details and findings."""

    value: float | None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    confidence: float | None = None


def skipped(reason: str, details: dict[str, Any] | None = None) -> DriverResult:
    """A driver that could not be computed, and why."""
    return DriverResult(value=None, reason=reason, details=details or {})


def size_confidence(n: float, m: float | None = None) -> float:
    """``n_eff/(n_eff + 10)`` with ``n_eff = n·m/(n+m)``; ``m`` None means one side is exact."""
    if m is None:
        n_eff = float(n)
    elif n + m == 0:
        n_eff = 0.0
    else:
        n_eff = n * m / (n + m)
    return n_eff / (n_eff + 10.0)


def floored(d: float, d0: float) -> float:
    """Map a distance in [0, 1] to a score in [0, 1], forgiving the noise floor ``d0``."""
    if d <= d0:
        return 1.0
    d0 = min(d0, MAX_FLOOR)
    return max(0.0, 1.0 - (d - d0) / (1.0 - d0))


def ks_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sample Kolmogorov–Smirnov distance: the largest gap between the empirical CDFs."""
    xs, ys = np.sort(x), np.sort(y)
    grid = np.concatenate([xs, ys])
    gap = np.searchsorted(xs, grid, side="right") / xs.size - np.searchsorted(ys, grid, side="right") / ys.size
    return float(np.max(np.abs(gap)))


def ks_floor(n: int, m: int) -> float:
    """The KS distance two same-distribution samples of sizes n and m exceed half the time."""
    return KS_MEDIAN * math.sqrt((n + m) / (n * m))


def tv_distance(a: Mapping[Any, float], b: Mapping[Any, float]) -> tuple[float, float]:
    """Total variation distance of two frequency tables, and its noise floor.

    The floor is the expected TV of two samples of the same distribution: each category's
    frequency gap is about normal with variance ``p(1−p)(1/n + 1/m)``, so
    ``E[TV] ≈ ½·sqrt(2/π)·sqrt((n+m)/(n·m))·Σ sqrt(p(1−p))``. ``p`` is taken from each side in
    turn and the two floors averaged, so that drift does not widen its own allowance.
    """
    n, m = float(sum(a.values())), float(sum(b.values()))
    if n == 0 or m == 0:
        return (0.0 if n == m else 1.0), 0.0
    keys = sorted(set(a) | set(b), key=_sort_key)
    pa = np.array([a.get(k, 0) for k in keys], dtype=float) / n
    pb = np.array([b.get(k, 0) for k in keys], dtype=float) / m
    d = 0.5 * float(np.sum(np.abs(pa - pb)))
    spread = 0.5 * (float(np.sum(np.sqrt(pa * (1 - pa)))) + float(np.sum(np.sqrt(pb * (1 - pb)))))
    d0 = 0.5 * MEAN_ABS_NORMAL * math.sqrt((n + m) / (n * m)) * spread
    return d, d0


def _sort_key(key: Any) -> tuple[str, str]:
    """Order mixed keys (codes, names, booleans) the same way every time."""
    return type(key).__name__, str(key)
