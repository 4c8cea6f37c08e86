"""index.json describes every product (checksums follow the bytes); chaosatlas.open
reads products by name, by path and over HTTP (a loopback server)."""

from __future__ import annotations

import functools
import http.server
import io
import json
import shutil
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import chaosatlas
from chaosatlas.causal.pipeline import make_predictions, make_scores, make_tier_data
from chaosatlas.cli import integration_dataset, write_integration
from chaosatlas.diagnostics.stage import SystemDiagnostics, entropy_dataset, invariants_dataset
from chaosatlas.forecast import Score, forecast_dataset
from chaosatlas.pipeline import catalogue_dataset
from chaosatlas.products import provenance, write_netcdf
from chaosatlas.publish import checksum, validate_product, write_index
from chaosatlas.schemas import (
    validate_catalogue,
    validate_entropy,
    validate_forecast,
    validate_invariants,
)

CAT_ROWS = [
    {"system": "Lorenz", "kind": "flow", "dimension": 3, "status": "ok", "period": 1.5,
     "dt": 0.03, "citation": "Lorenz 1963"},
    {"system": "Henon", "kind": "map", "dimension": 2, "status": "ok", "period": 2.0,
     "dt": 1.0, "citation": "Henon 1976"},
]  # fmt: skip
DIAG_ATTRS = {
    "Conventions": "CF-1.10",
    "history": "h",
    "source": "s",
    "schema_version": "1",
}
CAUSAL_CONFIG = {
    "seed": 3,
    "causal": {
        "tiers": {"pairs": {"pairs": [], "couplings": [0.3], "logistic_map": True}},
        "methods": ["lagged_correlation"],
    },
}


def _diagnostic_rows() -> list[SystemDiagnostics]:
    a = SystemDiagnostics("Lorenz", "flow", 3, ["x", "y", "z"], 0.75)
    a.exponents, a.exponent_uncertainty = np.array([0.95, 0.0, -14.6]), np.full(3, 0.002)
    a.kaplan_yorke, a.pesin, a.correlation_dimension, a.zero_one_k = 2.065, 0.95, 2.04, 0.99
    a.verdict, a.reason = "chaotic", "lambda_1 > 0 and K = 0.99"
    a.entropy = {"x": {"permutation_entropy": np.linspace(0.5, 0.9, 5), "sample_entropy": 0.3}}
    b = SystemDiagnostics("Henon", "map", 2, ["x", "y"], 2.0)
    b.exponents, b.exponent_uncertainty = np.array([0.4192, -1.6232]), np.full(2, 1e-3)
    b.verdict, b.reason = "chaotic", "lambda_1 > 0"
    return [a, b]


def build_results(root: Path) -> Path:
    """A small results folder with one product of every kind, each passing its check."""
    results = root / "results"
    config = {"seed": 1}
    write_netcdf(catalogue_dataset(CAT_ROWS, config), results / "catalogue.nc", validate_catalogue)
    attrs = {**provenance(config, product="diagnostics"), **DIAG_ATTRS}
    rows = _diagnostic_rows()
    write_netcdf(
        invariants_dataset(rows, {**attrs, "title": "invariants"}),
        results / "diagnostics" / "invariants.nc",
        validate_invariants,
    )
    write_netcdf(
        entropy_dataset(rows, {**attrs, "title": "entropy"}),
        results / "diagnostics" / "entropy.nc",
        validate_entropy,
    )
    scores = [
        Score("persistence", "Lorenz", "ok", mse=1.0, mae=0.8, smape=50.0,
              smape_by_step=np.full(4, 50.0), vpt=0.1, n_parameters=0),
        Score("linear", "Lorenz", "failed", "boom"),
    ]  # fmt: skip
    fc = forecast_dataset(
        scores,
        ["persistence", "linear"],
        ["Lorenz"],
        4,
        {**provenance(config, product="forecast"), **DIAG_ATTRS, "title": "forecast"},
    )
    write_netcdf(fc, results / "metrics" / "forecast.nc", validate_forecast)
    causal = results / "causal"
    make_tier_data(CAUSAL_CONFIG, "pairs", causal / "pairs.nc")
    pred = causal / "predictions" / "lagged_correlation" / "pairs.nc"
    make_predictions(CAUSAL_CONFIG, "lagged_correlation", causal / "pairs.nc", pred)
    make_scores(CAUSAL_CONFIG, [causal / "pairs.nc"], [pred], causal / "scores.nc")
    ds = integration_dataset("Lorenz", points=256, t_end=10.0)
    write_integration(ds, results / "trajectories" / "train.zarr", "zarr")
    return results


