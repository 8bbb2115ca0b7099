"""Fusion: one distribution over candidates + "no match", fitted by maximum likelihood, refused if worse."""

from __future__ import annotations

import numpy as np
import pytest

from kcs_kit.match.fusion import PRIOR_MODEL, QUERY_SIGNALS, SIGNALS, Example, FusionModel, fit
from kcs_kit.match.train import Scores, decide, score


def synthetic(n: int, seed: int) -> list[Example]:
    """Queries where the true candidate has stronger inliers/bow signals; 25% have no true design."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = int(rng.integers(3, 12))
        feats = rng.uniform(0, 0.4, (k, len(SIGNALS)))
        truth = -1 if rng.random() < 0.25 else int(rng.integers(0, k))
        if truth >= 0:
            feats[truth, SIGNALS.index("inliers")] += rng.uniform(0.3, 1.0)
            feats[truth, SIGNALS.index("bow")] += rng.uniform(0.1, 0.5)
        q = np.array([feats[:, 0].max(), feats[:, 1].max(), feats[:, 2].max(), 0.0,
                      feats[:, SIGNALS.index("marknet")].max(), feats[:, SIGNALS.index("shape")].max(),
                      feats[:, SIGNALS.index("marknet_peak")].max()])
        out.append(Example(feats, q, truth))
    return out


def test_probabilities_and_no_match_sum_to_one():
    feats = np.random.default_rng(0).uniform(0, 1, (5, len(SIGNALS)))
    p, p0 = PRIOR_MODEL.probabilities(feats, np.zeros(len(QUERY_SIGNALS)))
    assert p.shape == (5,) and 0 < p0 < 1 and p.sum() + p0 == pytest.approx(1.0)
    p, p0 = PRIOR_MODEL.probabilities(np.zeros((0, len(SIGNALS))), np.zeros(len(QUERY_SIGNALS)))
    assert p0 == pytest.approx(1.0)


def test_fit_beats_the_prior_on_held_out_data_and_round_trips(tmp_path):
    model = fit(synthetic(300, 1), trained_on="synthetic")
    test = synthetic(200, 2)
    before, after = score(PRIOR_MODEL, test), score(model, test)
    assert after.log_loss < before.log_loss and after.reading_accuracy > 0.8
    assert model.version.startswith("clogit-") and model.weights["inliers"] > 0
    again = FusionModel.load(model.save(tmp_path / "fusion.json"))
    assert again == model


def test_a_signal_left_out_of_the_fit_gets_no_weight(tmp_path):
    from click.testing import CliRunner

    from kcs_kit.cli import main
    from kcs_kit.match.fusion import features_without

    feats = features_without(["inliers", "bow"])
    assert "inliers" not in feats and "inliers_lead" not in feats and "bow" not in feats and "shape_lead" in feats
    model = fit(synthetic(300, 1), features=feats)
    assert "inliers" not in model.weights and "inliers_lead" not in model.weights and model.weights["marknet"] != 0
    assert model.score(np.eye(len(SIGNALS))[[SIGNALS.index("inliers")]])[0] == 0.0  # it counts for nothing
    # the query signals that are the best of a left-out signal are left out with it, the others fitted
    assert model.none_weights["best_inliers"] == 0.0 and model.none_weights["best_bow"] == 0.0
    assert model.none_weights["best_marknet"] != 0.0 and model.none_weights["best_shape"] != 0.0
    with pytest.raises(ValueError, match="found 'texture'"):
        features_without(["texture"])
    r = CliRunner().invoke(main, ["--workspace", str(tmp_path), "model", "fit", "--queries", str(tmp_path),
                                  "--without", "texture"])
    assert r.exit_code != 0 and "--without" in r.output and "'texture'" in r.output


def test_a_worse_model_is_refused():
    good, bad = Scores(100, 0.40, 0.90, 0.03), Scores(100, 0.55, 0.92, 0.03)
    assert decide(good, bad, "clogit-abc")[0] is False  # higher log-loss: refused even with more accuracy
    assert "kept clogit-abc" in decide(good, bad, "clogit-abc")[1]
    assert decide(bad, good, "x")[0] is False  # lower accuracy: refused
    assert decide(Scores(100, 0.6, 0.8, 0.1), good, "x") == (True, "better on the held-out queries: activated")
    forced = decide(bad, good, "x", force=True)  # --force: activated, the comparison still reported
    assert forced[0] is True and "not better" in forced[1] and "--force" in forced[1]


def test_leads_within_the_query():
    from kcs_kit.match.fusion import FEATURES, expand

    feats = np.zeros((3, len(SIGNALS)))
    feats[:, SIGNALS.index("shape")] = [0.2, 0.5, 0.0]
    feats[:, SIGNALS.index("ocr")] = [0.9, 0.9, 0.1]
    x = expand(feats)
    assert x[:, FEATURES.index("shape_lead")] == pytest.approx([0.0, 0.3, 0.0])
    assert x[:, FEATURES.index("ocr_lead")].tolist() == [0.0, 0.0, 0.0]  # a tie leads nobody
    assert expand(feats[:1])[0, FEATURES.index("shape_lead")] == pytest.approx(0.2)  # alone: ahead by its value
    assert np.array_equal(x[:, :len(SIGNALS)], feats)


def test_contributions_add_up_to_the_score_with_derived_features_under_their_signal():
    model = fit(synthetic(200, 3), trained_on="synthetic")
    assert any(k.endswith("_lead") for k in model.weights)
    feats = synthetic(1, 4)[0].feats
    contrib = model.contributions(feats)
    assert set(contrib[0]) == set(SIGNALS)
    assert [sum(c.values()) for c in contrib] == pytest.approx(model.score(feats).tolist())


def test_a_model_saved_before_derived_features_scores_as_it_did():
    old = FusionModel({"inliers": 3.0, "ocr": 8.0}, 2.0)
    feats = np.random.default_rng(5).uniform(0, 1, (4, len(SIGNALS)))
    expected = feats[:, SIGNALS.index("inliers")] * 3.0 + feats[:, SIGNALS.index("ocr")] * 8.0
    assert old.score(feats) == pytest.approx(expected)


def test_a_signal_absent_from_every_example_keeps_its_prior_weight():
    data = synthetic(150, 6)
    for ex in data:
        ex.feats[:, SIGNALS.index("hs_match")] = 0.0  # labelled queries without declarations
    model = fit(data)
    assert model.weights["hs_match"] == pytest.approx(PRIOR_MODEL.weights["hs_match"])
    assert model.weights["inliers"] != pytest.approx(PRIOR_MODEL.weights["inliers"])


def test_cross_validation_scores_every_query_out_of_fold():
    from kcs_kit.match.crossval import cross_validate
    from kcs_kit.match.train import Analysed

    items = []
    for k, ex in enumerate(synthetic(120, 7)):
        ids = tuple(f"d{k}-{i}" for i in range(len(ex.feats)))
        truth = "" if ex.truth < 0 else ids[ex.truth]
        items.append(Analysed(f"q{k}", ids, ex.feats, ex.qfeats, truth))
    items.append(Analysed("missed", ("x", "y"), np.zeros((2, len(SIGNALS))), np.zeros(len(QUERY_SIGNALS)), "z"))
    rows = cross_validate(items, folds=4, ratios=(0.5, 1.0))
    assert [(r.features, r.reject_ratio) for r in rows] == [("signals", 0.5), ("signals", 1.0),
                                                           ("signals + leads", 0.5), ("signals + leads", 1.0)]
    assert all(r.metrics.queries == len(items) for r in rows)  # the missed query is scored (as wrong)
    assert all(r.metrics.reading_accuracy > 0.7 for r in rows)
    # a lower ratio rejects at least as often: rejection accuracy cannot fall
    assert rows[0].metrics.rejection_accuracy >= rows[1].metrics.rejection_accuracy


def test_the_recommended_reject_ratio_keeps_the_rejection_target_with_confidence():
    from kcs_kit.bench.metrics import Metrics
    from kcs_kit.match.crossval import CvRow, recommended_ratio, rejection_lower_bound

    def row(ratio: float, rejection: float, n: int = 240, features: str = "signals + leads") -> CvRow:
        m = Metrics(n + 100, 100, n, 0.6, 0.6, None, None, rejection, None, None, None, None, None, None, None)
        return CvRow(features, ratio, m)

    # Wilson's one-sided 90% bound: below the measured share, and closer to it with more queries
    assert rejection_lower_bound(row(1, 0.95).metrics) == pytest.approx(0.9287, abs=1e-4)
    assert rejection_lower_bound(row(1, 0.95, n=2400).metrics) == pytest.approx(0.9440, abs=1e-4)
    assert rejection_lower_bound(row(1, 1.0).metrics) < 1.0
    # 0.35 measures 95.4% but its bound is 93.3%: only 0.2 (97.5%, bound 95.9%) keeps the target
    rows = [row(0.2, 0.975), row(0.25, 0.967), row(0.35, 0.954), row(1.0, 0.90), row(0.5, 0.99, features="signals")]
    assert recommended_ratio(rows) == 0.2
    assert recommended_ratio(rows, features="signals") == 0.5
    assert recommended_ratio(rows[2:4]) is None
