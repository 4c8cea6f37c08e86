"""The workflow's stages as plain functions (the Snakemake scripts only call these).

- :func:`make_catalogue`: compile and probe every selected system, write
  ``results/catalogue.nc``.
- :func:`make_trajectories`: integrate the ``ok`` systems from initial
  conditions on their attractors into ``results/trajectories/{split}.zarr``.

Both fan work out over a dask.distributed cluster (:mod:`chaosatlas.cluster`).
Task functions are module-level so workers import them, and every task is
idempotent (dask may run a task twice when a worker dies).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from . import catalogue, faults
from .catalogue.system import System
from .cluster import dask_client, killed_worker_reason, wait_for_tasks
from .integrate.attractor import (
    SamplingSettings,
    attractor_pool,
    draw_initial_conditions,
    probe_attractor,
    sample_trajectories,
)
from .products import (
    canonical_json,
    install_directory,
    provenance,
    remove_path,
    sweep_temporaries,
    temporary_sibling,
    write_netcdf,
    write_region,
)
from .schemas import (
    SCHEMA_VERSION,
    TRAJECTORY_STATUS_MEANINGS,
    check_trajectory_store,
    validate_catalogue,
)

log = logging.getLogger("chaosatlas")
SPLITS = ("train", "val", "test")
#: Systems compiled per local worker before the workers are restarted.
RECYCLE_AFTER = 30


# ----------------------------------------------------------------------------- config


def selected_systems(config: Mapping[str, Any]) -> list[str]:
    """The systems a config asks for: a list of names, or ``all`` (optionally by kind)."""
    choice = config.get("systems", "all")
    kinds = config.get("kinds")
    known = catalogue.names()
    if choice == "all":
        chosen = known
    else:
        unknown = [n for n in choice if n not in known]
        if unknown:
            raise ValueError(f"config key 'systems': unknown system(s) {', '.join(unknown)}")
        chosen = list(dict.fromkeys(choice))
    if kinds:  # from the index: building every system (sympy) only for its kind takes seconds
        of_kind = {n for k in kinds for n in catalogue.names(kind=k)}
        chosen = [n for n in chosen if n in of_kind]
    return chosen


def _overrides(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    return dict((config.get("overrides") or {}).get(name) or {})


def _settings(config: Mapping[str, Any]) -> SamplingSettings:
    return SamplingSettings.from_mapping(config.get("sampling"))


def _progress(done: int, total: int, what: str, started: float) -> None:
    if done == total or done % max(1, total // 20) == 0:
        log.info("%s: %d/%d done (%.1f s)", what, done, total, time.perf_counter() - started)


def _map_systems(
    config: Mapping[str, Any],
    threads: int,
    names: Sequence[str],
    task: Any,
    arguments: Any,
    what: str,
    started: float,
) -> Any:
    """Run ``task(*arguments(name))`` for every system on the configured cluster.

    Yields ``(name, result)`` in completion order; a task that failed (e.g. its
    worker was killed) yields its exception instead of a result. numba keeps
    what it compiled (~12 MB per system) for the life of a process, so a local
    cluster's workers are restarted every ``RECYCLE_AFTER`` systems per worker.
    A cluster that can no longer run anything raises
    :class:`~chaosatlas.cluster.ClusterStalled` (see :func:`~chaosatlas.cluster.wait_for_tasks`).
    """
    settings = config.get("dask") or {}
    local = settings.get("cluster", "local") == "local"
    batch = max(1, RECYCLE_AFTER * max(1, threads) if local else len(names))
    done = 0
    with dask_client(settings, threads) as client:
        for first in range(0, len(names), batch):
            if first > 0:
                client.restart()
            futures = {
                client.submit(task, *arguments(n), key=f"{what}-{n}", pure=False): n
                for n in faults.task_order(names[first : first + batch])
            }
            for future in wait_for_tasks(client, futures, what, settings, futures.__getitem__):
                try:
                    result = future.result()
                except Exception as exc:
                    result = exc
                done += 1
                _progress(done, len(names), what, started)
                yield futures[future], result


def _failure_reason(exc: BaseException, config: Mapping[str, Any]) -> str:
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        return killed_worker_reason(exc, config.get("dask"))
    return f"{type(exc).__name__}: {exc}"


# ----------------------------------------------------------------------------- catalogue


def probe_system_task(
    name: str, overrides: Mapping[str, Any], settings: Mapping[str, Any]
) -> dict[str, Any]:
    """Compile and probe one system; never raises (failures become a status)."""
    row: dict[str, Any] = {"system": name}
    try:
        system = catalogue.get(name, **overrides)
    except catalogue.CatalogueError as exc:
        return {**row, "status": "invalid", "reason": str(exc)}
    row.update(_static_row(system))
    faults.inject("catalogue", name)
    try:
        system.compiled  # noqa: B018 - compile (or load from cache) now
    except Exception as exc:
        return {**row, "status": "compile_error", "reason": f"{type(exc).__name__}: {exc}"}
    try:
        probe = probe_attractor(system, SamplingSettings(**settings))
    except Exception as exc:  # a kernel error must not take the catalogue down
        return {**row, "status": "error", "reason": f"{type(exc).__name__}: {exc}"}
    row.update(
        status=probe.status,
        reason=probe.reason,
        period=probe.period,
        period_source=probe.period_source,
        dt=probe.dt,
        integrator=probe.integrator,
    )
    return row


def _failed_row(name: str, config: Mapping[str, Any], reason: str) -> dict[str, Any]:
    """The catalogue row of a system whose task failed: its static columns and the reason."""
    row: dict[str, Any] = {"system": name, "status": "error", "reason": reason}
    try:
        row.update(_static_row(catalogue.get(name, **_overrides(config, name))))
    except Exception:  # pragma: no cover - the entry loaded on the worker, so it loads here
        pass
    return row


def _static_row(system: System) -> dict[str, Any]:
    return {
        "kind": system.kind,
        "family": system.family,
        "dimension": system.dim,
        "n_parameters": system.n_parameters,
        "parameters": canonical_json({**system.parameters, **system.size}),
        "variables": canonical_json(list(system.variables)),
        "equations": canonical_json(system.equation_text),
        "initial_state": canonical_json(system.initial_state.tolist()),
        "citation": system.citation,
        "description": system.description,
        "reference": canonical_json(system.reference),
        "source_file": os.path.relpath(system.source, catalogue.default_systems_dir().parents[1])
        if os.path.isabs(system.source)
        else system.source,
    }


_CATALOGUE_META = {
    "kind": ("kind of system: flow, map or dde (delay differential equation)", None),
    "family": ("family (catalogue file) of the system", None),
    "dimension": ("number of state variables", "1"),
    "n_parameters": ("number of scalar parameters", "1"),
    "parameters": ("parameter values as JSON", None),
    "variables": ("state variable names as JSON", None),
    "equations": ("equations as text (JSON mapping variable to expression)", None),
    "initial_state": ("initial state from the catalogue entry, as JSON", None),
    "period": (
        "dominant period estimated from the power spectrum",
        "system time units (iterations for maps)",
    ),
    "period_source": ("how the period was found: spectrum, hint or none", None),
    "dt": (
        "sampling interval of the stored trajectories",
        "system time units (iterations for maps)",
    ),
    "integrator": ("integration method", None),
    "status": ("outcome of compiling and probing the system", None),
    "reason": ("why the status is not ok (empty when ok)", None),
    "citation": ("literature source of the equations and parameters", None),
    "description": ("one-line description", None),
    "reference": ("literature invariants with their sources, as JSON", None),
    "source_file": ("catalogue file the entry comes from", None),
}


def catalogue_dataset(rows: Sequence[Mapping[str, Any]], config: Mapping[str, Any]) -> xr.Dataset:
    """Assemble the catalogue table from probe rows (one per system)."""
    defaults: dict[str, Any] = {
        "kind": "flow", "family": "", "dimension": 0, "n_parameters": 0, "parameters": "{}",
        "variables": "[]", "equations": "{}", "initial_state": "[]", "period": np.nan,
        "period_source": "none", "dt": np.nan, "integrator": "none", "status": "error",
        "reason": "", "citation": "", "description": "", "reference": "{}", "source_file": "",
    }  # fmt: skip
    rows = sorted(rows, key=lambda r: r["system"])
    data: dict[str, Any] = {}
    for key, default in defaults.items():
        values = [r.get(key, default) for r in rows]
        if key in ("dimension", "n_parameters"):
            arr = np.array(values, dtype=np.int64)
        elif key in ("period", "dt"):
            arr = np.array(values, dtype=np.float64)
        else:
            arr = np.array([str(v) for v in values], dtype=object)
        long_name, units = _CATALOGUE_META[key]
        attrs = {"long_name": long_name}
        if units:
            attrs["units"] = units
        data[key] = xr.DataArray(arr, dims=("system",), attrs=attrs)
    ds = xr.Dataset(
        data,
        coords={
            "system": (
                "system",
                np.array([r["system"] for r in rows], dtype=object),
                {"long_name": "system name"},
            )
        },
    )
    ds.attrs.update(
        provenance(config, product="catalogue"),
        title="chaosatlas system catalogue",
        schema_version=SCHEMA_VERSION,
        sampling=canonical_json(config.get("sampling") or {}),
        Conventions="CF-1.10",
    )
    return ds


def make_catalogue(
    config: Mapping[str, Any], output: str | os.PathLike[str], threads: int = 1
) -> xr.Dataset:
    """Compile, probe and tabulate the selected systems into ``output`` (NetCDF)."""
    names = selected_systems(config)
    settings = _settings(config).__dict__
    started = time.perf_counter()
    log.info("catalogue: probing %d systems on %d worker(s)", len(names), threads)
    rows: list[dict[str, Any]] = []
    for name, result in _map_systems(
        config, threads, names, probe_system_task,
        lambda n: (n, _overrides(config, n), settings), "catalogue", started,
    ):  # fmt: skip
        if isinstance(result, BaseException):  # KilledWorker and the like: record, go on
            result = _failed_row(name, config, _failure_reason(result, config))
        rows.append(result)
    ds = catalogue_dataset(rows, config)
    write_netcdf(ds, output, validate=validate_catalogue)
    counts = {
        s: int((ds.status.values == s).sum()) for s in np.unique(ds.status.values.astype(str))
    }
    log.info("catalogue: wrote %s (%s)", output, ", ".join(f"{v} {k}" for k, v in counts.items()))
    return ds


# ----------------------------------------------------------------------------- trajectories


def prepare_system_task(
    name: str,
    overrides: Mapping[str, Any],
    row: Mapping[str, Any],
    stores: Mapping[str, str],
    counts: Mapping[str, int],
    n_points: int,
    block: int,
    attrs: Mapping[str, Any],
    settings: Mapping[str, Any],
    seed: int,
) -> dict[str, np.ndarray]:
    """Lay out the system's group in every split's store, then draw its initial conditions.

    Runs on a worker, so the layouts of different systems proceed in parallel.
    Returns disjoint initial conditions per split, rebuilt deterministically
    from the attractor pool of the catalogue's probe.
    """
    system = catalogue.get(name, **overrides)
    sampling = SamplingSettings(**settings)
    for split, store in stores.items():
        if _laid_out(store, name, counts[split], n_points, system.dim):
            continue  # dask ran this task again (a worker died): keep what blocks wrote
        group_attrs = {**attrs, **_group_attrs(system, row, sampling, seed, split, n_points)}
        _layout_group(store, system, row, counts[split], n_points, block, group_attrs)
    pool = attractor_pool(system, float(row["period"]), sampling)
    return draw_initial_conditions(pool, counts, seed, name)


def _group_attrs(
    system: System,
    row: Mapping[str, Any],
    settings: SamplingSettings,
    seed: int,
    split: str,
    n_points: int,
) -> dict[str, Any]:
    integrator = {
        "flow": "dop853 (Dormand-Prince 8(5,3), dense output)",
        "map": "map iteration",
        "dde": "method of steps: RK4 with cubic Hermite history",
    }[system.kind]
    return {
        "system": system.name,
        "kind": system.kind,
        "family": system.family,
        "parameters": canonical_json({**system.parameters, **system.size}),
        "equations": canonical_json(system.equation_text),
        "citation": system.citation,
        "integrator": integrator,
        "rtol": settings.rtol,
        "atol": settings.atol,
        "dt": float(row["dt"]) if system.kind != "map" else 1.0,
        "period": float(row["period"]),
        "seed": seed,
        "split": split,
        "n_points": n_points,
        "transient_periods": settings.transient_periods,
        "sampling": canonical_json(settings.__dict__),
    }


def integrate_block_task(
    store: str,
    name: str,
    overrides: Mapping[str, Any],
    ics: Mapping[str, np.ndarray],
    split: str,
    start: int,
    stop: int,
    n_points: int,
    dt: float,
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """Integrate trajectories ``start:stop`` of one system and write that region.

    The region is whole chunks along ``trajectory`` (one writer per chunk;
    :func:`~chaosatlas.products.write_region` refuses anything else), so a
    rerun of this task rewrites exactly the same bytes. Returns the status
    codes and whether the region had already been written (dask runs a task
    again when the worker holding its result dies).
    """
    import zarr

    system = catalogue.get(name, **overrides)
    x0 = ics[split][start:stop]
    _, sol = sample_trajectories(system, x0, n_points, dt, SamplingSettings(**settings))
    group = zarr.open_group(store, mode="r+", path=name)
    rerun = bool((group["status"][start:stop] != -1).any())
    for key, values in (("x", sol.x), ("t_fail", sol.t_fail), ("initial_state", x0)):
        write_region(group[key], start, stop, values)
    write_region(group["status"], start, stop, sol.status)  # last: marks the region written
    faults.inject("integrate", name, start)
    return {"status": sol.status, "rerun": rerun}


def _laid_out(store: str, name: str, n_traj: int, n_points: int, dim: int) -> bool:
    """Whether a system's group is already fully laid out in ``store``."""
    import zarr

    try:
        group = zarr.open_group(store, mode="r", path=name)
        shapes = {k: group[k].shape for k in ("x", "status", "t_fail", "initial_state")}
        coords = [group[k].shape for k in ("trajectory", "time", "time_periods", "variable")]
    except (KeyError, FileNotFoundError, zarr.errors.GroupNotFoundError):
        return False
    return shapes["x"] == (n_traj, n_points, dim) and len(coords) == 4


