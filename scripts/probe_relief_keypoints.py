"""Probe (2026-12-07, measured and not built): keypoints on the relief recovered from a photo's shading, for
embossed and debossed marks (docs/MATCHING.md, What comes next, Embossed marks).

For the first N fitting queries of each QUERIES_DIR whose mark is embossed or debossed (the package's ``style``
column): the true design's RANSAC inliers and rank among it and 150 random designs, with matching's photo
readings (as is, inverted, mirrored) and with the relief's readings alone (``relief_readings``: the height at
640 px, as is and inverted, in the photo's pixels), first photo, whole. Usage:

    python scripts/probe_relief_keypoints.py N QUERIES_DIR [QUERIES_DIR ...]
    python scripts/probe_relief_keypoints.py 40 /tmp/photos-train
"""

import csv
import random
import sys
from pathlib import Path

import numpy as np

OTHERS = 150  # random designs each true design is ranked against
RELIEF_SIDE = 640  # the side the relief is recovered at (as OCR reads it in matching)


def relief_readings(rgb: np.ndarray) -> list:
    """SIFT of the height recovered from the photo's shading, as is and inverted, keypoints in the photo's pixels
    (grid keypoints of a flat relief left out, as matching leaves them out of verification)."""
    from kcs_kit.embed.local import LocalFeatures, read_both_ways
    from kcs_kit.embed.relief import relief_image
    from kcs_kit.match.engine import QUERY_FEATURES

    height = relief_image(rgb, side=RELIEF_SIDE)
    k = rgb.shape[1] / height.shape[1]
    return [LocalFeatures(f.keypoints * np.array([k, k, k, 1], np.float32), f.descriptors, rgb.shape[1], rgb.shape[0])
            for f in read_both_ways(height, max_side=RELIEF_SIDE, n_features=QUERY_FEATURES) if not f.dense]


def main(n: int, folders: list[Path]) -> None:
    from kcs_kit.config import load_settings
    from kcs_kit.embed._util import opencv
    from kcs_kit.embed.local import read_all_ways
    from kcs_kit.index.build import active_designs
    from kcs_kit.match.context import get_context
    from kcs_kit.match.engine import QUERY_FEATURES, QUERY_SIDE
    from kcs_kit.match.photo import load_photo
    from kcs_kit.match.verify import descriptors, verify_pair

    opencv()  # one thread
    settings = load_settings()
    ctx = get_context(settings)  # each design's views and their descriptors, read once (design_features)
    ids = active_designs(settings)["design_id"].to_list()
    rng = random.Random(0)
    out = []
    for folder in folders:
        rows = [r for r in csv.DictReader(open(folder / "queries.csv"))
                if r.get("style") in ("emboss", "deboss") and r["design_id"]][:n]
        for r in rows:
            rgb = load_photo(str(folder / r["image_path"].split("|")[0])).rgb
            pool = [r["design_id"], *rng.sample([d for d in ids if d != r["design_id"]], OTHERS)]
            row = []
            for reads in ([f for f in read_all_ways(rgb, max_side=QUERY_SIDE, n_features=QUERY_FEATURES)
                           if f is not None and not f.dense], relief_readings(rgb)):
                got = [(f, descriptors(f)) for f in reads]
                inl = np.array([max((verify_pair(f, fd, v, vd, (rgb.shape[1], rgb.shape[0])).inliers
                                     for f, fd in got for v, vd in ctx.design_features(d)), default=0) for d in pool])
                row += [int(inl[0]), int(inl[1:].max()), int((inl[1:] >= inl[0]).sum())]
            out.append(row)
            print(folder.name, r["query_id"], r["design_id"], "photo: inliers, best random, designs at or above",
                  row[:3], "relief:", row[3:], flush=True)
    a = np.array(out)
    for name, c in (("matching's photo readings", 0), ("the relief's readings", 3)):
        print(f"{name}: true design's inliers median {np.median(a[:, c]):.1f} (>= 6 for {(a[:, c] >= 6).mean():.0%}), "
              f"best of {OTHERS} random designs median {np.median(a[:, c + 1]):.1f}, true design first "
              f"{int((a[:, c + 2] == 0).sum())} of {len(a)}")
    print(f"first on the relief but not on the photo: {int(((a[:, 5] == 0) & (a[:, 2] > 0)).sum())} of {len(a)}")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(int(sys.argv[1]), [Path(p) for p in sys.argv[2:]])
