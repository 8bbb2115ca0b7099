"""``kcs index build|status|verify``: keep the vector store and the feature store in step with the registry.

Incremental and resumable. Each active design (registered, within its validity) gets its local features
saved in the feature store, one global vector per view upserted into the image collection
(ids ``<design_id>#<view>``) and one text vector (title, description, right holder) in the text
collection; then a row in ``index_entries`` (DuckDB) records the design's content hash per collection.
A design is redone when its hash changed; withdrawn or expired designs are removed. A build killed at any
point is finished by the next one: upserts are idempotent and ``index_entries`` is written last.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from kcs_kit.config import Settings
from kcs_kit.embed.local import Codebook, LocalEncoder, LocalFeatures, extract_features, learn_codebook, root_sift
from kcs_kit.errors import IndexNotBuiltError
from kcs_kit.index import coarse
from kcs_kit.index.bow import build_bow, load_bow
from kcs_kit.index.features import DesignFeatures, FeatureStore
from kcs_kit.index.marknet import build_vectors, load_vectors
from kcs_kit.index.shape import build_shapes, load_shapes
from kcs_kit.lake import catalog

CODEBOOK = Path("models") / "local-vlad.npz"
FEATURE_VARIANT = "dark"  # features of dark-on-light renders; queries are also read inverted
CODEBOOK_SAMPLE = 1500
BATCH = 64
ENTRIES_DDL = """CREATE TABLE IF NOT EXISTS index_entries (
    collection VARCHAR, design_id VARCHAR, content_sha256 VARCHAR, views INTEGER, indexed_at TIMESTAMP)"""
Progress = Callable[[int], Callable[[int], None]]


@dataclass(frozen=True)
class BuildResult:
    active: int
    indexed: int
    removed: int
    unchanged: int
    seconds: float
    image_collection: str
    text_collection: str | None
    codebook_learned: bool

    @property
    def designs_per_s(self) -> float:
        return self.indexed / self.seconds if self.seconds > 0 else 0.0


def active_designs(settings: Settings, today: date | None = None) -> pl.DataFrame:
    """Designs matching may return, with their dark-on-light render paths (absolute) in view order."""
    sql = """SELECT d.design_id, d.title, d.right_holder, coalesce(d.description, '') AS description,
                    d.content_sha256, coalesce(d.territory, '') AS territory,
                    coalesce(array_to_string(d.classes, '|'), '') AS classes,
                    coalesce(d.registration_no, '') AS registration_no, list(i.path ORDER BY i.view) AS paths
             FROM designs d JOIN design_images i USING (design_id)
             WHERE i.variant = $variant AND d.status = 'registered'
               AND (d.valid_from IS NULL OR d.valid_from <= $today) AND (d.valid_to IS NULL OR d.valid_to >= $today)
             GROUP BY ALL ORDER BY d.design_id"""
    with catalog.connect(settings, read_only=True) as con:
        has = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'designs'").fetchall()[0][0]
        if not has:
            raise IndexNotBuiltError(f"{settings.workspace}: no design registry yet",
                                     hint="run `kcs registry import DIR` first (the demo: data/simple-icons)")
        df = catalog.query_pl(con, sql, {"variant": FEATURE_VARIANT, "today": today or date.today()})
    root = str(settings.workspace)
    return df.with_columns(pl.col("paths").list.eval(pl.lit(root + "/") + pl.element()))


def _features_job(args: tuple[str, list[str], int, int]) -> tuple[str, list[LocalFeatures]]:
    import cv2

    design_id, paths, max_side, n_features = args
    views = []
    for p in paths:
        gray = cv2.imread(p, cv2.IMREAD_GRAYSCALE)
        if gray is None:
            raise IndexNotBuiltError(f"design {design_id!r}: render {p} is missing or unreadable",
                                     hint="re-import the registry package")
        views.append(extract_features(gray, max_side=max_side, n_features=n_features))
    return design_id, views


def _pool(workers: int):
    return mp.get_context("spawn").Pool(workers) if workers > 1 else None


def _features(rows: Iterable[tuple[str, list[str]]], pool, max_side: int, n_features: int
              ) -> Iterator[tuple[str, list[LocalFeatures]]]:
    jobs = [(d, list(p), max_side, n_features) for d, p in rows]
    return pool.imap(_features_job, jobs, chunksize=8) if pool else map(_features_job, jobs)


def load_encoder(settings: Settings) -> LocalEncoder:
    return LocalEncoder(Codebook.load(settings.registry_dir / CODEBOOK))


def _encoder(settings: Settings, active: pl.DataFrame, pool, log: Callable[[str], None]
             ) -> tuple[LocalEncoder, bool, dict[str, list[LocalFeatures]]]:
    path = settings.registry_dir / CODEBOOK
    if path.exists():
        return load_encoder(settings), False, {}
    n = min(CODEBOOK_SAMPLE, active.height)
    log(f"learning the local-feature codebook from {n:,} designs")
    sample = active.sample(n, seed=settings.seed) if n < active.height else active
    max_side, n_features = 320, 400
    rows = zip(sample["design_id"], sample["paths"], strict=True)
    cache = dict(_features(rows, pool, max_side, n_features))
    codebook = learn_codebook([v[0].descriptors for v in cache.values()], seed=settings.seed)
    codebook.save(path)
    return LocalEncoder(codebook, max_side=max_side, n_features=n_features), True, cache


def _entries(settings: Settings, collection: str) -> dict[str, str]:
    with catalog.writer_lock(settings), catalog.connect(settings) as con:
        con.execute(ENTRIES_DDL)
        rows = con.execute("SELECT design_id, content_sha256 FROM index_entries WHERE collection = ?",
                           [collection]).fetchall()
    return dict(rows)


def _record(settings: Settings, collection: str, rows: list[tuple[str, str, int]]) -> None:
    now = datetime.now()
    with catalog.writer_lock(settings), catalog.connect(settings) as con:
        con.execute(ENTRIES_DDL)
        con.execute("BEGIN TRANSACTION")
        ids = [r[0] for r in rows]
        con.execute("DELETE FROM index_entries WHERE collection = ? AND list_contains(?, design_id)", [collection, ids])
        con.executemany("INSERT INTO index_entries VALUES (?, ?, ?, ?, ?)",
                        [(collection, d, sha, views, now) for d, sha, views in rows])
        con.execute("COMMIT")


def _forget(settings: Settings, collection: str, design_ids: list[str]) -> None:
    if design_ids:
        with catalog.writer_lock(settings), catalog.connect(settings) as con:
            con.execute(ENTRIES_DDL)
            con.execute("DELETE FROM index_entries WHERE collection = ? AND list_contains(?, design_id)",
                        [collection, design_ids])


def _meta(row: dict, view: int) -> dict:
    return {"design_id": row["design_id"], "view": view, "right_holder": row["right_holder"] or "",
            "title": row["title"] or "", "status": "registered", "territory": row["territory"],
            "classes": row["classes"], "registration_no": row["registration_no"],
            "content_sha256": row["content_sha256"]}


def _sync_removed(settings: Settings, ix, collection: str, active_ids: set[str], entries: dict[str, str],
                  store: FeatureStore | None) -> int:
    """Delete designs no longer active (withdrawn, expired, gone) from the collection and the stores."""
    stored = ix.ids()
    gone = sorted(({i.split("#", 1)[0] for i in stored} | set(entries)) - active_ids)
    if gone:
        gone_set = set(gone)
        ix.delete([i for i in stored if i.split("#", 1)[0] in gone_set])
        _forget(settings, collection, gone)
        for d in gone:
            if store:
                store.delete(d)
    return len(gone)


def _todo(active: pl.DataFrame, entries: dict[str, str], stored_ids: set[str]) -> pl.DataFrame:
    present = {i.split("#", 1)[0] for i in stored_ids}
    keep = [entries.get(d) != sha or d not in present
            for d, sha in zip(active["design_id"], active["content_sha256"], strict=True)]
    return active.filter(pl.Series(keep, dtype=pl.Boolean))


def _index_images(settings: Settings, todo: pl.DataFrame, enc: LocalEncoder, ix, pool,
                  cache: dict[str, list[LocalFeatures]], tick: Callable[[int], None] | None) -> None:
    store = FeatureStore(settings)
    for start in range(0, todo.height, BATCH):
        part = todo.slice(start, BATCH)
        rows = {r["design_id"]: r for r in part.iter_rows(named=True)}
        need = [(d, r["paths"]) for d, r in rows.items() if d not in cache]
        got = dict(_features(need, pool, enc.max_side, enc.n_features))
        ids, vecs, metas, done = [], [], [], []
        for d, row in rows.items():
            views = cache.pop(d, None) or got[d]
            store.save(DesignFeatures(d, row["content_sha256"], enc.version, tuple(views)))
            for v, f in enumerate(views):
                ids.append(f"{d}#{v}")
                vecs.append(enc.global_vector(f))
                metas.append(_meta(row, v))
            done.append((d, row["content_sha256"], len(views)))
        ix.upsert(ids, np.stack(vecs), metas)
        _record(settings, ix.name, done)
        if tick:
            tick(len(done))


def _index_texts(settings: Settings, todo: pl.DataFrame, ix, enc, tick: Callable[[int], None] | None) -> None:
    for start in range(0, todo.height, 256):
        part = todo.slice(start, 256)
        texts = [f"{t}. {d} ({h})".strip() for t, d, h in
                 zip(part["title"], part["description"], part["right_holder"], strict=True)]
        rows = list(part.iter_rows(named=True))
        ix.upsert(list(part["design_id"]), enc.encode_texts(texts), [_meta(r, 0) for r in rows])
        _record(settings, ix.name, [(r["design_id"], r["content_sha256"], 1) for r in rows])
        if tick:
            tick(len(rows))


def build_index(settings: Settings, *, text: bool = True, workers: int = 2, progress: Progress | None = None,
                log: Callable[[str], None] = lambda _m: None) -> BuildResult:
    """Bring the image (and text) collections and the feature store in step with the active registry."""
    from kcs_kit.index.chroma import open_index

    t0 = time.perf_counter()
    active = active_designs(settings)
    active_ids = set(active["design_id"])
    pool = _pool(workers)
    try:
        enc, learned, cache = _encoder(settings, active, pool, log)
        ix = open_index(settings, family="image", encoder_name=enc.name, encoder_version=enc.version, dim=enc.dim)
        entries = _entries(settings, ix.name)
        removed = _sync_removed(settings, ix, ix.name, active_ids, entries, FeatureStore(settings))
        todo = _todo(active, entries, set(ix.ids()))
        log(f"image index {ix.name}: {todo.height:,} to index, {active.height - todo.height:,} up to date, "
            f"{removed:,} removed")
        _index_images(settings, todo, enc, ix, pool, cache, progress(todo.height) if progress and todo.height
                      else None)
        if todo.height or removed or load_bow(settings) is None:
            log("building the visual-word inverted file")
            store = FeatureStore(settings)
            build_bow(settings, {d: [root_sift(v.descriptors) for v in store.load(d).views if len(v)]
                                 for d in sorted(active_ids)})
        build_vectors(settings, active, progress=progress, log=log)
        build_shapes(settings, active, progress=progress, log=log)
        if active.height > coarse.EXACT_MAX:  # learn the inverted lists now, not at the first match
            log(f"inverted lists of the marknet vectors and silhouettes ({active.height:,} designs)")
            load_vectors(settings)
            load_shapes(settings)
    finally:
        if pool:
            pool.close()
            pool.join()
    seconds = time.perf_counter() - t0
    text_name = _build_text(settings, active, active_ids, progress, log) if text else None
    return BuildResult(active.height, todo.height, removed, active.height - todo.height, seconds, ix.name,
                       text_name, learned)


def _build_text(settings: Settings, active: pl.DataFrame, active_ids: set[str], progress: Progress | None,
                log: Callable[[str], None]) -> str:
    from kcs_kit.embed.base import get
    from kcs_kit.index.chroma import open_index

    enc = get("text", "minilm", settings)
    ix = open_index(settings, family="text", encoder_name=enc.name, encoder_version=enc.version, dim=enc.dim)
    entries = _entries(settings, ix.name)
    _sync_removed(settings, ix, ix.name, active_ids, entries, None)
    todo = _todo(active, entries, set(ix.ids()))
    log(f"text index {ix.name}: {todo.height:,} to index")
    _index_texts(settings, todo, ix, enc, progress(todo.height) if progress and todo.height else None)
    if not enc.exported():  # queries then encode OCR words in ONNX Runtime, without torch (embed/text.py)
        log(f"text model: exporting {enc.version} to ONNX for matching")
        try:
            enc.export_onnx()
        except Exception as exc:  # e.g. a text_model_dir whose architecture the exporter cannot trace
            log(f"text model: not exported ({exc}); matching encodes texts with sentence-transformers")
    return ix.name
