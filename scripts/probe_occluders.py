"""Probe (not part of matching): silhouettes completed under an occluder (``photo_regions(..., occluded=True)``).

For the first N items with a registered design of the chosen group and the first N without one, in the given query
packages: whether some region fits the true drawing (raw correlation >= 0.7) and the true drawing's rank among the
silhouette scores (hubness-corrected, best over the item's photos, as matching ranks them), with the colour regions
alone and with the completed marks added, by the package's ``occluder`` column; on items without a design the best
silhouette score either way (what completion adds by chance). Also the region finder's time per photo both ways.

    python scripts/probe_occluders.py N occluded|all QUERIES_DIR [QUERIES_DIR ...]
    python scripts/probe_occluders.py 200 occluded /tmp/photos-train2 /tmp/photos-train3
"""

import csv
import sys
import time
from pathlib import Path

import numpy as np

OCCLUDERS = ("finger", "tape", "strap", "shadow", "-")


def main() -> None:
    from probe_silhouette_regions import item_scores

    from kcs_kit.config import load_settings
    from kcs_kit.embed.shape import photo_regions
    from kcs_kit.index.shape import load_shapes
    from kcs_kit.match.photo import load_photo

    if len(sys.argv) < 4 or sys.argv[2] not in ("occluded", "all"):
        sys.exit(__doc__)
    n, occluded_only, folders = int(sys.argv[1]), sys.argv[2] == "occluded", sys.argv[3:]
    shapes = load_shapes(load_settings())
    if shapes is None:
        sys.exit("no silhouettes yet: run `kcs index build`")
    ids = {str(x) for x in shapes.ids}
    pos: list[tuple[dict, list[Path]]] = []
    neg: list[tuple[dict, list[Path]]] = []
    for folder in folders:
        with open(Path(folder) / "queries.csv", newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                photos = [Path(folder) / p for p in row["image_path"].split("|")]
                if row["design_id"] in ids and (row.get("occluder") or not occluded_only):
                    pos += [(row, photos)] if len(pos) < n else []
                elif not row["design_id"]:
                    neg += [(row, photos)] if len(neg) < n else []
    clock = {False: 0.0, True: 0.0}

    def regions(path: Path) -> tuple[list, list]:
        rgb = load_photo(str(path)).rgb
        out = {}
        for occluded in (False, True):
            t = time.perf_counter()
            out[occluded] = photo_regions(rgb, occluded=occluded)
            clock[occluded] += time.perf_counter() - t
        plain = out[False]
        assert [r.box for r in out[True][:len(plain)]] == [r.box for r in plain]  # completed ones come after
        return plain, out[True][len(plain):]

    rows, added = [], []
    for row, photos in pos:
        found = [regions(p) for p in photos]
        d = row["design_id"]
        before, raw_before = item_scores(shapes, [r for r, _ in found], d)
        after, raw_after = item_scores(shapes, [r + c for r, c in found], d)
        added.append(sum(len(c) for _, c in found))
        rows.append((raw_before, raw_after, 1 + sum(v > before[d] for v in before.values()),
                     1 + sum(v > after[d] for v in after.values()), (row.get("occluder") or "-").split("|")[0] or "-"))
    photos_read = sum(len(p) for _, p in pos)
    ms = {k: 1000 * v / photos_read for k, v in clock.items()}
    print(f"{len(pos)} items with a design: {np.mean(added):.1f} completed marks per item; region finder "
          f"{ms[False]:.0f} ms per photo, with completion {ms[True]:.0f} ms")
    for occ in (*OCCLUDERS, None):
        a = np.array([r[:4] for r in rows if occ is None or r[4] == occ], float)
        if len(a):
            print(f"  {occ or 'all':7s} {len(a):4d}  region >= 0.7 {np.mean(a[:, 0] >= .7):.1%} -> "
                  f"{np.mean(a[:, 1] >= .7):.1%}"
                  f"  first {np.mean(a[:, 2] == 1):.1%} -> {np.mean(a[:, 3] == 1):.1%}"
                  f"  first 10 {np.mean(a[:, 2] <= 10):.1%} -> {np.mean(a[:, 3] <= 10):.1%}"
                  f"  rank better / worse {int(np.sum(a[:, 3] < a[:, 2]))} / {int(np.sum(a[:, 3] > a[:, 2]))}")
    tops = []
    for _row, photos in neg:
        found = [regions(p) for p in photos]
        before, _ = item_scores(shapes, [r for r, _ in found], None)
        after, _ = item_scores(shapes, [r + c for r, c in found], None)
        tops.append((max(before.values()), max(after.values())))
    t = np.array(tops)
    if len(t):
        print(f"{len(t)} items without a design: best silhouette score {t[:, 0].mean():.3f} -> {t[:, 1].mean():.3f} "
              f"(90th percentile {np.percentile(t[:, 0], 90):.3f} -> {np.percentile(t[:, 1], 90):.3f}), "
              f"raised by more than 0.02 on {int(np.sum(t[:, 1] - t[:, 0] > 0.02))}")


if __name__ == "__main__":
    main()
