"""Pathological systems get a status and a reason within the step budget; the run goes on.

A catalogue folder of four systems (``CHAOSATLAS_SYSTEMS_DIR``): Lorenz, a
stiff Van der Pol oscillator (mu = 1e6, which an explicit integrator can only
cross with tiny steps), a flow that blows up in finite time (x' = x^2) and a
map that escapes to infinity (x -> x^2 + 1). Catalogue, integration and
diagnostics run in a fresh process on a local dask cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_STEPS = 20_000

SYSTEMS = """
family: pathological
systems:
  - name: Lorenz
    kind: flow
    variables: [x, y, z]
    parameters: {sigma: 10, rho: 28, beta: 8/3}
    equations: {x: sigma*(y - x), y: x*(rho - z) - y, z: x*y - beta*z}
    initial_state: [-9.7869288, -15.03852, 20.533978]
    citation: Lorenz (1963)
    period_hint: 1.5008
  - name: StiffVanDerPol
    kind: flow
    variables: [x, y]
    parameters: {mu: 1.0e6}
    equations: {x: y, y: mu*(1 - x**2)*y - x}
    initial_state: [2.0, 0.0]
    citation: Van der Pol oscillator deep in its relaxation (stiff) regime
  - name: FiniteTimeBlowup
    kind: flow
    variables: [x, y]
    equations: {x: x**2, y: -y}
    initial_state: [1.0, 1.0]
    citation: x' = x^2 reaches infinity at t = 1/x0
  - name: EscapingMap
    kind: map
    variables: [x]
    parameters: {c: 1.0}
    equations: {x: x**2 + c}
    initial_state: [0.5]
    citation: the quadratic map outside its Mandelbrot set escapes to infinity
"""

RUN = textwrap.dedent(
    f"""
    import json, sys
    from pathlib import Path
    import xarray as xr, zarr
    from chaosatlas.pipeline import make_catalogue, make_diagnostics, make_trajectories

    out = Path(sys.argv[1])
    config = {{
        "seed": 3, "systems": "all",
        "sampling": {{"transient_periods": 10, "probe_periods": 40, "map_transient": 200,
                      "map_probe": 512, "max_steps": {MAX_STEPS}}},
        "integration": {{"n_points": 64, "block_size": 2,
                         "trajectories": {{"train": 2, "val": 1, "test": 1}}}},
        "dask": {{"cluster": "local"}},
        "diagnostics": {{"n_trajectories": 2, "periods": 50, "transient_periods": 5,
                         "iterations": 2000, "n_points": 1024, "correlation_points": 1024,
                         "entropy_points": 512}},
        "forecast": {{"systems": [], "models": []}},
    }}
    cat = make_catalogue(config, out / "catalogue.nc", threads=2)
    stores = {{s: str(out / f"{{s}}.zarr") for s in ("train", "val", "test")}}
    make_trajectories(config, out / "catalogue.nc", stores, threads=2)
    inv, _ = make_diagnostics(config, out / "catalogue.nc", out / "invariants.nc",
                              out / "entropy.nc", threads=2)
    root = zarr.open_group(stores["train"], mode="r")
    print("RESULT " + json.dumps({{
        "catalogue": {{str(n): [str(s), str(r)] for n, s, r in
                       zip(cat.system.values, cat.status.values, cat.reason.values)}},
        "stored": sorted(root.group_keys()),
        "skipped": json.loads(root.attrs["skipped"]),
        "invariants": {{str(n): [str(v), str(r)] for n, v, r in
                        zip(inv.system_name.values, inv.verdict.values, inv.reason.values)}},
    }}))
    """
)


@pytest.mark.slow
def test_pathological_systems_are_recorded_and_the_run_goes_on(tmp_path):
    folder = tmp_path / "systems"
    folder.mkdir()
    (folder / "pathological.yaml").write_text(SYSTEMS)
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "CHAOSATLAS_SYSTEMS_DIR": str(folder)}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", RUN, str(out)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)  # fmt: skip
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    cat = result["catalogue"]
    assert cat["Lorenz"] == ["ok", ""]
    # the stiff system stops at the step budget, early in its first slow phase
    status, reason = cat["StiffVanDerPol"]
    assert status == "max_steps" and f"step budget of {MAX_STEPS} steps" in reason
    # finite-time blow-up at t = 1/x0 = 1, and the escaping map within a few iterations
    status, reason = cat["FiniteTimeBlowup"]
    assert status == "diverges" and "bound" in reason and "t=1" in reason, reason
    status, reason = cat["EscapingMap"]
    assert status == "diverges" and "bound" in reason, reason
    # integration went on with the healthy system and says why the others are absent
    assert result["stored"] == ["Lorenz"]
    assert set(result["skipped"]) == {"StiffVanDerPol", "FiniteTimeBlowup", "EscapingMap"}
    assert all(result["skipped"][n].startswith(cat[n][0]) for n in result["skipped"])
    # every system has an invariants row; the failed ones carry the catalogue's reason
    inv = result["invariants"]
    assert set(inv) == set(cat) and inv["Lorenz"][0] == "chaotic"
    for name in result["skipped"]:
        verdict, why = inv[name]
        assert verdict != "chaotic" and why.startswith(f"catalogue status {cat[name][0]}"), inv[
            name
        ]
    assert elapsed < 240, f"took {elapsed:.0f} s"
