"""``kcs bench shortlists``: which image shortlist finds the true design, on a labelled query package.

Accuracy is capped by recall: a design that no shortlist proposes is never verified, fused or shown. For
every query with a true design this measures the rank of that design in each image shortlist on its own —
VLAD windows in the vector store, visual words, marknet windows, silhouettes of colour regions, marknet on
the largest of those regions cut out as marks (``region``: measured here, not part of matching; out of fold it
did not raise reading accuracy at equal rejection, docs/MATCHING.md) — and
whether the union of the first ``PER_LIST`` (30) of each holds it. OCR and text matches are left out (they
propose by name, and cost most of the time). Same code path as ``match``, on the current workspace.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kcs_kit.config import Settings

KS = (1, 5, 30)
MATCHING = ("vlad", "bow", "marknet", "shape")  # the shortlists matching uses
FAMILIES = (*MATCHING, "region")
REGION_CROPS = 48  # the largest proposed regions of a photo read by marknet as crops


@dataclass(frozen=True)
class ShortlistBench:
    queries: int  # with a true design that is active in the workspace
    recall: dict[str, dict[int, float]]  # family -> k -> share of queries with the true design in the first k
    union_30: float  # share with the true design in the union of the first 30 of the families matching uses
    union_30_region: float  # the same with the region family's first 30 added
    seconds_per_query: dict[str, float]  # family -> mean seconds (features are shared by vlad and bow)
    by_kind: dict[str, tuple[int, float]]  # kind -> (queries, union recall)


def rank_of(scores: dict[str, float], design: str) -> int:
    """1 + how many designs score above ``design`` (a huge number when it has no score)."""
    if design not in scores:
        return 10**9
    s = scores[design]
    return 1 + sum(1 for v in scores.values() if v > s)


def region_scores(ctx, photos, crops: int = REGION_CROPS) -> dict[str, float]:
    """marknet on each photo's ``crops`` largest proposed colour regions, each cut like a training crop
    (``MarkNetEncoder.region_vectors``), hubness-corrected as the windows are: the best score per design."""
    from kcs_kit.embed.shape import photo_regions

    best: dict[str, float] = {}
    if ctx.marknet is None:
        return best
    for p in photos:
        boxes = [r.box for r in photo_regions(p.rgb)[:crops]]
        for d, v in ctx.marknet.scores(ctx.marknet.encoder.region_vectors(p.rgb, boxes))[0].items():
            best[d] = max(best.get(d, -2.0), v)
    return best


def run(settings: Settings, folder: Path, *, limit: int | None = None,
        tick: Callable[[int], None] | None = None) -> ShortlistBench:
    from kcs_kit.bench.queries import read_queries
    from kcs_kit.match import engine
    from kcs_kit.match.context import get_context

    ctx = get_context(settings)
    active = ctx.active_ids(None)
    qs = [q for q in read_queries(folder) if q.design_id in active][:limit]
    ranks: dict[str, list[int]] = {f: [] for f in FAMILIES}
    secs: dict[str, float] = dict.fromkeys(FAMILIES, 0.0)
    kinds: dict[str, list[bool]] = {}
    union: list[bool] = []
    union_region: list[bool] = []
    for q in qs:
        photos, _ocr = engine._load([str(p) for p in q.photos], q.crop, settings)
        t0 = time.perf_counter()
        reads = engine._read_photos(photos)
        vlad = engine._shortlist(ctx, reads, None)
        t1 = time.perf_counter()
        bow = engine._bow(ctx, reads)
        t2 = time.perf_counter()
        learned, _, _ = engine._marknet(ctx, photos)
        t3 = time.perf_counter()
        shape, _ = engine._shape(ctx, photos)
        t4 = time.perf_counter()
        region = region_scores(ctx, photos)
        t5 = time.perf_counter()
        secs["vlad"] += t1 - t0
        secs["bow"] += t2 - t1
        secs["marknet"] += t3 - t2
        secs["shape"] += t4 - t3
        secs["region"] += t5 - t4  # the region proposals made again
        found = False
        for fam, scores in zip(FAMILIES, (vlad, bow, learned, shape, region), strict=True):
            r = rank_of(scores, str(q.design_id))
            ranks[fam].append(r)
            found |= r <= engine.PER_LIST and fam in MATCHING
        union.append(found)
        union_region.append(found or ranks["region"][-1] <= engine.PER_LIST)
        kinds.setdefault(q.kind or "", []).append(found)
        if tick:
            tick(1)
    n = len(qs)
    recall = {f: {k: float(np.mean([r <= k for r in ranks[f]])) if n else 0.0 for k in KS} for f in FAMILIES}
    return ShortlistBench(n, recall, float(np.mean(union)) if n else 0.0,
                          float(np.mean(union_region)) if n else 0.0,
                          {f: secs[f] / max(n, 1) for f in FAMILIES},
                          {k: (len(v), float(np.mean(v))) for k, v in sorted(kinds.items())})


def render(b: ShortlistBench, command: str, machine: str) -> str:
    rows = [f"| {f} | " + " | ".join(f"{b.recall[f][k]:.1%}" for k in KS) + f" | {b.seconds_per_query[f]:.2f} |"
            for f in FAMILIES]
    kinds = " · ".join(f"{k or '(none)'} {v:.0%} ({n})" for k, (n, v) in b.by_kind.items())
    return "\n".join([
        "## Image shortlists (`kcs bench shortlists`)", "",
        f"Command: `{command}`  ", f"Machine: {machine}", "",
        f"{b.queries} queries with a registered true design. Share of queries whose true design each image "
        "shortlist ranks in its first k, on its own (OCR and text left out), and seconds per query:", "",
        "| shortlist | first 1 | first 5 | first 30 | s/query |", "|---|---:|---:|---:|---:|", *rows,
        f"| **union of the first 30 of vlad, bow, marknet, shape (what verification and fusion see)** | | | "
        f"**{b.union_30:.1%}** | |",
        f"| union with region's first 30 added (region is measured here, not used by matching) | | | "
        f"{b.union_30_region:.1%} | |",
        "", f"Union by kind: {kinds}.",
        "", "(vlad and bow share the local features; their extraction is counted under vlad.)",
    ])
