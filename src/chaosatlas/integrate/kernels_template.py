"""Integrator kernels, pasted into every generated system module.

Why a template: numba cannot cache a kernel that receives the right-hand side
as a function argument (it recompiles in every process), but it caches a
kernel that calls a module-global ``rhs``. So each system gets one small
generated module: its ``rhs``/``jac`` followed by the text of this file after
the marker line. The stubs above the marker only make this file importable and
lintable on its own.

Conventions shared by all kernels
---------------------------------
- ``X0`` is ``(batch, dim)``, ``P`` is ``(batch, n_parameters)``; each row is
  integrated independently, in order (no reductions across rows, so results do
  not depend on how a batch is split).
- ``out`` is ``(batch, n_times, dim)``; entries after a failure are NaN.
- ``status`` codes: 0 ok, 1 non-finite state, 2 beyond the bound, 3 step budget
  exhausted, 4 step size underflow, 5 invalid time grid. ``t_fail`` holds the
  time of the failure (NaN when ok).
"""

# ruff: noqa: E402, F811
from __future__ import annotations

import math

import numpy as np
from numba import njit

from chaosatlas.integrate.tableau import DOP_A, DOP_B, DOP_C, DOP_D, DOP_E3, DOP_E5

DIM = 1
NDELAY = 0


def rhs(t, x, xd, p, out):  # pragma: no cover - replaced in generated modules
    raise NotImplementedError


def jac(t, x, xd, p, out):  # pragma: no cover
    raise NotImplementedError


def delay_times(p, out):  # pragma: no cover
    raise NotImplementedError


# ---- BEGIN KERNELS ----
from chaosatlas.integrate.kernels_common import (
    STATUS_BAD_GRID,
    STATUS_MAX_STEPS,
    STATUS_NONFINITE,
    STATUS_OK,
    STATUS_UNDERFLOW,
    _check_grid,
    _check_state,
    _delayed,
    _gram_schmidt,
    _history,
    _rms_scaled,
)


@njit(cache=True, nogil=True, error_model="numpy")
def rhs_batch(t, X, XD, P, out):
    """Evaluate the right-hand side (or map) for each row."""
    for b in range(X.shape[0]):
        rhs(t, X[b], XD[b], P[b], out[b])


@njit(cache=True, nogil=True, error_model="numpy")
def jac_batch(t, X, XD, P, out):
    """Evaluate the Jacobian for each row; ``out`` is ``(batch, dim, dim)``."""
    for b in range(X.shape[0]):
        for r in range(out.shape[1]):
            for c in range(out.shape[2]):
                out[b, r, c] = 0.0
        jac(t, X[b], XD[b], P[b], out[b])


# ---------------------------------------------------------------- RK4


@njit(cache=True, nogil=True, error_model="numpy")
def _rk4_one(x0, t_eval, p, h_max, bound, bounded, max_steps, out):
    n = x0.shape[0]
    xd = np.zeros(NDELAY)
    y = x0.copy()
    k1 = np.empty(n)
    k2 = np.empty(n)
    k3 = np.empty(n)
    k4 = np.empty(n)
    tmp = np.empty(n)
    for d in range(n):
        out[0, d] = y[d]
    steps = 0
    for k in range(1, t_eval.shape[0]):
        t_start = t_eval[k - 1]
        span = t_eval[k] - t_start
        m = max(1, int(math.ceil(span / h_max - 1e-9)))
        h = span / m
        for s in range(m):
            t = t_start + s * h
            rhs(t, y, xd, p, k1)
            for d in range(n):
                tmp[d] = y[d] + 0.5 * h * k1[d]
            rhs(t + 0.5 * h, tmp, xd, p, k2)
            for d in range(n):
                tmp[d] = y[d] + 0.5 * h * k2[d]
            rhs(t + 0.5 * h, tmp, xd, p, k3)
            for d in range(n):
                tmp[d] = y[d] + h * k3[d]
            rhs(t + h, tmp, xd, p, k4)
            for d in range(n):
                y[d] = y[d] + h * (k1[d] + 2.0 * k2[d] + 2.0 * k3[d] + k4[d]) / 6.0
            steps += 1
            code = _check_state(y, bound, bounded)
            if code != STATUS_OK:
                return code, t + h, steps
            if steps >= max_steps and (s < m - 1 or k < t_eval.shape[0] - 1):
                return STATUS_MAX_STEPS, t + h, steps
        for d in range(n):
            out[k, d] = y[d]
    return STATUS_OK, np.nan, steps