def _layout_group(
    store: str,
    system: System,
    row: Mapping[str, Any],
    n_traj: int,
    n_points: int,
    block: int,
    attrs: Mapping[str, Any],
) -> None:
    import dask.array as da
    from zarr.codecs import Crc32cCodec, ZstdCodec

    dt = float(row["dt"]) if system.kind != "map" else 1.0
    period = float(row["period"])
    time = np.arange(n_points) * dt
    chunks_traj = max(1, min(block, n_traj))
    ds = xr.Dataset(
        {
            "x": (("trajectory", "time", "variable"), da.full((n_traj, n_points, system.dim), np.nan, chunks=(chunks_traj, n_points, system.dim))),
            "status": (("trajectory",), da.full((n_traj,), -1, dtype=np.int8, chunks=chunks_traj)),
            "t_fail": (("trajectory",), da.full((n_traj,), np.nan, chunks=chunks_traj)),
            "initial_state": (("trajectory", "variable"), da.full((n_traj, system.dim), np.nan, chunks=(chunks_traj, system.dim))),
        },
        coords={
            "trajectory": ("trajectory", np.arange(n_traj, dtype=np.int64)),
            "time": ("time", time, {"long_name": "time since the initial condition", "units": "iterations" if system.kind == "map" else "system time units"}),
            "time_periods": ("time", time / period if np.isfinite(period) and period > 0 else np.full(n_points, np.nan), {"long_name": "time in dominant periods", "units": "1"}),
            "variable": ("variable", np.array(system.variables, dtype=object)),
        },
    )  # fmt: skip
    ds["x"].attrs.update(long_name=f"state of {system.name}")
    ds["status"].attrs.update(
        long_name="integration status per trajectory",
        flag_values=np.arange(6, dtype=np.int8),
        flag_meanings=TRAJECTORY_STATUS_MEANINGS,
    )
    ds["t_fail"].attrs.update(long_name="time of failure (NaN when ok)")
    ds["initial_state"].attrs.update(long_name="initial condition on the attractor")
    ds.attrs.update(attrs)
    codecs = (ZstdCodec(level=3), Crc32cCodec())
    encoding = {
        "x": {"compressors": codecs, "fill_value": np.nan},
        "t_fail": {"compressors": codecs, "fill_value": np.nan},
        "initial_state": {"compressors": codecs, "fill_value": np.nan},
        "status": {"compressors": codecs, "fill_value": -1},
    }
    ds.to_zarr(
        store,
        group=system.name,
        mode="w",
        compute=False,
        consolidated=False,
        zarr_format=3,
        encoding=encoding,
    )


