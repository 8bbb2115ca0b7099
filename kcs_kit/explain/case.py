"""The case file: open a case from photos, record the officer's decision, reopen, list.

A case is the append-only events of ``case_events`` (``events.py``): ``opened`` (photos, declaration,
officer), ``matched`` (the full match result, with every candidate's raw signal values so that a decision
becomes a training example for ``kcs model recalibrate``), ``decided``, ``notified``, ``reopened``. Photos
are copied into ``<workspace>/cases/<case_id>/`` under names made from their content hash; the uploaded
file name is never used as a path. Every match and decision also goes to the audit log.

Example::

    >>> from kcs_kit.explain.case import decide, open_case
    >>> case = open_case(settings, ["bag.jpg"], declaration_id="56839011", officer="kim")  # doctest: +SKIP
    >>> decide(settings, case.case_id, "confirm", reason="logo and label match").status  # doctest: +SKIP
    'confirmed'
"""

from __future__ import annotations

import io
import math
import os
import re
import secrets
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from kcs_kit.config import Settings
from kcs_kit.errors import ImageError, KcsError, NotFoundError
from kcs_kit.explain import audit
from kcs_kit.explain.events import CaseEvent, append_events, now, read_events, result_from_dict, result_to_dict
from kcs_kit.match.photo import PhotoInput, load_photo
from kcs_kit.match.types import MatchResult

CASE_ID = re.compile(r"^C\d{8}-[0-9a-f]{6}$")
DECISIONS = ("confirm", "reject", "unsure")
STATUS_OF = {"confirm": "confirmed", "reject": "rejected", "unsure": "unsure"}
ALL_CANDIDATES = 1000  # the case keeps every candidate: decisions become training examples over all of them
_EXT = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "TIFF": "tif"}


@dataclass(frozen=True)
class Case:
    case_id: str
    photos: tuple[Path, ...]
    declaration_id: str | None
    result: MatchResult
    events: tuple[CaseEvent, ...]
    status: str  # open | confirmed | rejected | unsure | notified
    decision: str | None  # confirm | reject | unsure (the latest, since the last reopening)
    design_id: str | None  # the confirmed design
    notice_dir: Path | None
    officer: str = ""  # who opened it
    opened_at: datetime | None = None  # when the photos were received (UTC)
    reason: str = ""  # of the latest decision
    crop: str | None = None
    text: str | None = None


def check_case_id(case_id: str) -> str:
    if not isinstance(case_id, str) or not CASE_ID.match(case_id):
        raise NotFoundError(f"case {case_id!r}: expected an ID like C20250514-3f9a2b, found something else",
                            hint="list the cases with `kcs case list`")
    return case_id


def case_dir(settings: Settings, case_id: str) -> Path:
    return settings.workspace / "cases" / check_case_id(case_id)


def _photo_bytes(photo: PhotoInput, i: int) -> tuple[bytes, str]:
    """The photo's bytes and a label for messages (a file's name is only ever a label)."""
    if isinstance(photo, np.ndarray):
        from PIL import Image

        load_photo(photo, name=f"photo {i + 1}")  # shape and type checks
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(photo[..., :3]) if photo.ndim == 3 else photo).save(buf, format="PNG")
        return buf.getvalue(), f"photo {i + 1}"
    if isinstance(photo, str | Path):
        try:
            return Path(photo).read_bytes(), Path(photo).name
        except OSError as exc:
            raise ImageError(f"{Path(photo).name}: cannot read the photo ({exc.strerror})",
                             hint="check the path") from exc
    return bytes(photo), f"photo {i + 1}"


def _store_photos(settings: Settings, case_id: str, photos: Sequence[PhotoInput]) -> list[tuple[Path, str]]:
    """Check every photo, then copy it into the case folder as <sha256[:16]>.<type>; (path, sha256) each."""
    from kcs_kit.match.photo import _sniff

    if not photos:
        raise ImageError("case: expected at least one photo of the item, found none")
    checked = []
    for i, p in enumerate(photos):
        data, label = _photo_bytes(p, i)
        load_photo(data, name=label, max_pixels=settings.max_image_pixels)  # clear error before anything is kept
        checked.append((data, audit.sha256_bytes(data)))
    folder = case_dir(settings, case_id)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for data, digest in checked:
        dest = folder / f"{digest[:16]}.{_EXT[_sniff(data) or 'PNG']}"
        if not dest.exists():
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, dest)
        out.append((dest, digest))
    return out


