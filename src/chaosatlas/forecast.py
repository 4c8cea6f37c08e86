"""The forecast stage: train one model on one system, score every model on every system.

Data come from the trajectory stores (``results/trajectories/{split}.zarr``,
one group per system), standardised with the training split's per-variable
mean and std. Scores (see :mod:`chaosatlas.metrics`):

- short horizon: every test window of ``context + vpt_horizon`` steps (stride
  ``horizon``): MSE, MAE, sMAPE (standardised units) and sMAPE per step over
  the first ``horizon`` steps; VPT over the free-running ``vpt_horizon`` steps
  in time units, Lyapunov times (``t * lambda_1`` from ``invariants.nc``) and
  dominant periods, with the fraction of windows that never crossed the
  threshold (``vpt_censored``: the value is then a lower bound);
- long term: from the first test state a free-running rollout of 1.25 T steps,
  the first 0.25 T discarded (T as long as the test trajectory allows): D_stsp
  and D_H against the true continuation of the same length, the rollout's
  largest exponent (Rosenstein) against the system's, and per system the
  noise floor (one true trajectory against another).

A failure is never a gap in an average: a non-finite forecast window scores
the worst value (sMAPE 200, VPT 0, MSE inf) and is counted; a model's status
says what went wrong (:data:`FORECAST_STATUS`, best first).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .metrics import (
    D_H_WORST,
    collapsed,
    power_spectrum_distance,
    smape,
    smape_curve,
    state_space_divergence,
    valid_prediction_steps,
)

log = logging.getLogger("chaosatlas")

#: statuses in forecast.nc, best first; the leaderboard ranks a worse status below
FORECAST_STATUS = ("ok", "partial", "rollout_collapsed", "rollout_failed", "failed", "missing")
#: statuses without short-horizon scores (MSE, sMAPE, VPT)
NO_SHORT_SCORE = ("failed", "missing")
#: statuses without long-term scores (D_stsp, D_H, rollout lambda_1)
NO_LONG_SCORE = ("rollout_failed", *NO_SHORT_SCORE)


@dataclass(frozen=True)
class ForecastSettings:
    """The ``forecast`` block of the config."""

    systems: tuple[str, ...] = ("Lorenz",)
    models: tuple[str, ...] = ("persistence",)
    context: int = 64
    horizon: int = 32
    vpt_horizon: int = 32  # at least the horizon (from_config makes sure)
    hyper: dict[str, dict[str, Any]] = field(default_factory=dict)
    search: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"
    protocol: str = "windows"  # windows | continuation
    train_points: int = 1000  # continuation: the first points of each training trajectory
    long_horizon: int = 0  # continuation: also sMAPE over this many steps (0: none)
    units: str = "standardised"  # standardised | raw

    @property
    def continuation(self) -> bool:
        """Gilpin 2023's protocol: train on a trajectory's start, forecast its continuation."""
        return self.protocol == "continuation"

    @property
    def scored_split(self) -> str:
        """The split forecasts are scored on: test, or train for the continuation protocol."""
        return "train" if self.continuation else "test"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ForecastSettings:
        """Read the ``forecast`` block; its systems must be among the config's ``systems``."""
        f = dict(config.get("forecast") or {})
        chosen = config.get("systems", "all")
        if f.get("systems") == "all":  # every system the config integrates
            from .pipeline import selected_systems

            f["systems"] = selected_systems(config)
        elif chosen != "all":
            absent = [s for s in f.get("systems", ()) if s not in chosen]
            if absent:
                raise ValueError(
                    f"config key 'forecast.systems': {', '.join(absent)} not in 'systems' "
                    "(only integrated systems have trajectories to train on)"
                )
        horizon = int(f.get("horizon", cls.horizon))
        return cls(
            systems=tuple(f.get("systems", cls.systems)),
            models=tuple(f.get("models", cls.models)),
            context=int(f.get("context", cls.context)),
            horizon=horizon,
            vpt_horizon=max(horizon, int(f.get("vpt_horizon", horizon))),
            hyper={k: dict(v or {}) for k, v in (f.get("hyper") or {}).items()},
            search={k: [dict(c) for c in v] for k, v in (f.get("search") or {}).items()},
            training=dict(f.get("training") or {}),
            device=str(f.get("device", "auto")),
            protocol=str(f.get("protocol", cls.protocol)),
            train_points=int(f.get("train_points", cls.train_points)),
            long_horizon=int(f.get("long_horizon", cls.long_horizon)),
            units=str(f.get("units", cls.units)),
        )


