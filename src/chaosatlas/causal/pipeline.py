"""The causal benchmark's workflow stages: data per tier, one method per job, scores.

Three products, each written atomically and validated before it appears:

* ``results/causal/{tier}.nc`` (:func:`make_tier_data`): trajectories with
  their known graph (``adj_summary[instance, source, target]``), every
  instance's status, reason and synchronisation error;
* ``results/causal/predictions/{method}/{tier}.nc`` (:func:`make_predictions`):
  one method's edge scores per instance, its runtime and status;
* ``results/causal/scores.nc`` (:func:`make_scores`): AUROC, AUPRC, F1 and
  SHD per (method, graph) and their summaries per (method, tier, variant).

Tier names in the config map to the generator's tiers: ``pairs`` (1),
``dags`` (2), ``lorenz96`` (3).
"""

from __future__ import annotations

import logging
import math
import os
import time
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .generate import CONVENTION, tier_dataset
from .methods import METHODS, run_method
from .scoring import off_diagonal, pooled_scores, score_graph

log = logging.getLogger("chaosatlas")

#: config tier name -> generator tier
TIERS: dict[str, int] = {"pairs": 1, "dags": 2, "lorenz96": 3}
#: data statuses whose instances are scored in the headline
HEADLINE_STATUS = "ok"
#: per-graph scores (name -> long name)
GRAPH_SCORES: dict[str, str] = {
    "auroc": "area under the ROC curve over off-diagonal edges",
    "auprc": "average precision over off-diagonal edges",
    "null_auprc": "AUPRC of random scores: the edge density",
    "f1_threshold": "F1 at the method's own threshold (p < alpha)",
    "shd_threshold": "structural Hamming distance at the method's own threshold",
    "f1_topk": "F1 of the k highest scores, k = number of true edges (oracle)",
    "shd_topk": "structural Hamming distance of the oracle top-k prediction",
    "self_loop_auroc": "AUROC of the diagonal (self-loops), reported apart",
}


