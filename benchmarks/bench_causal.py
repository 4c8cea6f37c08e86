"""Causal discovery on the chaosatlas tiers: every method, PCMCI runtime, generation throughput.

Run: .venv/bin/python benchmarks/bench_causal.py OUT.json [--seed 0] [--workers 2] [--quick]

(a) Every method (lagged correlation, Granger, CCM, and PCMCI / PCMCI+ when
    tigramite is installed: an optional GPL-3 extra, run in its own process)
    on tiers 1-3 built with ``tier_dataset``: tier 1, the default pairs plus the
    chain / fork / collider motifs at couplings 0.5, 1, 2, 3; tier 2, 10 random
    10-node DAGs in every variant; tier 3, Lorenz-96 at N = 10, 20, 40.
    Instances whose status is not ``ok`` (synchronised, diverged, ...) are
    skipped and counted. AUROC and AUPRC per graph (mean +- sd over graphs)
    and pooled over a group, beside the null AUPRC (edge density) and the
    CausalDynamics reference table of ``shared/specs/causal.md`` (a
    reference, not a target: their coupling is an instantaneous read-out of
    independently integrated roots, ours is inside the ODE). Also: tier-2
    default again at 8 and 4 points per period (sampling sensitivity), tier 1
    by coupling, and PCMCI+ under three lag-0 read-outs.
(b) PCMCI and PCMCI+ runtime against N = 5, 10, 20, 40 (Lorenz-96, T = 1000,
    tau_max = 3), one run at a time, nothing else running; the tier-3 rows of
    (a) reuse these runs (same data, same settings).
(c) Generation throughput: 10-node tier-2 graphs (default variant, 1000
    points) per minute with a pool of 2 processes, after the workers have
    imported everything and compiled one small system: cold (every graph is
    a new system, so its equations are generated and numba-compiled) and warm
    (the same graphs again with new seeds: compiled code reused).

Every process runs single-threaded BLAS (OMP/OPENBLAS/MKL_NUM_THREADS=1), the
methods of (a) in a pool of ``--workers`` processes. A fresh
CHAOSATLAS_CACHE_DIR is used, so generation times include compilation.
Results go to OUT.json; the tables are printed as markdown.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import json
import math
import multiprocessing as mp
import platform
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

METHOD_ORDER = ("lagged_correlation", "granger", "ccm", "pcmci", "pcmciplus")
SHORT = {
    "lagged_correlation": "lagged corr",
    "granger": "Granger",
    "ccm": "CCM",
    "pcmci": "PCMCI",
    "pcmciplus": "PCMCI+",
}
METHOD_KW: dict[str, dict] = {
    "lagged_correlation": {"tau_max": 5},
    "granger": {},  # VAR order by BIC (p_max 10)
    "ccm": {},  # E by simplex, Theiler window from the ACF
    "pcmci": {"tau_max": 3},  # pc_alpha 0.2, alpha_level 0.05
    "pcmciplus": {"tau_max": 3},  # pc_alpha 0.01
}
#: the method's own threshold for F1 / SHD at p < alpha
ALPHA = {"granger": 0.05, "pcmci": 0.05, "pcmciplus": 0.01}

TIER_CONFIG: dict[int, dict] = {
    1: {
        "pairs": [["Lorenz", "Lorenz"], ["Rossler", "Lorenz"]],
        "motifs": ["chain", "fork", "collider"],
        "couplings": [0.5, 1.0, 2.0, 3.0],
    },
    2: {
        "n_graphs": 10,
        "n_nodes": 10,
        "variants": [
            "default",
            "dynamical_noise",
            "measurement_noise",
            "delayed",
            "confounder",
        ],
    },
    # N = 5 only for (b); (a) reports N = 10, 20, 40
    3: {"sizes": [5, 10, 20, 40]},
}
TIER3_A_SIZES = (10, 20, 40)
#: (d) sampling: tier 2 default again at fewer points per period (32 in (a); still 1000 points)
SAMPLING_PPP = (8, 4)
RUNTIME_SIZES = (5, 10, 20, 40)

# shared/specs/causal.md, Table 1 of CausalDynamics' website/leaderboard.md (AUROC/AUPRC)
REFERENCE_HEADER = ("PCMCI+", "FPCMCI", "VARLiNGAM", "DYNOTEARS", "NGC", "TSCI", "CUTS+")
REFERENCE = {
    "coupled default (n=10, 4745 graphs)": (
        ".68/.27",
        ".67/.24",
        ".57/.18",
        ".66/.32",
        ".50/.16",
        ".69/.36",
        ".50/.16",
    ),
    "coupled confounder": (
        ".56/.20",
        ".57/.19",
        ".51/.17",
        ".49/.17",
        ".50/.17",
        ".49/.18",
        ".50/.17",
    ),
    "coupled lag": (".55/.23", ".55/.23", ".52/.21", ".52/.22", ".50/.20", ".53/.23", ".50/.20"),
    "simple default (585)": (
        ".47/.68",
        ".51/.70",
        ".50/.69",
        ".43/.67",
        ".50/.68",
        ".46/.68",
        ".48/.68",
    ),
}
#: our group -> the comparable CausalDynamics row (loosely)
REFERENCE_ROW = {
    "tier 2 default": "coupled default (n=10, 4745 graphs)",
    "tier 2 confounder": "coupled confounder",
    "tier 2 delayed": "coupled lag",
}


# ----------------------------------------------------------------------------- workers


def _init_worker(cache_dir: str) -> None:
    os.environ["CHAOSATLAS_CACHE_DIR"] = cache_dir
    import warnings

    warnings.filterwarnings("ignore")


def _build_tier(part: str, tier: int, config: dict, seed: int) -> tuple[str, object, float]:
    from chaosatlas.causal.generate import tier_dataset

    start = time.perf_counter()
    ds = tier_dataset(tier, config, seed=seed)
    return part, ds, time.perf_counter() - start


def _outcome_dict(out, truth: np.ndarray, alpha: float | None) -> dict:
    from chaosatlas.causal.scoring import score_graph

    metrics = score_graph(
        truth, out.score, out.pvalue if alpha is not None else None, alpha=alpha or 0.05
    )
    return {
        "status": out.status,
        "reason": out.reason,
        "runtime_s": out.runtime_s,
        "metrics": metrics,
        "score": np.asarray(out.score).tolist(),
        "pvalue": None if out.pvalue is None else np.asarray(out.pvalue).tolist(),
    }


def _cpu() -> float:
    """CPU seconds of this process plus its finished children (the PCMCI workers)."""
    import resource

    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + ch.ru_utime + ch.ru_stime


def _readouts(res) -> dict[str, np.ndarray]:
    """PCMCI+ lag-0 read-outs: the default and two alternatives (for the sensitivity table)."""
    v = np.abs(res.val_matrix)
    lagged = v[:, :, 1:].max(axis=2)
    not_reversed = res.graph[:, :, 0] != "<--"
    np.fill_diagonal(not_reversed, False)
    return {
        "oriented lag 0 (default)": res.score,
        "lag 0 unless oriented against": np.where(
            not_reversed, np.maximum(lagged, v[:, :, 0]), lagged
        ),
        "lags >= 1 only": lagged,
    }


def _pcmci_run(X: np.ndarray, truth: np.ndarray, variant: str) -> dict:
    """What run_method records, plus tigramite's own time, CPU time and PCMCI+ read-outs."""
    from chaosatlas.causal.methods import MethodFailed, MethodOutcome, MethodUnavailable
    from chaosatlas.causal.pcmci import pcmci
    from chaosatlas.causal.scoring import auprc, auroc

    n = X.shape[1]
    cpu0, start = _cpu(), time.perf_counter()
    res, status, reason = None, "ok", ""
    try:
        res = pcmci(X, variant=variant, **METHOD_KW[variant])
    except MethodUnavailable as exc:
        status, reason = "unavailable", str(exc)
    except (ValueError, ArithmeticError, MethodFailed) as exc:
        status, reason = "failed", f"{type(exc).__name__}: {exc}"
    wall, cpu = time.perf_counter() - start, _cpu() - cpu0
    if res is not None and not np.isfinite(res.score[~np.eye(n, dtype=bool)]).all():
        status, reason = "failed", "non-finite off-diagonal scores"
    ok = status == "ok"
    out = MethodOutcome(
        score=res.score if ok else np.full((n, n), np.nan),
        runtime_s=wall,
        status=status,
        reason=reason,
        pvalue=res.pvalue if ok else None,
    )
    d = _outcome_dict(out, truth, ALPHA[variant])
    d["cpu_s"] = cpu
    d["tigramite_s"] = res.worker_runtime_s if ok else float("nan")
    if ok and variant == "pcmciplus":
        d["readouts"] = {
            name: {"auroc": auroc(truth, S), "auprc": auprc(truth, S)}
            for name, S in _readouts(res).items()
        }
    return d


