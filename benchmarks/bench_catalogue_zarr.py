"""The whole catalogue to Zarr on 2 cores: wall time (including compilation) and peak memory.

Run: .venv/bin/python benchmarks/bench_catalogue_zarr.py [out.json]

Uses a fresh numba/codegen cache, so every system is compiled in this run.
16 trajectories x 10,000 points per system (14 train, 1 val, 1 test), the
default tolerances (rtol = atol = 1e-9). Peak memory is the largest sum of the
resident set sizes of this process and all its children (the dask workers),
sampled every 0.2 s.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path


def main() -> dict:
    import logging

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("chaosatlas").setLevel(logging.INFO)
    os.environ["CHAOSATLAS_CACHE_DIR"] = tempfile.mkdtemp(prefix="chaosatlas-bench-cache-")
    import psutil

    from chaosatlas.pipeline import make_catalogue, make_trajectories

    out = Path(tempfile.mkdtemp(prefix="chaosatlas-bench-results-"))
    config = {
        "seed": 1,
        "systems": "all",
        "integration": {
            "n_points": 10_000,
            "block_size": 4,
            "trajectories": {"train": 14, "val": 1, "test": 1},
        },
        "dask": {"cluster": "local"},
    }
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        me = psutil.Process()
        while not stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            peak[0] = max(peak[0], total)
            time.sleep(0.2)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    cat = make_catalogue(config, out / "catalogue.nc", threads=2)
    t1 = time.perf_counter()
    stores = {s: out / "trajectories" / f"{s}.zarr" for s in ("train", "val", "test")}
    counts = make_trajectories(config, out / "catalogue.nc", stores, threads=2)
    t2 = time.perf_counter()
    stop.set()
    thread.join()
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    statuses = {}
    for s in cat.status.values.astype(str):
        statuses[s] = statuses.get(s, 0) + 1
    row = {
        "benchmark": "full catalogue to Zarr, 2 cores, cold cache",
        "systems": int(cat.sizes["system"]),
        "statuses": statuses,
        "systems_integrated": len(counts["train"]),
        "catalogue_stage_s": round(t1 - t0, 1),
        "integrate_stage_s": round(t2 - t1, 1),
        "total_s": round(t2 - t0, 1),
        "peak_memory_gb": round(peak[0] / 1e9, 2),
        "output_gb": round(size / 1e9, 3),
    }
    print(json.dumps(row), flush=True)
    return row


if __name__ == "__main__":
    result = main()
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(json.dumps(result, indent=1))
