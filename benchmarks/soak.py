"""Soak: config/full.yaml catalogue -> integrate -> diagnostics from a cold cache.

    .venv/bin/python benchmarks/soak.py [--config config/full.yaml] [--limit-s 5400]

Runs `snakemake --cores 2` on the three stages in a scratch folder with an
empty compile cache, samples the summed resident memory of snakemake and all
its descendants (jobs, dask workers) every 0.5 s, and on the way out reports
the wall time of each stage (from the rule logs), the peak memory, and the
systems per status in catalogue.nc / invariants.nc and the trajectory stores'
skipped systems. Every non-ok system must carry a reason; the script says
which do not. A run past ``--limit-s`` is killed and reported as a hang.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
TARGETS = [
    "results/catalogue.nc",
    "results/trajectories/train.zarr",
    "results/trajectories/val.zarr",
    "results/trajectories/test.zarr",
    "results/diagnostics/invariants.nc",
    "results/diagnostics/entropy.nc",
]


def tree_rss(pid: int) -> int:
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def summarise(workdir: Path) -> dict:
    import numpy as np
    import xarray as xr

    out: dict = {}
    cat_path = workdir / "results" / "catalogue.nc"
    if cat_path.exists():
        with xr.open_dataset(cat_path) as cat:
            status = cat.status.values.astype(str)
            reason = cat.reason.values.astype(str)
            out["catalogue"] = dict(collections.Counter(status.tolist()))
            out["catalogue_without_reason"] = [
                str(s) for s, st, r in zip(cat.system.values, status, reason, strict=True)
                if st != "ok" and not r.strip()
            ]  # fmt: skip
    store = workdir / "results" / "trajectories" / "test.zarr"
    if store.exists():
        root = xr.open_zarr(store, consolidated=False)
        out["integrated"] = len(json.loads(root.attrs["systems"]))
        skipped = json.loads(root.attrs["skipped"])
        out["integration_failed"] = {k: v for k, v in skipped.items() if "integration" in v}
    inv_path = workdir / "results" / "diagnostics" / "invariants.nc"
    if inv_path.exists():
        with xr.open_dataset(inv_path) as inv:
            verdict = inv.verdict.values.astype(str)
            out["verdicts"] = dict(collections.Counter(verdict.tolist()))
            reasons = inv.reason.values.astype(str) if "reason" in inv else np.array([""])
            out["verdict_without_reason"] = [
                str(s) for s, v, r in zip(inv.system.values, verdict, reasons, strict=False)
                if v != "chaotic" and not r.strip()
            ]  # fmt: skip
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/full.yaml")
    parser.add_argument("--limit-s", type=float, default=5400)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="chaosatlas-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    cache = Path(tempfile.mkdtemp(prefix="chaosatlas-soak-cache-"))
    env = {**os.environ, "CHAOSATLAS_CACHE_DIR": str(cache / "ca"),
           "NUMBA_CACHE_DIR": str(cache / "nb")}  # fmt: skip
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
           "--directory", str(workdir), "--configfile", str(ROOT / args.config),
           "--cores", "2", *TARGETS]  # fmt: skip
    started = time.monotonic()
    log = open(workdir / "soak.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)  # fmt: skip
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], tree_rss(proc.pid))
            stop.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    hung = False
    try:
        proc.wait(timeout=args.limit_s)
    except subprocess.TimeoutExpired:
        hung = True
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    stop.set()
    sampler.join()
    log.close()
    wall = time.monotonic() - started
    stages = {}
    for rule in ("catalogue", "integrate", "diagnostics"):
        path = workdir / "results" / "logs" / f"{rule}.log"
        if path.exists():
            stages[rule] = path.stat().st_mtime
    report = {
        "config": args.config,
        "returncode": proc.returncode,
        "killed_after_limit": hung,
        "wall_s": round(wall, 1),
        "peak_memory_gb": round(peak[0] / 1e9, 2),
        "stage_finished_at_s": {k: round(v - (time.time() - wall), 1) for k, v in stages.items()},
        **summarise(workdir),
        "workdir": str(workdir),
    }
    print(json.dumps(report, indent=2))
    return 0 if proc.returncode == 0 and not hung else 1


if __name__ == "__main__":
    sys.exit(main())
