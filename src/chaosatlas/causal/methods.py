"""Causal-discovery methods on multivariate time series: arrays in, arrays out.

Every method takes ``X`` of shape ``(time, nodes)``, one observed variable per
node, z-scores each column and returns a score matrix ``S`` of shape
``(nodes, nodes)`` where ``S[source, target]`` ranks the edge
``source -> target`` (the convention of ``A[source, target] = 1``, see
``shared/specs/causal.md``). Larger means more evidence for the edge.

Methods
-------
- :func:`lagged_correlation`: max over ``tau = 1..tau_max`` of
  ``|corr(x_i(t - tau), x_j(t))|``.
- :func:`granger`: F statistic of "all ``p`` lags of ``i`` in ``j``'s VAR(p)
  equation are zero", with its p-value.
- :func:`convergent_cross_mapping`: CCM skill (Sugihara et al. 2012) of
  predicting the cause from the effect's shadow manifold.
- ``"pcmci"`` and ``"pcmciplus"`` (registry only): PCMCI / PCMCI+ with
  ParCorr through tigramite, an optional GPL-3 extra that runs in its own
  process; see :mod:`chaosatlas.causal.pcmci` (imported only when called).

Diagonal (self-loops, scored apart from the headline): lagged correlation puts
the same formula on it (the largest lag-1..tau_max autocorrelation magnitude),
Granger the F statistic of the node's own lags in its own equation; CCM has no
self-loop statistic (cross-mapping a node from its own manifold is trivially
perfect) and puts NaN there.

Bad input (not 2-D, fewer than 2 nodes, NaN or infinite values, a constant
node, too few time points for the method's settings) raises ``ValueError``
naming the problem. :func:`run_method` wraps a method for a benchmark: it
times it and records a numerical failure as ``status="failed"`` with the
reason and an all-NaN score, never zeros; a method whose optional dependency
is missing comes back as ``status="unavailable"`` (also all NaN).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numba as nb
import numpy as np
from scipy import stats
from scipy.spatial import cKDTree

__all__ = [
    "METHODS",
    "CCMResult",
    "GrangerResult",
    "MethodFailed",
    "MethodOutcome",
    "MethodUnavailable",
    "convergent_cross_mapping",
    "granger",
    "lagged_correlation",
    "run_method",
]

_JIT = {"cache": True, "nogil": True}


# ----------------------------------------------------------------------------- input checks


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_X(X: Any, method: str) -> np.ndarray:
    """``X`` as a float64 (time, nodes) copy; ValueError naming what is wrong."""
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(
            f"{method}: X must be 2-D with shape (time, nodes), got ndim={arr.ndim} "
            f"(shape {arr.shape})"
        )
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{method}: X must hold real numbers, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise ValueError(f"{method}: X must hold real numbers, got complex dtype {arr.dtype}")
    arr = np.array(arr, dtype=np.float64)
    n_time, n_nodes = arr.shape
    if n_nodes < 2:
        raise ValueError(f"{method}: X needs at least 2 nodes (columns), got {n_nodes}")
    bad = ~np.isfinite(arr)
    if bad.any():
        t, j = np.argwhere(bad)[0]
        raise ValueError(
            f"{method}: X contains NaN or infinite values ({int(bad.sum())} entries, "
            f"first at time {t}, node {j})"
        )
    return arr


def _check_length(n_time: int, needed: int, method: str, why: str) -> None:
    if n_time < needed:
        raise ValueError(
            f"{method}: time series too short: T={n_time} time points, need at least "
            f"{needed} ({why})"
        )


def _zscore(X: np.ndarray, method: str) -> np.ndarray:
    mean = X.mean(axis=0)
    sd = X.std(axis=0)
    constant = sd <= 1e-12 * np.maximum(1.0, np.abs(mean))
    if constant.any():
        nodes = np.flatnonzero(constant).tolist()
        raise ValueError(f"{method}: node(s) {nodes} are constant in time; cannot z-score")
    return (X - mean) / sd


# ----------------------------------------------------------------------------- lagged correlation


def lagged_correlation(X: np.ndarray, tau_max: int = 5) -> np.ndarray:
    """Largest absolute lagged Pearson correlation from each source to each target.

    Parameters
    ----------
    X : ndarray, shape (T, N)
        One observed variable per node; z-scored here.
    tau_max : int
        Largest lag. Lag 0 is excluded: it is symmetric and carries no direction.

    Returns
    -------
    score : ndarray, shape (N, N)
        ``score[i, j] = max_{tau=1..tau_max} |corr(x_i(t - tau), x_j(t))|``,
        the Pearson correlation over the ``T - tau`` overlapping pairs. The
        diagonal uses the same formula: the largest autocorrelation magnitude
        over lags 1..tau_max (the self-loop score, reported apart).

    Raises
    ------
    ValueError
        ``X`` not 2-D, fewer than 2 nodes, NaN/inf, a constant node, or
        ``T < tau_max + 3`` (fewer than 3 pairs at the largest lag), or a node
        constant over one of the lagged windows.
    """
    method = "lagged_correlation"
    tau_max = _check_int(tau_max, "tau_max", 1)
    Z = _check_X(X, method)
    n_time, n_nodes = Z.shape
    _check_length(n_time, tau_max + 3, method, f"3 pairs at lag tau_max={tau_max}")
    Z = _zscore(Z, method)
    score = np.zeros((n_nodes, n_nodes))
    for tau in range(1, tau_max + 1):
        past = Z[: n_time - tau]
        now = Z[tau:]
        past = past - past.mean(axis=0)
        now = now - now.mean(axis=0)
        sd_past = np.sqrt((past**2).sum(axis=0))
        sd_now = np.sqrt((now**2).sum(axis=0))
        flat = np.concatenate([sd_past, sd_now]) <= 1e-12 * math.sqrt(n_time - tau)
        if flat.any():
            node = int(np.flatnonzero(flat)[0] % n_nodes)
            raise ValueError(f"{method}: node {node} is constant over the window at lag {tau}")
        corr = (past.T @ now) / np.outer(sd_past, sd_now)
        np.maximum(score, np.abs(corr), out=score)
    return score


# ----------------------------------------------------------------------------- Granger


@dataclass(frozen=True)
class GrangerResult:
    """Output of :func:`granger`.

    Attributes
    ----------
    score : ndarray, shape (N, N)
        F statistic for source -> target (row -> column); clipped at 0.
    pvalue : ndarray, shape (N, N)
        ``scipy.stats.f.sf(score, dfn, dfd)``.
    lags : int
        The VAR order ``p`` used (given, or chosen by BIC).
    ridge : float
        Ridge penalty used, as a fraction of the regressors' (unit) variance:
        0 for ordinary least squares.
    """

    score: np.ndarray
    pvalue: np.ndarray
    lags: int
    ridge: float


def _lag_design(Z: np.ndarray, p: int, start: int) -> np.ndarray:
    """Rows t = start..T-1; column ``k * N + i`` holds x_i(t - k - 1)."""
    n_time, n_nodes = Z.shape
    design = np.empty((n_time - start, n_nodes * p))
    for k in range(p):
        design[:, k * n_nodes : (k + 1) * n_nodes] = Z[start - k - 1 : n_time - k - 1]
    return design


def _fit(design: np.ndarray, Y: np.ndarray, ridge: float) -> tuple[np.ndarray, float]:
    """Residuals of every column of ``Y`` and the effective number of parameters.

    Least squares with an intercept (by centring), ridge penalty
    ``ridge * n`` on the slopes, through the SVD of the centred design. The
    effective number of parameters is ``1 + sum s^2 / (s^2 + lambda)``, which
    is ``1 + rank`` for OLS (directions with negligible singular values are
    dropped, so a rank-deficient design does not blow up).
    """
    n = design.shape[0]
    Dc = design - design.mean(axis=0)
    Yc = Y - Y.mean(axis=0)
    U, s, _ = np.linalg.svd(Dc, full_matrices=False)
    keep = s > s[0] * max(Dc.shape) * np.finfo(float).eps
    U, s = U[:, keep], s[keep]
    shrink = s**2 / (s**2 + ridge * n)
    resid = Yc - U @ (shrink[:, None] * (U.T @ Yc))
    return resid, 1.0 + float(shrink.sum())


def _auto_ridge(n_rows: int, n_coef: int) -> float:
    """Ridge rule: OLS with >= 10 rows per coefficient, else ``n_coef / n_rows``."""
    return 0.0 if n_rows >= 10 * n_coef else n_coef / n_rows


def granger(
    X: np.ndarray,
    p: int | None = None,
    p_max: int = 10,
    ridge: float | None = None,
) -> GrangerResult:
    """Pairwise Granger causality from a VAR(p) fitted to all nodes together.

    For each target ``j`` the full model regresses ``x_j(t)`` on an intercept
    and ``x_k(t - 1..p)`` for every node ``k``; the restricted model for
    source ``i`` drops the ``p`` lags of ``x_i``. With ``T`` time points the
    regression has ``T - p`` rows and

        F = ((RSS_r - RSS_f) / p) / (RSS_f / (T - p - N p - 1)),

    the statistic of ``statsmodels``' ``test_causality(kind='f')`` for one
    source. The restricted design for source ``i`` is the same for every
    target, so the work is one full fit and one restricted fit per source,
    each solving all targets at once.

    Parameters
    ----------
    X : ndarray, shape (T, N)
        One observed variable per node; z-scored here.
    p : int, optional
        VAR order. ``None`` chooses it by BIC over ``1..p_cap`` on a common
        sample (the rows after ``p_cap`` lags), with
        ``p_cap = min(p_max, floor((T - 11) / (N + 1)))``, the largest order
        that keeps at least 10 residual degrees of freedom in the OLS fit.
        ``BIC(p) = log det Sigma_p + log(n) / n * N * k_p`` with ``k_p``
        the (effective) number of parameters per equation.
    p_max : int
        Largest order considered by BIC.
    ridge : float, optional
        Ridge penalty on the slopes, in units of the regressors' variance
        (``lambda = ridge * (T - p)`` added to the diagonal of the centred Gram
        matrix of z-scored lags). ``None`` (default) applies the rule: OLS
        when there are at least 10 rows per coefficient,
        ``T - p >= 10 (N p + 1)``, otherwise ``ridge = (N p + 1) / (T - p)``.
        Under ridge the F statistic uses effective degrees of freedom
        (``trace`` of the hat matrix) in place of ``N p + 1`` and ``p``, and
        is clipped at 0 (a ridge fit may leave ``RSS_f > RSS_r``).

    Returns
    -------
    GrangerResult
        ``score[i, j]`` = F for ``i -> j``; ``pvalue[i, j]``; the order used
        and the ridge penalty used. The diagonal is the F test of the
        target's own lags (self-loop, reported apart).

    Raises
    ------
    ValueError
        Bad ``X`` (see module docstring), ``p``/``p_max`` below 1, a negative
        ``ridge``, or too few time points for the order (no residual
        degrees of freedom left).
    """
    method = "granger"
    Z = _check_X(X, method)
    n_time, n_nodes = Z.shape
    if ridge is not None and (not np.isfinite(ridge) or ridge < 0):
        raise ValueError(f"{method}: ridge must be a finite number >= 0, got {ridge!r}")
    if p is None:
        p_max = _check_int(p_max, "p_max", 1)
        p_cap = min(p_max, (n_time - 11) // (n_nodes + 1))
        _check_length(
            n_time,
            11 + (n_nodes + 1),
            method,
            f"BIC needs VAR(1) with 10 residual dof, N={n_nodes}",
        )
    else:
        p = _check_int(p, "p", 1)
        _check_length(n_time, p + 3, method, f"at least 3 regression rows at p={p}")
    Z = _zscore(Z, method)

    if p is None:
        start = p_cap
        n0 = n_time - start
        Y0 = Z[start:]
        best = (np.inf, 1)
        for q in range(1, p_cap + 1):
            lam = _auto_ridge(n0, n_nodes * q + 1) if ridge is None else ridge
            resid, edf = _fit(_lag_design(Z, q, start), Y0, lam)
            sign, logdet = np.linalg.slogdet(resid.T @ resid / n0)
            bic = (logdet if sign > 0 else -np.inf) + math.log(n0) / n0 * n_nodes * edf
            if bic < best[0]:
                best = (bic, q)
        p = best[1]

    n_rows = n_time - p
    lam = _auto_ridge(n_rows, n_nodes * p + 1) if ridge is None else float(ridge)
    design = _lag_design(Z, p, p)
    Y = Z[p:]
    resid, edf_f = _fit(design, Y, lam)
    rss_f = (resid**2).sum(axis=0)
    dfd = n_rows - edf_f
    if dfd < 0.5:
        raise ValueError(
            f"{method}: time series too short: T={n_time} leaves {dfd:.2f} residual degrees "
            f"of freedom for VAR({p}) with N={n_nodes} nodes (need T - p - N p - 1 >= 1)"
        )
    score = np.empty((n_nodes, n_nodes))
    pvalue = np.empty((n_nodes, n_nodes))
    cols = np.arange(n_nodes * p)
    for i in range(n_nodes):
        keep = cols % n_nodes != i
        resid, edf_r = _fit(design[:, keep], Y, lam)
        rss_r = (resid**2).sum(axis=0)
        dfn = edf_f - edf_r
        with np.errstate(divide="ignore", invalid="ignore"):
            F = ((rss_r - rss_f) / dfn) / (rss_f / dfd)
        F = np.maximum(F, 0.0)  # NaN (0/0) stays NaN
        score[i] = F
        pvalue[i] = stats.f.sf(F, dfn, dfd)
    return GrangerResult(score=score, pvalue=pvalue, lags=int(p), ridge=float(lam))


# ----------------------------------------------------------------------------- CCM


@dataclass(frozen=True)
class CCMResult:
    """Output of :func:`convergent_cross_mapping`.

    All ``(N, N)`` matrices are indexed ``[cause, effect]`` (source, target)
    and hold NaN on the diagonal.

    Attributes
    ----------
    score : ndarray, shape (N, N)
        Cross-map skill rho at the largest library (the whole manifold).
    rho_min : ndarray, shape (N, N)
        Skill at the smallest library size (mean over random libraries).
    convergence : ndarray, shape (N, N)
        ``score - rho_min``: positive when skill rises with the library.
    E : ndarray of int, shape (N,)
        Embedding dimension of each node's shadow manifold.
    rho : ndarray, shape (n_sizes, N, N)
        Mean skill at every library size.
    library_sizes : ndarray of int, shape (n_sizes, N)
        Library sizes used; column ``j`` belongs to effect node ``j``'s manifold.
    theiler : int
        Theiler window: neighbours with ``|t - t'| <= theiler`` are excluded.
    tau : int
        Embedding delay.
    """

    score: np.ndarray
    rho_min: np.ndarray
    convergence: np.ndarray
    E: np.ndarray
    rho: np.ndarray
    library_sizes: np.ndarray
    theiler: int
    tau: int


@nb.njit(**_JIT)
def _filter_candidates(
    idx: np.ndarray,
    dist: np.ndarray,
    lib_times: np.ndarray,
    pred_times: np.ndarray,
    theiler: int,
    nb_times: np.ndarray,
    nb_dist: np.ndarray,
    found: np.ndarray,
) -> None:
    """Keep the first ``n_nb`` sorted cKDTree candidates outside the Theiler window."""
    n_pred, k = idx.shape
    n_lib = lib_times.size
    n_nb = nb_times.shape[1]
    for r in range(n_pred):
        t = pred_times[r]
        m = 0
        for c in range(k):
            j = idx[r, c]
            if j >= n_lib:  # cKDTree pads missing neighbours with n_lib
                break
            tj = lib_times[j]
            if abs(tj - t) <= theiler:
                continue
            nb_times[r, m] = tj
            nb_dist[r, m] = dist[r, c]
            m += 1
            if m == n_nb:
                break
        found[r] = m


@nb.njit(**_JIT)
def _scan_neighbours(
    lib_points: np.ndarray,
    lib_times: np.ndarray,
    queries: np.ndarray,
    pred_times: np.ndarray,
    rows: np.ndarray,
    theiler: int,
    nb_times: np.ndarray,
    nb_dist: np.ndarray,
    found: np.ndarray,
) -> None:
    """Exact nearest neighbours outside the Theiler window by a full scan, for ``rows``."""
    n_lib, dim = lib_points.shape
    n_nb = nb_times.shape[1]
    for rr in range(rows.size):
        r = rows[rr]
        t = pred_times[r]
        m = 0
        for j in range(n_lib):
            tj = lib_times[j]
            if abs(tj - t) <= theiler:
                continue
            worst = nb_dist[r, n_nb - 1] if m == n_nb else np.inf
            d2 = 0.0
            for e in range(dim):
                diff = queries[r, e] - lib_points[j, e]
                d2 += diff * diff
                if d2 >= worst:
                    break
            if d2 >= worst:
                continue
            if m < n_nb:
                pos = m
                m += 1
            else:
                pos = n_nb - 1
            while pos > 0 and nb_dist[r, pos - 1] > d2:
                nb_dist[r, pos] = nb_dist[r, pos - 1]
                nb_times[r, pos] = nb_times[r, pos - 1]
                pos -= 1
            nb_dist[r, pos] = d2
            nb_times[r, pos] = tj
        for q in range(m):
            nb_dist[r, q] = math.sqrt(nb_dist[r, q])
        found[r] = m


@nb.njit(**_JIT)
def _cross_map_skill(
    nb_times: np.ndarray,
    nb_dist: np.ndarray,
    found: np.ndarray,
    pred_times: np.ndarray,
    values: np.ndarray,
) -> np.ndarray:
    """Pearson skill of simplex (exponentially weighted) neighbour estimates.

    Row ``r`` estimates ``values[pred_times[r], c]`` as the mean of
    ``values[nb_times[r, :found[r]], c]`` weighted ``u = exp(-d / d_1)``
    (``d_1`` the nearest distance, floored at 1e-6). rho is taken over the
    rows with at least one neighbour; NaN if fewer than 3 such rows or a
    constant column.
    """
    n_pred = nb_times.shape[0]
    n_out = values.shape[1]
    est = np.empty((n_pred, n_out))
    w = np.empty(nb_times.shape[1])
    n_used = 0
    for r in range(n_pred):
        m = found[r]
        if m == 0:
            continue
        n_used += 1
        d1 = max(nb_dist[r, 0], 1e-6)
        wsum = 0.0
        for q in range(m):
            w[q] = math.exp(-nb_dist[r, q] / d1)
            wsum += w[q]
        for c in range(n_out):
            acc = 0.0
            for q in range(m):
                acc += w[q] * values[nb_times[r, q], c]
            est[r, c] = acc / wsum

    rho = np.full(n_out, np.nan)
    if n_used < 3:
        return rho
    for c in range(n_out):
        mo = 0.0
        me = 0.0
        for r in range(n_pred):
            if found[r] > 0:
                mo += values[pred_times[r], c]
                me += est[r, c]
        mo /= n_used
        me /= n_used
        soo = 0.0
        see = 0.0
        soe = 0.0
        for r in range(n_pred):
            if found[r] > 0:
                a = values[pred_times[r], c] - mo
                b = est[r, c] - me
                soo += a * a
                see += b * b
                soe += a * b
        if soo > 0.0 and see > 0.0:
            rho[c] = soe / math.sqrt(soo * see)
    return rho


def _embed(z: np.ndarray, E: int, tau: int) -> np.ndarray:
    """Rows ``(z_t, z_{t-tau}, ..., z_{t-(E-1)tau})`` for t = (E-1)tau..T-1."""
    off = (E - 1) * tau
    n = z.size
    return np.column_stack([z[off - k * tau : n - k * tau] for k in range(E)])


#: libraries up to this size are searched by a full scan (a tree gains nothing there)
_SCAN_LIBRARY = 256


def _neighbours(
    lib_points: np.ndarray,
    lib_times: np.ndarray,
    queries: np.ndarray,
    pred_times: np.ndarray,
    n_nb: int,
    theiler: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``n_nb`` nearest library points of each query outside its Theiler window.

    A cKDTree query asks for ``k = n_nb + min(2 theiler + 1, n_nb + 2)``
    candidates (enough whenever at most ``k - n_nb`` of them lie in the
    window; ``2 theiler + 1`` always is), keeps the first ``n_nb`` outside
    the window, and falls back to an exact scan of the library for the rows
    left short (typical of oversampled flows, whose nearest points are
    temporal neighbours). Libraries of at most ``_SCAN_LIBRARY`` points are
    scanned directly. A library with fewer than ``n_nb`` points outside a
    query's window gives that query fewer neighbours (``found``).

    Returns
    -------
    nb_times, nb_dist, found
        Times and distances (sorted, Euclidean) of the neighbours; how many
        each row has.
    """
    n_q = queries.shape[0]
    n_lib = lib_points.shape[0]
    nb_times = np.zeros((n_q, n_nb), dtype=np.int64)
    nb_dist = np.zeros((n_q, n_nb))
    found = np.zeros(n_q, dtype=np.int64)
    if n_lib <= _SCAN_LIBRARY:
        rows = np.arange(n_q, dtype=np.int64)
        _scan_neighbours(
            lib_points, lib_times, queries, pred_times, rows, theiler, nb_times, nb_dist, found
        )
        return nb_times, nb_dist, found
    k = min(n_lib, n_nb + min(2 * theiler + 1, n_nb + 2))
    dist, idx = cKDTree(lib_points).query(queries, k=k)
    if k == 1:
        dist, idx = dist[:, None], idx[:, None]
    idx = np.ascontiguousarray(idx, dtype=np.int64)
    _filter_candidates(idx, dist, lib_times, pred_times, theiler, nb_times, nb_dist, found)
    short = np.flatnonzero(found < n_nb).astype(np.int64)
    if short.size:
        _scan_neighbours(
            lib_points, lib_times, queries, pred_times, short, theiler, nb_times, nb_dist, found
        )
    return nb_times, nb_dist, found


