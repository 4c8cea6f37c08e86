"""Koopa: learning, gradients, shapes, the Fourier mask, the local operator."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from model_data import series_windows

from chaosatlas.models import Forecaster
from chaosatlas.models.koopa import DEFAULTS, Koopa, choose_seg_len, fit_local_operator

SMALL = {"dynamic_dim": 16, "hidden_dim": 16}


def _tones(n: int, length: int, bins: dict[int, float], seed: int) -> torch.Tensor:
    """Windows ``(n, length, 2)``: sines exactly at ``bins`` with random phases."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(length, dtype=torch.float64)
    out = torch.zeros(n, length, 2, dtype=torch.float64)
    for k, amp in bins.items():
        phase = 2 * math.pi * torch.rand(n, 1, 2, generator=g, dtype=torch.float64)
        out += amp * torch.sin(2 * math.pi * k * t[None, :, None] / length + phase)
    return (out + 3.0).float()


def _prepared(context: int = 32, horizon: int = 8, n_vars: int = 2, **hyper) -> Koopa:
    torch.manual_seed(0)
    m = Koopa(context, horizon, n_vars, **{**SMALL, **hyper})
    m.prepare(series_windows(16, context, horizon, n_vars)[:, :context])
    return m


@pytest.mark.parametrize(
    ("context", "horizon", "seg_len"),
    [(32, 8, None), (33, 9, None), (33, 8, 5), (32, 9, 3), (7, 3, None), (40, 100, None)],
)
def test_output_shapes(context, horizon, seg_len):
    m = _prepared(context, horizon, 3, seg_len=seg_len)
    m.eval()
    y = m(torch.randn(5, context, 3))
    assert y.shape == (5, horizon, 3)
    assert torch.isfinite(y).all()
    assert m.fourier_mask.shape == (context // 2 + 1,)
    assert math.ceil(context / m.seg_len) >= 4


def test_seg_len_choice_and_validation():
    # the spec's default seg_len = horizon = context/2 would give F = 2 segments
    assert Koopa(96, 48, 3).seg_len == 31  # largest S with ceil(96/S) >= 4
    assert choose_seg_len(32, 8) == 8  # capped at the horizon
    assert choose_seg_len(33, 100) == 10
    assert choose_seg_len(4, 4) == 1
    for context in range(4, 200):
        s = choose_seg_len(context, 10**6)
        assert math.ceil(context / s) >= 4 and math.ceil(context / (s + 1)) < 4
    with pytest.raises(ValueError, match=r"seg_len=48.*2 segments"):
        Koopa(96, 48, 3, seg_len=48)
    with pytest.raises(ValueError, match="context"):
        Koopa(3, 2, 1)
    assert Koopa(96, 48, 3, seg_len=24).seg_len == 24
    assert DEFAULTS["seg_len"] is None and DEFAULTS["num_blocks"] == 3
    recipe = Koopa.optimisation()
    assert (recipe.optimiser, recipe.lr, recipe.lr_decay) == ("adam", 1e-3, 0.5)


def test_forward_before_prepare_raises():
    m = Koopa(32, 8, 2, **SMALL)
    with pytest.raises(RuntimeError, match="prepare"):
        m(torch.randn(2, 32, 2))


def test_fourier_mask_comes_from_the_training_contexts_only():
    length = 32  # 17 bins, floor(0.2 * 17) = 3 selected
    set_a = _tones(20, length, {3: 1.0, 5: 0.6, 11: 0.3}, seed=1)
    set_b = _tones(20, length, {2: 1.0, 7: 0.6, 13: 0.3}, seed=2)
    torch.manual_seed(0)
    m = Koopa(length, 8, 2, **SMALL)
    m.prepare(set_a)
    assert set(torch.nonzero(m.fourier_mask).flatten().tolist()) == {3, 5, 11}
    mask_a = m.fourier_mask.clone()
    # forward (train and eval) and a training step on other data leave the mask alone
    m.train()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    loss = m(set_b).pow(2).mean()
    loss.backward()
    opt.step()
    m.eval()
    with torch.no_grad():
        m(set_b)
    assert torch.equal(m.fourier_mask, mask_a)
    m.prepare(set_b)
    assert set(torch.nonzero(m.fourier_mask).flatten().tolist()) == {2, 7, 13}
    # a zero-mean signal made of masked bins is all time-invariant
    x_var, x_inv = m.disentangle(set_b - 3.0)
    assert x_var.abs().max() < 1e-4 * x_inv.abs().max()


def test_fit_local_operator_identity_fallback():
    eye = torch.eye(6)
    k = fit_local_operator(torch.zeros(3, 4, 6), torch.randn(3, 4, 6))
    torch.testing.assert_close(k, eye.expand(3, 6, 6))
    z = torch.randn(3, 4, 6)
    z[1, 2, 3] = float("nan")
    nxt = torch.randn(3, 4, 6)
    nxt[2, 0, 0] = float("inf")
    k = fit_local_operator(z, nxt)
    assert torch.isfinite(k).all()
    torch.testing.assert_close(k[1], eye)
    torch.testing.assert_close(k[2], eye)
    assert not torch.allclose(k[0], eye)


def test_fit_local_operator_recovers_a_known_operator():
    g = torch.Generator().manual_seed(0)
    k_true = torch.randn(2, 5, 5, generator=g, dtype=torch.float64) / 3
    z = torch.randn(2, 20, 5, generator=g, dtype=torch.float64)
    k = fit_local_operator(z, z @ k_true)
    torch.testing.assert_close(k, k_true, atol=1e-10, rtol=1e-10)
    # fewer pairs than dimensions (the usual case): an exact minimum-norm fit
    z = torch.randn(2, 3, 8, generator=g)
    nxt = torch.randn(2, 3, 8, generator=g)
    k = fit_local_operator(z, nxt)
    torch.testing.assert_close(z @ k, nxt, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(k, torch.linalg.pinv(z) @ nxt, atol=1e-4, rtol=1e-4)


def test_fit_local_operator_gradients_are_finite_with_a_bad_sample():
    z = torch.randn(2, 3, 4)
    z[1] = float("nan")
    z.requires_grad_(True)
    nxt = torch.randn(2, 3, 4, requires_grad=True)
    fit_local_operator(z, nxt).sum().backward()
    assert torch.isfinite(z.grad).all() and torch.isfinite(nxt.grad).all()
    assert (z.grad[0] != 0).any()


def test_save_and_load_keep_the_mask(tmp_path):
    torch.manual_seed(0)
    f = Forecaster("koopa", 32, 8, 2, SMALL)
    f.model.prepare(series_windows(10, 32, 8)[:, :32])
    ctx = series_windows(3, 32, 8)[:, :32].double().numpy()
    before = f.predict(ctx)
    f.save(tmp_path / "koopa.pt")
    g = Forecaster.load(tmp_path / "koopa.pt")
    assert g.model.seg_len == f.model.seg_len
    assert torch.equal(g.model.fourier_mask, f.model.fourier_mask)
    np.testing.assert_array_equal(g.predict(ctx), before)
