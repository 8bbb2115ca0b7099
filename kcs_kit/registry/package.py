"""Read and validate a registry package: ``DIR/designs.csv`` plus the images it names (DESIGN.md contract).

Each row becomes a :class:`DesignRow` or a :class:`Rejected` with its CSV line and a reason; a file-level
problem (missing file, undecodable text, required column absent) raises ``SchemaError``. Image paths are
checked to stay inside DIR; the images themselves are checked when rendered (``images.py``).

Example::

    >>> from kcs_kit.registry.package import read_package
    >>> pkg = read_package("data/simple-icons")
    >>> pkg.rows[0].views[0].suffix
    '.svg'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from kcs_kit.csvio import read_records
from kcs_kit.errors import SchemaError

REQUIRED = ("design_id", "title", "right_holder", "image_path")
OPTIONAL = ("right_holder_contact", "registration_no", "right_type", "classes", "territory", "status",
            "valid_from", "valid_to", "hs6", "genuine_price_krw", "description", "hex")
RIGHT_TYPES = ("trademark", "design")
STATUSES = ("registered", "expired", "withdrawn")
DESIGN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
CLASS_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z.\-]{0,15}")
HS6 = re.compile(r"[0-9]{6}")
HEX = re.compile(r"#?([0-9A-Fa-f]{6})")
MAX_VIEWS = 16


@dataclass(frozen=True)
class DesignRow:
    """One valid row of designs.csv. ``views`` are absolute paths inside the package folder."""

    line: int
    design_id: str
    title: str
    right_holder: str
    image_path: str
    views: tuple[Path, ...]
    right_holder_contact: str | None = None
    registration_no: str | None = None
    right_type: str | None = None
    classes: tuple[str, ...] = ()
    territory: str | None = None
    status: str = "registered"
    valid_from: date | None = None
    valid_to: date | None = None
    hs6: tuple[str, ...] = ()
    genuine_price_krw: float | None = None
    description: str | None = None
    hex: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """The row as plain JSON-able values (what is hashed and kept in design_versions)."""
        return {
            "design_id": self.design_id, "title": self.title, "right_holder": self.right_holder,
            "image_path": self.image_path, "right_holder_contact": self.right_holder_contact,
            "registration_no": self.registration_no, "right_type": self.right_type, "classes": list(self.classes),
            "territory": self.territory, "status": self.status,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_to": self.valid_to.isoformat() if self.valid_to else None, "hs6": list(self.hs6),
            "genuine_price_krw": self.genuine_price_krw, "description": self.description, "hex": self.hex,
            "metadata": dict(sorted(self.metadata.items())),
        }


@dataclass(frozen=True)
class Rejected:
    """A design set aside: its CSV line (header = line 1), its ID when known, and why."""

    line: int
    design_id: str | None
    reason: str


@dataclass(frozen=True)
class Package:
    """A parsed package: its folder, the CSV's encoding, valid rows and rejected rows."""

    root: Path
    csv_path: Path
    encoding: str
    rows: tuple[DesignRow, ...]
    rejected: tuple[Rejected, ...]


def read_package(root: str | Path) -> Package:
    """Parse ``root/designs.csv`` (UTF-8 or CP949) and validate every row; see module docstring."""
    root = Path(root).expanduser().resolve()
    csv_path = root / "designs.csv"
    if not csv_path.is_file():
        raise SchemaError(f"{root}: expected a registry package folder with designs.csv, found none",
                          hint="point to the folder that holds designs.csv (see DESIGN.md, Registry package)")
    header, encoding, records = read_records(csv_path, REQUIRED)
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise SchemaError(f"{csv_path}: column(s) {', '.join(dupes)} appear more than once in the header",
                          hint="keep one column of each name")
    rows: list[DesignRow] = []
    rejected: list[Rejected] = []
    seen: dict[str, int] = {}
    for rec in records:
        start, raw = rec.line, rec.values
        design_id = raw.get("design_id") or None
        try:
            if rec.cells > len(header):
                raise ValueError(f"expected {len(header)} fields, found {rec.cells}")
            row = parse_row(raw, start, root)
            if row.design_id in seen:
                raise ValueError(f"design_id '{row.design_id}' repeats line {seen[row.design_id]}")
            seen[row.design_id] = start
            rows.append(row)
        except ValueError as exc:
            rejected.append(Rejected(start, design_id, f"{csv_path.name} line {start}: {exc}"))
    return Package(root, csv_path, encoding, tuple(rows), tuple(rejected))