def _run_instance(job: dict) -> dict:
    """Every requested method on one instance."""
    from chaosatlas.causal.methods import run_method

    X, truth = job.pop("X"), np.array(job["truth"])
    results = {}
    for name in job["methods"]:
        if name in ("pcmci", "pcmciplus"):
            results[name] = _pcmci_run(X, truth, name)
            continue
        cpu0 = _cpu()
        out = run_method(name, X, **METHOD_KW[name])
        results[name] = _outcome_dict(out, truth, ALPHA.get(name))
        results[name]["cpu_s"] = _cpu() - cpu0
    job["results"] = results
    return job


def _worker_pid(pause: float) -> int:
    time.sleep(pause)
    return os.getpid()


def _warm_up() -> float:
    """Import the generator and compile one small system (a drive-response pair)."""
    from chaosatlas.causal.generate import pair_instances, simulate

    start = time.perf_counter()
    (inst,) = pair_instances(pairs=[("Rossler", "Rossler")], couplings=[0.5])
    simulate(inst, n_points=200)
    return time.perf_counter() - start


def _generate_graph(graph_seed: int, sim_seed: int, n_nodes: int, n_points: int) -> dict:
    from chaosatlas.causal.generate import dag_instances, simulate

    cpu0, start = time.process_time(), time.perf_counter()
    (inst,) = dag_instances(1, n_nodes, graph_seed, variants=("default",))
    built = time.perf_counter()
    sim = simulate(inst, n_points=n_points, seed=sim_seed)
    done = time.perf_counter()
    return {
        "graph_seed": graph_seed,
        "status": sim.status,
        "build_s": built - start,
        "simulate_s": done - built,
        "cpu_s": time.process_time() - cpu0,
        "pid": os.getpid(),
    }


