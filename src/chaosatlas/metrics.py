"""Forecast metrics: short-horizon errors and long-term statistics of a rollout.

Definitions follow the project's metrics spec (comparable with the Gilpin 2023
benchmark and the dynamical-systems-reconstruction literature):

- :func:`mse`, :func:`mae`: over every step and variable, in whatever units the
  caller passes (the forecast stage uses units standardised by the training
  split).
- :func:`smape`: ``200 * mean(|x - y| / (|x| + |y|))``, on the 0-200 scale.
- :func:`valid_prediction_time`: first time the *cumulative* sMAPE exceeds a
  threshold (30), per variable, averaged; :func:`valid_prediction_steps` also
  says which variables never crossed it (a censored value, a lower bound).
- :func:`state_space_divergence` (``D_stsp``): KL divergence of the true and
  generated invariant densities, binned (30 bins per dimension, Laplace
  smoothing 1e-5) below 6 dimensions and by Gaussian mixtures above.
- :func:`power_spectrum_distance` (``D_H``): Hellinger distance of smoothed
  power spectra (sigma = 20 bins), averaged over dimensions.
- :func:`collapsed`: whether a rollout has collapsed to a point.

A non-finite prediction is the worst forecast there is: its sMAPE terms are
200 and it is never valid, so a blown-up forecast can never score as a good
one. Plain arrays in, floats out; nothing here knows about models.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import logsumexp

__all__ = [
    "mse",
    "mae",
    "smape",
    "smape_curve",
    "valid_prediction_time",
    "valid_prediction_steps",
    "state_space_divergence",
    "power_spectrum_distance",
    "collapsed",
    "SMAPE_WORST",
    "D_H_WORST",
]

#: cumulative sMAPE at which a forecast stops being valid (Gilpin 2023)
VPT_THRESHOLD = 30.0
#: sMAPE of a forecast that is everywhere wrong (or not finite): the top of the 0-200 scale
SMAPE_WORST = 200.0
#: Hellinger distance of spectra with no overlap (or of a spectrum that does not exist)
D_H_WORST = 1.0


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(y_true, dtype=np.float64)
    b = np.asarray(y_pred, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: truth {a.shape}, prediction {b.shape}")
    return a, b


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean squared error over all elements."""
    a, b = _pair(y_true, y_pred)
    return float(np.mean((a - b) ** 2))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error over all elements."""
    a, b = _pair(y_true, y_pred)
    return float(np.mean(np.abs(a - b)))


def _smape_terms(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        num = np.abs(a - b)
        den = np.abs(a) + np.abs(b)
        # 0 / 0 (both exactly zero) is a perfect forecast
        terms = 200.0 * np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    # a non-finite prediction is as wrong as a forecast can be, never a gap
    return np.where(np.isfinite(b), terms, SMAPE_WORST)


def smape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Symmetric mean absolute percentage error on the 0-200 scale.

    Not translation invariant: the value depends on the units (the forecast
    stage reports it in standardised units). A non-finite prediction counts
    as 200.
    """
    a, b = _pair(y_true, y_pred)
    return float(np.mean(_smape_terms(a, b)))


