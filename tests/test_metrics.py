"""Metrics of kcs eval, against values computed by hand (see the comments)."""

from __future__ import annotations

import pytest

from kcs_kit.bench import metrics as m
from kcs_kit.bench.metrics import Prediction, compute
from kcs_kit.errors import SchemaError


def P(qid, cands, rejected=False, p_no=0.0, ms=10.0):  # noqa: N802 - short test helper
    return Prediction(qid, rejected, p_no, tuple(cands), ms)


# q1..q3 have a true design, q4 and q5 have none.
PREDS = [
    P("q1", [("a", 0.9), ("b", 0.1)], p_no=0.05, ms=10),
    P("q2", [("a", 0.6), ("b", 0.3)], p_no=0.1, ms=20),
    P("q3", [("c", 0.4)], rejected=True, p_no=0.6, ms=30),
    P("q4", [("a", 0.2)], rejected=True, p_no=0.8, ms=40),
    P("q5", [("b", 0.7)], p_no=0.2, ms=1000),
]
TRUTH = {"q1": "a", "q2": "b", "q3": "c", "q4": None, "q5": ""}  # "" counts as no design, like an empty cell


def test_accuracies():
    assert m.top_k_accuracy(PREDS, TRUTH, 1) == pytest.approx(1 / 3)  # q1 only
    assert m.top_k_accuracy(PREDS, TRUTH, 5) == pytest.approx(2 / 3)  # q1, q2; q3 was rejected
    assert m.rejection_accuracy(PREDS, TRUTH) == 0.5  # q4 rejected, q5 not
    assert m.reading_accuracy(PREDS, TRUTH) == pytest.approx(2 / 5)  # q1 and q4


def test_micro_ap():
    # pooled: .9 T, .7 F, .6 F, .4 T, .3 T, .2 F, .1 F -> precisions at positives 1/1, 2/4, 3/5; 3 positives
    assert m.micro_ap(PREDS, TRUTH) == pytest.approx((1 + 2 / 4 + 3 / 5) / 3)


def test_micro_ap_counts_a_missing_true_design_as_recall_never_reached():
    preds = [P("q1", [("a", 0.9)]), P("q2", [("x", 0.8)])]
    assert m.micro_ap(preds, {"q1": "a", "q2": "b"}) == pytest.approx(0.5)


def test_micro_ap_ties_form_one_block_whatever_their_order():
    # block .5: a T, b F, d F -> precision 1/3 for its positive; then .2 T -> 2/4; 2 positives
    preds = [P("q1", [("a", 0.5), ("b", 0.5)]), P("q2", [("d", 0.5), ("c", 0.2)])]
    swapped = [P("q2", [("d", 0.5), ("c", 0.2)]), P("q1", [("b", 0.5), ("a", 0.5)])]
    truth = {"q1": "a", "q2": "c"}
    assert m.micro_ap(preds, truth) == pytest.approx((1 / 3 + 2 / 4) / 2)
    assert m.micro_ap(swapped, truth) == pytest.approx((1 / 3 + 2 / 4) / 2)


def test_micro_ap_counts_a_repeated_candidate_once():
    preds = [P("q1", [("x", 0.9), ("a", 0.8), ("x", 0.7)])]
    assert m.micro_ap(preds, {"q1": "a"}) == pytest.approx(1 / 2)


def test_calibration_and_brier():
    # top-1 (confidence, correct): (.9,T) (.6,F) (.4,T: rejection ignored) (.2,F) (.7,F), each in its own bin
    assert m.ece_top1(PREDS, TRUTH) == pytest.approx((0.1 + 0.6 + 0.6 + 0.2 + 0.7) / 5)
    assert m.brier_top1(PREDS, TRUTH) == pytest.approx((0.01 + 0.36 + 0.36 + 0.04 + 0.49) / 5)
    # all 7 candidates, each in its own bin: .9T .1F .6F .3T .4T .2F .7F
    assert m.ece_candidates(PREDS, TRUTH) == pytest.approx((0.1 + 0.1 + 0.6 + 0.7 + 0.6 + 0.2 + 0.7) / 7)
    # p_no_match vs "no true design": .05F .1F .6F .8T .2T
    assert m.ece_no_match(PREDS, TRUTH) == pytest.approx((0.05 + 0.1 + 0.6 + 0.2 + 0.8) / 5)


def test_ece_bins():
    assert m.expected_calibration_error([0.9, 0.92], [True, False]) == pytest.approx(abs(0.5 - 0.91))  # one bin
    assert m.expected_calibration_error([1.0, 0.0], [True, False]) == 0.0  # both ends are inside a bin
    assert m.expected_calibration_error([1.5, -1.0], [True, False]) == 0.0  # clipped to [0, 1]
    assert m.expected_calibration_error([], []) is None


def test_a_query_without_candidates_counts_as_confidence_zero_and_wrong():
    preds = [P("q1", []), P("q2", [("b", 1.0)])]
    truth = {"q1": "a", "q2": "b"}
    assert m.ece_top1(preds, truth) == 0.0 and m.brier_top1(preds, truth) == 0.0
    assert m.reading_accuracy(preds, truth) == 0.5 and m.top_k_accuracy(preds, truth, 10) == 0.5


def test_latency_percentiles_interpolate_like_numpy():
    r = compute(PREDS, TRUTH)
    assert r.latency_p50_ms == 30.0
    assert r.latency_p95_ms == pytest.approx(40 + 0.8 * 960)  # position 3.8 between 40 and 1000
    assert m.percentile([5.0], 95) == 5.0 and m.percentile([], 50) is None


def test_compute_gathers_every_figure():
    r = compute(PREDS, TRUTH)
    assert (r.queries, r.with_design, r.without_design) == (5, 3, 2)
    assert r.reading_accuracy == pytest.approx(0.4) and r.top10 == pytest.approx(2 / 3)
    assert r.micro_ap == pytest.approx(0.7)


def test_no_queries_without_a_design():
    preds, truth = PREDS[:3], {k: TRUTH[k] for k in ("q1", "q2", "q3")}
    r = compute(preds, truth)
    assert r.rejection_accuracy is None and r.without_design == 0
    assert r.reading_accuracy == pytest.approx(1 / 3)
    assert r.ece_no_match == pytest.approx((0.05 + 0.1 + 0.6) / 3)


def test_all_rejected():
    preds = [P(p.query_id, p.candidates, rejected=True, p_no=0.9) for p in PREDS]
    r = compute(preds, TRUTH)
    assert (r.top1, r.top5, r.top10) == (0.0, 0.0, 0.0)
    assert r.rejection_accuracy == 1.0 and r.reading_accuracy == pytest.approx(2 / 5)
    assert r.micro_ap == pytest.approx(0.7)  # ranking is scored whatever the rejection


def test_no_queries_at_all():
    r = compute([], {})
    assert r.queries == 0 and r.reading_accuracy is None and r.micro_ap is None and r.latency_p95_ms is None


def test_a_prediction_without_truth_is_an_error():
    with pytest.raises(SchemaError, match="'q9'"):
        compute([P("q9", [])], TRUTH)


def test_prediction_json_round_trip():
    p = P("q1", [("a", 0.9), ("b", 0.1)], rejected=True, p_no=0.25, ms=12.5)
    record = p.to_json()
    assert record == {"query_id": "q1", "rejected": True, "p_no_match": 0.25,
                      "candidates": [{"design_id": "a", "probability": 0.9}, {"design_id": "b", "probability": 0.1}],
                      "latency_ms": 12.5}
    assert Prediction.from_json(record) == p
