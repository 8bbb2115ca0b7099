"""Probe (not part of matching): does the region a silhouette match comes from look like a printed mark?

The false alarms left are mostly simple drawings matched to blobs and product edges (docs/MATCHING.md). A printed
mark might stand out from them by its boundary: a crisp edge (median gradient on the region's boundary over the
photo's 90th percentile gradient), a colour contrast with a ring around it (Lab distance of the means) and a
uniform colour inside (mean Lab standard deviation). For the first N fitting queries with a design of each
package, the region that fits the true drawing best (correlation >= 0.7); for the first N/2 without one, the
region behind the best hubness-corrected silhouette score when it stands out (> 0.15, where a false alarm would
come from). Prints each feature's medians and AUC (true-mark region > chance region). First photo of each
query, whole. Usage:

    python scripts/probe_region_crispness.py N QUERIES_DIR [QUERIES_DIR ...]
    python scripts/probe_region_crispness.py 200 /tmp/photos-train /tmp/photos-train2
"""

import sys
import time

import numpy as np


def features(img: np.ndarray, mask: np.ndarray) -> tuple[float, float, float]:
    import cv2

    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB).astype(np.float32)
    grad = np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))
    m8 = mask.astype(np.uint8)
    k3 = np.ones((3, 3), np.uint8)
    edge = (cv2.dilate(m8, k3) - cv2.erode(m8, k3)).astype(bool)
    ring = (cv2.dilate(m8, np.ones((7, 7), np.uint8)) - cv2.dilate(m8, k3)).astype(bool)
    crisp = float(np.median(grad[edge])) / (float(np.percentile(grad, 90)) + 1e-3)
    contrast = float(np.linalg.norm(lab[mask].mean(0) - lab[ring].mean(0))) if ring.any() else 0.0
    return crisp, contrast, float(lab[mask].std(0).mean())


def auc(pos, neg) -> float:
    """P(a true-mark value > a chance one), ties half; nan when either side is empty. By ranks (ties averaged,
    Mann-Whitney), so that hundreds of thousands of values need no pairwise matrix."""
    from scipy.stats import rankdata

    pos, neg = np.asarray(pos, np.float64), np.asarray(neg, np.float64)
    if not len(pos) or not len(neg):
        return float("nan")
    ranks = rankdata(np.concatenate([pos, neg]))
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def labelled_regions(shapes, folders: list[str], n: int):
    """(group, photo at the region finder's size, region mask, design) for the first photo of the first N queries
    with a design of each package and the first N/2 without: "true", the region fitting the true drawing best
    (correlation >= 0.7); "chance", on a photo without a design, the region behind the best hubness-corrected
    silhouette score when it stands out (> 0.15, where a false alarm would come from); "wrong", on a photo with
    a design, the region of a wrong drawing that stands out and beats the true one."""
    from kcs_kit.bench.queries import read_queries
    from kcs_kit.embed.shape import region_masks
    from kcs_kit.match.photo import load_photo

    ids = shapes.ids.tolist()
    for folder in folders:
        qs = read_queries(folder)
        with_design = [q for q in qs if q.design_id and q.design_id in ids][:n]
        for q in with_design + [q for q in qs if not q.design_id][:n // 2]:
            img, regions = region_masks(load_photo(str(q.photos[0])).rgb)
            if not regions:
                continue
            corr = shapes.correlations(np.stack([r.descriptor for r, _m in regions]))
            best, where = shapes.best(corr)
            top = max(best, key=best.__getitem__)
            if q.design_id:
                raw = corr[:, [j for j, d in enumerate(ids) if d == q.design_id]].max(1)
                if raw.max() >= 0.7:
                    yield "true", img, regions[int(raw.argmax())][1], q.design_id
                if top != q.design_id and best[top] > 0.15 and best[top] > best.get(q.design_id, -9):
                    yield "wrong", img, regions[where[top]][1], top
            elif best[top] > 0.15:
                yield "chance", img, regions[where[top]][1], top


def main() -> None:
    from kcs_kit.config import load_settings
    from kcs_kit.match.context import get_context

    n, folders = int(sys.argv[1]), sys.argv[2:]
    shapes = get_context(load_settings()).shapes
    if shapes is None:
        sys.exit("no silhouettes yet: run `kcs index build`")
    pos: list[tuple] = []
    neg: list[tuple] = []
    t0 = time.time()
    for group, img, mask, _design in labelled_regions(shapes, folders, n):
        if group == "true":
            pos.append(features(img, mask))
        elif group == "chance":
            neg.append(features(img, mask))
    print(f"{len(pos)} true-mark regions (>= 0.7), {len(neg)} standing-out regions on photos without a design, "
          f"{time.time() - t0:.0f} s")
    for j, name in enumerate(("edge crispness", "colour contrast with its ring", "colour spread inside")):
        p, q = [f[j] for f in pos], [f[j] for f in neg]
        print(f"{name:30s} true median {np.median(p):.3f}, chance median {np.median(q):.3f}, "
              f"AUC(true > chance) {auc(p, q):.3f}")


if __name__ == "__main__":
    main()
