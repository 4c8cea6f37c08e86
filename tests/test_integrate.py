"""Integrators: closed forms, scipy's DOP853, dense output, failures, batching."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from chaosatlas import catalogue
from chaosatlas.integrate.solve import solve


def test_harmonic_oscillator_closed_form(test_systems):
    s = test_systems["Harmonic"]
    t = np.linspace(0, 10, 257)
    sol = solve(s, s.initial_state, t, rtol=1e-12, atol=1e-12)
    assert sol.ok.all()
    np.testing.assert_allclose(sol.x[0, :, 0], np.cos(2 * t), atol=1e-10)
    np.testing.assert_allclose(sol.x[0, :, 1], -2 * np.sin(2 * t), atol=1e-10)
    energy = 4 * sol.x[0, :, 0] ** 2 + sol.x[0, :, 1] ** 2
    np.testing.assert_allclose(energy, 4.0, rtol=1e-10)


def test_linear_decay_and_forcing(test_systems):
    t = np.linspace(0, 5, 11)
    d = test_systems["Decay"]
    sol = solve(d, [[3.0], [-1.0]], t, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(sol.x[:, :, 0], np.outer([3.0, -1.0], np.exp(-0.7 * t)), rtol=1e-9)
    f = test_systems["Forced"]
    sol = solve(f, [0.0], t, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(sol.x[0, :, 0], 1.5 * np.sin(t), atol=1e-10)


def test_rk4_is_fourth_order(test_systems):
    s = test_systems["Harmonic"]
    t = np.array([0.0, 2.0])
    errors = []
    for dt in (0.02, 0.01):
        sol = solve(s, s.initial_state, t, method="rk4", dt=dt)
        errors.append(abs(sol.x[0, -1, 0] - np.cos(4.0)))
    assert 14 < errors[0] / errors[1] < 18  # 2**4


def test_map_with_known_orbit(test_systems):
    s = test_systems["Affine"]  # x -> x/2 + 1, x_n = 2 (1 - 2**-n)
    n = np.array([0, 1, 2, 5, 10, 40])
    sol = solve(s, [0.0], n)
    np.testing.assert_allclose(sol.x[0, :, 0], 2 * (1 - 2.0 ** (-n)), rtol=1e-15)
    logistic = catalogue.get("Logistic")
    r = logistic.parameters["r"]
    theta = 0.1234
    x0 = np.sin(np.pi * theta) ** 2
    sol = solve(logistic, [x0], np.arange(12))
    # r = 4: x_n = sin^2(2^n pi theta); exact up to rounding growing like 2^n
    if r == 4:
        np.testing.assert_allclose(
            sol.x[0, :, 0], np.sin(2.0 ** np.arange(12) * np.pi * theta) ** 2, atol=1e-11
        )


def test_delay_equation_matches_method_of_steps_solution(test_systems):
    """x' = -x(t-1), history 1: x = 1-t on [0,1], 1-t+(t-1)^2/2 on [1,2], ... (exact)."""
    s = test_systems["LinearDelay"]
    t = np.linspace(0, 3, 61)
    sol = solve(s, [1.0], t, dt=0.01)
    exact = np.where(
        t <= 1,
        1 - t,
        np.where(t <= 2, 1 - t + (t - 1) ** 2 / 2, 1 - t + (t - 1) ** 2 / 2 - (t - 2) ** 3 / 6),
    )
    assert sol.ok.all()
    np.testing.assert_allclose(sol.x[0, :, 0], exact, atol=1e-8)


@pytest.fixture(scope="module")
def lorenz():
    return catalogue.get("Lorenz")


def test_dop853_agrees_with_scipy_over_one_lyapunov_time(lorenz):
    t = np.linspace(0, 1 / 0.9056, 101)
    ours = solve(lorenz, lorenz.initial_state, t, rtol=1e-12, atol=1e-12)
    ref = solve_ivp(
        lambda _t, y: lorenz.rhs(y), (t[0], t[-1]), lorenz.initial_state,
        method="DOP853", rtol=1e-12, atol=1e-12, t_eval=t,
    )  # fmt: skip
    scale = np.abs(ref.y.T).max()
    assert np.abs(ours.x[0] - ref.y.T).max() < 1e-10 * scale