def smape_curve(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """sMAPE per forecast step, ``(..., horizon, variables)`` -> ``(horizon,)``."""
    a, b = _pair(y_true, y_pred)
    terms = _smape_terms(a, b)
    return terms.reshape(-1, *terms.shape[-2:]).mean(axis=(0, 2))


def valid_prediction_steps(
    y_true: np.ndarray, y_pred: np.ndarray, threshold: float = VPT_THRESHOLD
) -> tuple[np.ndarray, np.ndarray]:
    """Valid steps per variable of one forecast, and which of them are censored.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (horizon, variables) or (horizon,)
    threshold : float
        Cumulative sMAPE (0-200 scale) at which the forecast stops being valid.

    Returns
    -------
    steps : ndarray of int, shape (variables,)
        Per variable: the cumulative sMAPE over steps ``0..k`` is computed for
        each ``k``; the forecast is valid for the ``k`` steps before the first
        one that exceeds ``threshold``, or for the whole horizon if none does.
    censored : ndarray of bool, shape (variables,)
        True where the threshold was never crossed: the true valid time is
        at least the horizon, not equal to it.
    """
    a, b = _pair(y_true, y_pred)
    if a.ndim == 1:
        a, b = a[:, None], b[:, None]
    terms = _smape_terms(a, b)
    cumulative = np.cumsum(terms, axis=0) / np.arange(1, terms.shape[0] + 1)[:, None]
    over = cumulative > threshold
    crossed = over.any(axis=0)
    steps = np.where(crossed, over.argmax(axis=0), terms.shape[0])
    return steps, ~crossed


def valid_prediction_time(
    y_true: np.ndarray, y_pred: np.ndarray, dt: float = 1.0, threshold: float = VPT_THRESHOLD
) -> float:
    """Valid prediction time of one forecast: the mean over variables of the
    valid steps of :func:`valid_prediction_steps`, times ``dt``.

    The value is capped at the horizon; :func:`valid_prediction_steps` says
    whether it was (a censored value).
    """
    steps, _ = valid_prediction_steps(y_true, y_pred, threshold)
    return float(np.mean(steps) * dt)


def _binned_divergence(true: np.ndarray, gen: np.ndarray, bins: int, smoothing: float) -> float:
    n_dim = true.shape[1]
    std = true.std(axis=0)
    lo = true.min(axis=0) - 0.1 * std
    hi = true.max(axis=0) + 0.1 * std
    width = np.where(hi > lo, hi - lo, 1.0)

    def cell_counts(x: np.ndarray) -> dict[int, int]:
        inside = np.all((x >= lo) & (x <= hi), axis=1)
        idx = np.clip(((x[inside] - lo) / width * bins).astype(np.int64), 0, bins - 1)
        flat = np.ravel_multi_index(idx.T, (bins,) * n_dim)
        cells, counts = np.unique(flat, return_counts=True)
        return dict(zip(cells.tolist(), counts.tolist(), strict=True))

    h_true, h_gen = cell_counts(true), cell_counts(gen)
    if not h_gen:
        return math.nan
    n_cells = float(bins) ** n_dim
    z_true = sum(h_true.values()) + smoothing * n_cells
    z_gen = sum(h_gen.values()) + smoothing * n_cells
    occupied = set(h_true) | set(h_gen)
    kl = 0.0
    for c in occupied:
        p = (h_true.get(c, 0) + smoothing) / z_true
        q = (h_gen.get(c, 0) + smoothing) / z_gen
        kl += p * math.log(p / q)
    # every cell empty in both contributes the same term: add them at once
    p0, q0 = smoothing / z_true, smoothing / z_gen
    kl += (n_cells - len(occupied)) * p0 * math.log(p0 / q0)
    return float(kl)


def _gmm_divergence(true: np.ndarray, gen: np.ndarray, n_samples: int, seed: int) -> float:
    centres_true, centres_gen = true[:10_000], gen[:10_000]
    rng = np.random.default_rng(seed)
    picks = centres_true[rng.integers(0, centres_true.shape[0], n_samples)]
    samples = picks + rng.standard_normal(picks.shape)

    def log_density(centres: np.ndarray) -> np.ndarray:
        d2 = (
            np.sum(samples**2, axis=1)[:, None]
            - 2.0 * samples @ centres.T
            + np.sum(centres**2, axis=1)[None, :]
        )
        n_dim = samples.shape[1]
        return (
            logsumexp(-0.5 * d2, axis=1)
            - math.log(centres.shape[0])
            - 0.5 * n_dim * math.log(2 * math.pi)
        )

    lp, lq = log_density(centres_true), log_density(centres_gen)
    keep = np.isfinite(lp) & np.isfinite(lq)
    return float(np.mean(lp[keep] - lq[keep])) if keep.any() else math.nan


def state_space_divergence(
    true: np.ndarray,
    generated: np.ndarray,
    *,
    bins: int = 30,
    smoothing: float = 1e-5,
    n_samples: int = 1000,
    seed: int = 0,
) -> float:
    """``D_stsp``: KL divergence of the true from the generated invariant density.

    Parameters
    ----------
    true, generated : ndarray, shape (n, dim)
        Long trajectories (the generated one after its transient).
    bins, smoothing : int, float
        Below 6 dimensions: per dimension ``bins`` cells over the truth's range
        widened by 0.1 std on each side; points outside are dropped;
        ``p = (h + smoothing) / (sum h + smoothing * bins**dim)``;
        ``KL(p_true || p_gen)``. NaN when no generated point falls inside.
    n_samples, seed : int
        From 6 dimensions: an isotropic unit-variance Gaussian on each of the
        first 10,000 points of each series; ``n_samples`` Monte Carlo samples
        from the true mixture; the mean of ``log p_true - log p_gen``.
    """
    a = np.asarray(true, dtype=np.float64)
    b = np.asarray(generated, dtype=np.float64)
    if a.ndim == 1:
        a, b = a[:, None], b[:, None]
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"dimensions differ: truth {a.shape[1]}, generated {b.shape[1]}")
    b = b[np.all(np.isfinite(b), axis=1)]
    if b.shape[0] == 0:
        return math.nan
    if a.shape[1] < 6:
        return _binned_divergence(a, b, bins, smoothing)
    return _gmm_divergence(a, b, n_samples, seed)


