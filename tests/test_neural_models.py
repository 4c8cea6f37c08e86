"""Properties every neural forecaster must have: it learns, every weight learns,
any window lengths work, evaluation is deterministic, checkpoints round-trip."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from model_data import series_windows

from chaosatlas.models import NEURAL, Forecaster, neural_class

#: small sizes so each test runs in a second or two
SMALL: dict[str, dict] = {
    "koopa": {"dynamic_dim": 16, "hidden_dim": 16},
    "deepedm": {"projection": 16},
    "stu": {"d_model": 16, "k": 8},
}
NAMES = sorted(NEURAL)


def _model(name: str, context: int, horizon: int, n_vars: int = 2, **hyper):
    torch.manual_seed(0)
    m = neural_class(name)(context, horizon, n_vars, **{**SMALL[name], **hyper})
    m.prepare(series_windows(16, context, horizon, n_vars)[:, :context])
    return m


@pytest.mark.parametrize("name", NAMES)
def test_overfits_a_tiny_batch(name):
    w = series_windows(8, 32, 8)
    ctx, tgt = w[:, :32], w[:, 32:]
    m = _model(name, 32, 8, dropout=0.0)
    m.train()
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    with torch.no_grad():
        first = float(m.loss(m(ctx), tgt, ctx))
    for _ in range(300):
        opt.zero_grad()
        m.loss(m(ctx), tgt, ctx).backward()
        opt.step()
    with torch.no_grad():
        last = float(m.loss(m(ctx), tgt, ctx))
    assert math.isfinite(last)
    assert last < first / 10, (first, last)


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_gets_a_finite_gradient(name):
    m = _model(name, 32, 8)
    m.train()
    w = series_windows(6, 32, 8)
    m.loss(m(w[:, :32]), w[:, 32:], w[:, :32]).backward()
    for pname, p in m.named_parameters():
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
        assert (p.grad != 0).any(), pname


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("context", "horizon"), [(32, 8), (33, 9), (31, 16), (40, 7), (24, 30)])
def test_output_shapes_for_odd_and_even_lengths(name, context, horizon):
    m = _model(name, context, horizon, 3)
    m.eval()
    y = m(torch.randn(5, context, 3))
    assert y.shape == (5, horizon, 3)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", NAMES)
def test_eval_predictions_are_deterministic(name):
    m = _model(name, 33, 9)
    m.eval()
    x = torch.randn(4, 33, 2)
    with torch.no_grad():
        torch.testing.assert_close(m(x), m(x), atol=0, rtol=0)


@pytest.mark.parametrize("name", NAMES)
def test_instance_normalisation_makes_forecasts_affine_equivariant(name):
    # per-instance normalisation: a shifted and scaled context gives the
    # shifted and scaled forecast
    m = _model(name, 32, 8)
    m.eval()
    x = series_windows(3, 32, 8)[:, :32]
    with torch.no_grad():
        torch.testing.assert_close(m(3.0 * x + 5.0), 3.0 * m(x) + 5.0, atol=2e-4, rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_checkpoint_round_trip(tmp_path, name):
    f = Forecaster(name, 32, 8, 2, SMALL[name], {"seed": 3})
    f.model.prepare(series_windows(10, 32, 8)[:, :32])
    ctx = series_windows(3, 32, 8)[:, :32].double().numpy()
    before = f.predict(ctx)
    f.save(tmp_path / f"{name}.pt")
    g = Forecaster.load(tmp_path / f"{name}.pt")
    assert g.hyper == SMALL[name]
    np.testing.assert_array_equal(g.predict(ctx), before)


@pytest.mark.parametrize("name", NAMES)
def test_initial_weights_come_from_the_training_seed(name):
    a = Forecaster(name, 32, 8, 2, SMALL[name], {"seed": 1}).model.state_dict()
    b = Forecaster(name, 32, 8, 2, SMALL[name], {"seed": 1}).model.state_dict()
    c = Forecaster(name, 32, 8, 2, SMALL[name], {"seed": 2}).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def _opt(lr: float = 1e-3) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def test_learning_rate_schedules():
    from chaosatlas.models.base import Optimisation
    from chaosatlas.models.training import TrainSettings, _schedule_step

    recipe = Optimisation(lr=1e-3, lr_decay=0.5, min_lr=1e-5)
    # plateau: unchanged while improving, halved after every 2 epochs without improvement
    opt, s = _opt(), TrainSettings(schedule="plateau", plateau_patience=2, epochs=10)
    rates = []
    for epoch, stale in enumerate([0, 1, 2, 3, 4, 0]):
        _schedule_step(opt, recipe, s, epoch, stale)
        rates.append(opt.param_groups[0]["lr"])
    assert rates == pytest.approx([1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4, 2.5e-4])
    # cosine: half way down at half the epochs, the floor at the end
    opt, s = _opt(), TrainSettings(schedule="cosine", epochs=10)
    _schedule_step(opt, recipe, s, 4, 0)
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-5 + 0.5 * (1e-3 - 1e-5))
    _schedule_step(opt, recipe, s, 9, 0)
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-5)
    # the paper's per-epoch factor, never below the floor
    opt, s = _opt(), TrainSettings(schedule="paper")
    for epoch in range(10):
        _schedule_step(opt, recipe, s, epoch, 0)
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-5)
    with pytest.raises(ValueError, match="schedule"):
        TrainSettings.from_mapping({"schedule": "halving"})


def test_training_reports_its_best_epoch_and_why_it_stopped():
    from chaosatlas.models.training import TrainSettings, train_neural

    t = np.arange(600) * 0.1
    series = np.stack([np.sin(t), np.cos(0.7 * t)], axis=-1)[None]
    m = neural_class("koopa")(16, 4, 2, **SMALL["koopa"])
    r = train_neural(m, series, series, TrainSettings(epochs=3, max_batches=2, patience=5))
    assert r.epochs_run == 3 and r.stop_reason.startswith("epoch cap reached (3)")
    assert 0 <= r.best_epoch < 3 and f"best epoch {r.best_epoch + 1}" in r.stop_reason
    m = neural_class("koopa")(16, 4, 2, **SMALL["koopa"])
    r = train_neural(m, series, series, TrainSettings(epochs=50, max_batches=1, patience=1,
                                                      schedule="paper"))  # fmt: skip
    assert r.stopped_early and r.stop_reason.startswith("early stopping") and r.epochs_run < 50


@pytest.mark.parametrize("name", NAMES)
def test_hyperparameters_read_from_source_match_the_constructor(name):
    import inspect

    from chaosatlas.models import neural_hyperparameters

    params = inspect.signature(neural_class(name)).parameters
    expected = tuple(n for n in params if n not in {"context", "horizon", "n_vars"})
    assert neural_hyperparameters(name) == expected and expected
