"""Schemas of the products: pandera for NetCDF tables, structural checks for Zarr.

A failed check raises :class:`ProductError` naming the variable (and group)
that fails, so a rule fails with a message a person can act on.
"""

from __future__ import annotations

import itertools
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandera.xarray as pxr
import xarray as xr

from .products import require_complete

CATALOGUE_STATUSES = (
    "ok",
    "diverges",
    "max_steps",
    "fixed_point",
    "compile_error",
    "invalid",
    "error",
)
TRAJECTORY_STATUS_MEANINGS = "ok nonfinite diverged max_steps step_underflow bad_time_grid"
SCHEMA_VERSION = "1"


class ProductError(ValueError):
    """A product does not match its schema."""


def _is_string(da: xr.DataArray) -> bool:
    # Zarr reads strings back as StringDType ('T'), NetCDF as object ('O').
    return da.dtype.kind in "OUT"


_string = pxr.Check(_is_string, error="expected a string variable")


def _reason_where_not_ok(ds: xr.Dataset) -> bool:
    status = np.asarray(ds["status"].values).astype(str)
    reason = np.asarray(ds["reason"].values).astype(str)
    bad = (status != "ok") & (np.char.str_len(reason) == 0)
    return not bool(bad.any())


def _status_known(da: xr.DataArray) -> bool:
    return bool(np.isin(np.asarray(da.values).astype(str), CATALOGUE_STATUSES).all())


def _positive_where_ok(ds: xr.Dataset) -> bool:
    ok = np.asarray(ds["status"].values).astype(str) == "ok"
    period = np.asarray(ds["period"].values, dtype=float)
    dt = np.asarray(ds["dt"].values, dtype=float)
    return bool(np.all(np.isfinite(period[ok]) & (period[ok] > 0) & (dt[ok] > 0)))


CATALOGUE_SCHEMA = pxr.DatasetSchema(
    data_vars={
        "kind": pxr.DataVar(
            dims=("system",), checks=[_string, pxr.Check.isin(["flow", "map", "dde"])]
        ),
        "family": pxr.DataVar(dims=("system",), checks=[_string]),
        "dimension": pxr.DataVar(dtype=np.int64, dims=("system",), checks=[pxr.Check.gt(0)]),
        "n_parameters": pxr.DataVar(dtype=np.int64, dims=("system",), checks=[pxr.Check.ge(0)]),
        "parameters": pxr.DataVar(dims=("system",), checks=[_string]),
        "variables": pxr.DataVar(dims=("system",), checks=[_string]),
        "equations": pxr.DataVar(dims=("system",), checks=[_string]),
        "initial_state": pxr.DataVar(dims=("system",), checks=[_string]),
        "period": pxr.DataVar(dtype=np.float64, dims=("system",), nullable=True),
        "period_source": pxr.DataVar(dims=("system",), checks=[_string]),
        "dt": pxr.DataVar(dtype=np.float64, dims=("system",), nullable=True),
        "integrator": pxr.DataVar(dims=("system",), checks=[_string]),
        "status": pxr.DataVar(
            dims=("system",), checks=[_string, pxr.Check(_status_known, error="unknown status")]
        ),
        "reason": pxr.DataVar(dims=("system",), checks=[_string]),
        "citation": pxr.DataVar(dims=("system",), checks=[_string]),
        "description": pxr.DataVar(dims=("system",), checks=[_string]),
        "reference": pxr.DataVar(dims=("system",), checks=[_string]),
        "source_file": pxr.DataVar(dims=("system",), checks=[_string]),
    },
    coords={"system": pxr.Coordinate(checks=[_string])},
    checks=[
        pxr.Check(_reason_where_not_ok, error="a system that is not ok has no reason"),
        pxr.Check(_positive_where_ok, error="an ok system lacks a positive period/dt"),
    ],
    attrs={},
)

CATALOGUE_REQUIRED_ATTRS = (
    "chaosatlas_version",
    "git_commit",
    "config_hash",
    "creation_time",
    "schema_version",
)