def _first_acf_zero(z: np.ndarray, max_lag: int) -> int:
    """First lag >= 1 with autocorrelation <= 0, capped at ``max_lag``."""
    n = z.size
    f = np.fft.rfft(z - z.mean(), 2 * n)
    acf = np.fft.irfft(f * np.conj(f))[: max_lag + 1]
    below = np.flatnonzero(acf[1:] <= 0.0)
    return int(below[0] + 1) if below.size else max_lag


_E_CANDIDATES = 10
_N_SIZES = 8


def convergent_cross_mapping(
    X: np.ndarray,
    E: int | Sequence[int] | None = None,
    tau: int = 1,
    theiler: int | None = None,
    library_sizes: Sequence[int] | None = None,
    n_libraries: int = 20,
    seed: int | None = 0,
) -> CCMResult:
    """Convergent cross mapping (Sugihara et al. 2012) for every ordered pair.

    For an effect node ``y`` with shadow manifold
    ``M_y(t) = (y_t, y_{t-tau}, ..., y_{t-(E_y - 1) tau})``, the cause ``x``
    is estimated at each manifold point from its ``E_y + 1`` nearest library
    neighbours (excluding the point itself and a Theiler window), weighted
    ``u_k = exp(-d_k / d_1)``; the skill is Pearson's rho between ``x(t)`` and
    the estimate. If ``x`` drives ``y``, ``y``'s manifold encodes ``x``, so
    the score of ``x -> y`` is the skill of predicting ``x`` **from** ``M_y``
    (the reversal). Neighbour sets depend only on the manifold, so one
    cKDTree query per manifold and library serves every cause.

    Parameters
    ----------
    X : ndarray, shape (T, N)
        One observed variable per node; z-scored here.
    E : int or sequence of N ints, optional
        Embedding dimension(s). ``None`` chooses each node's ``E`` in 1..10 by
        the best one-step simplex self-prediction rho of that node (same
        neighbour rule, whole series as library, common set of prediction
        times for all candidates; ties go to the smaller ``E``).
    tau : int
        Embedding delay in samples.
    theiler : int, optional
        Exclude neighbours with ``|t - t'| <= theiler`` (``0`` excludes only
        ``t`` itself). ``None``: the largest over nodes of the first lag at
        which the node's autocorrelation is ``<= 0``, capped at ``T // 10``
        (so oversampled flows do not pick temporal neighbours, while a map
        with negative lag-1 autocorrelation gets 1).
    library_sizes : sequence of int, optional
        Library sizes, each >= 2; sizes above a manifold's number of points
        are clipped to it. ``None``: 8 sizes log-spaced from ``E_y + 2`` to
        the whole manifold, per effect node.
    n_libraries : int
        Random libraries (drawn without replacement) per size below the whole
        manifold; the whole manifold is one library. Skills are averaged over
        libraries (ignoring undefined ones).
    seed : int, optional
        Seed of ``numpy.random.default_rng`` for the random libraries.

    Returns
    -------
    CCMResult
        ``score[x, y]`` = rho at the largest library, ``rho_min`` at the
        smallest, ``convergence = score - rho_min``, each node's ``E``, the
        skill at every size, the sizes, the Theiler window and ``tau``.
        Diagonals are NaN (no self-loop statistic).

    Raises
    ------
    ValueError
        Bad ``X`` (see module docstring) or parameters, a series too short
        for the embedding and Theiler window, or no valid simplex skill for
        any candidate ``E`` of some node.
    """
    method = "ccm"
    Z = _check_X(X, method)
    n_time, n_nodes = Z.shape
    tau = _check_int(tau, "tau", 1)
    n_libraries = _check_int(n_libraries, "n_libraries", 1)
    if E is None:
        E_fixed = None
        E_top = _E_CANDIDATES
    else:
        E_list = [E] * n_nodes if np.ndim(E) == 0 else list(E)  # type: ignore[list-item]
        if len(E_list) != n_nodes:
            raise ValueError(f"{method}: E must be an int or {n_nodes} ints, got {len(E_list)}")
        E_fixed = np.array([_check_int(e, "E", 1) for e in E_list], dtype=np.int64)
        E_top = int(E_fixed.max())
    if theiler is not None:
        theiler = _check_int(theiler, "theiler", 0)
    _check_length(n_time, 20, method, "a minimum for cross mapping")
    Z = _zscore(Z, method)
    if theiler is None:
        cap = n_time // 10
        theiler = max(_first_acf_zero(Z[:, j], cap) for j in range(n_nodes))
    # the largest manifold must keep E + 1 neighbours outside the window, plus slack
    needed = (E_top - 1) * tau + 1 + E_top + 1 + 2 * theiler + 1 + 3
    _check_length(
        n_time, needed, method, f"embedding E<={E_top}, tau={tau}, theiler window {theiler}"
    )
    if library_sizes is not None:
        sizes_in = np.unique(np.asarray(library_sizes, dtype=np.int64))
        if sizes_in.size == 0 or sizes_in[0] < 2:
            raise ValueError(f"{method}: library_sizes must be integers >= 2, got {library_sizes}")

    # embedding dimension per node
    if E_fixed is None:
        E_nodes = np.empty(n_nodes, dtype=np.int64)
        first = (E_top - 1) * tau
        times = np.arange(first, n_time - 1, dtype=np.int64)  # predict z[t + 1]
        for j in range(n_nodes):
            ahead = np.ascontiguousarray(Z[1:, j : j + 1])  # ahead[t] = z_j(t + 1)
            best_rho, best_E = -np.inf, 0
            for e in range(1, E_top + 1):
                M = _embed(Z[:, j], e, tau)[first - (e - 1) * tau : n_time - 1 - (e - 1) * tau]
                nbt, nbd, found = _neighbours(M, times, M, times, e + 1, theiler)
                rho = _cross_map_skill(nbt, nbd, found, times, ahead)[0]
                if np.isfinite(rho) and rho > best_rho:
                    best_rho, best_E = rho, e
            if best_E == 0:
                raise ValueError(f"{method}: simplex skill undefined for every E at node {j}")
            E_nodes[j] = best_E
    else:
        E_nodes = E_fixed

    rng = np.random.default_rng(seed)
    n_sizes = _N_SIZES if library_sizes is None else sizes_in.size
    rho = np.full((n_sizes, n_nodes, n_nodes), np.nan)
    sizes_used = np.zeros((n_sizes, n_nodes), dtype=np.int64)
    for j in range(n_nodes):
        e = int(E_nodes[j])
        M = _embed(Z[:, j], e, tau)
        n_pts = M.shape[0]
        times = np.arange((e - 1) * tau, n_time, dtype=np.int64)
        if library_sizes is None:
            sizes = np.round(np.geomspace(min(e + 2, n_pts), n_pts, n_sizes)).astype(np.int64)
        else:
            sizes = np.minimum(sizes_in, n_pts)
        sizes_used[:, j] = sizes
        for s_i, L in enumerate(sizes):
            if L >= n_pts:
                nbt, nbd, found = _neighbours(M, times, M, times, e + 1, theiler)
                rho[s_i, :, j] = _cross_map_skill(nbt, nbd, found, times, Z)
                continue
            total = np.zeros(n_nodes)
            count = np.zeros(n_nodes)
            for _ in range(n_libraries):
                lib = np.sort(rng.choice(n_pts, size=int(L), replace=False))
                nbt, nbd, found = _neighbours(M[lib], times[lib], M, times, e + 1, theiler)
                r = _cross_map_skill(nbt, nbd, found, times, Z)
                ok = np.isfinite(r)
                total[ok] += r[ok]
                count[ok] += 1
            with np.errstate(invalid="ignore", divide="ignore"):
                rho[s_i, :, j] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    diag = np.arange(n_nodes)
    rho[:, diag, diag] = np.nan
    score = rho[-1].copy()
    rho_min = rho[0].copy()
    return CCMResult(
        score=score,
        rho_min=rho_min,
        convergence=score - rho_min,
        E=E_nodes,
        rho=rho,
        library_sizes=sizes_used,
        theiler=int(theiler),
        tau=tau,
    )


