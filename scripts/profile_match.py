"""Where one item's CPU time goes: matching on one thread under cProfile (not part of matching).

Matches the first N items of a query package one stage after another (``match_threads`` 1, so the times add
up), after one untimed cold item, and prints the mean wall time per item and the functions that spent the
most time themselves. Run it on an idle machine. Usage:

    python scripts/profile_match.py QUERIES_DIR N
    python scripts/profile_match.py /tmp/photos-eval 60
"""

import cProfile
import pstats
import sys
import time
from dataclasses import replace
from pathlib import Path


def main(folder: Path, n: int) -> None:
    from kcs_kit.bench.queries import read_queries
    from kcs_kit.config import load_settings
    from kcs_kit.match.engine import match

    s = replace(load_settings(), match_threads=1)
    qs = list(read_queries(folder))[: n + 1]
    match([str(p) for p in qs[0].photos], s, crop=qs[0].crop)  # cold: models and indexes opened
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    for q in qs[1:]:
        match([str(p) for p in q.photos], s, crop=q.crop)
    prof.disable()
    print(f"{len(qs) - 1} items, {(time.perf_counter() - t) / max(1, len(qs) - 1) * 1000:.0f} ms each on one thread")
    pstats.Stats(prof).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), int(sys.argv[2]))
