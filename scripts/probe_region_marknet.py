"""Probe (not part of matching): marknet on the silhouette stage's proposed regions vs its window pyramid.

For the first N queries with a registered design in a query package, the true design's rank under
(a) marknet's pyramid windows as matching scores them, (b) marknet on each photo's MAX_REGIONS largest
proposed colour regions cut like training crops (``kcs_kit.bench.shortlists.region_scores``), and (c) the
better rank of the two. Each reading alone and the union with the other shortlists are in ``kcs bench
shortlists``; this adds (c). Usage: python scripts/probe_region_marknet.py QUERIES_DIR [N] [MAX_REGIONS]
"""

import sys
import time
from pathlib import Path

import numpy as np


def main() -> None:
    from kcs_kit.bench.queries import read_queries
    from kcs_kit.bench.shortlists import rank_of, region_scores
    from kcs_kit.config import load_settings
    from kcs_kit.match.context import get_context
    from kcs_kit.match.engine import _load, _marknet

    folder, n = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 100
    max_regions = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3].isdigit() else 48
    settings = load_settings()
    ctx = get_context(settings)
    active = ctx.active_ids(None)
    qs = [q for q in read_queries(folder) if q.design_id in active][:n]
    ranks: dict[str, list[int]] = {"pyramid": [], "regions": [], "either": []}
    spent = 0.0
    for q in qs:
        photos, _ocr = _load([str(p) for p in q.photos], None, settings)
        t = time.perf_counter()
        reg = region_scores(ctx, photos, max_regions)
        spent += time.perf_counter() - t
        a, b = rank_of(_marknet(ctx, photos)[0], q.design_id), rank_of(reg, q.design_id)
        ranks["pyramid"].append(a)
        ranks["regions"].append(b)
        ranks["either"].append(min(a, b))
    print(f"{len(qs)} queries with a registered design from {folder}; regions per photo <= {max_regions}; "
          f"region stage (proposals included) {spent / len(qs) * 1000:.0f} ms per query")
    for name, r in ranks.items():
        r = np.array(r)
        print(f"{name:8s} first {np.mean(r <= 1):.1%}  first 5 {np.mean(r <= 5):.1%}  first 30 {np.mean(r <= 30):.1%}")


if __name__ == "__main__":
    main()
