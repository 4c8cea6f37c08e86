"""Causal discovery on coupled dynamical systems: methods and scoring.

Convention everywhere: ``A[source, target] = 1`` means ``source`` causes
``target``, and ``score[source, target]`` ranks the edge ``source -> target``.
See ``shared/specs/causal.md``.
"""

from chaosatlas.causal.methods import (
    METHODS,
    CCMResult,
    GrangerResult,
    MethodOutcome,
    convergent_cross_mapping,
    granger,
    lagged_correlation,
    run_method,
)
from chaosatlas.causal.scoring import (
    auprc,
    auroc,
    f1,
    off_diagonal,
    pooled_scores,
    precision_recall_curve,
    roc_curve,
    score_graph,
    shd,
    threshold,
    top_k,
)

__all__ = [
    "METHODS",
    "CCMResult",
    "GrangerResult",
    "MethodOutcome",
    "auprc",
    "auroc",
    "convergent_cross_mapping",
    "f1",
    "granger",
    "lagged_correlation",
    "off_diagonal",
    "pooled_scores",
    "precision_recall_curve",
    "roc_curve",
    "run_method",
    "score_graph",
    "shd",
    "threshold",
    "top_k",
]
