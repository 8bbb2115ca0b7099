"""``kcs model fit``: fit the fusion model on labelled queries and activate it only if it is better.

Labelled queries come from a query package (DESIGN.md format; the photo benchmark now, officers' decisions
later). Each query is analysed with the same code as ``kcs match``; queries are split by a hash of their
query_id into a fitting part and a held-out part. The new model is activated (written to
``<workspace>/models/fusion.json``) only when it beats the active one on the held-out part in log-loss
without lowering reading accuracy; otherwise it is refused, and the report says why.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kcs_kit.config import Settings
from kcs_kit.errors import ImageError, SchemaError
from kcs_kit.match.context import FUSION_FILE, get_context
from kcs_kit.match.fusion import QUERY_SIGNALS, SIGNALS, Example, FusionModel, features_without, fit

CACHE_DIR = Path("models") / "cache"


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
    missed: int  # true design never reached the candidates (left out of the fit: nothing to rank)
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


def query_hash(query_id: str) -> int:
    """A stable 32-bit number per query id: the held-out split and the cross-validation folds."""
    return int(hashlib.sha256(query_id.encode()).hexdigest()[:8], 16)


def _held_out(query_id: str, share: float) -> bool:
    return query_hash(query_id) / 0xFFFFFFFF < share


@dataclass(frozen=True)
class Analysed:
    """One labelled query as the engine saw it: its candidates' signals and the true design ('' = none)."""

    query_id: str
    design_ids: tuple[str, ...]
    feats: np.ndarray
    qfeats: np.ndarray
    truth: str

    def example(self) -> Example | None:
        """The fusion example, or None when the true design never reached the candidates: such a query says
        nothing about how to rank the candidates, and labelling it "no registered design" would teach
        ``p_no_match`` the wrong event (5 folds of the fitting set: ECE of p_no_match 0.21 with them, 0.11
        without, and no better reading accuracy; docs/MATCHING.md)."""
        if self.missed:
            return None
        return Example(self.feats, self.qfeats, self.design_ids.index(self.truth) if self.truth else -1)

    @property
    def missed(self) -> bool:
        return bool(self.truth) and self.truth not in self.design_ids


def _analyse(settings: Settings, folder: Path, row: dict[str, str]) -> Analysed | None:
    from kcs_kit.match.engine import analyse

    photos = [str(folder / p) for p in row["image_path"].split("|")]
    try:
        a = analyse(photos, settings, crop=row.get("crop") or None)
    except ImageError:
        return None
    return Analysed(row["query_id"], tuple(r[0] for r in a.rows), a.feats, a.query_signals, row["design_id"].strip())


def _analyse_job(args: tuple[Settings, Path, dict[str, str]]) -> Analysed | None:
    return _analyse(*args)


def _cache_path(settings: Settings, folder: Path, rows: list[dict[str, str]]) -> Path:
    """Where the analyses of these queries are kept: keyed by the query rows and photo files, the engine's
    signal definitions and everything the signals depend on except the fusion model."""
    from kcs_kit.match.context import analysis_stamp
    from kcs_kit.match.engine import ANALYSIS_VERSION

    h = hashlib.sha256(repr((ANALYSIS_VERSION, SIGNALS, QUERY_SIGNALS, analysis_stamp(settings))).encode())
    for row in rows:
        h.update(repr(sorted(row.items())).encode())
        for p in row["image_path"].split("|"):
            st = (folder / p).stat() if (folder / p).exists() else None
            h.update(repr((p, st.st_size, st.st_mtime) if st else (p, None)).encode())
    return settings.workspace / CACHE_DIR / f"analysed-{h.hexdigest()[:16]}.npz"


