"""Writing and opening products: provenance, atomic writes, completion markers.

Every product is written to a temporary sibling path, closed, validated, and
only then moved into place (see specs/reliability.md: a killed writer must
never leave something that opens and looks complete).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import shutil
import subprocess
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from . import __version__

#: Root attribute of a Zarr store, set only once it is completely written and
#: validated (an attribute rather than a file: Zarr warns about foreign files).
COMPLETE_MARKER = "chaosatlas_complete"
REPO_ROOT = Path(__file__).resolve().parents[2]


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace, for hashing and attributes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def config_hash(config: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a config."""
    return hashlib.sha256(canonical_json(dict(config)).encode()).hexdigest()


def git_commit(root: Path = REPO_ROOT) -> str:
    """The repository's HEAD commit (with ``-dirty`` if it has changes), or ``unknown``."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def provenance(config: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, str]:
    """Attributes every product carries.

    ``creation_time`` is the only one that changes between identical runs.
    """
    import numba
    import zarr

    attrs = {
        "chaosatlas_version": __version__,
        "git_commit": git_commit(),
        "config_hash": config_hash(config or {}),
        "config": canonical_json(dict(config or {})),
        "creation_time": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "software": canonical_json(
            {
                "python": platform.python_version(),
                "numpy": np.__version__,
                "numba": numba.__version__,
                "xarray": xr.__version__,
                "zarr": zarr.__version__,
            }
        ),
    }
    for key, value in extra.items():
        attrs[key] = value if isinstance(value, str) else canonical_json(value)
    return attrs


def temporary_sibling(path: str | os.PathLike[str]) -> Path:
    """``X.tmp-<id>`` next to ``X``: same file system, so the final rename is atomic."""
    path = Path(path)
    return path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex[:12]}")


def write_atomically(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary sibling file, then rename it to ``path``.

    The temporary name ends in the final suffix (matplotlib and others pick the
    format from it). If ``write`` fails, neither path is left behind.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(final)
    tmp = tmp.with_name(tmp.name + final.suffix)
    try:
        write(tmp)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def write_netcdf(
    ds: xr.Dataset,
    path: str | os.PathLike[str],
    validate: Callable[[xr.Dataset], object] | None = None,
) -> Path:
    """Write ``ds`` to NetCDF-4 atomically, validating the file as read back.

    ``_FillValue`` is set on every floating variable so unwritten data is masked.
    ``validate`` (e.g. a pandera schema's ``validate``) runs on the dataset
    re-opened from the temporary file; the final path appears only if it passes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    encoding: dict[str, dict[str, Any]] = {}
    for name, var in {**ds.data_vars, **ds.coords}.items():
        if var.dtype.kind == "f":
            encoding[str(name)] = {"_FillValue": np.nan, "zlib": True, "complevel": 4}
        elif var.dtype.kind in "iu" and name in ds.data_vars:
            encoding[str(name)] = {"zlib": True, "complevel": 4}
    try:
        ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=encoding)
        if validate is not None:
            with xr.open_dataset(tmp, engine="netcdf4") as check:
                validate(check.load())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def install_directory(tmp: Path, final: str | os.PathLike[str]) -> Path:
    """Mark a finished Zarr store complete and move it into place, replacing an old one."""
    import zarr

    final = Path(final)
    root = zarr.open_group(str(tmp), mode="r+")
    root.attrs[COMPLETE_MARKER] = True
    if final.exists():
        old = temporary_sibling(final)
        os.replace(final, old)
        os.replace(tmp, final)
        _remove(old)
    else:
        os.replace(tmp, final)
    return final


def is_complete(path: str | os.PathLike[str]) -> bool:
    """Whether a Zarr store carries its completion marker."""
    import zarr

    try:
        return bool(zarr.open_group(str(path), mode="r").attrs.get(COMPLETE_MARKER, False))
    except Exception:
        return False


def remove_path(path: str | os.PathLike[str]) -> None:
    """Remove a file or directory if it exists."""
    _remove(Path(path))
