"""The query package and predictions files of ``kcs eval`` (DESIGN.md, "Query package", "Predictions").

``read_queries`` validates ``DIR/queries.csv`` (UTF-8 or CP949): the required columns, unique query IDs,
photo paths that stay inside DIR and exist, and crops inside the first photo; every bad row is listed in one
``SchemaError`` with its line, column and value. ``write_predictions`` / ``read_predictions`` handle the
predictions JSONL (one record per query, written atomically).

Example::

    >>> from kcs_kit.bench.queries import read_queries
    >>> queries = read_queries("bench/queries")  # doctest: +SKIP
    >>> queries[0].photos[0].is_absolute()  # doctest: +SKIP
    True
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kcs_kit.bench.metrics import Prediction
from kcs_kit.csvio import read_records
from kcs_kit.errors import SchemaError

REQUIRED = ("query_id", "image_path", "design_id")
MAX_LISTED = 10

@dataclass(frozen=True)
class Query:
    """One row of queries.csv: ``photos`` are absolute paths inside the package; ``design_id`` None = the
    right answer is a rejection; ``crop`` is (x0, y0, x1, y1) on the first photo."""

    line: int
    query_id: str
    photos: tuple[Path, ...]
    design_id: str | None
    declaration_id: str | None = None
    crop: tuple[int, int, int, int] | None = None
    kind: str | None = None


def _photos(value: str, root: Path) -> tuple[Path, ...]:
    parts = [p.strip() for p in value.split("|")]
    if not value or any(not p for p in parts):
        raise ValueError("expected relative photo paths separated by '|', found an empty entry")
    out = []
    for rel in parts:
        if Path(rel).is_absolute() or rel.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", rel) \
                or ".." in re.split(r"[\\/]", rel):
            raise ValueError(f"photo {rel!r}: expected a path inside the package folder (relative, no '..')")
        path = (root / rel).resolve()
        if not path.is_relative_to(root):
            raise ValueError(f"photo {rel!r} leads outside the package folder through a symbolic link")
        if not path.is_file():
            raise ValueError(f"photo {rel!r} not found in {root}")
        out.append(path)
    return tuple(out)


def _upright_size(path: Path) -> tuple[int, int]:
    """(width, height) after EXIF rotation, from the header only."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            w, h = im.size
            turned = im.getexif().get(0x0112) in (5, 6, 7, 8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"photo {path.name!r} is not a readable image ({exc})") from exc
    return (h, w) if turned else (w, h)


def _crop(value: str, first_photo: Path) -> tuple[int, int, int, int]:
    parts = value.replace(" ", "").split(",")
    try:
        x0, y0, x1, y1 = (int(p) for p in parts)
    except ValueError:
        raise ValueError(f"crop {value!r}: expected four integers x0,y0,x1,y1 in pixels") from None
    w, h = _upright_size(first_photo)
    if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
        raise ValueError(f"crop {value!r}: expected 0 <= x0 < x1 <= {w} and 0 <= y0 < y1 <= {h} (the first "
                         f"photo is {w} x {h} after EXIF rotation)")
    return x0, y0, x1, y1


def _row(raw: dict[str, str], line: int, root: Path) -> Query:
    """One validated row; ValueError("column <name>: ...") otherwise."""
    if not raw["query_id"]:
        raise ValueError("column query_id: is empty; expected a unique ID")
    try:
        photos = _photos(raw["image_path"], root)
    except ValueError as exc:
        raise ValueError(f"column image_path: {exc}") from None
    crop = None
    if raw.get("crop"):
        try:
            crop = _crop(raw["crop"], photos[0])
        except ValueError as exc:
            raise ValueError(f"column crop: {exc}") from None
    return Query(line, raw["query_id"], photos, raw["design_id"] or None, raw.get("declaration_id") or None,
                 crop, raw.get("kind") or None)


def read_queries(root: str | Path) -> tuple[Query, ...]:
    """Parse and validate ``root/queries.csv``; raises one SchemaError listing every bad row."""
    root = Path(root).expanduser().resolve()
    csv_path = root / "queries.csv"
    if not csv_path.is_file():
        raise SchemaError(f"{root}: expected a query package folder with queries.csv, found none",
                          hint="point --queries to the folder that holds queries.csv (DESIGN.md, Query package)")
    _header, _encoding, records = read_records(csv_path, REQUIRED)
    queries: list[Query] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for rec in records:
        start, raw = rec.line, rec.values
        try:
            q = _row(raw, start, root)
            if q.query_id in seen:
                raise ValueError(f"column query_id: {q.query_id!r} repeats line {seen[q.query_id]}; expected "
                                 "unique IDs")
            seen[q.query_id] = start
            queries.append(q)
        except ValueError as exc:
            problems.append(f"{csv_path.name} line {start}, {exc}")
    if problems:
        listed = "\n  ".join(problems[:MAX_LISTED])
        more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        raise SchemaError(f"{csv_path}: {len(problems)} bad row(s):\n  {listed}{more}",
                          hint="fix these rows; an evaluation runs on the whole package or not at all")
    if not queries:
        raise SchemaError(f"{csv_path}: expected at least one query, found none", hint="add rows to queries.csv")
    return tuple(queries)


def write_predictions(path: str | Path, predictions: Sequence[Prediction]) -> Path:
    """Write predictions as JSONL (one DESIGN.md record per line), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for p in predictions:
                fh.write(json.dumps(p.to_json(), ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_predictions(path: str | Path) -> list[Prediction]:
    """Predictions from a JSONL file written by ``write_predictions`` (or any tool following DESIGN.md)."""
    path = Path(path)
    out = []
    for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text.strip():
            try:
                out.append(Prediction.from_json(json.loads(text)))
            except (ValueError, KeyError, TypeError) as exc:
                raise SchemaError(f"{path} line {n}: expected a predictions record (DESIGN.md), found {text[:80]!r}",
                                  hint="each line needs query_id, rejected, p_no_match, candidates, latency_ms"
                                  ) from exc
    return out
