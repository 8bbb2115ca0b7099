"""Probe (not part of matching): leads on more signals in the fusion, out of fold on the cached analyses.

The fusion sees each candidate's lead (how far it is ahead of the best other candidate) on shape, marknet,
inliers and OCR (``fusion.LEADS``). This refits it, 5 folds as ``kcs model cv``, with leads on more signals
and prints reading, rejection, top-1 and ECE at three reject ratios. Seconds once the queries are analysed.
Usage:

    python scripts/probe_leads.py QUERIES_DIR [QUERIES_DIR ...]
    python scripts/probe_leads.py /tmp/photos-train /tmp/photos-train2 /tmp/photos-train3
"""

import sys
from pathlib import Path

RATIOS = (0.2, 0.35, 0.5)


def _use(fusion, leads: tuple[str, ...]) -> None:
    """Leads on ``leads``: the model reads these module constants when it is used."""
    fusion.LEADS, fusion.DERIVED = leads, tuple(f"{s}_lead" for s in leads)
    fusion.FEATURES = fusion.SIGNALS + fusion.DERIVED
    fusion.BASE_OF = {**{s: s for s in fusion.SIGNALS}, **{f"{s}_lead": s for s in leads}}


def main(folders: list[Path]) -> None:
    from kcs_kit.config import load_settings
    from kcs_kit.match import crossval, fusion
    from kcs_kit.match.train import collect_many

    items = collect_many(load_settings(), folders)
    base = fusion.LEADS
    variants = {"shipped": base, "+ bow, shortlist": (*base, "bow", "shortlist"),
                "+ inlier_ratio, text, agree": (*base, "inlier_ratio", "text", "agree"),
                "every signal but the declaration's": tuple(s for s in fusion.SIGNALS
                                                            if s not in ("hs_match", "undervaluation"))}
    try:
        for name, leads in variants.items():
            _use(fusion, leads)
            rows = crossval.cross_validate(items, ratios=RATIOS, feature_sets={name: fusion.FEATURES})
            print(f"leads {name}: " + " | ".join(
                f"{r.reject_ratio:g}: reading {r.metrics.reading_accuracy:.1%}, rejection "
                f"{r.metrics.rejection_accuracy:.1%}, top-1 {r.metrics.top1:.1%}, ECE {r.metrics.ece_top1:.3f}"
                for r in rows))
    finally:
        _use(fusion, base)


if __name__ == "__main__":
    main([Path(a) for a in sys.argv[1:]])