@njit(cache=True, nogil=True, error_model="numpy")
def rk4_batch(X0, t_eval, P, h_max, bound, bounded, max_steps, out, status, t_fail, n_steps):
    """Classical fixed-step RK4; each output interval is split into equal steps <= h_max."""
    good = _check_grid(t_eval)
    for b in range(X0.shape[0]):
        out[b, :, :] = np.nan
        if not good:
            status[b] = STATUS_BAD_GRID
            t_fail[b] = np.nan
            n_steps[b] = 0
            continue
        code, tf, steps = _rk4_one(X0[b], t_eval, P[b], h_max, bound, bounded, max_steps, out[b])
        status[b] = code
        t_fail[b] = tf
        n_steps[b] = steps


# ---------------------------------------------------------------- DOP853


@njit(cache=True, nogil=True, error_model="numpy")
def _initial_step(t0, y0, f0, p, xd, rtol, atol, order, h_limit):
    """Hairer's starting-step heuristic (HNW I, section II.4)."""
    n = y0.shape[0]
    scale = np.empty(n)
    for d in range(n):
        scale[d] = atol + abs(y0[d]) * rtol
    d0 = _rms_scaled(y0, scale)
    d1 = _rms_scaled(f0, scale)
    if d0 < 1e-5 or d1 < 1e-5:
        h0 = 1e-6
    else:
        h0 = 0.01 * d0 / d1
    h0 = min(h0, h_limit)
    y1 = np.empty(n)
    for d in range(n):
        y1[d] = y0[d] + h0 * f0[d]
    f1 = np.empty(n)
    rhs(t0 + h0, y1, xd, p, f1)
    for d in range(n):
        y1[d] = f1[d] - f0[d]
    d2 = _rms_scaled(y1, scale) / h0
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / (order + 1))
    return min(100 * h0, h1, h_limit)


