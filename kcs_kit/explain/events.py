"""Case events in the workspace catalog (DuckDB): an append-only table, and match results as JSON.

Table ``case_events(case_id, seq, kind, at, officer, payload)``: one row per event (opened, matched,
decided, notified, reopened); rows are only ever inserted. ``at`` is UTC; ``payload`` is JSON.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kcs_kit.config import Settings
from kcs_kit.lake import catalog
from kcs_kit.match.types import Candidate, Evidence, MatchResult

EVENT_KINDS = ("opened", "matched", "decided", "notified", "reopened")
DDL = """CREATE TABLE IF NOT EXISTS case_events (
    case_id VARCHAR, seq INTEGER, kind VARCHAR, "at" TIMESTAMP, officer VARCHAR, payload VARCHAR)"""


@dataclass(frozen=True)
class CaseEvent:
    case_id: str
    seq: int
    kind: str  # one of EVENT_KINDS
    at: datetime  # UTC, naive
    officer: str
    payload: dict[str, Any]


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _has_table(con) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'case_events'")
                .fetchall()[0][0])


def append_events(settings: Settings, case_id: str, events: list[tuple[str, str, dict[str, Any]]]) -> list[CaseEvent]:
    """Insert (kind, officer, payload) events for one case in one transaction, numbered after the last."""
    out = []
    with catalog.writer_lock(settings), catalog.connect(settings) as con:
        con.execute(DDL)
        con.execute("BEGIN TRANSACTION")
        seq = con.execute("SELECT coalesce(max(seq), 0) FROM case_events WHERE case_id = ?", [case_id]).fetchall()[0][0]
        for kind, officer, payload in events:
            seq += 1
            at = now()
            con.execute("INSERT INTO case_events VALUES (?, ?, ?, ?, ?, ?)",
                        [case_id, seq, kind, at, officer, json.dumps(payload, ensure_ascii=False, default=str)])
            out.append(CaseEvent(case_id, seq, kind, at, officer, payload))
        con.execute("COMMIT")
    return out


def read_events(settings: Settings, case_id: str | None = None) -> list[CaseEvent]:
    """Events of one case (or of all cases), in order."""
    with catalog.connect(settings, read_only=True) as con:
        if not _has_table(con):
            return []
        where, params = ("WHERE case_id = ?", [case_id]) if case_id else ("", [])
        rows = con.execute(f'SELECT case_id, seq, kind, "at", officer, payload FROM case_events {where} '
                           'ORDER BY case_id, seq', params).fetchall()
    return [CaseEvent(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]


def result_to_dict(result: MatchResult) -> dict[str, Any]:
    return dataclasses.asdict(result)


def result_from_dict(d: dict[str, Any]) -> MatchResult:
    def cand(c: dict[str, Any]) -> Candidate:
        c = dict(c)
        c["evidence"] = tuple(Evidence(**e) for e in c.get("evidence", ()))
        c["region"] = tuple(c["region"]) if c.get("region") else None
        c["corners"] = tuple(tuple(p) for p in c["corners"]) if c.get("corners") else None
        return Candidate(**c)

    d = dict(d)
    d["candidates"] = tuple(cand(c) for c in d.get("candidates", ()))
    d["photo_sizes"] = tuple(tuple(s) for s in d.get("photo_sizes", ()))
    for key in ("ocr_text", "notes"):
        d[key] = tuple(d.get(key, ()))
    d["query_signals"] = tuple((str(k), float(v)) for k, v in d.get("query_signals", ()))
    d["stage_ms"] = tuple((str(k), float(v)) for k, v in d.get("stage_ms", ()))
    return MatchResult(**d)
