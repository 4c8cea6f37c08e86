"""Lyapunov spectra from the equations: Benettin's method with QR re-orthonormalisation.

Flows integrate the state and ``k`` tangent vectors together (RK4 on the
variational equations with the analytic, compiled Jacobian); maps push the
tangent vectors through the map's Jacobian. Delay equations get their largest
exponent from a reference and a perturbed solution whose difference over the
whole discretised history window is renormalised (the method is recorded).
Flows whose vector field jumps across a surface in state space
(:attr:`~chaosatlas.catalogue.system.System.jumps_in_state`) get their
largest exponent the same way, from two nearby orbits integrated by DOP853:
the tangent dynamics would miss the saltation at every crossing.

Each call averages over several initial conditions on the attractor; the
spread across them is the stated uncertainty. The trace of the Jacobian is
integrated along the same trajectories, so ``sum(exponents)`` can be checked
against ``mean_divergence`` (they must agree; for maps the divergence is the
mean log |det J|).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..catalogue.system import System
from ..integrate.attractor import SamplingSettings, draw_initial_conditions, probe_attractor

STATUS_OK = 0


@dataclass(frozen=True)
class LyapunovSpectrum:
    """Result of :func:`lyapunov_spectrum`.

    Attributes
    ----------
    exponents : numpy.ndarray
        Mean over initial conditions, descending, per time unit (per iteration for maps).
    uncertainty : numpy.ndarray
        Standard error of the mean across initial conditions.
    per_trajectory : numpy.ndarray
        ``(n_ok, k)`` estimates of the trajectories that finished.
    mean_divergence : float
        Time average of trace J (flows) or of log|det J| (maps) along the same
        trajectories; NaN for delay equations.
    averaging_time : float
        Time (iterations) averaged over per trajectory, after the transient.
    method : str
    n_failed : int
        Trajectories that diverged (left out of the means).
    """

    exponents: np.ndarray
    uncertainty: np.ndarray
    per_trajectory: np.ndarray
    mean_divergence: float
    averaging_time: float
    method: str
    n_failed: int

    @property
    def max_exponent(self) -> float:
        return float(self.exponents[0]) if self.exponents.size else float("nan")

    @property
    def sum_mismatch(self) -> float:
        """|sum(exponents) - mean divergence| relative to the spectrum's scale (full spectra only)."""
        scale = max(abs(self.mean_divergence), float(np.max(np.abs(self.exponents))), 1e-6)
        return float(abs(self.exponents.sum() - self.mean_divergence) / scale)


def _initial_conditions(
    system: System, n: int, seed: int, period: float | None, settings: SamplingSettings
) -> tuple[np.ndarray, float]:
    probe = probe_attractor(system, settings)
    if probe.status != "ok":
        raise ValueError(f"{system.name}: no attractor to sample ({probe.status}: {probe.reason})")
    x0 = draw_initial_conditions(probe.pool, {"lyapunov": n}, seed, system.name)["lyapunov"]
    return x0, float(period if period is not None else probe.period)