@njit(cache=True, nogil=True, error_model="numpy")
def dop853_batch(
    X0, t_eval, P, rtol, atol, h_max, bound, bounded, max_steps, out, status, t_fail, n_steps
):
    """Adaptive Dormand-Prince 8(5,3) with dense output at ``t_eval``.

    Step-size control and error norm as in Hairer's DOP853 (HNW I, II.10). The
    per-trajectory loop is written out here rather than in a helper: every
    extra compiled function level costs about a third more compile time per
    system, and each system compiles its own copy.
    """
    n = X0.shape[1]
    n_out = t_eval.shape[0]
    good = _check_grid(t_eval)
    xd = np.zeros(NDELAY)
    K = np.empty((16, n))
    F = np.empty((7, n))
    y = np.empty(n)
    y_new = np.empty(n)
    tmp = np.empty(n)
    exponent = -1.0 / 8.0
    tiny = 10.0 * np.finfo(np.float64).eps
    for b in range(X0.shape[0]):
        out[b, :, :] = np.nan
        status[b] = STATUS_OK
        t_fail[b] = np.nan
        n_steps[b] = 0
        if not good:
            status[b] = STATUS_BAD_GRID
            continue
        p = P[b]
        for d in range(n):
            y[d] = X0[b, d]
        t = t_eval[0]
        t_end = t_eval[n_out - 1]
        k_out = 0
        while k_out < n_out and t_eval[k_out] <= t:
            for d in range(n):
                out[b, k_out, d] = y[d]
            k_out += 1
        if k_out == n_out:
            continue
        rhs(t, y, xd, p, K[0])
        code = _check_state(K[0], np.inf, bounded)
        if code != STATUS_OK:
            status[b] = code
            t_fail[b] = t
            continue
        h = _initial_step(t, y, K[0], p, xd, rtol, atol, 7, min(h_max, t_end - t))
        rejected = False
        steps = 0
        tf = np.nan
        while True:
            if steps >= max_steps:
                code = STATUS_MAX_STEPS
                tf = t
                break
            if t + h > t_end:
                h = t_end - t
            if h <= tiny * max(abs(t), 1.0):
                code = STATUS_UNDERFLOW
                tf = t
                break
            for s in range(1, 12):
                for d in range(n):
                    acc = 0.0
                    for r in range(s):
                        acc += DOP_A[s, r] * K[r, d]
                    tmp[d] = y[d] + h * acc
                rhs(t + DOP_C[s] * h, tmp, xd, p, K[s])
            for d in range(n):
                acc = 0.0
                for r in range(12):
                    acc += DOP_B[r] * K[r, d]
                y_new[d] = y[d] + h * acc
            rhs(t + h, y_new, xd, p, K[12])
            err5 = 0.0
            err3 = 0.0
            for d in range(n):
                sc = atol + rtol * max(abs(y[d]), abs(y_new[d]))
                e5 = 0.0
                e3 = 0.0
                for r in range(13):
                    e5 += DOP_E5[r] * K[r, d]
                    e3 += DOP_E3[r] * K[r, d]
                e5 /= sc
                e3 /= sc
                err5 += e5 * e5
                err3 += e3 * e3
            if err5 == 0.0 and err3 == 0.0:
                err = 0.0
            else:
                err = abs(h) * err5 / math.sqrt((err5 + 0.01 * err3) * n)
            steps += 1
            if err < 1.0:
                if err == 0.0:
                    factor = 10.0
                else:
                    factor = min(10.0, 0.9 * err**exponent)
                if rejected:
                    factor = min(1.0, factor)
                t_new = t + h
                if t_new >= t_end:
                    t_new = t_end
                code = _check_state(y_new, bound, bounded)
                if code == STATUS_OK:
                    code = _check_state(K[12], np.inf, bounded)
                if code != STATUS_OK:
                    tf = t_new
                    break
                if k_out < n_out and t_eval[k_out] <= t_new:
                    # Dense output of order 7: three more stages, then the
                    # interpolating polynomial in nested form.
                    for s in range(13, 16):
                        for d in range(n):
                            acc = 0.0
                            for r in range(s):
                                acc += DOP_A[s, r] * K[r, d]
                            tmp[d] = y[d] + h * acc
                        rhs(t + DOP_C[s] * h, tmp, xd, p, K[s])
                    for d in range(n):
                        dy = y_new[d] - y[d]
                        F[0, d] = dy
                        F[1, d] = h * K[0, d] - dy
                        F[2, d] = 2.0 * dy - h * (K[12, d] + K[0, d])
                        for m in range(4):
                            acc = 0.0
                            for r in range(16):
                                acc += DOP_D[m, r] * K[r, d]
                            F[3 + m, d] = h * acc
                    while k_out < n_out and t_eval[k_out] <= t_new:
                        if t_eval[k_out] == t_new:
                            for d in range(n):
                                out[b, k_out, d] = y_new[d]
                        else:
                            theta = (t_eval[k_out] - t) / h
                            for d in range(n):
                                v = 0.0
                                for q in range(7):
                                    v += F[6 - q, d]
                                    if q % 2 == 0:
                                        v *= theta
                                    else:
                                        v *= 1.0 - theta
                                out[b, k_out, d] = v + y[d]
                        k_out += 1
                for d in range(n):
                    y[d] = y_new[d]
                    K[0, d] = K[12, d]
                t = t_new
                if k_out >= n_out:
                    break
                h = min(h * factor, h_max)
                rejected = False
            else:
                if err != err:  # NaN from a blown-up stage: shrink hard
                    factor = 0.2
                else:
                    factor = max(0.2, 0.9 * err**exponent)
                h *= factor
                rejected = True
        status[b] = code
        t_fail[b] = tf
        n_steps[b] = steps
        if code != STATUS_OK:
            for k in range(k_out, n_out):
                for d in range(n):
                    out[b, k, d] = np.nan


