"""Probe: silhouette regions found again inside marknet's most confident windows (not part of matching: built
into it as signals-11 and -12, measured out of fold and taken out again, docs/MATCHING.md Fusion v12).

The region finder clusters the colours of the whole photo at 320 px, so a small mark in a colour close to its
surface, or one of thin strokes, is merged with its surroundings or lost (docs/MATCHING.md). Here each photo's
regions are complemented by those of marknet's ``W`` most confident distinct windows (``distinct_windows``;
``zoom_regions``: each widened by ``MARGIN`` of its size, enlarged to 320 px), keeping each view's
``c`` largest regions for every ``c`` in ``CAPS`` (0: no zooming). For the first N queries of each package with a
registered design, and N/3 without one: the true drawing's silhouette rank, whether some region correlates >= 0.7
with it, and the best silhouette score of the photos without a design (where a false alarm would come from).
Whole photos (the officer's crop is not applied). Usage:

    python scripts/probe_zoom_regions.py N W MARGIN CAPS QUERIES_DIR [QUERIES_DIR ...]
    python scripts/probe_zoom_regions.py 150 3 0.25 0,8,16,32,1000 /tmp/photos-train /tmp/photos-train2
"""

import sys
import time
from collections import defaultdict

import numpy as np


def distinct_windows(scores: dict[str, float], which: dict[str, int], boxes: np.ndarray, n: int) -> list[tuple]:
    """The best windows of the ``n`` most similar designs that overlap no better one by half its area."""
    from kcs_kit.match.engine import _intersection

    chosen: list[tuple] = []
    for d in sorted(scores, key=scores.__getitem__, reverse=True):
        if len(chosen) >= n:
            break
        b = tuple(float(v) for v in boxes[which[d]])
        if all(_intersection(b, c) < 0.5 * (b[2] - b[0]) * (b[3] - b[1]) for c in chosen):
            chosen.append(b)
    return chosen


def zoom_regions(rgb: np.ndarray, boxes, *, margin: float, limit: int) -> list:
    """Regions found again inside ``boxes`` (x0, y0, x1, y1 in ``rgb``'s pixels): each box widened by ``margin``
    of its size on every side, enlarged to 320 px (``SIDE``) and split into colour clusters of its own, its ``limit``
    largest regions kept. A small mark in a colour close to its surface merges with it among the whole photo's
    few clusters; seen alone, its colours are among the view's. Boxes come back in ``rgb``'s pixels; ``area``
    is the share of the view."""
    import cv2

    from kcs_kit.embed.shape import SIDE, Region, photo_regions

    height, width = rgb.shape[:2]
    out = []
    for b in boxes:
        w, h = b[2] - b[0], b[3] - b[1]
        x0, y0 = int(max(0, b[0] - margin * w)), int(max(0, b[1] - margin * h))
        x1, y1 = int(min(width, b[2] + margin * w)), int(min(height, b[3] + margin * h))
        if x1 - x0 < 8 or y1 - y0 < 8:
            continue
        view = rgb[y0:y1, x0:x1]
        f = max(1.0, SIDE / max(view.shape[:2]))
        if f > 1:
            view = cv2.resize(view, (round(view.shape[1] * f), round(view.shape[0] * f)), interpolation=cv2.INTER_CUBIC)
        out += [Region(r.descriptor, (x0 + r.box[0] / f, y0 + r.box[1] / f, x0 + r.box[2] / f, y0 + r.box[3] / f),
                       r.area) for r in photo_regions(view, limit=limit)]
    return out


def main() -> None:
    from probe_silhouette_regions import item_scores  # the same folder: python puts it on sys.path

    from kcs_kit.bench.queries import read_queries
    from kcs_kit.config import load_settings
    from kcs_kit.embed.shape import photo_regions
    from kcs_kit.match.context import get_context
    from kcs_kit.match.photo import load_photo

    n, windows, margin = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    caps, folders = [int(c) for c in sys.argv[4].split(",")], sys.argv[5:]
    ctx = get_context(load_settings())
    shapes, net = ctx.shapes, ctx.marknet
    if shapes is None or net is None:
        sys.exit("no silhouettes or marknet vectors yet: run `kcs index build`")
    ids = {str(x) for x in shapes.ids}
    t0 = time.time()
    ranks: dict[int, list[int]] = defaultdict(list)
    raws: dict[int, list[float]] = defaultdict(list)
    tops: dict[int, list[float]] = defaultdict(list)
    counts: dict[int, list[int]] = defaultdict(list)
    for folder in folders:
        qs = read_queries(folder)
        items = [q for q in qs if q.design_id and q.design_id in ids][:n] + [q for q in qs if not q.design_id][:n // 3]
        for q in items:
            per = []
            for path in q.photos:
                rgb = load_photo(str(path)).rgb
                vecs, boxes = net.encoder.photo_windows(rgb)
                views = distinct_windows(*net.scores(vecs), boxes, windows)
                per.append((photo_regions(rgb), [zoom_regions(rgb, [v], margin=margin, limit=10**6) for v in views]))
            for c in caps:
                regions = [whole + [r for view in zoomed for r in view[:c]] for whole, zoomed in per]
                best, raw = item_scores(shapes, regions, q.design_id)
                counts[c].append(sum(map(len, regions)))
                if q.design_id:
                    ranks[c].append(1 + sum(v > best[q.design_id] for v in best.values()))
                    raws[c].append(raw)
                else:
                    tops[c].append(max(best.values()))
    for c in caps:
        r, w, t = np.array(ranks[c]), np.array(raws[c]), np.array(tops[c])
        print(f"{c:5d} regions a view ({np.mean(counts[c]):.0f} an item): {len(r)} with a design: true drawing first "
              f"{np.mean(r == 1):.1%}, first 10 {np.mean(r <= 10):.1%}, a region >= 0.7 {np.mean(w >= .7):.1%}; "
              f"{len(t)} without: best score mean {t.mean():.3f}, p90 {np.percentile(t, 90):.3f}")
    print(f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
