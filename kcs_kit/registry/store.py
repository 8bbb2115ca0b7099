"""The design registry in the workspace catalog (the lake's DuckDB file): current state, renders, history.

Tables: ``designs`` (one row per design_id: current state, ``version``, ``status``, ``content_sha256``),
``design_images`` (renders, paths relative to the workspace), ``design_versions`` (append-only history:
added | updated | withdrawn | expired | reactivated), ``registry_quarantine`` (designs set aside by an
import, with reasons) and ``registry_imports`` (one row per import). Writers hold the lake's writer lock.

Example::

    >>> from kcs_kit.config import load_settings
    >>> from kcs_kit.registry import store
    >>> s = load_settings(workspace="/tmp/kcs-doc-registry", env={})
    >>> r = store.import_package("data/simple-icons", s)  # doctest: +SKIP
    >>> "nike" in store.active_design_ids(s)  # doctest: +SKIP
    True
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from kcs_kit.config import Settings
from kcs_kit.errors import KcsError, NotFoundError
from kcs_kit.lake import catalog

if TYPE_CHECKING:
    import polars as pl

    from kcs_kit.registry._importer import ImportResult

DDL = [
    """CREATE TABLE IF NOT EXISTS designs (
        design_id VARCHAR, title VARCHAR, right_holder VARCHAR, right_holder_contact VARCHAR,
        registration_no VARCHAR, right_type VARCHAR, classes VARCHAR[], territory VARCHAR, status VARCHAR,
        status_reason VARCHAR, valid_from DATE, valid_to DATE, hs6 VARCHAR[], genuine_price_krw DOUBLE,
        description VARCHAR, hex VARCHAR, metadata VARCHAR, image_path VARCHAR, package VARCHAR,
        version INTEGER, content_sha256 VARCHAR, created_at TIMESTAMP, updated_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS design_images (
        design_id VARCHAR, view SMALLINT, variant VARCHAR, path VARCHAR, sha256 VARCHAR, width INTEGER,
        height INTEGER, source_path VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS design_versions (
        design_id VARCHAR, version INTEGER, change VARCHAR, "at" TIMESTAMP, "row" VARCHAR, package VARCHAR,
        reason VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS registry_quarantine (
        import_id VARCHAR, package VARCHAR, design_id VARCHAR, line BIGINT, reason VARCHAR, "at" TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS registry_imports (
        import_id VARCHAR, package VARCHAR, encoding VARCHAR, added INTEGER, updated INTEGER, unchanged INTEGER,
        quarantined INTEGER, started_at TIMESTAMP, seconds DOUBLE)""",
]
DESIGN_COLUMNS = ("design_id", "title", "right_holder", "right_holder_contact", "registration_no", "right_type",
                  "classes", "territory", "status", "status_reason", "valid_from", "valid_to", "hs6",
                  "genuine_price_krw", "description", "hex", "metadata", "image_path", "package", "version",
                  "content_sha256", "created_at", "updated_at")


@dataclass(frozen=True)
class DesignImage:
    """One render of a design. ``path`` is absolute; ``source_path`` is the package file it came from."""

    view: int
    variant: str
    path: Path
    sha256: str
    width: int
    height: int
    source_path: str


@dataclass(frozen=True)
class DesignVersion:
    """One entry of a design's history; ``row`` is the design as it was at that version."""

    version: int
    change: str
    at: datetime
    package: str | None
    reason: str | None
    row: dict[str, Any]


@dataclass(frozen=True)
class Design:
    """A design's current state with its renders and its history (oldest first)."""

    design_id: str
    title: str
    right_holder: str
    right_holder_contact: str | None
    registration_no: str | None
    right_type: str | None
    classes: tuple[str, ...]
    territory: str | None
    status: str
    status_reason: str | None
    valid_from: date | None
    valid_to: date | None
    hs6: tuple[str, ...]
    genuine_price_krw: float | None
    description: str | None
    hex: str | None
    metadata: dict[str, Any]
    image_path: str
    package: str
    version: int
    content_sha256: str
    created_at: datetime
    updated_at: datetime
    images: tuple[DesignImage, ...]
    versions: tuple[DesignVersion, ...]

    def render(self, variant: str = "colour") -> Path:
        """The path of the first view's ``variant`` render (else of the first render stored): the picture of the
        design that sheets, explanations and widgets show."""
        return next((i.path for i in self.images if i.view == 0 and i.variant == variant), self.images[0].path)


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple | None:
    """The first row or None (fetchall: duckdb 2.0 refuses other work while a result is half read)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in DDL:
        con.execute(ddl)


@contextlib.contextmanager
def connect(settings: Settings, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A catalog connection whose registry tables exist (created on first use)."""
    if read_only and settings.db_path.exists():
        with catalog.connect(settings, read_only=True) as con:
            if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'designs'").fetchall()[0][0]:
                yield con
                return
    if read_only:
        with catalog.connect(settings) as con:
            ensure_schema(con)
        with catalog.connect(settings, read_only=True) as con:
            yield con
        return
    with catalog.connect(settings) as con:
        ensure_schema(con)
        yield con


def import_package(root: str | Path, settings: Settings, *, errors: str = "quarantine",
                   progress: Callable[[int], Callable[[int], None]] | None = None) -> ImportResult:
    """Import a registry package folder (``DIR/designs.csv``); incremental, one design at a time or not at all.

    ``errors="quarantine"`` sets bad designs aside (returned and kept in ``registry_quarantine``) and imports
    the rest; ``errors="raise"`` imports nothing when any design is bad. ``progress(total)`` returns a
    callback that is called with the number of designs done. See ``_importer.py`` for the steps.
    """
    from kcs_kit.registry._importer import run_import

    return run_import(Path(root), settings, errors=errors, progress=progress)


def list_designs(settings: Settings, *, status: str | None = None, right_holder: str | None = None,
                 query: str | None = None, limit: int = 50) -> pl.DataFrame:
    """Designs as a polars DataFrame, newest change first. ``right_holder`` and ``query`` match
    case-insensitive substrings (query: design_id, title, right holder, registration number)."""
    where: list[str] = ["true"]
    params: list[object] = []
    if status:
        where.append("status = ?")
        params.append(status)
    if right_holder:
        where.append("right_holder ILIKE ? ESCAPE '\\'")
        params.append(f"%{_like(right_holder)}%")
    if query:
        where.append("(design_id || ' ' || title || ' ' || right_holder || ' ' || coalesce(registration_no, '')) "
                     "ILIKE ? ESCAPE '\\'")
        params.append(f"%{_like(query)}%")
    params.append(max(0, int(limit)))
    with connect(settings, read_only=True) as con:
        return catalog.query_pl(
            con,
            f"""SELECT design_id, title, right_holder, registration_no, right_type, status, valid_from, valid_to,
                       classes, hs6,
                       version, (SELECT count(DISTINCT view) FROM design_images i WHERE i.design_id = d.design_id)
                       AS views, updated_at
                FROM designs d WHERE {' AND '.join(where)} ORDER BY updated_at DESC, design_id LIMIT ?""",
            params,
        )


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def get_design(settings: Settings, design_id: str) -> Design:
    """One design with its renders and versions; ``NotFoundError`` when the registry has no such ID."""
    with connect(settings, read_only=True) as con:
        row = _one(con, f"SELECT {', '.join(DESIGN_COLUMNS)} FROM designs WHERE design_id = ?", [design_id])
        if row is None:
            raise NotFoundError(f"design {design_id!r}: expected a design_id in the registry, found none",
                                hint="list designs with `kcs registry list --query TEXT`")
        images = con.execute("SELECT view, variant, path, sha256, width, height, source_path FROM design_images "
                             "WHERE design_id = ? ORDER BY view, variant", [design_id]).fetchall()
        versions = con.execute('SELECT version, change, "at", package, reason, "row" FROM design_versions '
                               "WHERE design_id = ? ORDER BY version", [design_id]).fetchall()
    d = dict(zip(DESIGN_COLUMNS, row, strict=True))
    d.update(classes=tuple(d["classes"] or ()), hs6=tuple(d["hs6"] or ()), metadata=json.loads(d["metadata"] or "{}"))
    return Design(
        **d,
        images=tuple(DesignImage(v, var, settings.workspace / p, sha, w, h, src) for v, var, p, sha, w, h, src
                     in images),
        versions=tuple(DesignVersion(v, c, at, pkg, reason, json.loads(r)) for v, c, at, pkg, reason, r
                       in versions),
    )


def _set_status(con: duckdb.DuckDBPyConnection, design_id: str, status: str, change: str, reason: str | None,
                now: datetime) -> int:
    """Change one design's status and append a version row (inside the caller's transaction)."""
    con.execute("UPDATE designs SET status = ?, status_reason = ?, version = version + 1, updated_at = ? "
                "WHERE design_id = ?", [status, reason, now, design_id])
    version, package = con.execute("SELECT version, package FROM designs WHERE design_id = ?",
                                   [design_id]).fetchall()[0]
    row = _one(con, 'SELECT "row" FROM design_versions WHERE design_id = ? ORDER BY version DESC LIMIT 1',
               [design_id])
    record = {**json.loads(row[0]), "status": status} if row else {"status": status}
    con.execute("INSERT INTO design_versions VALUES (?, ?, ?, ?, ?, ?, ?)",
                [design_id, version, change, now, json.dumps(record, ensure_ascii=False), package, reason])
    return version


def withdraw(settings: Settings, design_id: str, *, reason: str) -> Design:
    """Mark a design withdrawn (no longer returned by matching) and record it as a new version."""
    if not reason or not reason.strip():
        raise KcsError(f"withdraw {design_id!r}: expected a reason, found none",
                       hint="say why, e.g. --reason 'registration cancelled by KIPO'")
    with catalog.writer_lock(settings), connect(settings) as con:
        found = _one(con, "SELECT status FROM designs WHERE design_id = ?", [design_id])
        if found is None:
            raise NotFoundError(f"design {design_id!r}: expected a design_id in the registry, found none",
                                hint="list designs with `kcs registry list --query TEXT`")
        if found[0] != "withdrawn":
            con.execute("BEGIN TRANSACTION")
            _set_status(con, design_id, "withdrawn", "withdrawn", reason.strip(), datetime.now())
            con.execute("COMMIT")
    return get_design(settings, design_id)


def expire_due(settings: Settings, today: date | None = None) -> list[str]:
    """Set status ``expired`` on registered designs whose valid_to is before ``today``; returns their IDs."""
    today = today or date.today()
    with catalog.writer_lock(settings), connect(settings) as con:
        due = [i for (i,) in con.execute("SELECT design_id FROM designs WHERE status = 'registered' AND "
                                         "valid_to < ? ORDER BY design_id", [today]).fetchall()]
        if due:
            now = datetime.now()
            con.execute("BEGIN TRANSACTION")
            for design_id in due:
                _set_status(con, design_id, "expired", "expired", f"valid_to before {today}", now)
            con.execute("COMMIT")
    return due


def active_design_ids(settings: Settings, today: date | None = None) -> set[str]:
    """IDs that matching may return: status registered and ``today`` within [valid_from, valid_to]."""
    today = today or date.today()
    with connect(settings, read_only=True) as con:
        rows = con.execute("SELECT design_id FROM designs WHERE status = 'registered' AND "
                           "(valid_from IS NULL OR valid_from <= ?) AND (valid_to IS NULL OR valid_to >= ?)",
                           [today, today]).fetchall()
    return {r[0] for r in rows}
