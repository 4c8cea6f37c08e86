"""Scoring edge rankings and predicted graphs against a known causal graph.

Convention: ``truth[source, target] = 1`` means ``source -> target``;
``score[source, target]`` ranks that edge (larger = more likely). Headline
metrics use the off-diagonal entries only (:func:`off_diagonal`, row-major
order); self-loops are scored apart (``self_loop_auroc`` in
:func:`score_graph`).

- :func:`auroc`: Mann-Whitney U / (n_pos n_neg), ties counted 1/2.
- :func:`auprc`: average precision exactly as scikit-learn's
  ``average_precision_score``: ``sum_n (R_n - R_{n-1}) P_n`` over the distinct
  score thresholds in decreasing order (``R_0 = 0``); tied scores enter
  together, with no interpolation.
- :func:`shd`: missing + extra + reversed directed edges, a reversal counted
  once. Pairs are compared edge by edge, so a true 2-cycle ``i <-> j``
  predicted as nothing costs 2 (``cdt``'s SHD would count 1).
- :func:`f1`: F1 of the directed off-diagonal edges.

Both AUROC and AUPRC are NaN when the off-diagonal truth is all 0 or all 1
(undefined), or when an off-diagonal score is NaN (a failed run).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

__all__ = [
    "auprc",
    "auroc",
    "f1",
    "off_diagonal",
    "precision_recall_curve",
    "roc_curve",
    "score_graph",
    "shd",
    "threshold",
    "top_k",
]


def _square(M: Any, name: str) -> np.ndarray:
    arr = np.asarray(M)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be a square (N, N) matrix, got shape {arr.shape}")
    return arr


def _binary(M: Any, name: str) -> np.ndarray:
    arr = _square(M, name)
    if arr.dtype != np.bool_:
        if not np.issubdtype(arr.dtype, np.number) or not np.isin(arr, (0, 1)).all():
            raise ValueError(f"{name} must be binary (0/1 or bool)")
        arr = arr != 0
    return arr


def _pair(truth: Any, other: Any, other_name: str, binary_other: bool) -> tuple:
    t = _binary(truth, "truth")
    o = _binary(other, other_name) if binary_other else _square(other, other_name)
    if o.shape != t.shape:
        raise ValueError(f"{other_name} shape {o.shape} does not match truth shape {t.shape}")
    return t, o


def off_diagonal(M: Any) -> np.ndarray:
    """The off-diagonal entries of a square matrix, row-major (``i != j``).

    Parameters
    ----------
    M : array_like, shape (N, N)

    Returns
    -------
    ndarray, shape (N (N - 1),)
    """
    arr = _square(M, "M")
    return arr[~np.eye(arr.shape[0], dtype=bool)]


def _auroc_vec(t: np.ndarray, s: np.ndarray) -> float:
    n_pos = int(t.sum())
    n_neg = t.size - n_pos
    if n_pos == 0 or n_neg == 0 or np.isnan(s).any():
        return float("nan")
    ranks = stats.rankdata(s)  # average ranks: a tie adds 1/2 to U
    u = ranks[t].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def _threshold_points(t: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives at each distinct score threshold, highest first."""
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    tps = np.cumsum(t[order])
    fps = np.cumsum(~t[order])
    # last index of each run of equal scores: one point per distinct threshold
    ends = np.r_[np.flatnonzero(s_sorted[1:] != s_sorted[:-1]), s.size - 1]
    return tps[ends], fps[ends]


