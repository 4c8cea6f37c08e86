"""Fault injection on the product writers and readers.

Killed writers (SIGKILL mid-write), a store without its completion marker
(the ``snakemake --keep-incomplete`` trap, snakemake #3808), unaligned region
writes, torn and lost chunks, a full and a read-only file system. Each test
injects the fault for real (a killed process, a tiny tmpfs, a read-only bind
mount) and checks what a later reader or rerun sees; see
``specs/reliability.md`` for what fails silently on this stack.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

from chaosatlas import forecast, products
from chaosatlas.publish import checksum
from chaosatlas.schemas import ProductError, check_trajectory_store

CLI = [sys.executable, "-m", "chaosatlas.cli"]
SYSTEM = "Lorenz"
N_TRAJ, N_POINTS, BLOCK = 6, 32, 2
FAILED = (4, 5)  # one whole chunk of diverged trajectories: x all NaN there


# ----------------------------------------------------------------------------- helpers


def _trajectory_dataset(seed: int = 0) -> xr.Dataset:
    """One system's group as pipeline._layout_group lays it out, filled in."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N_TRAJ, N_POINTS, 3))
    status = np.zeros(N_TRAJ, dtype=np.int8)
    t_fail = np.full(N_TRAJ, np.nan)
    for k in FAILED:
        x[k] = np.nan
        status[k] = 2  # diverged
        t_fail[k] = 0.0
    time_ = np.arange(N_POINTS) * 0.01
    ds = xr.Dataset(
        {
            "x": (("trajectory", "time", "variable"), x),
            "status": (("trajectory",), status),
            "t_fail": (("trajectory",), t_fail),
            "initial_state": (("trajectory", "variable"), rng.standard_normal((N_TRAJ, 3))),
        },
        coords={
            "trajectory": ("trajectory", np.arange(N_TRAJ, dtype=np.int64)),
            "time": ("time", time_),
            "time_periods": ("time", np.full(N_POINTS, np.nan)),  # no period: all fill
            "variable": ("variable", np.array(["x", "y", "z"], dtype=object)),
        },
    )
    ds.attrs.update(
        system=SYSTEM, kind="flow", parameters="{}", integrator="dop853", rtol=1e-9,
        atol=1e-12, dt=0.01, period=float("nan"), seed=seed, split="train",
        chaosatlas_version="test", config_hash="0" * 64,
    )  # fmt: skip
    return ds


def make_store(final: Path, seed: int = 0) -> Path:
    """A complete one-group trajectory store: crc32c chunks of ``BLOCK`` trajectories."""
    from zarr.codecs import Crc32cCodec, ZstdCodec

    ds = _trajectory_dataset(seed)
    codecs = (ZstdCodec(level=3), Crc32cCodec())
    fills = {"x": np.nan, "status": -1, "t_fail": np.nan, "initial_state": np.nan}
    encoding = {
        name: {"compressors": codecs, "fill_value": fill, "chunks": (BLOCK, *ds[name].shape[1:])}
        for name, fill in fills.items()
    }
    tmp = products.temporary_sibling(final)
    ds.to_zarr(str(tmp), group=SYSTEM, mode="w", consolidated=False, zarr_format=3,
               encoding=encoding)  # fmt: skip
    zarr.open_group(str(tmp), mode="r+").attrs.update(
        {"systems": json.dumps([SYSTEM]), "skipped": "{}", "schema_version": "1"}
    )
    check_trajectory_store(tmp, require_marker=False)
    return products.install_directory(tmp, final)


def temporaries(final: Path) -> list[Path]:
    return sorted(final.parent.glob(f"{final.name}.tmp-*"))


def _kill_when(proc: subprocess.Popen, ready, deadline_s: float = 40.0) -> None:
    """SIGKILL ``proc`` as soon as ``ready()``; fail if it ends first."""
    deadline = time.monotonic() + deadline_s
    while not ready():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the writer ended (rc {proc.returncode}) before it was killed:\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the writer did not start writing in time")
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=20)
    assert proc.returncode == -signal.SIGKILL


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True, timeout=20)


