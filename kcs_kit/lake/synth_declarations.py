"""Whole synthetic declarations in the canonical schema, for benchmarks (up to 10,000,000 rows).

Each row copies the correlated fields (office, transport mode, HS6, countries, tax type and rate, origin
marking, fraud labels) of a random row of the shipped KCS declarations (a bootstrap, so the joint
distribution is kept), then replaces what identifies it: a unique declaration ID, a date in
2020-01-01..2021-12-31 (weekdays busier than weekends), importer / seller / declarant IDs drawn from
power-law pools (a few repeat parties hold many rows) and jittered net mass and customs value.
Rows are generated and written in chunks, so memory stays bounded whatever ``rows`` is.

Example::

    >>> from pathlib import Path
    >>> from kcs_kit.lake.synth_declarations import synth_declarations
    >>> synth_declarations(Path("/tmp/kcs-doc-synth.csv"), rows=1000).stat().st_size > 0
    True
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from kcs_kit.config import Settings
from kcs_kit.errors import KcsError, SchemaError
from kcs_kit.lake.schema import COLUMNS, resolve_columns
from kcs_kit.lake.validate import validate

MAX_ROWS = 10_000_000
CHUNK_ROWS = 250_000
FIRST_DAY, LAST_DAY = date(2020, 1, 1), date(2021, 12, 31)
SHIPPED = ("df_syn_train_eng.csv", "df_syn_valid_eng.csv")
_ALPHABET = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
_ID_SPACE = 36**7
# Party columns: (rows per distinct party, power-law exponent k); see _power_law.
_PARTIES = {"importer_id": (3, 2.0), "seller_id": (4, 2.0), "declarant_id": (40, 1.5)}

Progress = Callable[[int], Callable[[int], None]]


def _default_data_dir() -> Path:
    return Path({f.name: f.default for f in dataclasses.fields(Settings)}["data_dir"])  # type: ignore[arg-type]


def load_templates(data_dir: Path | None = None) -> pl.DataFrame:
    """The shipped declarations, validated and typed in the canonical schema (rows to bootstrap from)."""
    folder = Path(data_dir or _default_data_dir()) / "customs-declarations"
    frames = []
    for name in SHIPPED:
        path = folder / name
        if not path.is_file():
            raise SchemaError(f"{path}: expected the shipped KCS declarations, found no file",
                              hint="restore data/customs-declarations/ from the repository")
        raw = pl.read_csv(path, infer_schema_length=0)
        resolved = resolve_columns(str(path), raw.columns)
        raw = raw.select([pl.col(src).alias(canon) for canon, src in resolved.items()])
        accepted, _rejected = validate(raw, pl.Series(np.arange(2, raw.height + 2)), "templates")
        frames.append(accepted.select([c.name for c in COLUMNS]))
    return pl.concat(frames).rechunk()


def _party_ids(rng: np.random.Generator, n: int) -> pl.Series:
    """n distinct 7-character IDs (0-9A-Z) from a seeded bijection of 0..n-1, so they look random."""
    a = int(rng.integers(1, _ID_SPACE // 36)) * 6 + 1  # odd and not a multiple of 3: coprime to 36**7
    b = int(rng.integers(0, _ID_SPACE))
    x = (np.arange(n, dtype=np.int64) * (a % _ID_SPACE) + b) % _ID_SPACE
    digits = np.empty((n, 7), dtype=np.uint8)
    for j in range(7):
        digits[:, 6 - j] = _ALPHABET[x % 36]
        x //= 36
    return pl.Series(digits.view("S7").ravel().astype("U7"), dtype=pl.String)


def _power_law(rng: np.random.Generator, pool: int, n: int, k: float) -> np.ndarray:
    """Indices in [0, pool) with P(i) ~ i**(1/k - 1): index 0 most frequent, a long tail of rare ones."""
    return np.minimum((pool * rng.random(n) ** k).astype(np.int64), pool - 1)


def _day_table(size: int = 1 << 16) -> np.ndarray:
    """Days of 2020-01-01..2021-12-31 repeated in proportion to their weight (weekdays 1, Sat 0.35, Sun 0.15):
    a uniform index into this table draws a day (quantised inverse CDF, one gather per row)."""
    days = np.arange(np.datetime64(FIRST_DAY), np.datetime64(LAST_DAY) + 1)
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    w = np.where(weekday < 5, 1.0, np.where(weekday == 5, 0.35, 0.15))
    cdf = np.cumsum(w / w.sum())
    return days[np.minimum(np.searchsorted(cdf, (np.arange(size) + 0.5) / size), len(days) - 1)]


class _Generator:
    """Builds chunks of rows; all randomness from one seeded numpy Generator, in a fixed order."""

    def __init__(self, templates: pl.DataFrame, rows: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.templates = templates
        self.prefix = f"SYN{seed}-"
        self.width = max(8, len(str(rows)))
        self.days = pl.Series(_day_table(), dtype=pl.Date)
        self.pools = {col: _party_ids(self.rng, self._pool_size(col, rows)) for col in _PARTIES}
        couriers = templates["courier_id"].drop_nulls()
        self.couriers = couriers if couriers.len() else pl.Series(["C00001"])

    @staticmethod
    def _pool_size(col: str, rows: int) -> int:
        per, _k = _PARTIES[col]
        cap = 20_000 if col == "declarant_id" else 2_000_000
        return int(min(max(rows // per, 500), cap))

    def chunk(self, start: int, n: int) -> pl.DataFrame:
        rng = self.rng
        df = self.templates[rng.integers(0, self.templates.height, n).astype(np.uint32)]
        base = 10**self.width  # a leading 1 then cut off: zero-padded numbers, fast
        number = pl.int_range(base + start + 1, base + start + n + 1).cast(pl.String).str.slice(1)
        new: dict[str, pl.Series | pl.Expr] = {
            "declaration_id": pl.concat_str(pl.lit(self.prefix), number),
            "declared_on": self.days.gather(rng.integers(0, self.days.len(), n).astype(np.uint32)),
        }
        for col, (_per, k) in _PARTIES.items():
            pool = self.pools[col]
            picked = pool.gather(_power_law(rng, pool.len(), n, k))
            new[col] = pl.when(pl.col(col).is_not_null()).then(picked).otherwise(None)
        courier = self.couriers.gather(rng.integers(0, self.couriers.len(), n))
        new["courier_id"] = pl.when(pl.col("courier_id").is_not_null()).then(courier).otherwise(None)
        new["net_mass_kg"] = (pl.col("net_mass_kg") * np.exp(rng.normal(0.0, 0.3, n))).round(1)
        new["item_price_krw"] = (pl.col("item_price_krw") * np.exp(rng.normal(0.0, 0.3, n))).round(0)
        return df.with_columns(**new).select([c.name for c in COLUMNS])


def synth_declarations(out: Path, *, rows: int, seed: int = 42, fmt: str = "csv",
                       progress: Progress | None = None, data_dir: Path | None = None) -> Path:
    """Write ``rows`` synthetic declarations (canonical snake_case header) to ``out``; returns ``out``.

    ``fmt`` is "csv" or "parquet"; ``progress(total_rows)`` returns a callback called with the rows of
    each chunk written. ``data_dir`` holds customs-declarations/ (default: the shipped data). The file is
    written under a temporary name and renamed when complete. Same rows and seed give the same file.
    """
    if fmt not in ("csv", "parquet"):
        raise KcsError(f"format {fmt!r}: expected 'csv' or 'parquet'")
    if not 1 <= rows <= MAX_ROWS:
        raise KcsError(f"rows={rows}: expected 1..{MAX_ROWS:,}", hint="generate larger sets as several files")
    if seed < 0:
        raise KcsError(f"seed={seed}: expected a whole number >= 0")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    gen = _Generator(load_templates(data_dir), rows, seed)
    tick = progress(rows) if progress else None
    tmp = out.with_name(out.name + ".partial")
    try:
        _write(gen, rows, fmt, tmp, tick)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _write(gen: _Generator, rows: int, fmt: str, path: Path, tick: Callable[[int], None] | None) -> None:
    """Generate chunks here while a thread writes the previous one (both mostly release the GIL)."""
    chunks: queue.Queue = queue.Queue(maxsize=1)
    failed: list[BaseException] = []
    worker = threading.Thread(target=_drain, args=(chunks, fmt, path, tick, failed), daemon=True)
    worker.start()
    try:
        for start in range(0, rows, CHUNK_ROWS):
            if failed:
                break
            chunks.put(gen.chunk(start, min(CHUNK_ROWS, rows - start)))
    finally:
        chunks.put(None)
        worker.join()
    if failed:
        raise failed[0]


def _drain(chunks: queue.Queue, fmt: str, path: Path, tick: Callable[[int], None] | None,
           failed: list[BaseException]) -> None:
    writer, first, done = None, True, False
    try:
        with open(path, "wb") as fh:
            while (df := chunks.get()) is not None:
                if fmt == "csv":
                    df.write_csv(fh, include_header=first)
                else:
                    table = df.to_arrow()
                    writer = writer or pq.ParquetWriter(fh, table.schema, compression="snappy")
                    writer.write_table(table)
                first = False
                if tick:
                    tick(df.height)
            done = True
            if writer is not None:
                writer.close()
    except BaseException as exc:  # handed to the producer, re-raised there
        failed.append(exc)
        while not done and chunks.get() is not None:
            pass  # let the producer finish putting chunks without blocking