def test_dense_output_as_accurate_as_the_steps(lorenz):
    """Points between steps (dense output) carry the same error as step ends."""
    t_ref = np.linspace(0, 1.0, 1001)
    ref = solve_ivp(
        lambda _t, y: lorenz.rhs(y), (0, 1.0), lorenz.initial_state,
        method="DOP853", rtol=1e-13, atol=1e-13, t_eval=t_ref,
    ).y.T  # fmt: skip
    dense = solve(lorenz, lorenz.initial_state, t_ref, rtol=1e-7, atol=1e-9)
    ends = solve(lorenz, lorenz.initial_state, np.array([0.0, 1.0]), rtol=1e-7, atol=1e-9)
    err_dense = np.abs(dense.x[0] - ref).max(axis=1)
    err_end = np.abs(ends.x[0, -1] - ref[-1]).max()
    scale = np.abs(ref).max()
    assert err_dense.max() < 1e-6 * scale
    # interior points are no worse than the global error at the end (up to a small factor)
    assert err_dense.max() <= 20 * max(err_end, 1e-12 * scale)


def test_blowup_is_a_status_and_other_trajectories_survive(test_systems):
    s = test_systems["Blowup"]  # x' = x^2 from x0 = 1 blows up at t = 1
    sol = solve(s, [[1.0], [-1.0]], np.linspace(0, 2, 21), bound=1e6)
    assert sol.status_names[0] in ("diverged", "step_underflow", "nonfinite")
    assert 0.99 < sol.t_fail[0] <= 1.0
    assert sol.reasons[0]
    assert np.isnan(sol.x[0, -1]).all()
    assert sol.status_names[1] == "ok"
    np.testing.assert_allclose(sol.x[1, :, 0], -1 / (1 + np.linspace(0, 2, 21)), rtol=1e-8)


def test_step_budget_is_a_status(lorenz):
    sol = solve(lorenz, lorenz.initial_state, np.linspace(0, 10, 5), max_steps=20)
    assert sol.status_names == ["max_steps"]
    assert "step budget of 20" in sol.reasons[0]
    sol = solve(
        lorenz, lorenz.initial_state, np.linspace(0, 10, 5), method="rk4", dt=0.01, max_steps=20
    )
    assert sol.status_names == ["max_steps"]


def test_batch_equals_rows_and_is_deterministic(lorenz):
    rng = np.random.default_rng(1)
    x0 = lorenz.initial_state + rng.standard_normal((5, 3))
    t = np.linspace(0, 3, 50)
    batch = solve(lorenz, x0, t)
    for k in range(5):
        single = solve(lorenz, x0[k], t)
        assert np.array_equal(batch.x[k], single.x[0])
    assert np.array_equal(solve(lorenz, x0, t).x, batch.x)


def test_parameters_per_trajectory(lorenz):
    t = np.linspace(0, 1, 5)
    p = np.array([[10, 28, 8 / 3], [10, 15, 8 / 3]])
    both = solve(lorenz, [lorenz.initial_state] * 2, t, parameters=p)
    alone = solve(lorenz.with_parameters(rho=15.0), lorenz.initial_state, t)
    assert np.array_equal(both.x[1], alone.x[0])
    assert not np.array_equal(both.x[0], both.x[1])


def test_bad_arguments_raise(lorenz):
    with pytest.raises(ValueError, match="x0 must have shape"):
        solve(lorenz, [1.0, 2.0], [0, 1])
    with pytest.raises(ValueError, match="method"):
        solve(lorenz, lorenz.initial_state, [0, 1], method="euler")
    sol = solve(lorenz, lorenz.initial_state, [1.0, 0.5])
    assert sol.status_names == ["bad_time_grid"]
