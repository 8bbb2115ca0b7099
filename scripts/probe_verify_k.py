"""Probe (not part of matching): fewer candidates verified, out of fold, from the cached analyses.

Verification was a quarter of an item's CPU (docs/MATCHING.md, Latency) and its cost grows with the candidates
verified: until v13 the union of the best 30 of each image shortlist (silhouettes, marknet, VLAD, visual words)
and of the OCR (10) and text (5) matches. Here each fitting query's candidates are cut to the union of the best K of
each image shortlist (ranked by the candidate's signal for that list; the lists' first 30 are all among the
candidates, so for K <= 30 that ranking is the list's own, except among candidates whose clipped signal is 0,
which keep the order in which they became candidates), the query's best-inliers signal recomputed over them,
and the fusion fitted and scored out of fold at the shipped reject ratio, as ``kcs model cv`` does. A
candidate's signals do not depend on which other designs are candidates, so this is what matching with
``VERIFY`` = K would give, but for those ties. Seconds once the analyses are cached. Usage:

    python scripts/probe_verify_k.py RATIO K[,K...] QUERIES_DIR [QUERIES_DIR ...]
    python scripts/probe_verify_k.py 0.35 30,20,15,10 /tmp/photos-train /tmp/photos-train2 /tmp/photos-train3
"""

import dataclasses
import sys
from pathlib import Path

import numpy as np


def keep(design_ids: tuple[str, ...], feats: np.ndarray, k: int) -> np.ndarray:
    """Which of a query's candidates matching would verify with ``VERIFY`` = k (``engine._candidates``, each
    list ranked by the candidate's signal for it; OCR and text matches are the candidates whose signal is > 0)."""
    from kcs_kit.match.engine import _candidates
    from kcs_kit.match.fusion import SIGNALS

    def col(name: str, positive: bool = False) -> dict[str, float]:
        v = feats[:, SIGNALS.index(name)].tolist()
        return {d: x for d, x in zip(design_ids, v, strict=True) if x > 0 or not positive}

    _all, check = _candidates(col("shortlist"), col("bow"), col("ocr", True), col("text", True), col("marknet"),
                              col("shape"), set(design_ids), verify=k)
    chosen = set(check)
    return np.array([d in chosen for d in design_ids], bool)


def main(ratio: float, ks: list[int], folders: list[Path]) -> None:
    from kcs_kit.config import load_settings
    from kcs_kit.match.crossval import cross_validate
    from kcs_kit.match.fusion import FEATURES, QUERY_SIGNALS, SIGNALS
    from kcs_kit.match.train import collect_many

    items = collect_many(load_settings(), folders)
    full = np.mean([len(a.design_ids) for a in items])
    print(f"{len(items)} queries, {full:.1f} candidates each on average (K = 30 as matched)")
    print("| K | candidates | share | missed | reading | top-1 | top-5 | rejection | ECE top-1 |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for k in ks:
        cut = []
        for a in items:
            m = keep(a.design_ids, a.feats, k)
            f = a.feats[m]
            q = a.qfeats.copy()
            q[QUERY_SIGNALS.index("best_inliers")] = f[:, SIGNALS.index("inliers")].max() if len(f) else 0.0
            cut.append(dataclasses.replace(a, design_ids=tuple(d for d, x in zip(a.design_ids, m, strict=True) if x),
                                           feats=f, qfeats=q))
        mt = cross_validate(cut, ratios=[ratio], feature_sets={"signals + leads": FEATURES})[0].metrics
        n = np.mean([len(a.design_ids) for a in cut])
        missed = sum(a.missed for a in cut)
        print(f"| {k} | {n:.1f} | {n / full:.0%} | {missed} | {mt.reading_accuracy:.1%} | {mt.top1:.1%} | "
              f"{mt.top5:.1%} | {mt.rejection_accuracy:.1%} | {mt.ece_top1:.3f} |")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(float(sys.argv[1]), [int(k) for k in sys.argv[2].split(",")], [Path(p) for p in sys.argv[3:]])