# ---------------------------------------------------------------- maps


@njit(cache=True, nogil=True, error_model="numpy")
def map_batch(X0, n_eval, P, bound, bounded, max_steps, out, status, t_fail, n_steps):
    """Iterate a map; ``n_eval`` are ascending integer iteration counts."""
    n = X0.shape[1]
    xd = np.zeros(NDELAY)
    y = np.empty(n)
    y_next = np.empty(n)
    good = True
    for k in range(1, n_eval.shape[0]):
        if n_eval[k] < n_eval[k - 1]:
            good = False
    for b in range(X0.shape[0]):
        out[b, :, :] = np.nan
        status[b] = STATUS_OK
        t_fail[b] = np.nan
        n_steps[b] = 0
        if not good or n_eval.shape[0] == 0:
            status[b] = STATUS_BAD_GRID
            continue
        if n_eval[n_eval.shape[0] - 1] - n_eval[0] > max_steps:
            status[b] = STATUS_MAX_STEPS
            t_fail[b] = n_eval[0] + max_steps
            continue
        for d in range(n):
            y[d] = X0[b, d]
            out[b, 0, d] = y[d]
        it = n_eval[0]
        failed = False
        for k in range(1, n_eval.shape[0]):
            while it < n_eval[k]:
                rhs(float(it), y, xd, P[b], y_next)
                it += 1
                for d in range(n):
                    y[d] = y_next[d]
                code = _check_state(y, bound, bounded)
                if code != STATUS_OK:
                    status[b] = code
                    t_fail[b] = it
                    failed = True
                    break
            if failed:
                break
            for d in range(n):
                out[b, k, d] = y[d]
        n_steps[b] = it - n_eval[0]


# ---------------------------------------------------------------- delay equations


@njit(cache=True, nogil=True, error_model="numpy")
def _dde_rk4_step(step, t0, h, taus, delay_var, xs, fs, x0, p, xd, k1, k2, k3, k4, tmp):
    """One RK4 step of the method of steps: grid point ``step`` -> ``step + 1`` (state and slope)."""
    n = xs.shape[1]
    t = t0 + step * h
    last = max(step, 1)  # grid points 0..step are known
    for d in range(n):
        k1[d] = fs[step, d]
        tmp[d] = xs[step, d] + 0.5 * h * k1[d]
    _delayed(t + 0.5 * h, taus, delay_var, t0, h, last, xs, fs, x0, xd)
    rhs(t + 0.5 * h, tmp, xd, p, k2)
    for d in range(n):
        tmp[d] = xs[step, d] + 0.5 * h * k2[d]
    rhs(t + 0.5 * h, tmp, xd, p, k3)
    for d in range(n):
        tmp[d] = xs[step, d] + h * k3[d]
    _delayed(t + h, taus, delay_var, t0, h, last, xs, fs, x0, xd)
    rhs(t + h, tmp, xd, p, k4)
    for d in range(n):
        xs[step + 1, d] = xs[step, d] + h * (k1[d] + 2.0 * k2[d] + 2.0 * k3[d] + k4[d]) / 6.0
    rhs(t + h, xs[step + 1], xd, p, fs[step + 1])


