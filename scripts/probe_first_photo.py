"""Probe (not part of matching): answer items of several photos from their first photos when they are certain.

Items with 2-3 photos take 2-3 times as long and make most of the latency's p95. If the first photo (or the
first two of three) gives an accepted answer with a high probability, the other photos may not be needed (what
``match`` does since 2026-12-06: settings.match_first_photo). For every fitting query of more than one photo:
the first photo, then the first two, are matched as the engine does (reusing each step's stage results), and
each step and the whole item (the cached analysis) are scored by the fusion fitted on the other 4 folds (as
``kcs model cv``) at the shipped reject ratio. For each threshold: the share of items that stop early
(accepted, top probability >= threshold), the photos matched per item and the reading accuracy of the cascade
against matching every photo. ~7 minutes for the ~170 items of three fitting sets. Usage:

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
    from kcs_kit.match.engine import _Item, get_context
    from kcs_kit.match.fusion import rejects
    from kcs_kit.match.train import collect_many, package_query_id

    settings = load_settings()
    ctx = get_context(settings)
    items = {a.query_id: a for a in collect_many(settings, folders)}
    models = fold_models(list(items.values()), folds=FOLDS)

    def answer(model, ids, feats, qfeats) -> tuple[str | None, float]:
        p, p0 = model.probabilities(feats, qfeats)
        return (None if rejects(p, p0, RATIO) else ids[int(np.argmax(p))]), float(p.max()) if len(p) else 0.0

    out = []  # per item: ([(answer, p) after photo 1, after photos 1-2, ...], every photo's answer, truth)
    for d in folders:
        for row in csv.DictReader(open(Path(d) / "queries.csv")):
            qid = package_query_id(d, row["query_id"], len(folders))
            if "|" not in row["image_path"] or qid not in items:
                continue
            model, whole = models[fold_of(qid, FOLDS)], items[qid]
            photos = [str(Path(d) / p) for p in row["image_path"].split("|")]
            item = _Item(ctx, {}, settings, photos, row.get("crop") or None, None, None, None)
            steps = [answer(model, [r[0] for r in a.rows], a.feats, a.query_signals)
                     for a in (item.analysis(k) for k in range(1, len(photos)))]
            every, _p = answer(model, list(whole.design_ids), whole.feats, whole.qfeats)
            out.append((steps, every, row["design_id"].strip() or None, len(photos)))
    print(f"{len(out)} items of several photos ({sum(n == 3 for *_r, n in out)} of 3, "
          f"{sum(t is None for _s, _e, t, _n in out)} without a design): every photo read "
          f"{np.mean([e == t for _s, e, t, _n in out]):.1%} (false alarms: "
          f"{sum(t is None and e is not None for _s, e, t, _n in out)}), the first photo only "
          f"{np.mean([s[0][0] == t for s, _e, t, _n in out]):.1%}")
    for tau in THRESHOLDS:
        read, used, first, alarms = [], [], [], 0
        for steps, every, truth, n in out:
            k = next((k for k, (o, p) in enumerate(steps) if o is not None and p >= tau), None)
            said = every if k is None else steps[k][0]
            read.append(said == truth)
            alarms += truth is None and said is not None
            used.append(n if k is None else k + 1)
            first.append(k == 0)
        print(f"stop once accepted at p >= {tau}: {np.mean(first):.1%} of the items after the first photo, "
              f"{np.mean([u < n for u, (*_r, n) in zip(used, out, strict=True)]):.1%} before the last; "
              f"{np.mean(used):.2f} photos matched per item (every photo: {np.mean([n for *_r, n in out]):.2f}); "
              f"{np.mean(read):.1%} read, {alarms} false alarms")


if __name__ == "__main__":
    main([Path(a) for a in sys.argv[1:]])
