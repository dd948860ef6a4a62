"""Response-time and error-pattern similarity (FIDELITY.md, the two traffic drivers).

Response times compare on ``ln(ms + 1)``: the 1-Wasserstein distance W (the mean absolute
log-ratio across quantiles) less its noise floor, mapped by ``exp(−W/ln 2)``. The floor is the
expected W of two same-distribution samples, ``sqrt(2/π)·sqrt((n+m)/(n·m))·∫sqrt(F(1−F))``,
with F each side's own CDF in turn and the two averaged (as for the TV floor in ``base``).

Errors compare the error rate on the log-odds scale with +½ smoothing, forgive one
standard error of that difference, score ``exp(−excess/ln 4)``, and multiply by
``½ + ½·agreement`` of the error-code mix: the mix of codes among the errors, half by exact
code and half by class (4xx, 5xx, transport), each a noise-floored TV. The answers that are
not errors have a mix of their own (201 or 302 where reality says 200, 204 and 200 in other
proportions), scored the same way over the 1xx-3xx codes and multiplied in as a second
``½ + ½·agreement``. When only one side has errors (or successes) at all, there is no mix of
them to compare and the rate alone decides.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

import numpy as np

from .base import MEAN_ABS_NORMAL, MIN_VALUES, DriverResult, Finding, floored, size_confidence, skipped, tv_distance

LN2 = math.log(2.0)
LN4 = math.log(4.0)
_FAILURE_NAME = re.compile(r"[a-z][a-z0-9_.\-]*")


def response_time_similarity(mock_ms: list[float] | None, real_ms: list[float] | None) -> DriverResult:
    """Score how alike two sets of latencies (milliseconds) are, on a log scale."""
    x, y = _latencies(mock_ms, "mock"), _latencies(real_ms, "real")
    details: dict[str, Any] = {"mock": _percentiles(x), "real": _percentiles(y)}
    for side, values in (("mock", x), ("real", y)):
        if values.size == 0:
            return skipped(f"no {side} response times given", details)
        if values.size < MIN_VALUES:
            return skipped(f"fewer than {MIN_VALUES} {side} response times ({values.size})", details)
    lx, ly = np.sort(np.log1p(x)), np.sort(np.log1p(y))
    w = wasserstein(lx, ly)
    floor = MEAN_ABS_NORMAL * math.sqrt((lx.size + ly.size) / (lx.size * ly.size)) * 0.5 * (_spread(lx) + _spread(ly))
    value = math.exp(-max(0.0, w - floor) / LN2)
    details.update(wasserstein=round(w, 6), noise_floor=round(floor, 6))
    findings = []
    if value < 1.0:
        mock_p50, real_p50 = details["mock"]["p50"], details["real"]["p50"]
        times = f" ({mock_p50 / real_p50:.2f}×)" if real_p50 else ""
        message = (
            f"mock latency p50 is {mock_p50} ms against {real_p50} ms in reality{times}; "
            f"log-scale distance {w:.2f} over a noise floor of {floor:.2f}"
        )
        findings.append(Finding(None, "latency-differs", message, details["mock"], details["real"], 1.0 - value))
    confidence = size_confidence(x.size, y.size)
    return DriverResult(value=value, details=details, findings=findings, confidence=confidence)


def wasserstein(x: np.ndarray, y: np.ndarray) -> float:
    """1-Wasserstein distance of two sorted samples: the area between their empirical CDFs."""
    grid = np.concatenate([x, y])
    grid.sort()
    widths = np.diff(grid)
    fx = np.searchsorted(x, grid[:-1], side="right") / x.size
    fy = np.searchsorted(y, grid[:-1], side="right") / y.size
    return float(np.sum(np.abs(fx - fy) * widths))


def _spread(x: np.ndarray) -> float:
    """∫ sqrt(F(1−F)) over a sorted sample's own empirical CDF."""
    f = np.arange(1, x.size) / x.size
    return float(np.sum(np.sqrt(f * (1 - f)) * np.diff(x)))


def _latencies(values: list[float] | None, side: str) -> np.ndarray:
    if values is None:
        return np.empty(0)
    if isinstance(values, np.ndarray):
        values = values.tolist()
    if not isinstance(values, (list, tuple)) or any(
        isinstance(v, bool) or not isinstance(v, (int, float)) for v in values
    ):
        raise ValueError(f"{side}_response_times must be a list of milliseconds (numbers)")
    x = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(x)) or np.any(x < 0):
        raise ValueError(f"{side}_response_times must be finite, non-negative milliseconds")
    return x


def _percentiles(x: np.ndarray) -> dict[str, float | int | None]:
    if x.size == 0:
        return {"p50": None, "p95": None, "p99": None, "n": 0}
    p50, p95, p99 = np.percentile(x, [50, 95, 99])
    return {"p50": round(float(p50), 3), "p95": round(float(p95), 3), "p99": round(float(p99), 3), "n": int(x.size)}