def causal_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``causal`` block with defaults: tiers, methods, options, alpha."""
    block = dict(config.get("causal") or {})
    tiers = dict(block.get("tiers") or {})
    unknown = sorted(set(tiers) - set(TIERS))
    if unknown:
        raise ValueError(f"causal.tiers: unknown tier(s) {unknown}; known: {sorted(TIERS)}")
    methods = list(block.get("methods") or [])
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ValueError(f"causal.methods: unknown method(s) {bad}; known: {sorted(METHODS)}")
    return {
        "tiers": {name: dict(tiers[name] or {}) for name in TIERS if name in tiers},
        "methods": methods,
        "options": {k: dict(v or {}) for k, v in (block.get("options") or {}).items()},
        "alpha": float(block.get("alpha", 0.05)),
    }


def tier_seed(seed: int, tier: str) -> int:
    """The seed of one tier: from the config's seed and the tier's name."""
    return int(np.random.SeedSequence([int(seed), zlib.crc32(tier.encode())]).generate_state(1)[0])


def _attrs(config: Mapping[str, Any], product: str, title: str, **extra: Any) -> dict[str, str]:
    from .. import __version__
    from ..products import provenance
    from ..schemas import SCHEMA_VERSION

    return {
        **provenance(config, product=product, **extra),
        "Conventions": "CF-1.10",
        "title": title,
        "schema_version": SCHEMA_VERSION,
        "history": f"created by chaosatlas {__version__} (rule {product})",
        "source": "chaosatlas: coupled catalogue systems with known causal graphs",
        "convention": CONVENTION,
    }


def _strings(ds: xr.Dataset) -> xr.Dataset:
    """Object arrays of str for every string variable (NetCDF writes them as vlen str)."""
    for name, var in ds.variables.items():
        if var.dtype.kind in "OUT":
            ds[name] = var.copy(data=np.asarray(var.values).astype(str).astype(object))
    return ds


def make_tier_data(
    config: Mapping[str, Any], tier: str, output: str | os.PathLike[str]
) -> xr.Dataset:
    """Generate, simulate and write one tier: ``results/causal/{tier}.nc``."""
    from ..products import write_netcdf
    from ..schemas import validate_causal_data

    settings = causal_settings(config)
    if tier not in settings["tiers"]:
        raise ValueError(
            f"causal.tiers has no tier {tier!r} (configured: {list(settings['tiers'])})"
        )
    seed = tier_seed(int(config["seed"]), tier)
    started = time.perf_counter()
    # samples are steps of dt (dt differs per instance): "step", not a CF time axis
    ds = tier_dataset(TIERS[tier], settings["tiers"][tier], seed=seed).rename(time="step")
    status = ds["status"].values.astype(str)
    log.info(
        "causal data %s: %d instances in %.1f s (%s)",
        tier, ds.sizes["instance"], time.perf_counter() - started,
        ", ".join(f"{s} {int((status == s).sum())}" for s in sorted(set(status))),
    )  # fmt: skip
    gen_attrs = {k: v for k, v in ds.attrs.items() if k not in ("convention",)}
    ds.attrs = {
        **_attrs(config, "causal_data", f"chaosatlas causal benchmark data, tier {tier}"),
        **{f"generator_{k}": str(v) for k, v in gen_attrs.items()},
        "tier": tier,
        "tier_number": str(TIERS[tier]),
        "seed": str(seed),
        "self_loop_policy": str(gen_attrs.get("self_loop_policy", "")),
    }
    _describe_data(ds)
    write_netcdf(_strings(ds), output, validate=validate_causal_data)
    return ds


def _describe_data(ds: xr.Dataset) -> None:
    meta = {
        "x": ("observed coordinate 0 of every node (padding NaN)", "1"),
        "x_full": ("every coordinate of every node (padding NaN)", "1"),
        "adj_summary": ("true graph A[source, target] (1: source causes target; -1 padding)", "1"),
        "adj_confounded": ("1 where a hidden node drives both nodes (-1 padding)", "1"),
        "sync_error": ("smallest normalised synchronisation error over coupled edges", "1"),
        "sync_error_edges": ("normalised synchronisation error per coupled edge", "1"),
        "coupling": ("coupling strength c", "1"),
        "n_nodes": ("observed nodes of the instance", "1"),
        "dt": ("sampling interval", "1"),
        "period": ("dominant period", "1"),
        "seed": ("simulation seed", "1"),
    }
    for name, (long_name, units) in meta.items():
        if name in ds:
            ds[name].attrs.update(long_name=long_name, units=units)
    for name in ("instance", "step", "node", "source", "target", "dim"):
        if name in ds.coords:
            ds[name].attrs.update(long_name=name, units="1")
    for name, long_name in {
        "status": "simulation status (ok, synchronised, or why it failed)",
        "reason": "why an instance is not ok",
        "variant": "tier variant",
        "label": "instance description",
        "node_system": "catalogue system of each node",
    }.items():
        if name in ds:
            ds[name].attrs.update(long_name=long_name)


def _method_options(settings: Mapping[str, Any], method: str, seed: int) -> dict[str, Any]:
    options = dict(settings["options"].get(method, {}))
    if method == "ccm":
        options.setdefault("seed", seed)  # random libraries come from the config's seed
    return options


def make_predictions(
    config: Mapping[str, Any],
    method: str,
    data: str | os.PathLike[str],
    output: str | os.PathLike[str],
) -> xr.Dataset:
    """Run one method on every instance of one tier: ``predictions/{method}/{tier}.nc``.

    An instance whose simulation failed is ``skipped`` with the data's reason;
    a synchronised one is still run (and left out of the headline scores
    later). A method failure is recorded with its reason and NaN scores.
    """
    from ..products import write_netcdf
    from ..schemas import validate_causal_predictions

    settings = causal_settings(config)
    with xr.open_dataset(data, engine="netcdf4") as src:
        ds = src.load()
    tier = str(ds.attrs["tier"])
    n_inst, n_node = ds.sizes["instance"], ds.sizes["node"]
    score = np.full((n_inst, n_node, n_node), np.nan)
    pvalue = np.full((n_inst, n_node, n_node), np.nan)
    runtime = np.full(n_inst, np.nan)
    status = np.full(n_inst, "skipped", dtype=object)
    reason = np.full(n_inst, "", dtype=object)
    options = _method_options(settings, method, tier_seed(int(config["seed"]), tier))
    started = time.perf_counter()
    for k in range(n_inst):
        data_status = str(ds["status"].values[k])
        n = int(ds["n_nodes"].values[k])
        if data_status not in ("ok", "synchronised"):
            reason[k] = f"data {data_status}: {ds['reason'].values[k]}"
            continue
        x = np.asarray(ds["x"].values[k, :, :n], dtype=np.float64)
        out = run_method(method, x, **options)
        score[k, :n, :n] = out.score
        if out.pvalue is not None:
            pvalue[k, :n, :n] = out.pvalue
        runtime[k], status[k], reason[k] = out.runtime_s, out.status, out.reason
        log.info("causal %s on %s #%d/%d: %s in %.2f s", method, tier, k + 1, n_inst,
                 out.status, out.runtime_s)  # fmt: skip
    log.info("causal %s on %s: %d instances in %.1f s", method, tier, n_inst,
             time.perf_counter() - started)  # fmt: skip
    pred = xr.Dataset(
        {
            "score": (
                ("instance", "source", "target"),
                score,
                {"long_name": f"{method} score ranking the edge source -> target", "units": "1"},
            ),
            "pvalue": (
                ("instance", "source", "target"),
                pvalue,
                {"long_name": "p-value of the edge (NaN: the method gives none)", "units": "1"},
            ),
            "runtime_s": (
                "instance",
                runtime,
                {"long_name": "method wall-clock time", "units": "s"},
            ),
            "n_nodes": (
                "instance",
                np.asarray(ds["n_nodes"].values, dtype=np.int64),
                {"long_name": "observed nodes of the instance", "units": "1"},
            ),
            "status": ("instance", status, {"long_name": "method status"}),
            "reason": ("instance", reason, {"long_name": "why a method run is not ok"}),
        },  # fmt: skip
        coords={
            name: (name, np.arange(size), {"long_name": name, "units": "1"})
            for name, size in (("instance", n_inst), ("source", n_node), ("target", n_node))
        },
        attrs=_attrs(
            config,
            "causal_discover",
            f"chaosatlas causal predictions: {method} on {tier}",
            method=method,
            tier=tier,
            options=options,
        ),  # fmt: skip
    )
    write_netcdf(_strings(pred), output, validate=validate_causal_predictions)
    return pred


def _nan_stats(values: Sequence[float]) -> tuple[float, float]:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def graph_truth(ds: xr.Dataset, k: int) -> tuple[np.ndarray, bool]:
    """Instance ``k`` of a tier dataset: its true graph and whether it is a headline graph.

    Returns the ``(n, n)`` summary adjacency without padding, and True when
    the simulation is ``ok`` (not synchronised, not failed) and the truth has
    both edges and non-edges off the diagonal (AUROC/AUPRC are defined).
    """
    n = int(ds["n_nodes"].values[k])
    truth = np.asarray(ds["adj_summary"].values[k, :n, :n], dtype=np.int8)
    off = off_diagonal(truth)
    ok = str(ds["status"].values[k]) == HEADLINE_STATUS
    return truth, bool(ok and 0 < off.sum() < off.size)


def make_scores(
    config: Mapping[str, Any],
    data: Sequence[str | os.PathLike[str]],
    predictions: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
) -> xr.Dataset:
    """Score every method on every graph: ``results/causal/scores.nc``.

    Per (method, graph): AUROC, AUPRC, the null AUPRC, F1 and SHD at the
    method's threshold and at oracle top-k, self-loop AUROC apart. A graph is
    in the headline (``included``) when its simulation is ``ok`` (not
    synchronised, not failed) and its truth has both edges and non-edges.
    Per (method, tier, variant): mean and standard deviation over included
    graphs, and the pooled AUROC/AUPRC over all their edges.
    """
    from ..products import write_netcdf
    from ..schemas import validate_causal_scores

    settings = causal_settings(config)
    tiers = {}
    for path in data:
        with xr.open_dataset(path, engine="netcdf4") as src:
            tiers[str(src.attrs["tier"])] = src.drop_vars(["x", "x_full"]).load()
    preds: dict[tuple[str, str], xr.Dataset] = {}
    for path in predictions:
        with xr.open_dataset(path, engine="netcdf4") as src:
            preds[(str(src.attrs["method"]), str(src.attrs["tier"]))] = src.load()
    methods = settings["methods"]
    graphs = [(t, k) for t in tiers for k in range(tiers[t].sizes["instance"])]
    shape = (len(methods), len(graphs))
    table = {name: np.full(shape, np.nan) for name in GRAPH_SCORES}
    runtime = np.full(shape, np.nan)
    status = np.full(shape, "missing", dtype=object)
    reason = np.full(shape, "", dtype=object)
    included = np.zeros(len(graphs), dtype=np.int8)
    n_edges = np.zeros(len(graphs), dtype=np.int64)
    n_nodes = np.zeros(len(graphs), dtype=np.int64)
    pooled: dict[tuple[int, str, str], tuple[list, list]] = {}
    for g, (tier, k) in enumerate(graphs):
        ds = tiers[tier]
        truth, headline = graph_truth(ds, k)
        n = truth.shape[0]
        n_nodes[g], n_edges[g], included[g] = n, int(off_diagonal(truth).sum()), int(headline)
        for i, method in enumerate(methods):
            pred = preds.get((method, tier))
            if pred is None:
                reason[i, g] = "no predictions for this tier"
                continue
            status[i, g] = str(pred["status"].values[k])
            reason[i, g] = str(pred["reason"].values[k])
            runtime[i, g] = float(pred["runtime_s"].values[k])
            if status[i, g] != "ok":
                continue
            s = np.asarray(pred["score"].values[k, :n, :n])
            p = np.asarray(pred["pvalue"].values[k, :n, :n])
            row = score_graph(truth, s, None if np.isnan(p).all() else p, settings["alpha"])
            for name in GRAPH_SCORES:
                table[name][i, g] = row[name]
            if included[g]:
                key = (i, tier, str(ds["variant"].values[k]))
                pooled.setdefault(key, ([], []))
                pooled[key][0].append(truth)
                pooled[key][1].append(s)
    groups = sorted({(t, str(tiers[t]["variant"].values[k])) for t, k in graphs},
                    key=lambda tv: (list(tiers).index(tv[0]), tv[1]))  # fmt: skip
    gshape = (len(methods), len(groups))
    summary = {
        name: np.full(gshape, np.nan)
        for name in ("auroc_mean", "auroc_sd", "auprc_mean", "auprc_sd", "auroc_pooled",
                     "auprc_pooled", "null_auprc_mean", "runtime_mean")
    }  # fmt: skip
    n_graphs = np.zeros(gshape, dtype=np.int64)
    for j, (tier, variant) in enumerate(groups):
        members = [
            g for g, (t, k) in enumerate(graphs)
            if t == tier and str(tiers[t]["variant"].values[k]) == variant and included[g]
        ]  # fmt: skip
        for i in range(len(methods)):
            ok = [g for g in members if status[i, g] == "ok"]
            n_graphs[i, j] = len(ok)
            summary["auroc_mean"][i, j], summary["auroc_sd"][i, j] = _nan_stats(
                table["auroc"][i, ok]
            )
            summary["auprc_mean"][i, j], summary["auprc_sd"][i, j] = _nan_stats(
                table["auprc"][i, ok]
            )
            summary["null_auprc_mean"][i, j] = _nan_stats(table["null_auprc"][i, ok])[0]
            summary["runtime_mean"][i, j] = _nan_stats(runtime[i, ok])[0]
            if (i, tier, variant) in pooled:
                summary["auroc_pooled"][i, j], summary["auprc_pooled"][i, j] = pooled_scores(
                    *pooled[(i, tier, variant)]
                )
    out = xr.Dataset(
        {
            **{
                name: (("method", "graph"), table[name], {"long_name": long, "units": "1"})
                for name, long in GRAPH_SCORES.items()
            },
            "runtime_s": (
                ("method", "graph"),
                runtime,
                {"long_name": "method wall-clock time", "units": "s"},
            ),
            "status": (("method", "graph"), status, {"long_name": "method status"}),
            "reason": (("method", "graph"), reason, {"long_name": "why a method run is not ok"}),
            "included": (
                "graph",
                included,
                {
                    "long_name": "1: the graph counts in the headline (simulation ok, not synchronised)",
                    "units": "1",
                },
            ),
            "n_nodes": ("graph", n_nodes, {"long_name": "observed nodes", "units": "1"}),
            "n_edges": ("graph", n_edges, {"long_name": "true off-diagonal edges", "units": "1"}),
            "sync_error": (
                "graph",
                np.array([float(tiers[t]["sync_error"].values[k]) for t, k in graphs]),
                {"long_name": "smallest synchronisation error", "units": "1"},
            ),
            "data_status": (
                "graph",
                np.array([str(tiers[t]["status"].values[k]) for t, k in graphs], dtype=object),
                {"long_name": "simulation status of the graph"},
            ),
            **{
                name: (
                    ("method", "group"),
                    values,
                    {
                        "long_name": name.replace("_", " ") + " over included graphs",
                        "units": "s" if name == "runtime_mean" else "1",
                    },
                )
                for name, values in summary.items()
            },
            "n_graphs": (
                ("method", "group"),
                n_graphs,
                {"long_name": "included graphs the method scored", "units": "1"},
            ),
        },  # fmt: skip
        coords={
            "method_name": ("method", np.array(methods, dtype=object), {"long_name": "method"}),
            "tier": (
                "graph",
                np.array([t for t, _ in graphs], dtype=object),
                {"long_name": "tier"},
            ),
            "instance": (
                "graph",
                np.array([k for _, k in graphs], dtype=np.int64),
                {"long_name": "instance within its tier", "units": "1"},
            ),
            "variant": (
                "graph",
                np.array([str(tiers[t]["variant"].values[k]) for t, k in graphs], dtype=object),
                {"long_name": "tier variant"},
            ),
            "label": (
                "graph",
                np.array([str(tiers[t]["label"].values[k]) for t, k in graphs], dtype=object),
                {"long_name": "graph description"},
            ),
            "group_name": (
                "group",
                np.array([f"{t}/{v}" for t, v in groups], dtype=object),
                {"long_name": "summary group: tier/variant"},
            ),
            "group_tier": (
                "group",
                np.array([t for t, _ in groups], dtype=object),
                {"long_name": "tier of the summary group"},
            ),
            "group_variant": (
                "group",
                np.array([v for _, v in groups], dtype=object),
                {"long_name": "variant of the summary group"},
            ),
        },  # fmt: skip
        attrs=_attrs(
            config,
            "causal_scores",
            "chaosatlas causal-discovery benchmark scores",
            alpha=settings["alpha"],
            null="AUROC of random scores is 0.5; AUPRC of random scores is the edge density",
            headline="graphs with included = 1; self-loops are scored apart (self_loop_auroc)",
        ),  # fmt: skip
    )
    write_netcdf(_strings(out), output, validate=validate_causal_scores)
    for j, (tier, variant) in enumerate(groups):
        for i, method in enumerate(methods):
            log.info("causal scores %s/%s %s: AUROC %.3f AUPRC %.3f (null %.3f) over %d graphs",
                     tier, variant, method, summary["auroc_mean"][i, j],
                     summary["auprc_mean"][i, j], summary["null_auprc_mean"][i, j],
                     n_graphs[i, j])  # fmt: skip
    return out
