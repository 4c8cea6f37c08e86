"""DeepEDM: the delay-vector layout, kernel regression, the loss, eval determinism."""

from __future__ import annotations

import pytest
import torch
from model_data import series_windows

from chaosatlas.models.deepedm import DeepEDM, delay_layout


def test_delay_layout_matches_unfold_for_every_stride():
    for context, horizon, delay, stride in [(96, 48, 7, 1), (33, 9, 5, 2), (40, 10, 7, 3)]:
        n_windows, n_queries, n_keys = delay_layout(context, horizon, delay, stride)
        series = torch.zeros(context + horizon)
        assert n_windows == series.unfold(0, delay, stride).shape[0]
        assert n_queries == n_windows - int(context / (context + horizon) * n_windows)
        assert n_keys == n_windows - n_queries - 2
    # tau = 1: the spec's closed form floor((L+H)/tau) - m + 1 holds
    assert delay_layout(96, 48, 7, 1)[0] == 144 - 7 + 1
    # tau = 3: it does not (floor(50/3) - 7 + 1 = 10, unfold gives 15)
    assert delay_layout(40, 10, 7, 3)[0] == 15


def test_too_short_a_series_is_a_clear_error():
    with pytest.raises(ValueError, match="at least one of each"):
        DeepEDM(4, 2, 1, delay=5)


def test_kernel_regression_returns_the_successor_of_a_perfect_match():
    # with a sharp kernel, a query equal to one key predicts that key's successor
    torch.manual_seed(0)
    m = DeepEDM(24, 6, 1, delay=3, theta=1e4, projection=8, dropout=0.0)
    block = m.blocks[0]
    with torch.no_grad():
        block.project.weight.copy_(torch.eye(8, 3) * 10)
        block.project.bias.zero_()
        block.position.zero_()
    captured = {}
    block.decoder.register_forward_hook(lambda mod, inp, out: captured.update(x=inp[0]))
    # a period-6 sawtooth: every query has an exact match in the library
    series = (torch.arange(30.0) % 6)[None]
    m.eval()
    with torch.no_grad():
        block(series[:, :24], series[:, 24:])
    windows = series[0].unfold(0, 3, 1)
    p = block.n_queries
    successors = windows[-p:]  # each query's true next delay vector
    torch.testing.assert_close(captured["x"].reshape(p, 3), successors, atol=1e-4, rtol=0)


def test_two_eval_predictions_of_the_same_input_are_identical_but_training_ones_differ():
    torch.manual_seed(0)
    m = DeepEDM(48, 12, 3, dropout=0.5)
    x = series_windows(4, 48, 12, 3)[:, :48]
    m.eval()
    with torch.no_grad():
        assert torch.equal(m(x), m(x))
    m.train()
    with torch.no_grad():
        assert not torch.equal(m(x), m(x))  # dropout (attention included) acts in training


def test_loss_weights_pointwise_and_difference_errors_by_sign_disagreement():
    m = DeepEDM(16, 4, 1)
    ctx = torch.zeros(1, 16, 1)
    target = torch.tensor([1.0, 2.0, 3.0, 4.0]).reshape(1, 4, 1)
    # same shape shifted by 1: every difference agrees in sign -> rho = 0,
    # loss = L_diff = mean |diff error| = (1 + 0 + 0 + 0) / 4
    assert float(m.loss(target + 1, target, ctx)) == pytest.approx(0.25)
    # reversed direction: every sign disagrees -> rho = 1, loss = L_point
    pred = -target
    point = torch.cat([torch.zeros(1), (pred - target).abs().flatten()]).mean()
    assert float(m.loss(pred, target, ctx)) == pytest.approx(float(point))
    # validation loss (MSE + MAE) / 2
    assert float(m.validation_loss(target + 2, target, ctx)) == pytest.approx((4 + 2) / 2)
