"""Summarise a forecast.nc as the leaderboard tables of benchmarks/README.md (section 9).

Run: .venv/bin/python benchmarks/leaderboard.py results/metrics/forecast.nc [invariants.nc]

Prints, per model, the median over every system of sMAPE, VPT in Lyapunov
times, D_stsp, D_H and the rollout's lambda_1 error, a failure counted at its
worst value (chaosatlas.report.tables.ranked_scores: sMAPE 200, VPT 0, D_H 1,
D_stsp and the lambda_1 error infinite), with n and the number not ok, in the
leaderboard's order, then Gilpin 2023's published medians as labelled reference
rows (not run here); then the per-system VPT table (censored values marked
">="). Only systems whose verdict in invariants.nc is "chaotic" count when it
is given.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import xarray as xr

from chaosatlas.report.tables import failed_mask, leaderboard_order, ranked_scores

#: Gilpin 2023's median sMAPE (0-200 scale, full training set), recomputed from its
#: published sweep files (../shared/specs/models.md): reference rows, not run here
PUBLISHED_SMAPE = {
    "NBEATS": 42.2, "NHiTS": 63.6, "LSTM": 63.9, "neural ODE": 67.7, "NVAR": 68.8,
    "random forest": 72.8, "ESN": 74.3, "Transformer": 78.3, "linear regression": 94.4,
}  # fmt: skip

METRICS = {
    "smape": "sMAPE (0-200)",
    "vpt_lyapunov": "VPT (Lyapunov times)",
    "d_stsp": "D_stsp",
    "d_h": "D_H",
}


def table(path: str, invariants: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    ds = xr.open_dataset(path).swap_dims(model="model_name", system="system_name")
    if invariants:
        inv = xr.open_dataset(invariants)
        chaotic = set(inv.system_name.values[inv.verdict.values == "chaotic"].astype(str))
        keep = [s for s in ds.system_name.values.astype(str) if s in chaotic]
        ds = ds.sel(system_name=keep)
    order, _ = leaderboard_order(ds)
    status = ds.status.values.astype(str)
    failed = failed_mask(ds, "d_h")  # the rollout's exponent fails with the long-term scores
    with np.errstate(all="ignore"):
        lam_err = np.abs(ds.rollout_lambda1.values - ds.system_lambda1.values) / np.abs(
            ds.system_lambda1.values
        )
    lam_err = np.where(failed | ~np.isfinite(lam_err), np.inf, lam_err)
    scores = {name: ranked_scores(ds, name) for name in METRICS}
    models = ds.model_name.values.astype(str)
    rows = {}
    for i in order:
        row = {"n": status.shape[1], "not ok": int(np.sum(status[i] != "ok"))}
        for name, label in METRICS.items():
            row[label] = float(np.median(scores[name][i]))
        row["|lambda1 rollout - system| / system"] = float(np.median(lam_err[i]))
        row["sMAPE (0-100)"] = row[METRICS["smape"]] / 2  # current dysts' scale
        if "smape_long" in ds and np.isfinite(ds.smape_long.values[i]).any():
            long = np.where(failed[i] | ~np.isfinite(ds.smape_long.values[i]), 200.0,
                            ds.smape_long.values[i])  # fmt: skip
            row["long-task sMAPE (0-200)"] = float(np.median(long))
        rows[models[i]] = row
    for name, value in PUBLISHED_SMAPE.items():
        rows[f"{name} (Gilpin 2023, published)"] = {
            METRICS["smape"]: value,
            "sMAPE (0-100)": value / 2,
        }
    summary = pd.DataFrame(rows).T
    vpt = ds.vpt_lyapunov.to_pandas().T.map(lambda v: f"{v:.2f}")
    censored = ds.vpt_censored.to_pandas().T.astype(bool)
    vpt = vpt.where(~censored, ">= " + vpt)
    short_failed = failed_mask(ds, "vpt_lyapunov")
    vpt = vpt.where(~pd.DataFrame(short_failed, index=models, columns=vpt.index).T, "failed")
    return summary, vpt


def main() -> None:
    summary, vpt = table(*sys.argv[1:3])
    pd.set_option("display.width", 200)
    print(summary.to_markdown(floatfmt=".3g"))
    print()
    print(vpt.to_markdown(floatfmt=".2f"))


if __name__ == "__main__":
    main()
