"""Find a system's attractor: transient, dominant period, sampling step, initial conditions.

The catalogue stage calls :func:`probe_attractor` once per system to decide its
status (ok, diverges, fixed point, ...) and its time scale. The integration
stage calls :func:`draw_initial_conditions` with that period to put the
initial conditions of every split on the attractor, from one seeded generator
so that the splits are disjoint and reproducible.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..catalogue.system import System
from .solve import Solution, solve


@dataclass(frozen=True)
class SamplingSettings:
    """How the attractor is found and sampled.

    Attributes
    ----------
    transient_periods : float
        Time (in dominant periods) discarded before anything is kept.
    probe_periods : float
        Length of the run whose power spectrum gives the period and whose
        points are the pool of initial conditions.
    probe_points_per_period : int
        Sampling of that run.
    points_per_period : int
        Sampling of the stored trajectories (flows and delay equations).
    rtol, atol : float
        Tolerances of the adaptive integrator.
    map_transient, map_probe : int
        The same for maps, in iterations.
    max_steps : int
        Step budget per trajectory.
    dde_steps_per_delay : int
        The delay-equation step is at most the smallest delay over this.
    """

    transient_periods: float = 20.0
    probe_periods: float = 100.0
    probe_points_per_period: int = 32
    points_per_period: int = 32
    rtol: float = 1e-9
    atol: float = 1e-9
    map_transient: int = 1000
    map_probe: int = 4096
    max_steps: int = 5_000_000
    dde_steps_per_delay: int = 50

    @classmethod
    def from_mapping(cls, values: Mapping[str, object] | None) -> SamplingSettings:
        values = dict(values or {})
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown sampling setting(s): {', '.join(unknown)}")
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ProbeResult:
    """What the probe found out about a system.

    ``status`` is one of ``ok``, ``diverges``, ``max_steps``, ``fixed_point``;
    ``reason`` says why when it is not ``ok``.
    """

    status: str
    reason: str
    period: float
    period_source: str
    dt: float
    pool: np.ndarray
    integrator: str


def system_seed(seed: int, name: str, purpose: str = "") -> np.random.SeedSequence:
    """A seed sequence for one system, stable across processes and Python versions."""
    key = zlib.crc32(f"{name}|{purpose}".encode())
    return np.random.SeedSequence(entropy=int(seed), spawn_key=(key,))


def dominant_period(
    x: np.ndarray,
    dt: float,
    min_cycles: float = 4.0,
    period_range: tuple[float, float] | None = None,
) -> float:
    """Dominant period of a sampled trajectory from its power spectrum.

    Parameters
    ----------
    x : numpy.ndarray
        ``(n_times, n_variables)`` samples at spacing ``dt``.
    dt : float
        Sampling interval.
    min_cycles : float
        Frequencies with fewer than this many cycles over the record are
        ignored (trends, slow drifts).
    period_range : (float, float), optional
        Only look for the peak among periods in this range.

    Returns
    -------
    float
        ``1 / f_peak`` where ``f_peak`` maximises the summed power spectrum of
        the standardised variables (Hann window); NaN if every variable is constant.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    n = x.shape[0]
    if n < 16:
        return float("nan")
    x = x - x.mean(axis=0)
    std = x.std(axis=0)
    keep = std > 1e-12 * (1.0 + np.abs(x).max(axis=0))
    if not np.any(keep):
        return float("nan")
    z = x[:, keep] / std[keep]
    window = np.hanning(n)[:, None]
    power = (np.abs(np.fft.rfft(z * window, axis=0)) ** 2).sum(axis=1)
    freqs = np.fft.rfftfreq(n, dt)
    usable = freqs >= min_cycles / (n * dt)
    if period_range is not None:
        lo, hi = period_range
        usable &= (freqs >= 1.0 / hi) & (freqs <= 1.0 / lo)
    if not np.any(usable):
        return float("nan")
    idx = np.flatnonzero(usable)
    k = idx[np.argmax(power[idx])]
    f = freqs[k]
    # parabolic refinement of the peak on log power
    if 0 < k < len(power) - 1 and power[k - 1] > 0 and power[k + 1] > 0:
        a, b, c = np.log(power[k - 1 : k + 2])
        denom = a - 2 * b + c
        if denom < 0:
            f = f + 0.5 * (a - c) / denom * (freqs[1] - freqs[0])
    return float(1.0 / f) if f > 0 else float("nan")


