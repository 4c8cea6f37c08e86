"""Correlation dimension against nolds, entropies against antropy: accuracy, time, memory.

Run: .venv/bin/python benchmarks/bench_diagnostics.py [out.json]

Every measurement runs in its own fresh Python process, so import time, the
first call (numba compilation or cache load) and peak memory are each tool's
own. Inputs are the same arrays for both tools, generated once by chaosatlas
and passed as .npy files.

- Correlation dimension: Lorenz (10, 28, 8/3), 20,000 points of the x
  coordinate, delay-embedded in 4 dimensions (nolds' ``corr_dim`` only takes
  a scalar series), sampled every 0.1 and every 0.01 time units; chaosatlas
  also on the full 3-D state. Reference 2.05 (Grassberger and Procaccia 1983).
  nolds 0.6.3 fails to import as a package on Python 3.11 (its
  ``nolds.datasets`` clashes with a folder), so its ``measures.py`` is loaded
  on its own; its defaults are used (RANSAC fit, r from 0.1 to 0.5 std).
- Entropies: 10,000 points of Lorenz x (dt 0.02); sample entropy (m = 2,
  r = 0.2 std) and permutation entropy (order 3..7, delay 1); import and first
  call timed separately from the steady state (median of 5 calls).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))
from _memory import peak_mb, reset_peak  # noqa: E402


def _load_nolds_measures():
    import importlib.util

    spec = importlib.util.find_spec("nolds")
    path = Path(spec.submodule_search_locations[0]) / "measures.py"
    mspec = importlib.util.spec_from_file_location("nolds_measures", path)
    module = importlib.util.module_from_spec(mspec)
    mspec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------- children


def child_corr_dim(tool: str, path: str, emb_dim: int, lag: int) -> dict:
    x = np.load(path)
    reset_peak()
    base = peak_mb()
    t0 = time.perf_counter()
    if tool == "nolds":
        measures = _load_nolds_measures()
        value = float(measures.corr_dim(x, emb_dim, lag=lag))
    else:
        from chaosatlas.diagnostics.dimensions import correlation_dimension, delay_embedding

        points = x if x.ndim == 2 else delay_embedding(x, emb_dim, lag)
        value = float(correlation_dimension(points, theiler=max(1, 10 // lag * lag)).value)
    return {
        "value": value,
        "seconds": time.perf_counter() - t0,
        "peak_extra_mb": peak_mb() - base,
    }


def child_entropy(tool: str, path: str) -> dict:
    x = np.load(path)
    t0 = time.perf_counter()
    if tool == "antropy":
        import antropy

        def sampen(v):
            return antropy.sample_entropy(v)

        def perm(v, o):
            return antropy.perm_entropy(v, order=o, delay=1, normalize=True)
    else:
        from chaosatlas.diagnostics import entropy

        def sampen(v):
            return entropy.sample_entropy(v)

        def perm(v, o):
            return entropy.permutation_entropy(v, o, 1)

    t_import = time.perf_counter() - t0
    t1 = time.perf_counter()
    first = [sampen(x)] + [perm(x, o) for o in range(3, 8)]
    t_first = time.perf_counter() - t1

    def steady(f, *a):
        times = []
        for _ in range(5):
            s = time.perf_counter()
            f(*a)
            times.append(time.perf_counter() - s)
        return float(np.median(times))

    return {
        "import_s": t_import,
        "first_calls_s": t_first,
        "sample_entropy": float(first[0]),
        "permutation_entropy": [float(v) for v in first[1:]],
        "sample_entropy_s": steady(sampen, x),
        "permutation_entropy_s": sum(steady(perm, x, o) for o in range(3, 8)),
    }


def _run_child(*args: str, env: dict | None = None) -> dict:
    proc = subprocess.run(
        [sys.executable, str(HERE), "--child", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=3600,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- main


def _lorenz(dt: float, n: int) -> np.ndarray:
    from chaosatlas import catalogue
    from chaosatlas.integrate.solve import solve

    t = np.concatenate([[0.0], 50.0 + np.arange(n) * dt])
    sol = solve(catalogue.get("Lorenz"), np.array([[1.0, 1.0, 20.0]]), t, rtol=1e-10, atol=1e-10)
    return sol.x[0, 1:]


def main() -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="chaosatlas-bench-diag-"))
    results: dict = {"correlation_dimension": [], "entropy": {}}
    for dt, lag in ((0.1, 1), (0.01, 10)):
        state = _lorenz(dt, 20_000)
        np.save(tmp / f"x_{dt}.npy", np.ascontiguousarray(state[:, 0]))
        np.save(tmp / f"state_{dt}.npy", state)
        for tool, path in (
            ("nolds", f"x_{dt}.npy"),
            ("chaosatlas", f"x_{dt}.npy"),
            ("chaosatlas", f"state_{dt}.npy"),
        ):
            r = _run_child("corr_dim", tool, str(tmp / path), "4", str(lag))
            r.update(tool=tool, dt=dt, input="x, embedded 4 x lag" if "x_" in path else "3-D state")
            results["correlation_dimension"].append(r)
            print(json.dumps(r), flush=True)
    x = np.ascontiguousarray(_lorenz(0.02, 10_000)[:, 0])
    np.save(tmp / "entropy.npy", x)
    for tool in ("antropy", "chaosatlas"):
        results["entropy"][tool] = _run_child("entropy", tool, str(tmp / "entropy.npy"))
        print(tool, json.dumps(results["entropy"][tool]), flush=True)
    cold = _run_child(
        "entropy", "chaosatlas", str(tmp / "entropy.npy"), env={"NUMBA_CACHE_DIR": str(tmp / "nc")}
    )
    results["entropy"]["chaosatlas_cold_cache"] = cold
    print("chaosatlas cold cache", json.dumps(cold), flush=True)
    return results


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, *rest = sys.argv[2:]
        out = (
            child_corr_dim(rest[0], rest[1], int(rest[2]), int(rest[3]))
            if kind == "corr_dim"
            else child_entropy(*rest)
        )
        print(json.dumps(out))
    else:
        res = main()
        if len(sys.argv) > 1:
            Path(sys.argv[1]).write_text(json.dumps(res, indent=2))
