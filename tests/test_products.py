"""Products: schemas reject what is wrong, writes are atomic, the store check finds lost chunks."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from chaosatlas.pipeline import catalogue_dataset
from chaosatlas.products import config_hash, provenance, write_netcdf
from chaosatlas.schemas import ProductError, validate_catalogue

ROWS = [
    {
        "system": "A",
        "kind": "flow",
        "dimension": 3,
        "status": "ok",
        "period": 1.0,
        "dt": 0.03,
        "citation": "a",
    },
    {
        "system": "B",
        "kind": "map",
        "dimension": 2,
        "status": "diverges",
        "reason": "|x| > 1e8 at t=3",
        "citation": "b",
    },
]


def test_catalogue_dataset_validates():
    ds = catalogue_dataset(ROWS, {"seed": 1})
    validate_catalogue(ds)
    assert ds.attrs["config_hash"] == config_hash({"seed": 1})
    assert ds.sel(system="B").status.item() == "diverges"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda ds: ds.assign(reason=("system", np.array(["", ""], dtype=object))), "no reason"),
        (
            lambda ds: ds.assign(status=("system", np.array(["ok", "weird"], dtype=object))),
            "unknown status",
        ),
        (lambda ds: ds.assign(dimension=ds.dimension.astype(np.float32)), "dimension"),
        (lambda ds: ds.drop_vars("citation"), "citation"),
        (lambda ds: ds.assign(period=("system", np.array([np.nan, np.nan]))), "positive period"),
    ],
)
def test_catalogue_schema_rejects(mutate, message):
    ds = mutate(catalogue_dataset(ROWS, {"seed": 1}))
    with pytest.raises(ProductError, match=message):
        validate_catalogue(ds)


def test_write_netcdf_is_atomic(tmp_path):
    ds = catalogue_dataset(ROWS, {"seed": 1})
    bad = ds.assign(status=("system", np.array(["ok", "weird"], dtype=object)))
    target = tmp_path / "catalogue.nc"
    with pytest.raises(ProductError):
        write_netcdf(bad, target, validate=validate_catalogue)
    assert list(tmp_path.iterdir()) == []  # nothing half-written
    write_netcdf(ds, target, validate=validate_catalogue)
    with xr.open_dataset(target) as back:
        assert back.system.values.tolist() == ["A", "B"]
        assert back.period.encoding["_FillValue"] != back.period.encoding.get("missing_value", 0)


def test_provenance_attributes():
    attrs = provenance({"seed": 5}, integrator="dop853")
    for key in ("chaosatlas_version", "git_commit", "config_hash", "creation_time", "software"):
        assert attrs[key]
    assert attrs["integrator"] == "dop853"
