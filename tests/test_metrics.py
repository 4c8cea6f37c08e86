"""Forecast metrics: golden values on synthetic series."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chaosatlas.metrics import (
    mae,
    mse,
    power_spectrum_distance,
    smape,
    state_space_divergence,
    valid_prediction_time,
)


def test_errors_and_smape_golden_values():
    y = np.array([[1.0], [2.0], [-1.0], [0.0]])
    p = np.array([[1.0], [3.0], [1.0], [0.0]])
    assert mse(y, p) == pytest.approx((0 + 1 + 4 + 0) / 4)
    assert mae(y, p) == pytest.approx((0 + 1 + 2 + 0) / 4)
    # 200 * |x - y| / (|x| + |y|): 0, 200/5, 200 (opposite signs), 0 (0/0 counts as exact)
    assert smape(y, p) == pytest.approx((0 + 40 + 200 + 0) / 4)
    assert smape(y, -y) == pytest.approx(150.0)  # three terms of 200, one 0/0
    with pytest.raises(ValueError, match="shapes differ"):
        mse(y, p[:2])


def test_valid_prediction_time_of_a_known_error_curve():
    # truth 1, forecast drifts linearly: sMAPE_k = 200 e_k / (2 + e_k)
    steps = 100
    err = np.linspace(0, 1, steps)
    y = np.ones((steps, 1))
    p = y + err[:, None]
    terms = 200 * err / (2 + err)
    cumulative = np.cumsum(terms) / np.arange(1, steps + 1)
    first = int(np.argmax(cumulative > 30))
    assert valid_prediction_time(y, p, dt=0.5) == pytest.approx(first * 0.5)
    # never exceeding: the whole horizon; averaged over variables
    assert valid_prediction_time(y, y, dt=0.1) == pytest.approx(steps * 0.1)
    two = np.hstack([y, y]), np.hstack([p, y])
    assert valid_prediction_time(*two, dt=0.5) == pytest.approx((first + steps) / 2 * 0.5)


def test_identical_series_have_zero_distances():
    rng = np.random.default_rng(0)
    t = np.arange(4000) * 0.05
    x = np.stack([np.sin(t), np.cos(1.3 * t), np.sin(0.7 * t) ** 2], axis=1)
    assert power_spectrum_distance(x, x) == pytest.approx(0.0, abs=1e-7)
    assert state_space_divergence(x, x) == pytest.approx(0.0, abs=1e-12)
    other = rng.standard_normal(x.shape)
    assert state_space_divergence(x, other) > 1.0
    assert power_spectrum_distance(x, other) > 0.3


def test_state_space_divergence_matches_a_direct_histogram():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3000, 2))
    b = 0.8 * rng.standard_normal((2000, 2)) + 0.3
    # direct dense computation with the same rule
    std = a.std(axis=0)
    lo, hi = a.min(axis=0) - 0.1 * std, a.max(axis=0) + 0.1 * std
    edges = [np.linspace(lo[j], hi[j], 31) for j in range(2)]
    ha, _ = np.histogramdd(a, bins=edges)
    hb, _ = np.histogramdd(b[np.all((b >= lo) & (b <= hi), axis=1)], bins=edges)
    eps = 1e-5
    p = (ha + eps) / (ha.sum() + eps * 900)
    q = (hb + eps) / (hb.sum() + eps * 900)
    expected = float(np.sum(p * np.log(p / q)))
    assert state_space_divergence(a, b) == pytest.approx(expected, rel=1e-3)
    # a generated series entirely outside the truth's range
    assert math.isnan(state_space_divergence(a, a + 100.0))


def test_state_space_divergence_in_high_dimension_uses_gaussian_mixtures():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((500, 6))
    assert state_space_divergence(a, a, seed=3) == pytest.approx(0.0, abs=1e-12)
    assert state_space_divergence(a, a + 3.0, seed=3) > 5.0
