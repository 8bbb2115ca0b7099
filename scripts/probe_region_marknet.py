"""Probe (not part of matching): marknet on the silhouette stage's proposed regions vs its window pyramid.

For the first N queries with a registered design in a query package, the true design's rank under
(a) marknet's pyramid windows as matching scores them (``DesignVectors.scores``), (b) marknet on a crop of
each proposed colour region (``photo_regions``), scaled like a training crop (the region's longer side at
0.9 of the 64-px window, centred in a 96-px canvas), with the same hubness correction, and (c) the better
rank of the two. Usage: python scripts/probe_region_marknet.py QUERIES_DIR [N] [MAX_REGIONS] [--union]
"""

import sys
import time
from pathlib import Path

import numpy as np


def main() -> None:
    import cv2

    from kcs_kit.bench.queries import read_queries
    from kcs_kit.bench.shortlists import rank_of
    from kcs_kit.config import load_settings
    from kcs_kit.embed.base import best_per_design, place_hubness
    from kcs_kit.embed.cnn import CANVAS, WINDOW, to_gray01
    from kcs_kit.embed.shape import photo_regions
    from kcs_kit.index.marknet import DESIGN_HUB, WINDOW_HUB
    from kcs_kit.match.context import get_context
    from kcs_kit.match.engine import _load

    folder, n = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 100
    max_regions = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3].isdigit() else 48
    settings = load_settings()
    ctx = get_context(settings)
    net = ctx.marknet
    active = ctx.active_ids(None)
    qs = [q for q in read_queries(folder) if q.design_id in active][:n]
    union = "--union" in sys.argv  # also the union of the four image shortlists (30 each), with and without
    ranks: dict[str, list[int]] = {"pyramid": [], "regions": [], "either": []}
    in_union: dict[str, list[bool]] = {"four shortlists": [], "four + regions": []}
    kinds: list[str] = []
    spent = 0.0
    for q in qs:
        photos = _load([str(p) for p in q.photos], None, settings)
        pyr: dict[str, float] = {}
        reg: dict[str, float] = {}
        for p in photos:
            vecs, _boxes = net.encoder.photo_windows(p.rgb)
            s, _w = net.scores(vecs)
            for d, v in s.items():
                pyr[d] = max(pyr.get(d, -2.0), v)
            t = time.perf_counter()
            gray = to_gray01(p.rgb)
            h, w = gray.shape
            crops = []
            for r in photo_regions(p.rgb)[:max_regions]:
                x0, y0, x1, y1 = r.box
                side = max(x1 - x0, y1 - y0) * CANVAS / (0.9 * WINDOW)
                cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
                m = cv2.getAffineTransform(
                    np.float32([[cx - side / 2, cy - side / 2], [cx + side / 2, cy - side / 2],
                                [cx - side / 2, cy + side / 2]]),
                    np.float32([[0, 0], [CANVAS, 0], [0, CANVAS]]))
                crop = cv2.warpAffine(gray, m, (CANVAS, CANVAS), flags=cv2.INTER_AREA,
                                      borderMode=cv2.BORDER_REPLICATE)
                v = net.encoder._windows(np.ascontiguousarray(crop, np.float32), "onnx")
                crops.append(v[v.shape[0] // 2, v.shape[1] // 2])
            if crops:
                sims = np.stack(crops) @ net.matrix.T
                sims -= WINDOW_HUB * place_hubness(sims)[:, None]
                sims -= DESIGN_HUB * net.hub[None, :]
                s, _w = best_per_design(net.ids, sims)
                for d, v in s.items():
                    reg[d] = max(reg.get(d, -2.0), v)
            spent += time.perf_counter() - t
        a, b = rank_of(pyr, q.design_id), rank_of(reg, q.design_id)
        ranks["pyramid"].append(a)
        ranks["regions"].append(b)
        ranks["either"].append(min(a, b))
        if union:
            from kcs_kit.match import engine

            reads = engine._read_photos(photos)
            others = [engine._shortlist(ctx, reads, None), engine._bow(ctx, reads), engine._shape(ctx, photos)[0]]
            four = a <= 30 or any(rank_of(o, q.design_id) <= 30 for o in others)
            in_union["four shortlists"].append(four)
            in_union["four + regions"].append(four or b <= 30)
        kinds.append(q.kind)
    print(f"{len(qs)} queries with a registered design from {folder}; regions per photo <= {max_regions}; "
          f"region stage {spent / len(qs) * 1000:.0f} ms per query")
    for name, r in ranks.items():
        r = np.array(r)
        print(f"{name:8s} first {np.mean(r <= 1):.1%}  first 5 {np.mean(r <= 5):.1%}  first 30 {np.mean(r <= 30):.1%}")
    for name, found in in_union.items():
        if found:
            print(f"{name}: true design in the union of the first 30 of each: {np.mean(found):.1%}")


if __name__ == "__main__":
    main()
