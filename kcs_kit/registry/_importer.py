"""Incremental, atomic import of a registry package (``store.import_package`` calls ``run_import``).

Under the lake's writer lock:

1. read and validate designs.csv (``package.py``); hash each row with its image bytes;
2. skip designs whose hash equals the stored ``content_sha256`` (unchanged: nothing is touched);
3. render every view of each new or changed design into ``registry/_staging/<import>/<design_id>/``
   (two worker processes for large imports); a design with any bad view is set aside whole;
4. commit in batches: swap each design's staged folder into ``registry/images/<design_id>/`` (the old one
   is kept aside), then write its rows in one DuckDB transaction; on failure the swap is undone.
   A crash between swap and commit is repaired by the next import (``_recover``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from kcs_kit.config import Settings
from kcs_kit.errors import ImageError, KcsError, SchemaError
from kcs_kit.lake import catalog
from kcs_kit.registry import store
from kcs_kit.registry.images import Render, render_files
from kcs_kit.registry.package import DesignRow, Rejected, read_package

STAGING = "_staging"
IMAGES = "images"
BATCH = 256
POOL_MIN_DESIGNS = 48
WORKERS = 2


@dataclass(frozen=True)
class ImportResult:
    """Outcome of one import. ``quarantined``: designs set aside, with line and reason."""

    package: str
    import_id: str
    added: int
    updated: int
    unchanged: int
    quarantined: tuple[Rejected, ...]
    seconds: float


@dataclass(frozen=True)
class _Job:
    design_id: str
    views: tuple[Path, ...]
    hex: str | None
    out_dir: Path
    final_dir: Path
    max_image_pixels: int


def content_hash(row: DesignRow) -> str:
    """SHA-256 over the row's values and the bytes of each of its image files."""
    h = hashlib.sha256(json.dumps(row.record(), sort_keys=True, ensure_ascii=False).encode())
    for path in row.views:
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def run_import(root: Path, settings: Settings, *, errors: str = "quarantine",
               progress: Callable[[int], Callable[[int], None]] | None = None) -> ImportResult:
    if errors not in ("raise", "quarantine"):
        raise KcsError(f"errors={errors!r}: expected 'raise' or 'quarantine'")
    t0, started = time.perf_counter(), datetime.now()
    pkg = read_package(root)
    import_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    tick = progress(len(pkg.rows) + len(pkg.rejected)) if progress else (lambda _n: None)
    rejected = list(pkg.rejected)
    tick(len(rejected))
    with catalog.writer_lock(settings):
        _recover(settings)
        with store.connect(settings) as con:
            current = {r[0]: r[1:] for r in con.execute(
                "SELECT design_id, content_sha256, version, status, created_at FROM designs").fetchall()}
        todo, hashes, unchanged = _plan(pkg.rows, current, rejected, tick)
        _fail_if(errors, rejected, pkg.csv_path)
        staging = settings.registry_dir / STAGING / import_id
        try:
            rendered = _render_all(todo, staging, settings, rejected, tick)
            _fail_if(errors, rejected, pkg.csv_path)
            added, updated = _commit_all(settings, pkg, import_id, rendered, hashes, current, staging)
            seconds = time.perf_counter() - t0
            _record(settings, pkg, import_id, (added, updated, unchanged), rejected, started, seconds)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            with contextlib.suppress(OSError):
                staging.parent.rmdir()  # only when empty
    rejected.sort(key=lambda r: r.line)
    return ImportResult(str(pkg.root), import_id, added, updated, unchanged, tuple(rejected), seconds)


def _fail_if(errors: str, rejected: list[Rejected], csv_path: Path) -> None:
    if errors == "raise" and rejected:
        first = min(rejected, key=lambda r: r.line)
        more = f" (and {len(rejected) - 1} more)" if len(rejected) > 1 else ""
        raise SchemaError(f"{first.reason}{more}; nothing was imported",
                          hint=f"fix {csv_path} or its images, or import with --errors quarantine")


def _plan(rows, current, rejected, tick) -> tuple[list[DesignRow], dict[str, str], int]:
    """Split rows into changed ones (to render) and unchanged ones; unreadable files are rejected."""
    todo, hashes, unchanged = [], {}, 0
    for row in rows:
        try:
            digest = content_hash(row)
        except OSError as exc:
            rejected.append(Rejected(row.line, row.design_id, f"designs.csv line {row.line}: design "
                                     f"{row.design_id}: cannot read an image file ({exc})"))
            tick(1)
            continue
        if row.design_id in current and current[row.design_id][0] == digest:
            unchanged += 1
            tick(1)
        else:
            todo.append(row)
            hashes[row.design_id] = digest
    return todo, hashes, unchanged


