"""Lyapunov spectra for the whole catalogue on 2 cores (dask LocalCluster, 2 workers).

Run: .venv/bin/python benchmarks/bench_lyapunov_catalogue.py [out.json]

As in the workflow, the catalogue stage has run before (its compiled DOP853
kernels and periods are reused); the Lyapunov kernels are compiled in this run
(fresh for every system). Settings: the workflow defaults of config/config.yaml
(4 initial conditions x 500 periods; maps 20,000 iterations; at most 16
exponents; high-dimensional flows within the tangent budget; an ambiguous
lambda_1 averaged up to 16x longer), through the same function the
diagnostics stage calls (chaosatlas.diagnostics.stage.averaged_spectrum).
"""

from __future__ import annotations

import json
import os
import sys
import time


def spectrum_task(name: str) -> dict:
    import numpy as np

    from chaosatlas import catalogue
    from chaosatlas.diagnostics.stage import DiagnosticsSettings, averaged_spectrum
    from chaosatlas.integrate.attractor import SamplingSettings, probe_attractor

    t0 = time.perf_counter()
    system = catalogue.get(name)
    probe = probe_attractor(system, SamplingSettings())
    if probe.status != "ok":
        return {"system": name, "status": probe.status, "seconds": time.perf_counter() - t0}
    t1 = time.perf_counter()
    r, _, note = averaged_spectrum(
        system, probe.period, DiagnosticsSettings(periods=500), SamplingSettings(), seed=20261123
    )
    return {
        "system": name,
        "status": "ok" if r.n_failed == 0 else f"{r.n_failed} failed",
        "lambda1": float(r.exponents[0]),
        "sum_mismatch": float(r.sum_mismatch)
        if system.kind != "dde" and r.exponents.size == system.dim
        else None,
        "probe_seconds": t1 - t0,
        "seconds": time.perf_counter() - t1,
        "note": note,
        "ok": bool(np.all(np.isfinite(r.exponents))),
    }


def main() -> dict:
    from distributed import Client, LocalCluster, as_completed

    from chaosatlas import catalogue

    names = catalogue.names()
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        # warm-up as the workflow has it: the catalogue stage compiled the probes
        t0 = time.perf_counter()
        rows = []
        for fut in as_completed([client.submit(spectrum_task, n, pure=False) for n in names]):
            rows.append(fut.result())
        total = time.perf_counter() - t0
    finite = sum(1 for r in rows if r.get("ok"))
    worst = sorted(
        (r for r in rows if r.get("sum_mismatch") is not None), key=lambda r: -r["sum_mismatch"]
    )[:5]
    result = {
        "benchmark": "Lyapunov spectra, whole catalogue, 2 cores",
        "systems": len(names),
        "finite_spectra": finite,
        "wall_s": round(total, 1),
        "slowest": sorted(
            ((round(r.get("seconds", 0), 2), r["system"]) for r in rows), reverse=True
        )[:5],
        "largest_sum_mismatch": [(r["system"], r["sum_mismatch"]) for r in worst],
        "cache": os.environ.get("CHAOSATLAS_CACHE_DIR", "default"),
    }
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    out = main()
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as fh:
            json.dump(out, fh, indent=1)
