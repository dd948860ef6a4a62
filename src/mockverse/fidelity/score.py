"""The fidelity score: four drivers, weighted into one number with coverage, confidence and findings.

``overall = Σ w_i·s_i / Σ w_i`` over the drivers that could be computed (FIDELITY.md
"Fidelity score"). Decisions the HTTP layer and readers rely on:

* **Weights** are normalised to sum to 1 over all four drivers; ``coverage`` is the sum of
  the normalised weights of the computed drivers (0.8 with the defaults and no traffic data).
* **points_lost** is in units of the overall score: a finding's share of its driver's loss
  times that driver's share of the overall (its weight over ``coverage``). The points lost of
  all findings add up to ``1 − overall``; flags such as ``too-few-values`` lose 0.
* **confidence** per driver is ``n_eff/(n_eff + 10)`` with ``n_eff = n·m/(n+m)`` from the sizes
  behind it (bodies, latencies, requests; a declared schema is exact, so two declared
  schemas give 1 and one declared side gives ``n_eff = m``). The overall confidence is the
  weighted mean over the computed drivers, with the same weights as the overall; 0 when
  nothing was computable.
* **Roll-up over operations** averages each driver over the operations where it was
  computable, weighted by real traffic (equal weights when none of them has traffic).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from .base import DriverResult, Exclusions, Finding
from .samples import sample_similarity
from .schema import infer_schema, schema_similarity
from .timing import error_pattern_similarity, response_time_similarity

SCHEMA, SAMPLES, RESPONSE_TIME, ERRORS = (
    "schema_similarity",
    "sample_similarity",
    "response_time_similarity",
    "error_pattern_similarity",
)
DRIVERS = (SCHEMA, SAMPLES, RESPONSE_TIME, ERRORS)
LABELS = {
    SCHEMA: "Schema Match",
    SAMPLES: "Sample Similarity",
    RESPONSE_TIME: "Response Time Match",
    ERRORS: "Error Pattern Match",
}
DEFAULT_WEIGHTS = {SCHEMA: 0.4, SAMPLES: 0.4, RESPONSE_TIME: 0.1, ERRORS: 0.1}
_ALIASES = {"schema": SCHEMA, "samples": SAMPLES, "response_time": RESPONSE_TIME, "errors": ERRORS}
HIGH, MEDIUM = 0.80, 0.60
DIGITS = 6  # values, weights and points lost are rounded to this many decimals


def compute_score(
    *,
    mock_schema: dict[str, Any] | None = None,
    real_schema: dict[str, Any] | None = None,
    mock_samples: list[Any] | None = None,
    real_samples: list[Any] | None = None,
    mock_response_times: list[float] | None = None,
    real_response_times: list[float] | None = None,
    mock_error_patterns: dict[Any, float] | list[Any] | None = None,
    real_error_patterns: dict[Any, float] | list[Any] | None = None,
    weights: dict[str, float] | None = None,
    exclude: list[str] | None = None,
) -> dict[str, Any]:
    """Score how faithfully a mock reproduces the real API; raises ValueError on unusable input."""
    shares = resolve_weights(weights)
    exclusions = Exclusions(exclude)
    for side, samples in (("mock", mock_samples), ("real", real_samples)):
        if samples is not None and not isinstance(samples, list):
            raise ValueError(f"{side}_samples must be a list of JSON bodies")
    mock_from = len(mock_samples) if mock_schema is None and mock_samples else None
    real_from = len(real_samples) if real_schema is None and real_samples else None
    results = {
        SCHEMA: schema_similarity(
            mock_schema if mock_from is None else infer_schema(mock_samples or []),
            real_schema if real_from is None else infer_schema(real_samples or []),
            exclusions,
            mock_inferred_from=mock_from,
            real_inferred_from=real_from,
        ),
        SAMPLES: sample_similarity(mock_samples, real_samples, exclusions),
        RESPONSE_TIME: response_time_similarity(mock_response_times, real_response_times),
        ERRORS: error_pattern_similarity(mock_error_patterns, real_error_patterns),
    }
    return _assemble(results, shares)


def resolve_weights(weights: dict[str, float] | None) -> dict[str, float]:
    """Driver weights over the defaults, normalised to sum to 1 (short names like ``schema`` allowed)."""
    merged = dict(DEFAULT_WEIGHTS)
    for name, weight in (weights or {}).items():
        driver = _ALIASES.get(name, name)
        if driver not in merged:
            raise ValueError(f"unknown fidelity driver {name!r}; use one of {', '.join(DRIVERS)}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"the weight of {name} must be a non-negative number, got {weight!r}")
        merged[driver] = float(weight)
    total = sum(merged.values())
    if total <= 0:
        raise ValueError("at least one fidelity weight must be positive")
    return {d: merged[d] / total for d in DRIVERS}


def percentage(value: float | None) -> float | None:
    """A score as a percentage cut (never rounded up) to one decimal, so the number agrees with its
    band: 0.795 is 79.5 and "medium", never 80 below the 80% line. The dashboard shows the same."""
    return None if value is None else math.floor(value * 1000 + 1e-9) / 10


def band(overall: float | None) -> str | None:
    """high from 0.80, medium from 0.60, else low; None when there is no score."""
    if overall is None:
        return None
    return "high" if overall >= HIGH else "medium" if overall >= MEDIUM else "low"


def _assemble(results: dict[str, DriverResult], shares: dict[str, float]) -> dict[str, Any]:
    """The score object from driver results: overall, metrics, coverage, confidence, findings."""
    computed = [d for d in DRIVERS if results[d].value is not None]
    coverage = sum(shares[d] for d in computed)
    metrics = {d: _metric(d, results[d], shares[d]) for d in DRIVERS}
    findings: list[dict[str, Any]] = []
    for d in computed:
        share = shares[d] / coverage if coverage else 0.0
        findings.extend(_finding(d, f, f.loss * share) for f in results[d].findings)
    overall = _weighted([(shares[d], results[d].value) for d in computed])
    confidence = _weighted([(shares[d], results[d].confidence) for d in computed])
    return _score(overall, metrics, coverage, confidence, findings)


def _metric(driver: str, result: DriverResult, weight: float) -> dict[str, Any]:
    value = None if result.value is None else round(result.value, DIGITS)
    return {
        "value": value,
        "percentage": percentage(value),
        "label": LABELS[driver],
        "reason": result.reason,
        "details": result.details,
        "weight": round(weight, DIGITS),
        "confidence": None if result.confidence is None or value is None else round(result.confidence, DIGITS),
    }


def _finding(driver: str, f: Finding, points: float) -> dict[str, Any]:
    return {
        "driver": driver,
        "path": f.path,
        "code": f.code,
        "message": f.message,
        "mock": f.mock,
        "real": f.real,
        "points_lost": round(points, DIGITS),
    }


def _weighted(pairs: list[tuple[float, float | None]]) -> float | None:
    """Σ w·s / Σ w, or None when the weights sum to nothing."""
    total = sum(w for w, _ in pairs)
    if not total:
        return None
    return sum(w * s for w, s in pairs if s is not None) / total


def _score(
    overall: float | None,
    metrics: dict[str, Any],
    coverage: float,
    confidence: float | None,
    findings: list[dict[str, Any]],
) -> dict[str, Any]:
    overall = None if overall is None else round(overall, DIGITS)
    order = {d: i for i, d in enumerate(DRIVERS)}
    findings.sort(
        key=lambda f: (
            -f["points_lost"], f["path"] or "", order[f["driver"]], f["code"], f.get("operation") or "", f["message"]
        )
    )
    return {
        "overall": overall,
        "overall_percentage": percentage(overall),
        "driver_metrics": metrics,
        "coverage": round(coverage, DIGITS),
        "confidence": 0.0 if confidence is None else round(confidence, DIGITS),
        "band": band(overall),
        "skipped": [{"driver": d, "reason": m["reason"]} for d, m in metrics.items() if m["value"] is None],
        "findings": findings,
    }


def combine_operation_scores(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Roll per-operation scores up into one, each driver weighted by the operations' real traffic.

    Each entry is ``{"operation": "GET /users/{id}", "weight": <real requests>, "score": <compute_score result>}``.
    Findings keep their operation and are rescaled so that they still add up to ``1 − overall``.
    """
    if not isinstance(entries, list):
        raise ValueError("entries must be a list of {operation, weight, score}")
    for entry in entries:
        weight = entry.get("weight") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or "operation" not in entry or not isinstance(entry.get("score"), dict):
            raise ValueError("each entry needs 'operation', 'weight' and a 'score' from compute_score")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"the weight of {entry['operation']!r} must be a non-negative number of requests")
    shares = _shares_of(entries)
    metrics: dict[str, Any] = {}
    traffic: dict[str, dict[int, float]] = {}
    for d in DRIVERS:
        rows = [
            (i, e) for i, e in enumerate(entries) if e["score"]["driver_metrics"].get(d, {}).get("value") is not None
        ]
        total = sum(e["weight"] for _, e in rows)
        traffic[d] = {i: (e["weight"] if total > 0 else 1.0) for i, e in rows}
        pairs = [(traffic[d][i], e["score"]["driver_metrics"][d]) for i, e in rows]
        value = _weighted([(w, m["value"]) for w, m in pairs])
        confidence = _weighted([(w, m.get("confidence") or 0.0) for w, m in pairs])
        reason = None if value is not None else "not computable for any operation"
        result = DriverResult(value=value, reason=reason, details={"operations": len(rows)}, confidence=confidence)
        metrics[d] = _metric(d, result, shares[d])
    computed = [d for d in DRIVERS if metrics[d]["value"] is not None]
    coverage = sum(shares[d] for d in computed)
    findings = []
    for i, entry in enumerate(entries):
        op_metrics = entry["score"]["driver_metrics"]
        op_coverage = sum(op_metrics[d]["weight"] for d in DRIVERS if op_metrics.get(d, {}).get("value") is not None)
        for f in entry["score"].get("findings", []):
            d = f["driver"]
            if i not in traffic.get(d, {}):
                continue
            op_share = op_metrics[d]["weight"] / op_coverage if op_coverage else 0.0
            traffic_share = traffic[d][i] / sum(traffic[d].values())
            new_share = shares[d] / coverage if coverage else 0.0
            scale = traffic_share * new_share / op_share if op_share else 0.0
            findings.append(
                {**f, "operation": entry["operation"], "points_lost": round(f["points_lost"] * scale, DIGITS)}
            )
    overall = _weighted([(shares[d], metrics[d]["value"]) for d in computed])
    confidence = _weighted([(shares[d], metrics[d]["confidence"]) for d in computed])
    score = _score(overall, metrics, coverage, confidence, findings)
    score["operations"] = [
        {
            "operation": e["operation"],
            "weight": e["weight"],
            "overall": e["score"].get("overall"),
            "driver_metrics": {d: e["score"]["driver_metrics"].get(d, {}).get("value") for d in DRIVERS},
        }
        for e in entries
    ]
    return score


