"""Kernels that do not depend on a system: compiled (and cached) once, shared by all.

The generated system modules (:mod:`chaosatlas.integrate.kernels_template`)
import these instead of carrying their own copy, so a cold cache compiles them
once rather than once per system (about a third of the compile time of a
system's Lyapunov kernel). A change here changes every generated module's
source (it embeds this file's hash), so no stale cached kernel survives it.
"""

from __future__ import annotations

import math

from numba import njit

STATUS_OK = 0
STATUS_NONFINITE = 1
STATUS_BOUND = 2
STATUS_MAX_STEPS = 3
STATUS_UNDERFLOW = 4
STATUS_BAD_GRID = 5


@njit(cache=True, nogil=True, error_model="numpy")
def _check_state(y, bound, bounded):
    for d in range(y.shape[0]):
        v = y[d]
        if not math.isfinite(v):
            return STATUS_NONFINITE
        if bounded[d] and abs(v) > bound:
            return STATUS_BOUND
    return STATUS_OK


@njit(cache=True, nogil=True, error_model="numpy")
def _check_grid(t_eval):
    for k in range(1, t_eval.shape[0]):
        if not (t_eval[k] >= t_eval[k - 1]):
            return False
    return t_eval.shape[0] > 0


@njit(cache=True, nogil=True, error_model="numpy")
def _rms_scaled(v, scale):
    acc = 0.0
    for d in range(v.shape[0]):
        q = v[d] / scale[d]
        acc += q * q
    return math.sqrt(acc / v.shape[0])


@njit(cache=True, nogil=True, error_model="numpy")
def _hermite(xs, fs, i, theta, h, var):
    t2 = theta * theta
    t3 = t2 * theta
    return (
        (2.0 * t3 - 3.0 * t2 + 1.0) * xs[i, var]
        + (t3 - 2.0 * t2 + theta) * h * fs[i, var]
        + (-2.0 * t3 + 3.0 * t2) * xs[i + 1, var]
        + (t3 - t2) * h * fs[i + 1, var]
    )


@njit(cache=True, nogil=True, error_model="numpy")
def _history(s, t0, h, last, xs, fs, x0, var):
    """State ``var`` at time ``s`` from the constant history and the grid so far."""
    if s <= t0:
        return x0[var]
    u = (s - t0) / h
    i = int(math.floor(u))
    if i >= last:
        i = last - 1
    if i < 0:
        i = 0
    theta = (s - (t0 + i * h)) / h
    return _hermite(xs, fs, i, theta, h, var)


@njit(cache=True, nogil=True, error_model="numpy")
def _delayed(s, taus, delay_var, t0, h, last, xs, fs, x0, xd):
    for k in range(taus.shape[0]):
        xd[k] = _history(s - taus[k], t0, h, last, xs, fs, x0, delay_var[k])


@njit(cache=True, nogil=True, error_model="numpy")
def _gram_schmidt(Q, logs, accumulate):
    """Modified Gram-Schmidt on the columns of Q in place; add log R_ii to ``logs``.

    A column that collapses (a singular Jacobian, e.g. a map at a critical
    point) is replaced by a basis vector orthogonal to the earlier columns, and
    counts as a contraction by 1e-300."""
    n, k = Q.shape
    for j in range(k):
        for i in range(j):
            r = 0.0
            for d in range(n):
                r += Q[d, i] * Q[d, j]
            for d in range(n):
                Q[d, j] -= r * Q[d, i]
        norm = 0.0
        for d in range(n):
            norm += Q[d, j] * Q[d, j]
        norm = math.sqrt(norm)
        if not (norm > 1e-300) or not math.isfinite(norm):
            for e in range(n):
                for d in range(n):
                    Q[d, j] = 1.0 if d == (j + e) % n else 0.0
                for i in range(j):
                    r = Q[(j + e) % n, i]
                    for d in range(n):
                        Q[d, j] -= r * Q[d, i]
                fresh = 0.0
                for d in range(n):
                    fresh += Q[d, j] * Q[d, j]
                fresh = math.sqrt(fresh)
                if fresh > 1e-8:
                    break
            for d in range(n):
                Q[d, j] /= fresh
            if accumulate:
                logs[j] += math.log(1e-300)
            continue
        if accumulate:
            logs[j] += math.log(norm)
        for d in range(n):
            Q[d, j] /= norm