@njit(cache=True, nogil=True, error_model="numpy")
def _dde_one(x0, t_eval, p, delay_var, h_req, bound, bounded, max_steps, out):
    n = x0.shape[0]
    taus = np.empty(NDELAY)
    delay_times(p, taus)
    h = h_req
    for k in range(NDELAY):
        if not (taus[k] > 0):
            return STATUS_BAD_GRID, t_eval[0], 0
        h = min(h, taus[k])  # keeps every delayed time in the computed past
    t0 = t_eval[0]
    t_end = t_eval[t_eval.shape[0] - 1]
    n_grid = int(math.ceil((t_end - t0) / h - 1e-9))
    if n_grid < 1:
        n_grid = 1
    if n_grid > max_steps:
        return STATUS_MAX_STEPS, t0 + max_steps * h, 0
    h = (t_end - t0) / n_grid if t_end > t0 else h
    xs = np.empty((n_grid + 1, n))
    fs = np.empty((n_grid + 1, n))
    xd = np.empty(NDELAY)
    k1 = np.empty(n)
    k2 = np.empty(n)
    k3 = np.empty(n)
    k4 = np.empty(n)
    tmp = np.empty(n)
    for d in range(n):
        xs[0, d] = x0[d]
    _delayed(t0, taus, delay_var, t0, h, 0, xs, fs, x0, xd)
    rhs(t0, xs[0], xd, p, fs[0])
    for step in range(n_grid):
        _dde_rk4_step(step, t0, h, taus, delay_var, xs, fs, x0, p, xd, k1, k2, k3, k4, tmp)
        code = _check_state(xs[step + 1], bound, bounded)
        if code != STATUS_OK:
            return code, t0 + (step + 1) * h, step + 1
    for k in range(t_eval.shape[0]):
        for d in range(n):
            out[k, d] = _history(t_eval[k], t0, h, n_grid, xs, fs, x0, d)
    for d in range(n):
        out[0, d] = x0[d]
        out[t_eval.shape[0] - 1, d] = xs[n_grid, d]
    return STATUS_OK, np.nan, n_grid


@njit(cache=True, nogil=True, error_model="numpy")
def dde_batch(
    X0, t_eval, P, delay_var, h_max, bound, bounded, max_steps, out, status, t_fail, n_steps
):
    """Delay equations by the method of steps: RK4 on a uniform grid with h <= min delay,
    delayed states from cubic Hermite interpolation of the computed grid (constant history)."""
    good = _check_grid(t_eval)
    for b in range(X0.shape[0]):
        out[b, :, :] = np.nan
        if not good:
            status[b] = STATUS_BAD_GRID
            t_fail[b] = np.nan
            n_steps[b] = 0
            continue
        code, tf, steps = _dde_one(
            X0[b], t_eval, P[b], delay_var, h_max, bound, bounded, max_steps, out[b]
        )
        status[b] = code
        t_fail[b] = tf
        n_steps[b] = steps


# ---------------------------------------------------------------- Lyapunov exponents


@njit(cache=True, nogil=True, error_model="numpy")
def _tangent_slope(t, x, p, xd, J, Q, fx, fQ):
    """State slope and tangent slope J(x) Q; returns trace J (the divergence)."""
    n = x.shape[0]
    rhs(t, x, xd, p, fx)
    for r in range(n):
        for c in range(n):
            J[r, c] = 0.0
    jac(t, x, xd, p, J)
    for r in range(n):
        for c in range(Q.shape[1]):
            acc = 0.0
            for m in range(n):
                acc += J[r, m] * Q[m, c]
            fQ[r, c] = acc
    tr = 0.0
    for r in range(n):
        tr += J[r, r]
    return tr