def make_trajectories(
    config: Mapping[str, Any],
    catalogue_path: str | os.PathLike[str],
    outputs: Mapping[str, str | os.PathLike[str]],
    threads: int = 1,
) -> dict[str, dict[str, int]]:
    """Integrate every ``ok`` system of the catalogue into one Zarr store per split.

    Parameters
    ----------
    config : mapping
        The workflow config (``integration``, ``sampling``, ``seed``, ``dask``).
    catalogue_path : path
        ``results/catalogue.nc``.
    outputs : mapping
        Split name -> store path, e.g. ``{"train": "results/trajectories/train.zarr", ...}``.
    """
    import zarr

    integ = dict(config.get("integration") or {})
    counts = {
        s: int(n)
        for s, n in (integ.get("trajectories") or {"train": 8, "val": 2, "test": 2}).items()
    }
    if set(outputs) != set(counts):
        raise ValueError(
            f"outputs {sorted(outputs)} do not match integration.trajectories {sorted(counts)}"
        )
    n_points = int(integ.get("n_points", 2048))
    block = int(integ.get("block_size", 4))
    seed = int(config["seed"])
    settings = _settings(config)
    sdict = settings.__dict__
    with xr.open_dataset(catalogue_path, engine="netcdf4") as cat:
        cat = cat.load()
    rows = {
        str(s): {k: cat[k].values[i].item() if hasattr(cat[k].values[i], "item") else cat[k].values[i] for k in ("status", "reason", "period", "dt", "kind")}
        for i, s in enumerate(cat.system.values)
    }  # fmt: skip
    ok = [s for s, r in rows.items() if r["status"] == "ok"]
    skipped = {s: f"{r['status']}: {r['reason']}" for s, r in rows.items() if r["status"] != "ok"}
    for path in outputs.values():
        sweep_temporaries(path)  # stores left by a run that was killed
    tmp = {split: temporary_sibling(path) for split, path in outputs.items()}
    base_attrs = provenance(config, product="trajectories")
    started = time.perf_counter()
    log.info("integrate: %d systems x %s trajectories x %d points", len(ok), counts, n_points)
    try:
        for path in tmp.values():
            zarr.open_group(str(path), mode="w", zarr_format=3)
        stores = {split: str(path) for split, path in tmp.items()}
        failed = _integrate_on_cluster(
            config, threads, ok, rows, stores, counts, n_points, block, base_attrs, sdict, seed
        )
        for name, reason in failed.items():  # what a store holds is complete, or absent
            skipped[name] = f"integration failed: {reason}"
            for path in tmp.values():
                remove_path(Path(path) / name)
        done = [s for s in ok if s not in failed]
        root_attrs = {
            "systems": json.dumps(done),
            "skipped": json.dumps(dict(sorted(skipped.items()))),
            "schema_version": SCHEMA_VERSION,
        }
        # Root attributes last: creating groups in parallel may touch the root metadata.
        for split, path in tmp.items():
            root = zarr.open_group(str(path), mode="r+")
            root.attrs.update(
                {
                    **base_attrs,
                    **root_attrs,
                    "split": split,
                    "title": f"chaosatlas trajectories ({split} split)",
                }
            )
        result: dict[str, dict[str, int]] = {}
        for split, path in tmp.items():
            result[split] = check_trajectory_store(path, require_marker=False)
        for split, path in tmp.items():
            install_directory(path, outputs[split])
    finally:
        for path in tmp.values():
            remove_path(path)
    log.info(
        "integrate: wrote %s in %.1f s (%d systems, %d failed)",
        ", ".join(str(p) for p in outputs.values()),
        time.perf_counter() - started,
        len(done),
        len(failed),
    )
    return result