def load_split(store: str | os.PathLike[str], system: str) -> tuple[np.ndarray, dict[str, Any]]:
    """Trajectories ``(trajectory, time, variable)`` of one system and the group's attributes.

    Trajectories whose integration failed (status != 0) are left out. A store
    without its completion marker is refused (:func:`chaosatlas.products.open_trajectories`).
    """
    from .products import open_trajectories

    with open_trajectories(store, system) as ds:
        ok = ds["status"].values == 0
        x = ds["x"].values[ok].astype(np.float64)
        attrs = dict(ds.attrs)
        attrs["variables"] = [str(v) for v in ds["variable"].values]
    return x, attrs


def validation_mse(forecaster: Any, val: np.ndarray) -> float:
    """MSE over the horizon of ``forecaster`` on standardised validation windows.

    The one criterion the per-system search compares settings by, for every
    model kind; a non-finite forecast makes it infinite.
    """
    from .models.baselines import windows

    L, H = forecaster.context, forecaster.horizon
    w = windows(val, L + H, H)
    if w.shape[0] == 0:
        return math.inf
    with np.errstate(all="ignore"):
        err = float(np.mean((forecaster.predict(w[:, :L]) - w[:, L:]) ** 2))
    return err if math.isfinite(err) else math.inf


def continuation_split(
    train: np.ndarray, settings: ForecastSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Gilpin 2023's inner split of the first ``train_points`` points: 5/6 fit, 1/6 validation.

    Models are fitted on the first 5/6 and tuned or early-stopped on the last
    1/6; the forecast then starts from the end of all ``train_points``.
    """
    need = settings.train_points + max(settings.vpt_horizon, settings.long_horizon)
    if train.shape[1] < need:
        raise ValueError(
            f"the continuation protocol needs trajectories of {need} points "
            f"(forecast.train_points + the longest horizon), the training split has "
            f"{train.shape[1]} (config key integration.n_points)"
        )
    n_fit = int(round(settings.train_points * 5 / 6))
    return train[:, :n_fit], train[:, n_fit : settings.train_points]


def standardiser(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-variable mean and std of the training split (std 1 where constant)."""
    flat = train.reshape(-1, train.shape[-1])
    mean = np.nanmean(flat, axis=0)
    std = np.nanstd(flat, axis=0)
    return mean, np.where(std > 0, std, 1.0)


def train_model(
    model: str,
    system: str,
    config: Mapping[str, Any],
    train_store: str | os.PathLike[str],
    val_store: str | os.PathLike[str],
    checkpoint: str | os.PathLike[str],
    report_path: str | os.PathLike[str],
    threads: int = 1,
) -> dict[str, Any]:
    """Fit ``model`` on ``system``; write the checkpoint and a JSON training report."""
    from .models import NEURAL, Forecaster
    from .products import provenance, write_atomically

    settings = ForecastSettings.from_config(config)
    train, attrs = load_split(train_store, system)
    if settings.continuation:
        train, val = continuation_split(train, settings)
    else:
        val, _ = load_split(val_store, system)
    mean, std = standardiser(train)
    if settings.units == "raw":  # Gilpin 2023: raw coordinates, sMAPE on raw values
        mean, std = np.zeros_like(mean), np.ones_like(std)
    train_z, val_z = (train - mean) / std, (val - mean) / std
    hyper = dict(settings.hyper.get(model, {}))
    if model == "esn":
        hyper.setdefault("seed", int(config["seed"]))
    training = {
        **settings.training,
        "seed": int(config["seed"]),
        "device": settings.device,
        "threads": int(threads),
    }
    candidates = [{**hyper, **c} for c in settings.search.get(model, [])] or [hyper]
    tried = []
    seconds = 0.0
    best: tuple[float, Any, dict[str, Any], int] | None = None
    for k, candidate in enumerate(candidates):
        candidate = dict(candidate)
        context = int(candidate.pop("context", settings.context))
        f = Forecaster(
            model, context, settings.horizon, train.shape[-1], candidate,
            training if model in NEURAL else None,
        )  # fmt: skip
        log.info("train %s on %s (setting %d of %d): %d parameters",
                 model, system, k + 1, len(candidates), f.n_parameters)  # fmt: skip
        fit_report = f.fit(train_z, val_z, label=f"{model}/{system}")
        seconds += float(fit_report.get("seconds", 0.0))
        score = validation_mse(f, val_z)
        tried.append({"context": context, "hyper": candidate,
                      "validation_mse": score if math.isfinite(score) else None})  # fmt: skip
        # validation_mse is inf, never NaN, when a forecast fails; ties keep the first
        if best is None or score < best[0]:
            best = (score, f, fit_report, k)
    assert best is not None
    _, f, report, chosen = best
    # the search's cost is the model's training cost
    report = {**report, "validation_mse": tried[chosen]["validation_mse"], "seconds": seconds}
    if len(candidates) > 1:
        report.update(search=tried, chosen=chosen)
    report.update(
        model=model,
        system=system,
        n_parameters=f.n_parameters,
        standardise_mean=mean.tolist(),
        standardise_std=std.tolist(),
        dt=float(attrs.get("dt", 1.0)),
        provenance=provenance(config, product="model", model=model, system=system),
    )
    f.report = report
    write_atomically(checkpoint, f.save)
    write_atomically(
        report_path, lambda tmp: tmp.write_text(json.dumps(report, indent=1, sort_keys=True))
    )
    log.info("train %s on %s: done in %.1f s", model, system, report["seconds"])
    return report


@dataclass
class Score:
    """Scores of one model on one system.

    Short-horizon scores average over every test window; a window whose
    forecast is not finite counts with the worst value (sMAPE 200, VPT 0,
    infinite MSE and MAE), and ``n_failed_windows`` says how many there were.
    """

    model: str
    system: str
    status: str = "ok"
    reason: str = ""
    mse: float = math.nan
    mae: float = math.nan
    smape: float = math.nan
    smape_by_step: np.ndarray = field(default_factory=lambda: np.zeros(0))
    vpt: float = math.nan
    vpt_lyapunov: float = math.nan
    vpt_periods: float = math.nan
    vpt_censored_fraction: float = math.nan
    smape_long: float = math.nan
    d_stsp: float = math.nan
    d_h: float = math.nan
    rollout_lambda1: float = math.nan
    system_lambda1: float = math.nan
    training_seconds: float = math.nan
    n_parameters: int = 0
    n_windows: int = 0
    n_failed_windows: int = 0

    @property
    def vpt_censored(self) -> int:
        """1 when any window never crossed the VPT threshold (the VPT is a lower bound)."""
        return int(self.vpt_censored_fraction > 0)

    def note(self, status: str, reason: str) -> None:
        """Record a problem: the worse status stays, every reason is kept."""
        if FORECAST_STATUS.index(status) > FORECAST_STATUS.index(self.status):
            self.status = status
        self.explain(reason)

    def explain(self, reason: str) -> None:
        """Add a reason without changing the status (a partial score, not a failure)."""
        self.reason = f"{self.reason}; {reason}" if self.reason else reason


def _short_horizon(
    s: Score, truth: np.ndarray, pred: np.ndarray, horizon: int, dt: float, lambda1: float,
    period: float,
) -> None:  # fmt: skip
    """Fill the short-horizon scores of ``s``; failed windows count as the worst forecasts."""
    n = truth.shape[0]
    finite = np.all(np.isfinite(pred[:, :horizon]), axis=(1, 2))
    s.n_windows, s.n_failed_windows = n, int(n - finite.sum())
    if s.n_failed_windows == n:
        s.note("failed", f"every one of the {n} short-horizon forecasts is non-finite")
    elif s.n_failed_windows:
        s.note("partial", f"{s.n_failed_windows} of {n} forecasts non-finite (scored as the worst)")
    short_t, short_p = truth[:, :horizon], pred[:, :horizon]
    with np.errstate(all="ignore"):
        err = np.where(finite[:, None, None], short_t - short_p, np.inf)
    s.mse, s.mae = float(np.mean(err**2)), float(np.mean(np.abs(err)))
    s.smape = smape(short_t, short_p)  # a non-finite prediction counts as 200
    s.smape_by_step = smape_curve(short_t, short_p)
    steps = np.zeros(n)
    censored = np.zeros(n, dtype=bool)
    for i in range(n):  # over the longer VPT horizon, from the same windows
        k, c = valid_prediction_steps(truth[i], pred[i])
        steps[i], censored[i] = k.mean(), c.any()
    s.vpt = float(np.mean(steps) * dt)
    s.vpt_censored_fraction = float(np.mean(censored))  # a flag, not a failure
    s.vpt_lyapunov = s.vpt * lambda1 if math.isfinite(lambda1) and lambda1 > 0 else math.nan
    s.vpt_periods = s.vpt / period if math.isfinite(period) and period > 0 else math.nan


def score_model(
    forecaster: Any,
    test: np.ndarray,
    *,
    dt: float,
    period: float,
    lambda1: float,
    model: str,
    system: str,
    seed: int = 0,
    vpt_horizon: int | None = None,
) -> Score:
    """Score a fitted forecaster on standardised test trajectories ``(n, time, vars)``.

    Short horizon: windows of ``context + vpt_horizon`` steps, stride
    ``horizon``; MSE, MAE and sMAPE over the first ``horizon`` steps of each
    forecast, VPT over the whole free-running forecast of ``vpt_horizon``
    steps (default: the horizon), flagged censored where it reaches the end.
    Long term: see :func:`long_term_scores`.
    """
    from .models.baselines import windows

    s = Score(model, system, system_lambda1=lambda1)
    L, H = forecaster.context, forecaster.horizon
    V = max(H, int(vpt_horizon or H))
    w = windows(test, L + V, H)
    if w.shape[0] == 0:
        raise ValueError(
            f"test trajectories of {test.shape[1]} steps are shorter than context + vpt_horizon "
            f"= {L + V} (config keys forecast.context, forecast.vpt_horizon)"
        )
    pred = forecaster.predict(w[:, :L]) if V == H else forecaster.rollout(w[:, :L], V)
    _short_horizon(s, w[:, L:], pred, H, dt, lambda1, period)
    if s.status == "failed":
        return s
    long_term_scores(s, forecaster, test, dt=dt, seed=seed)
    return s


def score_continuation(
    forecaster: Any,
    series: np.ndarray,
    settings: ForecastSettings,
    *,
    dt: float,
    period: float,
    lambda1: float,
    model: str,
    system: str,
    seed: int = 0,
) -> Score:
    """Gilpin 2023's protocol: one forecast per trajectory from the end of its training part.

    The context is the ``context`` points before ``train_points``; the
    free-running forecast is scored against the continuation: MSE, MAE,
    sMAPE and VPT over ``vpt_horizon`` steps (Gilpin: 200), sMAPE also over
    ``long_horizon`` steps (Gilpin's long task: 5,000), and the long-term
    statistics of the longest forecast against the truth of the same length.
    """
    s = Score(model, system, system_lambda1=lambda1)
    L, start = forecaster.context, settings.train_points
    F, long = settings.vpt_horizon, settings.long_horizon
    steps = max(F, long)
    pred = forecaster.rollout(series[:, start - L : start], steps)
    truth = series[:, start : start + steps]
    _short_horizon(s, truth[:, :F], pred[:, :F], F, dt, lambda1, period)
    if long:
        s.smape_long = smape(truth[:, :long], pred[:, :long])
    if s.status != "failed":
        _long_term(s, pred[0], truth[0], dt=dt, seed=seed)
    return s


def rollout_length(test: np.ndarray, context: int) -> tuple[int, int]:
    """``(T, burn)``: the scored rollout length and its discarded transient, 1.25 T in all."""
    T = int((test.shape[1] - context) / 1.25)
    return T, test.shape[1] - context - T


def long_term_scores(
    s: Score, forecaster: Any, test: np.ndarray, *, dt: float, seed: int = 0
) -> None:
    """Free-running rollout from the first test state; fills D_stsp, D_H, rollout lambda_1.

    1.25 T steps from the first test window's context, the first 0.25 T
    discarded, scored against the true continuation of the same length T (the
    same sample size on both sides, so neither density estimate is favoured).
    A rollout that blows up has NaN long-term scores and status
    ``rollout_failed``; one that collapses to a point gets the worst D_H (1)
    and status ``rollout_collapsed``.
    """
    L = forecaster.context
    first = test[0]
    T, burn = rollout_length(test, L)
    roll = forecaster.rollout(first[None, :L], T + burn)[0, burn:]
    _long_term(s, roll, first[L + burn : L + burn + T], dt=dt, seed=seed, offset=burn)


def _long_term(
    s: Score, roll: np.ndarray, truth_long: np.ndarray, *, dt: float, seed: int, offset: int = 0
) -> None:
    """D_stsp, D_H and the rollout's exponent of ``roll`` against ``truth_long`` (equal lengths)."""
    from .diagnostics.timeseries import max_lyapunov_rosenstein

    if not np.all(np.isfinite(roll)):
        bad = int(np.argmax(~np.all(np.isfinite(roll), axis=1)))
        s.note("rollout_failed", f"the free-running rollout blew up at step {offset + bad}")
        return
    s.d_stsp = state_space_divergence(truth_long, roll, seed=seed)
    if collapsed(truth_long, roll):
        s.d_h = D_H_WORST
        s.note("rollout_collapsed", "the free-running rollout collapsed to a point (D_H worst)")
    else:
        s.d_h = power_spectrum_distance(truth_long, roll)
    try:
        r = max_lyapunov_rosenstein(roll, dt=dt, seed=seed)
        s.rollout_lambda1 = r.value
        if r.reason:
            s.explain(f"rollout exponent: {r.reason}")
    except ValueError as exc:
        s.explain(f"rollout exponent: {exc}")


def noise_floor(test: np.ndarray, context: int, seed: int = 0) -> tuple[float, float]:
    """D_stsp and D_H of one true trajectory against another of the same length.

    The scores a perfect model would get from sampling alone: the first test
    trajectory's scored segment against the second's (NaN with one trajectory).
    """
    if test.shape[0] < 2:
        return math.nan, math.nan
    T, burn = rollout_length(test, context)
    a = test[0, context + burn : context + burn + T]
    b = test[1, context + burn : context + burn + T]
    return state_space_divergence(a, b, seed=seed), power_spectrum_distance(a, b)


#: variables of forecast.nc per (model, system): name -> (long_name, units)
SCORE_VARIABLES: dict[str, tuple[str, str]] = {
    "mse": ("mean squared error over the horizon, standardised units (inf: a failed window)", "1"),
    "mae": ("mean absolute error over the horizon, standardised units (inf: a failed window)", "1"),
    "smape": (
        "symmetric mean absolute percentage error (0-200 scale), standardised units; "
        "a non-finite forecast counts 200",
        "1",
    ),
    "smape_long": (
        "sMAPE (0-200) over the long horizon (continuation protocol; NaN otherwise)",
        "1",
    ),
    "vpt": ("valid prediction time (cumulative sMAPE below 30), in the system's time units", "1"),
    "vpt_lyapunov": ("valid prediction time in Lyapunov times (t * lambda_1)", "1"),
    "vpt_periods": ("valid prediction time in dominant periods", "1"),
    "vpt_censored_fraction": (
        "fraction of windows whose forecast never crossed the VPT threshold (VPT a lower bound)",
        "1",
    ),
    "d_stsp": ("state-space divergence of the free-running rollout (KL)", "1"),
    "d_h": ("power-spectrum Hellinger distance of the free-running rollout", "1"),
    "rollout_lambda1": (
        "largest Lyapunov exponent of the rollout (Rosenstein)",
        "1",
    ),
    "system_lambda1": (
        "largest Lyapunov exponent of the system (invariants.nc)",
        "1",
    ),
    "training_seconds": ("wall-clock training time (not reproducible by nature)", "s"),
}

#: integer variables per (model, system): name -> long_name
COUNT_VARIABLES: dict[str, str] = {
    "n_parameters": "trained parameters",
    "n_windows": "short-horizon test windows scored",
    "n_failed_windows": "windows whose forecast was non-finite (scored as the worst)",
    "vpt_censored": "1: some window never crossed the VPT threshold, the VPT is a lower bound",
}


def forecast_dataset(
    scores: Sequence[Score], models: Sequence[str], systems: Sequence[str], horizon: int,
    attrs: Mapping[str, Any], floors: Mapping[str, tuple[float, float]] | None = None,
) -> xr.Dataset:  # fmt: skip
    """The leaderboard table ``(model, system[, step])`` as an xarray Dataset.

    Times are in each system's own non-dimensional time units (iterations for
    maps), so they carry units "1". ``floors``: per system the D_stsp and D_H of
    one true trajectory against another (:func:`noise_floor`). Select a row with
    ``ds.swap_dims(model="model_name", system="system_name").sel(model_name="nvar")``.
    """
    index = {(s.model, s.system): s for s in scores}
    shape = (len(models), len(systems))

    def grid(name: str, fill: Any, dtype: Any) -> np.ndarray:
        out = np.full(shape, fill, dtype=dtype)
        for i, m in enumerate(models):
            for j, y in enumerate(systems):
                if (m, y) in index:
                    out[i, j] = getattr(index[(m, y)], name)
        return out

    data: dict[str, Any] = {}
    for name, (long_name, units) in SCORE_VARIABLES.items():
        data[name] = (("model", "system"), grid(name, np.nan, np.float64),
                      {"long_name": long_name, "units": units})  # fmt: skip
    for name, long_name in COUNT_VARIABLES.items():
        dtype = np.int8 if name == "vpt_censored" else np.int64
        data[name] = (("model", "system"), grid(name, 0, dtype),
                      {"long_name": long_name, "units": "1"})  # fmt: skip
    floors = floors or {}
    for k, (name, what) in enumerate((("d_stsp_floor", "D_stsp"), ("d_h_floor", "D_H"))):
        data[name] = (("system",), np.array([floors.get(y, (math.nan,) * 2)[k] for y in systems]),
                      {"long_name": f"{what} of one true trajectory against another of the same "
                       "length: the noise floor of the score", "units": "1"})  # fmt: skip
    curve = np.full((*shape, horizon), np.nan)
    for i, m in enumerate(models):
        for j, y in enumerate(systems):
            sc = index.get((m, y))
            if sc is not None and sc.smape_by_step.size == horizon:
                curve[i, j] = sc.smape_by_step
    data["smape_by_step"] = (("model", "system", "step"), curve,
                             {"long_name": "sMAPE per forecast step (0-200 scale)", "units": "1"})  # fmt: skip
    data["status"] = (("model", "system"), grid("status", "missing", object),
                      {"long_name": "scoring status"})  # fmt: skip
    data["reason"] = (("model", "system"), grid("reason", "", object),
                      {"long_name": "why a score is missing or partial"})  # fmt: skip
    ds = xr.Dataset(
        data,
        coords={
            # string labels are auxiliary coordinates, not dimension coordinates (CF)
            "model_name": (
                "model",
                np.array(models, dtype=object),
                {"long_name": "forecast model"},
            ),
            "system_name": (
                "system",
                np.array(systems, dtype=object),
                {"long_name": "catalogue system"},
            ),
            "step": (
                "step",
                np.arange(1, horizon + 1, dtype=np.int32),
                {"long_name": "forecast step", "units": "1"},
            ),
        },  # fmt: skip
        attrs=dict(attrs),
    )
    return ds


def checkpoint_index(checkpoints: Sequence[str | os.PathLike[str]]) -> dict[tuple[str, str], str]:
    """``{(model, system): path}`` from paths ``.../{model}/{system}/model.pt``."""
    return {(Path(c).parent.parent.name, Path(c).parent.name): str(c) for c in checkpoints}


def standardisation(forecaster: Any) -> tuple[np.ndarray, np.ndarray]:
    """The per-variable mean and std a checkpoint was trained with (its ``report``)."""
    report = forecaster.report
    return np.asarray(report["standardise_mean"]), np.asarray(report["standardise_std"])


def _lambda1_and_period(invariants: str | os.PathLike[str]) -> dict[str, tuple[float, float]]:
    with xr.open_dataset(invariants, engine="netcdf4") as inv:
        names = [str(n) for n in inv["system_name"].values]
        lam = inv["lyapunov_exponent"].values[:, 0]
        per = inv["period"].values
    return {n: (float(a), float(b)) for n, a, b in zip(names, lam, per, strict=True)}


def make_forecast(
    config: Mapping[str, Any],
    checkpoints: Sequence[str],
    test_store: str | os.PathLike[str],
    invariants: str | os.PathLike[str],
    output: str | os.PathLike[str],
) -> xr.Dataset:
    """Score every trained model on every system's test split; write ``forecast.nc``."""
    from . import __version__
    from .models import Forecaster
    from .products import canonical_json, provenance, write_netcdf
    from .schemas import SCHEMA_VERSION, validate_forecast

    settings = ForecastSettings.from_config(config)
    ref = _lambda1_and_period(invariants)
    by_pair = checkpoint_index(checkpoints)
    scores = []
    floors: dict[str, tuple[float, float]] = {}
    for system in settings.systems:
        test, attrs = load_split(test_store, system)
        lam, period = ref.get(system, (math.nan, math.nan))
        for model in settings.models:
            path = by_pair.get((model, system))
            if path is None:
                scores.append(Score(model, system, "missing", "no checkpoint"))
                continue
            f = Forecaster.load(path)
            mean, std = standardisation(f)
            z = (test - mean) / std
            if system not in floors and not settings.continuation:
                floors[system] = noise_floor(z, settings.context, seed=int(config["seed"]))
            common = dict(dt=float(attrs.get("dt", 1.0)), period=period, lambda1=lam,
                          model=model, system=system, seed=int(config["seed"]))  # fmt: skip
            try:
                if settings.continuation:
                    sc = score_continuation(f, z, settings, **common)
                else:
                    sc = score_model(f, z, vpt_horizon=settings.vpt_horizon, **common)
            except Exception as exc:  # recorded, never raised
                sc = Score(model, system, "failed", f"{type(exc).__name__}: {exc}")
            sc.training_seconds = float(f.report.get("seconds", math.nan))
            sc.n_parameters = int(f.report.get("n_parameters", f.n_parameters))
            log.info("forecast %s on %s: VPT %.3g Lyapunov times%s, sMAPE %.3g, %s",
                     model, system, sc.vpt_lyapunov, " (censored)" * sc.vpt_censored, sc.smape,
                     sc.status)  # fmt: skip
            scores.append(sc)
    attrs = {
        **provenance(config, product="forecast"),
        "Conventions": "CF-1.10",
        "title": "chaosatlas forecast leaderboard",
        "schema_version": SCHEMA_VERSION,
        "history": f"created by chaosatlas {__version__} (rule forecast)",
        "source": "chaosatlas: models trained on the catalogue's trajectory stores",
        "forecast": canonical_json(
            {
                "context": settings.context,
                "horizon": settings.horizon,
                "vpt_horizon": settings.vpt_horizon,
                "hyper": settings.hyper,
                "search": settings.search,
                "training": settings.training,
                "protocol": settings.protocol,
                "train_points": settings.train_points,
                "long_horizon": settings.long_horizon,
                "units": settings.units,
            }
        ),  # fmt: skip
        "protocol": (
            f"continuation (Gilpin 2023): fit on the first 5/6 of {settings.train_points} "
            "points of each training trajectory, tune on the last 1/6, one free-running "
            f"forecast from point {settings.train_points}: MSE, MAE, sMAPE and VPT over "
            f"{settings.vpt_horizon} steps, sMAPE over {settings.long_horizon} (long task), "
            "long-term statistics of the longest forecast against the truth of the same "
            f"length; a non-finite forecast scores the worst; {settings.units} units; sMAPE "
            "0-200; VPT threshold 30"
        )
        if settings.continuation
        else (
            "short horizon: test windows of context+vpt_horizon, stride horizon; MSE, MAE, "
            "sMAPE over the first horizon steps, VPT over the free-running vpt_horizon "
            "steps (vpt_censored where never crossed); a non-finite forecast scores the worst "
            "(sMAPE 200, VPT 0); long term: rollout of 1.25 T from the first test state, first "
            "0.25 T discarded, against the true continuation of the same length T; "
            "sMAPE on the 0-200 scale in standardised units; VPT threshold 30"
        ),
    }
    steps = settings.vpt_horizon if settings.continuation else settings.horizon
    ds = forecast_dataset(scores, settings.models, settings.systems, steps, attrs, floors)
    write_netcdf(ds, output, validate=validate_forecast)
    return ds