# ----------------------------------------------------------------------------- statistics


def _mean_sd(values: list[float]) -> tuple[float, float, int]:
    arr = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if arr.size == 0:
        return float("nan"), float("nan"), 0
    sd = float(arr.std(ddof=1)) if arr.size > 1 else float("nan")
    return float(arr.mean()), sd, int(arr.size)


def _pooled(truths: list[np.ndarray], scores: list[np.ndarray]) -> tuple[float, float]:
    from chaosatlas.causal.scoring import _auprc_vec, _auroc_vec, off_diagonal

    if not truths:
        return float("nan"), float("nan")
    t = np.concatenate([off_diagonal(np.asarray(a) == 1) for a in truths])
    s = np.concatenate([off_diagonal(np.asarray(b, dtype=float)) for b in scores])
    return _auroc_vec(t, s), _auprc_vec(t, s)


def _groups(records: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}

    def add(name: str, rec: dict) -> None:
        groups.setdefault(name, []).append(rec)

    for rec in records:
        if rec["part"].startswith("sampling"):
            add(f"tier 2 default, {rec['points_per_period']} pts/period", rec)
        elif rec["tier"] == 1:
            add("tier 1 pairs" if rec["label"].startswith("pair") else "tier 1 motifs", rec)
        elif rec["tier"] == 2:
            add(f"tier 2 {rec['variant']}", rec)
            add("tier 2 all variants", rec)
        else:
            add(f"tier 3 Lorenz-96 N={rec['n_nodes']}", rec)
    order = [
        "tier 1 pairs",
        "tier 1 motifs",
        *[f"tier 2 {v}" for v in TIER_CONFIG[2]["variants"]],
        "tier 2 all variants",
        *[f"tier 3 Lorenz-96 N={n}" for n in TIER3_A_SIZES],
        *[f"tier 2 default, {p} pts/period" for p in SAMPLING_PPP],
    ]
    return {g: groups[g] for g in order if g in groups}