def lyapunov_spectrum(
    system: System,
    *,
    n_exponents: int | None = None,
    n_trajectories: int = 4,
    periods: float = 2000.0,
    transient_periods: float = 50.0,
    steps_per_period: int = 200,
    qr_every: int = 10,
    iterations: int = 20_000,
    transient_iterations: int = 1000,
    x0: np.ndarray | None = None,
    period: float | None = None,
    seed: int = 0,
    settings: SamplingSettings | None = None,
    max_steps: int = 50_000_000,
) -> LyapunovSpectrum:
    """Lyapunov spectrum of a catalogue system.

    Parameters
    ----------
    system : System
    n_exponents : int, optional
        How many exponents (default: all for flows and maps; delay equations
        always give the largest one only).
    n_trajectories : int
        Initial conditions on the attractor (drawn with ``seed``), averaged.
    periods, transient_periods : float
        Averaging time and discarded transient per trajectory, in dominant periods (flows, dde).
    steps_per_period : int
        RK4 steps per dominant period.
    qr_every : int
        Steps between re-orthonormalisations (flows).
    max_steps : int
        Step budget per trajectory (flows; steps shorten where the Jacobian is stiff).
    iterations, transient_iterations : int
        The same for maps.
    x0 : numpy.ndarray, optional
        ``(n_trajectories, dim)`` initial conditions instead of drawing them.
    period : float, optional
        Dominant period (default: estimated by :func:`~chaosatlas.integrate.attractor.probe_attractor`).

    Returns
    -------
    LyapunovSpectrum
    """
    settings = settings or SamplingSettings(transient_periods=10, probe_periods=50)
    if x0 is None:
        x0, period = _initial_conditions(system, n_trajectories, seed, period, settings)
    elif period is None and system.kind != "map":
        period = probe_attractor(system, settings).period
    x0 = np.ascontiguousarray(np.atleast_2d(x0), dtype=np.float64)
    batch, dim = x0.shape
    p = np.zeros((batch, max(system.n_parameters, 1)))
    p[:, : system.n_parameters] = system.parameter_vector
    module = system.compiled.module
    status = np.zeros(batch, dtype=np.int8)
    divergence = np.zeros(batch)
    bounded = system.bounded_mask
    if system.jumps_in_state:
        return _separation_exponent(
            system, x0, float(period), periods, transient_periods, seed, max_steps
        )
    if system.kind == "dde":
        k = 1
        logs = np.zeros((batch, 1))
        taus = system.delay_values()
        h = min(float(period) / steps_per_period, float(np.min(taus)) / 20.0)
        if system.dt_hint:
            h = min(h, system.dt_hint)
        n_transient = int(round(transient_periods * period / h))
        renorm = max(1, int(round(0.2 * float(np.min(taus)) / h)))
        n_steps = int(round(periods * period / h / renorm)) * renorm
        delay_var = np.array([d.variable for d in system.delays], dtype=np.int64)
        module.lyapunov_dde_batch(
            x0,
            p,
            delay_var,
            h,
            n_transient,
            n_steps,
            renorm,
            1e-8,
            system.bound,
            bounded,
            logs,
            status,
        )
        averaging = n_steps * h
        averaged = np.full(batch, averaging)
        method = f"largest exponent: perturbed history (window = max delay) renormalised every {renorm * h:.4g}, RK4 h={h:.4g}"
        divergence[:] = np.nan
    elif system.kind == "map":
        k = n_exponents or dim
        logs = np.zeros((batch, k))
        module.lyapunov_map_batch(
            x0, p, transient_iterations, iterations, system.bound, bounded, logs, divergence, status
        )
        averaging = float(iterations)
        averaged = np.full(batch, averaging)
        method = "Benettin/QR on the map's Jacobian, every iteration"
    else:
        k = n_exponents or dim
        logs = np.zeros((batch, k))
        h = float(period) / steps_per_period
        averaged = np.zeros(batch)
        module.lyapunov_flow_batch(
            x0, p, h, transient_periods * period, periods * period, qr_every,
            system.bound, bounded, max_steps, logs, divergence, averaged, status,
        )  # fmt: skip
        averaging = float(np.mean(averaged)) if averaged.size else 0.0
        method = (
            f"Benettin/QR on the variational equations, RK4 h<={h:.4g} "
            f"(shorter where stiff), QR every {qr_every} steps"
        )
    return _summarise(logs, averaged, divergence, status, averaging, method)


def _summarise(
    logs: np.ndarray,
    averaged: np.ndarray,
    divergence: np.ndarray,
    status: np.ndarray,
    averaging: float,
    method: str,
) -> LyapunovSpectrum:
    """Means, standard errors and the divergence check from per-trajectory sums."""
    batch, k = logs.shape
    ok = status == STATUS_OK
    per = logs[ok] / averaged[ok, None]
    div = divergence[ok] / averaged[ok]
    if not ok.any():
        nan = np.full(k, np.nan)
        return LyapunovSpectrum(nan, nan, per, float("nan"), averaging, method, int(batch))
    order = np.argsort(-per.mean(axis=0), kind="stable")
    per = per[:, order]
    mean = per.mean(axis=0)
    sem = (
        per.std(axis=0, ddof=1) / np.sqrt(per.shape[0]) if per.shape[0] > 1 else np.full(k, np.nan)
    )
    return LyapunovSpectrum(
        exponents=mean,
        uncertainty=sem,
        per_trajectory=per,
        mean_divergence=float(div.mean()) if np.all(np.isfinite(div)) else float("nan"),
        averaging_time=float(averaging),
        method=method,
        n_failed=int((~ok).sum()),
    )


