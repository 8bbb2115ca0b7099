"""Probe (not part of matching): marknet alone with fewer windows, on fitting photos.

marknet reads every 64-px window of a photo at five scales (``cnn.SCALES``, a mark filling 85% to 21% of the
shorter side); the finest scale holds ~60% of the ~2,400 windows, and the scores against every drawing cost in
proportion. For the first photo of each fitting query with a registered design: the true design's rank among
the drawings by marknet's hubness-corrected score (as matching scores it), with every scale, without the finest
(0.21) or the coarsest (0.85), and with the finest read at stride 16 (every other window row and column), and
the seconds per photo for the windows and their scores. ~2.5 minutes for 300 photos. Usage:

    python scripts/probe_marknet_scales.py QUERIES_DIR N
    python scripts/probe_marknet_scales.py /tmp/photos-train 300
"""

import csv
import sys
import time
from pathlib import Path

import numpy as np

STRIDE_16 = "0.21 at stride 16"


def rank(scores: dict[str, float], truth: str) -> int:
    order = sorted(scores, key=scores.__getitem__, reverse=True)
    return order.index(truth) + 1 if truth in scores else 10**6


def every_other(boxes: np.ndarray) -> np.ndarray:
    """Which windows of one scale lie on even rows and columns of its stride-8 grid (from their boxes)."""
    keep = np.ones(len(boxes), bool)
    for axis in (0, 1):
        x = boxes[:, axis]
        step = x[x > 0].min() if (x > 0).any() else 1.0
        keep &= np.round(x / step).astype(int) % 2 == 0
    return keep


def main(folder: Path, limit: int) -> None:
    from kcs_kit.config import load_settings
    from kcs_kit.embed.cnn import SCALES
    from kcs_kit.match.context import get_context
    from kcs_kit.match.photo import load_photo

    net = get_context(load_settings()).marknet
    rows = [r for r in csv.DictReader(open(folder / "queries.csv")) if r["design_id"].strip()][:limit]
    variants = {"all 5 scales": SCALES, "without 0.21": SCALES[:-1], "without 0.85": SCALES[1:]}
    ranks: dict[str, list[int]] = {k: [] for k in [*variants, STRIDE_16]}
    secs = dict.fromkeys(ranks, 0.0)
    windows = dict.fromkeys(ranks, 0)
    for r in rows:
        rgb = load_photo(str(folder / r["image_path"].split("|")[0])).rgb
        truth = r["design_id"].strip()
        vecs = {}
        for name, scales in variants.items():
            t = time.perf_counter()
            vecs[name], _ = net.encoder.photo_windows(rgb, scales)
            scores, _ = net.scores(vecs[name])
            secs[name] += time.perf_counter() - t
            windows[name] += len(vecs[name])
            ranks[name].append(rank(scores, truth))
        t = time.perf_counter()
        fine, boxes = net.encoder.photo_windows(rgb, SCALES[-1:])
        v = np.vstack([vecs["without 0.21"], fine[every_other(boxes)]])
        scores, _ = net.scores(v)
        secs[STRIDE_16] += time.perf_counter() - t
        windows[STRIDE_16] += len(v)
        ranks[STRIDE_16].append(rank(scores, truth))
    print(f"{len(rows)} fitting photos with a design ({folder})")
    print("| windows | per photo | first | first 10 | first 30 | s per photo (windows + scores) |")
    print("|---|---:|---:|---:|---:|---:|")
    for k, rk in ranks.items():
        a = np.array(rk)
        print(f"| {k} | {windows[k] / len(rows):.0f} | {np.mean(a == 1):.1%} | {np.mean(a <= 10):.1%} | "
              f"{np.mean(a <= 30):.1%} | {secs[k] / len(rows):.3f} |")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), int(sys.argv[2]))
