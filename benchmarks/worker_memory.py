"""Peak resident memory of one dask task from a cold compile cache.

For each system of a config, a fresh process with an empty compile cache runs
the catalogue task (compile + probe) and then the diagnostics task, the way a
dask worker does; the peak RSS (``ru_maxrss``) of that process is reported.
The largest value sets the floor for ``dask.memory_limit``
(``chaosatlas.cluster.WORKER_MEMORY_FLOOR``).

    .venv/bin/python benchmarks/worker_memory.py [config/config.yaml]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
from chaosatlas import pipeline
config = json.loads(sys.argv[1]); name = sys.argv[2]
started = time.perf_counter()
settings = pipeline._settings(config).__dict__
row = pipeline.probe_system_task(name, {}, settings)
after_probe = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if row.get("status") == "ok":
    pipeline.diagnose_system_task(name, {}, row, config.get("diagnostics") or {}, settings, int(config["seed"]))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"system": name, "status": row.get("status"), "probe_mib": after_probe,
                  "peak_mib": peak, "seconds": time.perf_counter() - started}))
"""


def main(config_path: str = "config/config.yaml") -> None:
    from chaosatlas.pipeline import selected_systems

    config = yaml.safe_load((ROOT / config_path).read_text())
    rows = []
    for name in selected_systems(config):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "CHAOSATLAS_CACHE_DIR": cache, "NUMBA_CACHE_DIR": cache,
                   "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}  # fmt: skip
            out = subprocess.run(
                [sys.executable, "-c", CHILD, json.dumps(config), name],
                capture_output=True, text=True, env=env, timeout=900,
            )  # fmt: skip
        if out.returncode != 0:
            print(f"{name}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
            continue
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"{name:16s} {row['status']:10s} probe {row['probe_mib']:6.0f} MiB  "
              f"peak {row['peak_mib']:6.0f} MiB  {row['seconds']:5.1f} s", flush=True)  # fmt: skip
    top = max(rows, key=lambda r: r["peak_mib"])
    print(f"largest peak: {top['system']} {top['peak_mib']:.0f} MiB")


if __name__ == "__main__":
    started = time.perf_counter()
    main(*sys.argv[1:])
    print(f"{time.perf_counter() - started:.0f} s")
