"""The command line: list, show, integrate, validate (rejecting corrupted copies of every
product kind with a message naming the variable), publish and open."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from test_publish import results, results_template  # noqa: F401 - fixtures

from chaosatlas.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_in_a_subprocess():
    proc = subprocess.run(
        [sys.executable, "-m", "chaosatlas.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0
    for command in ("list", "show", "integrate", "validate", "publish", "open"):
        assert command in proc.stdout


def test_list_with_kind(capsys):
    code, out, _ = run(capsys, "list", "--kind", "map")
    assert code == 0
    rows = [line.split("\t") for line in out.splitlines()]
    assert ["Henon", "map", "2"] in rows
    assert all(kind == "map" for _, kind, _ in rows)


def test_show_and_unknown_system(capsys):
    import yaml

    code, out, _ = run(capsys, "show", "Lorenz")
    assert code == 0
    facts = yaml.safe_load(out)
    assert facts["kind"] == "flow" and facts["variables"] == ["x", "y", "z"]
    assert facts["parameters"]["rho"] == 28.0 and "sigma" in facts["equations"]["x"]
    assert len(facts["initial_state"]) == 3 and "Lorenz" in facts["citation"]
    code, _, err = run(capsys, "show", "Lorentz")
    assert code == 2 and "'Lorentz'" in err


def test_integrate_netcdf_and_zarr_then_validate(capsys, tmp_path):
    nc = tmp_path / "lorenz.nc"
    code, _, _ = run(capsys, "integrate", "Lorenz", "--out", str(nc), "--points", "300",
                     "--t-end", "15", "--seed", "4", "--quiet")  # fmt: skip
    assert code == 0
    with xr.open_dataset(nc) as ds:
        assert ds.x.shape == (1, 300, 3) and ds.attrs["product"] == "trajectory"
        assert ds.time.values[-1] == pytest.approx(15.0)
        assert {"git_commit", "config_hash", "creation_time"} <= set(ds.attrs)
        assert np.isfinite(ds.x.values).all() and int(ds.status.values[0]) == 0
    code, out, _ = run(capsys, "validate", str(nc))
    assert code == 0 and out.startswith("ok: trajectory")
    store = tmp_path / "henon.zarr"
    code, _, _ = run(capsys, "integrate", "Henon", "--out", str(store), "--points", "100", "-q")
    assert code == 0
    code, out, _ = run(capsys, "validate", str(store))
    assert code == 0 and out.startswith("ok: trajectories")
    assert not list(tmp_path.glob("*.tmp-*"))
    code, _, err = run(capsys, "integrate", "Nope", "--out", str(tmp_path / "n.nc"))
    assert code == 2 and "'Nope'" in err


def _rewrite(path: Path, mutate) -> None:
    with xr.open_dataset(path) as ds:
        bad = mutate(ds.load())
    path.unlink()
    bad.to_netcdf(path, engine="netcdf4")


def _status(value):
    def mutate(ds):
        status = ds["status"].values.astype(object).copy()
        status.flat[0] = value
        return ds.assign(status=(ds["status"].dims, status))

    return mutate


CORRUPTIONS = [
    ("catalogue.nc", _status("weird"), "status"),
    ("diagnostics/invariants.nc", lambda ds: ds.drop_vars("verdict"), "verdict"),
    ("diagnostics/entropy.nc", lambda ds: ds.drop_vars("permutation_entropy"),
     "permutation_entropy"),
    ("metrics/forecast.nc", _status("weird"), "status"),
    ("causal/pairs.nc", lambda ds: ds.drop_vars("sync_error"), "sync_error"),
    ("causal/predictions/lagged_correlation/pairs.nc", _status("weird"), "status"),
    ("causal/scores.nc", lambda ds: ds.drop_vars("auroc"), "auroc"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rel", "mutate", "variable"), CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS]
)
def test_validate_rejects_corrupted_netcdf(capsys, results, rel, mutate, variable):  # noqa: F811
    path = results / rel
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 0 and out.startswith("ok: ")
    _rewrite(path, mutate)
    code, _, err = run(capsys, "validate", str(path))
    assert code == 1
    assert f"'{variable}'" in err


def test_validate_rejects_zarr_with_a_lost_chunk(capsys, results):  # noqa: F811
    store = results / "trajectories" / "train.zarr"
    chunks = [p for p in (store / "Lorenz" / "x" / "c").rglob("*") if p.is_file()]
    chunks[0].unlink()
    code, _, err = run(capsys, "validate", str(store))
    assert code == 1
    assert "'x'" in err and "Lorenz" in err


def test_publish_and_open(capsys, results):  # noqa: F811
    code, out, _ = run(capsys, "publish", "--results", str(results), "--validate")
    assert code == 0 and "index.json" in out
    index = json.loads((results / "index.json").read_text())
    assert len(index["products"]) == 8
    code, out, _ = run(capsys, "open", "forecast", "--results", str(results))
    assert code == 0 and out.startswith("<xarray.Dataset>") and "smape" in out
    code, out, _ = run(capsys, "open", "trajectories/train", "--results", str(results),
                       "--group", "Lorenz")  # fmt: skip
    assert code == 0 and "x " in out
    code, _, err = run(capsys, "open", "nothing_here", "--results", str(results))
    assert code == 2 and "nothing_here" in err
