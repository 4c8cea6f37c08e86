"""Run every benchmark and write benchmarks/results.json (then copy numbers into README.md).

Run: make bench   (or .venv/bin/python benchmarks/run_all.py)
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(script: str) -> object:
    with tempfile.NamedTemporaryFile(suffix=".json") as fh:
        subprocess.run([sys.executable, str(HERE / script), fh.name], check=True)
        return json.loads(Path(fh.name).read_text())


if __name__ == "__main__":
    results = {
        "machine": {
            "python": platform.python_version(),
            "processor": platform.processor(),
            "cores": __import__("os").cpu_count(),
        },
        "integration": run("bench_integration.py"),
        "catalogue_to_zarr": run("bench_catalogue_zarr.py"),
        "lyapunov_lorenz": run("bench_lyapunov.py"),
        "lyapunov_catalogue": run("bench_lyapunov_catalogue.py"),
        "diagnostics": run("bench_diagnostics.py"),
        "models": run("bench_models.py"),
        "causal": run("bench_causal.py"),
    }
    (HERE / "results.json").write_text(json.dumps(results, indent=1))
    print(f"wrote {HERE / 'results.json'}")
