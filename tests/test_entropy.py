"""Entropies: equal to antropy's on the same inputs, plus the properties that pin them down."""

from __future__ import annotations

import math
import subprocess
import sys

import antropy
import numpy as np
import pytest

from chaosatlas import catalogue
from chaosatlas.diagnostics import entropy as E
from chaosatlas.integrate.solve import solve


@pytest.fixture(scope="module")
def series():
    rng = np.random.default_rng(11)
    t = np.concatenate([[0.0], 30.0 + np.arange(7000) * 0.02])
    sol = solve(catalogue.get("Lorenz"), np.array([[1.0, 1.0, 20.0]]), t, rtol=1e-10, atol=1e-10)
    lorenz = np.ascontiguousarray(sol.x[0, 1:, 0])
    return {
        "lorenz": lorenz,
        "lorenz_short": lorenz[:3000].copy(),
        "noise": rng.normal(size=4000),
        "sine": np.sin(np.arange(3000) * 0.1),
        "ar1": np.ascontiguousarray(
            np.cumsum(rng.normal(size=6000)) * 0.01 + rng.normal(size=6000)
        ),
    }


NAMES = ("lorenz", "lorenz_short", "noise", "sine", "ar1")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("order", range(3, 8))
@pytest.mark.parametrize("delay", (1, 4))
def test_permutation_entropy_equals_antropy(series, name, order, delay):
    x = series[name]
    expected = antropy.perm_entropy(x, order=order, delay=delay, normalize=True)
    assert E.permutation_entropy(x, order, delay) == pytest.approx(expected, abs=1e-6)
    raw = antropy.perm_entropy(x, order=order, delay=delay, normalize=False)
    assert E.permutation_entropy(x, order, delay, normalize=False) == pytest.approx(raw, abs=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_sample_entropy_equals_antropy(series, name):
    # lorenz (7000 points) and ar1 (6000) go through antropy's KD-tree path,
    # the others through its numba path: both agree with ours
    x = series[name]
    assert E.sample_entropy(x) == pytest.approx(antropy.sample_entropy(x), abs=1e-6)
    assert E.sample_entropy(x, 3) == pytest.approx(antropy.sample_entropy(x, order=3), abs=1e-6)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("method", ("fft", "welch"))
def test_spectral_entropy_equals_antropy(series, name, method):
    x = series[name]
    expected = antropy.spectral_entropy(x, sf=50.0, method=method, normalize=True)
    assert E.spectral_entropy(x, 50.0, method) == pytest.approx(expected, abs=1e-6)


def test_permutation_entropy_properties():
    assert E.permutation_entropy(np.arange(100.0), 5) == 0.0  # one pattern only
    rng = np.random.default_rng(3)
    assert E.permutation_entropy(rng.normal(size=200_000), 4) == pytest.approx(1.0, abs=1e-3)
    assert math.isnan(E.permutation_entropy(np.arange(5.0), 4, 3))
    with pytest.raises(ValueError):
        E.permutation_entropy(np.arange(50.0), 1)


def test_sample_entropy_of_white_noise():
    # for i.i.d. Gaussian noise SampEn -> -ln P(|x - y| <= r), |x - y| ~ N(0, 2), r = 0.2
    rng = np.random.default_rng(5)
    x = rng.normal(size=20_000)
    p = math.erf(0.2 / math.sqrt(2) / math.sqrt(2))
    assert E.sample_entropy(x) == pytest.approx(-math.log(p), rel=0.03)


def test_multiscale_versions(series):
    x = series["lorenz"]
    mse = E.multiscale_sample_entropy(x, range(1, 4))
    assert mse[0] == pytest.approx(E.sample_entropy(x))  # scale 1 is the series itself
    cg = E.coarse_grain(x, 3)
    assert cg.size == x.size // 3 and cg[0] == pytest.approx(x[:3].mean())
    assert mse[2] == pytest.approx(E.sample_entropy(cg, 2, 0.2 * np.std(x)))
    mpe = E.multiscale_permutation_entropy(x, range(1, 3), 3, 4)
    assert mpe[0] == pytest.approx(E.permutation_entropy(x, 3, 4))
    assert mpe[1] == pytest.approx(E.permutation_entropy(E.coarse_grain(x, 2), 3, 2))


def test_invariant_density_entropies():
    uniform = np.full(64, 1 / 64)
    point = np.zeros(64)
    point[3] = 1.0
    for f in (E.shannon_entropy, E.renyi_entropy, E.tsallis_entropy):
        assert f(uniform) == pytest.approx(1.0)
        assert f(point) == pytest.approx(0.0, abs=1e-12)
    rng = np.random.default_rng(0)
    p = E.histogram_probabilities(rng.normal(size=10_000))
    assert p.size == 64 and p.sum() == pytest.approx(1.0)
    # Renyi entropy does not increase with its order
    assert E.renyi_entropy(p, 2.0) <= E.shannon_entropy(p)
    assert E.renyi_entropy(p, 1.0) == E.shannon_entropy(p)


def test_profile_has_every_measure(series):
    from chaosatlas.diagnostics.stage import ENTROPY_MEASURES, ORDERS, SCALES

    profile = E.entropy_profile(series["lorenz"][:4000], delay=4, sf=50.0)
    assert set(profile) == set(ENTROPY_MEASURES)
    assert profile["permutation_entropy"].shape == ORDERS.shape
    assert profile["multiscale_sample_entropy"].shape == SCALES.shape
    assert all(np.all(np.isfinite(v)) for v in profile.values())


def test_import_compiles_nothing():
    # antropy compiles its numba kernels eagerly at import (a multi-second
    # stall in a fresh environment); ours compile lazily, from the cache
    code = (
        "import chaosatlas.diagnostics.entropy as E, chaosatlas.diagnostics.zero_one as Z;"
        "print(len(E._ordinal_counts.signatures) + len(E._template_matches.signatures)"
        " + len(Z._k_statistics.signatures))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
