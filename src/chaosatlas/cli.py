"""The ``chaosatlas`` command line: list, show, integrate, validate, publish, open.

Exit codes: 0 success, 1 a product failed its check (or a command failed),
2 a usage error (unknown system, missing file, bad arguments).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__


class _Quiet:
    def advance(self, label: str) -> None:
        pass


@contextlib.contextmanager
def _progress(total: int, description: str, quiet: bool) -> Iterator[Any]:
    """A rich progress bar on stderr with named stages (nothing when quiet)."""
    if quiet:
        yield _Quiet()
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    with progress:
        task = progress.add_task(description, total=total, stage="")

        class _Bar:
            def advance(self, label: str) -> None:
                progress.update(task, advance=1, stage=label)

        bar = _Bar()
        progress.update(task, stage="starting")
        yield bar


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


# ----------------------------------------------------------------------------- list / show


def cmd_list(args: argparse.Namespace) -> int:
    from . import catalogue

    for name in catalogue.names(kind=args.kind):
        system = catalogue.get(name)
        print(f"{name}\t{system.kind}\t{system.dim}")
    return 0


def _system(name: str):
    from . import catalogue

    try:
        return catalogue.get(name)
    except KeyError as exc:
        import difflib

        close = difflib.get_close_matches(name, catalogue.names(), n=3)
        hint = f" (close: {', '.join(close)})" if close and "did you mean" not in str(exc) else ""
        _error((exc.args[0] if exc.args else f"no system named {name!r}") + hint)
        return None


def cmd_show(args: argparse.Namespace) -> int:
    import yaml

    system = _system(args.name)
    if system is None:
        return 2
    facts = {
        "name": system.name,
        "kind": system.kind,
        "family": system.family,
        "dimension": system.dim,
        "variables": list(system.variables),
        "parameters": {k: _plain(v) for k, v in system.parameters.items()},
        "equations": dict(system.equation_text),
        "initial_state": [float(v) for v in np.asarray(system.initial_state).ravel()],
        "citation": system.citation,
        "description": system.description,
        "source": system.source,
    }
    if system.size:
        facts["size"] = dict(system.size)
    if system.period_hint is not None:
        facts["period_hint"] = float(system.period_hint)
    if system.dt_hint is not None:
        facts["dt_hint"] = float(system.dt_hint)
    if system.reference:
        facts["reference"] = _plain(system.reference)
    print(yaml.safe_dump(facts, sort_keys=False, allow_unicode=True, width=100), end="")
    return 0


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda o: np.asarray(o).tolist()))


# ----------------------------------------------------------------------------- integrate


def _time_grid(system: Any, t_end: float | None, points: int) -> np.ndarray:
    if system.kind == "map":
        end = int(t_end) if t_end is not None else points - 1
        t = np.unique(np.round(np.linspace(0, end, points)))
        return t.astype(np.float64)
    if t_end is None:
        t_end = 50.0 * float(system.period_hint) if system.period_hint else 100.0
    return np.linspace(0.0, float(t_end), points)


def integration_dataset(
    name: str,
    *,
    t_end: float | None = None,
    points: int = 2048,
    seed: int | None = None,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    progress: Any = None,
):
    """Integrate one system from its catalogue initial state (perturbed by ``seed``)."""
    import xarray as xr

    from . import catalogue
    from .integrate.solve import solve
    from .products import canonical_json, provenance
    from .schemas import SCHEMA_VERSION, TRAJECTORY_STATUS_MEANINGS

    progress = progress or _Quiet()
    system = catalogue.get(name)
    x0 = np.asarray(system.initial_state, dtype=np.float64).copy()
    if seed is not None:
        rng = np.random.default_rng(seed)
        x0 = x0 + 1e-3 * np.maximum(1.0, np.abs(x0)) * rng.standard_normal(x0.shape)
    t = _time_grid(system, t_end, points)
    system.compiled  # noqa: B018 - compile (or load from cache) before timing the solve
    progress.advance("compiled")
    sol = solve(system, x0[None, :], t, rtol=rtol, atol=atol)
    progress.advance(f"integrated ({sol.status_names[0]})")
    period = float(system.period_hint) if system.period_hint else float("nan")
    dt = float(t[1] - t[0]) if t.size > 1 else float("nan")
    config = {
        "system": name,
        "t_end": float(t[-1]),
        "points": int(t.size),
        "seed": seed,
        "rtol": rtol,
        "atol": atol,
    }
    ds = xr.Dataset(
        {
            "x": (("trajectory", "time", "variable"), sol.x.astype(np.float64),
                  {"long_name": f"state of {name}"}),
            "status": (("trajectory",), sol.status.astype(np.int8),
                       {"long_name": "integration status per trajectory",
                        "flag_values": np.arange(6, dtype=np.int8),
                        "flag_meanings": TRAJECTORY_STATUS_MEANINGS}),
            "t_fail": (("trajectory",), sol.t_fail.astype(np.float64),
                       {"long_name": "time of failure (NaN when ok)"}),
            "initial_state": (("trajectory", "variable"), x0[None, :],
                              {"long_name": "initial condition"}),
        },
        coords={
            "trajectory": ("trajectory", np.arange(1, dtype=np.int64)),
            "time": ("time", t, {"long_name": "time since the initial condition",
                                 "units": "iterations" if system.kind == "map"
                                 else "system time units"}),
            "time_periods": ("time", t / period, {"long_name": "time in dominant periods",
                                                  "units": "1"}),
            "variable": ("variable", np.array(system.variables, dtype=object)),
        },
    )  # fmt: skip
    ds.attrs.update(
        provenance(config, product="trajectory"),
        title=f"chaosatlas integration of {name}",
        schema_version=SCHEMA_VERSION,
        system=name,
        kind=system.kind,
        family=system.family,
        parameters=canonical_json({**system.parameters, **system.size}),
        equations=canonical_json(system.equation_text),
        citation=system.citation,
        integrator=sol.method,
        rtol=rtol,
        atol=atol,
        dt=dt,
        period=period,
        seed=-1 if seed is None else int(seed),
        split="cli",
        reason=sol.reasons[0],
    )
    return ds


def write_integration(ds: Any, out: Path, fmt: str) -> Path:
    """Write an integration atomically (NetCDF via write_netcdf; Zarr as a one-group store).

    Raises
    ------
    OSError
        When ``out`` cannot be written (a full or read-only file system),
        naming ``out``; nothing is left at ``out`` and no temporary remains.
    """
    if fmt == "netcdf":
        from .products import write_netcdf
        from .publish import validate_trajectory

        return write_netcdf(ds, out, validate=validate_trajectory)
    from .products import cannot_write

    try:
        return _write_zarr_integration(ds, out)
    except OSError as exc:
        raise cannot_write(exc, out) from exc


def _write_zarr_integration(ds: Any, out: Path) -> Path:
    import zarr

    from .products import install_directory, remove_path, sweep_temporaries, temporary_sibling
    from .schemas import check_trajectory_store

    name = str(ds.attrs["system"])
    out.parent.mkdir(parents=True, exist_ok=True)
    sweep_temporaries(out)  # left by a killed earlier run
    tmp = temporary_sibling(out)
    try:
        ds.to_zarr(str(tmp), group=name, mode="w", consolidated=False, zarr_format=3)
        root = zarr.open_group(str(tmp), mode="r+")
        root_attrs = {
            k: v
            for k, v in ds.attrs.items()
            if k in ("chaosatlas_version", "git_commit", "config_hash", "config",
                     "creation_time", "software", "schema_version")
        }  # fmt: skip
        root.attrs.update(
            {
                **root_attrs,
                "product": "trajectories",
                "title": f"chaosatlas integration of {name}",
                "systems": json.dumps([name]),
                "skipped": "{}",
                "split": "cli",
            }
        )
        check_trajectory_store(tmp, require_marker=False)
        install_directory(tmp, out)
    finally:
        remove_path(tmp)
    return out


def cmd_integrate(args: argparse.Namespace) -> int:
    if _system(args.name) is None:
        return 2
    out = Path(args.out)
    fmt = args.format or ("zarr" if out.suffix == ".zarr" else "netcdf")
    with _progress(3, f"integrate {args.name}", args.quiet) as bar:
        ds = integration_dataset(
            args.name, t_end=args.t_end, points=args.points, seed=args.seed, progress=bar
        )
        try:
            write_integration(ds, out, fmt)
        except OSError as exc:  # its message names the path
            _error(str(exc))
            return 1
        bar.advance(f"wrote {out}")
    status = int(ds["status"].values[0])
    if not args.quiet:
        print(f"{out}: {args.name}, {ds.sizes['time']} points, {fmt}"
              + (f" (status {status}: {ds.attrs['reason']})" if status else ""))  # fmt: skip
    return 0


# ----------------------------------------------------------------------------- products


def cmd_validate(args: argparse.Namespace) -> int:
    from .publish import validate_product
    from .schemas import ProductError

    code = 0
    for path in args.paths:
        try:
            kind = validate_product(path)
        except FileNotFoundError as exc:
            _error(str(exc))
            code = max(code, 2)
            continue
        except ProductError as exc:
            print(f"invalid: {path}: {exc}", file=sys.stderr)
            code = max(code, 1)
            continue
        except ValueError as exc:
            _error(str(exc))
            code = max(code, 2)
            continue
        if not args.quiet:
            print(f"ok: {kind} ({path})")
    return code


def cmd_publish(args: argparse.Namespace) -> int:
    from .publish import build_index, validate_product, write_index
    from .schemas import ProductError

    results = Path(args.results)
    if not results.is_dir():
        _error(f"{results}: results folder not found")
        return 2
    if args.validate:
        failed = 0
        for entry in build_index(results)["products"]:
            try:
                validate_product(results / entry["path"])
            except (ProductError, ValueError) as exc:
                print(f"invalid: {entry['path']}: {exc}", file=sys.stderr)
                failed += 1
        if failed:
            _error(f"{failed} product(s) failed validation; index not written")
            return 1
    path = write_index(results)
    if not args.quiet:
        n = len(json.loads(path.read_text())["products"])
        print(f"wrote {path} ({n} products)")
    return 0


def cmd_open(args: argparse.Namespace) -> int:
    from .publish import open as open_product

    try:
        ds = open_product(args.target, results=args.results, group=args.group)
    except FileNotFoundError as exc:
        _error(str(exc))
        return 2
    with ds:
        print(repr(ds))
    return 0


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chaosatlas",
        description="Reproducible data products about chaotic dynamical systems.",
    )
    parser.add_argument("--version", action="version", version=f"chaosatlas {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="no progress or chatter")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("list", parents=[common], help="catalogue names: name, kind, dimension")
    p.add_argument("--kind", choices=("flow", "map", "dde"), help="only systems of this kind")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", parents=[common], help="one system's facts (YAML)")
    p.add_argument("name")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("integrate", parents=[common], help="integrate one system to a file")
    p.add_argument("name")
    p.add_argument("--out", required=True, help="output .nc or .zarr path")
    p.add_argument("--t-end", type=float, default=None,
                   help="final time (iterations for maps); default 50 periods (100 without one)")  # fmt: skip
    p.add_argument("--points", type=int, default=2048, help="number of output samples")
    p.add_argument("--format", choices=("netcdf", "zarr"), default=None,
                   help="default: from the suffix of --out (netcdf unless .zarr)")  # fmt: skip
    p.add_argument("--seed", type=int, default=None,
                   help="perturb the catalogue initial state with this seed")  # fmt: skip
    p.set_defaults(func=cmd_integrate)

    p = sub.add_parser("validate", parents=[common], help="check products against their schema")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("publish", parents=[common], help="write <results>/index.json")
    p.add_argument("--results", default="results")
    p.add_argument("--validate", action="store_true", help="validate every product first")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("open", parents=[common], help="print a product's xarray repr")
    p.add_argument("target", metavar="NAME_OR_PATH", help="short name, path or http(s) URL")
    p.add_argument("--results", default="results")
    p.add_argument("--group", default=None, help="a Zarr store's system group")
    p.set_defaults(func=cmd_open)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (``chaosatlas`` console script)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "integrate" and args.points < 2:
        parser.error("--points must be at least 2")
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # e.g. `chaosatlas list | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