def parse_row(raw: dict[str, str], line: int, root: Path) -> DesignRow:
    """Validate one row (a dict of stripped cells); raises ValueError with a one-line reason."""
    design_id = raw["design_id"]
    if not DESIGN_ID.fullmatch(design_id):
        raise ValueError(f"design_id {design_id!r}: expected 1-128 letters, digits, '.', '_' or '-' "
                         "starting with a letter or digit")
    for col in ("title", "right_holder", "image_path"):
        if not raw[col]:
            raise ValueError(f"design {design_id}: {col} is empty; it is required")
    known = set(REQUIRED) | set(OPTIONAL)
    opt = {c: (raw.get(c) or None) for c in OPTIONAL}
    valid_from = _date(opt["valid_from"], "valid_from", design_id)
    valid_to = _date(opt["valid_to"], "valid_to", design_id)
    if valid_from and valid_to and valid_to < valid_from:
        raise ValueError(f"design {design_id}: valid_to {valid_to} is before valid_from {valid_from}")
    return DesignRow(
        line=line, design_id=design_id, title=raw["title"], right_holder=raw["right_holder"],
        image_path=raw["image_path"], views=_views(raw["image_path"], root, design_id),
        right_holder_contact=opt["right_holder_contact"], registration_no=opt["registration_no"],
        right_type=_choice(opt["right_type"], RIGHT_TYPES, "right_type", design_id),
        classes=_codes(opt["classes"], CLASS_CODE, "classes", design_id, "Nice/Locarno/Vienna codes like 25"),
        territory=opt["territory"],
        status=_choice(opt["status"], STATUSES, "status", design_id) or "registered",
        valid_from=valid_from, valid_to=valid_to,
        hs6=_codes(opt["hs6"], HS6, "hs6", design_id, "6 digits like 640411"),
        genuine_price_krw=_price(opt["genuine_price_krw"], design_id), description=opt["description"],
        hex=_hex(opt["hex"], design_id),
        metadata={k: v for k, v in raw.items() if k not in known and v},
    )


def _views(image_path: str, root: Path, design_id: str) -> tuple[Path, ...]:
    parts = [p.strip() for p in image_path.split("|")]
    if any(not p for p in parts) or len(parts) > MAX_VIEWS:
        raise ValueError(f"design {design_id}: image_path {image_path!r}: expected 1-{MAX_VIEWS} relative "
                         "paths separated by '|', found an empty entry or too many")
    return tuple(safe_path(root, p, design_id) for p in parts)


def safe_path(root: Path, rel: str, design_id: str) -> Path:
    """``root/rel`` resolved, or ValueError when it is absolute, uses '..', or leaves ``root`` via a link."""
    candidate = Path(rel)
    if candidate.is_absolute() or rel.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", rel):
        raise ValueError(f"design {design_id}: image_path {rel!r} is absolute; expected a path relative to "
                         "the package folder")
    if ".." in re.split(r"[\\/]", rel):
        raise ValueError(f"design {design_id}: image_path {rel!r} uses '..'; expected a path inside the "
                         "package folder")
    resolved = (root / candidate).resolve()
    if not resolved.is_relative_to(root):
        raise ValueError(f"design {design_id}: image_path {rel!r} leads outside the package folder "
                         f"(to {resolved}) through a symbolic link")
    if not resolved.is_file():
        raise ValueError(f"design {design_id}: image file {rel!r} not found in {root}")
    return resolved


def _choice(value: str | None, allowed: tuple[str, ...], col: str, design_id: str) -> str | None:
    if value is None:
        return None
    if value.lower() not in allowed:
        raise ValueError(f"design {design_id}: {col} {value!r}: expected one of {'|'.join(allowed)}")
    return value.lower()


def _codes(value: str | None, pattern: re.Pattern, col: str, design_id: str, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    codes = tuple(c.strip() for c in value.split("|"))
    bad = [c for c in codes if not pattern.fullmatch(c)]
    if bad:
        raise ValueError(f"design {design_id}: {col} {bad[0]!r} is not valid; expected {what}, '|'-separated")
    return codes


def _date(value: str | None, col: str, design_id: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"design {design_id}: {col} {value!r}: expected a date YYYY-MM-DD") from None


def _price(value: str | None, design_id: str) -> float | None:
    if value is None:
        return None
    try:
        price = float(value.replace(",", ""))
    except ValueError:
        price = float("nan")
    if not price >= 0 or price == float("inf"):
        raise ValueError(f"design {design_id}: genuine_price_krw {value!r}: expected a number >= 0")
    return price


def _hex(value: str | None, design_id: str) -> str | None:
    if value is None:
        return None
    m = HEX.fullmatch(value)
    if not m:
        raise ValueError(f"design {design_id}: hex {value!r}: expected 6 hex digits like 'E4002B'")
    return m.group(1).upper()