def _umount(path: Path) -> None:
    done = subprocess.run(["umount", str(path)], capture_output=True, timeout=20)
    if done.returncode:  # still busy (a leaked handle): detach it
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=20)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (needs root, or CAP_SYS_ADMIN)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    try:
        _mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt))
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {getattr(exc, 'stderr', '') or exc}")
    try:
        yield mnt
    finally:
        _umount(mnt)


def _free(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def _random_dataset(n: int, seed: int = 0) -> xr.Dataset:
    # random doubles: zlib cannot shrink them below the free space
    return xr.Dataset({"score": (("row",), np.random.default_rng(seed).random(n))})


# ----------------------------------------------------------------------------- 2. killed Zarr writer

ZARR_WRITER = r"""
import sys, time
from pathlib import Path
import numpy as np, zarr
from chaosatlas import products
final = Path(sys.argv[1])
tmp = products.temporary_sibling(final)
root = zarr.open_group(str(tmp), mode="w", zarr_format=3)
x = root.create_array("x", shape=(64, 256), chunks=(4, 256), dtype="f8", fill_value=np.nan)
for start in range(0, 64, 4):
    products.write_region(x, start, start + 4, np.full((4, 256), float(start)))
    time.sleep(0.2)  # a slow integration: killed part way through the store
products.install_directory(tmp, final)
"""


def _write_zarr_product(final: Path, value: float) -> None:
    tmp = products.temporary_sibling(final)
    root = zarr.open_group(str(tmp), mode="w", zarr_format=3)
    x = root.create_array("x", shape=(64, 256), chunks=(4, 256), dtype="f8", fill_value=np.nan)
    products.write_region(x, 0, 64, np.full((64, 256), value))
    products.install_directory(tmp, final)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("old", [False, True], ids=["no-old-store", "old-store"])
def test_sigkilled_zarr_writer_leaves_nothing_at_the_final_path(tmp_path, old):
    final = tmp_path / "train.zarr"
    before = None
    if old:
        _write_zarr_product(final, -1.0)
        before = checksum(final)
    proc = subprocess.Popen([sys.executable, "-c", ZARR_WRITER, str(final)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip

    def some_chunks_written() -> bool:
        return any((tmp / "x" / "c" / "0" / "0").is_file() for tmp in temporaries(final))

    _kill_when(proc, some_chunks_written)
    if old:
        assert checksum(final) == before  # byte for byte the old store
        assert products.is_complete(final)
        np.testing.assert_array_equal(zarr.open_array(str(final / "x"), mode="r")[:], -1.0)
    else:
        assert not final.exists()
    (stale,) = temporaries(final)  # the kill really was mid-write: a half store
    assert not products.is_complete(stale)
    with pytest.raises(ProductError, match="is not set"):
        products.require_complete(stale)
    assert products.sweep_temporaries(final) == [stale]
    assert temporaries(final) == [] and final.exists() == old


# ----------------------------------------------------------------------------- 7. killed NetCDF writer

NETCDF_WRITER = r"""
import sys, time
import dask, dask.array as da, xarray as xr
from chaosatlas import products

def slow(block):
    time.sleep(0.05)  # a slow computation: killed part way through the file
    return block

dask.config.set(scheduler="synchronous")
x = da.ones((100, 2000), chunks=(1, 2000)).map_blocks(slow, dtype=float)
products.write_netcdf(xr.Dataset({"score": (("row", "col"), x)}), sys.argv[1])
"""


@pytest.mark.timeout(90)
@pytest.mark.parametrize("old", [False, True], ids=["no-old-file", "old-file"])
def test_sigkilled_write_netcdf_keeps_old_file_and_next_write_sweeps(tmp_path, old):
    final = tmp_path / "forecast.nc"
    before = None
    if old:
        products.write_netcdf(_random_dataset(50, seed=1), final)
        before = final.read_bytes()
    proc = subprocess.Popen([sys.executable, "-c", NETCDF_WRITER, str(final)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip

    def writing() -> bool:
        return any(tmp.stat().st_size > 0 for tmp in temporaries(final))

    _kill_when(proc, writing)
    if old:
        assert final.read_bytes() == before
    else:
        assert not final.exists()
    (stale,) = temporaries(final)
    new = _random_dataset(20, seed=2)
    products.write_netcdf(new, final)
    assert not stale.exists() and temporaries(final) == []
    with xr.open_dataset(final, engine="netcdf4") as back:
        np.testing.assert_array_equal(back["score"].values, new["score"].values)


@pytest.mark.timeout(30)
def test_sweep_removes_only_temporaries_of_that_exact_name(tmp_path):
    final = tmp_path / "index.json"
    ours = [
        tmp_path / "index.json.tmp-0123456789ab",  # write_netcdf / temporary_sibling
        tmp_path / "index.json.tmp-abcdef012345.json",  # write_atomically
    ]
    ours_dir = tmp_path / "index.json.tmp-fedcba987654"  # a directory (a Zarr store)
    others = [
        tmp_path / "index.json",
        tmp_path / "xindex.json.tmp-0123456789ab",  # another product's name ends the same
        tmp_path / "index.tmp-0123456789ab",  # the stem, not the name
        tmp_path / "index.json.tmp-notanid",
        tmp_path / "index.json.tmp-0123456789ab.bak",
        tmp_path / "index.json.tmp-0123456789abc",  # 13 digits: not an id
    ]
    for p in ours + others:
        p.write_text("x")
    (ours_dir / "x").mkdir(parents=True)
    (ours_dir / "x" / "zarr.json").write_text("{}")
    products.write_atomically(final, lambda tmp: tmp.write_text('{"new": 1}'))
    assert not any(p.exists() for p in [*ours, ours_dir])
    assert all(p.exists() for p in others)
    assert final.read_text() == '{"new": 1}'
    assert products.sweep_temporaries(tmp_path / "nowhere" / "a.nc") == []


# ----------------------------------------------------------------------------- 3. incomplete store


@pytest.mark.timeout(60)
def test_train_stage_refuses_a_store_without_its_completion_marker(tmp_path):
    train = make_store(tmp_path / "train.zarr", seed=0)
    val = make_store(tmp_path / "val.zarr", seed=1)
    x, attrs = forecast.load_split(train, SYSTEM)
    assert x.shape == (N_TRAJ - len(FAILED), N_POINTS, 3) and np.isfinite(x).all()
    assert attrs["variables"] == ["x", "y", "z"]
    # what `snakemake --keep-incomplete` leaves: the store, without the marker
    del zarr.open_group(str(train), mode="r+").attrs[products.COMPLETE_MARKER]
    assert not products.is_complete(train)
    checkpoint, report = tmp_path / "ckpt.pt", tmp_path / "train.json"
    config = {"seed": 1, "forecast": {"systems": [SYSTEM], "models": ["persistence"]}}
    with pytest.raises(ProductError) as refused:
        forecast.train_model("persistence", SYSTEM, config, train, val, checkpoint, report)
    message = str(refused.value)
    assert str(train) in message and repr(products.COMPLETE_MARKER) in message
    assert "incomplete" in message
    assert not checkpoint.exists() and not report.exists()
    for reader in (
        lambda: forecast.load_split(train, SYSTEM),
        lambda: check_trajectory_store(train),
    ):
        with pytest.raises(ProductError, match=products.COMPLETE_MARKER):
            reader()
    forecast.load_split(val, SYSTEM)  # the complete one still reads
    with pytest.raises(FileNotFoundError, match="'Nope'"):
        forecast.load_split(val, "Nope")


# ----------------------------------------------------------------------------- 6. aligned regions


def _array(tmp_path: Path, shards: tuple[int, int] | None = None):
    return zarr.create_array(store=str(tmp_path / "a.zarr"), shape=(10, 3), chunks=(2, 3),
                             shards=shards, dtype="f8", fill_value=np.nan)  # fmt: skip


@pytest.mark.timeout(30)
def test_write_region_writes_whole_chunks(tmp_path):
    a = _array(tmp_path)
    products.write_region(a, 2, 6, np.ones((4, 3)))
    products.write_region(a, 8, 10, np.full((2, 3), 2.0))
    back = a[:]
    np.testing.assert_array_equal(back[2:6], 1.0)
    np.testing.assert_array_equal(back[8:10], 2.0)
    assert np.isnan(back[[0, 1, 6, 7]]).all()
    s = _array(tmp_path / "sharded", shards=(4, 3))  # last shard partial: stop == length
    products.write_region(s, 4, 8, np.ones((4, 3)))
    products.write_region(s, 8, 10, np.ones((2, 3)))
    np.testing.assert_array_equal(s[4:], 1.0)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("shards", "start", "stop", "message"),
    [
        (None, 1, 4, "chunk size 2"),  # unaligned start
        (None, 2, 5, "chunk size 2"),  # unaligned stop (not the end either)
        ((4, 3), 2, 4, "shard size 4"),  # chunk-aligned, not shard-aligned
        ((4, 3), 4, 6, "shard size 4"),
        (None, 4, 12, "not within"),
        (None, 4, 4, "not within"),
    ],
)
def test_write_region_refuses_an_unaligned_region_before_writing(
    tmp_path, shards, start, stop, message
):
    a = _array(tmp_path, shards)
    a[:] = np.zeros((10, 3))
    store = tmp_path / "a.zarr"
    files = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    with pytest.raises(ValueError, match=message):
        products.write_region(a, start, stop, np.ones((max(stop - start, 0), 3)))
    np.testing.assert_array_equal(a[:], 0.0)
    assert {p: p.read_bytes() for p in store.rglob("*") if p.is_file()} == files
    with pytest.raises(ValueError, match="shape"):
        products.write_region(_array(tmp_path / "b"), 0, 4, np.ones((2, 3)))


# ----------------------------------------------------------------------------- 8. torn and lost chunks


def _invalid_entries(stderr: str) -> dict[str, str]:
    """``chaosatlas validate``'s stderr as ``{store name: its message}``."""
    entries = {}
    for block in stderr.split("invalid: ")[1:]:
        entries[Path(block.split(":", 1)[0]).name] = block
    return entries


@pytest.mark.timeout(90)
def test_validate_names_the_array_and_chunk_of_a_torn_or_lost_chunk(tmp_path):
    good = make_store(tmp_path / "good.zarr")
    torn = make_store(tmp_path / "torn.zarr")
    lost = make_store(tmp_path / "lost.zarr")
    group = good / SYSTEM
    # only fill values: zarr stores no chunk, and that is not an error
    assert not (group / "x" / "c" / "2" / "0" / "0").exists()
    assert not (group / "t_fail" / "c" / "0").exists()
    assert not (group / "time_periods" / "c" / "0").exists()
    chunk = torn / SYSTEM / "x" / "c" / "1" / "0" / "0"
    chunk.write_bytes(chunk.read_bytes()[: chunk.stat().st_size // 2])
    (lost / SYSTEM / "x" / "c" / "0" / "0" / "0").unlink()
    (lost / SYSTEM / "status" / "c" / "1").unlink()
    done = subprocess.run([*CLI, "validate", str(good), str(torn), str(lost)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert f"ok: trajectories ({good})" in done.stdout
    entries = _invalid_entries(done.stderr)
    assert set(entries) == {"torn.zarr", "lost.zarr"}, done.stderr
    assert (
        f"group '{SYSTEM}': variable 'x' chunk c/1/0/0 (trajectories 2-3) cannot be decoded"
        in entries["torn.zarr"]
    )
    assert (
        f"group '{SYSTEM}': variable 'x' chunk c/0/0/0 (trajectories 0-1) is missing"
        in entries["lost.zarr"]
    )
    assert (
        f"group '{SYSTEM}': variable 'status' chunk c/1 (trajectories 2-3) is missing"
        in entries["lost.zarr"]
    )
    assert "c/2/0/0" not in done.stderr  # the legitimately absent chunk is not blamed


# ----------------------------------------------------------------------------- 10. full disk, read-only


@pytest.mark.timeout(60)
def test_full_disk_write_netcdf_names_the_path_leaves_nothing_then_succeeds(tiny_disk):
    final = tiny_disk / "results" / "scores.nc"
    big = _random_dataset(400_000)  # 3.2 MB on a 1 MiB disk
    with pytest.raises(OSError) as full:
        products.write_netcdf(big, final)
    assert full.value.errno == errno.ENOSPC
    assert str(final) in str(full.value) and "No space left on device" in str(full.value)
    assert list(final.parent.iterdir()) == []  # no product, no temporary
    assert _free(tiny_disk) > 900 * 1024  # the failed temporary's blocks are freed
    _mount("-o", "remount,size=8m", str(tiny_disk))
    products.write_netcdf(big, final)
    with xr.open_dataset(final, engine="netcdf4") as back:
        np.testing.assert_array_equal(back["score"].values, big["score"].values)
    assert temporaries(final) == []


@pytest.mark.timeout(90)
def test_full_disk_cli_integrate_fails_cleanly_then_succeeds_after_freeing_space(tiny_disk):
    results = tiny_disk / "results"
    results.mkdir()
    filler = tiny_disk / "filler"
    with filler.open("wb") as fh:  # leave 16 KiB: less than the integration needs
        fh.write(b"\0" * (_free(tiny_disk) - 16 * 1024))
    out = results / "henon.nc"
    argv = [*CLI, "integrate", "Henon", "--out", str(out), "--points", "4096", "-q"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert f"cannot write {out}" in done.stderr
    assert "no space left on device" in done.stderr.lower()
    assert "Traceback" not in done.stderr
    assert list(results.iterdir()) == []
    filler.unlink()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    with xr.open_dataset(out, engine="netcdf4") as back:
        assert back["x"].shape == (1, 4096, 2) and np.isfinite(back["x"].values).all()
    assert temporaries(out) == []


@pytest.mark.timeout(90)
def test_read_only_results_refuse_writes_naming_the_path(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    old = results / "scores.nc"
    products.write_netcdf(_random_dataset(50, seed=1), old)
    before = old.read_bytes()
    try:
        _mount("--bind", str(results), str(results))
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot bind-mount here: {getattr(exc, 'stderr', '') or exc}")
    try:
        try:
            _mount("-o", "remount,ro,bind", str(results))
        except subprocess.SubprocessError as exc:
            pytest.skip(f"cannot remount read-only here: {getattr(exc, 'stderr', '') or exc}")
        for target in (old, results / "new.nc"):
            with pytest.raises(OSError) as refused:
                products.write_netcdf(_random_dataset(50, seed=2), target)
            assert f"cannot write {target}" in str(refused.value)
            assert refused.value.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
        assert old.read_bytes() == before
        assert sorted(p.name for p in results.iterdir()) == ["scores.nc"]
        store = results / "henon.zarr"
        done = subprocess.run([*CLI, "integrate", "Henon", "--out", str(store), "--points",
                               "256", "-q"], capture_output=True, text=True, timeout=60)  # fmt: skip
        assert done.returncode == 1, done.stderr
        assert f"cannot write {store}" in done.stderr and "Read-only file system" in done.stderr
        assert "Traceback" not in done.stderr
        assert sorted(p.name for p in results.iterdir()) == ["scores.nc"]
    finally:
        _umount(results)
    products.write_netcdf(_random_dataset(50, seed=2), old)  # writable again: the rerun works
    assert old.read_bytes() != before
