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
from typing import Any

import numpy as np
import xarray as xr

from . import catalogue
from .catalogue.system import System
from .cluster import dask_client
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
    temporary_sibling,
    write_netcdf,
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
#: log which systems are still running when nothing finished for this long (s)
STILL_RUNNING_AFTER = 60.0


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
    if kinds:
        chosen = [n for n in chosen if catalogue.get(n).kind in kinds]
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
    """
    from distributed import wait

    local = (config.get("dask") or {}).get("cluster", "local") == "local"
    batch = max(1, RECYCLE_AFTER * max(1, threads) if local else len(names))
    done = 0
    with dask_client(config.get("dask"), threads) as client:
        for first in range(0, len(names), batch):
            if first > 0:
                client.restart()
            futures = {
                client.submit(task, *arguments(n), key=f"{what}-{n}", pure=False): n
                for n in names[first : first + batch]
            }
            pending = set(futures)
            while pending:
                try:
                    finished, pending = wait(
                        pending, timeout=STILL_RUNNING_AFTER, return_when="FIRST_COMPLETED"
                    )
                except TimeoutError:  # nothing finished for a while: say what is still running
                    running = sorted(
                        str(k).removeprefix(f"{what}-")
                        for ks in client.processing().values()
                        for k in ks
                    )
                    log.info(
                        "%s: still running after %.0f s: %s",
                        what,
                        time.perf_counter() - started,
                        ", ".join(running[:8]),
                    )
                    continue
                for future in sorted(finished, key=lambda f: futures[f]):
                    try:
                        result = future.result()
                    except Exception as exc:
                        result = exc
                    done += 1
                    _progress(done, len(names), what, started)
                    yield futures[future], result


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
            result = {
                "system": name,
                "status": "error",
                "reason": f"{type(result).__name__}: {result}",
            }
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
) -> np.ndarray:
    """Integrate trajectories ``start:stop`` of one system and write that region.

    The region is whole chunks along ``trajectory`` (one writer per chunk), so
    a rerun of this task rewrites exactly the same bytes.
    """
    import zarr

    system = catalogue.get(name, **overrides)
    x0 = ics[split][start:stop]
    _, sol = sample_trajectories(system, x0, n_points, dt, SamplingSettings(**settings))
    group = zarr.open_group(store, mode="r+", path=name)
    group["x"][start:stop] = sol.x
    group["status"][start:stop] = sol.status
    group["t_fail"][start:stop] = sol.t_fail
    group["initial_state"][start:stop] = x0
    return sol.status


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
    tmp = {split: temporary_sibling(path) for split, path in outputs.items()}
    base_attrs = provenance(config, product="trajectories")
    started = time.perf_counter()
    log.info("integrate: %d systems x %s trajectories x %d points", len(ok), counts, n_points)
    root_attrs = {
        "systems": json.dumps(ok),
        "skipped": json.dumps(skipped),
        "schema_version": SCHEMA_VERSION,
    }
    try:
        for path in tmp.values():
            zarr.open_group(str(path), mode="w", zarr_format=3)
        stores = {split: str(path) for split, path in tmp.items()}
        with dask_client(config.get("dask"), threads) as client:
            from distributed import as_completed

            futures = []
            for name in ok:
                row = rows[name]
                ov = _overrides(config, name)
                ics = client.submit(
                    prepare_system_task, name, ov, row, stores, counts, n_points, block,
                    base_attrs, sdict, seed, key=f"prepare-{name}", pure=False,
                )  # fmt: skip
                dt = float(row["dt"]) if row["kind"] != "map" else 1.0
                for split, path in stores.items():
                    for start in range(0, counts[split], block):
                        stop = min(start + block, counts[split])
                        futures.append(
                            client.submit(
                                integrate_block_task, path, name, ov, ics, split, start, stop,
                                n_points, dt, sdict, key=f"block-{split}-{name}-{start}", pure=False,
                            )
                        )  # fmt: skip
            for k, future in enumerate(as_completed(futures), start=1):
                future.result()  # a task error fails the rule; nothing is installed
                _progress(k, len(futures), "integrate", started)
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
        "integrate: wrote %s in %.1f s",
        ", ".join(str(p) for p in outputs.values()),
        time.perf_counter() - started,
    )
    return result


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
            row = {**rows[name], "status": "error", "reason": f"{type(result).__name__}: {result}"}
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