#: orbit separation: initial distance relative to the attractor's scale, and
#: renormalisations per dominant period
SEPARATION = 1e-6
RENORMALISATIONS_PER_PERIOD = 4
#: integration tolerance of both orbits: local errors stay far below the separation
SEPARATION_RTOL = 1e-10
#: DOP853 steps per orbit before the average is cut short (a sliding motion
#: along the jump surface forces tiny steps); at least 40 periods are averaged
SEPARATION_STEP_BUDGET = 2_000_000


def _separation_exponent(
    system: System,
    x0: np.ndarray,
    period: float,
    periods: float,
    transient_periods: float,
    seed: int,
    max_steps: int,
) -> LyapunovSpectrum:
    """Largest exponent of a flow from pairs of nearby orbits (Benettin 1976).

    Each reference orbit gets a companion ``SEPARATION`` times the
    attractor's scale away; both are integrated by DOP853 (``SEPARATION_RTOL``) and
    the companion is pulled back to that distance
    ``RENORMALISATIONS_PER_PERIOD`` times per period, summing the logarithmic
    growth. Nothing here differentiates the vector field, so jumps are fine.
    Where the steps would exceed ``SEPARATION_STEP_BUDGET`` per orbit the
    average is shortened (at least 40 periods) and the method says so.
    """
    from ..integrate.solve import solve

    batch, dim = x0.shape
    rng = np.random.default_rng(seed)
    t = transient_periods * period
    pre = solve(system, x0, np.array([0.0, t]), rtol=1e-10, atol=1e-12, max_steps=max_steps)
    x = pre.x[:, -1]
    status = pre.status.copy()
    scale = float(np.sqrt(np.mean(np.nan_to_num(x) ** 2))) or 1.0
    d0 = SEPARATION * scale
    u = rng.standard_normal((batch, dim))
    y = x + d0 * u / np.linalg.norm(u, axis=1, keepdims=True)
    chunk = period / RENORMALISATIONS_PER_PERIOD
    n_chunks = max(1, int(round(periods * RENORMALISATIONS_PER_PERIOD)))
    logs = np.zeros((batch, 1))
    steps_used, done, planned = 0, 0, n_chunks
    while done < n_chunks:
        live = status == STATUS_OK
        if not live.any():
            break
        sol = solve(
            system,
            np.vstack([x[live], y[live]]),
            np.array([t, t + chunk]),
            rtol=SEPARATION_RTOL,
            atol=SEPARATION_RTOL * 1e-3,
            max_steps=max_steps,
        )
        n = int(live.sum())
        x[live], y[live] = sol.x[:n, -1], sol.x[n:, -1]
        failed = ~(sol.ok[:n] & sol.ok[n:])
        status[np.flatnonzero(live)[failed]] = np.maximum(sol.status[:n], sol.status[n:])[failed]
        d = np.linalg.norm(y - x, axis=1)
        grow = live & (status == STATUS_OK) & (d > 0)
        logs[grow, 0] += np.log(d[grow] / d0)
        y[grow] = x[grow] + (y[grow] - x[grow]) * (d0 / d[grow])[:, None]
        t += chunk
        done += 1
        steps_used += int(sol.n_steps.max())
        if done == 8:  # enough to project the cost of the whole average
            affordable = int(SEPARATION_STEP_BUDGET * done / max(steps_used, 1))
            least = 40 * RENORMALISATIONS_PER_PERIOD
            n_chunks = max(done, min(n_chunks, max(affordable, least)))
    averaging = n_chunks * chunk
    method = (
        f"largest exponent from orbit separation (the vector field jumps in the state, so "
        f"tangent dynamics miss the saltation): d0 = {SEPARATION:g} x attractor scale, "
        f"renormalised every {chunk:.4g}, DOP853 rtol {SEPARATION_RTOL:g}"
    )
    if n_chunks < planned:
        method += (
            f"; averaged over {n_chunks / RENORMALISATIONS_PER_PERIOD:.0f} periods, not "
            f"{planned / RENORMALISATIONS_PER_PERIOD:.0f} (step budget)"
        )
    return _summarise(
        logs,
        np.full(batch, averaging),
        np.full(batch, np.nan),
        status,
        averaging,
        method,
    )
