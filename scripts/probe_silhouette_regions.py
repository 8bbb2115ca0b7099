"""Probe (not part of matching): does the silhouette stage find a region that fits the true drawing?

For the first N queries with a registered design in each query package: the true design's rank among the
silhouette scores (hubness-corrected, best view, as matching ranks them) and the best raw correlation of any
region of the item's photos (whole: the officer's crop is not applied) with the true drawing. When that
correlation is high the drawing is nearly always first; when it is low no comparison can find it, and the
region finder (``photo_regions``) is what failed. Prints both, by correlation band and by kind. Usage:

    python scripts/probe_silhouette_regions.py N QUERIES_DIR [QUERIES_DIR ...]
"""

import sys
import time

import numpy as np


def item_scores(shapes, photos_regions: list[list], design_id: str | None) -> tuple[dict[str, float], float]:
    """Each design's best silhouette score over an item's photos (hubness-corrected, best view), as matching
    ranks them, and the best raw correlation of any region with ``design_id``'s drawing (-9 without one)."""
    ids = shapes.ids.tolist()
    cols = [j for j, d in enumerate(ids) if d == design_id]
    best, raw = dict.fromkeys(ids, -9.0), -9.0
    for regions in photos_regions:
        if not regions:
            continue
        corr = shapes.correlations(np.stack([r.descriptor for r in regions]))
        for d, v in shapes.best(corr)[0].items():
            best[d] = max(best[d], v)
        if cols:
            raw = max(raw, float(corr[:, cols].max()))
    return best, raw


def main() -> None:
    from kcs_kit.bench.queries import read_queries
    from kcs_kit.config import load_settings
    from kcs_kit.embed.shape import photo_regions
    from kcs_kit.index.shape import load_shapes
    from kcs_kit.match.photo import load_photo

    n, folders = int(sys.argv[1]), sys.argv[2:]
    shapes = load_shapes(load_settings())
    if shapes is None:
        sys.exit("no silhouettes yet: run `kcs index build`")
    ids = [str(x) for x in shapes.ids]
    t0 = time.time()
    rows = []  # (kind, rank, best raw correlation with the true drawing)
    for folder in folders:
        qs = [q for q in read_queries(folder) if q.design_id and q.design_id in ids][:n]
        for q in qs:
            best, raw = item_scores(shapes, [photo_regions(load_photo(str(p)).rgb) for p in q.photos], q.design_id)
            rank = 1 + sum(v > best[q.design_id] for v in best.values())
            rows.append((q.kind, rank, raw))
    rank = np.array([r[1] for r in rows])
    raw = np.array([r[2] for r in rows])
    print(f"{len(rows)} queries ({time.time() - t0:.0f} s): true drawing first {np.mean(rank == 1):.1%}, "
          f"among the first 10 {np.mean(rank <= 10):.1%}; a region correlating >= 0.7 with it {np.mean(raw >= .7):.1%}")
    for lo, hi in ((-1, .5), (.5, .6), (.6, .7), (.7, .8), (.8, 1.01)):
        m = (raw >= lo) & (raw < hi)
        if m.any():
            print(f"  best region's correlation [{max(lo, 0)}, {min(hi, 1)}): {m.sum():4d} queries, "
                  f"first {np.mean(rank[m] == 1):.0%}, first 10 {np.mean(rank[m] <= 10):.0%}")
    for kind in sorted({r[0] for r in rows}):
        m = np.array([r[0] == kind for r in rows])
        print(f"  {kind:15s} {m.sum():4d}  region >= 0.7: {np.mean(raw[m] >= .7):.0%}  "
              f"first 10: {np.mean(rank[m] <= 10):.0%}")


if __name__ == "__main__":
    main()
