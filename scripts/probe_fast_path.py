"""Probe (not part of matching): a fast first pass without the keypoint stages, stopping when it is certain.

Keypoints, VLAD, visual words and verification are about half of a photo's work. If marknet, the silhouettes
and OCR alone gave an accepted answer with a high probability, the keypoint stages could be skipped for that
item. Approximated from the cached analyses of the fitting queries (no matching again, seconds): the keypoint
stages' signals (shortlist, bow, inliers, inlier_ratio, agree) and the query's best shortlist, visual-word and
inlier values set to 0, and the candidates cut to those the other lists put forward (marknet's best 30 and the
silhouettes' best 30 among positive scores, OCR's 10, text's 5). A "fast" fusion is fitted on that out of fold,
beside the full one; for each threshold: the share of queries the fast pass answers (accepted, top probability
>= threshold) and the reading and rejection accuracy of answering those from it and the rest as today.
Usage:

    python scripts/probe_fast_path.py QUERIES_DIR [QUERIES_DIR ...]
    python scripts/probe_fast_path.py /tmp/photos-train /tmp/photos-train2 /tmp/photos-train3
"""

import sys
from pathlib import Path

import numpy as np

RATIO = 0.35
FOLDS = 5
THRESHOLDS = (0.8, 0.9, 0.95, 0.99)


def main(folders: list[Path]) -> None:
    from kcs_kit.config import load_settings
    from kcs_kit.match.crossval import fold_models, fold_of
    from kcs_kit.match.fusion import QUERY_SIGNALS, SIGNALS, rejects
    from kcs_kit.match.train import Analysed, collect_many

    col = {s: i for i, s in enumerate(SIGNALS)}
    skipped = [col[s] for s in ("shortlist", "bow", "inliers", "inlier_ratio", "agree")]
    q_skipped = [QUERY_SIGNALS.index(s) for s in ("best_shortlist", "best_bow", "best_inliers")]

    def best(f: np.ndarray, signal: str, n: int) -> set[int]:
        v = f[:, col[signal]]
        return {int(i) for i in np.argsort(-v, kind="stable")[:n] if v[i] > 0}

    def fast(a: Analysed) -> Analysed:
        f = a.feats.reshape(-1, len(SIGNALS))
        keep = sorted(best(f, "marknet", 30) | best(f, "shape", 30) | best(f, "ocr", 10) | best(f, "text", 5))
        g, q = f[keep].copy(), a.qfeats.copy()
        g[:, skipped], q[q_skipped] = 0.0, 0.0
        return Analysed(a.query_id, tuple(a.design_ids[i] for i in keep), g, q, a.truth)

    items = collect_many(load_settings(), folders)
    quick = [fast(a) for a in items]
    full_models, fast_models = fold_models(items, folds=FOLDS), fold_models(quick, folds=FOLDS)

    def answer(model, a: Analysed) -> tuple[str | None, float]:
        if not a.design_ids:
            return None, 0.0
        p, p0 = model.probabilities(a.feats, a.qfeats)
        return (None if rejects(p, p0, RATIO) else a.design_ids[int(np.argmax(p))]), float(p.max())

    out = [(answer(full_models[fold_of(a.query_id, FOLDS)], a), answer(fast_models[fold_of(a.query_id, FOLDS)], b),
            a.truth or None) for a, b in zip(items, quick, strict=True)]
    has = np.array([t is not None for *_a, t in out])

    def scores(answers: list[str | None]) -> str:
        ok = np.array([x == t for x, (*_a, t) in zip(answers, out, strict=True)])
        return f"reading {ok.mean():.1%}, with a design {ok[has].mean():.1%}, rejection {ok[~has].mean():.1%}"

    lost = sum(bool(a.truth) and a.truth in a.design_ids and a.truth not in b.design_ids
               for a, b in zip(items, quick, strict=True))
    print(f"{len(out)} queries; the fast candidates lose the true design on {lost}")
    print(f"every stage: {scores([f[0] for f, _q, _t in out])}")
    print(f"fast pass only: {scores([q[0] for _f, q, _t in out])}")
    for tau in THRESHOLDS:
        stop = [q[0] is not None and q[1] >= tau for _f, q, _t in out]
        print(f"fast pass answers at p >= {tau}: {np.mean(stop):.1%} of the queries; "
              + scores([q[0] if s else f[0] for s, (f, q, _t) in zip(stop, out, strict=True)]))


if __name__ == "__main__":
    main([Path(a) for a in sys.argv[1:]])