def training_signals(result: MatchResult) -> dict[str, Any]:
    """Each candidate's raw signal values (every fusion signal, 0 where absent) and the query's signals,
    as the fusion model saw them: what a decision needs to become a training example."""
    from kcs_kit.match.fusion import QUERY_BASE, QUERY_SIGNALS, SIGNALS

    rows = {c.design_id: {s: 0.0 for s in SIGNALS} | {e.signal: e.value for e in c.evidence if e.signal in SIGNALS}
            for c in result.candidates}
    best = {s: max((r.get(s, 0.0) for r in rows.values()), default=0.0) for s in SIGNALS}
    derived = {q: best.get(base, 0.0) for q, base in QUERY_BASE.items()} \
        | {"ocr_words": math.log1p(len(result.ocr_text)) / 3} | dict(result.query_signals)  # the engine's, when given
    return {"signals": list(SIGNALS), "query_signal_names": list(QUERY_SIGNALS),
            "candidates": {d: [r[s] for s in SIGNALS] for d, r in rows.items()},
            "query": [derived.get(s, 0.0) for s in QUERY_SIGNALS]}


def open_case(settings: Settings, photos: Sequence[PhotoInput], *, declaration_id: str | None = None,
              crop: str | None = None, text: str | None = None, officer: str | None = None) -> Case:
    """Open a case: keep the photos, match them, record ``opened`` and ``matched``, audit-log the match."""
    from kcs_kit.match.engine import match

    received = now()
    officer = officer or settings.officer_id
    case_id = f"C{received:%Y%m%d}-{secrets.token_hex(3)}"
    stored = _store_photos(settings, case_id, photos)
    t0 = time.perf_counter()
    result = match([str(p) for p, _d in stored], settings, crop=crop, declaration_id=declaration_id, text=text,
                   top_k=ALL_CANDIDATES)
    machine_s = time.perf_counter() - t0
    rel = [p.relative_to(settings.workspace).as_posix() for p, _d in stored]
    opened = {"photos": rel, "sha256": [d for _p, d in stored], "declaration_id": declaration_id, "crop": crop,
              "text": text, "received_at": received.isoformat()}
    matched = {"result": result_to_dict(result), "training": training_signals(result), "seconds": machine_s}
    append_events(settings, case_id, [("opened", officer, opened), ("matched", officer, matched)])
    audit.append(settings, "match", officer, {
        "case_id": case_id, "photos_sha256": opened["sha256"], "declaration_id": declaration_id, "crop": crop,
        "text": text, "model_version": result.model_version, "rejected": result.rejected,
        "p_no_match": round(result.p_no_match, 6), "latency_ms": round(result.latency_ms, 1),
        "photos_used": result.photos_used,
        "top": [[c.design_id, round(c.probability, 6)] for c in result.candidates[:5]]})
    return get_case(settings, case_id)


def _fold(settings: Settings, case_id: str, events: list[CaseEvent]) -> Case:
    state: dict[str, Any] = {"status": "open", "decision": None, "design_id": None, "notice_dir": None,
                             "reason": ""}
    opened: dict[str, Any] = {}
    result = MatchResult((), 1.0, True, 0.0)
    officer, opened_at = "", None
    for e in events:
        if e.kind == "opened":
            opened, officer = e.payload, e.officer
            opened_at = datetime.fromisoformat(e.payload.get("received_at") or e.at.isoformat())
        elif e.kind == "matched":
            result = result_from_dict(e.payload["result"])
        elif e.kind == "decided":
            state.update(status=STATUS_OF[e.payload["decision"]], decision=e.payload["decision"],
                         design_id=e.payload.get("design_id"), reason=e.payload.get("reason", ""))
        elif e.kind == "notified":
            state.update(status="notified", notice_dir=settings.workspace / e.payload["notice_dir"])
        elif e.kind == "reopened":
            state.update(status="open", decision=None, design_id=None, notice_dir=None,
                         reason=e.payload.get("reason", ""))
    return Case(case_id, tuple(settings.workspace / p for p in opened.get("photos", ())),
                opened.get("declaration_id"), result, tuple(events), officer=officer, opened_at=opened_at,
                crop=opened.get("crop"), text=opened.get("text"), **state)


