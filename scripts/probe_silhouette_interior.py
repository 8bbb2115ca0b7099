"""Probe (not part of matching): does the drawing, laid onto the photo where its silhouette matched, agree
with the photo's edges inside it, more for true marks than for chance regions?

The false alarms left are mostly simple drawings matched to blobs and product edges, and ranking fails where
a wrong drawing's silhouette fits better (docs/MATCHING.md). Here the drawing is aligned with the region as
the silhouettes align them (the affine frames of both masks, then the best of 48 turns and a mirror image,
chosen by pixel overlap) and three features are measured in the photo (at the region finder's 320 px):
the pixel overlap (IoU) of the laid drawing and the region; the normalised cross-correlation of the photo's
gradient magnitude with the laid drawing's edges around the region; and the share of the photo's edge energy
that lies on the drawing's edges rather than inside its ink. Compared: the region fitting the true drawing
(correlation >= 0.7) on photos with a design; the region behind a standing-out silhouette (> 0.15) on photos
without one; and the region of a wrong drawing that stands out and beats the true one on photos with a
design. Prints medians and AUCs. First photo of each query, whole. Usage:

    python scripts/probe_silhouette_interior.py N QUERIES_DIR [QUERIES_DIR ...]
    python scripts/probe_silhouette_interior.py 200 /tmp/photos-train /tmp/photos-train2
"""

import sys
import time

import numpy as np


def _frame(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.nonzero(mask)
    pts = np.stack([xs, ys], 1).astype(np.float64)
    c = pts.mean(0)
    vals, vecs = np.linalg.eigh(np.cov(pts.T) + np.eye(2) * 0.25)
    return c, vecs @ np.diag(np.sqrt(np.maximum(vals, 1e-6))) @ vecs.T  # whitened -> image


def laid(design: np.ndarray, region: np.ndarray) -> tuple[np.ndarray, float]:
    """The 2x3 affine taking the drawing's mask onto the region's (frames, then the best of 48 turns x mirror by
    IoU) and that IoU."""
    import cv2

    cd, ad = _frame(design)
    cr, ar = _frame(region)
    h, w = region.shape
    best, best_m = -1.0, None
    for mirror in (1.0, -1.0):
        for k in range(48):
            t = 2 * np.pi * k / 48
            rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]) @ np.diag([mirror, 1.0])
            lin = ar @ rot @ np.linalg.inv(ad)
            m = np.hstack([lin, (cr - lin @ cd)[:, None]])
            warped = cv2.warpAffine(design.astype(np.uint8), m, (w, h), flags=cv2.INTER_NEAREST) > 0
            inter = np.logical_and(warped, region).sum()
            iou = inter / max(np.logical_or(warped, region).sum(), 1)
            if iou > best:
                best, best_m = iou, m
    return best_m, float(best)


def features(img: np.ndarray, region: np.ndarray, design: np.ndarray) -> tuple[float, float, float]:
    import cv2

    m, iou = laid(design, region)
    h, w = region.shape
    g = cv2.GaussianBlur(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), 1.0)
    gp = np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))
    ink = cv2.warpAffine(design.astype(np.float32), m, (w, h), flags=cv2.INTER_LINEAR)
    ink_b = cv2.GaussianBlur(ink, (0, 0), 1.0)
    ed = np.hypot(cv2.Sobel(ink_b, cv2.CV_32F, 1, 0), cv2.Sobel(ink_b, cv2.CV_32F, 0, 1))
    ys, xs = np.nonzero(region)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    px, py = int(0.15 * (x1 - x0)) + 2, int(0.15 * (y1 - y0)) + 2
    win = (slice(max(0, y0 - py), min(h, y1 + py)), slice(max(0, x0 - px), min(w, x1 + px)))
    a, b = gp[win].ravel(), ed[win].ravel()
    ncc = float(np.corrcoef(a, b)[0, 1]) if a.std() > 1e-6 and b.std() > 1e-6 else 0.0
    on_edge = ed > 0.25 * ed.max() if ed.max() > 0 else np.zeros_like(region)
    inside = (cv2.erode((ink > 0.5).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0) & ~on_edge
    e_on, e_in = float(gp[on_edge].mean()) if on_edge.any() else 0.0, float(gp[inside].mean()) if inside.any() else 0.0
    return iou, ncc, e_on / (e_on + e_in + 1e-6)


def main() -> None:
    from PIL import Image
    from probe_region_crispness import auc, labelled_regions  # scripts/ is on the path when run as a script

    from kcs_kit.config import load_settings
    from kcs_kit.embed.shape import design_mask
    from kcs_kit.index.build import active_designs
    from kcs_kit.match.context import get_context

    n, folders = int(sys.argv[1]), sys.argv[2:]
    settings = load_settings()
    shapes = get_context(settings).shapes
    act = active_designs(settings)
    paths = dict(zip(act["design_id"].to_list(), [p[0] for p in act["paths"].to_list()], strict=True))
    drawn: dict[str, np.ndarray] = {}

    def drawing(d: str) -> np.ndarray:
        if d not in drawn:
            drawn[d] = design_mask(np.asarray(Image.open(paths[d]).convert("L")))
        return drawn[d]

    groups: dict[str, list] = {"true": [], "chance": [], "wrong": []}
    t0 = time.time()
    for group, img, mask, design in labelled_regions(shapes, folders, n):
        groups[group].append(features(img, mask, drawing(design)))
    print(", ".join(f"{len(v)} {k}" for k, v in groups.items()) + f" regions, {time.time() - t0:.0f} s")
    names = ("pixel IoU of the laid drawing", "edge NCC around the region", "edge energy on drawing edges")
    for j, name in enumerate(names):
        t, c, w = ([f[j] for f in groups[g]] for g in ("true", "chance", "wrong"))
        print(f"{name:32s} median true {np.median(t):.3f} chance {np.median(c):.3f} wrong {np.median(w):.3f}; "
              f"AUC true>chance {auc(t, c):.3f}, true>wrong {auc(t, w):.3f}")


if __name__ == "__main__":
    main()
