"""PCMCI / PCMCI+ through tigramite, an optional GPL-3 extra run in its own process.

The tests that need tigramite skip (with the install hint) when it is missing;
they never import it into this process (no ``pytest.importorskip``).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from causal_data import var1_series

import chaosatlas.causal.pcmci as pcmci_mod
from chaosatlas.causal import METHODS, auprc, auroc, run_method
from chaosatlas.causal._pcmci_worker import EXIT_USAGE
from chaosatlas.causal._pcmci_worker import main as worker_main
from chaosatlas.causal.pcmci import (
    UNAVAILABLE_REASON,
    edge_scores,
    pcmci,
    pcmci_available,
    run_pcmci,
)

AVAILABLE, WHY = pcmci_available()
needs_tigramite = pytest.mark.skipif(not AVAILABLE, reason=WHY)


@pytest.fixture(scope="module")
def var1() -> tuple[np.ndarray, np.ndarray]:
    return var1_series(1000)


@pytest.fixture(scope="module")
def drive_response() -> np.ndarray:
    """x drives y at lag 1 (and y does not drive x); T = 1000."""
    rng = np.random.default_rng(7)
    n = 1100
    x = np.zeros(n)
    y = np.zeros(n)
    for t in range(1, n):
        x[t] = 0.6 * x[t - 1] + rng.standard_normal()
        y[t] = 0.5 * y[t - 1] + 0.5 * x[t - 1] + rng.standard_normal()
    return np.column_stack([x, y])[100:]


@pytest.fixture
def missing(monkeypatch):
    """tigramite reported missing, and no worker process may start."""
    monkeypatch.setattr(pcmci_mod, "pcmci_available", lambda: (False, UNAVAILABLE_REASON))

    def no_process(*args, **kwargs):
        raise AssertionError("no worker process may start when tigramite is missing")

    monkeypatch.setattr(pcmci_mod.subprocess, "run", no_process)


# ----------------------------------------------------------------------------- availability


def test_registered():
    assert {"pcmci", "pcmciplus"} <= set(METHODS)


def test_available_does_not_import_tigramite():
    ok, reason = pcmci_available()
    assert isinstance(ok, bool)
    assert (reason == "") == ok
    assert "tigramite" not in sys.modules


def test_available_reports_missing(monkeypatch):
    real = pcmci_mod.importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name == "tigramite" else real(name, *args, **kwargs)

    monkeypatch.setattr(pcmci_mod.importlib.util, "find_spec", find_spec)
    ok, reason = pcmci_available()
    assert not ok
    assert reason == UNAVAILABLE_REASON
    assert "GPL-3" in reason and "pip install tigramite" in reason
    assert "chaosatlas[pcmci]" in reason


@pytest.mark.parametrize("variant", ["pcmci", "pcmciplus"])
def test_missing_tigramite_is_unavailable_not_zero(missing, var1, variant):
    X, _ = var1
    out = run_method(variant, X)
    assert out.status == "unavailable"
    assert out.reason == UNAVAILABLE_REASON
    assert out.score.shape == (5, 5) and np.isnan(out.score).all()  # never zeros
    assert out.pvalue is None
    out = run_pcmci(X, variant=variant, tau_max=2)
    assert out.status == "unavailable" and np.isnan(out.score).all()


def test_bad_data_fails_before_availability(missing):
    X = np.random.default_rng(0).standard_normal((300, 4))
    X[5, 1] = np.nan
    out = run_method("pcmci", X)
    assert out.status == "failed" and "NaN" in out.reason
    assert np.isnan(out.score).all()


def test_worker_that_cannot_import_tigramite_is_unavailable(monkeypatch, tmp_path, var1):
    # an installed-but-broken tigramite: find_spec finds it, the import fails
    fake = tmp_path / "tigramite"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('broken build')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setattr(pcmci_mod, "pcmci_available", lambda: (True, ""))
    out = run_pcmci(var1[0])
    assert out.status == "unavailable"
    assert "cannot import" in out.reason and "broken build" in out.reason
    assert np.isnan(out.score).all()


# ----------------------------------------------------------------------------- worker failures


def _fake_worker(monkeypatch, code: str) -> None:
    monkeypatch.setattr(pcmci_mod, "pcmci_available", lambda: (True, ""))
    monkeypatch.setattr(pcmci_mod, "_worker_command", lambda *args: [sys.executable, "-c", code])


def test_worker_timeout_is_failed(monkeypatch, var1):
    _fake_worker(monkeypatch, "import time; time.sleep(30)")
    out = run_pcmci(var1[0], timeout=0.5)
    assert out.status == "failed"
    assert "timed out after 0.5 s" in out.reason and "MethodFailed" in out.reason
    assert out.runtime_s < 10
    assert np.isnan(out.score).all()


def test_worker_crash_is_failed(monkeypatch, var1):
    _fake_worker(monkeypatch, "import sys; sys.stderr.write('boom in tigramite'); sys.exit(1)")
    out = run_pcmci(var1[0], variant="pcmciplus")
    assert out.status == "failed"
    assert "status 1" in out.reason and "boom in tigramite" in out.reason
    assert np.isnan(out.score).all()


def test_worker_without_output_is_failed(monkeypatch, var1):
    _fake_worker(monkeypatch, "pass")
    out = run_pcmci(var1[0])
    assert out.status == "failed" and "cannot read the worker's output" in out.reason


def test_worker_usage_errors_do_not_import_tigramite():
    assert worker_main(["a.npy", "b.npz"]) == EXIT_USAGE
    assert worker_main(["a.npy", "b.npz", "gpdc", "3", "0.2", "0.05"]) == EXIT_USAGE
    assert worker_main(["a.npy", "b.npz", "pcmci", "three", "0.2", "0.05"]) == EXIT_USAGE
    assert "tigramite" not in sys.modules


# ----------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"variant": "gpdc"}, "variant"),
        ({"tau_max": 0}, "tau_max"),
        ({"pc_alpha": 0.0}, "pc_alpha"),
        ({"pc_alpha": 1.5}, "pc_alpha"),
        ({"alpha_level": -0.1}, "alpha_level"),
        ({"timeout": 0}, "timeout"),
    ],
)
def test_parameter_errors(missing, kwargs, message):
    X = np.random.default_rng(0).standard_normal((300, 3))
    with pytest.raises(ValueError, match=message):
        pcmci(X, **kwargs)


def test_too_short_for_the_tests(missing):
    X = np.random.default_rng(0).standard_normal((40, 5))  # needs 3 + 2*5*4 + 3 = 46
    with pytest.raises(ValueError, match="too short"):
        pcmci(X)
    assert run_method("pcmci", X).status == "failed"


def test_run_pcmci_rejects_unknown_variant():
    with pytest.raises(ValueError, match="variant"):
        run_pcmci(np.zeros((100, 2)), variant="pcmci_gpdc")


# ----------------------------------------------------------------------------- score read-out


def test_edge_scores_lags_and_contemporaneous_orientation():
    N, L = 3, 3
    val = np.zeros((N, N, L))
    p = np.ones((N, N, L))
    graph = np.full((N, N, L), "", dtype="<U3")
    val[0, 1, 2], p[0, 1, 2] = -0.6, 1e-8  # lagged 0 -> 1 (sign ignored)
    val[1, 2, 0] = val[2, 1, 0] = 0.7  # oriented contemporaneous 1 -> 2
    p[1, 2, 0] = p[2, 1, 0] = 1e-9
    graph[1, 2, 0], graph[2, 1, 0] = "-->", "<--"
    val[0, 2, 0] = val[2, 0, 0] = 0.9  # unoriented 0 o-o 2: no direction
    p[0, 2, 0] = p[2, 0, 0] = 1e-12
    graph[0, 2, 0] = graph[2, 0, 0] = "o-o"
    val[1, 1, 1], p[1, 1, 1] = 0.5, 1e-5  # self-loop at lag 1

    s, pv = edge_scores(val, p, graph, "pcmci")  # lag 0 never counts
    assert s[0, 1] == pytest.approx(0.6) and pv[0, 1] == pytest.approx(1e-8)
    assert s[1, 2] == 0 and s[2, 1] == 0 and s[0, 2] == 0
    assert s[1, 1] == pytest.approx(0.5)

    s, pv = edge_scores(val, p, graph, "pcmciplus")
    assert s[0, 1] == pytest.approx(0.6)
    assert s[1, 2] == pytest.approx(0.7) and pv[1, 2] == pytest.approx(1e-9)
    assert s[2, 1] == 0 and pv[2, 1] == 1.0  # the reversed direction gets nothing
    assert s[0, 2] == 0 and s[2, 0] == 0  # unoriented: left out both ways
    with pytest.raises(ValueError, match="variant"):
        edge_scores(val, p, graph, "pc")
    with pytest.raises(ValueError, match="tau_max"):
        edge_scores(val[:, :, :1], p[:, :, :1], graph[:, :, :1], "pcmci")


# ----------------------------------------------------------------------------- with tigramite


@needs_tigramite
@pytest.mark.parametrize("variant", ["pcmci", "pcmciplus"])
def test_var1_graph_recovered(var1, variant):
    X, truth = var1
    out = run_pcmci(X, variant=variant)
    assert out.status == "ok", out.reason
    assert out.score.shape == (5, 5) and out.pvalue.shape == (5, 5)
    assert auroc(truth, out.score) >= 0.95
    assert auprc(truth, out.score) >= 0.9
    off = ~np.eye(5, dtype=bool)
    alpha = 0.05 if variant == "pcmci" else 0.01
    pred = (out.pvalue < alpha) & off
    assert (pred & (truth == 1)).sum() == 5  # every true edge at the method's own level
    # 15 non-edges x 3 lags, uncorrected: about 2.25 false links expected at 0.05
    assert (pred & (truth == 0)).sum() <= 3
    assert "tigramite" not in sys.modules  # it ran in its own process


@needs_tigramite
def test_pvalue_threshold_matches_tigramite_graph(var1):
    """PCMCI's own graph is p < alpha_level at some lag 1..tau_max: so is pvalue < alpha."""
    res = pcmci(var1[0], alpha_level=0.05)
    off = ~np.eye(5, dtype=bool)
    linked = (res.graph[:, :, 1:] == "-->").any(axis=2)
    np.testing.assert_array_equal(linked[off], (res.pvalue < 0.05)[off])
    assert (res.graph[:, :, 0] == "").all()  # tau_min = 1: lag 0 is not tested


