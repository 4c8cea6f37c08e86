"""Writing and opening products: provenance, atomic writes, completion markers.

Every product is written to a temporary sibling path, closed, validated, and
only then moved into place (see specs/reliability.md: a killed writer must
never leave something that opens and looks complete).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import hashlib
import json
import os
import platform
import re
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


#: Hex digits of a temporary's id (``X.tmp-<id>``).
_TMP_ID_LENGTH = 12


def temporary_sibling(path: str | os.PathLike[str]) -> Path:
    """``X.tmp-<id>`` next to ``X``: same file system, so the final rename is atomic."""
    path = Path(path)
    return path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex[:_TMP_ID_LENGTH]}")


def sweep_temporaries(final_path: str | os.PathLike[str]) -> list[Path]:
    """Remove temporaries a killed writer of ``final_path`` left next to it.

    Only siblings named exactly ``<name>.tmp-<id>`` or ``<name>.tmp-<id><suffix>``
    (``<id>`` the 12 hex digits of :func:`temporary_sibling`, ``<suffix>`` the
    final suffix, as :func:`write_atomically` names them) are removed, files
    or directories; temporaries of other names in the folder are left alone.
    Call it only where one writer owns ``final_path`` (a Snakemake job): it
    would also remove a concurrent writer's temporary, which then fails loudly
    at its rename.

    Parameters
    ----------
    final_path : path
        The product's final path (it need not exist).

    Returns
    -------
    list of pathlib.Path
        The temporaries removed.
    """
    final = Path(final_path)
    pattern = re.compile(
        re.escape(final.name)
        + rf"\.tmp-[0-9a-f]{{{_TMP_ID_LENGTH}}}"
        + (f"(?:{re.escape(final.suffix)})?" if final.suffix else "")
    )
    try:
        entries = list(os.scandir(final.parent))
    except FileNotFoundError:
        return []
    removed = []
    for entry in entries:
        if pattern.fullmatch(entry.name):
            try:
                _remove(Path(entry.path))
            except FileNotFoundError:  # removed meanwhile
                continue
            removed.append(Path(entry.path))
    return removed


def cannot_write(exc: OSError, path: str | os.PathLike[str]) -> OSError:
    """``exc`` again, its message naming the product ``path`` (errno, and so the subclass, kept).

    The error of a writer names the temporary it was writing, or nothing
    (netCDF4 reports a full disk as "NetCDF: HDF error"); a person needs the
    product's path.
    """
    reason = exc.strerror or str(exc) or type(exc).__name__
    # netCDF4 reports a full disk on creating a file as "Permission denied"
    note = "" if exc.errno == errno.ENOSPC else _full_disk_note(Path(path).parent)
    message = f"cannot write {path}: {reason}{note}"
    return OSError(exc.errno, message) if exc.errno is not None else OSError(message)


def _free_bytes(folder: Path) -> int | None:
    try:
        st = os.statvfs(folder)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


#: Less free space than this where a write failed: the disk is taken to be full.
_FULL_DISK_BYTES = 1 << 20


def _full_disk_note(folder: Path) -> str:
    free = _free_bytes(folder)
    if free is None or free >= _FULL_DISK_BYTES:
        return ""
    return f" (the file system has {free} bytes free: no space left on device?)"


def write_atomically(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary sibling file, then rename it to ``path``.

    The temporary name ends in the final suffix (matplotlib and others pick the
    format from it). If ``write`` fails, neither path is left behind.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    sweep_temporaries(final)  # left by a writer killed before its cleanup ran
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
    Temporaries of ``path`` left by a killed writer are removed first.

    Raises
    ------
    OSError
        When the file cannot be written (read-only or full file system, ...),
        naming ``path``; a full disk is ``errno.ENOSPC``. Nothing is left at
        ``path`` (an old file there is unchanged) and no temporary remains.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sweep_temporaries(path)
    except OSError as exc:
        raise cannot_write(exc, path) from exc
    tmp = temporary_sibling(path)
    encoding: dict[str, dict[str, Any]] = {}
    for name, var in {**ds.data_vars, **ds.coords}.items():
        if var.dtype.kind == "f":
            encoding[str(name)] = {"_FillValue": np.nan, "zlib": True, "complevel": 4}
        elif var.dtype.kind in "iu" and name in ds.data_vars:
            encoding[str(name)] = {"zlib": True, "complevel": 4}
    try:
        try:
            ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=encoding)
        except OSError as exc:
            raise cannot_write(exc, path) from exc
        except RuntimeError as exc:
            # netCDF4 reports a failed flush at close (a full disk) as "NetCDF: HDF error"
            if _full_disk_note(path.parent):
                full = OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} (netCDF4: {exc})")
                raise cannot_write(full, path) from exc
            raise RuntimeError(f"cannot write {path}: {exc}") from exc
        if validate is not None:
            with xr.open_dataset(tmp, engine="netcdf4") as check:
                validate(check.load())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            # A failed nc_close leaks netCDF-C's handle on the file, which would
            # hold its blocks until the process exits: truncating frees them now.
            with contextlib.suppress(OSError):
                os.truncate(tmp, 0)
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


def require_complete(path: str | os.PathLike[str]) -> Any:
    """Open a Zarr store's root group, refusing a store without its completion marker.

    Every reader of a trajectory store goes through this (directly or via
    :func:`open_trajectories`): ``snakemake --keep-incomplete`` can record a
    half-written ``directory()`` output as done (snakemake #3808), and such a
    store opens without error, its unwritten chunks reading as NaN.

    Returns
    -------
    zarr.Group
        The root group, opened read-only.

    Raises
    ------
    FileNotFoundError
        When nothing is at ``path``.
    chaosatlas.schemas.ProductError
        When ``path`` is not a Zarr store or lacks the root attribute
        :data:`COMPLETE_MARKER`; the message names both.
    """
    import zarr

    from .schemas import ProductError

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such Zarr store")
    try:
        root = zarr.open_group(str(path), mode="r")
    except Exception as exc:
        raise ProductError(f"{path}: not a Zarr store: {exc}") from exc
    if not root.attrs.get(COMPLETE_MARKER, False):
        raise ProductError(
            f"{path}: root attribute {COMPLETE_MARKER!r} is not set: the store is incomplete "
            "(its writer failed or was killed, or a run with --keep-incomplete kept it); "
            "delete it and rerun"
        )
    return root


def open_trajectories(path: str | os.PathLike[str], group: str) -> xr.Dataset:
    """One system's group of a complete trajectory store, opened lazily.

    Raises
    ------
    FileNotFoundError
        When there is no store at ``path`` or it has no group ``group``.
    chaosatlas.schemas.ProductError
        When the store is incomplete (see :func:`require_complete`) or the
        group cannot be opened.
    """
    from .schemas import ProductError

    root = require_complete(path)
    if group not in root:
        raise FileNotFoundError(f"{path}: no group for system {group!r}")
    try:
        return xr.open_zarr(str(path), group=group, consolidated=False)
    except Exception as exc:
        raise ProductError(f"{path}: group {group!r} cannot be opened: {exc}") from exc


def write_region(array: Any, start: int, stop: int, values: Any) -> None:
    """Write ``values`` to rows ``start:stop`` (axis 0) of a Zarr array, whole chunks only.

    Two writers sharing a chunk (or a shard) lose data in read-modify-write
    races (zarr-python #3682/#3514), and a rerun of a task that wrote part of
    a chunk is not idempotent; so the region must start and stop on the
    boundaries of the array's storage units along axis 0 (its shards when
    sharded, else its chunks). ``stop`` may also be the array's length.

    Parameters
    ----------
    array : zarr.Array
        A Zarr v3 array, opened for writing.
    start, stop : int
        The region along axis 0, ``0 <= start < stop <= array.shape[0]``.
    values : array_like
        Of shape ``(stop - start, *array.shape[1:])``.

    Raises
    ------
    ValueError
        Before anything is written, when the region is out of range, not
        aligned, or ``values`` has the wrong shape.
    """
    shape = tuple(array.shape)
    if not shape:
        raise ValueError("write_region: a 0-d array has no axis 0")
    start, stop, n = int(start), int(stop), shape[0]
    if not 0 <= start < stop <= n:
        raise ValueError(f"write_region: region {start}:{stop} is not within 0:{n}")
    shards = getattr(array, "shards", None)
    unit = int(shards[0]) if shards is not None else int(array.chunks[0])
    if shards is not None:
        what = f"shard size {unit} (chunks of {array.chunks[0]})"
    else:
        what = f"chunk size {unit}"
    if start % unit or (stop % unit and stop != n):
        raise ValueError(
            f"write_region: region {start}:{stop} of {array.path or 'array'} is not aligned "
            f"to its {what} along axis 0 (length {n}): a partial chunk or shard would be "
            "rewritten by read-modify-write"
        )
    values = np.asarray(values)
    expected = (stop - start, *shape[1:])
    if values.shape != expected:
        raise ValueError(
            f"write_region: values of shape {values.shape} for region {start}:{stop}, "
            f"expected {expected}"
        )
    array[start:stop] = values


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
