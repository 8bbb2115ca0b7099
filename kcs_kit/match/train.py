"""``kcs model fit``: fit the fusion model on labelled queries and activate it only if it is better.

Labelled queries come from a query package (DESIGN.md format; the photo benchmark now, officers' decisions
later). Each query is analysed with the same code as ``kcs match``; queries are split by a hash of their
query_id into a fitting part and a held-out part. The new model is activated (written to
``<workspace>/models/fusion.json``) only when it beats the active one on the held-out part in log-loss
without lowering reading accuracy; otherwise it is refused, and the report says why.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kcs_kit.config import Settings
from kcs_kit.errors import ImageError, SchemaError
from kcs_kit.match.context import FUSION_FILE, get_context
from kcs_kit.match.fusion import Example, FusionModel, fit


@dataclass(frozen=True)
class Scores:
    queries: int
    log_loss: float
    reading_accuracy: float
    ece: float


@dataclass(frozen=True)
class FitReport:
    fitted_on: int
    held_out: int
    skipped: int  # true design never reached the candidate list (carries no information for fusion)
    before: Scores
    after: Scores
    activated: bool
    reason: str
    model_version: str
    path: str | None


def read_queries(folder: Path) -> list[dict[str, str]]:
    path = folder / "queries.csv"
    if not path.exists():
        raise SchemaError(f"{path}: no queries.csv", hint="write a query package (kcs bench photos --out DIR)")
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    missing = {"query_id", "image_path", "design_id"} - set(rows[0] if rows else {})
    if missing:
        raise SchemaError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    return rows


def _held_out(query_id: str, share: float) -> bool:
    return int(hashlib.sha256(query_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < share


def _example(settings: Settings, folder: Path, row: dict[str, str]) -> tuple[str, Example | None]:
    from kcs_kit.match.engine import analyse

    photos = [str(folder / p) for p in row["image_path"].split("|")]
    try:
        a = analyse(photos, settings, crop=row.get("crop") or None)
    except ImageError:
        return row["query_id"], None
    ids = [r[0] for r in a.rows]
    truth = row["design_id"].strip()
    idx = ids.index(truth) if truth in ids else (-1 if not truth else None)
    return row["query_id"], None if idx is None else Example(a.feats, a.query_signals, idx)


def _example_job(args: tuple[Settings, Path, dict[str, str]]) -> tuple[str, Example | None]:
    return _example(*args)


def collect(settings: Settings, folder: Path, *, limit: int | None = None,
            tick: Callable[[int], None] | None = None, workers: int = 1) -> list[tuple[str, Example | None]]:
    """(query_id, Example or None when the true design was not among the candidates) per query;
    ``workers`` processes share the queries."""
    rows = read_queries(folder)[:limit]
    jobs = [(settings, folder, row) for row in rows]
    out: list[tuple[str, Example | None]] = []
    if workers > 1:
        import multiprocessing as mp

        # spawn, not fork: a forked child of a process that already ran torch/ONNX threads can hang
        with mp.get_context("spawn").Pool(workers) as pool:
            for item in pool.imap(_example_job, jobs, chunksize=2):
                out.append(item)
                if tick:
                    tick(1)
        return out
    for job in jobs:
        out.append(_example_job(job))
        if tick:
            tick(1)
    return out


def score(model: FusionModel, data: list[Example]) -> Scores:
    nll, correct, conf, hit = 0.0, 0, [], []
    for ex in data:
        p, p0 = model.probabilities(ex.feats, ex.qfeats)
        probs = np.concatenate([[p0], p])
        nll -= math.log(max(probs[ex.truth + 1], 1e-12))
        top = int(np.argmax(probs)) - 1
        correct += top == ex.truth
        conf.append(float(probs.max()))
        hit.append(top == ex.truth)
    n = max(len(data), 1)
    return Scores(len(data), nll / n, correct / n, _ece(np.array(conf), np.array(hit)))


def _ece(conf: np.ndarray, hit: np.ndarray, bins: int = 15) -> float:
    if not len(conf):
        return 0.0
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges) - 1, 0, bins - 1)
    return float(sum(abs(conf[idx == b].mean() - hit[idx == b].mean()) * (idx == b).mean()
                     for b in range(bins) if (idx == b).any()))


def decide(before: Scores, after: Scores, current_version: str) -> tuple[bool, str]:
    """Activate only a model that lowers held-out log-loss without lowering reading accuracy."""
    if after.log_loss < before.log_loss and after.reading_accuracy >= before.reading_accuracy:
        return True, "better on the held-out queries: activated"
    return False, (f"not better on the held-out queries (log-loss {after.log_loss:.3f} vs {before.log_loss:.3f}, "
                   f"reading accuracy {after.reading_accuracy:.1%} vs {before.reading_accuracy:.1%}): kept "
                   f"{current_version}")


def fit_fusion(settings: Settings, folder: Path, *, holdout: float = 0.3, limit: int | None = None,
               progress: Callable[[int], Callable[[int], None]] | None = None, workers: int = 1) -> FitReport:
    """Fit on the query package, compare with the active model on the held-out share, activate if better."""
    total = len(read_queries(folder)[:limit])
    rows = collect(settings, folder, limit=limit, tick=progress(total) if progress else None, workers=workers)
    train = [ex for q, ex in rows if ex is not None and not _held_out(q, holdout)]
    test = [ex for q, ex in rows if ex is not None and _held_out(q, holdout)]
    if len(train) < 20 or len(test) < 10:
        raise SchemaError(f"{folder}: expected at least 30 usable labelled queries, found {len(train) + len(test)}",
                          hint="generate more with kcs bench photos --n 600")
    current = get_context(settings).fusion
    new = fit(train, trained_on=f"{folder.name}: {len(train)} queries")
    before, after = score(current, test), score(new, test)
    better, reason = decide(before, after, current.version)
    path = str(new.save(settings.workspace / FUSION_FILE)) if better else None
    skipped = sum(1 for _q, ex in rows if ex is None)
    return FitReport(len(train), len(test), skipped, before, after, better, reason, new.version, path)
