"""Faults in the dask stages and in a Snakemake run: killed workflows, killed and
poisoned workers, workers paused on memory, memory limits too small to work.

Facts in shared/specs/reliability.md. One clean workflow run of a small config
(catalogue + trajectories) is the reference; each fault must leave either the
same decoded arrays or a clear error, and never a stray temporary store.
Faults inside dask tasks come from :mod:`chaosatlas.faults`
(``CHAOSATLAS_FAULTS``), which the workers inherit from this process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from chaosatlas import pipeline
from chaosatlas.cluster import ClusterError, ClusterStalled
from chaosatlas.products import is_complete
from chaosatlas.schemas import check_trajectory_store

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]
SPLITS = ("train", "val", "test")
TRAJECTORIES = [f"results/trajectories/{s}.zarr" for s in SPLITS]

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("cold_cache")]


def small_config() -> dict:
    cfg = yaml.safe_load((ROOT / "tests" / "config" / "tiny.yaml").read_text())
    cfg["systems"] = ["Lorenz", "Henon"]
    cfg["dask"] = {"cluster": "local", "stall_timeout": 10}
    return cfg


def snakemake(workdir: Path, config: Path, *extra: str, timeout: float = 300, **kw):
    cmd = [*SNAKEMAKE, "--directory", str(workdir), "--configfile", str(config), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def decoded_hashes(store: Path) -> dict[str, str]:
    """sha256 of every decoded array of every group of a trajectory store."""
    out = {}
    for group in sorted(json.loads(xr.open_zarr(store, consolidated=False).attrs["systems"])):
        ds = xr.open_zarr(store, group=group, consolidated=False).load()
        for name in sorted(ds.variables):
            values = np.ascontiguousarray(ds[name].values)
            if values.dtype.kind in "OUT":
                values = np.array([str(v) for v in values.ravel()], dtype="U")
            out[f"{group}/{name}"] = hashlib.sha256(values.tobytes()).hexdigest()
    return out


def stray_temporaries(workdir: Path) -> list[str]:
    return sorted(str(p) for p in (workdir / "results").rglob("*.tmp-*"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A clean run: catalogue.nc and the three stores, and the config file it used."""
    base = tmp_path_factory.mktemp("faults")
    config = base / "small.yaml"
    config.write_text(yaml.safe_dump(small_config(), sort_keys=False))
    workdir = base / "clean"
    proc = snakemake(workdir, config, "--cores", "2", *TRAJECTORIES)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return {
        "config": config,
        "workdir": workdir,
        "hashes": {
            s: decoded_hashes(workdir / t) for s, t in zip(SPLITS, TRAJECTORIES, strict=True)
        },
    }


def integrate_in_process(reference, out: Path, **config_changes) -> dict[str, Path]:
    config = {**small_config(), **config_changes}
    outputs = {s: out / f"{s}.zarr" for s in SPLITS}
    pipeline.make_trajectories(
        config, reference["workdir"] / "results" / "catalogue.nc", outputs, threads=2
    )
    return outputs


@pytest.mark.timeout(400)
def test_killed_workflow_reruns_to_the_same_arrays_and_leaves_no_temporaries(reference, tmp_path):
    """Fault 1: SIGKILL of snakemake during rule integrate, --unlock, --rerun-incomplete."""
    config = reference["config"]
    run = [*SNAKEMAKE, "--directory", str(tmp_path), "--configfile", str(config), "--cores", "2"]
    proc = subprocess.Popen(
        [*run, *TRAJECTORIES], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes the job and workers too
    )  # fmt: skip
    deadline = time.monotonic() + 240
    try:
        while not list((tmp_path / "results" / "trajectories").glob("*.zarr.tmp-*")):
            assert proc.poll() is None, "snakemake ended before rule integrate wrote anything"
            assert time.monotonic() < deadline, "rule integrate never started"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert stray_temporaries(tmp_path), "the kill came too late to test anything"
    for split in SPLITS:
        assert not is_complete(tmp_path / "results" / "trajectories" / f"{split}.zarr")
    plain = snakemake(tmp_path, config, "--cores", "2", *TRAJECTORIES)
    assert plain.returncode != 0  # locked, or incomplete: never silently "done"
    assert snakemake(tmp_path, config, "--unlock").returncode == 0
    again = snakemake(tmp_path, config, "--cores", "2", "--rerun-incomplete", *TRAJECTORIES)
    assert again.returncode == 0, again.stderr[-4000:]
    assert stray_temporaries(tmp_path) == []
    for split, target in zip(SPLITS, TRAJECTORIES, strict=True):
        assert decoded_hashes(tmp_path / target) == reference["hashes"][split], split