def _render_job(job: _Job) -> tuple[str, list[Render] | None, str | None]:
    try:
        renders = render_files(job.design_id, list(job.views), job.out_dir, hex=job.hex,
                               max_image_pixels=job.max_image_pixels, final_dir=job.final_dir)
        return job.design_id, renders, None
    except ImageError as exc:
        shutil.rmtree(job.out_dir, ignore_errors=True)
        return job.design_id, None, exc.message


def _render_all(todo: list[DesignRow], staging: Path, settings: Settings, rejected: list[Rejected],
                tick: Callable[[int], None]) -> list[tuple[DesignRow, list[Render]]]:
    """Render every changed design into the staging folder; designs with a bad view are rejected."""
    images = settings.registry_dir / IMAGES
    jobs = [_Job(r.design_id, r.views, r.hex, staging / r.design_id, images / r.design_id,
                 settings.max_image_pixels) for r in todo]
    by_id = {r.design_id: r for r in todo}
    done: dict[str, list[Render]] = {}
    if len(jobs) >= POOL_MIN_DESIGNS:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(WORKERS) as pool:
            results = list(_collect(pool.imap_unordered(_render_job, jobs, chunksize=4), tick))
    else:
        results = list(_collect(map(_render_job, jobs), tick))
    for design_id, renders, reason in results:
        row = by_id[design_id]
        if renders is None:
            rejected.append(Rejected(row.line, design_id, f"designs.csv line {row.line}: design {design_id}: {reason}"))
        else:
            done[design_id] = renders
    return [(r, done[r.design_id]) for r in todo if r.design_id in done]


def _collect(results, tick):
    for item in results:
        tick(1)
        yield item


def _commit_all(settings: Settings, pkg, import_id: str, rendered, hashes, current, staging: Path) -> tuple[int, int]:
    added = updated = 0
    for i in range(0, len(rendered), BATCH):
        batch = rendered[i:i + BATCH]
        _commit_batch(settings, pkg, batch, hashes, current, staging)
        n_new = sum(1 for row, _ in batch if row.design_id not in current)
        added, updated = added + n_new, updated + len(batch) - n_new
    return added, updated


def _swap_in(settings: Settings, design_id: str, staging: Path) -> None:
    """Move the staged renders of a design into place, keeping the previous folder in staging/_old."""
    final = settings.registry_dir / IMAGES / design_id
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        (staging / "_old").mkdir(parents=True, exist_ok=True)
        os.replace(final, staging / "_old" / design_id)
    os.replace(staging / design_id, final)


def _swap_back(settings: Settings, design_id: str, staging: Path) -> None:
    final = settings.registry_dir / IMAGES / design_id
    shutil.rmtree(final, ignore_errors=True)
    if (staging / "_old" / design_id).exists():
        os.replace(staging / "_old" / design_id, final)


def _commit_batch(settings: Settings, pkg, batch, hashes, current, staging: Path) -> None:
    ids = [row.design_id for row, _ in batch]
    swapped: list[str] = []
    try:
        for design_id in ids:
            _swap_in(settings, design_id, staging)
            swapped.append(design_id)
        with store.connect(settings) as con:
            con.execute("BEGIN TRANSACTION")
            _write_rows(con, settings, pkg, batch, hashes, current)
            con.execute("COMMIT")
    except BaseException:
        for design_id in swapped:
            _swap_back(settings, design_id, staging)
        raise
    shutil.rmtree(staging / "_old", ignore_errors=True)


def _change(old_status: str | None, new_status: str) -> str:
    if old_status is None:
        return "added"
    if old_status == new_status:
        return "updated"
    return "reactivated" if new_status == "registered" else new_status


_S, _I32, _TS = pl.String(), pl.Int32(), pl.Datetime("us")
_DESIGN_SCHEMA = pl.Schema({
    "design_id": _S, "title": _S, "right_holder": _S, "right_holder_contact": _S, "registration_no": _S,
    "right_type": _S, "classes": pl.List(_S), "territory": _S, "status": _S, "status_reason": _S,
    "valid_from": pl.Date(), "valid_to": pl.Date(), "hs6": pl.List(_S), "genuine_price_krw": pl.Float64(),
    "description": _S, "hex": _S, "metadata": _S, "image_path": _S, "package": _S, "version": _I32,
    "content_sha256": _S, "created_at": _TS, "updated_at": _TS,
})
_IMAGE_SCHEMA = pl.Schema({"design_id": _S, "view": pl.Int16(), "variant": _S, "path": _S, "sha256": _S,
                           "width": _I32, "height": _I32, "source_path": _S})
