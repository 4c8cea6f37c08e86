"""Matplotlib figures for the Snakemake report: plain arrays in, a PNG out.

PNGs are written without the "Software" metadata (it names the matplotlib
version), so the same data gives the same bytes on one installation.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: rules run on compute nodes without a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = [
    "attractor_figure",
    "attractor_grid",
    "causal_curves_figure",
    "invariants_figure",
    "long_term_figure",
    "message_figure",
    "projection",
    "rollout_figure",
]

PNG_METADATA = {"Software": None}


def _save(fig: plt.Figure, path: str | os.PathLike[str], dpi: int = 100) -> None:
    fig.savefig(path, dpi=dpi, metadata=PNG_METADATA)
    plt.close(fig)


def projection(x: np.ndarray, kind: str, lag: int = 1) -> tuple[np.ndarray, np.ndarray, str, str]:
    """Two coordinates to draw an attractor in a plane.

    Parameters
    ----------
    x : ndarray, shape (time, variables)
    kind : {"flow", "map", "dde"}
    lag : int
        Delay (in samples) for a one-variable system: ``x(t)`` against
        ``x(t + lag)`` (the return map for a map with ``lag=1``).

    Returns
    -------
    a, b : ndarray
    label_a, label_b : str
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need a (time, variables) trajectory, got shape {x.shape}")
    if x.shape[1] >= 2:
        return x[:, 0], x[:, 1], "x1", "x2"
    lag = max(1, min(int(lag), x.shape[0] - 1))
    return x[:-lag, 0], x[lag:, 0], "x(t)", f"x(t+{lag})" if kind != "map" else "x(n+1)"


def _draw(ax: plt.Axes, a: np.ndarray, b: np.ndarray, kind: str, small: bool) -> None:
    ok = np.isfinite(a) & np.isfinite(b)
    if kind == "map":
        ax.plot(a[ok], b[ok], ",", color="#1f4e79", alpha=0.8 if small else 0.6)
    else:
        ax.plot(a[ok], b[ok], "-", lw=0.3 if small else 0.5, color="#1f4e79")


def attractor_grid(
    trajectories: Mapping[str, tuple[np.ndarray, str, int]],
    path: str | os.PathLike[str],
    columns: int = 6,
) -> None:
    """One small projection per system: ``{name: (x (time, vars), kind, lag)}``."""
    n = max(1, len(trajectories))
    cols = min(columns, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.0 * cols, 2.0 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, (name, (x, kind, lag)) in zip(axes.flat, trajectories.items(), strict=False):
        a, b, _, _ = projection(x, kind, lag)
        _draw(ax, a, b, kind, small=True)
        ax.set_title(name, fontsize=9)
    fig.tight_layout()
    _save(fig, path)


def attractor_figure(
    name: str, x: np.ndarray, kind: str, variables: Sequence[str], path: str | os.PathLike[str],
    lag: int = 1,
) -> None:  # fmt: skip
    """A larger view of one attractor: every pair of the first three variables."""
    x = np.asarray(x, dtype=np.float64)
    if x.shape[1] == 1:
        pairs = [(0, 0)]
    else:
        k = min(3, x.shape[1])
        pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.2 * len(pairs), 4.0), squeeze=False)
    for ax, (i, j) in zip(axes.flat, pairs, strict=True):
        if i == j:
            a, b, la, lb = projection(x, kind, lag)
            la, lb = la.replace("x", variables[0], 1), lb.replace("x", variables[0], 1)
        else:
            a, b, la, lb = x[:, i], x[:, j], variables[i], variables[j]
        _draw(ax, a, b, kind, small=False)
        ax.set_xlabel(la)
        ax.set_ylabel(lb)
    fig.suptitle(f"{name} ({kind})")
    fig.tight_layout()
    _save(fig, path)


def message_figure(message: str, path: str | os.PathLike[str]) -> None:
    """A figure that only says why there is nothing to draw."""
    fig, ax = plt.subplots(figsize=(6, 2))
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, fontsize=10)
    _save(fig, path)