def validate_with_names(schema: pxr.DatasetSchema, ds: xr.Dataset, product: str) -> None:
    """Run a pandera schema; on failure, say which variable(s) fail and how.

    pandera's own message does not always name the variable (a dtype mismatch
    reads "expected dtype int64, got float32"), so each variable is re-checked
    alone to find the culprits.
    """
    try:
        schema.validate(ds)
        return
    except Exception as exc:  # pandera's SchemaError(s)
        first = exc
    problems = []
    for name, spec in (schema.data_vars or {}).items():
        if name not in ds.variables:
            problems.append(f"missing variable {name!r}")
            continue
        single = pxr.DatasetSchema(data_vars={name: spec})
        try:
            single.validate(ds[[name]])
        except Exception as exc:
            problems.append(f"variable {name!r}: {exc}")
    if not problems:
        problems.append(str(first))
    raise ProductError(f"{product}: " + "; ".join(problems)) from first


def validate_catalogue(ds: xr.Dataset) -> xr.Dataset:
    """Validate ``results/catalogue.nc`` (as a dataset); raise :class:`ProductError`."""
    validate_with_names(CATALOGUE_SCHEMA, ds, "catalogue")
    missing = [a for a in CATALOGUE_REQUIRED_ATTRS if a not in ds.attrs]
    if missing:
        raise ProductError(f"catalogue: missing attribute(s) {', '.join(missing)}")
    if len(np.unique(ds["system"].values.astype(str))) != ds.sizes["system"]:
        raise ProductError("catalogue: coordinate 'system' has duplicate names")
    return ds


# ----------------------------------------------------------------------------- Zarr

GROUP_REQUIRED_ATTRS = (
    "system",
    "kind",
    "parameters",
    "integrator",
    "rtol",
    "atol",
    "dt",
    "period",
    "seed",
    "split",
    "chaosatlas_version",
    "config_hash",
)


def check_trajectory_group(ds: xr.Dataset, group: str) -> list[str]:
    """Problems with one system's group of a trajectory store (empty if none)."""
    problems: list[str] = []

    def bad(msg: str) -> None:
        problems.append(f"group {group!r}: {msg}")

    if "x" not in ds.data_vars:
        bad("missing variable 'x'")
        return problems
    x = ds["x"]
    if x.dims != ("trajectory", "time", "variable"):
        bad(f"variable 'x' has dims {x.dims}, expected ('trajectory', 'time', 'variable')")
    if x.dtype != np.float64:
        bad(f"variable 'x' has dtype {x.dtype}, expected float64")
    for coord in ("trajectory", "time", "time_periods", "variable"):
        if coord not in ds.coords:
            bad(f"missing coordinate {coord!r}")
    if "variable" in ds.coords and not _is_string(ds["variable"]):
        bad("coordinate 'variable' is not text")
    for name, dtype in (("status", np.int8), ("t_fail", np.float64), ("initial_state", np.float64)):
        if name not in ds.data_vars:
            bad(f"missing variable {name!r}")
        elif ds[name].dtype != dtype:
            bad(f"variable {name!r} has dtype {ds[name].dtype}, expected {np.dtype(dtype)}")
    for attr in GROUP_REQUIRED_ATTRS:
        if attr not in ds.attrs:
            bad(f"missing attribute {attr!r}")
    if problems:
        return problems
    time = ds["time"].values
    if time.size > 1 and not np.all(np.diff(time) > 0):
        bad("coordinate 'time' is not strictly increasing")
    status = ds["status"].values
    if not np.isin(status, np.arange(6)).all():
        bad(f"variable 'status' has unknown codes {sorted(set(status.tolist()) - set(range(6)))}")
    values = x.values
    ok = status == 0
    finite = np.isfinite(values).all(axis=(1, 2))
    torn = np.flatnonzero(ok & ~finite)
    if torn.size:
        bad(
            f"variable 'x' has non-finite values in {torn.size} trajectories marked ok "
            f"(first: trajectory {int(torn[0])}): unwritten or lost chunks"
        )
    return problems


