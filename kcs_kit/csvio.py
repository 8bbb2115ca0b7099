"""Reading the CSV files of packages (registry designs.csv, query queries.csv): UTF-8 or CP949, a checked
header, and records with their line numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from kcs_kit.errors import SchemaError


@dataclass(frozen=True)
class CsvRecord:
    line: int  # first line of the record in the file (header = line 1)
    values: dict[str, str]  # stripped cells by header name
    cells: int  # number of fields found


def decode_text(path: Path) -> tuple[str, str]:
    """(text, encoding) of a UTF-8 (BOM allowed) or CP949 file; SchemaError naming the file otherwise."""
    data = path.read_bytes()
    for enc in ("utf-8-sig", "cp949"):
        try:
            return data.decode(enc), "utf-8" if enc == "utf-8-sig" else enc
        except UnicodeDecodeError:
            continue
    raise SchemaError(f"{path}: expected UTF-8 or CP949 text, found bytes that decode as neither",
                      hint=f"save {path.name} as UTF-8")


def read_records(path: Path, required: Sequence[str]) -> tuple[list[str], str, Iterator[CsvRecord]]:
    """(header, encoding, records) with the required columns checked; blank lines are skipped."""
    text, encoding = decode_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise SchemaError(f"{path} line 1: expected columns {', '.join(required)}; missing {', '.join(missing)} "
                          f"(found {', '.join(h for h in header if h) or 'no header'})",
                          hint=f"add the missing columns to the first line of {path.name}")

    def records() -> Iterator[CsvRecord]:
        line = 1
        for cells in reader:
            start, line = line + 1, reader.line_num
            if any(c.strip() for c in cells):
                values = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header) if h}
                yield CsvRecord(start, values, len(cells))

    return header, encoding, records()
