"""Entropy measures of a scalar time series.

Definitions follow ../shared/specs/metrics.md and agree with antropy's
``perm_entropy``, ``sample_entropy`` and ``spectral_entropy`` on the same
inputs (tested to 1e-6). The kernels are numba-compiled lazily with
``cache=True``: importing this module compiles nothing, so there is no
import-time stall; the first call in a fresh environment compiles once and
later processes load the cached machine code.

Differences from antropy, on purpose:

- sample entropy counts a template match when the Chebyshev distance is
  ``<= r`` (antropy uses ``< r`` below 5000 points and ``<= r`` above, from its
  two code paths); the two only differ on exact ties;
- sample entropy and permutation entropy of a series too short for the order
  return NaN rather than raising.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numba as nb
import numpy as np

_JIT = {"cache": True, "nogil": True}


# ----------------------------------------------------------------------------- permutation


@nb.njit(**_JIT)
def _ordinal_counts(x: np.ndarray, order: int, delay: int) -> np.ndarray:
    """Counts of each ordinal pattern, indexed by the Lehmer code of the pattern.

    The pattern of a window is its argsort (stable: ties keep time order, as
    antropy's); its Lehmer code numbers the ``order!`` permutations densely,
    so the count array stays small (5040 entries at order 7).
    """
    n = x.size - (order - 1) * delay
    size = 1
    for k in range(2, order + 1):
        size *= k
    weight = np.empty(order, dtype=np.int64)  # (order - 1 - i)!
    f = 1
    for i in range(order - 1, -1, -1):
        weight[i] = f
        f *= max(1, order - i)
    counts = np.zeros(size, dtype=np.int64)
    window = np.empty(order)
    perm = np.empty(order, dtype=np.int64)
    for i in range(n):
        for k in range(order):
            window[k] = x[i + k * delay]
            perm[k] = k
        # insertion sort of indices by value (stable, order <= 10)
        for a in range(1, order):
            p = perm[a]
            v = window[p]
            b = a - 1
            while b >= 0 and window[perm[b]] > v:
                perm[b + 1] = perm[b]
                b -= 1
            perm[b + 1] = p
        code = 0
        for a in range(order - 1):
            smaller = 0
            for b in range(a + 1, order):
                if perm[b] < perm[a]:
                    smaller += 1
            code += smaller * weight[a]
        counts[code] += 1
    return counts


def permutation_entropy(
    x: np.ndarray, order: int = 3, delay: int = 1, normalize: bool = True
) -> float:
    """Permutation entropy (Bandt-Pompe) in bits.

    Parameters
    ----------
    x : ndarray, shape (n,)
    order : int
        Embedding dimension (pattern length), 2..10.
    delay : int
        Spacing of the pattern's samples.
    normalize : bool
        Divide by ``log2(order!)`` so the result lies in [0, 1].

    Returns
    -------
    float
        NaN if the series is shorter than one pattern.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    if not 2 <= order <= 10 or delay < 1:
        raise ValueError(f"need 2 <= order <= 10 and delay >= 1, got {order}, {delay}")
    if x.size - (order - 1) * delay < 1:
        return math.nan
    counts = _ordinal_counts(x, order, delay)
    p = counts[counts > 0] / counts.sum()
    h = float(-(p * np.log2(p)).sum())
    if normalize:
        h = min(max(h / math.log2(math.factorial(order)), 0.0), 1.0)
    return h


def coarse_grain(x: np.ndarray, scale: int) -> np.ndarray:
    """Means of consecutive non-overlapping windows of ``scale`` samples (Costa et al.)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size // scale
    return x[: n * scale].reshape(n, scale).mean(axis=1)


def multiscale_permutation_entropy(
    x: np.ndarray, scales: Sequence[int] = range(1, 11), order: int = 3, delay: int = 1
) -> np.ndarray:
    """Normalised permutation entropy of the coarse-grained series at each scale.

    The delay shrinks with the scale (``max(1, round(delay / scale))``) so the
    pattern always spans about the same time.
    """
    return np.array(
        [permutation_entropy(coarse_grain(x, s), order, max(1, round(delay / s))) for s in scales]
    )


# ----------------------------------------------------------------------------- sample entropy


@nb.njit(**_JIT)
def _template_matches(x: np.ndarray, m: int, r: float) -> tuple[int, int]:
    """Pairs of templates of length m and m + 1 within Chebyshev distance r.

    Both counts are over the ``n - m`` templates that have an (m + 1)-th point.
    The templates are visited in the order of their first value, so only
    candidates within ``r`` in that coordinate are compared: cost grows with
    the number of near pairs, not with ``n**2``.
    """
    n_t = x.size - m
    first = x[:n_t]
    order = np.argsort(first)
    b = 0
    a = 0
    for ii in range(n_t):
        i = order[ii]
        xi = first[i]
        for jj in range(ii + 1, n_t):
            j = order[jj]
            if first[j] - xi > r:
                break
            ok = True
            for k in range(1, m):
                if abs(x[i + k] - x[j + k]) > r:
                    ok = False
                    break
            if ok:
                b += 1
                if abs(x[i + m] - x[j + m]) <= r:
                    a += 1
    return b, a


def sample_entropy(x: np.ndarray, order: int = 2, tolerance: float | None = None) -> float:
    """Sample entropy ``-ln(A / B)`` (Richman and Moorman 2000), Chebyshev distance.

    Parameters
    ----------
    x : ndarray, shape (n,)
    order : int
        Template length ``m``.
    tolerance : float, optional
        Match radius ``r``; default ``0.2 * std(x)`` (population std).

    Returns
    -------
    float
        NaN when no templates of length ``m`` match, inf when none of length
        ``m + 1`` do.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.size <= order + 1:
        return math.nan
    r = 0.2 * float(np.std(x)) if tolerance is None else float(tolerance)
    b, a = _template_matches(x, order, r)
    if b == 0:
        return math.nan
    if a == 0:
        return math.inf
    return -math.log(a / b)


def multiscale_sample_entropy(
    x: np.ndarray, scales: Sequence[int] = range(1, 11), order: int = 2
) -> np.ndarray:
    """Sample entropy of the coarse-grained series, ``r`` fixed at 0.2 std of the original."""
    r = 0.2 * float(np.std(np.asarray(x, dtype=np.float64)))
    return np.array([sample_entropy(coarse_grain(x, s), order, r) for s in scales])


# ----------------------------------------------------------------------------- spectral


def spectral_entropy(
    x: np.ndarray,
    sf: float = 1.0,
    method: str = "fft",
    nperseg: int | None = None,
    normalize: bool = True,
) -> float:
    """Shannon entropy (bits) of the normalised power spectrum.

    Parameters
    ----------
    x : ndarray, shape (n,)
    sf : float
        Sampling frequency.
    method : {"fft", "welch"}
        One-sided periodogram of the whole series (mean removed, boxcar window),
        or Welch's average of Hann-windowed segments of ``nperseg`` samples
        (scipy's default 256).
    normalize : bool
        Divide by ``log2`` of the number of frequency bins.
    """
    from scipy.signal import periodogram, welch

    x = np.asarray(x, dtype=np.float64)
    if method == "fft":
        _, psd = periodogram(x, sf)
    elif method == "welch":
        _, psd = welch(x, sf, nperseg=nperseg)
    else:
        raise ValueError(f"method must be 'fft' or 'welch', got {method!r}")
    total = psd.sum()
    if not total > 0:
        return math.nan
    p = psd / total
    nz = p[p > 0]
    h = float(-(nz * np.log2(nz)).sum())
    return h / math.log2(psd.size) if normalize else h


# ----------------------------------------------------------------------------- invariant density


def histogram_probabilities(x: np.ndarray, bins: int = 64) -> np.ndarray:
    """Occupation probabilities of ``bins`` equal-width bins spanning ``[min, max]`` of ``x``.

    The bin rule is a fixed count over the observed range, so normalised
    entropies of different systems and variables are on one scale.
    """
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return np.zeros(bins)
    lo, hi = float(x.min()), float(x.max())
    if hi == lo:
        p = np.zeros(bins)
        p[0] = 1.0
        return p
    h, _ = np.histogram(x, bins=bins, range=(lo, hi))
    return h / h.sum()


def shannon_entropy(p: np.ndarray) -> float:
    """``-sum p ln p / ln(bins)``: 0 for a point mass, 1 for a uniform density."""
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum() / math.log(p.size))


