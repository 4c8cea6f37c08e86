"""The workflow through a real one-node SLURM cluster: same products as a local run.

tests/slurm/cluster.sh installs (apt-get) and starts munge, slurmctld and slurmd
with one fake GPU. A small config derived from tests/config/tiny.yaml runs three
ways: (a) locally, (b) every job through the SLURM profile
(workflow/profiles/slurm), (c) locally with the dask workers of integration and
diagnostics as SLURM jobs (dask: {cluster: slurm}). The products must be
identical apart from wall-clock provenance, the neural train job must have been
given the (fake) GPU, and training must still have run on the CPU.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "tests" / "slurm" / "cluster.sh"
PROFILE = ROOT / "workflow" / "profiles" / "slurm"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
TIMEOUT = 600  # seconds per snakemake run; it is SIGKILLed after that
# the products compared; the report's figures are left out to keep the test short
TARGETS = ("results/metrics/forecast.nc", "results/causal/scores.nc")
# the rules that use the dask cluster, and what they make
DASK_TARGETS = ("results/trajectories/test.zarr", "results/diagnostics/invariants.nc")
RULES = ("catalogue", "integrate", "diagnostics", "train", "forecast",
         "causal_data", "causal_discover", "causal_scores")  # fmt: skip
MEM_MB = {"catalogue": 2000, "integrate": 2000, "diagnostics": 2000}
# wall-clock provenance that legitimately differs between runs
VOLATILE_ATTRS = {"creation_time", "date_created", "history", "runtime_s", "training_seconds"}
VOLATILE_VARS = {"training_seconds", "runtime_s", "runtime_mean"}

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("cold_cache")]


def _why_not() -> str | None:
    if os.environ.get("CHAOSATLAS_SKIP_SLURM_TEST") == "1":
        return "CHAOSATLAS_SKIP_SLURM_TEST=1 is set"
    if sys.platform != "linux":
        return "needs Linux"
    if os.geteuid() != 0:
        return "needs root to install and start slurmctld/slurmd/munged"
    if not shutil.which("slurmctld") and not shutil.which("apt-get"):
        return "SLURM is not installed and there is no apt-get to install it"
    for module in ("snakemake_executor_plugin_slurm", "dask_jobqueue"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed"
    return None


def small_config() -> dict:
    """tiny.yaml cut down: 2 systems, 3 forecast models (one neural), one causal tier."""
    cfg = yaml.safe_load((ROOT / "tests" / "config" / "tiny.yaml").read_text())
    cfg["systems"] = ["Lorenz", "Henon"]
    cfg["forecast"]["systems"] = ["Lorenz"]
    cfg["forecast"]["models"] = ["persistence", "linear", "koopa"]
    cfg["forecast"]["training"] = {"epochs": 1, "batch_size": 16, "max_batches": 2,
                                   "patience": 1, "stride": 4}  # fmt: skip
    cfg["forecast"]["hyper"] = {"koopa": cfg["forecast"]["hyper"]["koopa"]}
    cfg["causal"] = {"tiers": {"pairs": cfg["causal"]["tiers"]["pairs"]}, "methods": ["granger"]}
    return cfg


# Session scope: the cluster stays up until this worker's session ends. Once the
# SLURM tools are installed, every snakemake start (any test's) imports the SLURM
# executor plugin, which runs `scontrol show config` and, with no controller to
# answer, waits ~9 s for it; with the controller up it answers at once.
@pytest.fixture(scope="session")
def slurm_cluster():
    why = _why_not()
    if why:
        pytest.skip(why)
    try:
        proc = subprocess.run([str(CLUSTER), "start"], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"cluster.sh start failed:\n{proc.stdout}\n{proc.stderr}"
        yield
    finally:
        subprocess.run([str(CLUSTER), "stop"], capture_output=True, text=True, timeout=120)


def _snakemake(
    workdir: Path, config: Path, *extra: str
) -> tuple[subprocess.CompletedProcess, float]:
    cmd = [
        "timeout", "-s", "KILL", str(TIMEOUT),
        *SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(config), *extra,
    ]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ, timeout=TIMEOUT + 60)
    elapsed = time.monotonic() - started
    (workdir / "snakemake.out").write_text(proc.stdout + proc.stderr)
    assert proc.returncode != 137, f"snakemake killed after {TIMEOUT} s:\n{proc.stderr[-4000:]}"
    assert proc.returncode == 0, proc.stderr[-6000:]
    return proc, elapsed


@pytest.fixture(scope="module")
def three_runs(slurm_cluster, tmp_path_factory):
    base = tmp_path_factory.mktemp("slurm")
    cfg = small_config()
    local_cfg = base / "small.yaml"
    local_cfg.write_text(yaml.safe_dump(cfg, sort_keys=False))
    dask_cfg = base / "small_dask.yaml"
    with_dask = copy.deepcopy(cfg)
    with_dask["dask"] = {
        "cluster": "slurm",
        "worker_timeout": 180,
        # interface lo: the scheduler and workers talk over loopback (dask-jobqueue
        # uses the workers' interface for the scheduler too unless told otherwise)
        # what a user would give a worker (a cold compile peaks at 360-615 MiB and
        # distributed pauses a worker at 80%; below 1 GB the config is refused)
        "slurm": {"cores": 1, "processes": 1, "memory": "2GB", "walltime": "00:10:00",
                  "queue": "debug", "interface": "lo", "jobs": 2},
    }  # fmt: skip
    dask_cfg.write_text(yaml.safe_dump(with_dask, sort_keys=False))
    runs, times = {}, {}
    runs["local"] = base / "local"
    _, times["local"] = _snakemake(runs["local"], local_cfg, "--cores", "2", *TARGETS)
    runs["slurm"] = base / "profile"
    _, times["slurm"] = _snakemake(
        runs["slurm"], local_cfg, "--profile", str(PROFILE), "--jobs", "2",
        # quick status checks for a quick test; memory within a small CI machine.
        # Not less: inside a SLURM job dask's LocalCluster (memory_limit "auto")
        # splits the job's --mem across its workers, and chaosatlas refuses less
        # than 1 GB per worker (cluster.WORKER_MEMORY_FLOOR).
        # the plugin adds 10 s to the interval after every check that finds no job
        # finished (1, 11, 21 s...): starting at 5 catches a ~15 s job after 20 s
        # instead of 33 s
        "--slurm-init-seconds-before-status-checks", "5",
        "--seconds-between-status-checks", "2",
        "--set-resources", *(f"{rule}:mem_mb={MEM_MB.get(rule, 1000)}" for rule in RULES),
        "--", *TARGETS,
    )  # fmt: skip
    jobs = subprocess.run(["scontrol", "-d", "-o", "show", "job"], capture_output=True,
                          text=True, timeout=60).stdout  # fmt: skip
    runs["dask"] = base / "dask"
    _, times["dask"] = _snakemake(runs["dask"], dask_cfg, "--cores", "2", *DASK_TARGETS)
    dask_jobs = subprocess.run(["scontrol", "-o", "show", "job"], capture_output=True,
                               text=True, timeout=60).stdout  # fmt: skip
    print(f"\nslurm test runs (s): {', '.join(f'{k} {v:.0f}' for k, v in times.items())}")
    return runs, jobs, dask_jobs


def _job_fields(line: str) -> dict[str, str]:
    fields = {}
    for token in line.split():
        key, _, value = token.partition("=")
        fields.setdefault(key, value)
    return fields


def _compare_netcdf(a: Path, b: Path, volatile: set[str]) -> None:
    import xarray as xr

    with xr.open_dataset(a) as da, xr.open_dataset(b) as db:
        da, db = (
            d.drop_vars([v for v in VOLATILE_VARS if v in d.variables]).load() for d in (da, db)
        )
        for d in (da, db):
            for key in volatile & set(d.attrs):
                del d.attrs[key]
        xr.testing.assert_identical(da, db)


def _compare_trees(
    a: Path, b: Path, volatile: set[str] = VOLATILE_ATTRS, subset: bool = False
) -> list[str]:
    """Every NetCDF product and every Zarr chunk under results/ is the same.

    ``subset``: ``b`` made only some of the products; those must match.
    """
    compared = []
    files_a = {p.relative_to(a) for p in (a / "results").rglob("*") if p.is_file()}
    files_b = {p.relative_to(b) for p in (b / "results").rglob("*") if p.is_file()}
    products = {p for p in files_a if "logs" not in p.parts and not p.name.endswith(".log")}
    if subset:
        products &= files_b
    assert products <= files_b, sorted(map(str, products - files_b))
    for rel in sorted(products):
        if rel.suffix == ".nc":
            _compare_netcdf(a / rel, b / rel, volatile)
        elif ".zarr" in str(rel) and "c" in rel.parts:  # a chunk
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
        elif rel.name == "training.json":
            ja, jb = (json.loads((x / rel).read_text()) for x in (a, b))
            for j in (ja, jb):
                for key in ("seconds", "provenance", "epoch_seconds", "threads"):
                    j.pop(key, None)
            assert ja == jb, rel
        else:
            continue
        compared.append(str(rel))
    assert any(r.endswith(".nc") for r in compared) and any(".zarr" in r for r in compared)
    return compared


def test_slurm_profile_gives_identical_products(three_runs):
    runs, _, _ = three_runs
    compared = _compare_trees(runs["local"], runs["slurm"])
    assert "results/metrics/forecast.nc" in compared and "results/causal/scores.nc" in compared
    # the jobs did go through SLURM
    logs = list((runs["slurm"] / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert any("rule_train" in str(p) for p in logs), logs


def test_dask_workers_on_slurm_give_identical_products(three_runs):
    runs, _, dask_jobs = three_runs
    # the config (and so its hash) differs by the dask section only
    compared = _compare_trees(
        runs["local"], runs["dask"], VOLATILE_ATTRS | {"config", "config_hash"}, subset=True
    )
    assert "results/diagnostics/invariants.nc" in compared
    assert any(r.startswith("results/trajectories/test.zarr/Lorenz/x/c") for r in compared)
    workers = [
        _job_fields(line) for line in dask_jobs.splitlines() if "JobName=dask-worker" in line
    ]
    assert workers, "no dask-worker job reached SLURM:\n" + dask_jobs[-3000:]


def test_neural_training_job_got_a_gpu_and_ran_on_cpu(three_runs):
    runs, jobs, _ = three_runs
    train = {}
    for line in jobs.splitlines():
        fields = _job_fields(line)
        comment = fields.get("Comment", "")
        if "rule_train" in comment:
            model = "koopa" if "koopa" in comment else comment
            train[model] = line
    assert "koopa" in train, jobs[-4000:]
    koopa = train.pop("koopa")
    assert "gpu:1" in koopa or "gres/gpu=1" in koopa, koopa  # TresPerJob / AllocTRES
    assert "JOB_GRES=gpu:1" in koopa, koopa  # scontrol -d: the GRES it was allocated
    assert train and not any("gpu" in line for line in train.values()), train
    # no CUDA here: the job saw CUDA_VISIBLE_DEVICES=0 but torch found no GPU
    report = json.loads(
        (runs["slurm"] / "results" / "models" / "koopa" / "Lorenz" / "training.json").read_text()
    )
    assert report["device"] == "cpu", report.get("device")
