"""``kcs bench marknet``: the learned encoder alone, for one or more weight files, on a labelled query package.

Training marknet further (``kcs model train-marknet --out models/next.pt``) is worth installing only if the
new weights find the true design better. For each weight file this embeds the registry's drawings and
measures their hubness among photo-like windows (``index/marknet.embed_registry``, as ``kcs index build``
does), scores every window of every photo with the same code as matching (``DesignVectors.scores``) and
reports how often the true design comes first, in the first 5 and in the first 30 (the depth of marknet's
shortlist), overall, by kind and for the designs held out of training. The installed weights and the index
are not touched; the same photos are read once for all weight files, so the figures are paired.

Example::

    >>> from kcs_kit.bench.marknet import run
    >>> files = [Path("kcs_kit/data/marknet.pt"), Path("models/next.pt")]
    >>> rows = run(settings, files, Path("/tmp/photos-train2"))  # doctest: +SKIP
    >>> rows[1].recall[1] - rows[0].recall[1]  # doctest: +SKIP
    0.037
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kcs_kit.config import Settings

KS = (1, 5, 30)


@dataclass(frozen=True)
class MarknetRecall:
    weights: str  # the file
    version: str  # the first 12 hex digits of its SHA-256
    queries: int  # with a true design that is active in the workspace
    recall: dict[int, float]  # k -> share of queries whose true design marknet ranks in its first k
    median_rank: float
    by_kind: dict[str, tuple[int, float, float]]  # kind -> (queries, first, first 30)
    new_designs: tuple[int, float]  # designs held out of training: (queries, first 30)


def run(settings: Settings, weights: Sequence[Path], folder: Path, *, limit: int | None = None,
        tick: Callable[[int], None] | None = None) -> list[MarknetRecall]:
    """marknet's rank of the true design of each query (the first ``limit`` with one), per weight file."""
    from kcs_kit.bench.queries import read_queries
    from kcs_kit.bench.shortlists import rank_of
    from kcs_kit.embed.cnn import MarkNetEncoder
    from kcs_kit.embed.cnn_train import held_out
    from kcs_kit.index.build import active_designs
    from kcs_kit.index.marknet import embed_registry
    from kcs_kit.match.engine import _load

    active = active_designs(settings)
    models = [embed_registry(MarkNetEncoder.load(Path(w)), active) for w in weights]
    ids = set(active["design_id"].to_list())
    qs = [q for q in read_queries(folder) if q.design_id in ids][:limit]
    ranks = np.zeros((len(models), len(qs)), np.int64)
    for j, q in enumerate(qs):
        photos, _ocr = _load([str(p) for p in q.photos], q.crop, settings)
        for i, m in enumerate(models):
            best: dict[str, float] = {}
            for p in photos:
                scores, _where = m.scores(m.encoder.photo_windows(p.rgb)[0])
                for d, s in scores.items():
                    best[d] = max(best.get(d, -9.0), s)
            ranks[i, j] = rank_of(best, str(q.design_id))
        if tick:
            tick(1)
    kinds = np.array([q.kind or "" for q in qs])
    new = np.array([held_out(str(q.design_id)) for q in qs], bool)
    out = []
    every = np.ones(len(qs), bool)
    for w, m, r in zip(weights, models, ranks, strict=True):
        def share(sel: np.ndarray, k: int, r: np.ndarray = r) -> float:
            return float(np.mean(r[sel] <= k)) if sel.any() else 0.0

        out.append(MarknetRecall(
            str(w), m.encoder.version, len(qs), {k: share(every, k) for k in KS},
            float(np.median(r)) if len(r) else 0.0,
            {k: (int((kinds == k).sum()), share(kinds == k, 1), share(kinds == k, 30)) for k in sorted(set(kinds))},
            (int(new.sum()), share(new, 30))))
    return out


def render(rows: list[MarknetRecall], command: str, machine: str) -> str:
    """The markdown section for docs/BENCHMARKS.md."""
    head = "| weights | " + " | ".join(f"first {k}" for k in KS) + " | median rank | designs held out of training: " \
        "first 30 |"
    lines = [f"| `{r.weights}` ({r.version}) | " + " | ".join(f"{r.recall[k]:.1%}" for k in KS)
             + f" | {r.median_rank:.0f} | {r.new_designs[1]:.1%} ({r.new_designs[0]}) |" for r in rows]
    kinds = sorted({k for r in rows for k in r.by_kind})
    by_kind = ["| kind | queries | " + " | ".join(f"{r.version}: first / first 30" for r in rows) + " |",
               "|---|---:|" + "---:|" * len(rows)]
    by_kind += [f"| {k or '(none)'} | {rows[0].by_kind[k][0]} | "
                + " | ".join(f"{r.by_kind[k][1]:.0%} / {r.by_kind[k][2]:.0%}" for r in rows) + " |" for k in kinds]
    return "\n".join([
        "## marknet alone, weights side by side (`kcs bench marknet`)", "",
        f"Command: `{command}`  ", f"Machine: {machine}", "",
        f"{rows[0].queries if rows else 0} queries with a registered true design, the same photos for every weight "
        "file. Share whose true design marknet alone (hubness-corrected best window) ranks in its first k:", "",
        head, "|---|" + "---:|" * (len(KS) + 2), *lines, "", *by_kind,
    ])