def _summarise(group: list[dict], methods: tuple[str, ...]) -> dict:
    total = len(group)
    ok = [r for r in group if r["status"] == "ok"]
    counts: dict[str, int] = {}
    for r in group:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    null = _mean_sd([r["density"] for r in ok])[0]
    pooled_null = (
        sum(r["n_edges"] for r in ok) / sum(r["n_nodes"] * (r["n_nodes"] - 1) for r in ok)
        if ok
        else float("nan")
    )
    out = {
        "n_instances": total,
        "n_ok": len(ok),
        "status_counts": counts,
        "null_auprc_mean": null,
        "null_auprc_pooled": pooled_null,
        "methods": {},
    }
    for m in methods:
        rows = [r for r in ok if m in r["results"]]
        good = [r for r in rows if r["results"][m]["status"] == "ok"]
        statuses: dict[str, int] = {}
        for r in rows:
            st = r["results"][m]["status"]
            statuses[st] = statuses.get(st, 0) + 1
        au = _mean_sd([r["results"][m]["metrics"]["auroc"] for r in good])
        ap = _mean_sd([r["results"][m]["metrics"]["auprc"] for r in good])
        f1k = _mean_sd([r["results"][m]["metrics"]["f1_topk"] for r in good])
        f1t = _mean_sd([r["results"][m]["metrics"]["f1_threshold"] for r in good])
        rt = _mean_sd([r["results"][m]["runtime_s"] for r in rows])
        cpu = _mean_sd([r["results"][m].get("cpu_s", math.nan) for r in rows])
        readouts: dict[str, dict] = {}
        for r in good:
            for name, vals in r["results"][m].get("readouts", {}).items():
                readouts.setdefault(name, {"auroc": [], "auprc": []})
                readouts[name]["auroc"].append(vals["auroc"])
                readouts[name]["auprc"].append(vals["auprc"])
        pa, pp = _pooled(
            [np.array(r["truth"]) for r in good],
            [np.array(r["results"][m]["score"]) for r in good],
        )
        out["methods"][m] = {
            "statuses": statuses,
            "auroc_mean": au[0],
            "auroc_sd": au[1],
            "auprc_mean": ap[0],
            "auprc_sd": ap[1],
            "n_scored": au[2],
            "auroc_pooled": pa,
            "auprc_pooled": pp,
            "f1_topk_mean": f1k[0],
            "f1_threshold_mean": f1t[0],
            "runtime_s_mean": rt[0],
            "cpu_s_mean": cpu[0],
            "readouts": {
                name: {k: _mean_sd(v)[0] for k, v in vals.items()}
                for name, vals in readouts.items()
            },
            "runtime_s_max": max((r["results"][m]["runtime_s"] for r in rows), default=math.nan),
        }
    return out


# ----------------------------------------------------------------------------- formatting


def _f(x: float, digits: int = 2) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _pm(mean: float, sd: float) -> str:
    if not math.isfinite(mean):
        return "n/a"
    return f"{mean:.2f}" if not math.isfinite(sd) else f"{mean:.2f} ± {sd:.2f}"


