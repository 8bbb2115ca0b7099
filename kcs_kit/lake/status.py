"""What is in the lake: totals, partitions, ingests and the quarantine."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from kcs_kit.config import Settings
from kcs_kit.lake import catalog


@dataclass(frozen=True)
class LakeStatus:
    workspace: str
    declarations: int
    first_day: str | None
    last_day: str | None
    partitions: int
    files: int
    bytes: int
    ingests: int
    quarantined: int
    duplicates: int
    goods_lines: int


def lake_status(settings: Settings) -> LakeStatus:
    """Summary of the workspace's lake (creates an empty catalog on first use)."""
    with catalog.connect(settings, read_only=True) as con:
        n, first, last = con.execute(
            "SELECT count(*), min(declared_on)::VARCHAR, max(declared_on)::VARCHAR FROM declarations").fetchall()[0]
        parts, files, size = con.execute(
            "SELECT count(DISTINCT (year, month)), count(*), coalesce(sum(bytes), 0) FROM lake_files").fetchall()[0]
        ingests = con.execute("SELECT count(*) FROM lake_ingests").fetchall()[0][0]
        q, d = con.execute("SELECT count(*) FILTER (kind <> 'duplicate'), count(*) FILTER (kind = 'duplicate') "
                           "FROM quarantine").fetchall()[0]
        has_goods = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'goods_lines'").fetchall()[0][0]
        goods = con.execute("SELECT count(*) FROM goods_lines").fetchall()[0][0] if has_goods else 0
    return LakeStatus(str(settings.workspace), n, first, last, parts, files, size, ingests, q, d, goods)


def quarantine_rows(settings: Settings, *, limit: int = 50, ingest_id: str | None = None) -> pl.DataFrame:
    """Rows set aside, newest ingest first, with file, line and reason."""
    sql = ("SELECT q.ingest_id, q.source_path, q.line, q.declaration_id, q.kind, q.reason, q.raw "
           "FROM quarantine q JOIN lake_ingests i USING (ingest_id) "
           "WHERE ($ingest IS NULL OR q.ingest_id = $ingest) "
           "ORDER BY i.committed_at DESC, q.line LIMIT $limit")
    with catalog.connect(settings, read_only=True) as con:
        return catalog.query_pl(con, sql, {"ingest": ingest_id, "limit": int(limit)})


def ingests(settings: Settings) -> pl.DataFrame:
    """One row per committed ingest."""
    with catalog.connect(settings, read_only=True) as con:
        return catalog.query_pl(con, "SELECT ingest_id, source_path, rows_read, rows_ingested, rows_quarantined, "
                                     "rows_duplicate, round(seconds, 2) AS seconds, committed_at "
                                     "FROM lake_ingests ORDER BY committed_at")
