"""Same config and code, same numbers: whatever the thread counts and the task order.

Two corners of the matrix, each in a fresh process: every thread count at 1
(numba, BLAS/OpenMP, dask workers) with tasks in their natural order, and every
thread count at 2 with the submission order of catalogue, integration and
diagnostics tasks shuffled (``CHAOSATLAS_SHUFFLE_TASKS``). The decoded arrays of
the catalogue, the trajectories and the invariants must hash the same; so must
the weights of neural models trained on the CPU with 1 and 2 torch threads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# what legitimately differs between runs: wall-clock times
VOLATILE = {"runtime_s", "runtime_mean", "training_seconds"}

STAGES = textwrap.dedent(
    """
    import hashlib, json, sys
    from pathlib import Path
    import numpy as np, xarray as xr, zarr
    from chaosatlas.pipeline import make_catalogue, make_diagnostics, make_trajectories

    out, threads = Path(sys.argv[1]), int(sys.argv[2])
    config = {
        "seed": 11, "systems": ["Lorenz", "Henon", "Logistic"],
        "sampling": {"transient_periods": 10, "probe_periods": 40, "map_transient": 200,
                     "map_probe": 512},
        "integration": {"n_points": 128, "block_size": 2,
                        "trajectories": {"train": 4, "val": 2, "test": 2}},
        "dask": {"cluster": "local"},
        "diagnostics": {"n_trajectories": 2, "periods": 50, "transient_periods": 5,
                        "iterations": 2000, "n_points": 1024, "correlation_points": 1024,
                        "entropy_points": 512},
        "forecast": {"systems": [], "models": []},
    }
    cat = out / "catalogue.nc"
    make_catalogue(config, cat, threads=threads)
    stores = {s: str(out / f"{s}.zarr") for s in ("train", "val", "test")}
    make_trajectories(config, cat, stores, threads=threads)
    make_diagnostics(config, cat, out / "invariants.nc", out / "entropy.nc", threads=threads)

    volatile = set(json.loads(sys.argv[3]))
    def digest(ds):
        h = hashlib.sha256()
        for name in sorted(map(str, ds.variables)):
            if name in volatile:
                continue
            v = ds[name].values
            h.update(name.encode())
            h.update(v.astype(str).tobytes() if v.dtype.kind in "OUS" else v.tobytes())
        return h.hexdigest()

    hashes = {}
    for name in ("catalogue.nc", "invariants.nc", "entropy.nc"):
        with xr.open_dataset(out / name) as ds:
            hashes[name] = digest(ds.load())
    for split, path in stores.items():
        for group in sorted(zarr.open_group(path, mode="r").group_keys()):
            with xr.open_zarr(path, group=group, consolidated=False) as ds:
                hashes[f"{split}/{group}"] = digest(ds.load())
    print("HASHES " + json.dumps(hashes, sort_keys=True))
    """
)

TRAIN = textwrap.dedent(
    """
    import hashlib, json, sys
    import numpy as np, torch
    from chaosatlas.models import Forecaster

    torch.set_num_threads(int(sys.argv[1]))
    t = np.linspace(0, 60, 600)
    series = np.stack([np.sin(t), np.cos(1.3 * t)], axis=-1)
    train = np.stack([series + 0.01 * k for k in range(4)])
    val = train[:2] + 0.005
    small = {"koopa": {"dynamic_dim": 8, "hidden_dim": 8, "num_blocks": 1},
             "deepedm": {"projection": 8}, "stu": {"d_model": 8, "k": 8, "n_layers": 1}}
    training = {"epochs": 2, "batch_size": 16, "max_batches": 4, "patience": 2, "stride": 4,
                "seed": 3, "device": "cpu"}
    hashes = {}
    for name, hyper in small.items():
        f = Forecaster(name, 32, 8, 2, hyper, training)
        f.fit(train, val)
        h = hashlib.sha256()
        for key, value in sorted(f.model.state_dict().items()):
            h.update(key.encode())
            h.update(value.detach().cpu().contiguous().numpy().tobytes())
        hashes[name] = h.hexdigest()
    print("HASHES " + json.dumps(hashes, sort_keys=True))
    """
)


def _run(code: str, args: list[str], threads: int, shuffle: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                "MKL_NUM_THREADS"):  # fmt: skip
        env[var] = str(threads)
    env.pop("CHAOSATLAS_SHUFFLE_TASKS", None)
    if shuffle is not None:
        env["CHAOSATLAS_SHUFFLE_TASKS"] = shuffle
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
        cwd=ROOT, timeout=420,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("HASHES "))
    return json.loads(line.removeprefix("HASHES "))


@pytest.mark.slow
def test_products_do_not_depend_on_threads_or_task_order(tmp_path):
    runs = {}
    for label, threads, shuffle in (
        ("1 thread, in order", 1, None),
        ("2 threads, shuffled", 2, "5"),
    ):
        out = tmp_path / label.replace(" ", "_").replace(",", "")
        out.mkdir()
        runs[label] = _run(STAGES, [str(out), str(threads), json.dumps(sorted(VOLATILE))],
                           threads, shuffle)  # fmt: skip
    a, b = runs.values()
    assert set(a) == set(b) and {"catalogue.nc", "invariants.nc", "train/Lorenz"} <= set(a)
    differ = sorted(k for k in a if a[k] != b[k])
    assert not differ, f"differ between {' and '.join(runs)}: {differ}"


def test_cpu_training_gives_the_same_weights_with_1_and_2_threads():
    one = _run(TRAIN, ["1"], 1)
    two = _run(TRAIN, ["2"], 2)
    again = _run(TRAIN, ["1"], 1)
    assert set(one) == {"koopa", "deepedm", "stu"}
    assert one == again, "two identical CPU training runs gave different weights"
    assert one == two, {k: one[k] == two[k] for k in one}
