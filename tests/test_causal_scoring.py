"""Scoring of causal graphs: hand-computed values, the AP definition, orientation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chaosatlas.causal import (
    auprc,
    auroc,
    f1,
    off_diagonal,
    pooled_scores,
    precision_recall_curve,
    roc_curve,
    score_graph,
    shd,
    threshold,
    top_k,
)

# 3 nodes, edges 0 -> 1 and 1 -> 2. Off-diagonal entries in row-major order:
#   (0,1) (0,2) (1,0) (1,2) (2,0) (2,1)
#  truth  1     0     0     1     0     0
#  score  0.9   0.8   0.1   0.4   0.4   0.2
TRUTH3 = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
SCORE3 = np.array([[9.0, 0.9, 0.8], [0.1, 9.0, 0.4], [0.4, 0.2, 9.0]])


def brute_average_precision(truth: np.ndarray, score: np.ndarray) -> float:
    """The definition, literally: threshold at every distinct score, high to low."""
    t = off_diagonal(truth).astype(bool)
    s = off_diagonal(score)
    total, prev_recall = 0.0, 0.0
    for thr in sorted(set(s.tolist()), reverse=True):
        pred = s >= thr
        tp = np.sum(pred & t)
        precision = tp / np.sum(pred)
        recall = tp / np.sum(t)
        total += (recall - prev_recall) * precision
        prev_recall = recall
    return float(total)


def test_off_diagonal_row_major():
    M = np.arange(9).reshape(3, 3)
    assert off_diagonal(M).tolist() == [1, 2, 3, 5, 6, 7]


def test_auroc_by_hand():
    # positives 0.9, 0.4; negatives 0.8, 0.1, 0.4, 0.2.
    # 0.9 beats all 4 negatives -> 4; 0.4 beats 0.1 and 0.2, ties 0.4 (1/2),
    # loses to 0.8 -> 2.5. AUROC = 6.5 / (2 * 4) = 0.8125. The diagonal (9.0)
    # would be the top score if it were counted.
    assert auroc(TRUTH3, SCORE3) == pytest.approx(0.8125, abs=1e-12)


def test_auprc_by_hand_ties_enter_together():
    # distinct thresholds, high to low:
    #   0.9: TP 1 FP 0 -> P 1,   R 0.5  -> (0.5 - 0) * 1    = 0.5
    #   0.8: TP 1 FP 1 -> P 1/2, R 0.5  -> 0
    #   0.4: TP 2 FP 2 -> P 1/2, R 1    -> (1 - 0.5) * 1/2  = 0.25
    #   0.2, 0.1: R stays 1             -> 0
    # AP = 0.75. Breaking the 0.4 tie positive-first would give 0.5 + 0.5*2/3.
    assert auprc(TRUTH3, SCORE3) == pytest.approx(0.75, abs=1e-12)
    assert brute_average_precision(TRUTH3, SCORE3) == pytest.approx(0.75, abs=1e-12)


def test_auprc_matches_brute_force_definition():
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(300):
        n = int(rng.integers(2, 8))
        truth = (rng.random((n, n)) < rng.uniform(0.1, 0.8)).astype(int)
        score = np.round(rng.random((n, n)), int(rng.integers(0, 3)))  # many ties
        t = off_diagonal(truth)
        if t.min() == t.max():
            assert math.isnan(auprc(truth, score))
            continue
        assert auprc(truth, score) == pytest.approx(
            brute_average_precision(truth, score), abs=1e-12
        )
        checked += 1
    assert checked > 200


def test_perfect_and_reversed_rankings():
    truth = TRUTH3
    assert auroc(truth, truth.astype(float)) == 1.0
    assert auprc(truth, truth.astype(float)) == 1.0
    assert auroc(truth, -truth.astype(float)) == 0.0
    # constant score: every pair ties -> 1/2; AP = density = 2/6
    assert auroc(truth, np.ones((3, 3))) == 0.5
    assert auprc(truth, np.ones((3, 3))) == pytest.approx(1 / 3)


def test_orientation_transpose_changes_result():
    # chain 0 -> 1 -> 2 -> 3 scored perfectly, then transposed (target, source):
    # the transposed score puts 1 on (1,0), (2,1), (3,2), all non-edges, and 0 on
    # the 3 true edges and the 6 other non-edges. AUROC: each positive loses to
    # 3 negatives and ties 6 -> U = 3 * 6 * 1/2 = 9 of 3 * 9 pairs = 1/3.
    # AP: threshold 1 (TP 0, FP 3, R 0) adds 0; threshold 0 (TP 3 of 12 entries,
    # P 3/12, R 1) adds 1 * 3/12 -> 0.25.
    truth = np.diag(np.ones(3, dtype=int), k=1)
    score = truth.astype(float)
    assert auroc(truth, score) == 1.0
    assert auroc(truth, score.T) == pytest.approx(1 / 3)
    assert auprc(truth, score.T) == pytest.approx(0.25)
    assert shd(truth, truth.T) == 3  # three reversals, each counted once


def test_random_scores_auroc_is_half():
    rng = np.random.default_rng(0)
    values = []
    for _ in range(200):
        truth = (rng.random((10, 10)) < 0.2).astype(int)
        values.append(auroc(truth, rng.random((10, 10))))
    values = np.array(values)
    assert not np.isnan(values).any()
    assert abs(values.mean() - 0.5) < 0.03


def test_undefined_cases_are_nan():
    zeros = np.zeros((3, 3), dtype=int)
    full = 1 - np.eye(3, dtype=int)  # every off-diagonal entry is an edge
    score = np.random.default_rng(1).random((3, 3))
    for truth in (zeros, full):
        assert math.isnan(auroc(truth, score))
        assert math.isnan(auprc(truth, score))
    nan_score = SCORE3.copy()
    nan_score[0, 2] = np.nan
    assert math.isnan(auroc(TRUTH3, nan_score))
    assert math.isnan(auprc(TRUTH3, nan_score))
    # NaN on the diagonal is ignored by the headline metrics
    diag_nan = SCORE3.copy()
    np.fill_diagonal(diag_nan, np.nan)
    assert auroc(TRUTH3, diag_nan) == pytest.approx(0.8125)


def test_shd_and_f1_by_hand():
    # truth: 0->1, 1->2, 2->3, 3->2 (a 2-cycle)
    # pred:  1->0 (reversal of 0->1: 1), 1->2 (right), 2->3 only (3->2 missing: 1),
    #        0->3 (extra: 1)                                           SHD = 3
    # TP = {1->2, 2->3} = 2, FP = {1->0, 0->3} = 2, FN = {0->1, 3->2} = 2
    # F1 = 2*2 / (2*2 + 2 + 2) = 0.5
    truth = np.zeros((4, 4), dtype=int)
    truth[0, 1] = truth[1, 2] = truth[2, 3] = truth[3, 2] = 1
    pred = np.zeros((4, 4), dtype=int)
    pred[1, 0] = pred[1, 2] = pred[2, 3] = pred[0, 3] = 1
    assert shd(truth, pred) == 3
    assert f1(truth, pred) == pytest.approx(0.5)
    # a missing 2-cycle costs 2 (edge by edge), a predicted 2-cycle for i->j costs 1
    assert shd(truth, np.zeros_like(truth)) == 4
    both = np.zeros((2, 2), dtype=int)
    both[0, 1] = both[1, 0] = 1
    one = np.array([[0, 1], [0, 0]])
    assert shd(both, np.zeros((2, 2), dtype=int)) == 2
    assert shd(one, both) == 1
    assert shd(truth, truth) == 0
    assert f1(truth, truth) == 1.0
    # diagonal ignored
    assert shd(np.eye(3, dtype=int), np.zeros((3, 3), dtype=int)) == 0
    assert math.isnan(f1(np.zeros((3, 3), dtype=int), np.zeros((3, 3), dtype=int)))


def test_top_k_deterministic_ties_and_threshold():
    score = np.array([[5.0, 1.0, 2.0], [2.0, 5.0, 0.5], [2.0, 3.0, 5.0]])
    # off-diagonal: (0,1)=1 (0,2)=2 (1,0)=2 (1,2)=.5 (2,0)=2 (2,1)=3
    # top 1: (2,1); top 3: (2,1), then the earliest two of the tied 2's: (0,2), (1,0)
    assert np.argwhere(top_k(score, 1)).tolist() == [[2, 1]]
    assert np.argwhere(top_k(score, 3)).tolist() == [[0, 2], [1, 0], [2, 1]]
    assert top_k(score, 0).sum() == 0
    assert top_k(score, 6).sum() == 6 and np.trace(top_k(score, 6)) == 0
    with pytest.raises(ValueError, match="k must be"):
        top_k(score, 7)
    with pytest.raises(ValueError, match="NaN"):
        top_k(np.full((3, 3), np.nan), 1)
    pvalue = np.array([[0.0, 0.01, 0.2], [0.049, 0.0, np.nan], [0.05, 1.0, 0.0]])
    expected = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]])
    assert np.array_equal(threshold(pvalue, 0.05), expected)
    with pytest.raises(ValueError, match="alpha"):
        threshold(pvalue, 0.0)


def test_score_graph_by_hand():
    truth = TRUTH3.copy()
    truth[0, 0] = 1  # a self-loop on node 0
    diag_score = SCORE3.copy()
    np.fill_diagonal(diag_score, [0.7, 0.1, 0.3])
    pvalue = np.array([[0.0, 0.001, 0.5], [0.3, 0.0, 0.01], [0.02, 0.9, 0.0]])
    out = score_graph(truth, diag_score, pvalue=pvalue, alpha=0.05)
    assert out["n_nodes"] == 3 and out["n_edges"] == 2
    assert out["auroc"] == pytest.approx(0.8125)
    assert out["auprc"] == pytest.approx(0.75)
    assert out["null_auroc"] == 0.5
    assert out["null_auprc"] == pytest.approx(2 / 6)
    # p < 0.05 off-diagonal: (0,1), (1,2), (2,0): TP 2, FP 1 -> F1 4/5, SHD 1 (extra)
    assert out["f1_threshold"] == pytest.approx(0.8)
    assert out["shd_threshold"] == 1
    # top-2: (0,1)=0.9, (0,2)=0.8 -> TP 1, FP 1, FN 1 -> F1 1/2, SHD 2
    assert out["f1_topk"] == pytest.approx(0.5)
    assert out["shd_topk"] == 2
    # diagonal: truth (1, 0, 0), score (0.7, 0.1, 0.3): the self-loop ranks first
    assert out["self_loop_auroc"] == 1.0
    # without p-values the own-threshold metrics are NaN; a failed run is all NaN
    no_p = score_graph(truth, diag_score)
    assert math.isnan(no_p["f1_threshold"]) and math.isnan(no_p["shd_threshold"])
    failed = score_graph(truth, np.full((3, 3), np.nan))
    for key in ("auroc", "auprc", "f1_topk", "shd_topk", "self_loop_auroc"):
        assert math.isnan(failed[key]), key
    # self-loop AUROC undefined when no (or every) node has a self-loop
    assert math.isnan(score_graph(TRUTH3, diag_score)["self_loop_auroc"])


def test_bad_inputs():
    with pytest.raises(ValueError, match="binary"):
        auroc(np.full((3, 3), 2), SCORE3)
    with pytest.raises(ValueError, match="square"):
        auroc(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="does not match"):
        auprc(TRUTH3, np.zeros((4, 4)))
    with pytest.raises(ValueError, match="binary"):
        shd(TRUTH3, SCORE3)


def test_roc_curve_by_hand_and_area_is_auroc():
    # thresholds 0.9 0.8 0.4(tie: one TP, one FP) 0.2 0.1; 2 positives, 4 negatives
    fpr, tpr = roc_curve([TRUTH3], [SCORE3])
    np.testing.assert_allclose(fpr, [0, 0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1.0, 1.0, 1.0])
    # the tie is one diagonal segment: the trapezoid area is the Mann-Whitney AUROC
    assert np.trapezoid(tpr, fpr) == pytest.approx(auroc(TRUTH3, SCORE3))
    rng = np.random.default_rng(3)
    truths = [(rng.random((n, n)) < 0.3).astype(int) for n in (4, 6, 5)]
    scores = [np.round(rng.random(t.shape), 1) for t in truths]  # many ties
    fpr, tpr = roc_curve(truths, scores)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert (fpr[-1], tpr[-1]) == (1.0, 1.0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(pooled_scores(truths, scores)[0])


def test_precision_recall_curve_sums_to_average_precision():
    recall, precision = precision_recall_curve([TRUTH3], [SCORE3])
    np.testing.assert_allclose(recall, [0.5, 0.5, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(precision, [1.0, 0.5, 2 / 4, 2 / 5, 2 / 6])
    ap = np.sum(np.diff(recall, prepend=0.0) * precision)
    assert ap == pytest.approx(brute_average_precision(TRUTH3, SCORE3))
    rng = np.random.default_rng(4)
    truths = [(rng.random((n, n)) < 0.4).astype(int) for n in (3, 7)]
    scores = [rng.random(t.shape) for t in truths]
    recall, precision = precision_recall_curve(truths, scores)
    ap = np.sum(np.diff(recall, prepend=0.0) * precision)
    assert ap == pytest.approx(pooled_scores(truths, scores)[1])


def test_curves_are_empty_when_undefined():
    for curve in (roc_curve, precision_recall_curve):
        a, b = curve([np.zeros((3, 3), int)], [SCORE3])
        assert a.size == b.size == 0
        a, b = curve([TRUTH3], [np.full((3, 3), np.nan)])
        assert a.size == b.size == 0
    with pytest.raises(ValueError, match="2 truths but 1"):
        roc_curve([TRUTH3, TRUTH3], [SCORE3])