def _chunk_grid(array) -> list[tuple[str, tuple[slice, ...]]]:
    """``(key, region)`` of every stored object (chunk, or shard when sharded) of a v3 array."""
    grid = array.shards or array.chunks
    counts = [-(-size // step) for size, step in zip(array.shape, grid, strict=True)]
    encode = array.metadata.chunk_key_encoding.encode_chunk_key
    out = []
    for index in itertools.product(*(range(n) for n in counts)):
        region = tuple(
            slice(i * step, min((i + 1) * step, size))
            for i, step, size in zip(index, grid, array.shape, strict=True)
        )
        out.append((encode(index), region))
    return out


def _describe(array, region: tuple[slice, ...]) -> str:
    dims = getattr(array.metadata, "dimension_names", None) or ()
    if region and dims and dims[0] == "trajectory":
        return f"trajectories {region[0].start}-{region[0].stop - 1}"
    return "index " + ", ".join(f"{r.start}:{r.stop}" for r in region)


def _missing_fill_is_wrong(name: str, fill, region, status) -> bool:
    """Whether a chunk that is absent (so reads as its fill value) breaks the product.

    Zarr does not store a chunk holding only the fill value, so an absent chunk
    is legitimate where the fill is a valid value (``t_fail`` of ok
    trajectories, ``time_periods`` without a period, a ``status`` of 0 filled
    with 0); it is lost data where the fill cannot be right.
    """
    if name in ("x", "initial_state"):  # finite wherever the trajectory is ok
        rows = status[region[0]] if status is not None else np.zeros(1)
        return bool((rows == 0).any()) and not np.isfinite(fill)
    if name == "time":
        return not np.isfinite(fill)
    if name == "status":
        return int(fill) not in range(6)
    if name == "variable":
        return str(fill) == ""
    return False


def check_trajectory_chunks(
    path: str | os.PathLike[str], group: str, status: np.ndarray | None = None
) -> list[str]:
    """Problems with the stored chunks of one group, each naming the variable and chunk key.

    A chunk file that fails to decode (a torn write; the crc32c codec catches
    any corruption) is always a problem; an absent one is where the fill value
    it then reads as cannot be right (see :func:`_missing_fill_is_wrong`).
    ``status`` (the group's, if it could be read) tells which trajectories must
    have data; without it every trajectory is taken to be ok.
    """
    import zarr

    folder = Path(path) / group
    problems: list[str] = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Object at .* is not recognized")
        arrays = sorted(zarr.open_group(str(path), mode="r", path=group).arrays())
    for name, array in arrays:
        if not hasattr(array.metadata, "chunk_key_encoding"):  # Zarr v2: not ours
            continue
        for key, region in _chunk_grid(array):
            where = f"group {group!r}: variable {name!r} chunk {key} ({_describe(array, region)})"
            if not (folder / name / key).is_file():
                if _missing_fill_is_wrong(name, array.fill_value, region, status):
                    problems.append(f"{where} is missing: it reads as the fill value")
                continue
            try:
                array[region]
            except Exception as exc:
                problems.append(f"{where} cannot be decoded: {type(exc).__name__}: {exc}")
    return problems


def _status_if_readable(root, group: str) -> np.ndarray | None:
    try:
        return np.asarray(root[f"{group}/status"][...])
    except Exception:  # torn or absent itself: every trajectory counts as ok
        return None


def check_trajectory_store(
    path: str | os.PathLike[str], require_marker: bool = True
) -> dict[str, int]:
    """Structural check of a trajectory store; returns ``{system: n_trajectories}``.

    Every chunk of every array is accounted for: a missing or undecodable chunk
    is reported with its variable and chunk key (``c/<i>/<j>/<k>``).

    Raises
    ------
    ProductError
        Listing every problem found, each naming the group and variable.
    """
    import zarr

    path = Path(path)
    problems: list[str] = []
    if require_marker:
        root = require_complete(path)
    else:
        try:
            root = zarr.open_group(str(path), mode="r")
        except Exception as exc:
            raise ProductError(f"{path}: not a Zarr store: {exc}") from exc
    systems = json.loads(root.attrs.get("systems", "[]"))
    with warnings.catch_warnings():
        # Snakemake drops a .snakemake_timestamp file into directory outputs
        warnings.filterwarnings("ignore", message="Object at .* is not recognized")
        groups = sorted(name for name, _ in root.groups())
    if sorted(systems) != groups:
        problems.append(
            f"root attribute 'systems' lists {sorted(systems)}, store has groups {groups}"
        )
    counts: dict[str, int] = {}
    for group in groups:
        try:
            ds = xr.open_zarr(str(path), group=group, consolidated=False, zarr_format=3).load()
        except Exception as exc:  # a torn chunk fails to decode (crc32c): find which
            named = check_trajectory_chunks(path, group, _status_if_readable(root, group))
            problems += named or [f"group {group!r}: cannot be read: {type(exc).__name__}: {exc}"]
            continue
        status = ds["status"].values if "status" in ds.data_vars else None
        problems += check_trajectory_chunks(path, group, status)
        problems += check_trajectory_group(ds, group)
        counts[group] = int(ds.sizes.get("trajectory", 0))
    if problems:
        raise ProductError(f"{path}:\n  " + "\n  ".join(problems))
    return counts


# ----------------------------------------------------------------------------- diagnostics


def _finite_or_nan_within(lo: float, hi: float):
    def check(da: xr.DataArray) -> bool:
        v = np.asarray(da.values, dtype=float)
        v = v[np.isfinite(v)]
        return bool(np.all((v >= lo) & (v <= hi)))

    return pxr.Check(check, error=f"values outside [{lo}, {hi}]")


def _verdict_known(da: xr.DataArray) -> bool:
    from .diagnostics.verdict import VERDICTS

    return bool(np.isin(np.asarray(da.values).astype(str), VERDICTS).all())


def _every_verdict_has_a_reason(ds: xr.Dataset) -> bool:
    reason = np.asarray(ds["reason"].values).astype(str)
    return bool((np.char.str_len(reason) > 0).all())


def _ky_within_dimension(ds: xr.Dataset) -> bool:
    ky = np.asarray(ds["kaplan_yorke_dimension"].values, dtype=float)
    dim = np.asarray(ds["dimension"].values, dtype=float)
    ok = ~np.isfinite(ky) | ((ky >= 0) & (ky <= dim + 1e-9))
    return bool(ok.all())


_float = {"dtype": np.float64, "nullable": True}
INVARIANTS_SCHEMA = pxr.DatasetSchema(
    data_vars={
        "lyapunov_exponent": pxr.DataVar(dims=("system", "exponent"), **_float),
        "lyapunov_exponent_uncertainty": pxr.DataVar(
            dims=("system", "exponent"), checks=[_finite_or_nan_within(0, np.inf)], **_float
        ),
        "mean_divergence": pxr.DataVar(dims=("system",), **_float),
        "lyapunov_averaging_time": pxr.DataVar(
            dims=("system",), checks=[_finite_or_nan_within(0, np.inf)], **_float
        ),
        "exponent_sum_mismatch": pxr.DataVar(
            dims=("system",), checks=[_finite_or_nan_within(0, np.inf)], **_float
        ),
        "kaplan_yorke_dimension": pxr.DataVar(
            dims=("system",), checks=[_finite_or_nan_within(0, np.inf)], **_float
        ),
        "pesin_sum": pxr.DataVar(
            dims=("system",), checks=[_finite_or_nan_within(0, np.inf)], **_float
        ),
        "correlation_dimension": pxr.DataVar(dims=("system",), **_float),
        "correlation_dimension_uncertainty": pxr.DataVar(dims=("system",), **_float),
        "zero_one_k": pxr.DataVar(
            dims=("system",), checks=[_finite_or_nan_within(-1.0, 1.0)], **_float
        ),
        "max_lyapunov_timeseries": pxr.DataVar(dims=("system",), **_float),
        "period": pxr.DataVar(dims=("system",), **_float),
        "dimension": pxr.DataVar(dtype=np.int32, dims=("system",), checks=[pxr.Check.ge(0)]),
        "reference_disagrees": pxr.DataVar(
            dtype=np.int8, dims=("system",), checks=[pxr.Check.isin([0, 1])]
        ),
        "kind": pxr.DataVar(dims=("system",), checks=[_string]),
        "verdict": pxr.DataVar(
            dims=("system",), checks=[_string, pxr.Check(_verdict_known, error="unknown verdict")]
        ),
        "reason": pxr.DataVar(dims=("system",), checks=[_string]),
        "lyapunov_method": pxr.DataVar(dims=("system",), checks=[_string]),
        "reference": pxr.DataVar(dims=("system",), checks=[_string]),
        "reference_check": pxr.DataVar(dims=("system",), checks=[_string]),
    },  # fmt: skip
    coords={
        "system_name": pxr.Coordinate(checks=[_string]),
        "exponent": pxr.Coordinate(dtype=np.int32),
    },
    checks=[
        pxr.Check(_every_verdict_has_a_reason, error="a verdict without a reason"),
        pxr.Check(_ky_within_dimension, error="a Kaplan-Yorke dimension outside [0, dimension]"),
    ],
)

DIAGNOSTICS_REQUIRED_ATTRS = (
    "Conventions",
    "title",
    "history",
    "source",
    *CATALOGUE_REQUIRED_ATTRS,
)


def _check_attrs(ds: xr.Dataset, product: str) -> None:
    missing = [a for a in DIAGNOSTICS_REQUIRED_ATTRS if a not in ds.attrs]
    if missing:
        raise ProductError(f"{product}: missing attribute(s) {', '.join(missing)}")
    for name, var in ds.variables.items():
        if (
            var.dtype.kind in "fi"
            and name not in ("order", "scale", "exponent")
            and "units" not in var.attrs
            and "flag_values" not in var.attrs
        ):
            raise ProductError(f"{product}: variable {name!r} has no units attribute")


def validate_invariants(ds: xr.Dataset) -> xr.Dataset:
    """Validate ``results/diagnostics/invariants.nc``; raise :class:`ProductError` naming the variable."""
    validate_with_names(INVARIANTS_SCHEMA, ds, "invariants")
    _check_attrs(ds, "invariants")
    return ds


def _entropy_schema(ds: xr.Dataset) -> pxr.DatasetSchema:
    from .diagnostics.stage import ENTROPY_MEASURES

    data_vars = {}
    for measure, (extra, _) in ENTROPY_MEASURES.items():
        dims = ("system", "variable", extra) if extra else ("system", "variable")
        bounded = "sample_entropy" not in measure
        check = (
            _finite_or_nan_within(0.0, 1.0 + 1e-9)
            if bounded
            else _finite_or_nan_within(0.0, np.inf)
        )
        data_vars[measure] = pxr.DataVar(dims=dims, checks=[check], **_float)
    return pxr.DatasetSchema(
        data_vars=data_vars,
        coords={
            "system_name": pxr.Coordinate(checks=[_string]),
            "variable_name": pxr.Coordinate(checks=[_string]),
        },
    )


def validate_entropy(ds: xr.Dataset) -> xr.Dataset:
    """Validate ``results/diagnostics/entropy.nc``; raise :class:`ProductError` naming the variable."""
    validate_with_names(_entropy_schema(ds), ds, "entropy")
    _check_attrs(ds, "entropy")
    return ds


# the statuses belong to the forecast stage; imported where used, so that importing
# the schemas does not import the stage (and the stage imports these lazily)
def _forecast_status_known(da: xr.DataArray) -> bool:
    from .forecast import FORECAST_STATUS

    return bool(np.isin(da.values.astype(str), FORECAST_STATUS).all())


def _scores_where_ok(ds: xr.Dataset) -> bool:
    from .forecast import NO_SHORT_SCORE

    scored = ~np.isin(ds["status"].values.astype(str), NO_SHORT_SCORE)
    return bool(np.all(np.isfinite(ds["smape"].values[scored])))


def _failed_windows_counted(ds: xr.Dataset) -> bool:
    n, bad = ds["n_windows"].values, ds["n_failed_windows"].values
    ok = ds["status"].values.astype(str) == "ok"
    return bool(np.all((bad >= 0) & (bad <= n)) and np.all(bad[ok] == 0))


def _censoring_consistent(ds: xr.Dataset) -> bool:
    frac = ds["vpt_censored_fraction"].values
    flag = ds["vpt_censored"].values
    known = np.isfinite(frac)
    inside = np.all((frac[known] >= 0) & (frac[known] <= 1))
    return bool(inside and np.all(flag[known] == (frac[known] > 0)) and np.all(flag[~known] == 0))


def _nonnegative_or_nan(da: xr.DataArray) -> bool:
    v = da.values
    return bool(np.all(np.isnan(v) | (v >= 0)))


_score = {"dtype": np.float64, "dims": ("model", "system"), "nullable": True}
FORECAST_SCHEMA = pxr.DatasetSchema(
    data_vars={
        **{
            name: pxr.DataVar(checks=[pxr.Check(_nonnegative_or_nan, error="negative")], **_score)
            for name in (
                "mse",
                "mae",
                "smape",
                "vpt",
                "vpt_lyapunov",
                "vpt_periods",
                "vpt_censored_fraction",
                "smape_long",
                "d_h",
                "training_seconds",
            )
        },  # fmt: skip
        **{
            name: pxr.DataVar(dtype=np.int64, dims=("model", "system"), checks=[pxr.Check.ge(0)])
            for name in ("n_windows", "n_failed_windows")
        },
        "vpt_censored": pxr.DataVar(
            dtype=np.int8, dims=("model", "system"), checks=[pxr.Check.isin([0, 1])]
        ),
        "d_stsp_floor": pxr.DataVar(dtype=np.float64, dims=("system",), nullable=True),
        "d_h_floor": pxr.DataVar(
            dtype=np.float64,
            dims=("system",),
            nullable=True,
            checks=[pxr.Check(_nonnegative_or_nan, error="negative")],
        ),  # fmt: skip
        "d_stsp": pxr.DataVar(**_score),
        "rollout_lambda1": pxr.DataVar(**_score),
        "system_lambda1": pxr.DataVar(**_score),
        "n_parameters": pxr.DataVar(
            dtype=np.int64, dims=("model", "system"), checks=[pxr.Check.ge(0)]
        ),
        "smape_by_step": pxr.DataVar(
            dtype=np.float64, dims=("model", "system", "step"), nullable=True
        ),
        "status": pxr.DataVar(
            dims=("model", "system"),
            checks=[_string, pxr.Check(_forecast_status_known, error="unknown status")],
        ),
        "reason": pxr.DataVar(dims=("model", "system"), checks=[_string]),
    },  # fmt: skip
    coords={
        "model_name": pxr.Coordinate(checks=[_string]),
        "system_name": pxr.Coordinate(checks=[_string]),
        "step": pxr.Coordinate(dtype=np.int32),
    },
    checks=[
        pxr.Check(
            _scores_where_ok, error="a scored model (status ok to rollout_failed) has no sMAPE"
        ),
        pxr.Check(
            _failed_windows_counted,
            error="n_failed_windows outside 0..n_windows, or > 0 with status ok",
        ),
        pxr.Check(_censoring_consistent, error="vpt_censored disagrees with vpt_censored_fraction"),
    ],  # fmt: skip
)


def validate_forecast(ds: xr.Dataset) -> xr.Dataset:
    """Validate ``results/metrics/forecast.nc``; raise :class:`ProductError` naming the variable."""
    validate_with_names(FORECAST_SCHEMA, ds, "forecast")
    _check_attrs(ds, "forecast")
    return ds


# ----------------------------------------------------------------------------
# Causal benchmark: data per tier, predictions per (method, tier), scores

CAUSAL_METHOD_STATUSES = ("ok", "failed", "unavailable", "skipped")
CAUSAL_REQUIRED_ATTRS = (*DIAGNOSTICS_REQUIRED_ATTRS, "convention")


def _strings_in(allowed: tuple[str, ...]):
    def check(da: xr.DataArray) -> bool:
        return bool(np.isin(np.asarray(da.values).astype(str), allowed).all())

    return pxr.Check(check, error=f"values outside {', '.join(allowed)}")


def _truth_is_binary_with_padding(ds: xr.Dataset) -> bool:
    adj = np.asarray(ds["adj_summary"].values)
    for k, n in enumerate(np.asarray(ds["n_nodes"].values, dtype=int)):
        inner = adj[k, :n, :n]
        if not np.isin(inner, (0, 1)).all() or np.diagonal(inner).any():
            return False
        outer = adj[k].copy()
        outer[:n, :n] = -1
        if not (outer == -1).all():
            return False
    return True


def _data_finite_where_ok(ds: xr.Dataset) -> bool:
    status = np.asarray(ds["status"].values).astype(str)
    x = np.asarray(ds["x"].values)
    for k, n in enumerate(np.asarray(ds["n_nodes"].values, dtype=int)):
        if status[k] in ("ok", "synchronised") and not np.isfinite(x[k, :, :n]).all():
            return False
    return True


CAUSAL_DATA_SCHEMA = pxr.DatasetSchema(
    data_vars={
        "x": pxr.DataVar(dtype=np.float32, dims=("instance", "step", "node"), nullable=True),
        "x_full": pxr.DataVar(
            dtype=np.float32, dims=("instance", "step", "node", "dim"), nullable=True
        ),
        "adj_summary": pxr.DataVar(dtype=np.int8, dims=("instance", "source", "target")),
        "adj_confounded": pxr.DataVar(dtype=np.int8, dims=("instance", "source", "target")),
        "n_nodes": pxr.DataVar(dtype=np.int64, dims=("instance",), checks=[pxr.Check.ge(2)]),
        "sync_error": pxr.DataVar(dtype=np.float64, dims=("instance",), nullable=True),
        "coupling": pxr.DataVar(dtype=np.float64, dims=("instance",), nullable=True),
        "status": pxr.DataVar(dims=("instance",), checks=[_string]),
        "reason": pxr.DataVar(dims=("instance",), checks=[_string]),
        "variant": pxr.DataVar(dims=("instance",), checks=[_string]),
    },
    checks=[
        pxr.Check(
            _truth_is_binary_with_padding,
            error="adj_summary is not 0/1 with a zero diagonal inside n_nodes and -1 outside",
        ),
        pxr.Check(_data_finite_where_ok, error="x is not finite for an ok instance"),
        pxr.Check(_reason_where_not_ok, error="an instance that is not ok has no reason"),
    ],  # fmt: skip
)


def _predictions_consistent(ds: xr.Dataset) -> bool:
    status = np.asarray(ds["status"].values).astype(str)
    score = np.asarray(ds["score"].values)
    for k, n in enumerate(np.asarray(ds["n_nodes"].values, dtype=int)):
        if status[k] == "ok":
            inner = score[k, :n, :n][~np.eye(n, dtype=bool)]
            if not np.isfinite(inner).all():
                return False
        elif np.isfinite(score[k]).any():  # a run that is not ok never carries scores
            return False
    return True


CAUSAL_PREDICTIONS_SCHEMA = pxr.DatasetSchema(
    data_vars={
        "score": pxr.DataVar(
            dtype=np.float64, dims=("instance", "source", "target"), nullable=True
        ),
        "pvalue": pxr.DataVar(
            dtype=np.float64, dims=("instance", "source", "target"), nullable=True
        ),
        "runtime_s": pxr.DataVar(dtype=np.float64, dims=("instance",), nullable=True),
        "n_nodes": pxr.DataVar(dtype=np.int64, dims=("instance",), checks=[pxr.Check.ge(2)]),
        "status": pxr.DataVar(
            dims=("instance",), checks=[_string, _strings_in(CAUSAL_METHOD_STATUSES)]
        ),
        "reason": pxr.DataVar(dims=("instance",), checks=[_string]),
    },
    checks=[
        pxr.Check(
            _predictions_consistent,
            error="an ok run lacks finite off-diagonal scores, or a run that is not ok "
            "carries scores",
        ),
        pxr.Check(_reason_where_not_ok, error="a run that is not ok has no reason"),
    ],  # fmt: skip
)


def _unit_interval_or_nan(da: xr.DataArray) -> bool:
    v = np.asarray(da.values, dtype=float)
    return bool(np.all(np.isnan(v) | ((v >= 0) & (v <= 1))))


def _headline_scored(ds: xr.Dataset) -> bool:
    # an ok run on an included graph always has AUROC and AUPRC
    ok = (np.asarray(ds["status"].values).astype(str) == "ok") & (
        np.asarray(ds["included"].values)[None, :] == 1
    )
    return bool(
        np.isfinite(ds["auroc"].values[ok]).all() and np.isfinite(ds["auprc"].values[ok]).all()
    )


_graph = {"dtype": np.float64, "dims": ("method", "graph"), "nullable": True}
_group = {"dtype": np.float64, "dims": ("method", "group"), "nullable": True}
CAUSAL_SCORES_SCHEMA = pxr.DatasetSchema(
    data_vars={
        **{
            name: pxr.DataVar(checks=[pxr.Check(_unit_interval_or_nan, error="outside [0, 1]")],
                              **_graph)
            for name in ("auroc", "auprc", "null_auprc", "f1_threshold", "f1_topk",
                         "self_loop_auroc")
        },
        "shd_threshold": pxr.DataVar(**_graph),
        "shd_topk": pxr.DataVar(**_graph),
        "runtime_s": pxr.DataVar(**_graph),
        "status": pxr.DataVar(dims=("method", "graph"),
                              checks=[_string, _strings_in((*CAUSAL_METHOD_STATUSES, "missing"))]),
        "reason": pxr.DataVar(dims=("method", "graph"), checks=[_string]),
        "included": pxr.DataVar(dtype=np.int8, dims=("graph",), checks=[pxr.Check.isin([0, 1])]),
        "n_nodes": pxr.DataVar(dtype=np.int64, dims=("graph",), checks=[pxr.Check.ge(2)]),
        "n_edges": pxr.DataVar(dtype=np.int64, dims=("graph",), checks=[pxr.Check.ge(0)]),
        **{
            name: pxr.DataVar(checks=[pxr.Check(_unit_interval_or_nan, error="outside [0, 1]")],
                              **_group)
            for name in ("auroc_mean", "auprc_mean", "auroc_pooled", "auprc_pooled",
                         "null_auprc_mean")
        },
        "auroc_sd": pxr.DataVar(**_group),
        "auprc_sd": pxr.DataVar(**_group),
        "runtime_mean": pxr.DataVar(**_group),
        "n_graphs": pxr.DataVar(dtype=np.int64, dims=("method", "group"),
                                checks=[pxr.Check.ge(0)]),
    },
    coords={
        "method_name": pxr.Coordinate(checks=[_string]),
        "tier": pxr.Coordinate(checks=[_string]),
        "variant": pxr.Coordinate(checks=[_string]),
    },
    checks=[pxr.Check(_headline_scored, error="an ok run on an included graph has no AUROC/AUPRC")],
)  # fmt: skip


def _check_causal_attrs(ds: xr.Dataset, product: str) -> None:
    missing = [a for a in CAUSAL_REQUIRED_ATTRS if a not in ds.attrs]
    if missing:
        raise ProductError(f"{product}: missing attribute(s) {', '.join(missing)}")
    if "source causes target" not in str(ds.attrs["convention"]):
        raise ProductError(f"{product}: attribute 'convention' does not state A[source, target]")


def validate_causal_data(ds: xr.Dataset) -> xr.Dataset:
    """Validate ``results/causal/{tier}.nc``; raise :class:`ProductError` naming the variable."""
    validate_with_names(CAUSAL_DATA_SCHEMA, ds, "causal data")
    _check_causal_attrs(ds, "causal data")
    return ds


def validate_causal_predictions(ds: xr.Dataset) -> xr.Dataset:
    """Validate ``results/causal/predictions/{method}/{tier}.nc``."""
    validate_with_names(CAUSAL_PREDICTIONS_SCHEMA, ds, "causal predictions")
    _check_causal_attrs(ds, "causal predictions")
    return ds


def validate_causal_scores(ds: xr.Dataset) -> xr.Dataset:
    """Validate ``results/causal/scores.nc``; raise :class:`ProductError` naming the variable."""
    validate_with_names(CAUSAL_SCORES_SCHEMA, ds, "causal scores")
    _check_causal_attrs(ds, "causal scores")
    return ds
