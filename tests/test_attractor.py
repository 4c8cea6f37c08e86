"""Attractor sampling: period estimation, probing, initial conditions."""

from __future__ import annotations

import numpy as np

from chaosatlas import catalogue
from chaosatlas.integrate.attractor import (
    SamplingSettings,
    attractor_pool,
    dominant_period,
    draw_initial_conditions,
    probe_attractor,
)

FAST = SamplingSettings(transient_periods=10, probe_periods=40)


def test_dominant_period_of_a_sine():
    dt = 0.01
    t = np.arange(20000) * dt
    x = np.sin(2 * np.pi * t / 3.0) + 0.3 * np.cos(2 * np.pi * t / 0.7)
    assert abs(dominant_period(x, dt) - 3.0) < 0.01 * 3.0
    two = np.column_stack([x, 2 * x + 1])
    assert abs(dominant_period(two, dt) - 3.0) < 0.01 * 3.0
    assert np.isnan(dominant_period(np.ones((100, 2)), dt))


def test_probe_of_harmonic_oscillator_finds_its_period(test_systems):
    probe = probe_attractor(test_systems["Harmonic"], FAST)  # w = 2: period pi
    assert probe.status == "ok"
    assert abs(probe.period - np.pi) < 0.01 * np.pi
    assert probe.dt == probe.period / FAST.points_per_period


def test_probe_of_lorenz_and_rossler():
    lorenz = probe_attractor(catalogue.get("Lorenz"), FAST)
    rossler = probe_attractor(catalogue.get("Rossler"), FAST)
    assert lorenz.status == "ok" and rossler.status == "ok"
    # Rossler's rotation period about 2 pi / 1.03 ~ 6.1 (phase-coherent); Lorenz's z oscillates at ~0.75
    assert 5.5 < rossler.period < 6.5
    assert 0.6 < lorenz.period < 0.9


def test_probe_statuses(test_systems):
    decay = probe_attractor(test_systems["Decay"], FAST)
    assert decay.status == "fixed_point" and decay.reason
    blow = probe_attractor(test_systems["Blowup"], FAST)
    assert blow.status in ("diverges", "max_steps") and blow.reason


def test_initial_conditions_are_disjoint_reproducible_and_on_the_attractor():
    lorenz = catalogue.get("Lorenz")
    probe = probe_attractor(lorenz, FAST)
    counts = {"train": 8, "val": 4, "test": 4}
    a = draw_initial_conditions(
        attractor_pool(lorenz, probe.period, FAST), counts, seed=3, name="Lorenz"
    )
    b = draw_initial_conditions(
        attractor_pool(lorenz, probe.period, FAST), counts, seed=3, name="Lorenz"
    )
    for split in counts:
        assert np.array_equal(a[split], b[split])
        assert a[split].shape == (counts[split], 3)
    rows = np.concatenate(list(a.values()))
    assert len(np.unique(rows, axis=0)) == 16
    c = draw_initial_conditions(
        attractor_pool(lorenz, probe.period, FAST), counts, seed=4, name="Lorenz"
    )
    assert not np.array_equal(a["train"], c["train"])
    # on the attractor: the Lorenz butterfly lives at 0 < z < 50, |x| < 25
    assert (rows[:, 2] > 0).all() and (rows[:, 2] < 50).all() and (np.abs(rows[:, 0]) < 25).all()
