"""Lyapunov spectrum of Lorenz: accuracy and time against dysts' find_lyapunov_exponents.

Run: .venv/bin/python benchmarks/bench_lyapunov.py [out.json]

Reference (Sprott 2003): (0.9056, 0, -14.5723). chaosatlas compile time is
measured separately in a fresh cache folder and reported; the timed run is the
second call. dysts gets the trajectory length its documentation suggests and a
longer one.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import warnings

import numpy as np

REFERENCE = np.array([0.9056, 0.0, -14.5723])


def main() -> list[dict]:
    os.environ["CHAOSATLAS_CACHE_DIR"] = tempfile.mkdtemp(prefix="chaosatlas-bench-")
    warnings.filterwarnings("ignore")
    from chaosatlas import catalogue
    from chaosatlas.diagnostics.lyapunov import lyapunov_spectrum

    rows = []
    lorenz = catalogue.get("Lorenz")
    t0 = time.perf_counter()
    lyapunov_spectrum(lorenz, periods=10, n_trajectories=1)
    compile_s = time.perf_counter() - t0
    for periods in (1000, 4000):
        t0 = time.perf_counter()
        r = lyapunov_spectrum(lorenz, periods=periods, n_trajectories=4, seed=1)
        elapsed = time.perf_counter() - t0
        rows.append(
            {
                "method": f"chaosatlas lyapunov_spectrum, 4 trajectories x {periods} periods",
                "exponents": np.round(r.exponents, 5).tolist(),
                "uncertainty": np.round(r.uncertainty, 5).tolist(),
                "lambda1_rel_error": round(float(abs(r.exponents[0] / REFERENCE[0] - 1)), 5),
                "lambda3_rel_error": round(float(abs(r.exponents[2] / REFERENCE[2] - 1)), 6),
                "seconds": round(elapsed, 3),
                "compile_seconds_first_process": round(compile_s, 2),
            }
        )
        print(json.dumps(rows[-1]), flush=True)

    import dysts.flows
    from dysts.analysis import find_lyapunov_exponents

    model = dysts.flows.Lorenz()
    model.params = {"sigma": 10.0, "rho": 28.0, "beta": 8 / 3}
    for n in (1000, 10_000):
        t0 = time.perf_counter()
        spec = np.sort(np.asarray(find_lyapunov_exponents(model, n)))[::-1]
        elapsed = time.perf_counter() - t0
        rows.append(
            {
                "method": f"dysts find_lyapunov_exponents(model, {n})",
                "exponents": np.round(spec, 5).tolist(),
                "lambda1_rel_error": round(float(abs(spec[0] / REFERENCE[0] - 1)), 5),
                "lambda3_rel_error": round(float(abs(spec[-1] / REFERENCE[2] - 1)), 6),
                "seconds": round(elapsed, 3),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


if __name__ == "__main__":
    result = main()
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as fh:
            json.dump(result, fh, indent=1)