_VERSION_SCHEMA = pl.Schema({"design_id": _S, "version": _I32, "change": _S, "at": _TS, "row": _S, "package": _S,
                             "reason": _S})


def _frames(settings: Settings, pkg, batch, hashes, current) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The batch's rows for designs, design_images and design_versions."""
    now, package = datetime.now(), str(pkg.root)
    designs, images, versions = [], [], []
    for row, renders in batch:
        old = current.get(row.design_id)
        version = old[1] + 1 if old else 1
        rec = row.record()
        designs.append({**rec, "valid_from": row.valid_from, "valid_to": row.valid_to, "status_reason": None,
                        "metadata": json.dumps(rec["metadata"], ensure_ascii=False), "package": package,
                        "version": version, "content_sha256": hashes[row.design_id],
                        "created_at": old[3] if old else now, "updated_at": now})
        sources = [p.relative_to(pkg.root).as_posix() for p in row.views]
        images += [{"design_id": r.design_id, "view": r.view, "variant": r.variant,
                    "path": r.path.relative_to(settings.workspace).as_posix(), "sha256": r.sha256,
                    "width": r.width, "height": r.height, "source_path": sources[r.view]} for r in renders]
        versions.append({"design_id": row.design_id, "version": version,
                         "change": _change(old[2] if old else None, row.status), "at": now,
                         "row": json.dumps(rec, ensure_ascii=False), "package": package, "reason": None})
    return (pl.DataFrame(designs, schema=_DESIGN_SCHEMA), pl.DataFrame(images, schema=_IMAGE_SCHEMA),
            pl.DataFrame(versions, schema=_VERSION_SCHEMA))


def _write_rows(con, settings: Settings, pkg, batch, hashes, current) -> None:
    """Replace the batch's rows in designs and design_images and append to design_versions."""
    frames = dict(zip(("new_designs", "new_images", "new_versions"),
                      _frames(settings, pkg, batch, hashes, current), strict=True))
    for name, frame in frames.items():
        con.register(name, frame.to_arrow())
    con.execute("DELETE FROM designs WHERE design_id IN (SELECT design_id FROM new_designs)")
    con.execute("INSERT INTO designs BY NAME SELECT * FROM new_designs")
    con.execute("DELETE FROM design_images WHERE design_id IN (SELECT design_id FROM new_designs)")
    con.execute("INSERT INTO design_images BY NAME SELECT * FROM new_images")
    con.execute("INSERT INTO design_versions BY NAME SELECT * FROM new_versions")
    for name in frames:
        con.unregister(name)


def _record(settings: Settings, pkg, import_id: str, counts: tuple[int, int, int], rejected: list[Rejected],
            started: datetime, seconds: float) -> None:
    with store.connect(settings) as con:
        con.execute("BEGIN TRANSACTION")
        if rejected:
            con.executemany("INSERT INTO registry_quarantine VALUES (?, ?, ?, ?, ?, ?)",
                            [[import_id, str(pkg.root), r.design_id, r.line, r.reason, started] for r in rejected])
        con.execute("INSERT INTO registry_imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [import_id, str(pkg.root), pkg.encoding, *counts, len(rejected), started, seconds])
        con.execute("COMMIT")


def _recover(settings: Settings) -> None:
    """Repair what a crashed import left (call under the writer lock): keep renders the catalog lists,
    restore kept-aside folders whose new renders were never committed, and drop the staging area."""
    root = settings.registry_dir / STAGING
    if not root.exists():
        return
    with store.connect(settings) as con:
        listed = dict(con.execute("SELECT path, sha256 FROM design_images").fetchall())
        known = {i for (i,) in con.execute("SELECT design_id FROM designs").fetchall()}
    images = settings.registry_dir / IMAGES
    for old in root.glob("*/_old/*"):
        final = images / old.name
        if not _matches(final, listed, settings):
            shutil.rmtree(final, ignore_errors=True)
            os.replace(old, final)
    if images.exists():
        for folder in images.iterdir():
            if folder.name not in known:
                shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)


def _matches(folder: Path, listed: dict[str, str], settings: Settings) -> bool:
    files = sorted(folder.glob("*.png")) if folder.exists() else []
    if not files:
        return False
    for f in files:
        rel = f.relative_to(settings.workspace).as_posix()
        if listed.get(rel) != hashlib.sha256(f.read_bytes()).hexdigest():
            return False
    return True
