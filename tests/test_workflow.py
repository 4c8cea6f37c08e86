"""End to end: the workflow on tests/config/tiny.yaml, opened with plain xarray; reruns are identical."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

from chaosatlas.schemas import ProductError, check_trajectory_store

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
SPLITS = ("train", "val", "test")
STABLE_ATTRS = (
    "system",
    "parameters",
    "integrator",
    "rtol",
    "atol",
    "dt",
    "period",
    "seed",
    "split",
    "config_hash",
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("cold_cache")]


def run_workflow(
    workdir: Path, *extra: str, config: Path = ROOT / "tests" / "config" / "tiny.yaml"
):
    cmd = [
        *SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(config), "--cores", "2", *extra,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=os.environ)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    runs = []
    for k in range(2):
        workdir = tmp_path_factory.mktemp(f"run{k}")
        proc = run_workflow(workdir)
        assert proc.returncode == 0, proc.stderr[-4000:]
        runs.append(workdir)
    return runs


def test_products_open_with_plain_xarray(two_runs):
    results = two_runs[0] / "results"
    cat = xr.open_dataset(results / "catalogue.nc")
    assert sorted(cat.system.values.tolist()) == ["Henon", "Lorenz", "ScrollDelay"]
    assert (cat.status.values == "ok").all()
    assert cat.attrs["config_hash"] and cat.attrs["git_commit"]
    lorenz = cat.sel(system="Lorenz")
    assert 0.5 < float(lorenz.period) < 1.0
    for split, n in zip(SPLITS, (4, 2, 2), strict=True):
        store = results / "trajectories" / f"{split}.zarr"
        ds = xr.open_zarr(store, group="Lorenz", consolidated=False)
        assert ds.x.dims == ("trajectory", "time", "variable") and ds.sizes["trajectory"] == n
        assert ds.sizes["time"] == 256 and list(ds.variable.values) == ["x", "y", "z"]
        assert (ds.status.values == 0).all() and np.isfinite(ds.x.values).all()
        for attr in STABLE_ATTRS:
            assert attr in ds.attrs
        np.testing.assert_allclose(ds.time_periods.values, ds.time.values / ds.attrs["period"])
        root = zarr.open_group(str(store), mode="r")
        assert json.loads(root.attrs["systems"]) == ["Henon", "Lorenz", "ScrollDelay"]
        assert check_trajectory_store(store) == {"Henon": n, "Lorenz": n, "ScrollDelay": n}


def test_splits_have_disjoint_initial_conditions(two_runs):
    results = two_runs[0] / "results" / "trajectories"
    starts = [
        xr.open_zarr(results / f"{s}.zarr", group="Lorenz", consolidated=False).x.values[:, 0]
        for s in SPLITS
    ]
    rows = np.concatenate(starts)
    assert len(np.unique(rows, axis=0)) == len(rows)


def test_rerun_is_identical(two_runs):
    a, b = (r / "results" for r in two_runs)
    with xr.open_dataset(a / "catalogue.nc") as ca, xr.open_dataset(b / "catalogue.nc") as cb:
        xr.testing.assert_identical(ca.drop_attrs(), cb.drop_attrs())
        assert ca.attrs["config_hash"] == cb.attrs["config_hash"]
    for split in SPLITS:
        for group in ("Henon", "Lorenz", "ScrollDelay"):
            da = xr.open_zarr(
                a / "trajectories" / f"{split}.zarr", group=group, consolidated=False
            ).load()
            db = xr.open_zarr(
                b / "trajectories" / f"{split}.zarr", group=group, consolidated=False
            ).load()
            for name in da.variables:
                assert da[name].values.tobytes() == db[name].values.tobytes(), (split, group, name)
            for attr in STABLE_ATTRS:
                assert da.attrs[attr] == db.attrs[attr]
        # the chunk files themselves are byte-identical too
        for chunk in sorted((a / "trajectories" / f"{split}.zarr" / "Lorenz" / "x").rglob("c/*")):
            twin = b / chunk.relative_to(a)
            if chunk.is_file():
                assert chunk.read_bytes() == twin.read_bytes()


def test_diagnostics_products(two_runs):
    from chaosatlas.schemas import validate_entropy, validate_invariants

    results = two_runs[0] / "results" / "diagnostics"
    inv = xr.open_dataset(results / "invariants.nc").set_xindex("system_name")
    ent = xr.open_dataset(results / "entropy.nc").set_xindex("system_name")
    validate_invariants(inv.reset_index("system_name"))
    validate_entropy(ent.reset_index("system_name"))
    assert sorted(inv.system_name.values.tolist()) == ["Henon", "Lorenz", "ScrollDelay"]
    lorenz = inv.sel(system_name="Lorenz")
    assert str(lorenz.verdict.values) == "chaotic"
    assert float(lorenz.lyapunov_exponent[0]) == pytest.approx(0.9056, rel=0.05)
    assert float(lorenz.zero_one_k) > 0.9
    assert str(inv.sel(system_name="Henon").verdict.values) == "chaotic"
    assert all(str(r) for r in inv.reason.values)  # every verdict carries its evidence
    assert inv.attrs["Conventions"] == "CF-1.10" and inv.attrs["config_hash"]
    pe = ent.permutation_entropy.sel(system_name="Lorenz")
    assert pe.dims == ("variable", "order") and np.isfinite(pe.values).all()
    assert ((pe >= 0) & (pe <= 1)).all()
    # CF compliance of the files the workflow wrote
    checker = str(Path(sys.executable).with_name("compliance-checker"))
    for name in ("invariants.nc", "entropy.nc"):
        proc = subprocess.run(
            [checker, "--test=cf:1.10", str(results / name)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0 and "All tests passed" in proc.stdout, proc.stdout[-3000:]


def test_diagnostics_rerun_is_identical(two_runs):
    a, b = (r / "results" / "diagnostics" for r in two_runs)
    for name in ("invariants.nc", "entropy.nc"):
        with xr.open_dataset(a / name) as da, xr.open_dataset(b / name) as db:
            xr.testing.assert_identical(da.drop_attrs(), db.drop_attrs())
            assert da.attrs["config_hash"] == db.attrs["config_hash"]


def test_forecast_product(two_runs):
    from chaosatlas.schemas import validate_forecast

    a, b = (r / "results" for r in two_runs)
    fc = xr.open_dataset(a / "metrics" / "forecast.nc")
    validate_forecast(fc.load())
    models = ["persistence", "climatology", "linear", "nvar", "esn", "koopa", "deepedm", "stu"]
    assert fc.model_name.values.tolist() == models
    assert fc.system_name.values.tolist() == ["Lorenz", "Henon"]
    # a constant forecast is a collapsed rollout, and says so; every other model is ok
    constant = fc.model_name.isin(["persistence", "climatology"]).values
    assert (fc.status.values[constant] == "rollout_collapsed").all()
    assert (fc.d_h.values[constant] == 1.0).all()  # the worst, never better than noise
    assert (fc.status.values[~constant] == "ok").all(), fc.reason.values
    assert (fc.n_failed_windows.values == 0).all() and (fc.n_windows.values > 0).all()
    assert np.isfinite(fc.d_h_floor.values).all()  # the noise floor beside every D_H
    assert fc.smape_by_step.dims == ("model", "system", "step") and fc.step.size == 16
    lorenz = fc.swap_dims(model="model_name", system="system_name").sel(system_name="Lorenz")
    # a trained one-step model beats repeating the last value on a smooth flow
    assert float(lorenz.mse.sel(model_name="nvar")) < float(
        lorenz.mse.sel(model_name="persistence")
    )
    for m in ("linear", "nvar", "esn", "koopa", "deepedm", "stu"):
        assert (a / "models" / m / "Lorenz" / "model.pt").is_file()
        assert (a / "models" / m / "Lorenz" / "training.json").is_file()
    checker = str(Path(sys.executable).with_name("compliance-checker"))
    proc = subprocess.run(
        [checker, "--test=cf:1.10", str(a / "metrics" / "forecast.nc")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0 and "All tests passed" in proc.stdout, proc.stdout[-3000:]
    # same config and code, same scores (the wall-clock training time aside)
    with xr.open_dataset(b / "metrics" / "forecast.nc") as other:
        xr.testing.assert_identical(
            fc.drop_vars("training_seconds").drop_attrs(),
            other.drop_vars("training_seconds").drop_attrs(),
        )


def test_structural_check_finds_a_lost_chunk(two_runs, tmp_path):
    store = tmp_path / "train.zarr"
    shutil.copytree(two_runs[0] / "results" / "trajectories" / "train.zarr", store)
    chunks = sorted(p for p in (store / "Lorenz" / "x" / "c").rglob("*") if p.is_file())
    chunks[0].unlink()  # reads back as the fill value (NaN) without any error
    with pytest.raises(ProductError, match="group 'Lorenz'.*variable 'x'.*non-finite"):
        check_trajectory_store(store)


def test_structural_check_finds_a_torn_chunk(two_runs, tmp_path):
    store = tmp_path / "train.zarr"
    shutil.copytree(two_runs[0] / "results" / "trajectories" / "train.zarr", store)
    chunk = sorted(p for p in (store / "Henon" / "x" / "c").rglob("*") if p.is_file())[0]
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0xFF
    chunk.write_bytes(bytes(data))
    with pytest.raises(ProductError, match="group 'Henon'"):
        check_trajectory_store(store)


def test_unknown_config_key_stops_the_run(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(
        (ROOT / "tests" / "config" / "tiny.yaml").read_text() + "\nintegraton: {n_points: 3}\n"
    )
    proc = run_workflow(tmp_path, "-n", config=cfg)
    assert proc.returncode != 0
    assert "integraton" in proc.stderr + proc.stdout


def test_wrong_type_in_config_names_the_key(tmp_path):
    cfg = tmp_path / "bad.yaml"
    text = (
        (ROOT / "tests" / "config" / "tiny.yaml")
        .read_text()
        .replace("n_points: 256", "n_points: many")
    )
    cfg.write_text(text)
    proc = run_workflow(tmp_path, "-n", config=cfg)
    assert proc.returncode != 0
    assert "many" in proc.stderr + proc.stdout and "n_points" in proc.stderr + proc.stdout


def test_lint_is_clean():
    proc = subprocess.run(
        [*SNAKEMAKE, "--lint"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_plain_snakemake_uses_the_default_profile():
    proc = subprocess.run([*SNAKEMAKE, "-n"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Using workflow specific profile profiles/default" in proc.stdout + proc.stderr
    assert (ROOT / "profiles").resolve() == (ROOT / "workflow" / "profiles").resolve()


def test_catalogue_on_an_existing_scheduler(tmp_path):
    """dask.cluster: address sends the work to a scheduler that is already running."""
    from distributed import LocalCluster

    from chaosatlas.pipeline import make_catalogue

    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        config = {"seed": 1, "systems": ["Henon", "Logistic"], "integration": {"n_points": 8, "trajectories": {"train": 1, "val": 1, "test": 1}},
                  "dask": {"cluster": "address", "address": cluster.scheduler_address}}  # fmt: skip
        ds = make_catalogue(config, tmp_path / "catalogue.nc", threads=1)
    assert ds.system.values.tolist() == ["Henon", "Logistic"] and (ds.status.values == "ok").all()


def test_causal_products(two_runs):
    from chaosatlas.schemas import validate_causal_data, validate_causal_scores

    a, b = (r / "results" / "causal" for r in two_runs)
    for tier in ("pairs", "dags", "lorenz96"):
        with xr.open_dataset(a / f"{tier}.nc") as ds:
            validate_causal_data(ds.load())
            assert "source causes target" in ds.attrs["convention"]
    with xr.open_dataset(a / "scores.nc") as sc:
        validate_causal_scores(sc.load())
        methods = sc.method_name.values.tolist()
        assert methods == ["lagged_correlation", "granger", "ccm", "pcmci"]
        own = sc.isel(method=[0, 1, 2])
        headline = sc.included.values == 1
        assert headline.sum() >= 3  # the pair, the DAG variants, the ring
        # every own method scores every included graph (AUROC and AUPRC)
        assert (own.status.values[:, headline] == "ok").all()
        assert np.isfinite(own.auroc.values[:, headline]).all()
        assert np.isfinite(own.auprc.values[:, headline]).all()
        # pcmci is there either way: scored, or unavailable with the reason
        pc = sc.isel(method=3)
        assert set(pc.status.values[headline].tolist()) <= {"ok", "unavailable"}
        if (pc.status.values == "unavailable").any():
            assert "tigramite" in str(pc.reason.values[0])
        checker = str(Path(sys.executable).with_name("compliance-checker"))
        proc = subprocess.run(
            [checker, "--test=cf:1.10", str(a / "scores.nc")],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0 and "All tests passed" in proc.stdout, proc.stdout[-3000:]
        with xr.open_dataset(b / "scores.nc") as other:
            xr.testing.assert_identical(
                sc.drop_vars(["runtime_s", "runtime_mean"]).drop_attrs(),
                other.drop_vars(["runtime_s", "runtime_mean"]).drop_attrs(),
            )


def test_neural_training_jobs_ask_for_a_gpu_and_baselines_do_not(tmp_path):
    # a dry run prints each job's resources; a cluster profile routes gpu=1 jobs
    proc = run_workflow(tmp_path, "--dry-run", "--forceall")
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = {}
    for block in proc.stdout.split("rule train:")[1:]:
        lines = block.splitlines()
        wildcards = next(x for x in lines if "wildcards:" in x)
        resources = next(x for x in lines if "resources:" in x)
        model = wildcards.split("model=")[1].split(",")[0].strip()
        jobs[model] = "gpu=1" in resources
    assert jobs["koopa"] and jobs["deepedm"] and jobs["stu"], jobs
    assert not any(jobs[m] for m in ("persistence", "climatology", "linear", "nvar", "esn"))


REPORT_ITEMS = (
    "catalogue.html", "attractors.png", "attractor_Lorenz.png", "attractor_Henon.png",
    "invariants.html", "invariants.png", "leaderboard.html", "leaderboard_summary.html",
    "rollouts.png", "long_term.png", "causal_curves.png",
)  # fmt: skip


def test_report_items_are_written_and_reproducible(two_runs):
    a, b = (r / "results" / "report" for r in two_runs)
    assert sorted(p.name for p in a.iterdir()) == sorted(REPORT_ITEMS)
    for name in REPORT_ITEMS:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    text = (a / "catalogue.html").read_text()
    for system in ("Lorenz", "Henon", "ScrollDelay"):
        assert f"<b>{system}</b>" in text
    # rule publish: the index lists every product with its checksum and the citation
    index = json.loads((two_runs[0] / "results" / "index.json").read_text())
    paths = {d["path"] for d in index["products"]}
    assert {"catalogue.nc", "metrics/forecast.nc", "trajectories/test.zarr"} <= paths, paths
    assert "chaosatlas" in index["citation"] and all(
        len(d["sha256"]) == 64 for d in index["products"]
    )
    leaderboard = (a / "leaderboard.html").read_text()
    for model in ("persistence", "climatology", "linear", "nvar", "esn", "koopa", "deepedm", "stu"):
        assert f"<b>{model}</b>" in leaderboard


def _chromium() -> str:
    """The Chromium binary; installs Debian's `chromium` when root and apt-get are there."""
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("no chromium, and installing it needs root and apt-get")
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(install, capture_output=True, env=env, timeout=600).returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, env=env, timeout=600)
        proc = subprocess.run(install, capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, f"apt-get install chromium failed:\n{proc.stderr[-2000:]}"
    return shutil.which("chromium")


# offline-safe flags; the virtual-time budget lets the report's scripts render
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--hide-scrollbars", "--virtual-time-budget=15000",
)  # fmt: skip


