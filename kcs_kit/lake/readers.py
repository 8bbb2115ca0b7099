"""Streaming readers: CSV (UTF-8 or CP949, sniffed delimiter) and Parquet -> batches of text columns.

Each batch comes with the source line of every row (CSV: header = line 1; Parquet: row number from 1),
and malformed CSV rows come out separately with their line and text, so nothing is silently dropped.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from kcs_kit.errors import IngestError, SchemaError

SAMPLE_BYTES = 1 << 20
PARSE_BLOCK = 4 << 20
ENCODINGS = ("auto", "utf-8", "cp949")


@dataclass
class Source:
    """What the reader learned about a file before reading rows."""

    path: Path
    format: str  # "csv" | "parquet"
    header: list[str]
    encoding: str = "utf-8"
    delimiter: str = ","
    est_rows: int = 0
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason, text)


def file_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".txt", ".tsv")):
        return "csv"
    raise IngestError(
        f"{path}: expected a .csv or .parquet file, found '{path.suffix or 'no extension'}'",
        hint="rename the file with the right extension, or convert it to CSV",
    )


def detect_encoding(path: Path, sample: bytes, requested: str) -> str:
    """'utf-8' or 'cp949' (the common Korean Windows encoding); raise if neither decodes the sample."""
    if requested not in ENCODINGS:
        raise IngestError(f"--encoding {requested!r}: expected one of {', '.join(ENCODINGS)}")
    candidates = ("utf-8", "cp949") if requested == "auto" else (requested,)
    for enc in candidates:
        try:
            # a multi-byte character may be cut at the end of the sample
            sample.decode(enc) if len(sample) < SAMPLE_BYTES else sample[:-4].decode(enc, errors="strict")
            return enc
        except UnicodeDecodeError:
            continue
    raise IngestError(
        f"{path}: expected text in {' or '.join(candidates)}, found bytes that decode in neither",
        hint="save the file as UTF-8, or pass --encoding",
    )


def open_source(path: Path, *, encoding: str = "auto") -> Source:
    fmt = file_format(path)
    if fmt == "parquet":
        try:
            meta = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise IngestError(f"{path}: expected a Parquet file, found unreadable data ({exc})") from exc
        return Source(path, fmt, meta.schema_arrow.names, est_rows=meta.metadata.num_rows)
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if not sample.strip():
        raise SchemaError(f"{path}: expected a header line and rows, found an empty file")
    enc = detect_encoding(path, sample, encoding)
    text = sample.decode(enc, errors="ignore").lstrip("\ufeff")
    first = text.splitlines()[0] if text.splitlines() else ""
    delimiter = max(",;\t|", key=first.count)
    names = pacsv.read_csv(
        pa.py_buffer((first + "\n").encode("utf-8")), parse_options=pacsv.ParseOptions(delimiter=delimiter)
    ).column_names
    if not first.strip() or len(set(names)) != len(names):
        raise SchemaError(f"{path}: expected a header line with distinct column names, found {first[:200]!r}")
    lines_in_sample = max(text.count("\n"), 1)
    est = int(path.stat().st_size / (len(sample) / lines_in_sample)) if len(sample) else 0
    return Source(path, fmt, names, encoding=enc, delimiter=delimiter, est_rows=max(est - 1, 1))


def _prefetch(it: Iterator[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
    """Parse the next block in a thread while the caller validates this one (pyarrow frees the GIL)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()

    def run() -> None:
        try:
            for item in it:
                q.put(item)
            q.put(done)
        except BaseException as exc:  # handed to the consumer, re-raised there
            q.put(exc)

    threading.Thread(target=run, daemon=True).start()
    while True:
        item = q.get()
        if item is done:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


def _assign_lines(next_line: int, n: int, skipped: list[int]) -> np.ndarray:
    """Line numbers of n parsed rows starting at next_line, stepping over the skipped (malformed) lines."""
    lines = np.arange(next_line, next_line + n, dtype=np.int64)
    for bad in sorted(b for b in skipped if b >= next_line):
        if n == 0 or bad > lines[-1]:
            break
        lines[lines >= bad] += 1
    return lines


def iter_batches(src: Source, columns: list[str], batch_bytes: int) -> Iterator[tuple[pa.Table, np.ndarray]]:
    """Yield (table of the named columns as strings, source line per row)."""
    if src.format == "parquet":
        yield from _parquet_batches(src, columns)
        return
    skipped: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        src.malformed.append(
            (int(row.number or 0), f"expected {row.expected_columns} fields, found {row.actual_columns}", row.text)
        )
        skipped.append(int(row.number or 0))
        return "skip"

    # a plain buffered stream, not a memory map: mapped pages of a 1 GB file would count as our memory
    # Parse in small blocks (Arrow's streaming reader reads ~37 blocks ahead: memory grows with the block
    # size) and hand out groups of blocks, so that validation still works on large batches.
    block = min(batch_bytes, PARSE_BLOCK)
    group = max(1, batch_bytes // block)
    reader = pacsv.open_csv(
        pa.OSFile(str(src.path), "rb"),  # a plain stream, not a memory map
        read_options=pacsv.ReadOptions(
            use_threads=False, block_size=block, encoding=src.encoding if src.encoding != "utf-8" else "utf8"
        ),
        parse_options=pacsv.ParseOptions(delimiter=src.delimiter, invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in columns}, include_columns=columns,
            strings_can_be_null=True, quoted_strings_can_be_null=True, null_values=[""],
        ),
    )
    next_line = 2
    pending: list[tuple[pa.RecordBatch, np.ndarray]] = []
    try:
        for batch in _prefetch(iter(reader)):
            lines = _assign_lines(next_line, batch.num_rows, skipped)
            if batch.num_rows:
                next_line = int(lines[-1]) + 1
                pending.append((batch, lines))
            if len(pending) >= group:
                yield _combine(pending)
                pending = []
        if pending:
            yield _combine(pending)
    except pa.ArrowInvalid as exc:
        hint = "the file is not UTF-8: pass --encoding cp949" if "UTF8" in str(exc) else None
        raise IngestError(f"{src.path}: cannot read CSV near line {next_line} ({exc})", hint=hint) from exc


def _combine(parts: list[tuple[pa.RecordBatch, np.ndarray]]) -> tuple[pa.Table, np.ndarray]:
    return pa.Table.from_batches([b for b, _ in parts]), np.concatenate([lines for _, lines in parts])


def _parquet_batches(src: Source, columns: list[str]) -> Iterator[tuple[pa.Table, np.ndarray]]:
    pf = pq.ParquetFile(src.path)
    start = 1
    for batch in pf.iter_batches(batch_size=500_000, columns=columns):
        table = pa.Table.from_batches([batch])
        cols = []
        for name in table.column_names:
            col = table[name]
            if pa.types.is_floating(col.type):  # 372254.4, not 3.722544e+05
                col = pc.cast(col, pa.float64())
            cols.append(pc.cast(col, pa.string()))
        yield pa.table(cols, names=table.column_names), np.arange(start, start + table.num_rows, dtype=np.int64)
        start += table.num_rows
