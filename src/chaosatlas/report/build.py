"""Report items from the products: one function per report rule (paths in, files out).

Each function reads finished products, writes its HTML table or PNG figure to
a temporary sibling and moves it into place, so a killed job leaves nothing
that looks finished.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..products import open_trajectories, require_complete, write_atomically
from ..schemas import ProductError
from . import figures, tables

__all__ = [
    "report_attractor",
    "report_attractor_grid",
    "report_catalogue",
    "report_causal",
    "report_forecast",
    "report_invariants",
]


def _write_text(path: str | os.PathLike[str], text: str) -> None:
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def report_catalogue(catalogue: str | os.PathLike[str], output: str | os.PathLike[str]) -> None:
    """``catalogue.nc`` as a searchable HTML table."""
    with xr.open_dataset(catalogue, engine="netcdf4") as ds:
        fragment = tables.catalogue_table(ds.load())
    _write_text(output, tables.page("chaosatlas catalogue", fragment))


def _trajectory(store: str | os.PathLike[str], system: str, n_points: int = 4096) -> tuple:
    """First successful trajectory of a system, its kind and the delay for 1-D projections."""
    with open_trajectories(store, system) as ds:
        ok = np.flatnonzero(ds["status"].values == 0)
        if ok.size == 0:
            raise ValueError(f"{store}: no successful trajectory for {system}")
        x = ds["x"].isel(trajectory=int(ok[0])).values[:n_points].astype(np.float64)
        kind = str(ds.attrs.get("kind", "flow"))
        variables = [str(v) for v in ds["variable"].values]
        dt = float(ds.attrs.get("dt", 1.0))
        period = float(ds.attrs.get("period", math.nan))
    # one variable (a delay equation, the logistic map): a quarter period of delay
    lag = 1 if kind == "map" or not np.isfinite(period) else max(1, round(period / (4 * dt)))
    return x, kind, lag, variables


def _store_systems(store: str | os.PathLike[str]) -> list[str]:
    root = require_complete(store)
    listed = root.attrs.get("systems")
    systems = json.loads(listed) if isinstance(listed, str) else list(listed or [])
    return [str(s) for s in systems]


def report_attractor_grid(store: str | os.PathLike[str], output: str | os.PathLike[str]) -> None:
    """A grid of small projections, one per system in a trajectory store."""
    trajectories = {}
    for system in _store_systems(store):
        try:
            x, kind, lag, _ = _trajectory(store, system, n_points=2048)
        except ValueError:
            continue  # its failure is recorded in the store and the catalogue
        trajectories[system] = (x, kind, lag)
    write_atomically(output, lambda tmp: figures.attractor_grid(trajectories, tmp))


def report_attractor(
    store: str | os.PathLike[str], system: str, output: str | os.PathLike[str]
) -> None:
    """A larger figure of one system's attractor (pairs of its first three variables).

    A system without a successful trajectory gets a figure that says so (its
    status and reason are in the catalogue), not a failed job.
    """
    try:
        x, kind, lag, variables = _trajectory(store, system, n_points=8192)
    except ProductError:  # an incomplete or broken store fails the job
        raise
    except (FileNotFoundError, KeyError, ValueError) as exc:
        message = f"{system}: no trajectory to draw ({exc})"
        write_atomically(output, lambda tmp: figures.message_figure(message, tmp))
        return
    write_atomically(
        output, lambda tmp: figures.attractor_figure(system, x, kind, variables, tmp, lag)
    )


def report_invariants(
    invariants: str | os.PathLike[str],
    table: str | os.PathLike[str],
    figure: str | os.PathLike[str],
) -> None:
    """Invariants against the literature: an HTML table and a computed-vs-literature figure."""
    with xr.open_dataset(invariants, engine="netcdf4") as src:
        ds = src.load()
    _write_text(table, tables.page("chaosatlas invariants", tables.invariants_table(ds)))
    names = [str(n) for n in ds["system_name"].values]
    refs = [tables.literature_values(str(r)) for r in ds["reference"].values]
    checks = [tables.disagreeing(str(c)) for c in ds["reference_check"].values]
    computed = {
        "lambda_1": ds["lyapunov_exponent"].values[:, 0].astype(float),
        "Kaplan-Yorke dimension": ds["kaplan_yorke_dimension"].values.astype(float),
        "correlation dimension": ds["correlation_dimension"].values.astype(float),
    }
    literature = {k: np.array([r[k] for r in refs]) for k in computed}
    disagrees = {k: np.array([k in c for c in checks]) for k in computed}
    write_atomically(figure, lambda tmp: figures.invariants_figure(names, computed, literature,
                                                           disagrees, tmp))  # fmt: skip


def report_forecast(
    config: Mapping[str, Any],
    forecast: str | os.PathLike[str],
    checkpoints: Sequence[str | os.PathLike[str]],
    test_store: str | os.PathLike[str],
    leaderboard: str | os.PathLike[str],
    rollouts: str | os.PathLike[str],
    long_term: str | os.PathLike[str],
    summary: str | os.PathLike[str] | None = None,
) -> None:
    """The leaderboard table, example rollouts against the truth, long-term statistics.

    ``summary``: the compact leaderboard embedded in the report's front page.

    Rollouts: every model forecasts freely from the first test window of each
    system for ``4 * horizon`` steps (first variable, system units); time is
    in Lyapunov times where the system has a positive exponent.
    """
    from ..forecast import ForecastSettings, checkpoint_index, load_split, standardisation
    from ..models import Forecaster

    with xr.open_dataset(forecast, engine="netcdf4") as src:
        ds = src.load()
    _write_text(leaderboard, tables.leaderboard_table(ds))
    if summary is not None:
        _write_text(summary, tables.leaderboard_table(ds, compact=True))
    settings = ForecastSettings.from_config(config)
    models = [str(m) for m in ds["model_name"].values]
    systems = [str(s) for s in ds["system_name"].values]
    by_pair = checkpoint_index(checkpoints)
    lam = np.nanmax(ds["system_lambda1"].values.astype(float), axis=0, initial=-np.inf)
    roll: dict[str, dict[str, np.ndarray]] = {}
    truth: dict[str, np.ndarray] = {}
    time: dict[str, np.ndarray] = {}
    L = settings.context
    for j, system in enumerate(systems):
        test, attrs = load_split(test_store, system)
        steps = min(4 * settings.horizon, test.shape[1] - L)
        first = test[0]
        truth[system] = first[L : L + steps, 0]
        dt = float(attrs.get("dt", 1.0))
        scale = lam[j] if np.isfinite(lam[j]) and lam[j] > 0 else 1.0
        time[system] = np.arange(1, steps + 1) * dt * scale
        roll[system] = {}
        for model in models:
            path = by_pair.get((model, system))
            if path is None:
                continue
            f = Forecaster.load(path)
            mean, std = standardisation(f)
            z = f.rollout(((first[:L] - mean) / std)[None], steps)[0]
            roll[system][model] = z[:, 0] * std[0] + mean[0]
    write_atomically(rollouts, lambda tmp: figures.rollout_figure(roll, truth, time, tmp))
    write_atomically(
        long_term,
        lambda tmp: figures.long_term_figure(
            models, systems, {k: ds[k].values for k in ("d_stsp", "d_h")},
            ds["rollout_lambda1"].values.astype(float), ds["system_lambda1"].values.astype(float),
            ds["smape_by_step"].values.astype(float), tmp,
        ),
    )  # fmt: skip


def report_causal(
    config: Mapping[str, Any],
    data: Sequence[str | os.PathLike[str]],
    predictions: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
) -> None:
    """ROC and precision-recall curves per tier and method, pooled over headline graphs.

    A graph enters a tier's curve when its simulation is ``ok`` and its truth
    has edges and non-edges (the headline set of ``scores.nc``), and the
    method's run on it is ``ok``.
    """
    from ..causal.pipeline import causal_settings, graph_truth
    from ..causal.scoring import precision_recall_curve, roc_curve

    settings = causal_settings(config)
    truths: dict[str, list[tuple[int, np.ndarray]]] = {}
    for path in data:
        with xr.open_dataset(path, engine="netcdf4") as src:
            tier = str(src.attrs["tier"])
            ds = src[["adj_summary", "n_nodes", "status"]].load()
        graphs = [(k, *graph_truth(ds, k)) for k in range(ds.sizes["instance"])]
        truths[tier] = [(k, t) for k, t, headline in graphs if headline]
    preds = {}
    for path in predictions:
        with xr.open_dataset(path, engine="netcdf4") as src:
            preds[(str(src.attrs["method"]), str(src.attrs["tier"]))] = src.load()
    curves: dict[str, dict[str, tuple]] = {}
    for tier, graphs in truths.items():
        curves[tier] = {}
        for method in settings["methods"]:
            pred = preds.get((method, tier))
            ts, ss = [], []
            for k, t in graphs:
                if pred is None or str(pred["status"].values[k]) != "ok":
                    continue
                n = t.shape[0]
                ts.append(t)
                ss.append(np.asarray(pred["score"].values[k, :n, :n], dtype=float))
            fpr, tpr = roc_curve(ts, ss)
            recall, precision = precision_recall_curve(ts, ss)
            curves[tier][method] = (fpr, tpr, recall, precision)
    write_atomically(output, lambda tmp: figures.causal_curves_figure(curves, tmp))
