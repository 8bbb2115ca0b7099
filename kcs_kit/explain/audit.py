"""The audit log: every match, decision, notice and recalibration, hash-chained so that edits show.

One JSON object per line in ``<workspace>/audit/audit.jsonl``::

    {"seq": 3, "at": "2025-05-14T09:12:03.120411+00:00", "kind": "decision", "actor": "kim",
     "payload": {...}, "prev": "<hash of record 2>", "hash": "<sha256 of this record without 'hash'>"}

The hash covers the canonical JSON (sorted keys, no spaces) of the record without its ``hash`` field, and
``prev`` links it to the record before, so editing, deleting, reordering or inserting a record breaks the
chain. ``audit/HEAD`` holds the last sequence number and hash, so cutting records off the end shows too.
Writers take an exclusive lock and fsync before they return.

Example::

    >>> from kcs_kit.explain import audit
    >>> audit.append(settings, "decision", "kim", {"case_id": "C20250514-3f9a2b"})  # doctest: +SKIP
    >>> audit.verify(settings).ok  # doctest: +SKIP
    True
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from kcs_kit.config import Settings
from kcs_kit.errors import KcsError

GENESIS = "0" * 64
KINDS = ("match", "case_opened", "decision", "reopened", "notice", "recalibration")


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: str
    kind: str
    actor: str
    payload: dict[str, Any]
    prev: str
    hash: str


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    records: int  # records read that chain correctly (all of them when ok)
    first_bad: int | None  # 1-based line of the first record that breaks the chain
    reason: str
    path: str = ""


def audit_path(settings: Settings) -> Path:
    return settings.workspace / "audit" / "audit.jsonl"


def _head_path(settings: Settings) -> Path:
    return settings.workspace / "audit" / "HEAD"


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != "hash"})).hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def _locked(settings: Settings) -> Iterator[None]:
    path = audit_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _last(settings: Settings) -> tuple[int, str]:
    head = _head_path(settings)
    if head.exists():
        seq, _sep, digest = head.read_text(encoding="utf-8").strip().partition(" ")
        return int(seq), digest
    return 0, GENESIS


def _write_fsync(path: Path, data: bytes, mode: str) -> None:
    with open(path, mode) as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def append(settings: Settings, kind: str, actor: str | None, payload: dict[str, Any]) -> AuditRecord:
    """Append one record (kind, who, what) to the chain; returns it with its hash."""
    if kind not in KINDS:
        raise KcsError(f"audit kind {kind!r}: expected one of {', '.join(KINDS)}")
    with _locked(settings):
        seq, prev = _last(settings)
        rec: dict[str, Any] = {"seq": seq + 1, "at": datetime.now(UTC).isoformat(), "kind": kind,
                               "actor": actor or settings.officer_id, "payload": payload, "prev": prev}
        rec = json.loads(canonical(rec))  # what is hashed is exactly what is read back
        rec["hash"] = record_hash(rec)
        _write_fsync(audit_path(settings), canonical(rec) + b"\n", "ab")
        tmp = _head_path(settings).with_suffix(".tmp")
        _write_fsync(tmp, f"{rec['seq']} {rec['hash']}\n".encode(), "wb")
        os.replace(tmp, _head_path(settings))
    return AuditRecord(**rec)


def _bad(n: int, good: int, reason: str, path: Path) -> AuditReport:
    return AuditReport(False, good, n, f"{path} line {n}: {reason}", str(path))


def verify(settings: Settings) -> AuditReport:
    """Check the whole chain: each record's hash, its link to the one before, its sequence number, and
    the last record against ``audit/HEAD``. Names the first line that fails."""
    path = audit_path(settings)
    if not path.exists():
        head = _last(settings)
        if head[0]:
            return AuditReport(False, 0, 1, f"{path}: missing, but HEAD says {head[0]} records", str(path))
        return AuditReport(True, 0, None, "no audit records yet", str(path))
    prev, n = GENESIS, 0
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):  # noqa: B007 - n is used after the loop
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                return _bad(n, n - 1, "not valid JSON (edited or cut)", path)
            if not isinstance(rec, dict) or rec.get("seq") != n:
                return _bad(n, n - 1, f"expected record {n}, found {rec.get('seq') if isinstance(rec, dict) else rec!r}"
                            " (a record was deleted, inserted or moved)", path)
            if rec.get("prev") != prev:
                return _bad(n, n - 1, "does not link to the record before it (deleted or reordered)", path)
            if rec.get("hash") != record_hash(rec):
                return _bad(n, n - 1, "its content does not match its hash (the record was edited)", path)
            prev = rec["hash"]
    seq, digest = _last(settings)
    if (seq, digest) != (n, prev):
        return _bad(n + 1, n, f"the log ends at record {n} but HEAD says {seq} (records cut off the end)", path)
    return AuditReport(True, n, None, f"{n} records, chain intact", str(path))


def read_log(settings: Settings, *, kind: str | None = None, limit: int | None = None) -> pl.DataFrame:
    """Audit records as a DataFrame (seq, at, kind, actor, summary, hash), newest first."""
    path = audit_path(settings)
    rows = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if kind is None or rec.get("kind") == kind:
                rows.append({"seq": rec.get("seq"), "at": rec.get("at"), "kind": rec.get("kind"),
                             "actor": rec.get("actor"), "summary": _summary(rec.get("payload") or {}),
                             "hash": str(rec.get("hash", ""))[:16]})
    rows.reverse()
    schema = {"seq": pl.Int64, "at": pl.String, "kind": pl.String, "actor": pl.String, "summary": pl.String,
              "hash": pl.String}
    return pl.DataFrame(rows[:limit] if limit else rows, schema=schema)


def _summary(payload: dict[str, Any]) -> str:
    keys = ("case_id", "decision", "design_id", "top", "probability", "model_version", "activated")
    return ", ".join(f"{k}={payload[k]}" for k in keys if k in payload)
