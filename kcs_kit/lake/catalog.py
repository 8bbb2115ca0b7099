"""The DuckDB catalog of a workspace: tables, the declarations view, the writer lock and crash recovery.

Only Parquet files listed in ``lake_files`` belong to the lake; the ``declarations`` view reads exactly
those. An ingest writes its files first and lists them in one DuckDB transaction (the commit), so a crash
at any point leaves the lake as it was; files of an uncommitted ingest are removed by the next writer.

Example::

    >>> from kcs_kit.config import load_settings
    >>> from kcs_kit.lake import catalog
    >>> s = load_settings(workspace="/tmp/kcs-doc", env={})
    >>> with catalog.connect(s) as con:
    ...     con.execute("SELECT count(*) FROM declarations").fetchone()[0] >= 0
    True
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl

from kcs_kit.config import Settings
from kcs_kit.errors import LakeBusyError
from kcs_kit.lake.schema import empty_select

DDL = [
    """CREATE TABLE IF NOT EXISTS lake_ingests (
        ingest_id VARCHAR PRIMARY KEY, source_path VARCHAR, source_sha256 VARCHAR, source_bytes BIGINT,
        source_format VARCHAR, encoding VARCHAR, mapping VARCHAR, rows_read BIGINT, rows_ingested BIGINT,
        rows_quarantined BIGINT, rows_duplicate BIGINT, started_at TIMESTAMP, committed_at TIMESTAMP,
        seconds DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS lake_files (
        path VARCHAR PRIMARY KEY, ingest_id VARCHAR, year SMALLINT, month TINYINT, rows BIGINT, bytes BIGINT)""",
    """CREATE TABLE IF NOT EXISTS quarantine (
        ingest_id VARCHAR, source_path VARCHAR, line BIGINT, declaration_id VARCHAR, kind VARCHAR,
        reason VARCHAR, raw VARCHAR)""",
]
STAGING = "_staging"
LOCK_NAME = ".writer.lock"


@contextlib.contextmanager
def writer_lock(settings: Settings, *, timeout_s: float | None = None) -> Iterator[None]:
    """Exclusive lock of the workspace's lake for one writer process (fcntl; released if it dies)."""
    settings.lake_dir.mkdir(parents=True, exist_ok=True)
    path = settings.lake_dir / LOCK_NAME
    timeout_s = settings.lock_timeout_s if timeout_s is None else timeout_s
    with open(path, "a+") as fh:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    fh.seek(0)
                    holder = fh.read().strip() or "unknown"
                    raise LakeBusyError(
                        f"{settings.lake_dir}: another writer (pid {holder}) holds the lake lock; "
                        f"waited {timeout_s:.0f} s",
                        hint="wait for it to finish, or raise KCS_LOCK_TIMEOUT_S",
                    ) from None
                time.sleep(0.1)
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)


def _open(settings: Settings, read_only: bool) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + settings.lock_timeout_s
    while True:
        try:
            con = duckdb.connect(str(settings.db_path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise LakeBusyError(
                    f"{settings.db_path}: cannot open the catalog ({exc})",
                    hint="another kcs process is writing; retry when it is done",
                ) from exc
            time.sleep(0.1)
    con.execute(f"SET threads = {int(settings.duckdb_threads)}")
    con.execute("SET memory_limit = ?", [settings.duckdb_memory_limit])
    return con


def query_pl(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> pl.DataFrame:
    """Run parameterised SQL and return a polars DataFrame (user values only ever as parameters)."""
    rel = con.sql(sql, params=params) if params else con.sql(sql)
    out = pl.from_arrow(rel.to_arrow_table())
    assert isinstance(out, pl.DataFrame)
    return out


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in DDL:
        con.execute(ddl)


def refresh_view(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """(Re)create the ``declarations`` view over exactly the committed files (absolute paths)."""
    rows = con.execute("SELECT path FROM lake_files ORDER BY path").fetchall()
    if rows:
        paths = [str(settings.lake_dir / p) for (p,) in rows]
        listing = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
        sql = f"SELECT * FROM read_parquet({listing}, hive_partitioning = false)"
    else:
        sql = empty_select()
    con.execute(f"CREATE OR REPLACE VIEW declarations AS {sql}")


def _view_is_stale(con: duckdb.DuckDBPyConnection, settings: Settings) -> bool:
    # fetchall, not fetchone: duckdb 2.0 keeps a half-read result open and then refuses register()/sql()
    rows = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'declarations'").fetchall()
    if not rows:
        return True
    first = con.execute("SELECT path FROM lake_files LIMIT 1").fetchall()
    return bool(first) and str(settings.lake_dir / first[0][0]) not in rows[0][0]


def recover(con: duckdb.DuckDBPyConnection, settings: Settings) -> list[Path]:
    """Remove what a crashed writer left: staging folders and Parquet files no commit lists.

    Call only while holding ``writer_lock``. Returns the removed paths.
    """
    removed: list[Path] = []
    staging = settings.lake_dir / STAGING
    if staging.exists():
        shutil.rmtree(staging)
        removed.append(staging)
    committed = {p for (p,) in con.execute("SELECT path FROM lake_files").fetchall()}
    decl = settings.lake_dir / "declarations"
    if decl.exists():
        for f in decl.rglob("*.parquet"):
            if f.relative_to(settings.lake_dir).as_posix() not in committed:
                f.unlink()
                removed.append(f)
    return removed


@contextlib.contextmanager
def connect(settings: Settings, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the workspace catalog (created on first use). Writers also get crash recovery.

    Read-only connections need an existing catalog; they see the lake as of the last commit.
    """
    settings.lake_dir.mkdir(parents=True, exist_ok=True)
    if read_only and not settings.db_path.exists():
        with connect(settings):  # create the empty catalog once
            pass
    con = _open(settings, read_only)
    try:
        if not read_only:
            ensure_schema(con)
            try:
                with writer_lock(settings, timeout_s=0):
                    recover(con, settings)
            except LakeBusyError:
                pass  # an ingest is running in another process: leave its staging alone
            if _view_is_stale(con, settings):
                refresh_view(con, settings)
        yield con
    finally:
        con.close()
