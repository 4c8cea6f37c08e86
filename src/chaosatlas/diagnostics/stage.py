"""The diagnostics stage for one system: invariants, verdict, entropies.

:func:`diagnose_system` never raises for a badly behaved system: what cannot
be computed is recorded with a reason. The workflow fans it out over dask
(:func:`chaosatlas.pipeline.make_diagnostics`) and assembles the two NetCDF
products with :func:`invariants_dataset` and :func:`entropy_dataset`.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..catalogue.system import System
from ..integrate.attractor import (
    SamplingSettings,
    _dde_step,
    attractor_pool,
    draw_initial_conditions,
    sample_trajectories,
)
from .dimensions import delay_embedding
from .lyapunov import lyapunov_spectrum
from .verdict import classify, zero_tolerance


@dataclass(frozen=True)
class DiagnosticsSettings:
    """Sizes of the diagnostics computations (the config's ``diagnostics`` section)."""

    n_trajectories: int = 4
    periods: float = 1000.0
    transient_periods: float = 50.0
    steps_per_period: int = 200
    iterations: int = 20_000
    n_points: int = 10_000
    correlation_points: int = 10_000
    long_points_per_period: float = 2.0  # sampling of the long run for D2 and the 0-1 test
    zero_one_cs: int = 100
    entropy_points: int = 5_000
    max_exponents: int = 16  # at most this many exponents (0: the whole spectrum)
    # flows: at most this many (dimension x exponents x trajectories x steps) of tangent
    # work; beyond it the averaging time is shortened (and the method says so)
    tangent_budget: float = 3e7
    refinements: int = 2  # 4x longer averaging, at most this often, for an ambiguous lambda_1

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> DiagnosticsSettings:
        values = dict(values or {})
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown diagnostics setting(s): {', '.join(unknown)}")
        return cls(**values)


@dataclass
class SystemDiagnostics:
    """Everything the stage found for one system (one row of each product)."""

    system: str
    kind: str
    dimension: int
    variables: list[str]
    period: float
    exponents: np.ndarray = field(default_factory=lambda: np.zeros(0))
    exponent_uncertainty: np.ndarray = field(default_factory=lambda: np.zeros(0))
    mean_divergence: float = math.nan
    averaging_time: float = math.nan
    lambda1_per_trajectory: np.ndarray | None = None
    sum_mismatch: float = math.nan
    lyapunov_method: str = ""
    kaplan_yorke: float = math.nan
    pesin: float = math.nan
    correlation_dimension: float = math.nan
    correlation_dimension_uncertainty: float = math.nan
    zero_one_k: float = math.nan
    max_lyapunov_timeseries: float = math.nan
    verdict: str = "not_computed"
    reason: str = ""
    reference: dict[str, Any] = field(default_factory=dict)
    reference_check: str = "none"
    reference_disagrees: int = 0
    entropy: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: float = 0.0


def _attractor_series(
    system: System,
    period: float,
    dt: float,
    n_points: int,
    seed: int,
    sampling: SamplingSettings,
    purpose: str,
) -> np.ndarray:
    """One trajectory on the attractor, ``n_points`` samples spaced ``dt``."""
    pool = attractor_pool(system, period, sampling)
    x0 = draw_initial_conditions(pool, {purpose: 1}, seed, system.name)[purpose]
    _, sol = sample_trajectories(system, x0, n_points, dt, sampling)
    if not sol.ok[0]:
        error = LongRunFailed if sol.status[0] in (1, 2) else RuntimeError
        raise error(f"{purpose} trajectory failed: {sol.reasons[0]}")
    return sol.x[0]


class LongRunFailed(RuntimeError):
    """A diagnostics trajectory left the bound or became non-finite."""


def _settled(x: np.ndarray, dt: float) -> str:
    """``"settled: ..."`` if the run ends at rest on a fixed point, else ``""``.

    At rest: over the last fifth of the run every variable moves by less than
    1e-6 of its range over the whole run.
    """
    tail = x[-max(2, x.shape[0] // 5) :]
    span = np.ptp(x, axis=0)
    if not np.all(np.ptp(tail, axis=0) <= 1e-6 * np.maximum(span, 1e-300)) or not span.any():
        return ""
    moving = np.nonzero(np.any(np.abs(x - x[-1]) > 1e-6 * np.maximum(span, 1e-300), axis=1))[0]
    t_rest = (moving[-1] + 1) * dt if moving.size else 0.0
    return f"settled: came to rest on a fixed point at t = {t_rest:.4g}"


#: 0-1 test K below which the end of a long run counts as clearly regular
K_REGULAR = 0.1


def _left_transient(x01: np.ndarray, n_c: int, seed: int, is_map: bool) -> str:
    """``"settled: ..."`` if a long run is irregular in its first half and
    clearly regular (K < ``K_REGULAR``) in its second: chaos that was only a
    transient on the way to a cycle or torus. ``x01`` is sampled about once
    per period."""
    from .verdict import K_THRESHOLD
    from .zero_one import zero_one_test

    half = x01.shape[0] // 2
    if half < 500:
        return ""
    first, last = x01[:half], x01[half:]
    k_first = float(np.median([zero_one_test(first[:, j], n_c, seed) for j in range(x01.shape[1])]))
    k_last = float(np.median([zero_one_test(last[:, j], n_c, seed) for j in range(x01.shape[1])]))
    if k_first > K_THRESHOLD and k_last < K_REGULAR:
        unit = "iterations" if is_map else "periods"
        return (
            f"settled: the 0-1 test reads K={k_first:.2f} over its first {half} {unit} "
            f"and K={k_last:.2f} over the next {x01.shape[0] - half}, so the irregular "
            "motion gave way to a regular orbit"
        )
    return ""


#: relative tolerance of the exponent-sum identity before the step is refined
SUM_TOLERANCE = 1e-3
#: the long run may take this many times the sampling settings' step budget
LONG_RUN_STEP_FACTOR = 10
#: length of the series the 0-1 test sees (one sample per dominant period)
ZERO_ONE_SAMPLES = 5000
#: delay equations are observed through delay vectors of this many samples
DDE_EMBEDDING = 6


def _observed_states(system: System, x: np.ndarray, lag: int) -> np.ndarray:
    """The states the time-series diagnostics see.

    Unbounded variables (angles, drifting coordinates) are left out, or enter
    as increments when nothing is bounded. What is left no longer spans the
    state, so it is delay-embedded (Takens: ``2 dim + 1`` samples ``lag``
    apart, at most 8); so is a delay equation's variable, whose state is a
    whole history (``DDE_EMBEDDING`` samples): a bare scalar would cap every
    dimension at 1.
    """
    bounded = system.bounded_mask
    if not bounded.any():
        return np.diff(x, axis=0)
    xb = x[:, bounded]
    if system.kind == "dde":
        m = DDE_EMBEDDING
    elif not bounded.all():
        m = min(2 * system.dim + 1, 8)
    else:
        return xb
    return np.hstack([delay_embedding(xb[:, j], m, lag) for j in range(xb.shape[1])])


def _long_run_sampling(
    system: System, period: float, settings: DiagnosticsSettings, sampling: SamplingSettings
) -> float:
    """Samples per period of the long run: ``long_points_per_period`` unless a
    delay equation's fixed step would exhaust the step budget, then denser
    (a shorter run)."""
    per_period = settings.long_points_per_period
    if system.kind != "dde":
        return per_period
    step = _dde_step(system, period / per_period, sampling)
    max_periods = 0.8 * sampling.max_steps * step / period
    return max(per_period, settings.correlation_points / max_periods)


def reference_values(reference: Mapping[str, Any]) -> dict[str, float]:
    """The literature invariants of a catalogue entry that :func:`compare_with_reference` checks.

    Keys are the names its notes use: ``lambda_1`` (the first exponent of
    ``lyapunov_spectrum``, else ``max_lyapunov``), ``Kaplan-Yorke dimension``,
    ``correlation dimension``; NaN where the entry has no numeric value.
    """

    def first(key: str) -> float:
        entry = reference.get(key)
        if not isinstance(entry, Mapping) or isinstance(entry.get("value"), str | None):
            return math.nan
        return float(np.atleast_1d(entry["value"])[0])

    l1 = first("lyapunov_spectrum")
    return {
        "lambda_1": first("max_lyapunov") if math.isnan(l1) else l1,
        "Kaplan-Yorke dimension": first("kaplan_yorke_dimension"),
        "correlation dimension": first("correlation_dimension"),
    }


def compare_with_reference(d: SystemDiagnostics, reference: Mapping[str, Any]) -> tuple[str, int]:
    """Compare computed invariants with the entry's literature values.

    Tolerances: largest exponent within 10%, 3 standard errors or ``5 / T``
    (the finite-time bias of an average over ``T``); Kaplan-Yorke
    dimension within 5%; correlation dimension within 0.1 (or 3 of its standard
    errors); a stated behaviour must match the verdict (any two regular
    verdicts count as matching). A disagreement is reported, never overwritten.
    """
    notes: list[str] = []
    disagree = 0

    def check(name: str, computed: float, ref: float, ok: bool) -> None:
        nonlocal disagree
        status = "agrees" if ok else "DISAGREES"
        disagree += int(not ok)
        notes.append(f"{name}: computed {computed:.4g}, literature {ref:.4g} ({status})")

    refs = reference_values(reference)
    l1_ref = refs["lambda_1"]
    if np.isfinite(l1_ref) and d.exponents.size and np.isfinite(d.exponents[0]):
        err = abs(d.exponents[0] - l1_ref)
        sigma = d.exponent_uncertainty[0] if d.exponent_uncertainty.size else 0.0
        # a zero reference needs an absolute tolerance: the finite-time bias 5 / T
        floor = 5.0 / d.averaging_time if d.averaging_time > 0 else 0.0
        check(
            "lambda_1",
            d.exponents[0],
            l1_ref,
            err <= max(0.1 * abs(l1_ref), 3 * np.nan_to_num(sigma), np.nan_to_num(floor)),
        )
    ref = refs["Kaplan-Yorke dimension"]
    if np.isfinite(ref) and np.isfinite(d.kaplan_yorke):
        check(
            "Kaplan-Yorke dimension",
            d.kaplan_yorke,
            ref,
            abs(d.kaplan_yorke - ref) <= 0.05 * abs(ref),
        )
    ref = refs["correlation dimension"]
    if np.isfinite(ref) and np.isfinite(d.correlation_dimension):
        tol = max(0.1, 3 * np.nan_to_num(d.correlation_dimension_uncertainty))
        check(
            "correlation dimension",
            d.correlation_dimension,
            ref,
            abs(d.correlation_dimension - ref) <= tol,
        )
    if "behaviour" in reference and d.verdict not in ("not_computed", ""):
        expected = str(reference["behaviour"]["value"])
        regular = {"periodic", "quasi_periodic", "fixed_point"}
        ok = d.verdict == expected or (d.verdict in regular and expected in regular)
        disagree += int(not ok)
        notes.append(
            f"behaviour: computed {d.verdict}, literature {expected} "
            f"({'agrees' if ok else 'DISAGREES'})"
        )
    if not notes:
        return ("none" if not reference else "no comparable invariant computed"), 0
    return "; ".join(notes), int(disagree > 0)


def averaged_spectrum(
    system: System,
    period: float,
    settings: DiagnosticsSettings,
    sampling: SamplingSettings,
    seed: int,
) -> tuple[Any, float, str]:
    """The spectrum, its averaging time, and a note on how it was refined.

    Flows average over ``periods`` dominant periods, fewer where the tangent
    work would exceed ``tangent_budget``. Two checks then refine the run,
    each at most ``refinements`` times and while the work stays within 4x
    the budget:

    - a full spectrum of a flow whose sum misses the mean divergence by more
      than 1e-3 (relative) was integrated with too coarse a step: the step is
      made 4x shorter (the sum identity is the built-in accuracy check);
    - a largest exponent that is positive but within the verdict's tolerance
      is averaged 4x longer: weak chaos needs long averages, and a verdict
      should not hinge on a short one.
    """
    n_exp = min(settings.max_exponents, system.dim) if settings.max_exponents else system.dim
    periods, iterations = float(settings.periods), int(settings.iterations)
    steps = int(settings.steps_per_period)

    def work() -> float:
        return float(system.dim * n_exp * settings.n_trajectories * steps * periods)

    notes: list[str] = []
    if system.kind == "flow" and work() > settings.tangent_budget:
        periods = max(10.0, settings.tangent_budget / work() * periods)
        notes.append(
            f"averaged over {periods:.0f} periods, not {settings.periods:.0f} (tangent budget)"
        )
    refined = {"step": 0, "time": 0}
    while True:
        spec = lyapunov_spectrum(
            system,
            n_exponents=n_exp,
            n_trajectories=settings.n_trajectories,
            periods=periods,
            transient_periods=settings.transient_periods,
            steps_per_period=steps,
            iterations=iterations,
            period=period if system.kind != "map" else None,
            seed=seed,
            settings=sampling,
        )
        affordable = system.kind == "map" or (
            system.kind == "flow" and 4 * work() <= 4 * settings.tangent_budget
        )
        full_flow = system.kind == "flow" and spec.exponents.size == system.dim
        mismatch = spec.sum_mismatch if full_flow and np.all(np.isfinite(spec.exponents)) else 0.0
        if mismatch > SUM_TOLERANCE and affordable and refined["step"] < settings.refinements:
            steps *= 4
            refined["step"] += 1
            notes.append(
                f"step shortened to period/{steps} (exponent sum missed the mean divergence "
                f"by {mismatch:.2g})"
            )
            continue
        l1 = float(spec.exponents[0]) if spec.exponents.size else math.nan
        sigma = float(spec.uncertainty[0]) if spec.uncertainty.size else math.nan
        tol = zero_tolerance(system.kind, period, sigma, spec.averaging_time)
        ambiguous = math.isfinite(l1) and 0.0 < l1 <= tol
        if ambiguous and affordable and refined["time"] < settings.refinements:
            periods, iterations = 4 * periods, 4 * iterations
            refined["time"] += 1
            notes.append(
                (
                    f"averaging lengthened to {periods:.0f} periods"
                    if system.kind == "flow"
                    else f"averaging lengthened to {iterations} iterations"
                )
                + f" (lambda_1 = {l1:.3g} was within its tolerance {tol:.2g})"
            )
            continue
        break
    return spec, spec.averaging_time, "".join(f"; {n}" for n in notes)


def diagnose_system(
    system: System,
    row: Mapping[str, Any],
    settings: DiagnosticsSettings,
    sampling: SamplingSettings,
    seed: int,
) -> SystemDiagnostics:
    """Invariants, verdict and entropies of one system whose catalogue status is ok."""
    from .dimensions import correlation_dimension, kaplan_yorke_dimension, pesin_sum
    from .entropy import entropy_profile
    from .timeseries import max_lyapunov_rosenstein
    from .zero_one import zero_one_for_series

    started = time.perf_counter()
    period = float(row["period"])
    d = SystemDiagnostics(system.name, system.kind, system.dim, list(system.variables), period)
    d.reference = dict(system.reference)
    failures: list[str] = []
    notes: list[str] = []
    long_run = ""
    # --- exponents
    try:
        spec, averaging, note = averaged_spectrum(system, period, settings, sampling, seed)
        d.exponents, d.exponent_uncertainty = spec.exponents, spec.uncertainty
        d.mean_divergence, d.lyapunov_method = spec.mean_divergence, spec.method + note
        d.averaging_time = averaging
        if spec.per_trajectory.size:
            d.lambda1_per_trajectory = spec.per_trajectory[:, 0]
        if system.kind != "dde" and spec.exponents.size == system.dim:
            d.sum_mismatch = spec.sum_mismatch
        if spec.n_failed:
            failed = f"{spec.n_failed} of {settings.n_trajectories} tangent integrations failed"
            if np.all(np.isfinite(spec.exponents)):
                notes.append(f"{failed}; the exponents average the others")
            else:
                failures.append(failed)
        full = system.kind != "dde" and spec.exponents.size == system.dim
        if full and np.all(np.isfinite(spec.exponents)):
            d.kaplan_yorke = kaplan_yorke_dimension(spec.exponents)
            d.pesin = pesin_sum(spec.exponents)
    except Exception as exc:  # recorded, never raised
        failures.append(f"Lyapunov spectrum: {type(exc).__name__}: {exc}")
    is_map = system.kind == "map"
    # --- a long, sparsely sampled run: correlation dimension and the 0-1 test.
    # The 0-1 test sees about one sample per dominant period (maps too: a map
    # that rotates every few iterations is oversampled at every iterate).
    try:
        if is_map:
            per_period = 1.0
            stride = max(1, int(round(period))) if math.isfinite(period) else 1
            n_long = max(settings.correlation_points, ZERO_ONE_SAMPLES * stride)
            x = _attractor_series(system, period, 1.0, n_long, seed, sampling, "long")
            xb = _observed_states(system, x, 1)
            x01, xcd = xb[::stride], xb[: settings.correlation_points]
        else:
            # thousands of periods: the step budget of a probe-length run is too small
            # (delay equations keep it: their fixed step makes a long run costly)
            long_sampling = (
                sampling
                if system.kind == "dde"
                else replace(sampling, max_steps=LONG_RUN_STEP_FACTOR * sampling.max_steps)
            )
            per_period = _long_run_sampling(system, period, settings, long_sampling)
            x = _attractor_series(
                system,
                period,
                period / per_period,
                settings.correlation_points,
                seed,
                long_sampling,
                "long",
            )
            xb = _observed_states(system, x, max(1, int(round(per_period / 8))))
            x01 = xb[:: max(1, int(round(per_period)))]
            xcd = xb
        long_run = _settled(x, 1.0 if is_map else period / per_period)
        cd = correlation_dimension(xcd, theiler=int(math.ceil(per_period)), seed=seed)
        d.correlation_dimension, d.correlation_dimension_uncertainty = cd.value, cd.uncertainty
        d.zero_one_k = zero_one_for_series(
            x01,
            period=1.0,
            dt=1.0,
            n_c=settings.zero_one_cs,
            max_samples=ZERO_ONE_SAMPLES,
            seed=seed,
        )
        long_run = long_run or _left_transient(x01, settings.zero_one_cs, seed, is_map)
    except LongRunFailed as exc:
        long_run = f"diverged: {exc}"
    except Exception as exc:
        failures.append(f"correlation dimension / 0-1 test: {type(exc).__name__}: {exc}")
    # --- a densely sampled run: time-series exponent and entropies
    try:
        dt = 1.0 if is_map else float(row["dt"])
        x = _attractor_series(system, period, dt, settings.n_points, seed, sampling, "dense")
        xb = _observed_states(system, x, 1 if is_map else max(1, int(round(period / dt / 8))))
        d.max_lyapunov_timeseries = max_lyapunov_rosenstein(xb, dt=dt).value
        n_ent = min(settings.entropy_points, x.shape[0])
        delay = 1 if is_map else max(1, int(round(period / dt / 10)))
        d.entropy = {
            v: entropy_profile(x[:n_ent, j], delay=delay, sf=1.0 / dt)
            for j, v in enumerate(system.variables)
        }
    except Exception as exc:
        failures.append(f"time-series diagnostics: {type(exc).__name__}: {exc}")
    verdict = classify(
        system.kind,
        d.exponents,
        d.exponent_uncertainty,
        d.zero_one_k,
        period,
        is_autonomous=system.is_autonomous,
        failed="; ".join(f for f in failures if "Lyapunov" in f or "tangent" in f),
        averaging_time=d.averaging_time,
        long_run=long_run,
        per_trajectory=d.lambda1_per_trajectory,
    )
    d.verdict, d.reason = verdict.verdict, verdict.reason
    other = [f for f in failures + notes if f not in verdict.reason]
    if other:
        d.reason = "; ".join([d.reason, *other]) if d.reason else "; ".join(other)
    d.reference_check, d.reference_disagrees = compare_with_reference(d, d.reference)
    d.seconds = time.perf_counter() - started
    return d


def not_diagnosed(row: Mapping[str, Any], name: str, system: System | None) -> SystemDiagnostics:
    """A row for a system the catalogue marked as not ok."""
    d = SystemDiagnostics(
        name,
        str(row.get("kind", "flow")),
        system.dim if system else int(row.get("dimension", 0)),
        list(system.variables) if system else [],
        float(row.get("period", math.nan)),
    )
    status = str(row.get("status", "error"))
    d.verdict = {"diverges": "diverges", "fixed_point": "fixed_point"}.get(status, "not_computed")
    d.reason = f"catalogue status {status}: {row.get('reason', '')}"
    if system is not None:
        d.reference = dict(system.reference)
    return d


def reference_json(d: SystemDiagnostics) -> str:
    return json.dumps(
        d.reference,
        sort_keys=True,
        default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o),
    )


__all__: Sequence[str] = (
    "DiagnosticsSettings",
    "SystemDiagnostics",
    "compare_with_reference",
    "reference_values",
    "diagnose_system",
    "not_diagnosed",
)


# ----------------------------------------------------------------------------- products

_PER_TIME = "per unit of the system's own (non-dimensional) time; per iteration for maps"


def _string(values: Sequence[str]) -> np.ndarray:
    return np.array([str(v) for v in values], dtype=object)


def invariants_dataset(rows: Sequence[SystemDiagnostics], attrs: Mapping[str, Any]) -> Any:
    """``results/diagnostics/invariants.nc``: one row per system, CF-1.10.

    The dimension ``system`` has no coordinate variable (CF coordinate
    variables are numeric and monotonic); the names are the auxiliary label
    coordinate ``system_name`` (CF 6.1). Select by name with
    ``ds.set_xindex("system_name").sel(system_name="Lorenz")``.
    """
    import xarray as xr

    rows = sorted(rows, key=lambda r: r.system)
    n = len(rows)
    k = max([r.exponents.size for r in rows] + [1])
    lam = np.full((n, k), np.nan)
    sig = np.full((n, k), np.nan)
    for i, r in enumerate(rows):
        lam[i, : r.exponents.size] = r.exponents
        sig[i, : r.exponent_uncertainty.size] = r.exponent_uncertainty

    def var(values, long_name, units=None, dims=("system",), **extra):
        a = {"long_name": long_name}
        if units is not None:
            a["units"] = units
        a.update(extra)
        return xr.Variable(dims, values, a)

    f = lambda attr: np.array([getattr(r, attr) for r in rows], dtype=np.float64)  # noqa: E731
    ds = xr.Dataset(
        {
            "lyapunov_exponent": var(
                lam, "Lyapunov exponent", "1", ("system", "exponent"), comment=_PER_TIME
            ),
            "lyapunov_exponent_uncertainty": var(
                sig,
                "standard error of the Lyapunov exponent across initial conditions",
                "1",
                ("system", "exponent"),
                comment=_PER_TIME,
            ),
            "mean_divergence": var(
                f("mean_divergence"),
                "time average of the trace of the Jacobian (maps: of log|det J|)",
                "1",
                comment="equals the sum of the exponents",
            ),
            "lyapunov_averaging_time": var(
                f("averaging_time"),
                "time the Lyapunov exponents were averaged over, per trajectory",
                "1",
                comment="system time units; iterations for maps",
            ),
            "exponent_sum_mismatch": var(
                f("sum_mismatch"),
                "relative difference between the exponent sum and the mean divergence",
                "1",
            ),
            "kaplan_yorke_dimension": var(
                f("kaplan_yorke"), "Kaplan-Yorke (Lyapunov) dimension", "1"
            ),
            "pesin_sum": var(
                f("pesin"),
                "sum of the positive Lyapunov exponents (upper bound of the Kolmogorov-Sinai entropy)",
                "1",
                comment=_PER_TIME,
            ),
            "correlation_dimension": var(
                f("correlation_dimension"), "Grassberger-Procaccia correlation dimension", "1"
            ),
            "correlation_dimension_uncertainty": var(
                f("correlation_dimension_uncertainty"),
                "uncertainty of the correlation dimension",
                "1",
            ),
            "zero_one_k": var(
                f("zero_one_k"), "0-1 test for chaos, median K (1 chaotic, 0 regular)", "1"
            ),
            "max_lyapunov_timeseries": var(
                f("max_lyapunov_timeseries"),
                "largest Lyapunov exponent estimated from one trajectory (Rosenstein)",
                "1",
                comment=_PER_TIME,
            ),
            "period": var(
                f("period"),
                "dominant period from the power spectrum",
                "1",
                comment="system time units; iterations for maps",
            ),
            "dimension": var(
                np.array([r.dimension for r in rows], dtype=np.int32),
                "number of state variables",
                "1",
            ),
            "reference_disagrees": var(
                np.array([r.reference_disagrees for r in rows], dtype=np.int8),
                "whether a computed invariant disagrees with the literature value",
                flag_values=np.array([0, 1], dtype=np.int8),
                flag_meanings="agrees_or_no_reference disagrees",
            ),
            "kind": var(_string([r.kind for r in rows]), "kind of system: flow, map or dde"),
            "verdict": var(
                _string([r.verdict for r in rows]),
                "chaotic only if exponents, 0-1 test and boundedness agree",
            ),
            "reason": var(_string([r.reason for r in rows]), "the evidence for the verdict"),
            "lyapunov_method": var(
                _string([r.lyapunov_method for r in rows]), "how the exponents were computed"
            ),
            "reference": var(
                _string([reference_json(r) for r in rows]),
                "literature invariants from the catalogue entry (JSON)",
            ),
            "reference_check": var(
                _string([r.reference_check for r in rows]),
                "computed invariants against the literature values",
            ),
        },  # fmt: skip
        coords={
            "system_name": xr.Variable(
                ("system",), _string([r.system for r in rows]), {"long_name": "system name"}
            ),
            "exponent": xr.Variable(
                ("exponent",),
                np.arange(1, k + 1, dtype=np.int32),
                {"long_name": "index of the Lyapunov exponent, descending", "units": "1"},
            ),
        },
    )
    ds.attrs.update(attrs)
    return ds


#: Entropy measures in ``entropy.nc``: name -> (extra dimension or None, long name)
ENTROPY_MEASURES: dict[str, tuple[str | None, str]] = {
    "permutation_entropy": ("order", "normalised permutation entropy"),
    "multiscale_permutation_entropy": ("scale", "normalised permutation entropy (order 3) of the coarse-grained series"),
    "sample_entropy": (None, "sample entropy (m = 2, r = 0.2 std; NaN where undefined or infinite)"),
    "multiscale_sample_entropy": ("scale", "sample entropy (m = 2, r = 0.2 std of the original series) of the coarse-grained series"),
    "spectral_entropy_welch": (None, "normalised spectral entropy, Welch periodogram"),
    "spectral_entropy_fft": (None, "normalised spectral entropy, FFT periodogram"),
    "shannon_entropy": (None, "normalised Shannon entropy of the invariant density (histogram, 64 equal-width bins over the observed range)"),
    "renyi_entropy": (None, "normalised Renyi entropy (alpha = 2) of the invariant density (histogram)"),
    "tsallis_entropy": (None, "normalised Tsallis entropy (q = 2) of the invariant density (histogram)"),
}  # fmt: skip
ORDERS = np.arange(3, 8, dtype=np.int32)
SCALES = np.arange(1, 11, dtype=np.int32)


def entropy_dataset(rows: Sequence[SystemDiagnostics], attrs: Mapping[str, Any]) -> Any:
    """``results/diagnostics/entropy.nc``: system x variable (x order or scale), CF-1.10.

    Systems have different numbers of variables: ``variable`` is an index up to
    the largest dimension, ``variable_name(system, variable)`` labels it (empty
    and NaN beyond a system's dimension).
    """
    import xarray as xr

    rows = sorted(rows, key=lambda r: r.system)
    n = len(rows)
    nv = max([r.dimension for r in rows] + [1])
    data: dict[str, Any] = {}
    for measure, (extra, long_name) in ENTROPY_MEASURES.items():
        size = {"order": ORDERS.size, "scale": SCALES.size, None: 0}[extra]
        shape = (n, nv, size) if extra else (n, nv)
        arr = np.full(shape, np.nan)
        for i, r in enumerate(rows):
            for j, v in enumerate(r.variables):
                value = r.entropy.get(v, {}).get(measure)
                if value is not None:
                    arr[i, j] = value
        dims = ("system", "variable", extra) if extra else ("system", "variable")
        data[measure] = xr.Variable(dims, arr, {"long_name": long_name, "units": "1"})
    names = np.full((n, nv), "", dtype=object)
    for i, r in enumerate(rows):
        names[i, : len(r.variables)] = r.variables
    ds = xr.Dataset(
        data,
        coords={
            "system_name": xr.Variable(("system",), _string([r.system for r in rows]), {"long_name": "system name"}),
            "variable_name": xr.Variable(("system", "variable"), names, {"long_name": "state variable name"}),
            "order": xr.Variable(("order",), ORDERS, {"long_name": "permutation order (embedding dimension)", "units": "1"}),
            "scale": xr.Variable(("scale",), SCALES, {"long_name": "coarse-graining scale", "units": "1"}),
        },
    )  # fmt: skip
    ds.attrs.update(attrs)
    return ds
