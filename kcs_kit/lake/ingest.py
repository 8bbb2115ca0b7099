"""Ingest clearance records (CSV or Parquet) into the lake: validate, quarantine, deduplicate, commit.

One file is one ingest and one atomic commit:

1. under the lake's writer lock, skip the file if its SHA-256 was committed before (idempotent);
2. stream it in bounded batches, validate each (``validate.py``) and write typed rows into
   ``_staging/<ingest>/year=Y/month=M/part-<ingest>.parquet``, rejected rows into a staged quarantine;
3. find duplicate declaration IDs, within the file and against the lake, exactly (DuckDB) and set them aside;
4. move the files into ``declarations/`` and, in one DuckDB transaction, list them in ``lake_files``,
   record the ingest and its quarantine and refresh the view. Before that transaction nothing is visible;
   files of a crashed ingest are removed by the next writer (``catalog.recover``).

Example::

    >>> from kcs_kit.config import load_settings
    >>> from kcs_kit.lake.ingest import ingest
    >>> s = load_settings(workspace="/tmp/kcs-doc", env={})
    >>> [r.skipped or r.ingested > 0 for r in ingest([s.data_dir / "customs-declarations/df_syn_valid_eng.csv"], s)]
    [True]
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from kcs_kit.config import Settings
from kcs_kit.errors import IngestError, SchemaError
from kcs_kit.lake import catalog
from kcs_kit.lake.readers import iter_batches, open_source
from kcs_kit.lake.schema import resolve_columns
from kcs_kit.lake.validate import validate

Progress = Callable[[int], None]
ROW_GROUP_ROWS = 65_536


@dataclass(frozen=True)
class IngestResult:
    """Outcome of one file. ``skipped``: the same bytes were ingested before, nothing was added."""

    source: str
    ingest_id: str | None
    rows_read: int
    ingested: int
    quarantined: int
    duplicates: int
    skipped: bool
    seconds: float

    @property
    def rows_per_s(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


class _PartitionWriter:
    """One Parquet writer per (year, month) of one ingest.

    Rows are buffered per partition until ``ROW_GROUP_ROWS`` (large row groups make scans ~1.5x faster than
    one small group per batch) and encoded by two background threads (pyarrow frees the GIL) while the
    next batch is validated; a lock per partition keeps each file's writes in order, and at most two
    batches are in flight, so memory stays bounded.
    """

    def __init__(self, root: Path, ingest_id: str) -> None:
        self.root, self.ingest_id = root, ingest_id
        self.writers: dict[tuple[int, int], pq.ParquetWriter] = {}
        self.locks: dict[tuple[int, int], threading.Lock] = {}
        self.buffers: dict[tuple[int, int], list[pa.Table]] = {}
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.pending: list[list[Future]] = []

    def path(self, year: int, month: int) -> Path:
        return self.root / f"year={year}" / f"month={month:02d}" / f"part-{self.ingest_id}.parquet"

    def write(self, df: pl.DataFrame) -> None:
        while len(self.pending) >= 2:
            for f in self.pending.pop(0):
                f.result()
        futures = []
        for (y, m), part in df.partition_by(["year", "month"], as_dict=True).items():
            key = (int(y), int(m))
            table = part.to_arrow()
            if key not in self.writers:
                self.path(*key).parent.mkdir(parents=True, exist_ok=True)
                self.writers[key] = pq.ParquetWriter(self.path(*key), table.schema, compression="snappy")
                self.locks[key] = threading.Lock()
            buf = self.buffers.setdefault(key, [])
            buf.append(table)
            if sum(t.num_rows for t in buf) >= ROW_GROUP_ROWS:
                futures.append(self.pool.submit(self._write_part, key, self.buffers.pop(key)))
        self.pending.append(futures)

    def _write_part(self, key: tuple[int, int], tables: list[pa.Table]) -> None:
        with self.locks[key]:
            self.writers[key].write_table(pa.concat_tables(tables), row_group_size=ROW_GROUP_ROWS * 2)

    def close(self) -> None:
        try:
            for batch in self.pending:
                for f in batch:
                    f.result()
            for key, tables in self.buffers.items():
                self._write_part(key, tables)
        finally:
            self.pool.shutdown(wait=True)
            for w in self.writers.values():
                w.close()


def _stream(src, resolved, staging: Path, ingest_id: str, settings: Settings, errors: str,
            progress: Progress | None) -> tuple[int, _PartitionWriter, Path]:
    """Validate every batch into staged partitions and a staged quarantine file. Returns rows read."""
    writer = _PartitionWriter(staging / "declarations", ingest_id)
    qpath = staging / "quarantine.parquet"
    qwriter: pq.ParquetWriter | None = None
    rows_read = 0
    rename = {src_name: canonical for canonical, src_name in resolved.items()}
    try:
        for table, lines in iter_batches(src, list(resolved.values()), settings.ingest_batch_bytes):
            df = pl.from_arrow(table)
            assert isinstance(df, pl.DataFrame)
            df = df.rename(rename)
            accepted, rejected = validate(df, pl.Series(lines), ingest_id)
            n_malformed = len(src.malformed)
            if n_malformed:
                rejected = pl.concat([rejected, _malformed_frame(src.malformed[:n_malformed])])
                del src.malformed[:n_malformed]
            if errors == "raise" and rejected.height:
                first = rejected.sort("line").row(0, named=True)
                raise SchemaError(f"{src.path} line {first['line']}: {first['reason']}",
                                  hint="fix the row, or ingest with --errors quarantine to set bad rows aside")
            writer.write(accepted)
            if rejected.height:
                qt = rejected.to_arrow()
                qwriter = qwriter or pq.ParquetWriter(qpath, qt.schema)
                qwriter.write_table(qt)
            rows_read += table.num_rows + n_malformed
            if progress:
                progress(table.num_rows)
    finally:
        writer.close()
        if qwriter:
            qwriter.close()
    return rows_read, writer, qpath


def _malformed_frame(malformed: list[tuple[int, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "line": [m[0] for m in malformed],
            "declaration_id": [None] * len(malformed),
            "kind": ["malformed"] * len(malformed),
            "reason": [m[1] for m in malformed],
            "raw": [json.dumps(m[2], ensure_ascii=False) for m in malformed],
        },
        schema={"line": pl.Int64, "declaration_id": pl.String, "kind": pl.String, "reason": pl.String,
                "raw": pl.String},
    )


def _dedupe(writer: _PartitionWriter, lake_paths: list[str], settings: Settings, staging: Path) -> pl.DataFrame:
    """Remove rows whose declaration_id repeats an earlier line or is already in the lake (exact)."""
    new = [str(writer.path(*k)) for k in writer.writers]
    empty = pl.DataFrame(schema={"line": pl.Int64, "declaration_id": pl.String, "kind": pl.String,
                                 "reason": pl.String, "raw": pl.String})
    if not new:
        return empty
    con = duckdb.connect()
    try:
        con.execute(f"SET threads = {int(settings.duckdb_threads)}")
        con.execute("SET memory_limit = ?", [settings.duckdb_memory_limit])
        con.execute("SET temp_directory = ?", [str(staging / "tmp")])
        # source_line is unique within one ingest, so (declaration_id, source_line) identifies a row
        con.execute("CREATE TEMP TABLE n AS SELECT declaration_id, source_line FROM read_parquet(?)", [new])
        old = "SELECT NULL::VARCHAR AS declaration_id WHERE false"
        if lake_paths:
            old = "SELECT DISTINCT declaration_id FROM read_parquet($lake)"
        con.execute(
            f"""CREATE TEMP TABLE dup AS
            WITH firsts AS (SELECT declaration_id, min(source_line) AS first_line FROM n
                            GROUP BY declaration_id HAVING count(*) > 1),
                 old AS ({old})
            SELECT n.*, CASE WHEN o.declaration_id IS NOT NULL
                             THEN 'declaration_id ' || n.declaration_id || ' is already in the lake'
                             ELSE 'declaration_id ' || n.declaration_id || ' repeats line ' || f.first_line END
                        AS reason
            FROM n LEFT JOIN firsts f USING (declaration_id) LEFT JOIN old o USING (declaration_id)
            WHERE o.declaration_id IS NOT NULL OR n.source_line > f.first_line""",
            {"lake": lake_paths} if lake_paths else {},
        )
        if not con.execute("SELECT count(*) FROM dup").fetchall()[0][0]:
            return empty
        out = catalog.query_pl(
            con,
            """SELECT d.source_line AS line, d.declaration_id, 'duplicate' AS kind, d.reason,
                      CAST(to_json(t) AS VARCHAR) AS raw
               FROM dup d JOIN read_parquet(?) t ON t.source_line = d.source_line""",
            [new],
        )
        files = [f for (f,) in con.execute("SELECT DISTINCT filename FROM read_parquet(?, filename = true) "
                                           "WHERE source_line IN (SELECT source_line FROM dup)", [new]).fetchall()]
        for f in files:  # rewrite only the partitions that held duplicates
            tmp = f + ".tmp"
            con.execute(f"COPY (SELECT * FROM read_parquet('{_q(f)}') WHERE source_line NOT IN "
                        f"(SELECT source_line FROM dup)) TO '{_q(tmp)}' (FORMAT parquet)")
            os.replace(tmp, f)
        return out
    finally:
        con.close()


def _q(path: str) -> str:
    return path.replace("'", "''")


def _commit(settings: Settings, writer: _PartitionWriter, qpath: Path, dup: pl.DataFrame, record: dict) -> int:
    """Move the staged files into the lake and list them in one transaction. Returns rows ingested."""
    lake = settings.lake_dir
    moved: list[tuple[str, int, int, int, int]] = []
    for (year, month) in writer.writers:
        src = writer.path(year, month)
        rows = pq.ParquetFile(src).metadata.num_rows
        if rows == 0:
            continue
        rel = Path("declarations") / f"year={year}" / f"month={month:02d}" / src.name
        (lake / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, lake / rel)
        moved.append((rel.as_posix(), year, month, rows, (lake / rel).stat().st_size))
    ingested = sum(m[3] for m in moved)
    with catalog.connect(settings) as con:
        con.execute("BEGIN TRANSACTION")
        for rel_path, year, month, rows, size in moved:
            con.execute("INSERT INTO lake_files VALUES (?, ?, ?, ?, ?, ?)",
                        [rel_path, record["ingest_id"], year, month, rows, size])
        q_cols = "ingest_id, source_path, line, declaration_id, kind, reason, raw"
        if qpath.exists():
            con.execute(f"INSERT INTO quarantine SELECT ?, ?, line, declaration_id, kind, reason, raw "
                        f"FROM read_parquet('{_q(str(qpath))}')", [record["ingest_id"], record["source_path"]])
        if dup.height:
            con.register("dup_frame", dup.to_arrow())
            con.execute(f"INSERT INTO quarantine ({q_cols}) SELECT ?, ?, line, declaration_id, kind, reason, raw "
                        "FROM dup_frame", [record["ingest_id"], record["source_path"]])
            con.unregister("dup_frame")
        record = {**record, "rows_ingested": ingested, "committed_at": datetime.now()}
        cols = list(record)
        con.execute(f"INSERT INTO lake_ingests ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    [record[c] for c in cols])
        catalog.refresh_view(con, settings)
        con.execute("COMMIT")
    return ingested


def ingest_file(path: str | Path, settings: Settings, *, mapping: dict[str, str] | None = None,
                encoding: str = "auto", errors: str = "quarantine",
                progress: Callable[[int], Progress] | None = None) -> IngestResult:
    """Ingest one CSV/Parquet file. ``progress(total_rows_estimate)`` returns a per-batch callback."""
    if errors not in ("raise", "quarantine"):
        raise IngestError(f"errors={errors!r}: expected 'raise' or 'quarantine'")
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: no such file", hint="check the path; a folder is not accepted")
    t0, started = time.perf_counter(), datetime.now()
    src = open_source(path, encoding=encoding)
    resolved = resolve_columns(str(path), src.header, mapping)
    size = path.stat().st_size
    with catalog.writer_lock(settings):
        with catalog.connect(settings) as con:
            catalog.recover(con, settings)
            same_size = dict(con.execute("SELECT source_sha256, ingest_id FROM lake_ingests WHERE source_bytes = ?",
                                         [size]).fetchall())
            lake_paths = [str(settings.lake_dir / p) for (p,) in con.execute("SELECT path FROM lake_files")
                          .fetchall()]
        # Only a file of the same size can have been ingested before: hash it first then; otherwise hash
        # in a thread while streaming (hashlib frees the GIL) and record the digest at commit.
        hasher = ThreadPoolExecutor(max_workers=1)
        digest_f = hasher.submit(sha256_file, path)
        hasher.shutdown(wait=False)
        if same_size and digest_f.result() in same_size:
            prior = same_size[digest_f.result()]
            return IngestResult(str(path), prior, 0, 0, 0, 0, True, time.perf_counter() - t0)
        ingest_id = f"{datetime.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        staging = settings.lake_dir / catalog.STAGING / ingest_id
        staging.mkdir(parents=True)
        try:
            cb = progress(src.est_rows) if progress else None
            rows_read, writer, qpath = _stream(src, resolved, staging, ingest_id, settings, errors, cb)
            dup = _dedupe(writer, lake_paths, settings, staging)
            if errors == "raise" and dup.height:
                first = dup.sort("line").row(0, named=True)
                raise SchemaError(f"{path} line {first['line']}: {first['reason']}",
                                  hint="remove the duplicate, or ingest with --errors quarantine")
            quarantined = pq.ParquetFile(qpath).metadata.num_rows if qpath.exists() else 0
            record = {
                "ingest_id": ingest_id, "source_path": str(path.resolve()), "source_sha256": digest_f.result(),
                "source_bytes": size, "source_format": src.format, "encoding": src.encoding,
                "mapping": json.dumps(resolved, ensure_ascii=False), "rows_read": rows_read,
                "rows_quarantined": quarantined, "rows_duplicate": dup.height,
                "started_at": started,
                "seconds": time.perf_counter() - t0,
            }
            ingested = _commit(settings, writer, qpath, dup, record)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return IngestResult(str(path), ingest_id, rows_read, ingested, quarantined, dup.height, False,
                        time.perf_counter() - t0)


def ingest(paths: Iterable[str | Path], settings: Settings, **kw) -> list[IngestResult]:
    """Ingest several files, each in its own atomic commit (see ``ingest_file``)."""
    return [ingest_file(p, settings, **kw) for p in paths]
