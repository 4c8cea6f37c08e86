"""Publishing the products: a self-describing ``index.json``, kind detection,
validation of any product file, and :func:`open` for names, paths and URLs.

``write_index(results)`` lists every NetCDF file and Zarr store under the
results folder with its kind, variables (units, dims), schema version, size,
sha256 checksum, provenance and licence. A Zarr store's checksum is the
sha256 over its files in sorted order of their relative paths (POSIX), each
fed as ``path``, a NUL byte, the 8-byte big-endian length and the bytes; files
whose name starts with a dot (e.g. Snakemake's ``.snakemake_timestamp``) are
not part of the store and are left out.

Over HTTP, :func:`open` reads a NetCDF file by downloading it into memory; a
Zarr store is downloaded file by file (the list comes from the ``index.json``
found in a parent URL) into a temporary folder and loaded into memory: that
needs no directory listing from the server, which static hosts do not give.
Plain ``xarray.open_zarr(url)`` and ``xarray.open_dataset(url,
engine="h5netcdf")`` work as well (fsspec's HTTP file system; ``aiohttp`` is a
dependency for it), where the server lists directories.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from . import __version__
from .products import REPO_ROOT, write_atomically

INDEX_NAME = "index.json"
DATA_LICENCE = "MIT"
PROVENANCE_KEYS = ("chaosatlas_version", "config_hash", "creation_time", "git_commit")
PROJECT_CITATION = (
    f"chaosatlas {__version__}: reproducible data products about chaotic dynamical "
    "systems (MIT licence)"
)

#: Short names accepted by :func:`open`, relative to the results folder.
KNOWN_NAMES = {
    "catalogue": "catalogue.nc",
    "invariants": "diagnostics/invariants.nc",
    "entropy": "diagnostics/entropy.nc",
    "entropies": "diagnostics/entropy.nc",
    "forecast": "metrics/forecast.nc",
    "causal_scores": "causal/scores.nc",
    "causal_pairs": "causal/pairs.nc",
    "causal_dags": "causal/dags.nc",
    "causal_lorenz96": "causal/lorenz96.nc",
    "train": "trajectories/train.zarr",
    "val": "trajectories/val.zarr",
    "test": "trajectories/test.zarr",
}

#: ``product`` attribute (provenance) -> kind; ``diagnostics`` is split below.
_PRODUCT_ATTR_KINDS = {
    "catalogue": "catalogue",
    "forecast": "forecast",
    "causal_data": "causal_data",
    "causal_discover": "causal_predictions",
    "causal_predictions": "causal_predictions",
    "causal_scores": "causal_scores",
    "trajectories": "trajectories",
    "trajectory": "trajectory",
}
KINDS = (
    "catalogue",
    "trajectories",
    "trajectory",
    "invariants",
    "entropy",
    "forecast",
    "causal_data",
    "causal_predictions",
    "causal_scores",
)


# ----------------------------------------------------------------------------- kinds


def _is_zarr(path: Path) -> bool:
    return path.is_dir() and (path / "zarr.json").is_file()


def _kind_from_name(path: Path) -> str | None:
    parts = path.parts
    name = path.name
    if name.endswith(".zarr"):
        return "trajectories"
    if name == "catalogue.nc":
        return "catalogue"
    if name == "invariants.nc":
        return "invariants"
    if name == "entropy.nc":
        return "entropy"
    if name == "forecast.nc":
        return "forecast"
    if len(parts) >= 3 and parts[-3] == "predictions":
        return "causal_predictions"
    if name == "scores.nc":
        return "causal_scores"
    if name in ("pairs.nc", "dags.nc", "lorenz96.nc"):
        return "causal_data"
    return None


def _kind_from_attrs(attrs: dict[str, Any], variables: set[str]) -> str | None:
    product = str(attrs.get("product", ""))
    if product == "diagnostics":
        if "lyapunov_exponent" in variables or "verdict" in variables:
            return "invariants"
        if "permutation_entropy" in variables:
            return "entropy"
        return None
    return _PRODUCT_ATTR_KINDS.get(product)


def product_kind(path: str | os.PathLike[str]) -> str:
    """The kind of a product file or store, from its ``product`` attribute, else its name.

    Raises
    ------
    ValueError
        If neither the attributes nor the file name say what it is.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    if path.is_dir():
        if not _is_zarr(path):
            raise ValueError(f"{path}: a folder that is not a Zarr store")
        import zarr

        try:
            attrs = dict(zarr.open_group(str(path), mode="r").attrs)
        except Exception:
            attrs = {}
        return _kind_from_attrs(attrs, set()) or "trajectories"
    try:
        with xr.open_dataset(path, engine="netcdf4", decode_times=False) as ds:
            kind = _kind_from_attrs(dict(ds.attrs), {str(v) for v in ds.variables})
    except Exception:
        kind = None
    kind = kind or _kind_from_name(path)
    if kind is None:
        raise ValueError(f"{path}: cannot tell which product this is (no 'product' attribute)")
    return kind


