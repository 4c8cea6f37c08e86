"""Fractal dimensions: Kaplan-Yorke, Pesin sum, Grassberger-Procaccia.

The correlation sum is counted with a KD-tree (``scipy.spatial.cKDTree``,
dual-tree ``count_neighbors`` over all radii in one pass), so memory grows
with the number of points, never with its square. Temporally close pairs
(the Theiler window) are counted exactly along the few diagonals they live
on and subtracted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def kaplan_yorke_dimension(exponents: np.ndarray) -> float:
    """Kaplan-Yorke (Lyapunov) dimension of a spectrum.

    ``D = j + S_j / |lambda_{j+1}|`` with ``S_j`` the sum of the ``j`` largest
    exponents and ``j`` the largest index with ``S_j >= 0``; 0 when the largest
    exponent is negative. When every partial sum is non-negative (a
    conservative or expanding system) the result is the number of exponents.

    Parameters
    ----------
    exponents : array_like
        The exponents, in any order.

    Returns
    -------
    float
    """
    lam = np.sort(np.asarray(exponents, dtype=np.float64))[::-1]
    if lam.size == 0 or not np.all(np.isfinite(lam)):
        return math.nan
    if lam[0] < 0:
        return 0.0
    partial = np.cumsum(lam)
    j = int(np.nonzero(partial >= 0)[0][-1]) + 1  # number of exponents in S_j
    if j == lam.size:
        return float(lam.size)
    return float(j + partial[j - 1] / abs(lam[j]))


def pesin_sum(exponents: np.ndarray) -> float:
    """Sum of the positive exponents (Pesin's upper bound of the KS entropy)."""
    lam = np.asarray(exponents, dtype=np.float64)
    if lam.size == 0 or not np.all(np.isfinite(lam)):
        return math.nan
    return float(lam[lam > 0].sum())


@dataclass(frozen=True)
class CorrelationDimension:
    """A correlation-dimension estimate and the evidence for it.

    Attributes
    ----------
    value : float
        Slope of ``log C(r)`` against ``log r`` over the scaling region.
    uncertainty : float
        Half the spread of the local slopes over the scaling region, or the
        standard error of the fit if larger.
    radii, correlation_sum : ndarray
        The full curve ``C(r)``.
    scaling_region : tuple of float
        The radii bounding the fitted region.
    n_points, theiler : int
        Points used and the temporal exclusion window (in samples).
    """

    value: float
    uncertainty: float
    radii: np.ndarray
    correlation_sum: np.ndarray
    scaling_region: tuple[float, float]
    n_points: int
    theiler: int


def delay_embedding(x: np.ndarray, dimension: int, delay: int = 1) -> np.ndarray:
    """Delay vectors ``(x[i], x[i + delay], ..., x[i + (dimension - 1) delay])``.

    Parameters
    ----------
    x : ndarray, shape (n,)
    dimension, delay : int

    Returns
    -------
    ndarray, shape (n - (dimension - 1) * delay, dimension)
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size - (dimension - 1) * delay
    if x.ndim != 1 or n < 1:
        raise ValueError(f"cannot embed a series of shape {x.shape} in {dimension} x {delay}")
    return np.stack([x[i * delay : i * delay + n] for i in range(dimension)], axis=1)


def correlation_sum(x: np.ndarray, radii: np.ndarray, theiler: int = 0) -> np.ndarray:
    """Fraction of distinct pairs ``(i, j)``, ``|i - j| > theiler``, closer than each radius.

    Parameters
    ----------
    x : ndarray, shape (n, d)
        Points in time order.
    radii : ndarray, increasing
    theiler : int
        Pairs closer in time than this many samples are excluded.

    Returns
    -------
    ndarray, shape radii.shape
    """
    from scipy.spatial import cKDTree

    x = np.ascontiguousarray(x, dtype=np.float64)
    n = x.shape[0]
    radii = np.asarray(radii, dtype=np.float64)
    tree = cKDTree(x, balanced_tree=False, compact_nodes=False)
    # ordered pairs at distance <= r, self-pairs included
    counts = tree.count_neighbors(tree, radii).astype(np.float64)
    counts = (counts - n) / 2.0
    excluded = 0
    for lag in range(1, min(theiler, n - 1) + 1):
        d = np.sqrt(np.sum((x[lag:] - x[:-lag]) ** 2, axis=1))
        counts -= np.searchsorted(np.sort(d), radii, side="right")
        excluded += n - lag
    pairs = n * (n - 1) / 2.0 - excluded
    return counts / pairs


def _scaling_region(
    log_r: np.ndarray, log_c: np.ndarray, min_width: float, c_max: float
) -> tuple[int, int]:
    """Indices ``[i, j)`` of the straightest window at least ``min_width`` wide in log r."""
    slopes = np.gradient(log_c, log_r)
    best, best_score = (0, 0), math.inf
    usable = np.isfinite(log_c) & (log_c <= math.log(c_max))
    n = log_r.size
    for i in range(n):
        if not usable[i]:
            continue
        for j in range(i + 2, n + 1):
            if not usable[j - 1]:
                break
            if log_r[j - 1] - log_r[i] < min_width:
                continue
            s = slopes[i:j]
            # straightness first; among equally straight windows prefer wider ones
            score = (s.max() - s.min()) / (log_r[j - 1] - log_r[i]) ** 0.5
            if score < best_score:
                best, best_score = (i, j), score
    return best


def correlation_dimension(
    x: np.ndarray,
    *,
    n_radii: int = 32,
    theiler: int | None = None,
    min_pairs: int = 200,
    c_max: float = 0.05,
    min_width: float = math.log(8.0),
    max_points: int | None = None,
    seed: int | None = None,
) -> CorrelationDimension:
    """Grassberger-Procaccia correlation dimension with an automatic scaling region.

    ``C(r)`` is counted on ``n_radii`` log-spaced radii between the distance
    that ``min_pairs`` pairs fall under and the attractor diameter. The
    scaling region is the window, at least ``min_width`` wide in ``log r`` and
    with ``C(r) <= c_max`` (above it the finite size of the attractor bends
    the curve), over which the local slopes vary least; the dimension is the
    least-squares slope there.

    Parameters
    ----------
    x : ndarray, shape (n, d) or (n,)
        Points on the attractor in time order (a 1-D series is treated as
        one coordinate; embed it with :func:`delay_embedding` first).
    n_radii : int
    theiler : int, optional
        Temporal exclusion window in samples; default ``max(1, n // 1000)``.
    min_pairs, c_max, min_width
        Limits of the scaling region, see above.
    max_points : int, optional
        Use a random subsample of this many points (keeps time order).
    seed : int, optional
        Seed of that subsample.

    Returns
    -------
    CorrelationDimension
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    x = x[np.all(np.isfinite(x), axis=1)]
    if max_points is not None and x.shape[0] > max_points:
        rng = np.random.default_rng(seed)
        x = x[np.sort(rng.choice(x.shape[0], max_points, replace=False))]
    n = x.shape[0]
    if n < 100:
        raise ValueError(f"correlation dimension needs at least 100 points, got {n}")
    theiler = max(1, n // 1000) if theiler is None else int(theiler)
    span = x.max(axis=0) - x.min(axis=0)
    diameter = float(np.sqrt(np.sum(span**2)))
    if diameter == 0.0:
        return CorrelationDimension(0.0, 0.0, np.zeros(0), np.zeros(0), (0.0, 0.0), n, theiler)
    # smallest radius: where about min_pairs pairs are expected, from the
    # nearest-neighbour distances of a few hundred points
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(0 if seed is None else seed)
    probe = x[rng.choice(n, min(n, 500), replace=False)]
    nn = cKDTree(x).query(probe, k=2)[0][:, 1]
    nn = nn[nn > 0]
    r_min = float(np.quantile(nn, 0.5)) if nn.size else diameter * 1e-4
    r_min = max(r_min, diameter * 1e-6)
    # largest radius: a little above where C reaches c_max, from random pairs
    # (counting beyond it costs most of the time and is never fitted)
    a, b = rng.integers(0, n, (2, 20_000))
    pair_d = np.sqrt(np.sum((x[a] - x[b]) ** 2, axis=1))
    r_max = min(diameter, float(np.quantile(pair_d, min(1.0, 4 * c_max))))
    r_max = max(r_max, 4 * r_min)
    radii = np.geomspace(r_min, r_max, n_radii)
    c = correlation_sum(x, radii, theiler)
    pairs = c * n * (n - 1) / 2.0
    keep = pairs >= min_pairs
    if keep.sum() < 3:
        return CorrelationDimension(math.nan, math.nan, radii, c, (math.nan, math.nan), n, theiler)
    log_r, log_c = np.log(radii[keep]), np.log(c[keep])
    i, j = _scaling_region(log_r, log_c, min_width, c_max)
    if j - i < 3:
        # no window as wide as min_width: fit all radii with C <= c_max
        below = np.nonzero(log_c <= math.log(c_max))[0]
        if below.size < 3:
            return CorrelationDimension(
                math.nan, math.nan, radii, c, (math.nan, math.nan), n, theiler
            )
        i, j = int(below[0]), int(below[-1]) + 1
    coef, cov = np.polyfit(log_r[i:j], log_c[i:j], 1, cov=True)
    slopes = np.gradient(log_c, log_r)[i:j]
    uncertainty = max(float(np.sqrt(cov[0, 0])), 0.5 * float(slopes.max() - slopes.min()))
    kept = radii[keep]
    return CorrelationDimension(
        float(coef[0]), uncertainty, radii, c, (float(kept[i]), float(kept[j - 1])), n, theiler
    )