def renyi_entropy(p: np.ndarray, alpha: float = 2.0) -> float:
    """``ln(sum p**alpha) / (1 - alpha) / ln(bins)``, normalised to [0, 1]."""
    if alpha == 1.0:
        return shannon_entropy(p)
    return float(math.log(np.sum(p**alpha)) / (1.0 - alpha) / math.log(p.size))


def tsallis_entropy(p: np.ndarray, q: float = 2.0) -> float:
    """``(1 - sum p**q) / (q - 1)`` divided by its maximum ``(1 - bins**(1 - q)) / (q - 1)``."""
    if q == 1.0:
        return shannon_entropy(p)
    return float((1.0 - np.sum(p**q)) / (1.0 - p.size ** (1.0 - q)))


# ----------------------------------------------------------------------------- profile

ORDERS = tuple(range(3, 8))
SCALES = tuple(range(1, 11))


def entropy_profile(
    x: np.ndarray, delay: int = 1, sf: float = 1.0, bins: int = 64
) -> dict[str, float | np.ndarray]:
    """Every entropy of ``entropy.nc`` for one scalar series.

    Parameters
    ----------
    x : ndarray, shape (n,)
    delay : int
        Permutation-entropy delay (about a tenth of the dominant period).
    sf : float
        Sampling frequency for the spectral entropies.
    bins : int
        Histogram bins for the invariant-density entropies.

    Returns
    -------
    dict
        Keys as :data:`chaosatlas.diagnostics.stage.ENTROPY_MEASURES`.
    """
    x = np.asarray(x, dtype=np.float64)
    p = histogram_probabilities(x, bins)
    # an infinite sample entropy (no matching (m + 1)-templates) is stored as NaN
    finite = lambda v: np.where(np.isinf(v), np.nan, v)  # noqa: E731
    return {
        "permutation_entropy": np.array([permutation_entropy(x, o, delay) for o in ORDERS]),
        "multiscale_permutation_entropy": multiscale_permutation_entropy(x, SCALES, 3, delay),
        "sample_entropy": float(finite(sample_entropy(x))),
        "multiscale_sample_entropy": finite(multiscale_sample_entropy(x, SCALES)),
        "spectral_entropy_welch": spectral_entropy(x, sf, "welch"),
        "spectral_entropy_fft": spectral_entropy(x, sf, "fft"),
        "shannon_entropy": shannon_entropy(p),
        "renyi_entropy": renyi_entropy(p, 2.0),
        "tsallis_entropy": tsallis_entropy(p, 2.0),
    }