def _integrate_on_cluster(
    config: Mapping[str, Any],
    threads: int,
    names: Sequence[str],
    rows: Mapping[str, Mapping[str, Any]],
    stores: Mapping[str, str],
    counts: Mapping[str, int],
    n_points: int,
    block: int,
    base_attrs: Mapping[str, Any],
    sdict: Mapping[str, Any],
    seed: int,
) -> dict[str, str]:
    """Lay out and integrate every system on the cluster; returns ``{system: reason}`` of failures.

    A task that fails (its worker died four times: a poison system, or an
    exception) fails its system only: the system's other tasks are cancelled
    and the remaining systems go on.
    """
    settings = config.get("dask") or {}
    futures: dict[Any, tuple[str, str]] = {}
    failed: dict[str, str] = {}
    started = time.perf_counter()
    with dask_client(settings, threads) as client:
        prepared = {}
        for name in faults.task_order(list(names)):
            prepared[name] = client.submit(
                prepare_system_task, name, _overrides(config, name), rows[name], stores, counts,
                n_points, block, base_attrs, sdict, seed, key=f"prepare-{name}", pure=False,
            )  # fmt: skip
            futures[prepared[name]] = (name, "prepare")
        blocks = [
            (name, split, path, start)
            for name in names
            for split, path in stores.items()
            for start in range(0, counts[split], block)
        ]
        for name, split, path, start in faults.task_order(blocks):
            row = rows[name]
            dt = float(row["dt"]) if row["kind"] != "map" else 1.0
            stop = min(start + block, counts[split])
            key = f"block-{split}-{name}-{start}"
            future = client.submit(
                integrate_block_task, path, name, _overrides(config, name), prepared[name],
                split, start, stop, n_points, dt, sdict, key=key, pure=False,
            )  # fmt: skip
            futures[future] = (name, key)
        n_blocks = sum(1 for _, what in futures.values() if what != "prepare")
        k = 0
        label = lambda f: futures[f][1]  # noqa: E731
        for future in wait_for_tasks(client, futures, "integrate", settings, label):
            name, what = futures[future]
            if name in failed:
                continue  # cancelled, or a sibling task of a system that already failed
            try:
                result = future.result()
            except Exception as exc:
                failed[name] = f"{what}: {_failure_reason(exc, config)}"
                log.warning("integrate: %s failed, going on without it: %s", name, failed[name])
                for other, (n, _) in futures.items():
                    if n == name:
                        other.cancel()
                continue
            if what == "prepare":
                continue
            if result["rerun"]:
                log.warning(
                    "integrate: task %s ran again (a worker died after it wrote its region); "
                    "the region was rewritten with the same values",
                    what,
                )
            k += 1
            _progress(k, n_blocks, "integrate", started)
    return failed