def _shares_of(entries: list[dict[str, Any]]) -> dict[str, float]:
    """The driver weights the operations were scored with (the first operation's), else the defaults."""
    for entry in entries:
        metrics = entry["score"].get("driver_metrics", {})
        if all(isinstance(metrics.get(d, {}).get("weight"), (int, float)) for d in DRIVERS):
            return resolve_weights({d: metrics[d]["weight"] for d in DRIVERS})
    return resolve_weights(None)


def bench_samples(n: int = 10_000, paths: int = 20) -> float:
    """Seconds ``compute_score`` takes on ``n`` generated bodies of ``paths`` fields per side."""
    mock, real = _bench_bodies(n, paths, seed=1), _bench_bodies(n, paths, seed=2)
    times = np.random.default_rng(3).lognormal(4.6, 0.5, size=(2, n)).tolist()
    codes = np.random.default_rng(4).choice([200, 200, 200, 201, 404, 500], size=(2, n)).tolist()
    started = time.perf_counter()
    compute_score(
        mock_samples=mock,
        real_samples=real,
        mock_response_times=times[0],
        real_response_times=times[1],
        mock_error_patterns=codes[0],
        real_error_patterns=codes[1],
    )
    return time.perf_counter() - started


def _bench_bodies(n: int, paths: int, seed: int) -> list[dict[str, Any]]:
    """Deterministic bodies whose fields cycle through ids, numbers, enums, text, stamps and flags."""
    rng = np.random.default_rng(seed)
    columns: dict[str, list[Any]] = {}
    kinds = ("uuid", "price", "status", "name", "created_at", "active", "count", "email")
    for i in range(paths):
        kind = kinds[i % len(kinds)]
        name = f"{kind}_{i}" if i >= len(kinds) else kind
        if kind == "uuid":
            raw = rng.integers(0, 2**63, size=(n, 2))
            columns[name] = [f"{a:016x}{b:016x}" for a, b in raw.tolist()]
            columns[name] = [f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" for h in columns[name]]
        elif kind == "price":
            columns[name] = np.round(rng.lognormal(3, 1, n), 2).tolist()
        elif kind == "status":
            columns[name] = rng.choice(["active", "pending", "closed"], n).tolist()
        elif kind == "name":
            columns[name] = ["user " + "x" * int(k) for k in rng.integers(3, 12, n)]
        elif kind == "created_at":
            days = rng.integers(1, 28, n)
            columns[name] = [f"2026-01-{d:02d}T10:00:00Z" for d in days.tolist()]
        elif kind == "active":
            columns[name] = (rng.random(n) < 0.7).tolist()
        elif kind == "count":
            columns[name] = rng.integers(0, 100, n).tolist()
        else:
            columns[name] = [f"u{k}@example.com" for k in rng.integers(0, 10**6, n).tolist()]
    names = list(columns)
    return [{name: columns[name][row] for name in names} for row in range(n)]
