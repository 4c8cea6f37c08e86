"""Forecast metrics: golden values on synthetic series."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chaosatlas.metrics import (
    collapsed,
    mae,
    mse,
    power_spectrum_distance,
    smape,
    state_space_divergence,
    valid_prediction_steps,
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


def test_vpt_says_when_it_is_censored():
    steps = 50
    y = np.ones((steps, 2))
    p = y.copy()
    p[:, 1] += np.linspace(0, 2, steps)  # the second variable drifts away, the first never does
    k, censored = valid_prediction_steps(y, p)
    assert k[0] == steps and censored[0]  # at the cap: a lower bound, flagged
    assert k[1] < steps and not censored[1]
    assert valid_prediction_time(y, p) == pytest.approx(k.mean())


def test_a_non_finite_forecast_is_the_worst_never_a_gap():
    y = np.ones((40, 1))
    p = y.copy()
    p[10:] = np.nan  # blew up at step 10
    # cumulative sMAPE: 0 for 10 steps, then 200 per step; crosses 30 at step k with
    # 200 (k - 9) / (k + 1) > 30, i.e. k = 11 (200 * 2 / 12 = 33.3)
    k, censored = valid_prediction_steps(y, p)
    assert k[0] == 11 and not censored[0]
    assert smape(y, p) == pytest.approx(200 * 30 / 40)
    assert smape(y, np.full_like(y, np.inf)) == 200.0


def _tone(bin_index: int, n: int = 4096) -> np.ndarray:
    # a whole number of cycles: all the power in one rfft bin
    return np.sin(2 * np.pi * bin_index * np.arange(n) / n)


def test_power_spectrum_distance_of_tones_far_apart_is_one():
    # smoothing reaches 4 sigma = 80 bins: bins 300 and 1500 never overlap
    assert power_spectrum_distance(_tone(300), _tone(1500)) == pytest.approx(1.0, abs=1e-12)


def test_power_spectrum_distance_of_a_partial_overlap_by_hand():
    sigma, d = 20.0, 40
    # each tone's spectrum is the truncated Gaussian kernel centred on its bin
    radius = int(4 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    p = dict(zip(600 + offsets, kernel, strict=True))
    q = dict(zip(600 + d + offsets, kernel, strict=True))
    bc = sum(np.sqrt(p[i] * q[i]) for i in set(p) & set(q))
    expected = math.sqrt(1 - bc)
    assert power_spectrum_distance(_tone(600), _tone(600 + d)) == pytest.approx(expected, rel=1e-9)
    # and the continuous limit, Bhattacharyya coefficient exp(-d^2 / (8 sigma^2))
    assert expected == pytest.approx(math.sqrt(1 - math.exp(-(d**2) / (8 * sigma**2))), abs=2e-3)


def test_a_constant_rollout_has_the_worst_power_spectrum_distance():
    truth = np.stack([_tone(50), _tone(120)], axis=1)
    constant = np.full_like(truth, 0.3)
    noise = np.random.default_rng(0).standard_normal(truth.shape)
    assert power_spectrum_distance(truth, constant) == 1.0
    # a collapse never beats noise (it did: 0.715 against 0.809 before)
    assert power_spectrum_distance(truth, noise) < 1.0
    assert power_spectrum_distance(constant, constant) == 0.0


def test_collapse_to_a_point_is_detected():
    t = np.arange(3000) * 0.01
    truth = np.stack([np.sin(t), np.cos(t)], axis=1)
    decayed = 1e-5 * truth + 2.0  # a fixed point with a tiny ripple
    assert collapsed(truth, decayed) and collapsed(truth, np.zeros_like(truth))
    assert not collapsed(truth, 0.5 * truth)


def test_gaussian_mixture_divergence_of_a_shifted_gaussian():
    # one centre each: the mixtures are N(0, I) and N(mu, I), KL = |mu|^2 / 2
    mu = np.array([1.0, 0.5, 0.0, 0.0, 0.0, -1.0])
    n = 200_000  # Monte Carlo error |mu| / sqrt(n) = 0.0034
    d = state_space_divergence(np.zeros((1, 6)), mu[None, :], n_samples=n, seed=4)
    assert d == pytest.approx(mu @ mu / 2, abs=0.015)
