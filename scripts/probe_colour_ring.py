"""Probe (2026-12-07, v18): is the registered colour at the place where the mark was found, or all around it?

The colour signal of v15 was the share of a candidate's place in its registered colour. Out of fold, designs of
common brand colours (Air France, Apache's feather, Lerna, A-Frame...) came first on many wrong answers, and
looking at them, the photo was often of that colour all over: a red bag makes every red-registered design's
places red. For the first N queries of each outcome (*wrong*: a design other than the true one first, below it
or a false alarm; *read*: the true design first and accepted), out of fold at RATIO as ``error_breakdown.py``
scores them, this matches the item again and prints, for the design read first and if it has a registered
colour, the share of its best place in that colour (v15's signal) and the colour signal now
(``engine._colour_share``: the place's share minus that of the ring around it, the place grown by half its size
on each side), both as shares of COLOUR_FULL. Seconds per item. Usage:

    python scripts/probe_colour_ring.py RATIO N QUERIES_DIR [QUERIES_DIR ...]
    python scripts/probe_colour_ring.py 0.35 40 /tmp/photos-train /tmp/photos-train2 /tmp/photos-train3
"""

import sys
from pathlib import Path


def main(ratio: float, n: int, folders: list[Path]) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from error_breakdown import outcomes

    import kcs_kit.match.engine as engine
    from kcs_kit.config import load_settings

    settings = load_settings()
    calls: list[tuple[float, float]] = []  # (share, local) of each _colour_share call of one analysis, in order
    plain = engine._colour_share

    def recording(places, photos, views, ab):
        calls.append(plain(places, photos, views, ab))
        return calls[-1]

    engine._colour_share = recording
    colours = engine.get_context(settings).colours
    found = outcomes(ratio, folders)
    groups = {"wrong": [r for r in found if r["first"] and r["first"] != r["design_id"]
                        and r["outcome"] in ("below", "false alarm")],
              "read": [r for r in found if r["outcome"] == "read"]}
    for name, rows in groups.items():
        got = []
        for r in (r for r in rows if r["first"] in colours):
            if len(got) >= n:
                break
            folder = Path(r["folder"])
            crop = tuple(float(v) for v in r["crop"].split(",")) if r["crop"] else None
            calls.clear()
            a = engine.analyse([str(folder / p) for p in r["image_path"].split("|")], settings, crop=crop)
            coloured = [d for d, *_ in a.rows if d in colours]  # the designs _colour_share was called for, in order
            if r["first"] in coloured:
                got.append((r["first"], *calls[coloured.index(r["first"])]))
        full = [g for g in got if g[1] >= 1.0]
        print(f"{name}: {len(got)} items whose first design has a registered colour; the place full of it "
              f"(share >= 1) on {len(full)}, of which the colour signal now >= 0.5 on "
              f"{sum(g[2] >= 0.5 for g in full)}")
        for d, share, local in got:
            print(f"  {d:28s} share {share:.2f}  signal now {local:.2f}")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(float(sys.argv[1]), int(sys.argv[2]), [Path(a) for a in sys.argv[3:]])