def invariants_figure(
    names: Sequence[str],
    computed: Mapping[str, np.ndarray],
    literature: Mapping[str, np.ndarray],
    disagrees: Mapping[str, np.ndarray],
    path: str | os.PathLike[str],
) -> None:
    """Computed against literature value, one panel per invariant; disagreements in red."""
    keys = [k for k in computed if np.isfinite(literature[k]).any()] or list(computed)[:1]
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 4.0), squeeze=False)
    for ax, key in zip(axes.flat, keys, strict=True):
        c, lit, bad = computed[key], literature[key], disagrees[key].astype(bool)
        ok = np.isfinite(c) & np.isfinite(lit)
        if ok.any():
            lo, hi = float(np.min([c[ok], lit[ok]])), float(np.max([c[ok], lit[ok]]))
            pad = 0.05 * (hi - lo or 1.0)
            ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "--", color="0.6", lw=1)
        for sel, colour, label in ((ok & ~bad, "#1f77b4", "agrees"),
                                   (ok & bad, "#d62728", "disagrees")):  # fmt: skip
            ax.scatter(lit[sel], c[sel], color=colour, label=label, s=25, zorder=3)
            for i in np.flatnonzero(sel):
                ax.annotate(names[i], (lit[i], c[i]), fontsize=7, xytext=(3, 3),
                            textcoords="offset points")  # fmt: skip
        label = {"lambda_1": "λ1"}.get(key, key)
        ax.set_xlabel(f"{label}, literature")
        ax.set_ylabel(f"{label}, computed")
        ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    _save(fig, path)


def rollout_figure(
    rollouts: Mapping[str, Mapping[str, np.ndarray]],
    truths: Mapping[str, np.ndarray],
    time: Mapping[str, np.ndarray],
    path: str | os.PathLike[str],
) -> None:
    """First variable of each model's free-running forecast against the truth.

    ``rollouts[system][model]`` and ``truths[system]`` are ``(steps,)``
    arrays in the system's units; ``time[system]`` in Lyapunov times (or time
    units) from the forecast origin.
    """
    systems = list(truths)
    fig, axes = plt.subplots(len(systems), 1, figsize=(10, 2.6 * max(1, len(systems))),
                             squeeze=False)  # fmt: skip
    cmap = plt.get_cmap("tab10")
    for ax, system in zip(axes.flat, systems, strict=True):
        t = time[system]
        ax.plot(t, truths[system], color="black", lw=2.0, label="truth")
        for k, (model, y) in enumerate(rollouts[system].items()):
            ax.plot(t[: y.size], y, lw=1.0, color=cmap(k % 10), label=model)
        lo, hi = np.nanmin(truths[system]), np.nanmax(truths[system])
        pad = 0.5 * (hi - lo or 1.0)
        ax.set_ylim(lo - pad, hi + pad)  # a blown-up rollout must not hide the truth
        ax.set_title(system, fontsize=10)
        ax.set_ylabel("x1")
    axes.flat[-1].set_xlabel("time since the forecast origin (Lyapunov times)")
    axes.flat[0].legend(fontsize=7, ncol=5, loc="upper left")
    fig.tight_layout()
    _save(fig, path)


