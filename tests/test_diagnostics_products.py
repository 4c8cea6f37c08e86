"""Diagnostics products: verdict rules, schemas, CF compliance."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chaosatlas.diagnostics.stage import (
    SystemDiagnostics,
    compare_with_reference,
    entropy_dataset,
    invariants_dataset,
)
from chaosatlas.diagnostics.verdict import classify, zero_tolerance
from chaosatlas.products import provenance, write_netcdf
from chaosatlas.schemas import ProductError, validate_entropy, validate_invariants


def test_verdicts():
    chaotic = classify("flow", np.array([0.9, 0.0, -14.5]), np.full(3, 0.005), 0.98, 0.75)
    assert chaotic.verdict == "chaotic" and "lambda_1" in chaotic.reason
    hyper = classify("flow", np.array([0.1, 0.02, 0.0, -20]), np.full(4, 1e-4), 0.95, 1.0)
    assert hyper.verdict == "chaotic" and "hyperchaotic" in hyper.reason
    cycle = classify("flow", np.array([1e-4, -0.8]), np.full(2, 1e-4), 0.02, 6.6)
    assert cycle.verdict == "periodic"
    torus = classify("flow", np.array([1e-5, -1e-5, -2.0]), np.full(3, 1e-4), 0.05, 6.0)
    assert torus.verdict == "quasi_periodic"
    fixed = classify("flow", np.array([-0.3, -1.0]), np.full(2, 1e-3), 0.0, 1.0)
    assert fixed.verdict == "fixed_point"
    forced = classify(
        "flow", np.array([-0.05, -2.0]), np.full(2, 1e-3), 0.01, 10.0, is_autonomous=False
    )
    assert forced.verdict == "periodic"
    disagree = classify("flow", np.array([0.5, 0.0, -3]), np.full(3, 0.01), 0.1, 1.0)
    assert disagree.verdict == "inconclusive" and "0-1" in disagree.reason
    noisy = classify("flow", np.array([0.02, 0.0, -3]), np.full(3, 0.01), 0.9, 1.0)
    assert noisy.verdict == "inconclusive"  # 0.02 is within 3 standard errors of 0
    failed = classify(
        "flow", np.zeros(0), np.zeros(0), np.nan, 1.0, failed="2 of 4 tangent integrations failed"
    )
    assert failed.verdict == "not_computed" and failed.reason


def test_stated_behaviour_is_compared_with_the_verdict():
    d = SystemDiagnostics("Torus", "flow", 3, ["x", "y", "z"], 6.28)
    d.verdict = "chaotic"
    check, disagrees = compare_with_reference(
        d, {"behaviour": {"value": "quasi_periodic", "source": "s"}}
    )
    assert disagrees == 1 and "literature quasi_periodic (DISAGREES)" in check
    d.verdict = "periodic"  # two regular verdicts count as matching
    assert (
        compare_with_reference(d, {"behaviour": {"value": "quasi_periodic", "source": "s"}})[1] == 0
    )


def test_zero_reference_exponent_has_an_absolute_tolerance():
    d = SystemDiagnostics("HarmonicOscillator", "flow", 2, ["x", "v"], 6.28)
    d.exponents, d.exponent_uncertainty = np.array([-2e-10, -3e-10]), np.full(2, 1e-12)
    d.averaging_time = 3000.0
    ref = {"lyapunov_spectrum": {"value": [0, 0], "source": "exact"}}
    assert compare_with_reference(d, ref)[1] == 0
    d.exponents = np.array([0.05, -0.05])
    assert compare_with_reference(d, ref)[1] == 1


def test_verdicts_from_the_long_run():
    lam, sig = np.array([0.3, 0.0, -5.0]), np.full(3, 0.01)
    escapes = classify("flow", lam, sig, 0.99, 1.0, long_run="diverged: |x| exceeded the bound")
    assert escapes.verdict == "diverges" and "bound" in escapes.reason
    transient = classify("flow", lam, sig, 0.7, 1.0, long_run="settled: came to rest at t = 400")
    assert transient.verdict == "transient_chaos" and "t = 400" in transient.reason
    # a stable fixed point that was reached is just a fixed point
    rest = classify("flow", np.array([-0.2, -1.0]), sig[:2], 0.0, 1.0, long_run="settled: ...")
    assert rest.verdict == "fixed_point"


def test_mixed_phase_space_counts_the_chaotic_initial_conditions():
    lam, sig = np.array([0.05, -0.05]), np.array([0.02, 0.02])  # mean not significant
    per = np.array([0.076, 0.061, 0.0003, 0.067])  # one initial condition on an island
    mixed = classify("flow", lam, sig, 0.99, 14.0, averaging_time=7000.0, per_trajectory=per)
    assert mixed.verdict == "chaotic" and "3 of 4" in mixed.reason
    regular = classify("flow", lam, sig, 0.2, 14.0, averaging_time=7000.0, per_trajectory=per)
    assert regular.verdict != "chaotic"  # the 0-1 test must agree
    few = np.array([0.076, 0.0003, 0.0002, 0.0001])
    assert (
        classify("flow", lam, sig, 0.99, 14.0, averaging_time=7000.0, per_trajectory=few).verdict
        == "inconclusive"
    )


def test_tolerance_shrinks_with_the_averaging_time():
    assert zero_tolerance("flow", 1.0, 0.0) == pytest.approx(0.01)
    assert zero_tolerance("flow", 1.0, 0.0, averaging_time=5000.0) == pytest.approx(1e-3)
    assert zero_tolerance("flow", 1.0, 0.01, averaging_time=5000.0) == pytest.approx(0.03)
    weak = np.array([0.004, 0.0, -1.0])
    short = classify("flow", weak, np.full(3, 1e-4), 0.9, 1.0, averaging_time=500.0)
    long = classify("flow", weak, np.full(3, 1e-4), 0.9, 1.0, averaging_time=8000.0)
    assert short.verdict == "inconclusive" and long.verdict == "chaotic"


def test_settled_detects_a_run_that_comes_to_rest():
    from chaosatlas.diagnostics.stage import _settled

    t = np.arange(1000.0)
    moving = np.stack([np.sin(t), np.cos(t)], axis=1)
    assert _settled(moving, 0.5) == ""
    resting = moving.copy()
    resting[400:] = [0.3, -0.2]
    assert _settled(resting, 0.5) == "settled: came to rest on a fixed point at t = 200"


def test_left_transient_detects_chaos_that_gives_way_to_a_cycle():
    from chaosatlas.diagnostics.stage import _left_transient

    rng = np.random.default_rng(0)
    x = np.empty(4000)
    x[0] = 0.3
    for i in range(1, 4000):  # logistic map at r = 4: chaotic
        x[i] = 4 * x[i - 1] * (1 - x[i - 1])
    cycle = np.cos(2 * np.pi * 0.37 * np.arange(2000))  # one sample per period: regular
    assert _left_transient(x[:, None], 100, 1, True) == ""
    transient = np.concatenate([x[:2000], cycle])[:, None]
    note = _left_transient(transient, 100, 1, True)
    assert note.startswith("settled:") and "first 2000 iterations" in note
    # a regular first half is not a transient
    assert _left_transient(np.concatenate([cycle, x[:2000]])[:, None], 100, 1, True) == ""
    assert _left_transient(rng.standard_normal((600, 2)), 100, 1, False) == ""


def _rows():
    a = SystemDiagnostics("Lorenz", "flow", 3, ["x", "y", "z"], 0.75)
    a.exponents, a.exponent_uncertainty = np.array([0.95, 0.0, -14.6]), np.full(3, 0.002)
    a.kaplan_yorke, a.pesin, a.correlation_dimension, a.zero_one_k = 2.065, 0.95, 2.04, 0.99
    a.verdict, a.reason = "chaotic", "lambda_1 > 0 and K = 0.99"
    a.entropy = {"x": {"permutation_entropy": np.linspace(0.5, 0.9, 5), "sample_entropy": 0.3}}
    a.reference = {"lyapunov_spectrum": {"value": [0.9056, 0, -14.5723], "source": "Sprott"}}
    b = SystemDiagnostics("Henon", "map", 2, ["x", "y"], 2.0)
    b.exponents, b.exponent_uncertainty = np.array([0.4192, -1.6232]), np.full(2, 1e-3)
    b.verdict, b.reason = "chaotic", "lambda_1 > 0"
    return [a, b]


ATTRS = {
    "Conventions": "CF-1.10",
    "title": "t",
    "history": "h",
    "source": "s",
    "schema_version": "1",
}


def test_reference_disagreement_is_reported_not_overwritten():
    a = _rows()[0]
    text, flag = compare_with_reference(a, a.reference)
    assert flag == 0 and "agrees" in text  # 0.95 vs 0.9056 is within 10%
    a.exponents = np.array([1.2, 0.0, -14.6])
    text, flag = compare_with_reference(a, a.reference)
    assert flag == 1 and "DISAGREES" in text and "1.2" in text and "0.9056" in text


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda ds: ds.assign(verdict=("system", np.array(["chaotic", "weird"], dtype=object))),
            "verdict",
        ),
        (
            lambda ds: ds.assign(kaplan_yorke_dimension=("system", np.array([4.5, np.nan]))),
            "Kaplan-Yorke",
        ),
        (lambda ds: ds.assign(reason=("system", np.array(["", "x"], dtype=object))), "reason"),
        (lambda ds: ds.assign(zero_one_k=("system", np.array([1.7, 0.2]))), "zero_one_k"),
    ],
)
def test_invariants_schema_rejects(mutate, message):
    ds = invariants_dataset(_rows(), {**provenance({"seed": 1}), **ATTRS})
    validate_invariants(ds)
    with pytest.raises(ProductError, match=message):
        validate_invariants(mutate(ds))


def test_missing_units_are_rejected():
    ds = invariants_dataset(_rows(), {**provenance({"seed": 1}), **ATTRS})
    ds["pesin_sum"].attrs.pop("units")
    with pytest.raises(ProductError, match="pesin_sum.*units"):
        validate_invariants(ds)


def test_products_pass_cf_compliance(tmp_path):
    attrs = {**provenance({"seed": 1}), **ATTRS}
    paths = [
        write_netcdf(
            invariants_dataset(_rows(), attrs),
            tmp_path / "invariants.nc",
            validate=validate_invariants,
        ),
        write_netcdf(
            entropy_dataset(_rows(), attrs), tmp_path / "entropy.nc", validate=validate_entropy
        ),
    ]
    checker = str(Path(sys.executable).with_name("compliance-checker"))
    for path in paths:
        proc = subprocess.run(
            [checker, "--test=cf:1.10", str(path)], capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert "All tests passed" in proc.stdout