@pytest.fixture(scope="session")
def results_template(tmp_path_factory) -> Path:
    return build_results(tmp_path_factory.mktemp("template"))


@pytest.fixture
def results(results_template, tmp_path) -> Path:
    """A private copy of the small results folder (tests may corrupt it)."""
    return Path(shutil.copytree(results_template, tmp_path / "results"))


EXPECTED_KINDS = {
    "catalogue.nc": "catalogue",
    "diagnostics/invariants.nc": "invariants",
    "diagnostics/entropy.nc": "entropy",
    "metrics/forecast.nc": "forecast",
    "causal/pairs.nc": "causal_data",
    "causal/predictions/lagged_correlation/pairs.nc": "causal_predictions",
    "causal/scores.nc": "causal_scores",
    "trajectories/train.zarr": "trajectories",
}


def test_every_built_product_validates(results):
    for rel, kind in EXPECTED_KINDS.items():
        assert validate_product(results / rel) == kind, rel


def test_index_lists_every_product(results):
    path = write_index(results)
    assert path == results / "index.json"
    index = json.loads(path.read_text())
    by_path = {e["path"]: e for e in index["products"]}
    assert set(by_path) == set(EXPECTED_KINDS)
    for rel, kind in EXPECTED_KINDS.items():
        e = by_path[rel]
        assert e["kind"] == kind
        assert e["format"] == ("zarr" if rel.endswith(".zarr") else "netcdf")
        assert e["schema_version"] == "1"
        assert e["licence"] == "MIT"
        assert e["citation"]
        assert e["size_bytes"] > 0
        assert len(e["sha256"]) == 64 and e["sha256"] == checksum(results / rel)
        assert {"git_commit", "config_hash", "chaosatlas_version", "creation_time"} <= set(
            e["provenance"]
        )
    inv = by_path["diagnostics/invariants.nc"]["variables"]["lyapunov_exponent"]
    assert inv["dims"] == ["system", "exponent"] and inv["units"]
    traj = by_path["trajectories/train.zarr"]
    assert traj["groups"] == ["Lorenz"] and traj["variables"]["x"]["dims"] == [
        "trajectory",
        "time",
        "variable",
    ]
    assert "Lorenz/x/zarr.json" in traj["files"]
    # deterministic: sorted keys, same bytes on a rewrite
    text = path.read_text()
    assert json.dumps(json.loads(text), sort_keys=True, indent=1, ensure_ascii=False) + "\n" == text
    assert write_index(results).read_text() == text


def test_checksum_changes_when_a_file_changes(results):
    index = json.loads(write_index(results).read_text())
    before = {e["path"]: e["sha256"] for e in index["products"]}
    with (results / "catalogue.nc").open("ab") as fh:
        fh.write(b"\0")
    chunk = next(p for p in sorted((results / "trajectories/train.zarr/Lorenz/x").rglob("*"))
                 if p.is_file() and p.name != "zarr.json")  # fmt: skip
    chunk.write_bytes(chunk.read_bytes() + b"\0")
    after = {e["path"]: e["sha256"] for e in json.loads(write_index(results).read_text())["products"]}  # fmt: skip
    changed = {p for p in before if before[p] != after[p]}
    assert changed == {"catalogue.nc", "trajectories/train.zarr"}


