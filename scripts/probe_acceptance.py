"""Probe (not part of matching): a second model that decides whether to accept the fusion's first candidate.

Matching rejects when ``p_no_match >= reject_ratio x`` the first candidate's probability. A classifier trained
on the outcome ("the first candidate is the true design") could separate right from wrong first answers with
more than the two probabilities: the first candidate's signals and leads, the query's signals, the margin to
the second, the number of candidates. Out of fold on the fitting sets' cached analyses (the fusion's 5 folds;
the classifier's training queries of other folds are scored by their own out-of-fold fusion), a logistic
regression and gradient boosting are compared with the ratio rule at the threshold whose rejection reaches 95%.
Seconds once the analyses are cached (``kcs model cv`` caches them). Usage:

    python scripts/probe_acceptance.py QUERIES_DIR [QUERIES_DIR ...]
    python scripts/probe_acceptance.py /tmp/photos-train /tmp/photos-train2 /tmp/photos-train3
"""

import sys
from pathlib import Path

import numpy as np

FOLDS = 5


def main(folders: list[Path]) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    from kcs_kit.config import load_settings
    from kcs_kit.match.crossval import fold_models, fold_of
    from kcs_kit.match.fusion import expand, rejects
    from kcs_kit.match.train import collect_many

    items = collect_many(load_settings(), folders)
    models = fold_models(items, folds=FOLDS)
    x, right, fold, negative, by_ratio = [], [], [], [], {}
    for a in items:
        p, p0 = models[fold_of(a.query_id, FOLDS)].probabilities(a.feats, a.qfeats)
        order = np.argsort(-p)
        top, second = order[0], (p[order[1]] if len(p) > 1 else 0.0)
        lp, lp0 = np.log(p[top] + 1e-9), np.log(p0 + 1e-9)
        x.append([lp, lp0, lp - lp0, p[top] - second, len(p) / 100, *expand(a.feats)[top], *a.qfeats])
        right.append(bool(a.truth) and a.design_ids[top] == a.truth)
        fold.append(fold_of(a.query_id, FOLDS))
        negative.append(not a.truth)
        for ratio in (0.1, 0.25, 0.35, 0.5, 1.0):
            by_ratio.setdefault(ratio, []).append(rejects(p, p0, ratio))
    xa, ya, fa, na = np.array(x), np.array(right), np.array(fold), np.array(negative)

    def line(rejected) -> str:
        rej = np.asarray(rejected)
        reading = np.mean(np.where(na, rej, ya & ~rej))
        return f"reading {reading:.1%}, rejection {rej[na].mean():.1%}, top-1 {(ya & ~rej)[~na].mean():.1%}"

    print(f"{len(items)} queries, {int(na.sum())} without a registered design")
    for ratio, rej in by_ratio.items():
        print(f"ratio rule {ratio}: {line(rej)}")
    makers = {"logistic regression": lambda: LogisticRegression(C=1.0, max_iter=2000),
              "gradient boosting": lambda: HistGradientBoostingClassifier(
                  max_iter=200, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=20)}
    for name, make in makers.items():
        prob = np.zeros(len(ya))
        for f in range(FOLDS):
            train = fa != f
            prob[~train] = make().fit(xa[train], ya[train]).predict_proba(xa[~train])[:, 1]
        negatives = np.sort(prob[na])
        tau = negatives[int(np.ceil(0.95 * len(negatives))) - 1] + 1e-9
        print(f"{name}, threshold {tau:.3f} (rejection 95%): {line(prob < tau)}")


if __name__ == "__main__":
    main([Path(a) for a in sys.argv[1:]])