# ----------------------------------------------------------------------------- diagnostics


def diagnose_system_task(
    name: str,
    overrides: Mapping[str, Any],
    row: Mapping[str, Any],
    diagnostics: Mapping[str, Any],
    sampling: Mapping[str, Any],
    seed: int,
) -> Any:
    """Invariants, verdict and entropies of one system; never raises."""
    from .diagnostics.stage import DiagnosticsSettings, diagnose_system, not_diagnosed

    try:
        system = catalogue.get(name, **overrides)
    except Exception:
        system = None
    if system is None or row.get("status") != "ok":
        return not_diagnosed(row, name, system)
    faults.inject("diagnostics", name)
    return diagnose_system(
        system, row, DiagnosticsSettings(**diagnostics), SamplingSettings(**sampling), seed
    )


def make_diagnostics(
    config: Mapping[str, Any],
    catalogue_path: str | os.PathLike[str],
    invariants_path: str | os.PathLike[str],
    entropy_path: str | os.PathLike[str],
    threads: int = 1,
) -> tuple[xr.Dataset, xr.Dataset]:
    """Compute invariants and entropies of every catalogued system; write both NetCDF products."""
    from .diagnostics.stage import (
        DiagnosticsSettings,
        entropy_dataset,
        invariants_dataset,
        not_diagnosed,
    )
    from .schemas import validate_entropy, validate_invariants

    settings = DiagnosticsSettings.from_mapping(config.get("diagnostics"))
    sdict = _settings(config).__dict__
    seed = int(config["seed"])
    with xr.open_dataset(catalogue_path, engine="netcdf4") as cat:
        cat = cat.load()
    rows = {}
    for i, s in enumerate(cat.system.values.astype(str)):
        rows[s] = {k: cat[k].values[i].item() if hasattr(cat[k].values[i], "item") else cat[k].values[i] for k in ("status", "reason", "period", "dt", "kind", "dimension")}  # fmt: skip
    started = time.perf_counter()
    log.info("diagnostics: %d systems on %d worker(s)", len(rows), threads)
    results = []
    for name, result in _map_systems(
        config, threads, list(rows), diagnose_system_task,
        lambda n: (n, _overrides(config, n), rows[n], settings.__dict__, sdict, seed), "diagnostics", started,
    ):  # fmt: skip
        if isinstance(result, BaseException):  # a killed worker: record it, go on
            row = {**rows[name], "status": "error", "reason": _failure_reason(result, config)}
            result = not_diagnosed(row, name, None)
        results.append(result)
    attrs = {
        **provenance(config, product="diagnostics"),
        "Conventions": "CF-1.10",
        "history": f"created by chaosatlas {__import__('chaosatlas').__version__} (rule diagnostics)",
        "source": "chaosatlas: numerical integration of the catalogue's equations",
        "schema_version": SCHEMA_VERSION,
        "diagnostics": canonical_json(settings.__dict__),
    }
    inv = invariants_dataset(
        results,
        {
            **attrs,
            "title": "chaosatlas invariants: Lyapunov spectra, dimensions, 0-1 test, verdicts",
        },
    )
    ent = entropy_dataset(
        results, {**attrs, "title": "chaosatlas entropy diagnostics per system and variable"}
    )
    write_netcdf(inv, invariants_path, validate=validate_invariants)
    write_netcdf(ent, entropy_path, validate=validate_entropy)
    verdicts = {
        v: int((inv.verdict.values == v).sum()) for v in np.unique(inv.verdict.values.astype(str))
    }
    log.info("diagnostics: wrote %s and %s (%s)", invariants_path, entropy_path, verdicts)
    return inv, ent