@pytest.mark.timeout(300)
def test_killed_worker_during_region_writes_gives_the_same_store(
    reference, tmp_path, monkeypatch, caplog
):
    """Fault 4: a worker is SIGKILLed right after it wrote a region; dask reruns its tasks."""
    monkeypatch.setenv("CHAOSATLAS_FAULTS", "kill_worker_once@integrate:Lorenz:0")
    monkeypatch.setenv("CHAOSATLAS_FAULTS_STATE", str(tmp_path))
    caplog.set_level(logging.INFO, logger="chaosatlas")
    outputs = integrate_in_process(reference, tmp_path / "out")
    assert list(tmp_path.glob("kill_worker_once*")), "the fault never fired"
    for split, store in outputs.items():
        assert decoded_hashes(store) == reference["hashes"][split], split
        check_trajectory_store(store)
    assert "ran again" in caplog.text  # the re-executed task is logged


@pytest.mark.timeout(300)
def test_poison_system_is_recorded_and_the_others_finish(reference, tmp_path, monkeypatch):
    """Fault 5: a task that kills its worker every time fails its system only."""
    monkeypatch.setenv("CHAOSATLAS_FAULTS", "kill_worker@integrate:Henon")
    outputs = integrate_in_process(reference, tmp_path / "out")
    for split, store in outputs.items():
        root = xr.open_zarr(store, consolidated=False)
        assert json.loads(root.attrs["systems"]) == ["Lorenz"]
        reason = json.loads(root.attrs["skipped"])["Henon"]
        assert "integration failed" in reason and "KilledWorker" in reason, reason
        assert check_trajectory_store(store) == {
            "Lorenz": small_config()["integration"]["trajectories"][split]
        }
        assert not (store / "Henon").exists()
        lorenz = {k: v for k, v in reference["hashes"][split].items() if k.startswith("Lorenz/")}
        assert decoded_hashes(store) == lorenz


@pytest.mark.timeout(120)
def test_workers_paused_on_memory_stop_the_stage_with_a_reason(tmp_path, monkeypatch):
    """A paused, idle worker never resumes: the stage stops, naming memory and the key."""
    monkeypatch.setenv("CHAOSATLAS_FAULTS", "hold_memory@catalogue:*")
    config = {
        **small_config(),
        "systems": ["Lorenz", "Henon", "Rossler", "Chen"],
        "dask": {"cluster": "local", "memory_limit": "2GB", "stall_timeout": 5},
    }
    started = time.monotonic()
    with pytest.raises(ClusterStalled) as info:
        pipeline.make_catalogue(config, tmp_path / "catalogue.nc", threads=2)
    message = str(info.value)
    assert "paused" in message and "memory" in message and "dask.memory_limit" in message
    assert time.monotonic() - started < 90
    assert not (tmp_path / "catalogue.nc").exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.timeout(120)
def test_too_small_memory_limit_is_a_clear_error_within_a_minute(tmp_path):
    cfg = small_config()
    cfg["dask"] = {"cluster": "local", "memory_limit": "60MB"}
    config = tmp_path / "small.yaml"
    config.write_text(yaml.safe_dump(cfg))
    started = time.monotonic()
    proc = snakemake(tmp_path, config, "--cores", "2", "results/catalogue.nc", timeout=90)
    assert time.monotonic() - started < 60
    assert proc.returncode != 0
    # refused while the Snakefile checks the config, before any job starts
    # (a limit that is "auto" is checked by the rule, on the machine it runs on:
    # the next test)
    out = proc.stdout + proc.stderr
    assert "memory" in out and "dask.memory_limit" in out and "60MB" in out, out[-2000:]
    assert "Traceback" not in out
    assert not (tmp_path / "results" / "logs" / "catalogue.log").exists()
    assert not (tmp_path / "results" / "catalogue.nc").exists()


def test_memory_limit_below_the_floor_is_refused_before_any_worker_starts():
    with pytest.raises(ClusterError, match="dask.memory_limit"):
        pipeline.make_catalogue(
            {**small_config(), "dask": {"memory_limit": "100MB"}}, "/nonexistent/x.nc", threads=2
        )
    with pytest.raises(ClusterError, match="dask.slurm.memory"):
        from chaosatlas.cluster import worker_memory_limit

        worker_memory_limit({"cluster": "slurm", "slurm": {"memory": "1GB", "processes": 2}})


def test_auto_memory_inside_a_slurm_job_is_the_job_memory_over_the_threads(monkeypatch):
    from chaosatlas.cluster import worker_memory_limit

    monkeypatch.setenv("SLURM_JOB_ID", "1")
    monkeypatch.setenv("SLURM_MEM_PER_NODE", "4000")
    assert worker_memory_limit({"memory_limit": "auto"}, threads=2) == 2000 * 2**20
    monkeypatch.setenv("SLURM_MEM_PER_NODE", "1000")
    with pytest.raises(ClusterError, match="SLURM job"):
        worker_memory_limit({}, threads=2)
