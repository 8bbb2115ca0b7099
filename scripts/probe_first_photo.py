"""Probe (not part of matching): answer items of several photos from their first photo when it is certain.

Items with 2-3 photos take 2-3 times as long and make most of the latency's p95. If the first photo alone gives
an accepted answer with a high probability, the other photos may not be needed. For every fitting query of more
than one photo: the first photo is matched alone, and both it and the whole item (the cached analysis) are
scored by the fusion fitted on the other 4 folds (as ``kcs model cv``) at the shipped reject ratio. For each
threshold: the share of items that would stop after the first photo (accepted, top probability >= threshold)
and the reading accuracy of the cascade against matching every photo. ~2 minutes for the ~170 items of three
fitting sets. Usage:

    python scripts/probe_first_photo.py QUERIES_DIR [QUERIES_DIR ...]
    python scripts/probe_first_photo.py /tmp/photos-train /tmp/photos-train2 /tmp/photos-train3
"""

import csv
import sys
from pathlib import Path

import numpy as np

FOLDS = 5
RATIO = 0.35
THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)


def main(folders: list[Path]) -> None:
    from kcs_kit.config import load_settings
    from kcs_kit.match.crossval import fold_models, fold_of
    from kcs_kit.match.engine import analyse
    from kcs_kit.match.fusion import rejects
    from kcs_kit.match.train import collect_many, package_query_id

    settings = load_settings()
    items = {a.query_id: a for a in collect_many(settings, folders)}
    models = fold_models(list(items.values()), folds=FOLDS)

    def answer(model, ids, feats, qfeats) -> tuple[str | None, float]:
        p, p0 = model.probabilities(feats, qfeats)
        return (None if rejects(p, p0, RATIO) else ids[int(np.argmax(p))]), float(p.max()) if len(p) else 0.0

    out = []
    for d in folders:
        for row in csv.DictReader(open(Path(d) / "queries.csv")):
            qid = package_query_id(d, row["query_id"], len(folders))
            if "|" not in row["image_path"] or qid not in items:
                continue
            model, whole = models[fold_of(qid, FOLDS)], items[qid]
            first = analyse([str(Path(d) / row["image_path"].split("|")[0])], settings, crop=row.get("crop") or None)
            one, p_one = answer(model, [r[0] for r in first.rows], first.feats, first.query_signals)
            every, _p = answer(model, list(whole.design_ids), whole.feats, whole.qfeats)
            out.append((one, p_one, every, row["design_id"].strip() or None))
    print(f"{len(out)} items of several photos: every photo read {np.mean([e == t for _o, _p, e, t in out]):.1%}, "
          f"the first photo only {np.mean([o == t for o, _p, _e, t in out]):.1%}")
    for tau in THRESHOLDS:
        stop = [o is not None and p >= tau for o, p, _e, _t in out]
        read = np.mean([(o if s else e) == t for s, (o, _p, e, t) in zip(stop, out, strict=True)])
        print(f"stop after the first photo at p >= {tau}: {np.mean(stop):.1%} of the items stop, {read:.1%} read")


if __name__ == "__main__":
    main([Path(a) for a in sys.argv[1:]])