def test_open_by_name_and_path(results):
    fc = chaosatlas.open("forecast", results=results)
    assert "smape" in fc and fc.attrs["product"] == "forecast"
    assert "lyapunov_exponent" in chaosatlas.open("invariants", results=results)
    assert "permutation_entropy" in chaosatlas.open("entropy", results=results)
    assert "kind" in chaosatlas.open("catalogue", results=results)
    assert "auroc" in chaosatlas.open("causal_scores", results=results)
    assert "adj_summary" in chaosatlas.open("causal/pairs", results=results)
    assert "score" in chaosatlas.open(
        "causal/predictions/lagged_correlation/pairs", results=results
    )
    tree = chaosatlas.open("trajectories/train", results=results)
    assert list(tree.children) == ["Lorenz"]
    ds = chaosatlas.open("trajectories/train", results=results, group="Lorenz")
    assert ds.x.dims == ("trajectory", "time", "variable")
    ds = chaosatlas.open(results / "metrics" / "forecast.nc")
    assert "vpt" in ds
    with pytest.raises(FileNotFoundError, match="nonsense"):
        chaosatlas.open("nonsense", results=results)


def test_open_refuses_an_incomplete_store(results, tmp_path):
    import shutil

    import zarr

    from chaosatlas.schemas import ProductError

    copy = tmp_path / "train.zarr"
    shutil.copytree(results / "trajectories" / "train.zarr", copy)
    root = zarr.open_group(str(copy), mode="r+")
    del root.attrs["chaosatlas_complete"]
    with pytest.raises(ProductError, match="chaosatlas_complete"):
        chaosatlas.open(copy)
    with pytest.raises(ProductError, match="chaosatlas_complete"):
        chaosatlas.open(copy, group="Lorenz")


@pytest.fixture
def server(results):
    handler = functools.partial(
        type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None}),
        directory=str(results),
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    write_index(results)
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_open_over_http(server, results):
    local = xr.open_dataset(results / "metrics" / "forecast.nc").load()
    remote = chaosatlas.open(f"{server}/metrics/forecast.nc")
    xr.testing.assert_identical(local.drop_encoding(), remote.drop_encoding())
    inv = chaosatlas.open(f"{server}/diagnostics/invariants.nc")
    assert inv.verdict.values.astype(str).tolist() == ["chaotic", "chaotic"]
    # Zarr over HTTP: files listed in index.json
    ds = chaosatlas.open(f"{server}/trajectories/train.zarr", group="Lorenz")
    local_z = xr.open_zarr(results / "trajectories/train.zarr", group="Lorenz", consolidated=False)
    np.testing.assert_array_equal(ds.x.values, local_z.x.values)
    tree = chaosatlas.open(f"{server}/trajectories/train.zarr")
    assert list(tree.children) == ["Lorenz"]


def test_plain_xarray_over_http(server, results):
    # what someone without chaosatlas does: xarray + fsspec's HTTP file system
    ds = xr.open_dataset(f"{server}/catalogue.nc", engine="h5netcdf")
    validate_catalogue(ds.load())
    assert ds.sel(system="Lorenz").kind.item() == "flow"
    with xr.open_dataset(results / "catalogue.nc") as local:
        xr.testing.assert_identical(local.load().drop_encoding(), ds.drop_encoding())
    remote = xr.open_zarr(f"{server}/trajectories/train.zarr", group="Lorenz", consolidated=False)
    local_z = xr.open_zarr(results / "trajectories/train.zarr", group="Lorenz", consolidated=False)
    np.testing.assert_array_equal(remote.x.values, local_z.x.values)
    assert remote.attrs["system"] == "Lorenz" and remote.x.dims == (
        "trajectory",
        "time",
        "variable",
    )
    # the bytes in memory work too (no fsspec at all)
    data = urllib.request.urlopen(f"{server}/metrics/forecast.nc", timeout=30).read()
    with xr.open_dataset(io.BytesIO(data), engine="h5netcdf") as fc:
        assert "vpt" in fc
