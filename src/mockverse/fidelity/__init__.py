"""How close a mock is to the real API: the fidelity score (FIDELITY.md "Fidelity score").

Pure functions, no HTTP and no storage: ``compute_score`` scores one operation from schemas,
sample bodies, response times and status-code histograms; ``combine_operation_scores`` rolls
operations up by real traffic; ``bench_samples`` times the sample driver at scale.
"""

from .score import (
    DEFAULT_WEIGHTS,
    DRIVERS,
    LABELS,
    band,
    bench_samples,
    combine_operation_scores,
    compute_score,
    resolve_weights,
)

__all__ = [
    "DEFAULT_WEIGHTS",
    "DRIVERS",
    "LABELS",
    "band",
    "bench_samples",
    "combine_operation_scores",
    "compute_score",
    "resolve_weights",
]
