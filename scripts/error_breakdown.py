"""Where matching's errors are, out of fold, by kind of photo: what to work on next.

From the fitting sets' cached analyses (``kcs model cv`` caches them), each query is scored by the fusion fitted
on the other 4 folds (as ``kcs model cv``) and sorted into: *read* (the true design first and accepted),
*first, rejected* (first, but ``p_no_match`` reached the reject ratio), *below* (among the candidates, not
first), *missed* (never among the candidates); for queries without a registered design, *rejected* or *false
alarm*. Seconds once the analyses are cached. With ``--sheet OUTCOME OUT.png`` it also draws the queries of
one outcome (``missed``, ``below``, ``first, rejected``, ``false alarm``...) as a picture to look at: each
photo beside the true drawing and the drawing read first, with its out-of-fold probability. With ``--without
SIGNAL`` (repeatable) the fusion is fitted without that signal, its lead and its query signal, as ``kcs model cv
--ablate`` does: the table as it was before a signal existed. Usage:

    python scripts/error_breakdown.py RATIO QUERIES_DIR [QUERIES_DIR ...] [--without SIGNAL]
        [--sheet OUTCOME OUT.png [N]]
    python scripts/error_breakdown.py 0.35 /tmp/photos-train /tmp/photos-train2 /tmp/photos-train3
    python scripts/error_breakdown.py 0.35 /tmp/photos-train --sheet missed /tmp/missed.png 48
    python scripts/error_breakdown.py 0.35 /tmp/photos-train /tmp/photos-train2 --without marknet_peak
"""

import csv
import sys
from collections import Counter
from pathlib import Path

import numpy as np

FOLDS = 5
COLUMNS = ("read", "first, rejected", "below", "missed", "rejected", "false alarm")
CELL = 150  # px of each picture in a sheet


def outcomes(ratio: float, folders: list[Path], without: tuple[str, ...] = ()) -> list[dict]:
    """Every fitting query scored out of fold: its row of queries.csv (``folder`` added), ``outcome``,
    ``first`` (the design read first, None when there is no candidate) and ``p`` (its probability); the fusion
    fitted ``without`` those signals."""
    from kcs_kit.config import load_settings
    from kcs_kit.match.crossval import fold_models, fold_of
    from kcs_kit.match.fusion import features_without, rejects
    from kcs_kit.match.train import collect_many, package_query_id

    items = collect_many(load_settings(), folders)
    models = fold_models(items, folds=FOLDS, features=features_without(without))
    rows = {package_query_id(d, row["query_id"], len(folders)): {**row, "folder": str(d)}
            for d in folders for row in csv.DictReader(open(Path(d) / "queries.csv"))}
    out = []
    for a in items:
        p, p0 = models[fold_of(a.query_id, FOLDS)].probabilities(a.feats, a.qfeats)
        rejected = rejects(p, p0, ratio)
        best = int(np.argmax(p)) if len(p) else None
        if not a.truth:
            outcome = "rejected" if rejected else "false alarm"
        elif a.missed:
            outcome = "missed"
        elif best != a.design_ids.index(a.truth):
            outcome = "below"
        else:
            outcome = "first, rejected" if rejected else "read"
        out.append({**rows[a.query_id], "outcome": outcome, "first": None if best is None else a.design_ids[best],
                    "p": 0.0 if best is None else float(p[best])})
    return out


def sheet(found: list[dict], outcome: str, path: Path, n: int) -> None:
    """A PNG of the first ``n`` queries of ``outcome``: photo, true drawing, drawing read first; captioned."""
    from PIL import Image, ImageDraw, ImageFont

    from kcs_kit.config import load_settings
    from kcs_kit.registry.store import get_design

    settings = load_settings()
    font = ImageFont.load_default(size=11)
    picked = [r for r in found if r["outcome"] == outcome][:n]
    if not picked:
        sys.exit(f"--sheet {outcome!r}: no query has that outcome (outcomes: {', '.join(COLUMNS)})")

    def drawing(design_id: str | None) -> Image.Image:
        tile = Image.new("RGB", (CELL, CELL), "white")
        if design_id:
            im = Image.open(get_design(settings, design_id).render()).convert("RGB")
            im.thumbnail((CELL - 10, CELL - 10))
            tile.paste(im, ((CELL - im.width) // 2, (CELL - im.height) // 2))
        return tile

    cols = 3  # triples per row
    rows = -(-len(picked) // cols)
    out = Image.new("RGB", (cols * (3 * CELL + 12), rows * (CELL + 30)), "white")
    draw = ImageDraw.Draw(out)
    for i, r in enumerate(picked):
        x, y = (i % cols) * (3 * CELL + 12), (i // cols) * (CELL + 30)
        photo = Image.open(Path(r["folder"]) / r["image_path"].split("|")[0]).convert("RGB")
        photo.thumbnail((CELL, CELL))
        out.paste(photo, (x, y))
        out.paste(drawing(r["design_id"] or None), (x + CELL, y))
        out.paste(drawing(r["first"]), (x + 2 * CELL, y))
        draw.text((x, y + CELL + 2), f"{Path(r['folder']).name}:{r['query_id']} {r['kind']} "
                  f"mark {float(r['mark_fraction'] or 0):.0%}", fill="black", font=font)
        draw.text((x, y + CELL + 15), f"true {r['design_id'] or '-'}; first {r['first'] or '-'} p={r['p']:.2f}",
                  fill="gray", font=font)
    out.save(path)
    print(f"{len(picked)} queries '{outcome}' drawn in {path}")


def main(ratio: float, folders: list[Path], sheet_args: list[str], without: tuple[str, ...] = ()) -> None:
    found = outcomes(ratio, folders, without)
    counts = Counter((r["kind"] or "(none)", r["outcome"]) for r in found)
    print(f"| kind | queries | {' | '.join(COLUMNS)} |")
    print("|---|---:|" + "---:|" * len(COLUMNS))
    for k in sorted({k for k, _ in counts}):
        print(f"| {k} | {sum(counts[(k, c)] for c in COLUMNS)} | " + " | ".join(str(counts[(k, c)]) for c in COLUMNS)
              + " |")
    total = Counter({c: sum(n for (_k, o), n in counts.items() if o == c) for c in COLUMNS})
    print(f"| all | {sum(total.values())} | " + " | ".join(str(total[c]) for c in COLUMNS) + " |")
    if sheet_args:
        sheet(found, sheet_args[0], Path(sheet_args[1]), int(sheet_args[2]) if len(sheet_args) > 2 else 48)


if __name__ == "__main__":
    args = sys.argv[1:]
    extra = args[args.index("--sheet") + 1:] if "--sheet" in args else []
    args = args[: args.index("--sheet")] if "--sheet" in args else args
    drop = tuple(args[i + 1] for i, a in enumerate(args) if a == "--without" and i + 1 < len(args))
    args = [a for i, a in enumerate(args) if a != "--without" and (i == 0 or args[i - 1] != "--without")]
    if len(args) < 2 or ("--sheet" in sys.argv and len(extra) < 2):
        sys.exit(__doc__)
    main(float(args[0]), [Path(a) for a in args[1:]], extra, drop)