def _secs(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{x:.3f}" if x < 0.1 else f"{x:.2f}" if x < 10 else f"{x:.0f}"


def _markdown_a(summary: dict, methods: tuple[str, ...], skipped: dict) -> str:
    lines = []
    head = "| set | graphs ok / all | " + " | ".join(SHORT[m] for m in methods)
    sep = "|---|---|" + "---|" * len(methods)
    for metric, title in (("auroc", "AUROC"), ("auprc", "AUPRC")):
        lines.append(
            f"\n**{title}**, mean ± sd over graphs (pooled over the set in brackets)"
            + (", null = edge density" if metric == "auprc" else ", null 0.50")
            + "; CausalDynamics (CD) PCMCI+ and best method on the loosely matching set:\n"
        )
        extra = (
            " | null | CD PCMCI+ | CD best |" if metric == "auprc" else " | CD PCMCI+ | CD best |"
        )
        extra_sep = "---|---|---|" if metric == "auprc" else "---|---|"
        lines.append(head + extra)
        lines.append(sep + extra_sep)
        for group, s in summary.items():
            cells = []
            for m in methods:
                r = s["methods"][m]
                if r["n_scored"] == 0:
                    st = ", ".join(f"{k}" for k in r["statuses"]) or "n/a"
                    cells.append(st)
                    continue
                cells.append(
                    f"{_pm(r[metric + '_mean'], r[metric + '_sd'])} ({_f(r[metric + '_pooled'])})"
                )
            ref = REFERENCE.get(REFERENCE_ROW.get(group, ""))
            if ref:
                k = 0 if metric == "auroc" else 1
                vals = [float(v.split("/")[k]) for v in ref]
                best = int(np.argmax(vals))
                cd = (
                    f"{ref[0].split('/')[k]} | {ref[best].split('/')[k]} ({REFERENCE_HEADER[best]})"
                )
            else:
                cd = " | "
            counts = s["status_counts"]
            not_ok = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()) if k != "ok")
            n = f"{s['n_ok']} / {s['n_instances']}" + (f" ({not_ok})" if not_ok else "")
            null = f" | {_f(s['null_auprc_mean'])}" if metric == "auprc" else ""
            lines.append(f"| {group} | {n} | " + " | ".join(cells) + f"{null} | {cd} |")
    lines.append(
        "\n**F1** of the top-k edges (k = true edge count) / at the method's own threshold "
        "(Granger, PCMCI p < 0.05, PCMCI+ p < 0.01), mean over graphs:\n"
    )
    lines.append("| set | " + " | ".join(SHORT[m] for m in methods) + " |")
    lines.append("|---|" + "---|" * len(methods))
    for group, s in summary.items():
        cells = []
        for m in methods:
            r = s["methods"][m]
            t = r["f1_threshold_mean"]
            cells.append(_f(r["f1_topk_mean"]) + (f" / {_f(t)}" if math.isfinite(t) else ""))
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    lines.append(
        "\n**Runtime per graph**, wall (CPU) seconds, mean; T = 1000; 2 worker processes, "
        "single-threaded BLAS; PCMCI / PCMCI+ include ~1 s of worker start-up (Python, "
        "chaosatlas and tigramite imports):\n"
    )
    lines.append("| set | " + " | ".join(SHORT[m] for m in methods) + " |")
    lines.append("|---|" + "---|" * len(methods))
    for group, s in summary.items():
        cells = [
            f"{_secs(s['methods'][m]['runtime_s_mean'])} ({_secs(s['methods'][m]['cpu_s_mean'])})"
            for m in methods
        ]
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    if "pcmciplus" in methods:
        names = [
            "oriented lag 0 (default)",
            "lag 0 unless oriented against",
            "lags >= 1 only",
        ]
        lines.append(
            "\n**PCMCI+ lag-0 read-out**, mean AUROC / AUPRC over graphs: the default counts "
            "the contemporaneous |val| for i -> j only where PCMCI+ oriented it i --> j; the "
            "alternative counts it for every pair not oriented the other way (unoriented, "
            "conflicting and removed links score both directions alike):\n"
        )
        lines.append("| set | " + " | ".join(names) + " |")
        lines.append("|---|" + "---|" * len(names))
        for group, s in summary.items():
            ro = s["methods"]["pcmciplus"]["readouts"]
            if not ro:
                continue
            cells = [
                f"{_f(ro[n]['auroc'])} / {_f(ro[n]['auprc'])}" if n in ro else "n/a" for n in names
            ]
            lines.append(f"| {group} | " + " | ".join(cells) + " |")
    if skipped:
        lines.append("\nNot run: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    lines.append("\nCausalDynamics reference (spec, Table 1 of their leaderboard; AUROC/AUPRC):\n")
    lines.append("| set | " + " | ".join(REFERENCE_HEADER) + " |")
    lines.append("|---|" + "---|" * len(REFERENCE_HEADER))
    for row, vals in REFERENCE.items():
        lines.append(f"| {row} | " + " | ".join(vals) + " |")
    return "\n".join(lines)


def _markdown_coupling(
    records: list[dict], methods: tuple[str, ...], couplings: list[float]
) -> str:
    """Tier 1 by coupling: how many instances synchronised, and AUROC of the rest."""
    lines = [
        "\n**Tier 1 by coupling** (pairs and motifs together): instances ok / all, "
        "mean AUROC over the ok ones\n",
        "| c | ok / all | " + " | ".join(SHORT[m] for m in methods) + " |",
        "|---|---|" + "---|" * len(methods),
    ]
    for c in couplings:
        grp = [r for r in records if r["tier"] == 1 and r["coupling"] == c]
        ok = [r for r in grp if r["status"] == "ok"]
        cells = []
        for m in methods:
            vals = [
                r["results"][m]["metrics"]["auroc"]
                for r in ok
                if m in r["results"] and r["results"][m]["status"] == "ok"
            ]
            cells.append(_f(_mean_sd(vals)[0]))
        lines.append(f"| {c:g} | {len(ok)} / {len(grp)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- parts


def _records(ds, part: str, tier: int) -> list[dict]:
    out = []
    ppp = json.loads(ds.attrs["config"])["points_per_period"]
    for k in range(ds.sizes["instance"]):
        n = int(ds.n_nodes[k])
        truth = np.asarray(ds.adj_summary[k, :n, :n].values)
        n_edges = int(truth.sum() - np.trace(truth))
        out.append(
            {
                "key": f"{part}:{k}",
                "part": part,
                "tier": tier,
                "instance": k,
                "points_per_period": int(ppp),
                "label": str(ds.label[k].values),
                "variant": str(ds.variant[k].values),
                "coupling": float(ds.coupling[k]),
                "n_nodes": n,
                "n_edges": n_edges,
                "density": n_edges / (n * (n - 1)),
                "status": str(ds.status[k].values),
                "reason": str(ds.reason[k].values),
                "sync_error": float(ds.sync_error[k]),
                "dt": float(ds.dt[k]),
                "truth": truth.astype(int).tolist(),
                "X": np.asarray(ds.x[k, :, :n].values, dtype=np.float64),
            }
        )
    return out


def part_b(tier3: list[dict], variants: tuple[str, ...]) -> tuple[list[dict], dict]:
    """PCMCI / PCMCI+ runtime vs N, serial; returns rows and outcomes for (a)."""
    rows, reuse = [], {}
    for rec in sorted(tier3, key=lambda r: r["n_nodes"]):
        if rec["status"] != "ok" or rec["n_nodes"] not in RUNTIME_SIZES:
            continue
        for v in variants:
            d = _pcmci_run(rec["X"], np.array(rec["truth"]), v)
            reuse[(rec["key"], v)] = d  # the tier-3 rows of (a) reuse this run
            rows.append(
                {
                    "N": rec["n_nodes"],
                    "variant": v,
                    "status": d["status"],
                    "tigramite_s": d["tigramite_s"],
                    "wall_s": d["runtime_s"],
                    "cpu_s": d["cpu_s"],
                    "auroc": d["metrics"]["auroc"],
                }
            )
            print(
                f"  (b) {v} N={rec['n_nodes']}: {d['tigramite_s']:.2f} s in tigramite, "
                f"{d['runtime_s']:.2f} s wall, {d['cpu_s']:.2f} s CPU",
                flush=True,
            )
    return rows, reuse


def part_c(n_graphs: int, n_nodes: int, n_points: int, seed: int) -> dict:
    cache = tempfile.mkdtemp(prefix="chaosatlas-bench-causal-gen-")
    ctx = mp.get_context("spawn")
    out: dict = {"n_graphs": n_graphs, "n_nodes": n_nodes, "n_points": n_points, "workers": 2}
    with ProcessPoolExecutor(
        2, mp_context=ctx, initializer=_init_worker, initargs=(cache,)
    ) as pool:
        pids: set[int] = set()
        start = time.perf_counter()
        while len(pids) < 2:
            pids |= {f.result() for f in [pool.submit(_worker_pid, 0.5) for _ in range(2)]}
        warm = [pool.submit(_warm_up) for _ in range(2)]
        out["warm_up_s"] = [f.result() for f in warm]
        out["pool_start_and_warm_up_s"] = time.perf_counter() - start
        for phase, offset in (("cold", 0), ("warm", 1)):
            start = time.perf_counter()
            futures = [
                pool.submit(
                    _generate_graph, seed * 10_000 + g, offset * 1000 + g, n_nodes, n_points
                )
                for g in range(n_graphs)
            ]
            results = [f.result() for f in futures]
            wall = time.perf_counter() - start
            out[phase] = {
                "wall_s": wall,
                "graphs_per_minute": 60.0 * n_graphs / wall,
                "per_graph_build_s": float(np.mean([r["build_s"] for r in results])),
                "per_graph_simulate_s": float(np.mean([r["simulate_s"] for r in results])),
                "per_graph_cpu_s": float(np.mean([r["cpu_s"] for r in results])),
                # what 2 otherwise idle cores would do at this CPU cost
                "graphs_per_minute_2_cores_from_cpu": 2
                * 60.0
                / float(np.mean([r["cpu_s"] for r in results])),
                "statuses": [r["status"] for r in results],
            }
            print(
                f"  (c) {phase}: {n_graphs} graphs in {wall:.1f} s = "
                f"{out[phase]['graphs_per_minute']:.1f} graphs/min"
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="JSON output path")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="small tiers, for a smoke test")
    ap.add_argument("--throughput-graphs", type=int, default=12)
    args = ap.parse_args()

    cache = tempfile.mkdtemp(prefix="chaosatlas-bench-causal-")
    os.environ["CHAOSATLAS_CACHE_DIR"] = cache
    from chaosatlas.causal.pcmci import pcmci_available

    configs = {t: dict(c) for t, c in TIER_CONFIG.items()}
    global TIER3_A_SIZES
    if args.quick:
        configs[1].update(pairs=[["Lorenz", "Lorenz"]], motifs=["chain"], couplings=[1.0, 3.0])
        configs[2].update(n_graphs=2, n_nodes=5, variants=["default", "confounder"])
        configs[3].update(sizes=[5, 10])
        TIER3_A_SIZES = (10,)
        args.throughput_graphs = 4
    available, why = pcmci_available()
    methods = METHOD_ORDER if available else METHOD_ORDER[:3]
    skipped = {} if available else {"pcmci, pcmciplus": why}
    t_start = time.perf_counter()
    load = {"start": os.getloadavg()}
    ctx = mp.get_context("spawn")
    print(f"methods: {', '.join(methods)}" + (f" (skipped: {why})" if skipped else ""))

    # ---- generation: tier 2 one variant per call (tier_dataset draws the same graphs and
    # node systems whatever the variants), so that 2 processes share the work
    v2 = list(configs[2]["variants"])
    # default first: measurement_noise and dynamical_noise reuse its compiled systems
    v2 = [v for v in ("default", "delayed", "confounder") if v in v2] + [
        v for v in v2 if v not in ("default", "delayed", "confounder")
    ]
    gen_jobs = [(f"tier2-{v}", 2, {**configs[2], "variants": [v]}) for v in v2[:3]]
    gen_jobs += [("tier1", 1, configs[1]), ("tier3", 3, configs[3])]
    gen_jobs += [(f"tier2-{v}", 2, {**configs[2], "variants": [v]}) for v in v2[3:]]
    if "default" in v2:
        gen_jobs += [
            (
                f"sampling-{ppp}",
                2,
                {**configs[2], "variants": ["default"], "points_per_period": ppp},
            )
            for ppp in SAMPLING_PPP
        ]
    gen_times: dict[str, dict] = {}
    records = []
    t_gen = time.perf_counter()
    with ProcessPoolExecutor(
        args.workers, mp_context=ctx, initializer=_init_worker, initargs=(cache,)
    ) as pool:
        futures = [pool.submit(_build_tier, *job, args.seed) for job in gen_jobs]
        for f, (_, tier, _) in zip(futures, gen_jobs, strict=True):
            part, ds, secs = f.result()
            n = int(ds.sizes["instance"])
            gen_times[part] = {"instances": n, "seconds": secs}
            print(f"{part}: {n} instances generated in {secs:.0f} s", flush=True)
            records += _records(ds, part, tier)
    gen_wall = time.perf_counter() - t_gen

    # ---- (b) PCMCI runtime vs N, serial (the tier-3 PCMCI rows of (a) reuse it)
    tier3 = [r for r in records if r["tier"] == 3]
    pcmci_variants = tuple(m for m in methods if m.startswith("pcmci"))
    load["before_b"] = os.getloadavg()
    b_rows, reuse = part_b(tier3, pcmci_variants) if pcmci_variants else ([], {})
    load["after_b"] = os.getloadavg()

    # ---- (a) every method on every ok instance
    records = [r for r in records if r["tier"] != 3 or r["n_nodes"] in TIER3_A_SIZES]
    jobs = []
    for rec in records:
        if rec["status"] != "ok":
            rec["results"] = {}
            continue
        todo = [m for m in methods if (rec["key"], m) not in reuse]
        job = {k: v for k, v in rec.items()}
        job["methods"] = todo
        jobs.append(job)
    jobs.sort(key=lambda j: -j["n_nodes"])
    t_a = time.perf_counter()
    done = {}
    with ProcessPoolExecutor(
        args.workers, mp_context=ctx, initializer=_init_worker, initargs=(cache,)
    ) as pool:
        for res in pool.map(_run_instance, jobs):
            done[res["key"]] = res["results"]
    a_wall = time.perf_counter() - t_a
    for rec in records:
        rec.pop("X", None)
        if rec["status"] == "ok":
            rec["results"] = done[rec["key"]]
            for m in pcmci_variants:
                if (rec["key"], m) in reuse:
                    rec["results"][m] = reuse[(rec["key"], m)]
    print(f"(a) methods: {a_wall:.0f} s wall")
    summary = {g: _summarise(grp, methods) for g, grp in _groups(records).items()}

    # ---- (c) generation throughput
    throughput = part_c(args.throughput_graphs, 10, 1000, args.seed + 1)

    total = time.perf_counter() - t_start
    load["end"] = os.getloadavg()
    md = ["### (a) Every method on tiers 1-3"]
    md.append(_markdown_a(summary, methods, skipped))
    md.append(_markdown_coupling(records, methods, configs[1]["couplings"]))
    md.append("\n### (b) PCMCI / PCMCI+ runtime against N (Lorenz-96, T = 1000, tau_max = 3)\n")
    if b_rows:
        md.append(
            "| N | PCMCI, in tigramite (s) | PCMCI+, in tigramite (s) | PCMCI wall incl. "
            "start-up (CPU) (s) | PCMCI+ wall (CPU) (s) | AUROC PCMCI / PCMCI+ |"
        )
        md.append("|---|---|---|---|---|---|")
        for n in RUNTIME_SIZES:
            r = {x["variant"]: x for x in b_rows if x["N"] == n}
            if not r:
                continue

            def g(v, key, r=r):
                return _secs(r[v][key]) if v in r and key in r[v] else "n/a"

            md.append(
                f"| {n} | {g('pcmci', 'tigramite_s')} | {g('pcmciplus', 'tigramite_s')} | "
                f"{g('pcmci', 'wall_s')} ({g('pcmci', 'cpu_s')}) | "
                f"{g('pcmciplus', 'wall_s')} ({g('pcmciplus', 'cpu_s')}) | "
                f"{_f(r.get('pcmci', {}).get('auroc', math.nan))} / "
                f"{_f(r.get('pcmciplus', {}).get('auroc', math.nan))} |"
            )
        md.append(
            "\nRun one at a time in the main process; load average before / after: "
            f"{load['before_b'][0]:.1f} / {load['after_b'][0]:.1f} (1 min) on "
            f"{os.cpu_count()} cores."
        )
    else:
        md.append(f"not run: {why}")
    md.append("\n### (c) Generation throughput (10-node tier-2 graphs, 1000 points, 2 processes)\n")
    md.append(
        "| | graphs / min (measured wall) | graphs / min (2 idle cores, from CPU time) | "
        "build (s / graph) | simulate (s / graph) | CPU (s / graph) | statuses |"
    )
    md.append("|---|---|---|---|---|---|---|")
    for phase in ("cold", "warm"):
        p = throughput[phase]
        sts = {s: p["statuses"].count(s) for s in set(p["statuses"])}
        md.append(
            f"| {phase} | {p['graphs_per_minute']:.1f} | "
            f"{p['graphs_per_minute_2_cores_from_cpu']:.1f} | {p['per_graph_build_s']:.2f} | "
            f"{p['per_graph_simulate_s']:.2f} | {p['per_graph_cpu_s']:.2f} | "
            + ", ".join(f"{n} {s}" for s, n in sorted(sts.items()))
            + " |"
        )
    gen_line = ", ".join(
        f"{part}: {g['instances']} in {g['seconds']:.0f} s" for part, g in gen_times.items()
    )
    md.append(
        f"\nGeneration of the data sets (fresh compile cache, {args.workers} processes, "
        f"{gen_wall:.0f} s wall): {gen_line}. Methods of (a): {a_wall:.0f} s wall."
    )
    md.append(
        f"Whole script: {total:.0f} s. Load average (1, 5, 15 min) at start "
        f"{', '.join(f'{x:.1f}' for x in load['start'])}, at end "
        f"{', '.join(f'{x:.1f}' for x in load['end'])} on {os.cpu_count()} cores."
    )
    text = "\n".join(md)
    print(text)

    import importlib.metadata as im

    try:
        tig = im.version("tigramite") if available else None
    except im.PackageNotFoundError:
        tig = None
    result = {
        "machine": {
            "python": platform.python_version(),
            "processor": platform.processor(),
            "cores": os.cpu_count(),
            "workers": args.workers,
            "tigramite": tig,
        },
        "seed": args.seed,
        "quick": args.quick,
        "tier_config": configs,
        "method_kwargs": METHOD_KW,
        "alpha": ALPHA,
        "skipped": skipped,
        "generation": gen_times,
        "generation_wall_s": gen_wall,
        "load_average": load,
        "a_methods_wall_s": a_wall,
        "summary": summary,
        "instances": records,
        "pcmci_runtime": b_rows,
        "throughput": throughput,
        "reference_causaldynamics": {"header": REFERENCE_HEADER, "rows": REFERENCE},
        "total_s": total,
        "markdown": text,
    }
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=1, default=float)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
