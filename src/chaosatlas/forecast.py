"""The forecast stage: train one model on one system, score every model on every system.

Data come from the trajectory stores (``results/trajectories/{split}.zarr``,
one group per system), standardised with the training split's per-variable
mean and std. Scores (see :mod:`chaosatlas.metrics`):

- short horizon: every test window of ``context + horizon`` steps (stride
  ``horizon``): MSE, MAE, sMAPE (standardised units), sMAPE per step, VPT in
  time units, Lyapunov times (``t * lambda_1`` from ``invariants.nc``) and
  dominant periods;
- long term: from the first test state a free-running rollout of 1.25 T steps,
  the first 0.25 T discarded (T as long as the test trajectory allows): D_stsp
  against all test data, D_H against the true continuation, and the rollout's
  largest exponent (Rosenstein) against the system's.
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
    mae,
    mse,
    power_spectrum_distance,
    smape,
    smape_curve,
    state_space_divergence,
    valid_prediction_time,
)

log = logging.getLogger("chaosatlas")


@dataclass(frozen=True)
class ForecastSettings:
    """The ``forecast`` block of the config."""

    systems: tuple[str, ...] = ("Lorenz",)
    models: tuple[str, ...] = ("persistence",)
    context: int = 64
    horizon: int = 32
    hyper: dict[str, dict[str, Any]] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"

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
        return cls(
            systems=tuple(f.get("systems", cls.systems)),
            models=tuple(f.get("models", cls.models)),
            context=int(f.get("context", cls.context)),
            horizon=int(f.get("horizon", cls.horizon)),
            hyper={k: dict(v or {}) for k, v in (f.get("hyper") or {}).items()},
            training=dict(f.get("training") or {}),
            device=str(f.get("device", "auto")),
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
    val, _ = load_split(val_store, system)
    mean, std = standardiser(train)
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
    f = Forecaster(
        model,
        settings.context,
        settings.horizon,
        train.shape[-1],
        hyper,
        training if model in NEURAL else None,
    )
    log.info("train %s on %s: %d parameters", model, system, f.n_parameters)
    report = f.fit(train_z, val_z, label=f"{model}/{system}")
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
    """Scores of one model on one system."""

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
    d_stsp: float = math.nan
    d_h: float = math.nan
    rollout_lambda1: float = math.nan
    system_lambda1: float = math.nan
    training_seconds: float = math.nan
    n_parameters: int = 0


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
) -> Score:
    """Score a fitted forecaster on standardised test trajectories ``(n, time, vars)``."""
    from .diagnostics.timeseries import max_lyapunov_rosenstein
    from .models.baselines import windows

    s = Score(model, system, system_lambda1=lambda1)
    L, H = forecaster.context, forecaster.horizon
    w = windows(test, L + H, H)
    pred = forecaster.predict(w[:, :L])
    truth = w[:, L:]
    finite = np.all(np.isfinite(pred), axis=(1, 2))
    if not finite.any():
        s.status, s.reason = "failed", "every short-horizon forecast is non-finite"
        return s
    if not finite.all():
        s.reason = f"{int((~finite).sum())} of {finite.size} forecasts non-finite (left out); "
    pred, truth = pred[finite], truth[finite]
    s.mse, s.mae, s.smape = mse(truth, pred), mae(truth, pred), smape(truth, pred)
    s.smape_by_step = smape_curve(truth, pred)
    s.vpt = float(
        np.mean([valid_prediction_time(t, p, dt) for t, p in zip(truth, pred, strict=True)])
    )
    s.vpt_lyapunov = s.vpt * lambda1 if math.isfinite(lambda1) and lambda1 > 0 else math.nan
    s.vpt_periods = s.vpt / period if math.isfinite(period) and period > 0 else math.nan
    # long term: 1.25 T steps from the first test state, the first 0.25 T discarded
    first = test[0]
    T = int((first.shape[0] - L) / 1.25)
    burn = first.shape[0] - L - T
    roll = forecaster.rollout(first[None, :L], T + burn)[0, burn:]
    truth_long = first[L + burn : L + burn + T]
    if not np.all(np.isfinite(roll)):
        s.reason += "the free-running rollout blew up (long-term scores NaN)"
        s.status = "rollout_failed"
        return s
    s.d_stsp = state_space_divergence(test.reshape(-1, test.shape[-1]), roll, seed=seed)
    s.d_h = power_spectrum_distance(truth_long, roll)
    try:
        s.rollout_lambda1 = max_lyapunov_rosenstein(roll, dt=dt, seed=seed).value
    except Exception as exc:  # a constant rollout has no exponent
        s.reason += f"rollout exponent: {exc}"
    s.reason = s.reason.rstrip("; ")
    return s


#: variables of forecast.nc per (model, system): name -> (long_name, units)
SCORE_VARIABLES: dict[str, tuple[str, str]] = {
    "mse": ("mean squared error over the horizon, standardised units", "1"),
    "mae": ("mean absolute error over the horizon, standardised units", "1"),
    "smape": ("symmetric mean absolute percentage error (0-200 scale), standardised units", "1"),
    "vpt": ("valid prediction time (cumulative sMAPE below 30), in the system's time units", "1"),
    "vpt_lyapunov": ("valid prediction time in Lyapunov times (t * lambda_1)", "1"),
    "vpt_periods": ("valid prediction time in dominant periods", "1"),
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


def forecast_dataset(
    scores: Sequence[Score], models: Sequence[str], systems: Sequence[str], horizon: int,
    attrs: Mapping[str, Any],
) -> xr.Dataset:  # fmt: skip
    """The leaderboard table ``(model, system[, step])`` as an xarray Dataset.

    Times are in each system's own non-dimensional time units (iterations for
    maps), so they carry units "1"; select a row with
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
    data["n_parameters"] = (
        ("model", "system"), grid("n_parameters", 0, np.int64),
        {"long_name": "trained parameters", "units": "1"},
    )  # fmt: skip
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
            try:
                sc = score_model(
                    f, (test - mean) / std, dt=float(attrs.get("dt", 1.0)), period=period,
                    lambda1=lam, model=model, system=system, seed=int(config["seed"]),
                )  # fmt: skip
            except Exception as exc:  # recorded, never raised
                sc = Score(model, system, "failed", f"{type(exc).__name__}: {exc}")
            sc.training_seconds = float(f.report.get("seconds", math.nan))
            sc.n_parameters = int(f.report.get("n_parameters", f.n_parameters))
            log.info("forecast %s on %s: VPT %.3g Lyapunov times, sMAPE %.3g, %s",
                     model, system, sc.vpt_lyapunov, sc.smape, sc.status)  # fmt: skip
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
                "hyper": settings.hyper,
                "training": settings.training,
            }
        ),  # fmt: skip
        "protocol": (
            "short horizon: test windows of context+horizon, stride horizon; long term: "
            "rollout of 1.25 T from the first test state, first 0.25 T discarded; "
            "sMAPE on the 0-200 scale in standardised units; VPT threshold 30"
        ),
    }
    ds = forecast_dataset(scores, settings.models, settings.systems, settings.horizon, attrs)
    write_netcdf(ds, output, validate=validate_forecast)
    return ds
