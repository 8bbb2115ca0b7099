"""Probe (not part of matching): what reading a photo's relief (``kcs_kit.embed.relief``) finds.

Two readings of the height recovered from a photo's shading, on embossed and debossed queries and, for the
chance they add, on queries without a registered design:

* ``silhouettes``: the colour-region finder on the relief image (320 px, the light's axis estimated, and the best
  of 12 axes 15 degrees apart as an upper bound): the share of items with a region correlating >= 0.7 / 0.6 with
  the true drawing, the true drawing's rank among the hubness-corrected silhouette scores of all designs (colour
  regions alone, and with the relief regions), and on photos without a design the best such score.
* ``ocr``: matching's OCR on the relief image (at ``ocr_max_side``, 640 px): on how many items it reads the true
  design's name (the matcher's own name lookup), and on how many photos without a design some registered name.

Usage (each query package as ``kcs bench photos`` writes it; N items of each group):

    python scripts/probe_relief_reading.py silhouettes N QUERIES_DIR [QUERIES_DIR ...]
    python scripts/probe_relief_reading.py ocr N QUERIES_DIR [QUERIES_DIR ...]
"""

import sys
import time

import numpy as np

RELIEF_STYLES = ("emboss", "deboss")
AXES = np.arange(12) * np.pi / 12


def _groups(folders: list[str], n: int, ids: set[str]) -> dict[str, list]:
    """The first ``n`` items of each group: stamped into or raised from the surface (the package's optional
    ``style`` column 'emboss' or 'deboss', else its ``embossed`` kind) with an active design, and without one."""
    import csv
    from pathlib import Path

    from kcs_kit.bench.queries import read_queries

    out: dict[str, list] = {"relief": [], "none": []}
    for folder in folders:
        with open(Path(folder) / "queries.csv", newline="", encoding="utf-8") as fh:
            style = {row["query_id"]: row.get("style", "") for row in csv.DictReader(fh)}
        for q in read_queries(folder):
            stamped = style.get(q.query_id, "") in RELIEF_STYLES or q.kind == "embossed"
            group = "none" if not q.design_id else "relief" if stamped and q.design_id in ids else ""
            if group and len(out[group]) < n:
                out[group].append(q)
    return out


def silhouettes(folders: list[str], n: int) -> None:
    from probe_silhouette_regions import item_scores

    from kcs_kit.config import load_settings
    from kcs_kit.embed.relief import relief_image
    from kcs_kit.embed.shape import photo_regions
    from kcs_kit.index.shape import load_shapes
    from kcs_kit.match.photo import load_photo

    shapes = load_shapes(load_settings())
    if shapes is None:
        sys.exit("no silhouettes yet: run `kcs index build`")
    ids = [str(x) for x in shapes.ids]
    groups = _groups(folders, n, set(ids))
    t0 = time.time()
    for name, qs in groups.items():
        raw, axes_raw, ranks, tops = [], [], [], []
        for q in qs:
            rgbs = [load_photo(str(p)).rgb for p in q.photos]
            plain, plain_raw = item_scores(shapes, [photo_regions(r) for r in rgbs], q.design_id)
            lifted, lifted_raw = item_scores(shapes, [photo_regions(relief_image(r)) for r in rgbs], q.design_id)
            both = {d: max(plain[d], lifted[d]) for d in plain}
            if q.design_id:
                per_axis = [item_scores(shapes, [photo_regions(relief_image(r, theta=t)) for r in rgbs],
                                        q.design_id)[1] for t in AXES]
                raw.append((plain_raw, lifted_raw))
                axes_raw.append(max(per_axis))
                ranks.append(tuple(1 + sum(v > s[q.design_id] for v in s.values()) for s in (plain, both)))
            tops.append((max(plain.values()), max(both.values())))
        if name == "relief":
            r, a, k = np.array(raw), np.array(axes_raw), np.array(ranks)
            print(f"{len(qs)} embossed / debossed items ({time.time() - t0:.0f} s)")
            for label, v in (("colour regions", r[:, 0]), ("relief, estimated axis", r[:, 1]),
                             ("relief, best of 12 axes", a)):
                print(f"  {label:24s} region >= 0.7: {np.mean(v >= .7):.1%}  >= 0.6: {np.mean(v >= .6):.1%}")
            for j, label in enumerate(("colour regions", "with relief regions")):
                print(f"  true drawing's rank, {label:20s} first {np.mean(k[:, j] == 1):.1%}  first 10 "
                      f"{np.mean(k[:, j] <= 10):.1%}  first 30 {np.mean(k[:, j] <= 30):.1%}")
        else:
            t = np.array(tops)
            print(f"{len(qs)} items without a design: best silhouette score, colour regions {t[:, 0].mean():.3f} "
                  f"(90th pct {np.percentile(t[:, 0], 90):.3f}), with relief regions {t[:, 1].mean():.3f} "
                  f"({np.percentile(t[:, 1], 90):.3f})")


def ocr(folders: list[str], n: int) -> None:
    from kcs_kit.config import load_settings
    from kcs_kit.embed.relief import relief_image
    from kcs_kit.match.context import get_context
    from kcs_kit.match.photo import load_photo

    ctx = get_context(load_settings())  # matching's own OCR engine, at its ocr_max_side
    side = ctx.settings.ocr_max_side
    groups = _groups(folders, n, set(ctx.designs))
    for name, qs in groups.items():
        named = other = 0
        for q in qs:
            reliefs = [relief_image(load_photo(str(p)).rgb, side=side) for p in q.photos]
            words = [w for ws in ctx.read_words(reliefs) for w in ws]
            scores, _ = ctx.titles.lookup(words) if words else ({}, {})
            named += bool(q.design_id) and scores.get(q.design_id, 0.0) > 0
            other += bool(set(scores) - {q.design_id})
        print(f"{name}: {len(qs)} items; the true name read on the relief {named}, another registered name {other}")


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[1] not in ("silhouettes", "ocr"):
        sys.exit(__doc__)
    {"silhouettes": silhouettes, "ocr": ocr}[sys.argv[1]](sys.argv[3:], int(sys.argv[2]))