def _auprc_vec(t: np.ndarray, s: np.ndarray) -> float:
    n_pos = int(t.sum())
    if n_pos == 0 or n_pos == t.size or np.isnan(s).any():
        return float("nan")
    tp, fp = _threshold_points(t, s)
    precision = tp / (tp + fp)
    recall = tp / n_pos
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def _pooled_vectors(truths: Sequence[Any], scores: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    if len(truths) != len(scores):
        raise ValueError(f"{len(truths)} truths but {len(scores)} score matrices")
    pairs = [_pair(t, s, "score", binary_other=False) for t, s in zip(truths, scores, strict=True)]
    if not pairs:
        return np.zeros(0, dtype=bool), np.zeros(0)
    t = np.concatenate([off_diagonal(a) for a, _ in pairs])
    s = np.concatenate([off_diagonal(b).astype(np.float64) for _, b in pairs])
    return t, s


def roc_curve(truths: Sequence[Any], scores: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """ROC curve over the off-diagonal edges of one or more graphs.

    Parameters
    ----------
    truths, scores : sequences of (N_g, N_g) arrays
        One binary truth and one score matrix per graph (sizes may differ).

    Returns
    -------
    fpr, tpr : ndarray
        From (0, 0) to (1, 1), one point per distinct score threshold; tied
        scores make one diagonal segment, so the trapezoidal area equals
        :func:`auroc` of the pooled edges. Empty when the curve is undefined
        (no edges, no non-edges, or a NaN score).
    """
    t, s = _pooled_vectors(truths, scores)
    n_pos = int(t.sum())
    if n_pos == 0 or n_pos == t.size or np.isnan(s).any():
        return np.zeros(0), np.zeros(0)
    tp, fp = _threshold_points(t, s)
    return np.r_[0.0, fp / (t.size - n_pos)], np.r_[0.0, tp / n_pos]


def precision_recall_curve(
    truths: Sequence[Any], scores: Sequence[Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Precision-recall points over the off-diagonal edges of one or more graphs.

    Returns
    -------
    recall, precision : ndarray
        One point per distinct score threshold, highest threshold first, so
        ``sum(diff(recall, prepend=0) * precision)`` is :func:`auprc` of the
        pooled edges (a step curve, no interpolation). Empty when undefined.
    """
    t, s = _pooled_vectors(truths, scores)
    n_pos = int(t.sum())
    if n_pos == 0 or n_pos == t.size or np.isnan(s).any():
        return np.zeros(0), np.zeros(0)
    tp, fp = _threshold_points(t, s)
    return tp / n_pos, tp / (tp + fp)


def auroc(truth: Any, score: Any) -> float:
    """Area under the ROC curve over the off-diagonal entries.

    Parameters
    ----------
    truth : array_like, shape (N, N)
        Binary adjacency, ``truth[source, target]``.
    score : array_like, shape (N, N)
        Edge scores, larger = more likely.

    Returns
    -------
    float
        ``U / (n_pos n_neg)`` with average ranks (ties count 1/2); NaN when
        the off-diagonal truth is all 0 or all 1 or a score is NaN.
    """
    t, s = _pair(truth, score, "score", binary_other=False)
    return _auroc_vec(off_diagonal(t), off_diagonal(s).astype(np.float64))


def auprc(truth: Any, score: Any) -> float:
    """Average precision over the off-diagonal entries (scikit-learn's definition).

    ``AP = sum_n (R_n - R_{n-1}) P_n`` over the distinct score values taken
    as thresholds in decreasing order (``score >= threshold`` predicted),
    ``R_0 = 0``. Tied scores enter at one threshold together.

    Parameters
    ----------
    truth : array_like, shape (N, N)
        Binary adjacency.
    score : array_like, shape (N, N)
        Edge scores.

    Returns
    -------
    float
        NaN when the off-diagonal truth is all 0 or all 1 or a score is NaN.
    """
    t, s = _pair(truth, score, "score", binary_other=False)
    return _auprc_vec(off_diagonal(t), off_diagonal(s).astype(np.float64))


def shd(truth: Any, pred: Any) -> int:
    """Structural Hamming distance between two directed graphs (off-diagonal).

    Missing edges + extra edges + reversed edges, where a reversal (true
    ``i -> j`` only, predicted ``j -> i`` only) counts once rather than as
    one missing plus one extra.

    Parameters
    ----------
    truth, pred : array_like, shape (N, N)
        Binary adjacency matrices ``[source, target]``.

    Returns
    -------
    int
    """
    t, p = _pair(truth, pred, "pred", binary_other=True)
    off = ~np.eye(t.shape[0], dtype=bool)
    differ = (t != p) & off
    reversed_ = t & ~t.T & p.T & ~p & off
    return int(differ.sum() - reversed_.sum())


def f1(truth: Any, pred: Any) -> float:
    """F1 score of the predicted directed edges (off-diagonal).

    Returns
    -------
    float
        ``2 TP / (2 TP + FP + FN)``; NaN when both graphs have no edges.
    """
    t, p = _pair(truth, pred, "pred", binary_other=True)
    t, p = off_diagonal(t), off_diagonal(p)
    tp = int((t & p).sum())
    denom = 2 * tp + int((~t & p).sum()) + int((t & ~p).sum())
    return float("nan") if denom == 0 else 2.0 * tp / denom


def top_k(score: Any, k: int) -> np.ndarray:
    """Predict the ``k`` highest-scoring off-diagonal edges.

    Ties are broken deterministically by position: the entry earlier in
    row-major order (smaller source, then smaller target) wins.

    Parameters
    ----------
    score : array_like, shape (N, N)
    k : int
        Number of edges, ``0 <= k <= N (N - 1)``.

    Returns
    -------
    ndarray of int8, shape (N, N)
        1 on the chosen edges, 0 elsewhere (diagonal always 0).

    Raises
    ------
    ValueError
        ``k`` out of range or an off-diagonal score is NaN.
    """
    s = _square(score, "score").astype(np.float64)
    n = s.shape[0]
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 0 <= k <= n * (n - 1):
        raise ValueError(f"k must be an integer in [0, {n * (n - 1)}], got {k!r}")
    off = ~np.eye(n, dtype=bool)
    vals = s[off]
    if np.isnan(vals).any():
        raise ValueError("score has NaN off-diagonal entries; cannot rank them")
    chosen = np.argsort(-vals, kind="stable")[: int(k)]
    rows, cols = np.nonzero(off)
    pred = np.zeros((n, n), dtype=np.int8)
    pred[rows[chosen], cols[chosen]] = 1
    return pred


def threshold(pvalue: Any, alpha: float) -> np.ndarray:
    """Predict an edge where ``pvalue < alpha`` (elementwise, diagonal included).

    Parameters
    ----------
    pvalue : array_like, shape (N, N)
    alpha : float
        Significance level in (0, 1].

    Returns
    -------
    ndarray of int8, shape (N, N)
        NaN p-values count as not significant.
    """
    p = _square(pvalue, "pvalue").astype(np.float64)
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
    with np.errstate(invalid="ignore"):
        return (p < alpha).astype(np.int8)


def score_graph(
    truth: Any, score: Any, pvalue: Any | None = None, alpha: float = 0.05
) -> dict[str, float]:
    """All metrics of one method on one graph.

    Parameters
    ----------
    truth : array_like, shape (N, N)
        Binary adjacency ``[source, target]``; its diagonal marks self-loops.
    score : array_like, shape (N, N)
        Edge scores; an all-NaN score (a failed run) gives NaN metrics.
    pvalue : array_like, shape (N, N), optional
        For the method's own threshold ``pvalue < alpha``.
    alpha : float
        Significance level.

    Returns
    -------
    dict
        ``n_nodes``, ``n_edges`` (true off-diagonal edges, also the oracle
        ``k``), ``auroc``, ``auprc``, ``null_auroc`` (0.5), ``null_auprc``
        (edge density ``n_edges / (N (N - 1))``), ``f1_threshold`` and
        ``shd_threshold`` at ``pvalue < alpha`` (NaN without ``pvalue``),
        ``f1_topk`` and ``shd_topk`` at the oracle top-k, and
        ``self_loop_auroc`` over the diagonal (NaN when undefined: all-0 or
        all-1 diagonal truth, or NaN diagonal scores).
    """
    t, s = _pair(truth, score, "score", binary_other=False)
    s = s.astype(np.float64)
    n = t.shape[0]
    t_off = off_diagonal(t)
    n_edges = int(t_off.sum())
    failed = bool(np.isnan(off_diagonal(s)).any())
    nan = float("nan")
    out: dict[str, float] = {
        "n_nodes": n,
        "n_edges": n_edges,
        "auroc": auroc(t, s),
        "auprc": auprc(t, s),
        "null_auroc": 0.5,
        "null_auprc": n_edges / t_off.size if t_off.size else nan,
        "f1_threshold": nan,
        "shd_threshold": nan,
        "f1_topk": nan,
        "shd_topk": nan,
        "self_loop_auroc": _auroc_vec(np.diag(t).copy(), np.diag(s).copy()),
    }
    if pvalue is not None and not failed:
        _, p = _pair(t, pvalue, "pvalue", binary_other=False)
        pred = threshold(p, alpha)
        out["f1_threshold"] = f1(t, pred)
        out["shd_threshold"] = float(shd(t, pred))
    if not failed:
        pred = top_k(s, n_edges)
        out["f1_topk"] = f1(t, pred)
        out["shd_topk"] = float(shd(t, pred))
    return out


def pooled_scores(truths: Sequence[Any], scores: Sequence[Any]) -> tuple[float, float]:
    """AUROC and AUPRC over the off-diagonal edges of several graphs at once.

    Parameters
    ----------
    truths, scores : sequences of (N_g, N_g) arrays
        One truth and one score matrix per graph (sizes may differ).

    Returns
    -------
    auroc, auprc : float
        NaN when the pooled truth has no edges or no non-edges.
    """
    t, s = _pooled_vectors(truths, scores)
    return _auroc_vec(t, s), _auprc_vec(t, s)
