"""Baselines: exact cases, the NVAR skill on Lorenz, save/load."""

from __future__ import annotations

import numpy as np
import pytest

from chaosatlas import catalogue
from chaosatlas.integrate.solve import solve
from chaosatlas.models import Forecaster
from chaosatlas.models.baselines import windows


def test_persistence_and_climatology():
    x = np.arange(2 * 50 * 3, dtype=float).reshape(2, 50, 3)
    f = Forecaster("persistence", 10, 4, 3)
    f.fit(x, x)
    ctx = x[:, :10]
    np.testing.assert_array_equal(f.predict(ctx), np.repeat(ctx[:, -1:], 4, axis=1))
    c = Forecaster("climatology", 10, 4, 3)
    c.fit(x, x)
    np.testing.assert_allclose(c.predict(ctx)[0, 0], x.reshape(-1, 3).mean(axis=0))


def test_linear_model_recovers_a_linear_recursion():
    # x_{t+1} = 1.8 x_t - 0.9 x_{t-1} is linear in the context: forecasts are exact
    x = np.zeros((3, 400, 1))
    rng = np.random.default_rng(0)
    x[:, :2, 0] = rng.standard_normal((3, 2))
    for t in range(2, 400):
        x[:, t] = 1.8 * x[:, t - 1] - 0.9 * x[:, t - 2]
    f = Forecaster("linear", 8, 5, 1, {"ridge": 1e-12})
    f.fit(x[:2], x[2:])
    w = windows(x[2:], 13)
    np.testing.assert_allclose(f.predict(w[:, :8]), w[:, 8:], atol=1e-6)


@pytest.fixture(scope="module")
def lorenz():
    s = catalogue.get("Lorenz")
    dt = 0.025
    t = np.arange(0, 20 + dt * 14_000, dt)
    x = solve(s, s.initial_state, t).x[0][int(round(20 / dt)) :]
    z = (x - x[:10_000].mean(axis=0)) / x[:10_000].std(axis=0)
    return z, dt


def test_nvar_forecasts_lorenz_for_three_lyapunov_times(lorenz):
    # trained on 10,000 points; normalised RMSE (RMSE / attractor std, which is 1
    # in these standardised units) stays below 0.3 for >= 3 Lyapunov times
    z, dt = lorenz
    f = Forecaster("nvar", 2, 400, 3, {"k": 2, "s": 1, "ridge": 1e-6})
    f.fit(z[None, :10_000], z[None, 10_000:])
    test = z[10_000:]
    starts = np.arange(0, 3000, 300)
    pred = f.predict(np.stack([test[s : s + 2] for s in starts]))
    times = []
    for p, s in zip(pred, starts, strict=True):
        nrmse = np.sqrt(np.mean((p - test[s + 2 : s + 402]) ** 2, axis=1))
        over = nrmse > 0.3
        times.append((np.argmax(over) if over.any() else 400) * dt * 0.9056)
    assert np.median(times) >= 3.0, times


def test_esn_is_fixed_by_its_seed_and_saves(lorenz, tmp_path):
    z, _ = lorenz
    train = z[None, :3000]
    a = Forecaster("esn", 50, 20, 3, {"size": 100, "seed": 4})
    b = Forecaster("esn", 50, 20, 3, {"size": 100, "seed": 4})
    a.fit(train, train)
    b.fit(train, train)
    ctx = z[None, 5000:5050]
    np.testing.assert_array_equal(a.predict(ctx), b.predict(ctx))
    a.save(tmp_path / "esn.pt")
    c = Forecaster.load(tmp_path / "esn.pt")
    np.testing.assert_array_equal(a.predict(ctx), c.predict(ctx))
    assert c.hyper == {"size": 100, "seed": 4} and c.n_parameters == 3 * 201


def test_rollout_feeds_forecasts_back():
    x = np.sin(np.arange(600) * 0.1)[None, :, None]
    f = Forecaster("linear", 20, 7, 1)
    f.fit(x, x)
    roll = f.rollout(x[:, :20], 30)
    assert roll.shape == (1, 30, 1)
    np.testing.assert_allclose(roll[:, :7], f.predict(x[:, :20]))
    np.testing.assert_allclose(roll[0, :, 0], x[0, 20:50, 0], atol=1e-3)


def test_unknown_model_and_bad_context_are_named():
    with pytest.raises(ValueError, match="unknown model 'lstm'"):
        Forecaster("lstm", 4, 2, 1)
    f = Forecaster("persistence", 4, 2, 3)
    with pytest.raises(ValueError, match=r"persistence: context must be \(batch, 4, 3\)"):
        f.predict(np.zeros((1, 5, 3)))


def test_lagged_linear_regression_recovers_a_coupled_linear_map():
    from chaosatlas.models.baselines import LaggedLinearRegression

    # x_{t+1} = A x_t + b couples the variables: one lag of all of them is the whole model
    theta = 0.3
    a = 0.99 * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    b = np.array([0.2, -0.1])
    x = np.empty((3, 300, 2))
    x[:, 0] = np.random.default_rng(0).standard_normal((3, 2))
    for t in range(299):
        x[:, t + 1] = x[:, t] @ a.T + b
    m = LaggedLinearRegression(8, 20, 2, lags=1)
    m.fit(x[:2])
    w = m.state["weights"]  # rows: bias, then the lagged variables
    assert w[0] == pytest.approx(b, abs=1e-6) and w[1:].T == pytest.approx(a, abs=1e-6)
    pred = m.predict(x[2:, 100:108])
    assert pred == pytest.approx(x[2:, 108:128], abs=1e-6)
    assert m.n_parameters == 3 * 2
    with pytest.raises(ValueError, match="lags"):
        LaggedLinearRegression(8, 20, 2, lags=9).fit(x)