def error_pattern_similarity(mock: Any, real: Any) -> DriverResult:
    """Score how alike two status-code histograms are: error rate first, then which errors."""
    m, r = error_histogram(mock, "mock"), error_histogram(real, "real")
    nm, nr = sum(m.values()), sum(r.values())
    em, er = sum(c for k, c in m.items() if is_error(k)), sum(c for k, c in r.items() if is_error(k))
    details: dict[str, Any] = {
        "mock_error_rate": round(em / nm, 6) if nm else None,
        "real_error_rate": round(er / nr, 6) if nr else None,
        "mock_codes": _codes(m),
        "real_codes": _codes(r),
        "mock_total": nm,
        "real_total": nr,
    }
    for side, given, total in (("mock", mock, nm), ("real", real, nr)):
        if given is None:
            return skipped(f"no {side} error patterns given", details)
        if total == 0:
            return skipped(f"the {side} error pattern is empty", details)
    lam = _logit((em + 0.5) / (nm + 1.0)) - _logit((er + 0.5) / (nr + 1.0))
    se = math.sqrt(1 / (em + 0.5) + 1 / (nm - em + 0.5) + 1 / (er + 0.5) + 1 / (nr - er + 0.5))
    rate = math.exp(-max(0.0, abs(lam) - se) / LN4)
    agreement = _code_mix_agreement(_errors(m), _errors(r)) if em and er else 1.0
    success_agreement = _code_mix_agreement(_successes(m), _successes(r)) if nm - em and nr - er else 1.0
    mix, success_mix = 0.5 + 0.5 * agreement, 0.5 + 0.5 * success_agreement
    value = rate * mix * success_mix
    details.update(
        log_odds_difference=round(lam, 6),
        standard_error=round(se, 6),
        rate_score=round(rate, 6),
        code_mix_agreement=round(agreement, 6),
        success_mix_agreement=round(success_agreement, 6),
    )
    findings = []
    if rate < 1.0:
        message = (
            f"the mock fails {em / nm:.1%} of requests but reality {er / nr:.1%} "
            f"(log-odds apart by {abs(lam):.2f}, one standard error {se:.2f} forgiven)"
        )
        rates = details["mock_error_rate"], details["real_error_rate"]
        findings.append(Finding(None, "error-rate-differs", message, *rates, 1.0 - rate))
    if mix < 1.0:
        message = f"the mock fails with different codes (agreement {agreement:.2f})"
        errors_m, errors_r = _codes(_errors(m)), _codes(_errors(r))
        findings.append(Finding(None, "error-codes-differ", message, errors_m, errors_r, rate * (1.0 - mix)))
    if success_mix < 1.0:
        message = f"the mock succeeds with different codes (agreement {success_agreement:.2f})"
        ok_m, ok_r = _codes(_successes(m)), _codes(_successes(r))
        findings.append(Finding(None, "success-codes-differ", message, ok_m, ok_r, rate * mix * (1.0 - success_mix)))
    confidence = size_confidence(nm, nr)
    return DriverResult(value=value, details=details, findings=findings, confidence=confidence)


def error_histogram(pattern: Any, side: str) -> Counter:
    """A status-code histogram from ``{"200": 970, "500": 30, "timeout": 2}`` or ``[200, 500, "timeout"]``."""
    counts: Counter = Counter()
    if pattern is None:
        return counts
    if isinstance(pattern, dict):
        for key, count in pattern.items():
            if not _is_count(count):
                raise ValueError(
                    f"{side}_error_patterns: the count for {key!r} must be a whole number of responses (0, 1, 2, ...), "
                    f"got {count!r}"
                )
            counts[_key(key, side)] += int(count)
    elif isinstance(pattern, (list, tuple)):
        for key in pattern:
            counts[_key(key, side)] += 1
    else:
        raise ValueError(f"{side}_error_patterns must be a histogram like {{'200': 970, '500': 30}} or a list of codes")
    return counts


def _is_count(value: Any) -> bool:
    """A whole, non-negative number of responses (``3`` or ``3.0``, never ``0.5`` or ``True``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and value >= 0 and float(value).is_integer()


def is_error(key: int | str) -> bool:
    """Status 400 and above, and every transport failure (timeouts, resets), are errors."""
    return not isinstance(key, int) or key >= 400


def _key(key: Any, side: str) -> int | str:
    """A status code as an int, or a transport failure name in lower case."""
    if isinstance(key, int) and not isinstance(key, bool):
        code = key
    elif isinstance(key, str) and key.strip().isdigit():
        code = int(key.strip())
    elif isinstance(key, str) and _FAILURE_NAME.fullmatch(key.strip().lower()):
        return key.strip().lower()
    else:
        raise ValueError(
            f"{side}_error_patterns: {key!r} is neither a status code (100-599) "
            "nor a transport failure name like 'timeout'"
        )
    if not 100 <= code <= 599:
        raise ValueError(f"{side}_error_patterns: {key!r} is not a status code from 100 to 599")
    return code


def _codes(counts: Counter) -> dict[str, int | float]:
    """The histogram with text keys, status codes first in order, then failure names."""
    ordered = sorted(counts.items(), key=lambda kv: (isinstance(kv[0], str), str(kv[0]).zfill(3)))
    return {str(k): v for k, v in ordered if v}


def _class(key: int | str) -> str:
    return "transport" if isinstance(key, str) else f"{key // 100}xx"


def _errors(counts: Counter) -> Counter:
    return Counter({k: c for k, c in counts.items() if is_error(k) and c})


def _successes(counts: Counter) -> Counter:
    """The answers that are not errors (1xx-3xx)."""
    return Counter({k: c for k, c in counts.items() if not is_error(k) and c})


def _code_mix_agreement(exact_m: Counter, exact_r: Counter) -> float:
    """Half exact-code agreement, half class agreement (2xx, 3xx, 5xx, transport, ...)."""
    class_m: Counter[str] = Counter()
    class_r: Counter[str] = Counter()
    for key, count in exact_m.items():
        class_m[_class(key)] += count
    for key, count in exact_r.items():
        class_r[_class(key)] += count
    exact = floored(*tv_distance(exact_m, exact_r))
    by_class = floored(*tv_distance(class_m, class_r))
    return 0.5 * exact + 0.5 * by_class


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))
