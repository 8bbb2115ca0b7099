"""Probe (not part of matching): silhouette regions found again inside marknet's most confident windows.

The region finder clusters the colours of the whole photo at 320 px, so a small mark in a colour close to its
surface, or one of thin strokes, is merged with its surroundings or lost (docs/MATCHING.md, What comes next).
Here each photo's regions are complemented by the regions of marknet's ``W`` most confident, mutually distinct
windows (the best window of its top designs, overlapping less than half), each widened by ``MARGIN`` of its size
and enlarged to 320 px before the same region finder runs. For the first N queries of each package, with a
registered design: the true drawing's silhouette rank and whether some region correlates >= 0.7 with it;
without one (``--without``): the best silhouette score, which a false alarm would come from. Usage:

    python scripts/probe_zoom_regions.py N W MARGIN [--without] QUERIES_DIR [QUERIES_DIR ...]
"""

import sys
import time
from collections import defaultdict

import numpy as np


def zoom_regions(rgb: np.ndarray, net, windows: int, margin: float) -> list:
    import cv2

    from kcs_kit.embed.shape import SIDE, Region, photo_regions
    from kcs_kit.match.engine import _intersection

    vecs, boxes = net.encoder.photo_windows(rgb)
    scores, where = net.scores(vecs)
    chosen: list[np.ndarray] = []
    for d in sorted(scores, key=scores.__getitem__, reverse=True):
        b = boxes[where[d]]
        if all(_intersection(b, c) < 0.5 * (b[2] - b[0]) * (b[3] - b[1]) for c in chosen):
            chosen.append(b)
        if len(chosen) >= windows:
            break
    out = []
    height, width = rgb.shape[:2]
    for b in chosen:
        w, h = b[2] - b[0], b[3] - b[1]
        x0, y0 = int(max(0, b[0] - margin * w)), int(max(0, b[1] - margin * h))
        x1, y1 = int(min(width, b[2] + margin * w)), int(min(height, b[3] + margin * h))
        crop = rgb[y0:y1, x0:x1]
        f = max(1.0, SIDE / max(crop.shape[:2]))
        if f > 1:
            crop = cv2.resize(crop, (round(crop.shape[1] * f), round(crop.shape[0] * f)), interpolation=cv2.INTER_CUBIC)
        for r in photo_regions(crop):
            bx = r.box
            out.append(Region(r.descriptor, (x0 + bx[0] / f, y0 + bx[1] / f, x0 + bx[2] / f, y0 + bx[3] / f), r.area))
    return out


def main() -> None:
    from probe_silhouette_regions import item_scores  # the same folder: python puts it on sys.path

    from kcs_kit.bench.queries import read_queries
    from kcs_kit.config import load_settings
    from kcs_kit.embed.shape import photo_regions
    from kcs_kit.match.context import get_context
    from kcs_kit.match.photo import load_photo

    args = [a for a in sys.argv[1:] if a != "--without"]
    without = "--without" in sys.argv
    n, windows, margin, folders = int(args[0]), int(args[1]), float(args[2]), args[3:]
    ctx = get_context(load_settings())
    shapes, net = ctx.shapes, ctx.marknet
    if shapes is None or net is None:
        sys.exit("no silhouettes or marknet vectors yet: run `kcs index build`")
    ids = [str(x) for x in shapes.ids]
    t0 = time.time()
    ranks: dict[str, list[int]] = defaultdict(list)
    raws: dict[str, list[float]] = defaultdict(list)
    tops: dict[str, list[float]] = defaultdict(list)
    for folder in folders:
        qs = [q for q in read_queries(folder)
              if ((not q.design_id) if without else (q.design_id and q.design_id in ids))][:n]
        for q in qs:
            for name in ("whole photo", "+ zoomed"):
                regions = []
                for path in q.photos:
                    rgb = load_photo(str(path)).rgb
                    regions.append(photo_regions(rgb) + (zoom_regions(rgb, net, windows, margin)
                                                         if name == "+ zoomed" else []))
                best, raw = item_scores(shapes, regions, q.design_id)
                tops[name].append(max(best.values()))
                if q.design_id:
                    ranks[name].append(1 + sum(v > best[q.design_id] for v in best.values()))
                    raws[name].append(raw)
    for name in tops:
        t = np.array(tops[name])
        line = f"{name:12s} {len(t)} queries: best silhouette score mean {t.mean():.3f}, p90 {np.percentile(t, 90):.3f}"
        if ranks[name]:
            r, w = np.array(ranks[name]), np.array(raws[name])
            line += (f"; true drawing first {np.mean(r == 1):.1%}, first 10 {np.mean(r <= 10):.1%}, "
                     f"a region >= 0.7 {np.mean(w >= .7):.1%}")
        print(line)
    print(f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