def _validators() -> dict[str, Callable[[xr.Dataset], Any]]:
    from . import schemas

    return {
        "catalogue": schemas.validate_catalogue,
        "invariants": schemas.validate_invariants,
        "entropy": schemas.validate_entropy,
        "forecast": schemas.validate_forecast,
        "causal_data": schemas.validate_causal_data,
        "causal_predictions": schemas.validate_causal_predictions,
        "causal_scores": schemas.validate_causal_scores,
        "trajectory": validate_trajectory,
    }


def validate_trajectory(ds: xr.Dataset) -> xr.Dataset:
    """Validate a one-system NetCDF written by ``chaosatlas integrate``."""
    from .schemas import ProductError, check_trajectory_group

    problems = check_trajectory_group(ds, str(ds.attrs.get("system", "?")))
    if problems:
        raise ProductError("trajectory: " + "; ".join(problems))
    return ds


def validate_product(path: str | os.PathLike[str]) -> str:
    """Detect a product's kind and run its schema or structural check; return the kind.

    Raises
    ------
    chaosatlas.schemas.ProductError
        Naming the variable (and group) that fails.
    """
    from .schemas import ProductError, check_trajectory_store

    path = Path(path)
    kind = product_kind(path)
    if kind == "trajectories":
        check_trajectory_store(path)
        return kind
    try:
        ds = xr.open_dataset(path, engine="netcdf4")
    except Exception as exc:
        raise ProductError(f"{path}: cannot be opened as NetCDF: {exc}") from exc
    with ds:
        _validators()[kind](ds.load())
    return kind


# ----------------------------------------------------------------------------- index


def _store_files(path: Path) -> list[Path]:
    out = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out += [Path(root, f) for f in files if not f.startswith(".")]
    return sorted(out, key=lambda p: p.relative_to(path).as_posix())


def checksum(path: str | os.PathLike[str]) -> str:
    """sha256 of a file, or of a Zarr store's sorted files' relative paths and bytes."""
    path = Path(path)
    h = hashlib.sha256()
    if path.is_dir():
        for f in _store_files(path):
            data = f.read_bytes()
            h.update(f.relative_to(path).as_posix().encode())
            h.update(b"\0")
            h.update(len(data).to_bytes(8, "big"))
            h.update(data)
    else:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in _store_files(path))
    return path.stat().st_size


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _describe_variables(ds: xr.Dataset) -> dict[str, dict[str, Any]]:
    out = {}
    for name, var in ds.variables.items():
        out[str(name)] = {
            "dims": [str(d) for d in var.dims],
            "dtype": str(var.dtype),
            "units": str(var.attrs["units"]) if "units" in var.attrs else None,
            "long_name": str(var.attrs.get("long_name", "")),
            "coordinate": name in ds.coords,
        }
    return out


def citation(results_dir: str | os.PathLike[str] | None = None) -> str:
    """The citation text: from ``CITATION.cff`` at the repository root if present."""
    candidates = [REPO_ROOT / "CITATION.cff"]
    if results_dir is not None:
        candidates.insert(0, Path(results_dir).resolve().parent / "CITATION.cff")
    for cff in candidates:
        if cff.is_file():
            import yaml

            try:
                doc = yaml.safe_load(cff.read_text()) or {}
            except Exception:
                return cff.read_text()
            authors = ", ".join(
                " ".join(str(a.get(k, "")) for k in ("given-names", "family-names")).strip()
                or str(a.get("name", ""))
                for a in doc.get("authors", [])
                if isinstance(a, dict)
            )
            bits = [authors, str(doc.get("title", "chaosatlas"))]
            for key in ("version", "doi", "url", "repository-code"):
                if doc.get(key):
                    bits.append(f"{key}: {doc[key]}")
            return ". ".join(b for b in bits if b)
    return PROJECT_CITATION


