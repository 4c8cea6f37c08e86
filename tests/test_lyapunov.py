"""Lyapunov spectra against the literature, and the exponent-sum identity on every system."""

from __future__ import annotations

import numpy as np
import pytest

from chaosatlas import catalogue
from chaosatlas.diagnostics.lyapunov import lyapunov_spectrum


def test_lorenz_spectrum_matches_sprott():
    r = lyapunov_spectrum(catalogue.get("Lorenz"), periods=4000, seed=1)
    l1, l2, l3 = r.exponents
    assert abs(l1 - 0.9056) < 0.005 * 0.9056
    assert abs(l2) < 0.005
    assert abs(l3 - (-14.5723)) < 0.001 * 14.5723
    # the sum equals the (constant) divergence -(sigma + 1 + beta)
    assert abs(r.exponents.sum() - (-(10 + 1 + 8 / 3))) < 1e-3 * 13.667
    assert np.all(r.uncertainty < 0.005)


def test_rossler_largest_exponent():
    r = lyapunov_spectrum(catalogue.get("Rossler"), n_trajectories=8, periods=3000, seed=2)
    assert abs(r.exponents[0] - 0.0714) < 0.02 * 0.0714
    assert abs(r.exponents[1]) < 0.002


def test_henon_spectrum():
    r = lyapunov_spectrum(catalogue.get("Henon"), iterations=200_000, n_trajectories=4)
    np.testing.assert_allclose(r.exponents, [0.41922, -1.62319], rtol=0.005)
    # exact: the sum is log |det J| = log b
    assert abs(r.exponents.sum() - np.log(0.3)) < 1e-10


def test_logistic_r4_is_ln2():
    r = lyapunov_spectrum(catalogue.get("Logistic"), iterations=200_000)
    assert abs(r.exponents[0] - np.log(2)) < 0.005


@pytest.mark.parametrize("name", ["ArnoldBeltramiChildress", "HenonHeiles", "HarmonicOscillator"])
def test_volume_preserving_flows_sum_to_zero(name):
    r = lyapunov_spectrum(catalogue.get(name), periods=300)
    assert abs(r.mean_divergence) < 1e-12  # trace J vanishes identically
    assert abs(r.exponents.sum()) < 1e-6 * max(1.0, abs(r.exponents).max())
    # exponents come in +/- pairs
    np.testing.assert_allclose(
        r.exponents, -r.exponents[::-1], atol=max(2e-3, 0.05 * abs(r.exponents).max())
    )


def test_nose_hoover_is_conservative_on_average():
    r = lyapunov_spectrum(catalogue.get("SprottA"), periods=2000)
    assert r.exponents[0] > 0.005
    assert abs(r.exponents.sum()) < 0.05 * r.exponents[0]


def test_delay_equation_largest_exponent_is_positive_and_reproducible():
    mg = catalogue.get("MackeyGlass")
    a = lyapunov_spectrum(mg, periods=100, seed=3)
    b = lyapunov_spectrum(mg, periods=100, seed=3)
    assert a.exponents.shape == (1,) and np.array_equal(a.exponents, b.exponents)
    # Farmer (1982) reports a small positive largest exponent for tau = 17 (~0.005-0.007 per unit time)
    assert 0.002 < a.exponents[0] < 0.012
    assert "perturbed history" in a.method


def test_limit_cycle_has_zero_largest_exponent():
    r = lyapunov_spectrum(catalogue.get("VanDerPol"), periods=500)
    assert abs(r.exponents[0]) < 0.005 and r.exponents[1] < -0.1


#: Systems for which the variational equations are not smooth along the orbit, so a
#: fixed-time-step tangent integration cannot satisfy the identity to 1e-3 (documented, not hidden).
NOT_SMOOTH = {
    "BelousovZhabotinsky": "sqrt(Max(0, x)) has an infinite derivative at x = 0, which the orbit reaches",
    "BlinkingVortex": "the flow switches discontinuously in t (blinking vortices); RK4 steps straddle the switches",
    "ArefBlinkingVortex": "the flow switches discontinuously in t (blinking vortices); RK4 steps straddle the switches",
}
FLOWS_AND_MAPS = [
    pytest.param(n, marks=pytest.mark.xfail(reason=NOT_SMOOTH[n], strict=False))
    if n in NOT_SMOOTH
    else n
    for n in catalogue.names()
    # delay equations and flows that jump in the state have no tangent spectrum to check
    if catalogue.get(n).kind != "dde" and not catalogue.get(n).jumps_in_state
]


