"""Probe (not part of matching): silhouettes from the photo's edges, for marks without a colour of their own.

Embossed marks (30% read on the held-out set) have the colour of their surface: the colour-cluster region
finder cannot see them, but their relief draws the outline as edges. Here a photo's edge map (gradient
magnitude above a share of the photo's strongest, closed by a small disk) is filled where it encloses
something, and each sizeable filled component becomes a region, described and compared as the silhouettes
are. For the first N fitting queries of each kind listed (and N without a design): the true design's rank among
the silhouette scores with the colour regions, the edge regions, and both; on photos without a design, the best
score (where false alarms would come from). First photo of each query, whole. Usage:

    python scripts/probe_edge_regions.py N KINDS QUERIES_DIR [QUERIES_DIR ...]
    python scripts/probe_edge_regions.py 40 embossed,woven,printed /tmp/photos-train /tmp/photos-train2
"""

import sys
import time

import numpy as np

SHARE = (0.08, 0.15)  # edge pixels: the strongest shares of the photo's gradient magnitudes
CLOSE = (3, 5)  # closing disk diameters (px at 320)


def edge_regions(rgb: np.ndarray, limit: int = 48) -> list:
    import cv2

    from kcs_kit.embed.shape import SIDE, Region, _components, describe

    h, w = rgb.shape[:2]
    s = min(1.0, SIDE / max(h, w))
    img = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA) if s < 1 else rgb
    g = cv2.GaussianBlur(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), 1.0)
    mag = np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))
    hh, ww = g.shape
    total = hh * ww
    masks: list = []
    for share in SHARE:
        edges = (mag >= np.quantile(mag, 1 - share)).astype(np.uint8)
        for k in CLOSE:
            closed = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
            # fill: everything not reachable from the border through non-edge pixels
            ff = np.pad(1 - closed, 1, constant_values=1)
            cv2.floodFill(ff, None, (0, 0), 2)
            filled = (ff[1:-1, 1:-1] != 2).astype(np.uint8)
            masks += _components(filled.astype(np.int32), [1])  # parts, and nearby parts grouped (letters)
    masks.sort(key=lambda am: -am[0])
    out = []
    for _a, mm in masks:
        ys, xs = np.nonzero(mm)
        x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        d = describe(mm[y0:y1, x0:x1].astype(np.uint8))
        if d is not None:
            out.append(Region(d, (x0 / s, y0 / s, x1 / s, y1 / s), len(xs) / total))
            if len(out) >= limit:
                break
    return out


def rank(scores: dict[str, float], d: str) -> int:
    if d not in scores:
        return 10 ** 6
    v = scores[d]
    return 1 + sum(1 for x in scores.values() if x > v)


def main() -> None:
    from kcs_kit.bench.queries import read_queries
    from kcs_kit.config import load_settings
    from kcs_kit.embed.shape import photo_regions
    from kcs_kit.match.context import get_context
    from kcs_kit.match.photo import load_photo

    n, kinds, folders = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3:]
    shapes = get_context(load_settings()).shapes
    t0 = time.time()
    ranks: dict[str, list] = {}
    chance: list = []
    for folder in folders:
        qs = read_queries(folder)
        for kind in kinds:
            for q in [q for q in qs if q.kind == kind and q.design_id][:n]:
                rgb = load_photo(str(q.photos[0])).rgb
                col, edg = photo_regions(rgb), edge_regions(rgb)
                r = [rank(shapes.scores(x)[0], q.design_id) if x else 10 ** 6 for x in (col, edg, col + edg)]
                ranks.setdefault(kind, []).append(r)
        for q in [q for q in qs if not q.design_id][:n]:
            rgb = load_photo(str(q.photos[0])).rgb
            col, edg = photo_regions(rgb), edge_regions(rgb)
            chance.append([max(shapes.scores(x)[0].values(), default=0.0) if x else 0.0 for x in (col, edg, col + edg)])
    print(f"{time.time() - t0:.0f} s")
    for kind, rs in ranks.items():
        a = np.array(rs)
        print(f"{kind:16s} n={len(a):3d}  first: colour {np.mean(a[:, 0] == 1):.1%} edges {np.mean(a[:, 1] == 1):.1%} "
              f"both {np.mean(a[:, 2] == 1):.1%} | first 30: colour {np.mean(a[:, 0] <= 30):.1%} edges "
              f"{np.mean(a[:, 1] <= 30):.1%} both {np.mean(a[:, 2] <= 30):.1%}")
    c = np.array(chance)
    print(f"no design n={len(c)}: best score mean colour {c[:, 0].mean():.3f} edges {c[:, 1].mean():.3f} "
          f"both {c[:, 2].mean():.3f}; > 0.15: {np.mean(c[:, 0] > 0.15):.1%} / {np.mean(c[:, 1] > 0.15):.1%} / "
          f"{np.mean(c[:, 2] > 0.15):.1%}")


if __name__ == "__main__":
    main()