def _products(results: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(results):
        zarrs = sorted(d for d in dirs if d.endswith(".zarr"))
        for d in zarrs:
            yield Path(root, d)
        dirs[:] = sorted(d for d in dirs if not d.endswith(".zarr") and not d.startswith("."))
        for f in sorted(files):
            if f.endswith(".nc") and ".tmp-" not in f:
                yield Path(root, f)


def _product_name(rel: str) -> str:
    for stem in (".nc", ".zarr"):
        if rel.endswith(stem):
            rel = rel[: -len(stem)]
    return rel


def describe_product(path: Path, results: Path) -> dict[str, Any]:
    """One entry of ``index.json``."""
    rel = path.relative_to(results).as_posix()
    entry: dict[str, Any] = {
        "name": _product_name(rel),
        "path": rel,
        "format": "zarr" if path.is_dir() else "netcdf",
        "size_bytes": _size(path),
        "sha256": checksum(path),
        "licence": DATA_LICENCE,
    }
    try:
        entry["kind"] = product_kind(path)
    except ValueError:
        entry["kind"] = "unknown"
    if path.is_dir():
        import zarr

        root = zarr.open_group(str(path), mode="r")
        attrs = dict(root.attrs)
        groups = json.loads(attrs.get("systems", "[]"))
        variables: dict[str, Any] = {}
        for group in groups:
            with xr.open_zarr(str(path), group=group, consolidated=False) as ds:
                for k, v in _describe_variables(ds).items():
                    variables.setdefault(k, v)
        entry["groups"] = groups
        entry["files"] = [f.relative_to(path).as_posix() for f in _store_files(path)]
        entry["complete"] = bool(attrs.get("chaosatlas_complete", False))
    else:
        with xr.open_dataset(path, engine="netcdf4", decode_times=False) as ds:
            attrs = dict(ds.attrs)
            variables = _describe_variables(ds)
    entry["variables"] = variables
    entry["schema_version"] = str(attrs["schema_version"]) if "schema_version" in attrs else None
    entry["product_attribute"] = str(attrs.get("product", "")) or None
    entry["title"] = str(attrs.get("title", "")) or None
    entry["provenance"] = {k: str(_jsonable(attrs[k])) for k in PROVENANCE_KEYS if k in attrs}
    return entry


def build_index(results_dir: str | os.PathLike[str] = "results") -> dict[str, Any]:
    """The content of ``index.json`` (see :func:`write_index`)."""
    results = Path(results_dir)
    if not results.is_dir():
        raise FileNotFoundError(f"{results}: results folder not found")
    cite = citation(results)
    products = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Object at .* is not recognized")
        for path in _products(results):
            entry = describe_product(path, results)
            entry["citation"] = cite
            products.append(entry)
    return {
        "project": "chaosatlas",
        "chaosatlas_version": __version__,
        "index_version": "1",
        "licence": DATA_LICENCE,
        "citation": cite,
        "description": (
            "Index of the chaosatlas data products in this folder; paths are relative to it. "
            "Zarr checksum: sha256 over the store's files sorted by relative path, each fed "
            "as path, NUL, 8-byte big-endian length, bytes (dot-files excluded)."
        ),
        "products": sorted(products, key=lambda e: e["path"]),
    }


def write_index(results_dir: str | os.PathLike[str] = "results") -> Path:
    """Write ``<results>/index.json`` atomically (sorted keys, deterministic); return its path."""
    results = Path(results_dir)
    text = json.dumps(build_index(results), sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    return write_atomically(results / INDEX_NAME, lambda tmp: tmp.write_text(text))


# ----------------------------------------------------------------------------- open


def _is_url(text: str) -> bool:
    return urllib.parse.urlparse(text).scheme in ("http", "https")


def resolve(name_or_path: str | os.PathLike[str], results: str | os.PathLike[str]) -> Path:
    """A product's local path from a short name, a name relative to ``results`` or a path."""
    text = os.fspath(name_or_path)
    path = Path(text)
    if path.exists():
        return path
    base = Path(results)
    rel = KNOWN_NAMES.get(text, text)
    if rel.startswith("causal_") and rel not in KNOWN_NAMES.values():
        rel = "causal/" + rel[len("causal_") :]
    for candidate in (rel, f"{rel}.nc", f"{rel}.zarr"):
        if (base / candidate).exists():
            return base / candidate
    known = ", ".join(sorted(KNOWN_NAMES))
    raise FileNotFoundError(
        f"{text!r} is neither a path nor a product under {base} (known names: {known}, "
        "or a path relative to the results folder such as 'trajectories/train')"
    )


def _open_local(path: Path, group: str | None, **kw: Any) -> xr.Dataset | xr.DataTree:
    if path.is_dir():
        from .products import require_complete

        require_complete(path)  # a half-written store reads as NaN where nothing was written
        kw.setdefault("consolidated", False)
        if group is None:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Object at .* is not recognized")
                return xr.open_datatree(str(path), engine="zarr", **kw)
        return xr.open_zarr(str(path), group=group, **kw)
    if group is not None:
        kw["group"] = group
    return xr.open_dataset(path, **kw)


def _fetch(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
        return response.read()


def _find_index(url: str, timeout: float) -> tuple[str, dict[str, Any]]:
    """The nearest ``index.json`` above ``url`` and the entry's base URL."""
    parsed = urllib.parse.urlparse(url)
    parts = parsed.path.rstrip("/").split("/")
    for k in range(len(parts) - 1, 0, -1):
        base = parsed._replace(path="/".join(parts[:k]) + "/").geturl()
        try:
            index = json.loads(_fetch(urllib.parse.urljoin(base, INDEX_NAME), timeout))
        except Exception:
            continue
        return base, index
    raise FileNotFoundError(f"no {INDEX_NAME} found above {url}: cannot list the Zarr store")


def _open_url(url: str, group: str | None, timeout: float, **kw: Any) -> Any:
    path = urllib.parse.urlparse(url).path.rstrip("/")
    if not path.endswith(".zarr"):
        data = _fetch(url, timeout)
        if group is not None:
            kw["group"] = group
        kw.setdefault("engine", "h5netcdf")
        with xr.open_dataset(io.BytesIO(data), **kw) as ds:
            return ds.load()
    base, index = _find_index(url, timeout)
    rel = url.rstrip("/")[len(base) :]
    entries = [e for e in index.get("products", []) if e.get("path") == rel]
    if not entries:
        raise FileNotFoundError(f"{rel!r} is not listed in {base}{INDEX_NAME}")
    tmp = Path(tempfile.mkdtemp(prefix="chaosatlas-"))
    try:
        store = tmp / Path(rel).name
        for f in entries[0]["files"]:
            target = store / f
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_fetch(f"{url.rstrip('/')}/{urllib.parse.quote(f)}", timeout))
        opened = _open_local(store, group, **kw)
        return opened.load()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def open(  # noqa: A001 - chaosatlas.open, like xarray.open_dataset
    name_or_path_or_url: str | os.PathLike[str],
    *,
    results: str | os.PathLike[str] = "results",
    group: str | None = None,
    timeout: float = 60.0,
    **kw: Any,
) -> xr.Dataset | xr.DataTree:
    """Open any product by short name, path relative to ``results``, local path or URL.

    Parameters
    ----------
    name_or_path_or_url
        ``"catalogue"``, ``"invariants"``, ``"entropy"``, ``"forecast"``,
        ``"causal_scores"``, ``"causal/pairs"``, ``"trajectories/train"``,
        ``"causal/predictions/ccm/pairs"``..., a local path, or an
        ``http(s)://`` URL of a NetCDF file or Zarr store.
    results
        The results folder short names are relative to (default ``./results``).
    group
        A Zarr store's system group (``"Lorenz"``); without it a store opens as
        an ``xarray.DataTree`` with one child per system.
    **kw
        Passed on to xarray's open function.

    NetCDF over HTTP is downloaded into memory and opened with ``h5netcdf``; a
    Zarr store over HTTP is downloaded (files listed in the ``index.json`` of a
    parent URL) into a temporary folder and loaded into memory.
    """
    text = os.fspath(name_or_path_or_url)
    if _is_url(text):
        return _open_url(text, group, timeout, **kw)
    return _open_local(resolve(text, results), group, **kw)