@njit(cache=True, nogil=True, error_model="numpy")
def lyapunov_flow_batch(
    X0,
    P,
    h_max,
    t_transient,
    t_average,
    qr_every,
    bound,
    bounded,
    max_steps,
    logs,
    divergence,
    averaged,
    status,
):
    """Benettin/QR on the variational equations: RK4 for state and tangent vectors together.

    The step is ``h_max``, shortened where the Jacobian is stiff
    (h <= 0.5 / ||J||_inf at the step's start), because a fixed step through a
    fast relaxation (e.g. a relaxation oscillation) gets the contracting
    exponents wrong. ``logs`` (batch, k) receives sum log R_ii after the
    transient; ``divergence`` (batch,) the integral of trace J over the same time
    (Simpson weights of the RK4 stages), so sum(logs) and divergence agree up to
    the step error; ``averaged`` (batch,) that time. Q is aligned during the
    transient (its growth is not counted).
    """
    n = X0.shape[1]
    k = logs.shape[1]
    xd = np.zeros(NDELAY)
    J = np.zeros((n, n))
    x = np.empty(n)
    xt = np.empty(n)
    Q = np.empty((n, k))
    Qt = np.empty((n, k))
    k1x = np.empty(n)
    k2x = np.empty(n)
    k3x = np.empty(n)
    k4x = np.empty(n)
    k1Q = np.empty((n, k))
    k2Q = np.empty((n, k))
    k3Q = np.empty((n, k))
    k4Q = np.empty((n, k))
    t_end = t_transient + t_average
    for b in range(X0.shape[0]):
        p = P[b]
        status[b] = STATUS_OK
        divergence[b] = 0.0
        averaged[b] = 0.0
        for j in range(k):
            logs[b, j] = 0.0
        for d in range(n):
            x[d] = X0[b, d]
            for j in range(k):
                Q[d, j] = 1.0 if d == j else 0.0
        t = 0.0
        step = 0
        eps_t = 1e-12 * max(1.0, t_end)
        while t_end - t > eps_t:
            if step >= max_steps:
                status[b] = STATUS_MAX_STEPS
                break
            tr1 = _tangent_slope(t, x, p, xd, J, Q, k1x, k1Q)
            stiff = 0.0
            for r in range(n):
                row = 0.0
                for c in range(n):
                    row += abs(J[r, c])
                stiff = max(stiff, row)
            h = h_max
            if stiff * h > 0.5:
                h = 0.5 / stiff
            counting = t >= t_transient - eps_t
            if not counting and t + h > t_transient:
                h = t_transient - t
            if t + h > t_end:
                h = t_end - t
            if h <= 1e-13 * max(1.0, abs(t)):
                status[b] = STATUS_UNDERFLOW
                break
            for d in range(n):
                xt[d] = x[d] + 0.5 * h * k1x[d]
                for j in range(k):
                    Qt[d, j] = Q[d, j] + 0.5 * h * k1Q[d, j]
            tr2 = _tangent_slope(t + 0.5 * h, xt, p, xd, J, Qt, k2x, k2Q)
            for d in range(n):
                xt[d] = x[d] + 0.5 * h * k2x[d]
                for j in range(k):
                    Qt[d, j] = Q[d, j] + 0.5 * h * k2Q[d, j]
            tr3 = _tangent_slope(t + 0.5 * h, xt, p, xd, J, Qt, k3x, k3Q)
            for d in range(n):
                xt[d] = x[d] + h * k3x[d]
                for j in range(k):
                    Qt[d, j] = Q[d, j] + h * k3Q[d, j]
            tr4 = _tangent_slope(t + h, xt, p, xd, J, Qt, k4x, k4Q)
            for d in range(n):
                x[d] += h * (k1x[d] + 2.0 * k2x[d] + 2.0 * k3x[d] + k4x[d]) / 6.0
                for j in range(k):
                    Q[d, j] += h * (k1Q[d, j] + 2.0 * k2Q[d, j] + 2.0 * k3Q[d, j] + k4Q[d, j]) / 6.0
            if counting:
                divergence[b] += h * (tr1 + 2.0 * tr2 + 2.0 * tr3 + tr4) / 6.0
                averaged[b] += h
            t += h
            step += 1
            code = _check_state(x, bound, bounded)
            if code == STATUS_OK:
                code = _check_state(Q[:, 0], np.inf, bounded)
            if code != STATUS_OK:
                status[b] = code
                break
            # re-orthonormalise every qr_every steps, and exactly at the end of the transient
            if (
                step % qr_every == 0
                or t_end - t <= eps_t
                or (not counting and t >= t_transient - eps_t)
            ):
                _gram_schmidt(Q, logs[b], counting)


