"""Where matching's errors are, out of fold, by kind of photo: what to work on next.

From the fitting sets' cached analyses (``kcs model cv`` caches them), each query is scored by the fusion fitted
on the other 4 folds (as ``kcs model cv``) and sorted into: *read* (the true design first and accepted),
*first, rejected* (first, but ``p_no_match`` reached the reject ratio), *below* (among the candidates, not
first), *missed* (never among the candidates); for queries without a registered design, *rejected* or *false
alarm*. Seconds once the analyses are cached. Usage:

    python scripts/error_breakdown.py RATIO QUERIES_DIR [QUERIES_DIR ...]
    python scripts/error_breakdown.py 0.35 /tmp/photos-train /tmp/photos-train2 /tmp/photos-train3
"""

import csv
import sys
from collections import Counter
from pathlib import Path

import numpy as np

FOLDS = 5
COLUMNS = ("read", "first, rejected", "below", "missed", "rejected", "false alarm")


def main(ratio: float, folders: list[Path]) -> None:
    from kcs_kit.config import load_settings
    from kcs_kit.match.crossval import fold_models, fold_of
    from kcs_kit.match.fusion import rejects
    from kcs_kit.match.train import collect_many, package_query_id

    items = collect_many(load_settings(), folders)
    models = fold_models(items, folds=FOLDS)
    kind = {package_query_id(d, row["query_id"], len(folders)): row.get("kind") or "(none)"
            for d in folders for row in csv.DictReader(open(Path(d) / "queries.csv"))}
    counts: Counter = Counter()
    for a in items:
        p, p0 = models[fold_of(a.query_id, FOLDS)].probabilities(a.feats, a.qfeats)
        rejected = rejects(p, p0, ratio)
        if not a.truth:
            outcome = "rejected" if rejected else "false alarm"
        elif a.missed:
            outcome = "missed"
        elif int(np.argmax(p)) != a.design_ids.index(a.truth):
            outcome = "below"
        else:
            outcome = "first, rejected" if rejected else "read"
        counts[(kind[a.query_id], outcome)] += 1
    print(f"| kind | queries | {' | '.join(COLUMNS)} |")
    print("|---|---:|" + "---:|" * len(COLUMNS))
    for k in sorted({k for k, _ in counts}):
        print(f"| {k} | {sum(counts[(k, c)] for c in COLUMNS)} | " + " | ".join(str(counts[(k, c)]) for c in COLUMNS)
              + " |")
    total = Counter({c: sum(n for (_k, o), n in counts.items() if o == c) for c in COLUMNS})
    print(f"| all | {sum(total.values())} | " + " | ".join(str(total[c]) for c in COLUMNS) + " |")


if __name__ == "__main__":
    main(float(sys.argv[1]), [Path(a) for a in sys.argv[2:]])
