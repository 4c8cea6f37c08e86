"""Summarise a forecast.nc as the leaderboard tables of benchmarks/README.md (section 9).

Run: .venv/bin/python benchmarks/leaderboard.py results/metrics/forecast.nc [invariants.nc]

Prints, per model, the median over systems (and the number of systems with
status ok) of sMAPE, VPT in Lyapunov times, MSE, D_stsp, D_H and the rollout's
lambda_1 error, ranked by median sMAPE; then the per-system VPT table. Only
systems whose verdict in invariants.nc is "chaotic" count when it is given.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import xarray as xr

METRICS = {
    "smape": "sMAPE (0-200)",
    "vpt_lyapunov": "VPT (Lyapunov times)",
    "mse": "MSE (std units)",
    "d_stsp": "D_stsp",
    "d_h": "D_H",
    "lambda_error": "|lambda1 rollout - system| / system",
}


def table(path: str, invariants: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    ds = xr.open_dataset(path).swap_dims(model="model_name", system="system_name")
    if invariants:
        inv = xr.open_dataset(invariants)
        chaotic = set(inv.system_name.values[inv.verdict.values == "chaotic"].astype(str))
        keep = [s for s in ds.system_name.values.astype(str) if s in chaotic]
        ds = ds.sel(system_name=keep)
    ok = ds.status == "ok"
    lam_err = np.abs(ds.rollout_lambda1 - ds.system_lambda1) / np.abs(ds.system_lambda1)
    rows = {}
    for model in ds.model_name.values.astype(str):
        sel = ok.sel(model_name=model).values
        row = {"systems ok": f"{int(sel.sum())}/{sel.size}"}
        for name, label in METRICS.items():
            v = (lam_err if name == "lambda_error" else ds[name]).sel(model_name=model).values
            v = v[sel & np.isfinite(v)]
            row[label] = float(np.median(v)) if v.size else np.nan
        rows[model] = row
    summary = pd.DataFrame(rows).T.sort_values(METRICS["smape"])
    vpt = ds.vpt_lyapunov.where(ok).to_pandas().T
    return summary, vpt


def main() -> None:
    summary, vpt = table(*sys.argv[1:3])
    pd.set_option("display.width", 200)
    print(summary.to_markdown(floatfmt=".3g"))
    print()
    print(vpt.to_markdown(floatfmt=".2f"))


if __name__ == "__main__":
    main()