def test_report_opens_in_headless_chromium(two_runs, tmp_path):
    from PIL import Image

    workdir = two_runs[0]
    proc = run_workflow(workdir, "--report", "results/report.html")
    report = workdir / "results" / "report.html"
    assert proc.returncode == 0 and report.is_file(), proc.stderr[-3000:]
    chromium = _chromium()
    shot = tmp_path / "report.png"
    proc = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, "--window-size=1400,1400", f"--screenshot={shot}",
         report.as_uri()],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert shot.is_file(), proc.stderr[-3000:]
    image = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert image.shape == (1400, 1400)
    # not blank: many grey levels, and text (dark pixels) on a light page
    assert image.std() > 20, image.std()
    assert len(np.unique(image)) > 50
    assert (image < 100).mean() > 0.005
    dom = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, "--dump-dom", report.as_uri()],
        capture_output=True, text=True, timeout=300,
    ).stdout  # fmt: skip
    # the leaderboard table, rendered by the report's scripts into the front page
    # (in the file it is only an escaped string inside a script)
    assert (
        'id=\\"leaderboard\\"' in report.read_text()
        and 'id="leaderboard"' not in report.read_text()
    )
    rendered = re.sub(r"<script.*?</script>", "", dom, flags=re.S)
    assert '<table class="chaosatlas" id="leaderboard">' in rendered, rendered[:2000]
    assert "<b>nvar</b>" in dom and "Forecast leaderboard" in dom
