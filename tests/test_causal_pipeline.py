"""The causal stages end to end on a drive-response pair: orientation survives
every stage (data -> predictions -> scores), and bad products are rejected."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from chaosatlas.causal.pcmci import pcmci_available
from chaosatlas.causal.pipeline import (
    causal_settings,
    make_predictions,
    make_scores,
    make_tier_data,
)
from chaosatlas.schemas import (
    ProductError,
    validate_causal_data,
    validate_causal_predictions,
    validate_causal_scores,
)

OWN_METHODS = ["lagged_correlation", "granger", "ccm"]


def _config(methods):
    return {
        "seed": 11,
        "causal": {
            "tiers": {
                # Lorenz drives Lorenz at moderate coupling (c = 3 per period: below
                # synchronisation, sync error ~1), and the coupled logistic map
                "pairs": {"pairs": [["Lorenz", "Lorenz"]], "couplings": [3.0],
                          "logistic_map": True},
            },
            "methods": methods,
        },
    }  # fmt: skip


@pytest.fixture(scope="module")
def pair_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("causal")
    methods = OWN_METHODS + (["pcmci"] if pcmci_available()[0] else [])
    config = _config(methods)
    data = root / "pairs.nc"
    make_tier_data(config, "pairs", data)
    preds = []
    for method in methods:
        preds.append(root / f"{method}.nc")
        make_predictions(config, method, data, preds[-1])
    scores = make_scores(config, [data], preds, root / "scores.nc")
    return root, methods, data, preds, scores


def test_truth_is_stored_source_to_target(pair_run):
    _, _, data, _, _ = pair_run
    with xr.open_dataset(data) as ds:
        assert "A[source, target] = 1 means source causes target" in ds.attrs["convention"]
        labels = ds.label.values.tolist()
        pair = labels.index("pair Lorenz->Lorenz c=3")
        np.testing.assert_array_equal(ds.adj_summary.values[pair, :2, :2], [[0, 1], [0, 0]])
        assert str(ds.status.values[pair]) == "ok", ds.reason.values[pair]
        assert float(ds.sync_error.values[pair]) > 0.1  # not synchronised


def test_every_method_scores_the_drive_response_pair_in_the_right_direction(pair_run):
    _, methods, data, preds, scores = pair_run
    with xr.open_dataset(data) as ds:
        pair = ds.label.values.tolist().index("pair Lorenz->Lorenz c=3")
    for method, path in zip(methods, preds, strict=True):
        with xr.open_dataset(path) as pred:
            s = pred.score.values[pair]
            assert str(pred.status.values[pair]) == "ok", pred.reason.values[pair]
            assert s[0, 1] > s[1, 0], (method, s)
    g = int(np.flatnonzero(scores.label.values == "pair Lorenz->Lorenz c=3")[0])
    assert scores.included.values[g] == 1
    np.testing.assert_array_equal(scores.auroc.values[:, g], 1.0)
    np.testing.assert_array_equal(scores.auprc.values[:, g], 1.0)
    np.testing.assert_array_equal(scores.null_auprc.values[:, g], 0.5)


def test_coupled_logistic_map_stronger_direction_through_the_pipeline(pair_run):
    _, methods, data, preds, scores = pair_run
    with xr.open_dataset(data) as ds:
        k = ds.label.values.tolist().index("coupled logistic map c=1")
        # both directions are real edges: the graph has no non-edge, so it is
        # not in the headline AUROC (undefined), but the scores still rank x -> y first
        np.testing.assert_array_equal(ds.adj_summary.values[k, :2, :2], [[0, 1], [1, 0]])
    for method, path in zip(methods, preds, strict=True):
        if method == "pcmci":
            continue
        with xr.open_dataset(path) as pred:
            s = pred.score.values[k]
            assert s[0, 1] > s[1, 0], (method, s)
    g = int(np.flatnonzero(scores.label.values == "coupled logistic map c=1")[0])
    assert scores.included.values[g] == 0
    assert np.isnan(scores.auroc.values[:, g]).all()


def test_products_pass_their_schemas_and_corruptions_are_named(pair_run, tmp_path):
    root, methods, data, preds, _ = pair_run
    with xr.open_dataset(data) as ds:
        validate_causal_data(ds.load())
        bad = ds.copy(deep=True)
        bad["adj_summary"].values[0, 0, 0] = 1  # a self-loop in the truth
        with pytest.raises(ProductError, match="adj_summary"):
            validate_causal_data(bad)
    with xr.open_dataset(preds[0]) as pred:
        validate_causal_predictions(pred.load())
        bad = pred.copy(deep=True)
        status = bad["status"].values.astype(object)
        reason = bad["reason"].values.astype(object)
        status[0], reason[0] = "failed", "boom"
        bad["status"] = ("instance", status)
        bad["reason"] = ("instance", reason)
        # a failed run that still carries scores (e.g. zeros) is rejected
        with pytest.raises(ProductError, match="not ok carries scores"):
            validate_causal_predictions(bad)
    with xr.open_dataset(root / "scores.nc") as sc:
        validate_causal_scores(sc.load())
        assert sc.method_name.values.tolist() == methods
        bad = sc.copy(deep=True)
        bad["auroc"].values[0, 0] = 1.5
        with pytest.raises(ProductError, match="'auroc'"):
            validate_causal_scores(bad)


def test_unavailable_method_is_recorded_not_zero(tmp_path, monkeypatch):
    import chaosatlas.causal.pcmci as pcmci

    monkeypatch.setattr(pcmci, "pcmci_available", lambda: (False, "tigramite is not installed"))
    config = _config(["pcmci"])
    config["causal"]["tiers"]["pairs"]["logistic_map"] = False
    data = tmp_path / "pairs.nc"
    make_tier_data(config, "pairs", data)
    pred = make_predictions(config, "pcmci", data, tmp_path / "pcmci.nc")
    assert pred.status.values.tolist() == ["unavailable"]
    assert "tigramite" in str(pred.reason.values[0])
    assert np.isnan(pred.score.values).all()
    scores = make_scores(config, [data], [tmp_path / "pcmci.nc"], tmp_path / "scores.nc")
    assert scores.status.values.tolist() == [["unavailable"]]
    assert np.isnan(scores.auroc.values).all()


def test_settings_reject_unknown_tiers_and_methods():
    with pytest.raises(ValueError, match="unknown tier"):
        causal_settings({"causal": {"tiers": {"spirals": {}}, "methods": []}})
    with pytest.raises(ValueError, match="unknown method"):
        causal_settings({"causal": {"tiers": {}, "methods": ["oracle"]}})