# ----------------------------------------------------------------------------- runner


class MethodUnavailable(RuntimeError):
    """An optional dependency of the method is missing (:func:`run_method`: ``"unavailable"``)."""


class MethodFailed(RuntimeError):
    """The method failed outside the data (e.g. its worker process timed out or crashed)."""


def _pcmci(X: np.ndarray, **kwargs: Any) -> Any:
    """PCMCI via tigramite in a worker process (:func:`chaosatlas.causal.pcmci.pcmci`)."""
    from chaosatlas.causal.pcmci import pcmci

    return pcmci(X, variant="pcmci", **kwargs)


def _pcmciplus(X: np.ndarray, **kwargs: Any) -> Any:
    """PCMCI+ via tigramite in a worker process (:func:`chaosatlas.causal.pcmci.pcmci`)."""
    from chaosatlas.causal.pcmci import pcmci

    return pcmci(X, variant="pcmciplus", **kwargs)


METHODS: dict[str, Callable[..., Any]] = {
    "lagged_correlation": lagged_correlation,
    "granger": granger,
    "ccm": convergent_cross_mapping,
    "pcmci": _pcmci,
    "pcmciplus": _pcmciplus,
}
"""Registry name -> method; each returns a score array or a result with ``.score``."""


@dataclass(frozen=True)
class MethodOutcome:
    """One method run on one data set, as :func:`run_method` records it.

    Attributes
    ----------
    score : ndarray, shape (N, N)
        ``score[source, target]``; all NaN when the run failed. The diagonal
        follows the method (NaN for CCM even when ok); only off-diagonal
        entries decide the status.
    runtime_s : float
        Wall-clock seconds of the method call (also for a failed run).
    status : str
        ``"ok"``, ``"failed"`` or ``"unavailable"`` (an optional dependency,
        such as tigramite for PCMCI, is not installed).
    reason : str
        Empty when ok; otherwise the exception type and message, or which
        off-diagonal scores were not finite, or what is missing and how to
        install it.
    pvalue : ndarray, shape (N, N), optional
        p-values, for methods that give them (Granger, PCMCI); None otherwise
        or when failed or unavailable.
    """

    score: np.ndarray
    runtime_s: float
    status: str
    reason: str
    pvalue: np.ndarray | None = None


