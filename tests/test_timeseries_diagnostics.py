"""Correlation dimension, Kaplan-Yorke, 0-1 test and Rosenstein against the literature."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chaosatlas import catalogue
from chaosatlas.diagnostics.dimensions import (
    correlation_dimension,
    correlation_sum,
    delay_embedding,
    kaplan_yorke_dimension,
    pesin_sum,
)
from chaosatlas.diagnostics.timeseries import max_lyapunov_rosenstein
from chaosatlas.diagnostics.zero_one import zero_one_for_series, zero_one_test
from chaosatlas.integrate.solve import solve

LORENZ_EXPONENTS = np.array([0.9056, 0.0, -14.5723])
HENON_EXPONENTS = np.array([0.41922, -1.62319])


def _flow(name: str, x0, dt: float, n: int, transient: float = 50.0) -> np.ndarray:
    t = np.concatenate([[0.0], transient + np.arange(n) * dt])
    sol = solve(catalogue.get(name), np.array([x0], dtype=float), t, rtol=1e-10, atol=1e-10)
    assert sol.ok[0]
    return sol.x[0, 1:]


def _map(name: str, x0, n: int, transient: int = 1000) -> np.ndarray:
    sol = solve(
        catalogue.get(name), np.array([x0], dtype=float), np.arange(n + transient, dtype=float)
    )
    assert sol.ok[0]
    return sol.x[0, transient:]


@pytest.fixture(scope="module")
def lorenz_sparse():
    """20,000 Lorenz points 0.1 apart (about 7 per orbit around a wing)."""
    return _flow("Lorenz", [1.0, 1.0, 20.0], 0.1, 20_000)


@pytest.fixture(scope="module")
def lorenz_dense():
    return _flow("Lorenz", [1.0, 1.0, 20.0], 0.02, 10_000)


@pytest.fixture(scope="module")
def henon():
    return _map("Henon", [0.1, 0.1], 20_000)


# ----------------------------------------------------------------------------- Kaplan-Yorke


def test_kaplan_yorke_reference_values():
    # metrics.md: Lorenz 2.0621, Henon 1.2583, Rossler 2.0132
    assert kaplan_yorke_dimension(LORENZ_EXPONENTS) == pytest.approx(2.0621, abs=1e-4)
    assert kaplan_yorke_dimension(HENON_EXPONENTS) == pytest.approx(1.2583, abs=1e-4)
    assert kaplan_yorke_dimension([0.0714, 0.0, -5.3943]) == pytest.approx(2.0132, abs=1e-4)


def test_kaplan_yorke_edge_cases():
    assert kaplan_yorke_dimension([-0.1, -1.0]) == 0.0  # a stable fixed point
    assert kaplan_yorke_dimension([0.3, 0.0, -0.3]) == 3.0  # conservative: all partial sums >= 0
    assert kaplan_yorke_dimension([0.0, -1.0]) == 1.0  # a limit cycle
    # order does not matter, and the dimension never exceeds the number of exponents
    assert kaplan_yorke_dimension(LORENZ_EXPONENTS[::-1]) == kaplan_yorke_dimension(
        LORENZ_EXPONENTS
    )
    rng = np.random.default_rng(0)
    for _ in range(200):
        lam = rng.normal(size=rng.integers(1, 8))
        assert 0.0 <= kaplan_yorke_dimension(lam) <= lam.size
    assert math.isnan(kaplan_yorke_dimension([np.nan, -1.0]))


def test_pesin_sum():
    assert pesin_sum([0.11, 0.02, 0.0, -1.0]) == pytest.approx(0.13)
    assert pesin_sum([-0.1, -2.0]) == 0.0


# ----------------------------------------------------------------------------- correlation dimension


def test_correlation_sum_equals_brute_force():
    rng = np.random.default_rng(4)
    x = np.cumsum(rng.normal(size=(600, 3)), axis=0) * 0.1 + rng.normal(size=(600, 3))
    radii = np.geomspace(0.05, 5.0, 12)
    for theiler in (0, 1, 7):
        i, j = np.triu_indices(len(x), k=theiler + 1)
        d = np.linalg.norm(x[i] - x[j], axis=1)
        expected = np.array([(d <= r).sum() for r in radii]) / len(d)
        np.testing.assert_allclose(correlation_sum(x, radii, theiler), expected, rtol=1e-12)


def test_correlation_dimension_lorenz(lorenz_sparse):
    # Grassberger & Procaccia (1983): 2.05 +- 0.01
    cd = correlation_dimension(lorenz_sparse, theiler=10)
    assert cd.value == pytest.approx(2.05, abs=0.05)
    assert 0 < cd.uncertainty < 0.1
    lo, hi = cd.scaling_region
    assert hi / lo >= 8.0  # the fitted region spans almost a decade


def test_correlation_dimension_henon(henon):
    # Grassberger & Procaccia (1983): 1.21 +- 0.01
    cd = correlation_dimension(henon, theiler=1)
    assert cd.value == pytest.approx(1.22, abs=0.03)


def test_correlation_dimension_of_simple_sets():
    rng = np.random.default_rng(1)
    circle = np.stack([np.cos(t := rng.uniform(0, 2 * np.pi, 5000)), np.sin(t)], axis=1)
    assert correlation_dimension(circle, theiler=0).value == pytest.approx(1.0, abs=0.05)
    square = rng.uniform(size=(8000, 2))
    assert correlation_dimension(square, theiler=0).value == pytest.approx(2.0, abs=0.1)
    point = np.zeros((500, 3))
    assert correlation_dimension(point).value == 0.0


def test_correlation_dimension_is_invariant_to_scaling(henon):
    a = correlation_dimension(henon[:5000], theiler=1).value
    b = correlation_dimension(henon[:5000] * 1000.0 + 7.0, theiler=1).value
    assert a == pytest.approx(b, abs=1e-6)


def test_delay_embedding():
    x = np.arange(10.0)
    e = delay_embedding(x, 3, 2)
    assert (
        e.shape == (6, 3) and e[0].tolist() == [0.0, 2.0, 4.0] and e[-1].tolist() == [5.0, 7.0, 9.0]
    )
    with pytest.raises(ValueError):
        delay_embedding(x, 6, 2)


# ----------------------------------------------------------------------------- 0-1 test


def test_zero_one_lorenz_is_chaotic(lorenz_dense):
    assert zero_one_for_series(lorenz_dense, period=0.75, dt=0.02, seed=1) > 0.9


def test_zero_one_van_der_pol_is_regular():
    x = _flow("VanDerPol", [2.0, 0.0], 0.05, 60_000)
    assert abs(zero_one_for_series(x, period=6.66, dt=0.05, seed=1)) < 0.1


def test_zero_one_needs_decimation(lorenz_dense):
    # metrics.md: on oversampled data the test wrongly returns K ~ 0
    fine = _flow("Lorenz", [1.0, 1.0, 20.0], 0.001, 5_000)
    assert zero_one_test(fine[:, 0], seed=1) < 0.5
    assert zero_one_for_series(lorenz_dense, period=0.75, dt=0.02, seed=1) > 0.9


def test_zero_one_on_maps_and_constants():
    logistic = _map("Logistic", [0.3], 3000)[:, 0]
    assert zero_one_test(logistic, seed=2) > 0.9
    period_two = np.tile([0.2, 0.8], 1500)
    assert abs(zero_one_test(period_two, seed=2)) < 0.1
    assert zero_one_test(np.ones(500)) == 0.0
    with pytest.raises(ValueError, match="at least 100"):
        zero_one_test(np.ones(50))


def test_zero_one_is_seeded(lorenz_dense):
    a = zero_one_for_series(lorenz_dense, period=0.75, dt=0.02, seed=5)
    assert a == zero_one_for_series(lorenz_dense, period=0.75, dt=0.02, seed=5)


# ----------------------------------------------------------------------------- Rosenstein


def test_rosenstein_lorenz(lorenz_dense):
    r = max_lyapunov_rosenstein(lorenz_dense, dt=0.02)
    assert r.value == pytest.approx(0.9056, rel=0.1)
    assert r.fit_range[0] < r.fit_range[1]


def test_rosenstein_maps(henon):
    assert max_lyapunov_rosenstein(henon[:10_000]).value == pytest.approx(0.41922, rel=0.05)
    logistic = _map("Logistic", [0.3], 10_000)
    assert max_lyapunov_rosenstein(logistic).value == pytest.approx(math.log(2), rel=0.05)


def test_rosenstein_limit_cycle_has_no_divergence():
    # neighbours on a limit cycle do not separate: no slope to fit, NaN with the reason
    x = _flow("VanDerPol", [2.0, 0.0], 0.2, 8_000)
    r = max_lyapunov_rosenstein(x, dt=0.2)
    assert math.isnan(r.value) and "no exponential divergence" in r.reason


def test_rosenstein_failure_is_nan_with_a_reason_never_zero():
    # a rollout collapsed to a fixed point: constant after a short decay
    t = np.arange(2_000) * 0.05
    x = np.stack([np.exp(-t), np.exp(-2 * t)], axis=1)
    x[400:] = x[400]
    r = max_lyapunov_rosenstein(x, dt=0.05)
    assert math.isnan(r.value) and r.reason
    ok = max_lyapunov_rosenstein(_flow("Lorenz", [1.0, 1.0, 1.0], 0.02, 6_000)[1000:], dt=0.02)
    assert ok.reason == "" and ok.value > 0.5


def test_rosenstein_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 200"):
        max_lyapunov_rosenstein(np.zeros((50, 2)))
    x = np.ones((500, 2))
    x[10, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        max_lyapunov_rosenstein(x)