def power_spectrum_distance(true: np.ndarray, generated: np.ndarray, sigma: float = 20.0) -> float:
    """``D_H``: Hellinger distance between smoothed power spectra, mean over dimensions.

    Per dimension: z-score, ``|rfft|**2``, Gaussian smoothing with ``sigma``
    frequency bins (reflecting edges, truncated at 4 sigma), negatives clipped,
    normalised to sum 1; ``H = sqrt(1 - sum sqrt(p q))``. The series must have
    equal lengths. A constant dimension has no spectrum: against a fluctuating
    one it scores the worst value, 1 (two constants score 0); NaN when the
    generated series is not finite. (dysts' ``average_hellinger_distance`` is a different
    quantity: unsmoothed, first 100 bins.)
    """
    a = np.asarray(true, dtype=np.float64)
    b = np.asarray(generated, dtype=np.float64)
    if a.ndim == 1:
        a, b = a[:, None], b[:, None]
    if a.shape != b.shape:
        raise ValueError(f"D_H needs equal shapes, got {a.shape} and {b.shape}")
    if not np.all(np.isfinite(b)):
        return math.nan

    def spectrum(x: np.ndarray, scale: float) -> np.ndarray | None:
        s = x.std()
        if not s > 1e-12 * scale:  # constant: no fluctuation, so no spectrum
            return None
        power = np.abs(np.fft.rfft((x - x.mean()) / s)) ** 2
        smooth = np.clip(gaussian_filter1d(power, sigma, mode="reflect", truncate=4.0), 0, None)
        return smooth / smooth.sum()

    out = []
    for j in range(a.shape[1]):
        scale = max(float(np.abs(a[:, j]).max()), float(np.abs(b[:, j]).max()), 1e-300)
        p, q = spectrum(a[:, j], scale), spectrum(b[:, j], scale)
        if p is None or q is None:
            # a constant series against a fluctuating one is as far as spectra get
            out.append(0.0 if p is None and q is None else D_H_WORST)
            continue
        out.append(math.sqrt(max(0.0, 1.0 - float(np.sum(np.sqrt(p * q))))))
    return float(np.mean(out))


def collapsed(true: np.ndarray, generated: np.ndarray, relative: float = 1e-3) -> bool:
    """Whether ``generated`` has collapsed to a point (a fixed point, or constant).

    True when every variable of ``generated`` fluctuates (std) by less than
    ``relative`` times the same variable of ``true``. A collapsed rollout is
    a failed reconstruction of a chaotic attractor, whatever its distances say.
    """
    a = np.asarray(true, dtype=np.float64)
    b = np.asarray(generated, dtype=np.float64)
    if a.ndim == 1:
        a, b = a[:, None], b[:, None]
    return bool(np.all(b.std(axis=0) < relative * a.std(axis=0)))
