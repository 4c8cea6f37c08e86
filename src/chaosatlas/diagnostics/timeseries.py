"""Largest Lyapunov exponent from data alone (Rosenstein, Collins and De Luca 1993).

For each point the nearest neighbour that is not a temporal neighbour (the
Theiler window) is found with a KD-tree; the mean log distance of the two
orbits is followed forward in time; the exponent is the slope of its linear
rise, found automatically between the end of the initial alignment and the
onset of saturation. Used on catalogue trajectories and on forecast-model
rollouts, where no equations are available.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RosensteinEstimate:
    """A time-series estimate of the largest exponent and its divergence curve.

    Attributes
    ----------
    value : float
        Slope of the mean log divergence, per unit time.
    uncertainty : float
        Standard error of the slope in the fitted region.
    time, log_divergence : ndarray
        The curve ``<ln d(t)>``.
    fit_range : tuple of float
        Times bounding the fitted region.
    theiler : int
        Temporal exclusion window in samples.
    reason : str
        Why ``value`` is NaN (empty when the estimate succeeded).
    """

    value: float
    uncertainty: float
    time: np.ndarray
    log_divergence: np.ndarray
    fit_range: tuple[float, float]
    theiler: int
    reason: str = ""


def mean_period_samples(x: np.ndarray) -> float:
    """Mean period of a series in samples: the inverse power-weighted mean frequency."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    power = np.zeros(x.shape[0] // 2 + 1)
    for j in range(x.shape[1]):
        power += np.abs(np.fft.rfft(x[:, j] - x[:, j].mean())) ** 2
    freq = np.fft.rfftfreq(x.shape[0])
    mean_freq = float(np.sum(freq[1:] * power[1:]) / max(np.sum(power[1:]), 1e-300))
    return 1.0 / mean_freq if mean_freq > 0 else float(x.shape[0])


def _nearest_outside_window(
    x: np.ndarray, n_ref: int, theiler: int
) -> tuple[np.ndarray, np.ndarray]:
    """Index of and distance to each reference point's nearest neighbour with |i - j| > theiler."""
    from scipy.spatial import cKDTree

    tree = cKDTree(x[:n_ref])
    nn = np.full(n_ref, -1)
    dist = np.full(n_ref, np.inf)
    todo = np.arange(n_ref)
    k = min(n_ref, 2 * theiler + 8)
    while todo.size:
        d, idx = tree.query(x[todo], k=k)
        d, idx = d.reshape(todo.size, -1), idx.reshape(todo.size, -1)
        ok = (np.abs(idx - todo[:, None]) > theiler) & (d > 0) & (idx < n_ref)
        found = ok.any(axis=1)
        first = ok.argmax(axis=1)
        rows = np.nonzero(found)[0]
        nn[todo[rows]] = idx[rows, first[rows]]
        dist[todo[rows]] = d[rows, first[rows]]
        if k >= n_ref:
            break
        todo = todo[~found]
        k = min(n_ref, 4 * k)
    return nn, dist


def max_lyapunov_rosenstein(
    x: np.ndarray,
    dt: float = 1.0,
    *,
    theiler: int | None = None,
    horizon: int | None = None,
    max_reference: int = 4000,
    seed: int = 0,
) -> RosensteinEstimate:
    """Largest Lyapunov exponent of a trajectory by Rosenstein's method.

    Parameters
    ----------
    x : ndarray, shape (n, d) or (n,)
        States in time order, sampled every ``dt`` (a scalar series should be
        delay-embedded first, see :func:`chaosatlas.diagnostics.dimensions.delay_embedding`).
    dt : float
        Sampling interval.
    theiler : int, optional
        Temporal exclusion window in samples; default one mean period.
    horizon : int, optional
        Samples the divergence is followed; default enough for the curve to
        saturate (20 mean periods, at most a fifth of the series).
    max_reference : int
        At most this many reference points (evenly spaced) are followed.
    seed : int
        Unused except to break ties deterministically; kept for a stable API.

    Returns
    -------
    RosensteinEstimate
        ``value`` is NaN, with ``reason`` saying why, when the divergence
        curve has no linear rise to fit: never 0, which would read as a
        periodic series.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if not np.all(np.isfinite(x)):
        raise ValueError("the series has non-finite values")
    n = x.shape[0]
    if n < 200:
        raise ValueError(f"Rosenstein's method needs at least 200 samples, got {n}")
    span = x.std(axis=0)
    scale = np.where(span > 0, span, 1.0)
    x = (x - x.mean(axis=0)) / scale  # each variable on one scale
    period = mean_period_samples(x)
    theiler = max(1, int(round(period))) if theiler is None else int(theiler)
    if horizon is None:
        horizon = int(min(max(20 * period, 50), n // 5))
    horizon = max(10, min(horizon, n - 2 * theiler - 10))
    n_ref = n - horizon
    nn, _ = _nearest_outside_window(x, n_ref, theiler)
    refs = np.nonzero(nn >= 0)[0]
    if refs.size > max_reference:
        refs = refs[np.linspace(0, refs.size - 1, max_reference).astype(int)]
    partners = nn[refs]
    curve = np.empty(horizon)
    for i in range(horizon):
        d = np.sqrt(np.sum((x[refs + i] - x[partners + i]) ** 2, axis=1))
        d = d[d > 0]
        curve[i] = np.mean(np.log(d)) if d.size else -np.inf
    t = np.arange(horizon) * dt
    value, err, lo, hi, reason = _linear_rise(t, curve)
    return RosensteinEstimate(value, err, t, curve, (lo, hi), theiler, reason)


#: least rise of the mean log divergence (a factor e**0.5 = 1.65) read as exponential growth
MIN_LOG_RISE = 0.5


def _linear_rise(t: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float, str]:
    """Slope of the rise of ``y`` between 10% and 60% of its way to saturation.

    NaN with a reason when there is nothing to fit: a value of 0 would read as
    a periodic series, whatever the series really is (a collapsed rollout, too
    few neighbours, a horizon too short).
    """
    nan = math.nan
    if not np.all(np.isfinite(y)):
        return nan, nan, nan, nan, "no neighbour pairs to follow (a constant or repeating series)"
    y0 = y[0]
    y_sat = float(np.mean(y[-max(3, y.size // 10) :]))
    rise = y_sat - y0
    if rise <= MIN_LOG_RISE:
        return (
            nan,
            nan,
            float(t[0]),
            float(t[-1]),
            (
                f"no exponential divergence: the mean log distance rose by {rise:.3g} "
                f"(< {MIN_LOG_RISE}); periodic, quasi-periodic or collapsed"
            ),
        )
    above_lo = np.nonzero(y >= y0 + 0.1 * rise)[0]
    above_hi = np.nonzero(y >= y0 + 0.6 * rise)[0]
    i = int(above_lo[0])
    j = int(above_hi[0]) + 1
    if j - i < 3:
        i, j = max(0, j - 3), max(3, j)
    coef, cov = (
        np.polyfit(t[i:j], y[i:j], 1, cov=True)
        if j - i > 3
        else (
            np.polyfit(t[i:j], y[i:j], 1),
            np.zeros((2, 2)),
        )
    )
    return float(coef[0]), float(np.sqrt(max(cov[0, 0], 0.0))), float(t[i]), float(t[j - 1]), ""