@njit(cache=True, nogil=True, error_model="numpy")
def lyapunov_map_batch(X0, P, n_transient, n_steps, bound, bounded, logs, divergence, status):
    """Benettin/QR for maps: Q <- J(x_n) Q, x <- f(x_n), re-orthonormalised every iteration.
    ``divergence`` accumulates log|det J| (the exact sum of all exponents)."""
    n = X0.shape[1]
    k = logs.shape[1]
    xd = np.zeros(NDELAY)
    J = np.zeros((n, n))
    x = np.empty(n)
    x_next = np.empty(n)
    Q = np.empty((n, k))
    Q_next = np.empty((n, k))
    for b in range(X0.shape[0]):
        p = P[b]
        status[b] = STATUS_OK
        divergence[b] = 0.0
        for j in range(k):
            logs[b, j] = 0.0
        for d in range(n):
            x[d] = X0[b, d]
            for j in range(k):
                Q[d, j] = 1.0 if d == j else 0.0
        for step in range(n_transient + n_steps):
            t = float(step)
            for r in range(n):
                for c in range(n):
                    J[r, c] = 0.0
            jac(t, x, xd, p, J)
            rhs(t, x, xd, p, x_next)
            for r in range(n):
                for c in range(k):
                    acc = 0.0
                    for m in range(n):
                        acc += J[r, m] * Q[m, c]
                    Q_next[r, c] = acc
            counting = step >= n_transient
            if counting:
                divergence[b] += math.log(abs(np.linalg.det(J)))
            for d in range(n):
                x[d] = x_next[d]
                for j in range(k):
                    Q[d, j] = Q_next[d, j]
            code = _check_state(x, bound, bounded)
            if code != STATUS_OK:
                status[b] = code
                break
            _gram_schmidt(Q, logs[b], counting)


@njit(cache=True, nogil=True, error_model="numpy")
def lyapunov_dde_batch(
    X0, P, delay_var, h, n_transient, n_steps, renorm_every, d0, bound, bounded, logs, status
):
    """Largest exponent of a delay equation: a reference and a perturbed solution on the
    same grid; every ``renorm_every`` steps the perturbation of the whole discretised
    history (the last max-delay window of grid states) is scaled back to ``d0``."""
    n = X0.shape[1]
    taus = np.empty(NDELAY)
    xd = np.empty(NDELAY)
    k1 = np.empty(n)
    k2 = np.empty(n)
    k3 = np.empty(n)
    k4 = np.empty(n)
    tmp = np.empty(n)
    total = n_transient + n_steps
    for b in range(X0.shape[0]):
        p = P[b]
        status[b] = STATUS_OK
        logs[b, 0] = 0.0
        delay_times(p, taus)
        window = 1
        for q in range(NDELAY):
            window = max(window, int(math.ceil(taus[q] / h)) + 1)
        xs = np.empty((total + 1, n))
        fs = np.empty((total + 1, n))
        ys = np.empty((total + 1, n))
        gs = np.empty((total + 1, n))
        x0 = X0[b].copy()
        y0 = X0[b].copy()
        y0[0] += d0  # perturb the (constant) history of the first variable
        for d in range(n):
            xs[0, d] = x0[d]
            ys[0, d] = y0[d]
        _delayed(0.0, taus, delay_var, 0.0, h, 0, xs, fs, x0, xd)
        rhs(0.0, xs[0], xd, p, fs[0])
        _delayed(0.0, taus, delay_var, 0.0, h, 0, ys, gs, y0, xd)
        rhs(0.0, ys[0], xd, p, gs[0])
        for step in range(total):
            _dde_rk4_step(step, 0.0, h, taus, delay_var, xs, fs, x0, p, xd, k1, k2, k3, k4, tmp)
            _dde_rk4_step(step, 0.0, h, taus, delay_var, ys, gs, y0, p, xd, k1, k2, k3, k4, tmp)
            code = _check_state(xs[step + 1], bound, bounded)
            if code != STATUS_OK:
                status[b] = code
                break
            if (step + 1) % renorm_every == 0:
                lo = max(0, step + 2 - window)
                dist = 0.0
                for i in range(lo, step + 2):
                    for d in range(n):
                        diff = ys[i, d] - xs[i, d]
                        dist += diff * diff
                dist = math.sqrt(dist)
                if not (dist > 0.0) or not math.isfinite(dist):
                    status[b] = STATUS_NONFINITE
                    break
                if step >= n_transient:
                    logs[b, 0] += math.log(dist / d0)
                scale = d0 / dist
                for i in range(lo, step + 2):
                    for d in range(n):
                        ys[i, d] = xs[i, d] + (ys[i, d] - xs[i, d]) * scale
                        gs[i, d] = fs[i, d] + (gs[i, d] - fs[i, d]) * scale
