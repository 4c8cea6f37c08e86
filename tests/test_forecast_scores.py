"""The forecast stage's scoring protocol and the leaderboard's ranking: a failure is
never a gap, a censored VPT is flagged, a degenerate rollout scores the worst."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from chaosatlas.forecast import Score, forecast_dataset, noise_floor, score_model
from chaosatlas.products import provenance
from chaosatlas.report import tables
from chaosatlas.schemas import validate_forecast


class Oracle:
    """Forecasts the truth exactly (it knows the test series), except where told."""

    def __init__(self, series: np.ndarray, context: int, horizon: int, *, broken=(), mode="exact"):
        self.series, self.context, self.horizon = series, context, horizon
        self.broken, self.mode = set(broken), mode

    def _continuation(self, window: np.ndarray, steps: int) -> np.ndarray:
        for traj in self.series:
            for start in range(traj.shape[0] - self.context + 1):
                if np.array_equal(traj[start : start + self.context], window):
                    out = traj[start + self.context : start + self.context + steps]
                    if out.shape[0] == steps:
                        return out
        raise AssertionError("window not in the test series")

    def rollout(self, context: np.ndarray, steps: int) -> np.ndarray:
        out = np.stack([self._continuation(w, steps) for w in context])
        for i in self.broken:  # windows of the short-horizon batch
            if i < out.shape[0] and context.shape[0] > 1:
                out[i] = np.nan
        if self.mode == "constant" and context.shape[0] == 1:
            out[:] = 0.25
        if self.mode == "blowup" and context.shape[0] == 1:
            out[0, 50:] = np.inf
        return out

    def predict(self, context: np.ndarray) -> np.ndarray:
        return self.rollout(context, self.horizon)


@pytest.fixture(scope="module")
def test_series() -> np.ndarray:
    t = np.arange(1200) * 0.05
    rng = np.random.default_rng(0)
    phases = rng.uniform(0, 2 * np.pi, size=(2, 1))
    x = np.sin(t + phases) + 0.5 * np.sin(2.3 * t + 2 * phases)
    y = np.cos(1.7 * t + phases)
    return np.stack([x, y], axis=-1)


def _score(series, **kw) -> Score:
    f = Oracle(series, 32, 16, **kw)
    return score_model(f, series, dt=0.05, period=2.0, lambda1=0.5, model="m", system="s",
                       vpt_horizon=64)  # fmt: skip


def test_a_perfect_forecast_is_censored_and_flagged(test_series):
    s = _score(test_series)
    assert s.status == "ok" and s.n_failed_windows == 0
    assert s.smape == 0.0 and s.vpt == pytest.approx(64 * 0.05)
    assert s.vpt_censored_fraction == 1.0 and s.vpt_censored == 1
    assert s.vpt_lyapunov == pytest.approx(64 * 0.05 * 0.5)


def test_failed_windows_count_as_the_worst(test_series):
    good = _score(test_series)
    bad = _score(test_series, broken=(0, 3))
    n = bad.n_windows
    assert bad.status == "partial" and bad.n_failed_windows == 2 and "2 of" in bad.reason
    assert bad.smape == pytest.approx(200 * 2 / n)  # the others are perfect
    assert bad.vpt == pytest.approx(good.vpt * (n - 2) / n)
    assert math.isinf(bad.mse) and bad.vpt_censored_fraction == pytest.approx((n - 2) / n)


def test_every_window_failing_is_a_failure(test_series):
    s = _score(test_series, broken=range(1000))
    assert s.status == "failed" and s.smape == 200.0 and s.vpt == 0.0


def test_a_collapsed_rollout_gets_the_worst_spectrum_distance(test_series):
    s = _score(test_series, mode="constant")
    assert s.status == "rollout_collapsed" and s.d_h == 1.0 and "collapsed" in s.reason
    assert s.smape == 0.0  # the short horizon is still scored
    assert math.isnan(s.rollout_lambda1) and "rollout exponent" in s.reason


def test_a_rollout_that_blows_up_has_no_long_term_scores(test_series):
    s = _score(test_series, mode="blowup")
    assert s.status == "rollout_failed" and math.isnan(s.d_stsp) and math.isnan(s.d_h)
    assert "blew up at step" in s.reason


def test_noise_floor_is_small_but_not_zero(test_series):
    d_stsp, d_h = noise_floor(test_series, 32)
    assert 0 < d_h < 0.2 and d_stsp > 0
    assert all(math.isnan(v) for v in noise_floor(test_series[:1], 32))


def _board(vpt, status, smape=None, censored=None) -> xr.Dataset:
    vpt = np.asarray(vpt, dtype=float)
    shape = vpt.shape
    models = [f"m{i}" for i in range(shape[0])]
    systems = [f"s{j}" for j in range(shape[1])]
    return xr.Dataset(
        {
            "vpt_lyapunov": (("model", "system"), vpt),
            "vpt_periods": (("model", "system"), vpt),
            "vpt_censored": (
                ("model", "system"),
                np.zeros(shape, np.int8) if censored is None else censored,
            ),
            "smape": (("model", "system"), np.full(shape, 50.0) if smape is None else smape),
            "d_stsp": (("model", "system"), np.ones(shape)),
            "d_h": (("model", "system"), np.full(shape, 0.1)),
            "system_lambda1": (("model", "system"), np.full(shape, 0.9)),
            "status": (("model", "system"), np.array(status, dtype=object)),
            "reason": (("model", "system"), np.full(shape, "", dtype=object)),
        },  # fmt: skip
        coords={"model_name": ("model", models), "system_name": ("system", systems)},
    )


def test_a_model_that_failed_somewhere_ranks_below_one_that_did_not():
    # m0 is better on s1 and s2 but failed on s0; its median VPT counts s0 as 0
    ds = _board([[np.nan, 5.0, 5.0], [1.0, 1.2, 1.1]], [["failed", "ok", "ok"], ["ok"] * 3])
    order, summary = tables.leaderboard_order(ds)
    assert summary["vpt_lyapunov"][0] == 5.0  # median of (0, 5, 5): one failure of three
    # the same scores, the failure on the system that decides the median
    ds = _board([[np.nan, np.nan, 5.0], [1.0, 1.2, 1.1]], [["failed", "failed", "ok"], ["ok"] * 3])
    order, summary = tables.leaderboard_order(ds)
    assert summary["vpt_lyapunov"][0] == 0.0 and list(order) == [1, 0]
    # equal scores: the one with a failure ranks lower (a nanmean ranked it first)
    ds = _board([[np.nan, 2.0, 2.0], [0.1, 2.0, 2.0]], [["failed", "ok", "ok"], ["ok"] * 3])
    order, _ = tables.leaderboard_order(ds)
    assert list(order) == [1, 0]


def test_the_leaderboard_draws_a_failure_as_a_marked_gap_and_censoring_as_a_bound():
    censored = np.array([[1, 0], [0, 0]], dtype=np.int8)
    ds = _board([[3.0, np.nan], [1.0, 1.0]], [["ok", "failed"], ["ok", "ok"]],
                smape=np.array([[10.0, np.nan], [50.0, 40.0]]), censored=censored)  # fmt: skip
    fragment = tables.leaderboard_table(ds)
    assert "≥ 3" in fragment and "✗ failed" in fragment
    assert "nan" not in fragment.lower().replace("nanmean", "")
    # sMAPE median of m0 counts its failure as 200: median(10, 200) = 105
    _, summary = tables.leaderboard_order(ds)
    assert summary["smape"][0] == pytest.approx(105.0)


def test_forecast_dataset_keeps_the_counts_and_the_flag(test_series):
    scores = [_score(test_series, broken=(1,)), Score("m2", "s", "missing", "no checkpoint")]
    scores[0].model = "m"
    attrs = {**provenance({"seed": 1}, product="forecast"), "Conventions": "CF-1.10",
             "title": "t", "history": "h", "source": "s", "schema_version": "1"}  # fmt: skip
    ds = forecast_dataset(
        scores, ["m", "m2"], ["s"], 16, attrs, {"s": noise_floor(test_series, 32)}
    )
    assert int(ds["n_failed_windows"].values[0, 0]) == 1
    assert int(ds["vpt_censored"].values[0, 0]) == 1 and ds["vpt_censored"].dtype == np.int8
    assert np.isfinite(ds["d_h_floor"].values[0])
    validate_forecast(ds)


def test_the_per_system_search_keeps_the_setting_with_the_best_validation(tmp_path, monkeypatch):
    from chaosatlas import forecast
    from chaosatlas.models import Forecaster

    t = np.arange(400) * 0.2
    rng = np.random.default_rng(5)
    series = np.stack([np.sin(t + p) + 0.3 * np.sin(2.7 * t + 2 * p)
                       for p in rng.uniform(0, 6, 4)])[..., None]  # fmt: skip
    monkeypatch.setattr(forecast, "load_split", lambda store, system: (series, {"dt": 0.2}))
    config = {"seed": 1, "forecast": {
        "systems": ["Lorenz"], "models": ["linear"], "context": 8, "horizon": 4,
        # one lag cannot tell the two tones apart; sixteen can
        "search": {"linear": [{"context": 1}, {"context": 16}]}}}  # fmt: skip
    ckpt, report_path = tmp_path / "m.pt", tmp_path / "m.json"
    report = forecast.train_model("linear", "Lorenz", config, "a", "b", ckpt, report_path)
    assert [c["context"] for c in report["search"]] == [1, 16] and report["chosen"] == 1
    mse = [c["validation_mse"] for c in report["search"]]
    assert mse[1] < mse[0] and report["validation_mse"] == mse[1]
    assert Forecaster.load(ckpt).context == 16


def test_the_continuation_protocol_forecasts_once_from_the_end_of_training(test_series):
    from chaosatlas.forecast import ForecastSettings, continuation_split, score_continuation

    settings = ForecastSettings(protocol="continuation", train_points=600, context=32,
                                horizon=16, vpt_horizon=100, long_horizon=400)  # fmt: skip
    fit, val = continuation_split(test_series, settings)
    assert fit.shape[1] == 500 and val.shape[1] == 100  # Gilpin's inner 5/6 split
    assert np.array_equal(val, test_series[:, 500:600])
    s = score_continuation(Oracle(test_series, 32, 16), test_series, settings, dt=0.05,
                           period=2.0, lambda1=0.5, model="m", system="s")  # fmt: skip
    assert s.n_windows == 2 and s.smape == 0.0 and s.smape_long == 0.0
    assert s.vpt == pytest.approx(100 * 0.05) and s.vpt_censored
    assert s.d_h == pytest.approx(0.0, abs=1e-7)  # the truth against itself (sqrt of rounding)
    broken = score_continuation(Oracle(test_series, 32, 16, broken=(1,)), test_series, settings,
                                dt=0.05, period=2.0, lambda1=0.5, model="m", system="s")  # fmt: skip
    assert broken.status == "partial" and broken.smape == pytest.approx(100.0)  # (0 + 200) / 2
    short = ForecastSettings(protocol="continuation", train_points=1000, vpt_horizon=200,
                             long_horizon=5000)  # fmt: skip
    with pytest.raises(ValueError, match="integration.n_points"):
        continuation_split(test_series, short)


def test_raw_units_are_not_standardised(tmp_path, monkeypatch):
    from chaosatlas import forecast
    from chaosatlas.models import Forecaster

    t = np.arange(700) * 0.1
    series = np.stack([5 + np.sin(t), 3 * np.cos(t)], axis=-1)[None]
    monkeypatch.setattr(forecast, "load_split", lambda store, system: (series, {"dt": 0.1}))
    config = {"seed": 1, "forecast": {
        "systems": ["Lorenz"], "models": ["var"], "context": 8, "horizon": 4, "units": "raw",
        "protocol": "continuation", "train_points": 600, "vpt_horizon": 50}}  # fmt: skip
    forecast.train_model("var", "Lorenz", config, "a", "b", tmp_path / "m.pt", tmp_path / "r.json")
    f = Forecaster.load(tmp_path / "m.pt")
    mean, std = forecast.standardisation(f)
    assert np.all(mean == 0) and np.all(std == 1)