def _save(path: Path, items: list[Analysed]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    feats = [a.feats.reshape(-1, len(SIGNALS)) for a in items]
    arrays: dict[str, Any] = {
        "query_id": np.array([a.query_id for a in items], dtype=str),
        "truth": np.array([a.truth for a in items], dtype=str),
        "counts": np.array([len(a.design_ids) for a in items], np.int64),
        "design_ids": np.array([d for a in items for d in a.design_ids], dtype=str),
        "feats": np.concatenate(feats) if feats else np.zeros((0, len(SIGNALS))),
        "qfeats": np.stack([a.qfeats for a in items]) if items else np.zeros((0, len(QUERY_SIGNALS))),
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    os.close(fd)
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def _load(path: Path) -> list[Analysed]:
    z = np.load(path, allow_pickle=False)
    bounds = np.concatenate([[0], np.cumsum(z["counts"])])
    ids, feats = z["design_ids"].tolist(), z["feats"]
    return [Analysed(str(q), tuple(ids[bounds[i]:bounds[i + 1]]), feats[bounds[i]:bounds[i + 1]], z["qfeats"][i],
                     str(t)) for i, (q, t) in enumerate(zip(z["query_id"], z["truth"], strict=True))]


def collect(settings: Settings, folder: Path, *, limit: int | None = None,
            tick: Callable[[int], None] | None = None, workers: int = 1, cache: bool = True) -> list[Analysed]:
    """The analysis of every labelled query (unreadable photos left out); ``workers`` processes share the
    queries. Kept in ``<workspace>/models/cache/`` so that a refit does not match the photos again; the
    cache is keyed by the queries, their photo files and everything the signals depend on."""
    rows = read_queries(folder)[:limit]
    path = _cache_path(settings, folder, rows)
    if cache and path.exists():
        if tick:
            tick(len(rows))
        return _load(path)
    jobs = [(settings, folder, row) for row in rows]
    out: list[Analysed | None] = []
    if workers > 1:
        import multiprocessing as mp

        # spawn, not fork: a forked child of a process that already ran torch/ONNX threads can hang
        from kcs_kit.embed._util import one_thread_each

        with mp.get_context("spawn").Pool(workers, one_thread_each) as pool:
            for item in pool.imap(_analyse_job, jobs, chunksize=2):
                out.append(item)
                if tick:
                    tick(1)
    else:
        for job in jobs:
            out.append(_analyse_job(job))
            if tick:
                tick(1)
    done = [a for a in out if a is not None]
    if cache:
        _save(path, done)
    return done


def collect_many(settings: Settings, folders: Sequence[Path], *, limit: int | None = None,
                 progress: Callable[[int], Callable[[int], None]] | None = None, workers: int = 1,
                 cache: bool = True) -> list[Analysed]:
    """``collect`` over several query packages (the first ``limit`` queries of each); ``progress(total)``
    gives the tick of one bar over all of them. With more than one package, query ids are prefixed with
    their package's folder name, since generated packages reuse q00001..."""
    if not folders:
        raise SchemaError("labelled queries: expected at least one query package folder, found none",
                          hint="pass --queries DIR (several times for several packages)")
    names = [Path(f).name for f in folders]
    if len(set(names)) < len(names):
        raise SchemaError(f"labelled queries: expected query packages in folders of distinct names, found {names}",
                          hint="their names tell the queries apart; rename or copy a folder")
    tick = progress(sum(len(read_queries(f)[:limit]) for f in folders)) if progress else None
    items: list[Analysed] = []
    for folder in folders:
        got = collect(settings, Path(folder), limit=limit, tick=tick, workers=workers, cache=cache)
        items += got if len(folders) == 1 else \
            [dataclasses.replace(a, query_id=package_query_id(folder, a.query_id, len(folders))) for a in got]
    return items


def package_query_id(folder: Path | str, query_id: str, packages: int) -> str:
    """A query's id as ``collect_many`` gives it when reading ``packages`` query packages: prefixed with its
    package's folder name when there are several (generated packages reuse q00001...)."""
    return query_id if packages == 1 else f"{Path(folder).name}:{query_id}"


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


def decide(before: Scores, after: Scores, current_version: str, *, force: bool = False) -> tuple[bool, str]:
    """Activate only a model that lowers held-out log-loss without lowering reading accuracy (or, with
    ``force``, in any case, the comparison still reported)."""
    if after.log_loss < before.log_loss and after.reading_accuracy >= before.reading_accuracy:
        return True, "better on the held-out queries: activated"
    why = (f"not better on the held-out queries (log-loss {after.log_loss:.3f} vs {before.log_loss:.3f}, "
           f"reading accuracy {after.reading_accuracy:.1%} vs {before.reading_accuracy:.1%})")
    return (True, f"{why}: activated all the same (--force)") if force else (False, f"{why}: kept {current_version}")


def fit_fusion(settings: Settings, folders: Sequence[Path], *, holdout: float = 0.3,
               limit: int | None = None, progress: Callable[[int], Callable[[int], None]] | None = None,
               workers: int = 1, cache: bool = True, force: bool = False, without: Sequence[str] = ()) -> FitReport:
    """Fit on the query package(s), compare with the active model on the held-out share, activate if better
    (or in any case with ``force``: when the active model was fitted on some of these queries, or on signals
    that have changed since, the comparison favours it; decide with ``kcs model cv`` instead). ``without``:
    signals the fit leaves out (weight 0; still computed and shown as evidence), as ``kcs model cv --ablate``
    measures them."""
    folders = [Path(f) for f in folders]
    rows = collect_many(settings, folders, limit=limit, progress=progress, workers=workers, cache=cache)
    train = [ex for a in rows if (ex := a.example()) is not None and not _held_out(a.query_id, holdout)]
    test = [ex for a in rows if (ex := a.example()) is not None and _held_out(a.query_id, holdout)]
    if len(train) < 20 or len(test) < 10:
        raise SchemaError(f"{', '.join(map(str, folders))}: expected at least 30 usable labelled queries, found "
                          f"{len(train) + len(test)}",
                          hint="generate more with kcs bench photos --n 600")
    current = get_context(settings).fusion
    features = features_without(without)
    new = fit(train, features=features, trained_on=f"{' + '.join(f.name for f in folders)}: {len(train)} queries"
              + "".join(f", without {n}" for n in without))
    before, after = score(current, test), score(new, test)
    better, reason = decide(before, after, current.version, force=force)
    path = str(new.save(settings.workspace / FUSION_FILE)) if better else None
    missed = sum(a.missed for a in rows)
    return FitReport(len(train), len(test), missed, before, after, better, reason, new.version, path)