def get_case(settings: Settings, case_id: str) -> Case:
    """The case as its events say it is now; ``NotFoundError`` for an unknown ID."""
    events = read_events(settings, check_case_id(case_id))
    if not events:
        raise NotFoundError(f"case {case_id!r}: not in the case file of {settings.workspace}",
                            hint="list the cases with `kcs case list`")
    return _fold(settings, case_id, events)


def _design_known(settings: Settings, case: Case, design_id: str) -> None:
    if any(c.design_id == design_id for c in case.result.candidates):
        return
    from kcs_kit.registry.store import get_design

    get_design(settings, design_id)  # NotFoundError names the design


def decide(settings: Settings, case_id: str, decision: Literal["confirm", "reject", "unsure"], *,
           design_id: str | None = None, reason: str = "", officer: str | None = None) -> Case:
    """Record the officer's decision. ``confirm`` means the item copies ``design_id`` (default: the top
    candidate); ``reject``: no registered design matches; ``unsure``: not decided (not used for training)."""
    if decision not in DECISIONS:
        raise KcsError(f"decision {decision!r}: expected one of {', '.join(DECISIONS)}",
                       hint="confirm (the item copies the design), reject (no registered design) or unsure")
    case = get_case(settings, case_id)
    if case.status == "notified":
        raise KcsError(f"case {case_id}: the right holder was already notified; expected an open or decided case",
                       hint=f"reopen it first: kcs case reopen {case_id} --reason ...")
    if decision == "reject" and design_id:
        raise KcsError(f"case {case_id}: a rejection says no registered design matches; found design {design_id!r}",
                       hint="leave out the design, or confirm it instead")
    if decision == "confirm" and design_id is None:
        if not case.result.candidates:
            raise KcsError(f"case {case_id}: nothing to confirm, the match found no candidate",
                           hint="name the design: --design DESIGN_ID")
        design_id = case.result.candidates[0].design_id
    if design_id:
        _design_known(settings, case, design_id)
    cand = next((c for c in case.result.candidates if c.design_id == design_id), None)
    officer = officer or settings.officer_id
    payload = {"decision": decision, "design_id": design_id, "reason": reason,
               "rank": cand.rank if cand else None, "probability": cand.probability if cand else None}
    append_events(settings, case_id, [("decided", officer, payload)])
    audit.append(settings, "decision", officer, {"case_id": case_id, **payload,
                                                 "model_version": case.result.model_version})
    return get_case(settings, case_id)


def reopen(settings: Settings, case_id: str, *, reason: str = "", officer: str | None = None) -> Case:
    """Reopen a decided or notified case (a new decision can follow); the history is kept."""
    case = get_case(settings, case_id)
    if case.status == "open":
        raise KcsError(f"case {case_id}: expected a decided or notified case to reopen, found it open")
    officer = officer or settings.officer_id
    append_events(settings, case_id, [("reopened", officer, {"reason": reason, "was": case.status})])
    audit.append(settings, "reopened", officer, {"case_id": case_id, "reason": reason, "was": case.status})
    return get_case(settings, case_id)


LIST_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(), "opened_at": pl.Datetime("us"), "officer": pl.String(), "declaration_id": pl.String(),
    "top_design": pl.String(), "probability": pl.Float64(), "status": pl.String(), "design_id": pl.String(),
    "notice_path": pl.String()}


def list_cases(settings: Settings, *, status: str | None = None) -> pl.DataFrame:
    """One row per case, newest first: case_id, opened_at, officer, declaration_id, top_design,
    probability, status (open|confirmed|rejected|unsure|notified), design_id (decided), notice_path."""
    allowed = ("open", *STATUS_OF.values(), "notified")
    if status is not None and status not in allowed:
        raise KcsError(f"status {status!r}: expected one of {', '.join(allowed)}")
    by_case: dict[str, list[CaseEvent]] = {}
    for e in read_events(settings):
        by_case.setdefault(e.case_id, []).append(e)
    rows = []
    for case_id, events in by_case.items():
        c = _fold(settings, case_id, events)
        top = c.result.top
        if status is None or c.status == status:
            rows.append({"case_id": case_id, "opened_at": c.opened_at, "officer": c.officer,
                         "declaration_id": c.declaration_id, "top_design": top.design_id if top else None,
                         "probability": top.probability if top else None, "status": c.status,
                         "design_id": c.design_id, "notice_path": str(c.notice_dir) if c.notice_dir else None})
    return pl.DataFrame(rows, schema=LIST_SCHEMA).sort("opened_at", descending=True, nulls_last=True)