@pytest.mark.parametrize("name", FLOWS_AND_MAPS)
def test_exponent_sum_equals_mean_divergence(name):
    """Pathwise identity: sum log R_ii = log |det tangent map| = integral of trace J.

    Holds along any trajectory (no need to converge), so a short run from the
    entry's initial state is enough; only the step error separates the two.
    """
    system = catalogue.get(name)
    period = system.period_hint or 1.0
    r = lyapunov_spectrum(
        system, x0=system.initial_state[None, :], period=period, periods=20,
        transient_periods=1, steps_per_period=400, iterations=2000, transient_iterations=10,
    )  # fmt: skip
    assert r.n_failed == 0, f"{name}: trajectory failed"
    assert r.sum_mismatch < 1e-3, (name, r.exponents, r.mean_divergence)


def test_sum_identity_refines_a_too_coarse_step():
    # ThomasLabyrinth's broad spectrum gives a long dominant period (~47): 200 steps
    # per period is too coarse, the exponent sum misses the constant divergence -3a
    # by 5%, and the stage shortens the step until the identity holds
    from chaosatlas.diagnostics.stage import DiagnosticsSettings, averaged_spectrum
    from chaosatlas.integrate.attractor import SamplingSettings

    system = catalogue.get("ThomasLabyrinth")
    settings = DiagnosticsSettings(periods=100, n_trajectories=2, transient_periods=10)
    coarse = lyapunov_spectrum(
        system, n_trajectories=2, periods=100, transient_periods=10, period=47.4, seed=1
    )
    assert coarse.sum_mismatch > 1e-2
    spec, _, note = averaged_spectrum(system, 47.4, settings, SamplingSettings(), 1)
    assert spec.sum_mismatch < 1e-3 and "step shortened" in note
    assert spec.mean_divergence == pytest.approx(-3 * system.parameters["a"], rel=1e-9)


def test_jumps_in_state_flags_discontinuous_flows_only():
    jumps = {n for n in catalogue.names() if catalogue.get(n).jumps_in_state}
    # sign(z) and sign(v - vs) jump in the state; Chua's Abs is a kink, the
    # blinking vortex switches in time only, and maps have no saltation
    assert {"SprottMore", "StickSlipOscillator"} <= jumps
    assert not jumps & {"Chua", "BlinkingVortex", "Lorenz", "Lozi", "Logistic"}


def test_orbit_separation_agrees_with_the_tangent_method():
    # an independent route to lambda_1 (two nearby orbits, DOP853, no Jacobian)
    # on a smooth flow, against Sprott's 0.9056
    from chaosatlas.diagnostics.lyapunov import _initial_conditions, _separation_exponent
    from chaosatlas.integrate.attractor import SamplingSettings

    system = catalogue.get("Lorenz")
    x0, period = _initial_conditions(system, 4, 1, None, SamplingSettings())
    r = _separation_exponent(system, x0, period, 300, 10, 1, 10**7)
    assert r.exponents.shape == (1,)
    assert abs(r.exponents[0] - 0.9056) < 0.015 * 0.9056
    assert np.isnan(r.mean_divergence)


def test_discontinuous_flow_gets_its_exponent_from_orbit_separation():
    # SprottMore: y' = -x - sign(z) y. A scipy solve_ivp two-orbit run (T = 2000,
    # one orbit) gives 0.267; finite-time estimates over T ~ 2000 spread by ~0.03.
    # dysts stores 1.09 for this system.
    r = lyapunov_spectrum(catalogue.get("SprottMore"), periods=300, seed=3)
    assert "orbit separation" in r.method and r.exponents.shape == (1,)
    assert 0.18 < r.exponents[0] < 0.28
    assert r.n_failed == 0