def _fail_status(sol: Solution) -> tuple[str, str]:
    code = int(sol.status[0])
    name = {1: "diverges", 2: "diverges", 3: "max_steps", 4: "max_steps", 5: "invalid"}[code]
    return name, sol.reasons[0]


def _is_fixed_point(x: np.ndarray, bounded: np.ndarray) -> bool:
    tail = x[x.shape[0] // 2 :, bounded] if np.any(bounded) else x[x.shape[0] // 2 :]
    spread = tail.max(axis=0) - tail.min(axis=0)
    scale = 1.0 + np.abs(tail).max(axis=0)
    return bool(np.all(spread <= 1e-6 * scale))


def _spectral_view(x: np.ndarray, bounded: np.ndarray) -> np.ndarray:
    """Bounded variables, or the increments of phases when nothing is bounded."""
    if np.any(bounded):
        return x[:, bounded]
    return np.diff(x, axis=0)


def _integrate(
    system: System,
    x0: np.ndarray,
    t: np.ndarray,
    settings: SamplingSettings,
    dt_solver: float | None,
) -> Solution:
    return solve(
        system, x0, t, rtol=settings.rtol, atol=settings.atol,
        dt=dt_solver, max_steps=settings.max_steps,
    )  # fmt: skip


def _probe_run(
    system: System, period: float, settings: SamplingSettings
) -> tuple[Solution, int, float]:
    """Transient plus probe from the entry's initial state: (solution, transient samples, dt)."""
    x0 = system.initial_state[None, :]
    if system.kind == "map":
        t = np.arange(settings.map_transient + settings.map_probe + 1)
        return _integrate(system, x0, t, settings, None), settings.map_transient, 1.0
    dt_probe = period / settings.probe_points_per_period
    n_transient = int(round(settings.transient_periods * settings.probe_points_per_period))
    n_probe = int(round(settings.probe_periods * settings.probe_points_per_period))
    t = np.arange(n_transient + n_probe + 1) * dt_probe
    step = _dde_step(system, dt_probe, settings) if system.kind == "dde" else None
    return _integrate(system, x0, t, settings, step), n_transient, dt_probe


def _dde_step(system: System, sample_dt: float, settings: SamplingSettings) -> float:
    tau = float(np.min(system.delay_values()))
    step = tau / settings.dde_steps_per_delay
    if system.dt_hint is not None:
        step = min(step, system.dt_hint)
    return min(step, sample_dt)


def probe_attractor(system: System, settings: SamplingSettings | None = None) -> ProbeResult:
    """Discard a transient, estimate the dominant period, and collect a pool of attractor points.

    Never raises for a badly behaved system: divergence, an exhausted step
    budget or a fixed point come back as ``status`` with a ``reason``.
    """
    settings = settings or SamplingSettings()
    bounded = system.bounded_mask
    if system.kind == "map":
        sol, n_transient, _ = _probe_run(system, 1.0, settings)
        if not sol.ok[0]:
            return ProbeResult(
                *_fail_status(sol), np.nan, "none", 1.0, np.empty((0, system.dim)), "map"
            )
        x = sol.x[0, n_transient:]
        if _is_fixed_point(x, bounded):
            return ProbeResult(
                "fixed_point", "the orbit settles on a fixed point", np.nan, "none", 1.0, x, "map"
            )
        period = dominant_period(_spectral_view(x, bounded), 1.0, min_cycles=4.0)
        return ProbeResult("ok", "", period, "spectrum", 1.0, x, "map")

    # With a literature hint the peak is sought within a factor 8 of it: the
    # global maximum of the spectrum is often a slow drift (wing switching,
    # bursting envelopes), and sampling at 32 points per such "period" would
    # alias the actual oscillation. Without a hint the run is re-scaled until
    # the peak is well resolved.
    hint = system.period_hint
    period = hint or 1.0
    window = (hint / 8.0, hint * 8.0) if hint else None
    source = "spectrum" if hint else "spectrum_unconstrained"
    integrator = "dde_rk4_hermite" if system.kind == "dde" else "dop853"
    for attempt in range(3):
        sol, n_transient, dt_probe = _probe_run(system, period, settings)
        n_probe = sol.t.shape[0] - 1 - n_transient
        if not sol.ok[0]:
            return ProbeResult(
                *_fail_status(sol), np.nan, "none", np.nan, np.empty((0, system.dim)), integrator
            )
        x = sol.x[0, n_transient:]
        if _is_fixed_point(x, bounded):
            return ProbeResult(
                "fixed_point",
                f"the trajectory settles on a fixed point after {settings.transient_periods:g} periods",
                np.nan, "none", np.nan, x, integrator,
            )  # fmt: skip
        estimate = dominant_period(_spectral_view(x, bounded), dt_probe, period_range=window)
        if not np.isfinite(estimate):
            source = "hint"
            estimate = period
            break
        if (
            window is None
            and attempt < 2
            and (estimate < 8 * dt_probe or estimate > n_probe * dt_probe / 8)
        ):
            period = estimate  # near the edge of what this run resolves: re-scale and look again
            continue
        period = estimate
        break
    dt = period / settings.points_per_period
    return ProbeResult("ok", "", float(period), source, float(dt), x, integrator)


def draw_initial_conditions(
    pool: np.ndarray, counts: Mapping[str, int], seed: int, name: str
) -> dict[str, np.ndarray]:
    """Disjoint initial conditions per split, drawn without replacement from the pool.

    Parameters
    ----------
    pool : numpy.ndarray
        ``(n_pool, dim)`` points on the attractor (from :func:`probe_attractor`).
    counts : mapping
        Split name -> number of initial conditions, e.g. ``{"train": 8, ...}``;
        the order of the mapping decides which split gets which draws.
    seed : int
        The config's seed; combined with the system's name.
    """
    total = sum(int(c) for c in counts.values())
    if total > pool.shape[0]:
        raise ValueError(f"{name}: {total} initial conditions requested, pool has {pool.shape[0]}")
    rng = np.random.default_rng(system_seed(seed, name, "initial_conditions"))
    picks = rng.choice(pool.shape[0], size=total, replace=False)
    out: dict[str, np.ndarray] = {}
    start = 0
    for split, count in counts.items():
        out[split] = np.ascontiguousarray(pool[np.sort(picks[start : start + int(count)])])
        start += int(count)
    return out


def attractor_pool(system: System, period: float, settings: SamplingSettings) -> np.ndarray:
    """Rebuild the probe's pool of attractor points for a known period (deterministic)."""
    sol, n_transient, _ = _probe_run(system, period, settings)
    return sol.x[0, n_transient:]


def sample_trajectories(
    system: System,
    x0: np.ndarray,
    n_points: int,
    dt: float,
    settings: SamplingSettings,
) -> tuple[np.ndarray, Solution]:
    """Integrate ``x0`` (``(batch, dim)``) for ``n_points`` samples spaced ``dt``."""
    if system.kind == "map":
        t = np.arange(n_points)
        return t.astype(np.float64), _integrate(system, x0, t, settings, None)
    t = np.arange(n_points) * dt
    step = _dde_step(system, dt, settings) if system.kind == "dde" else None
    return t, _integrate(system, x0, t, settings, step)