def long_term_figure(
    models: Sequence[str],
    systems: Sequence[str],
    scores: Mapping[str, np.ndarray],
    rollout_lambda1: np.ndarray,
    system_lambda1: np.ndarray,
    smape_by_step: np.ndarray,
    path: str | os.PathLike[str],
) -> None:
    """Long-term statistics of the free-running rollouts and the error growth.

    Panels: D_stsp and D_H per (model, system) (``scores["d_stsp"]``,
    ``scores["d_h"]``, shape (model, system)); the rollout's largest Lyapunov
    exponent against the system's; sMAPE per forecast step (model, system, step)
    averaged over systems. A missing value (a failed rollout) is never drawn
    as a bar: its slot is marked with a red ✗ at the foot of the axis. In the
    error growth a system with no curve counts as sMAPE 200 at every step,
    and the legend says how many systems that was.
    """
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.2))
    x = np.arange(len(models))
    width = 0.8 / max(1, len(systems))
    for ax, key, title in ((axes[0], "d_stsp", "state-space divergence D_stsp"),
                           (axes[1], "d_h", "power-spectrum distance D_H")):  # fmt: skip
        values = np.asarray(scores[key], dtype=float)
        for j, system in enumerate(systems):
            ok = np.isfinite(values[:, j])
            ax.bar(x[ok] + j * width, values[ok, j], width, label=system)
            gaps = x[~ok] + j * width
            ax.plot(gaps, np.zeros_like(gaps), "x", color="#b00020", ms=7, mew=2,
                    transform=ax.get_xaxis_transform(), clip_on=False,
                    label="failed (no value)" if j == 0 and gaps.size else None)  # fmt: skip
        ax.set_xticks(x + width * (len(systems) - 1) / 2, models, rotation=45, ha="right")
        ax.set_title(title, fontsize=10)
        ax.set_yscale("symlog", linthresh=0.01)
    axes[0].legend(fontsize=7)
    ax = axes[2]
    finite = np.isfinite(rollout_lambda1) & np.isfinite(system_lambda1)
    if finite.any():
        lo = float(min(rollout_lambda1[finite].min(), system_lambda1[finite].min(), 0.0))
        hi = float(min(max(rollout_lambda1[finite].max(), system_lambda1[finite].max()),
                       3.0 * np.nanmax(np.abs(system_lambda1))))  # fmt: skip
        ax.plot([lo, hi], [lo, hi], "--", color="0.6", lw=1)
    markers = "osD^v<>ph*"
    # a diverging rollout's exponent can be 50x the system's: clip the axis there
    # and say how many points lie above, so the near-diagonal ones stay readable
    top = 3.0 * float(np.nanmax(np.abs(system_lambda1))) if finite.any() else math.inf
    shown = np.where(rollout_lambda1 > top, top, rollout_lambda1)
    for i, model in enumerate(models):
        ax.scatter(system_lambda1[i], shown[i], marker=markers[i % len(markers)],
                   label=model, s=28)  # fmt: skip
    n_above = int(np.sum(rollout_lambda1[np.isfinite(rollout_lambda1)] > top))
    if n_above:
        ax.axhline(top, color="0.8", lw=0.8)
        ax.annotate(f"{n_above} above, drawn at the line", (0.02, 0.95), fontsize=7,
                    xycoords="axes fraction", va="top")  # fmt: skip
    ax.set_xlabel("λ1 of the system")
    ax.set_ylabel("λ1 of the rollout")
    ax.set_title("largest Lyapunov exponent", fontsize=10)
    ax.legend(fontsize=7)
    ax = axes[3]
    steps = np.arange(1, smape_by_step.shape[-1] + 1)
    curves = np.asarray(smape_by_step, dtype=float)
    missing = ~np.isfinite(curves).all(axis=-1)  # (model, system): no curve, a failure
    mean_curve = np.where(np.isfinite(curves), curves, 200.0).mean(axis=1)
    for i, model in enumerate(models):
        n_missing = int(missing[i].sum())
        label = model + (f" ({n_missing} failed, counted as 200)" if n_missing else "")
        ax.plot(steps, mean_curve[i], label=label)
    ax.set_xlabel("forecast step")
    ax.set_ylabel("sMAPE (0-200)")
    ax.set_title("error growth, mean over systems", fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def causal_curves_figure(
    curves: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]],
    path: str | os.PathLike[str],
) -> None:
    """ROC and precision-recall curves per tier (rows) and method (lines).

    ``curves[tier][method] = (fpr, tpr, recall, precision)``, pooled over the
    tier's headline graphs; an empty curve (method unavailable or failed) is
    listed in the legend as such.
    """
    tiers = list(curves)
    fig, axes = plt.subplots(max(1, len(tiers)), 2, figsize=(10, 4.0 * max(1, len(tiers))),
                             squeeze=False)  # fmt: skip
    cmap = plt.get_cmap("tab10")
    for row, tier in zip(axes, tiers, strict=False):
        roc_ax, pr_ax = row
        roc_ax.plot([0, 1], [0, 1], "--", color="0.7", lw=1)
        for k, (method, (fpr, tpr, recall, precision)) in enumerate(curves[tier].items()):
            colour = cmap(k % 10)
            if fpr.size == 0:
                roc_ax.plot([], [], color=colour, label=f"{method} (no scores)")
                continue
            auc = float(np.trapezoid(tpr, fpr))
            ap = float(np.sum(np.diff(recall, prepend=0.0) * precision))
            roc_ax.plot(fpr, tpr, color=colour, label=f"{method} (AUROC {auc:.2f})")
            pr_ax.step(np.r_[0.0, recall], np.r_[precision[0], precision], where="pre",
                       color=colour, label=f"{method} (AP {ap:.2f})")  # fmt: skip
        roc_ax.set_title(f"{tier}: ROC", fontsize=10)
        roc_ax.set_xlabel("false positive rate")
        roc_ax.set_ylabel("true positive rate")
        pr_ax.set_title(f"{tier}: precision-recall", fontsize=10)
        pr_ax.set_xlabel("recall")
        pr_ax.set_ylabel("precision")
        pr_ax.set_ylim(0, 1.05)
        for ax in row:
            ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    _save(fig, path)
