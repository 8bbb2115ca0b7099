"""Probe (not part of matching): keypoints on gradient-magnitude maps, for embossed marks.

An embossed mark has the colour of its surface; its relief shows as light and dark edges along its outline,
light on one side and dark on the other depending on where the light comes from. SIFT on the photo as is (or
inverted) then sees gradients whose sign flips along the outline, unlike the drawing's. The gradient magnitude
has no sign: the photo's (smoothed, sigma 2 px at 800 px) and the drawing's (sigma 1.5 px at 320 px) both show
the outline as bright lines. For the first N fitting queries of KIND: the true design's RANSAC inliers and
rank among it and 150 random designs, with SIFT on the magnitude maps and with matching's own three readings
against the stored features (first photo, whole). Usage:

    python scripts/probe_edge_keypoints.py N KIND QUERIES_DIR
    python scripts/probe_edge_keypoints.py 12 embossed /tmp/photos-train
"""

import csv
import random
import sys
from pathlib import Path

import numpy as np

OTHERS = 150  # random designs each true design is ranked against


def magnitude(gray: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    g = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), sigma)
    m = np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))
    return np.clip(m / (np.percentile(m, 99.5) + 1e-6) * 255, 0, 255).astype(np.uint8)


def resized(gray: np.ndarray, side: int) -> np.ndarray:
    import cv2

    s = side / max(gray.shape)
    return cv2.resize(gray, (round(gray.shape[1] * s), round(gray.shape[0] * s)), interpolation=cv2.INTER_AREA)


def main(n: int, kind: str, folder: Path) -> None:
    import cv2

    from kcs_kit.config import load_settings
    from kcs_kit.embed.local import extract_features, read_all_ways
    from kcs_kit.index.build import active_designs
    from kcs_kit.index.features import FeatureStore
    from kcs_kit.match.photo import load_photo
    from kcs_kit.match.verify import descriptors, verify_pair

    cv2.setNumThreads(1)
    settings = load_settings()
    store = FeatureStore(settings)
    active = active_designs(settings)
    paths = dict(zip(active["design_id"].to_list(), active["paths"].to_list(), strict=True))
    edge_views: dict[str, list] = {}

    def drawing_edges(d: str) -> list:
        if d not in edge_views:
            fs = [extract_features(magnitude(resized(cv2.imread(p, cv2.IMREAD_GRAYSCALE), 320), 1.5), max_side=320,
                                   n_features=400) for p in paths[d]]
            edge_views[d] = [(f, descriptors(f)) for f in fs]
        return edge_views[d]

    rows = [r for r in csv.DictReader(open(folder / "queries.csv")) if r["kind"] == kind and r["design_id"]][:n]
    rng = random.Random(0)
    out = []
    for r in rows:
        rgb = load_photo(str(folder / r["image_path"].split("|")[0])).rgb
        pe = extract_features(magnitude(resized(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), 800), 2.0), max_side=800,
                              n_features=1500)
        ped = descriptors(pe)
        reads = [(f, descriptors(f)) for f in read_all_ways(rgb, max_side=800, n_features=1500) if f is not None]
        pool = [r["design_id"], *rng.sample([d for d in paths if d != r["design_id"]], OTHERS)]
        edge = np.array([max((verify_pair(pe, ped, vf, vd, (800, 800)).inliers for vf, vd in drawing_edges(d)),
                             default=0) for d in pool])
        normal = np.array([max((verify_pair(f, fd, v, descriptors(v), (800, 800)).inliers for f, fd in reads
                                for v in store.load(d).views), default=0) for d in pool])
        out.append((edge[0], int(edge[1:].max()), int((edge[1:] >= edge[0]).sum()),
                    normal[0], int(normal[1:].max()), int((normal[1:] >= normal[0]).sum())))
        print(r["query_id"], r["design_id"], "magnitude maps: inliers", out[-1][:3], "readings:", out[-1][3:],
              flush=True)
    a = np.array(out)
    for name, c in (("magnitude maps", 0), ("matching's readings", 3)):
        print(f"{name}: true design's inliers median {np.median(a[:, c]):.1f}, best of {OTHERS} random designs "
              f"median {np.median(a[:, c + 1]):.1f}, true design first {int((a[:, c + 2] == 0).sum())} of {len(a)}")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