def run_method(name: str, X: np.ndarray, **kwargs: Any) -> MethodOutcome:
    """Run a registered method, timing it and recording a failure instead of raising.

    Parameters
    ----------
    name : str
        A key of :data:`METHODS`.
    X : ndarray, shape (T, N)
        Data handed to the method.
    **kwargs
        Passed to the method.

    Returns
    -------
    MethodOutcome
        ``status="failed"`` with the reason and an all-NaN ``(N, N)`` score
        when the method raises ``ValueError`` (bad or degenerate data,
        including ``LinAlgError``), ``ArithmeticError`` or
        :class:`MethodFailed`, or returns non-finite off-diagonal scores;
        ``status="unavailable"`` (all NaN, the message as reason) when it
        raises :class:`MethodUnavailable`. A failure is never scored as zeros.

    Raises
    ------
    ValueError
        Unknown ``name``, or ``X`` not 2-D (no ``(N, N)`` score can be shaped).
    TypeError
        Unknown keyword arguments for the method (a caller bug, not data).
    """
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; known: {sorted(METHODS)}")
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(
            f"run_method: X must be 2-D with shape (time, nodes), got ndim={arr.ndim} "
            f"(shape {arr.shape})"
        )
    n_nodes = arr.shape[1]

    def failed(reason: str, runtime: float, status: str = "failed") -> MethodOutcome:
        return MethodOutcome(
            score=np.full((n_nodes, n_nodes), np.nan),
            runtime_s=runtime,
            status=status,
            reason=reason,
        )

    start = time.perf_counter()
    try:
        out = METHODS[name](arr, **kwargs)
    except MethodUnavailable as exc:
        return failed(str(exc), time.perf_counter() - start, status="unavailable")
    except (ValueError, ArithmeticError, MethodFailed) as exc:
        return failed(f"{type(exc).__name__}: {exc}", time.perf_counter() - start)
    runtime = time.perf_counter() - start
    score = np.asarray(out if isinstance(out, np.ndarray) else out.score, dtype=np.float64)
    pvalue = getattr(out, "pvalue", None)
    off = ~np.eye(n_nodes, dtype=bool)
    bad = ~np.isfinite(score[off])
    if bad.any():
        return failed(f"{int(bad.sum())} of {bad.size} off-diagonal scores are not finite", runtime)
    return MethodOutcome(score=score, runtime_s=runtime, status="ok", reason="", pvalue=pvalue)