@needs_tigramite
@pytest.mark.parametrize("variant", ["pcmci", "pcmciplus"])
def test_drive_response_orientation(drive_response, variant):
    res = pcmci(drive_response, variant=variant)
    assert res.score[0, 1] > 0.3 > res.score[1, 0]  # x -> y, not y -> x
    assert res.pvalue[0, 1] < 1e-6 and res.pvalue[1, 0] > 0.01
    assert res.val_matrix.shape == res.p_matrix.shape == res.graph.shape == (2, 2, 4)
    assert res.graph[0, 1, 1] == "-->"
    assert res.tau_min == (1 if variant == "pcmci" else 0)
    assert res.pc_alpha == (0.2 if variant == "pcmci" else 0.01)
    assert res.worker_runtime_s >= 0 and res.tigramite_version
    assert "tigramite" not in sys.modules


@needs_tigramite
def test_worker_module_runs_standalone(tmp_path, drive_response):
    np.save(tmp_path / "in.npy", drive_response)
    cmd = [sys.executable, "-m", "chaosatlas.causal._pcmci_worker"]
    cmd += [str(tmp_path / "in.npy"), str(tmp_path / "out.npz"), "pcmciplus", "2", "0.01", "0.05"]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=pcmci_mod._worker_env(), check=False
    )
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "out.npz") as out:
        assert out["val_matrix"].shape == (2, 2, 3)
        assert out["graph"][0, 1, 1] == "-->"
