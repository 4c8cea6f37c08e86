"""The 0-1 test for chaos (Gottwald and Melbourne 2004, 2009).

The modified test: the mean-square displacement of the translation variables
``p_c, q_c`` minus its oscillatory term ``(E phi)^2 (1 - cos nc) / (1 - cos c)``,
correlated with ``n``; ``K`` is the median over random frequencies ``c`` in
``(pi/5, 4pi/5)`` (away from the resonances at 0 and pi). ``K`` near 1 means
chaos, near 0 regular motion.

On oversampled data the test wrongly returns ``K ~ 0`` (the observable looks
smooth on the scale of the sampling): :func:`zero_one_for_series` first
decimates a flow's series to a few samples per dominant period.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

#: samples per dominant period that :func:`zero_one_for_series` keeps for flows
SAMPLES_PER_PERIOD = 2.0


@nb.njit(cache=True, nogil=True)
def _k_statistics(phi: np.ndarray, cs: np.ndarray, n_cut: int) -> np.ndarray:
    n = phi.size
    mean = 0.0
    for j in range(n):
        mean += phi[j]
    mean /= n
    m_len = n - n_cut  # every displacement is averaged over the same number of terms
    ks = np.empty(cs.size)
    p = np.empty(n)
    q = np.empty(n)
    d = np.empty(n_cut)
    xi = np.arange(1, n_cut + 1).astype(np.float64)
    for ci in range(cs.size):
        c = cs[ci]
        sp = 0.0
        sq = 0.0
        for j in range(n):
            sp += phi[j] * math.cos((j + 1) * c)
            sq += phi[j] * math.sin((j + 1) * c)
            p[j] = sp
            q[j] = sq
        for lag in range(1, n_cut + 1):
            acc = 0.0
            for j in range(m_len):
                dp = p[j + lag] - p[j]
                dq = q[j + lag] - q[j]
                acc += dp * dp + dq * dq
            osc = mean * mean * (1.0 - math.cos(lag * c)) / (1.0 - math.cos(c))
            d[lag - 1] = acc / m_len - osc
        # Pearson correlation of (lag, D_c(lag))
        mx = xi.mean()
        md = d.mean()
        sxy = 0.0
        sxx = 0.0
        syy = 0.0
        for k in range(n_cut):
            sxy += (xi[k] - mx) * (d[k] - md)
            sxx += (xi[k] - mx) ** 2
            syy += (d[k] - md) ** 2
        ks[ci] = sxy / math.sqrt(sxx * syy) if syy > 0 else 0.0
    return ks


def zero_one_test(phi: np.ndarray, n_c: int = 100, seed: int | None = None) -> float:
    """Median ``K`` of the modified 0-1 test on one observable.

    Parameters
    ----------
    phi : ndarray, shape (n,)
        The observable, already sampled at a sensible rate.
    n_c : int
        Number of random frequencies ``c``.
    seed : int, optional
        Seed of those frequencies.

    Returns
    -------
    float
        ``K`` in about [-1, 1]; 0 for a constant series.
    """
    phi = np.ascontiguousarray(phi, dtype=np.float64)
    phi = phi[np.isfinite(phi)]
    if phi.size < 100:
        raise ValueError(f"the 0-1 test needs at least 100 samples, got {phi.size}")
    if np.ptp(phi) == 0.0:
        return 0.0
    cs = np.random.default_rng(seed).uniform(math.pi / 5, 4 * math.pi / 5, n_c)
    n_cut = phi.size // 10
    return float(np.median(_k_statistics(phi, cs, n_cut)))


def zero_one_for_series(
    x: np.ndarray,
    period: float,
    dt: float,
    *,
    n_c: int = 100,
    max_samples: int = 2000,
    samples_per_period: float = SAMPLES_PER_PERIOD,
    seed: int | None = None,
) -> float:
    """The 0-1 test on a (multivariate) trajectory, decimated first.

    Every variable is decimated to about ``samples_per_period`` samples per
    ``period`` (maps: ``period = dt = 1``, no decimation), truncated to
    ``max_samples``, and tested; the result is the median ``K`` over the
    variables.

    Parameters
    ----------
    x : ndarray, shape (n,) or (n, d)
    period : float
        Dominant period of the series, in the units of ``dt``.
    dt : float
        Sampling interval of ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    stride = max(1, int(round(period / samples_per_period / dt))) if period > 0 else 1
    xd = x[::stride][:max_samples]
    return float(np.median([zero_one_test(xd[:, j], n_c, seed) for j in range(xd.shape[1])]))
