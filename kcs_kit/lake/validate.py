"""Vectorised validation of one batch of clearance records (polars): typed rows in, reasons out.

Every failed check adds a reason naming the column, the expectation and the value found, e.g.
``hs6 '64O3' is not 6 digits``. Rows with no reason are cast to the canonical types.
"""

from __future__ import annotations

import polars as pl

from kcs_kit.lake.schema import COLUMNS, ISO_COUNTRIES, TRANSPORT_MODES

_NUMERIC = ("tax_rate", "net_mass_kg", "item_price_krw")
_COUNTRIES = sorted(ISO_COUNTRIES)
_MODES = sorted(TRANSPORT_MODES)


def _txt(name: str) -> pl.Expr:
    """The column's text, stripped once up front by ``_prepare``."""
    return pl.col(name)


def _date(name: str) -> pl.Expr:
    return pl.col("_day")


def _num(name: str) -> pl.Expr:
    return pl.col(f"_num_{name}")


def _prepare(df: pl.DataFrame, present: set[str]) -> pl.DataFrame:
    """Strip every text once, then parse the date and numbers once (the checks and the casts share them)."""
    df = df.with_columns(pl.col(c).str.strip_chars() for c in present)
    raw = pl.col("declared_on")
    return df.with_columns(
        pl.coalesce(raw.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
                    raw.str.strptime(pl.Date, "%Y%m%d", strict=False)).alias("_day"),
        *[pl.col(c).cast(pl.Float64, strict=False).alias(f"_num_{c}")
          for c in (*_NUMERIC, "fraud", "critical_fraud") if c in present],
    )


def _reasons(present: set[str]) -> list[pl.Expr]:
    """One expression per check; each is null where the row passes."""
    out: list[pl.Expr] = []

    def bad(cond: pl.Expr, msg: pl.Expr | str) -> None:
        out.append(pl.when(cond).then(pl.lit(msg) if isinstance(msg, str) else msg))

    did = _txt("declaration_id")
    bad(did.is_null(), "declaration_id is empty")
    bad(~did.str.contains(r"^[A-Za-z0-9_\-]{1,40}$"),
        pl.format("declaration_id '{}' is not 1-40 of A-Z a-z 0-9 _ -", did))
    day = _date("declared_on")
    bad(_txt("declared_on").is_null(), "declared_on is empty")
    bad(_txt("declared_on").is_not_null() & day.is_null(),
        pl.format("declared_on '{}' is not a date YYYY-MM-DD", _txt("declared_on")))
    bad(day.dt.year().is_between(1950, 2100).not_(), pl.format("declared_on '{}' is out of range 1950-2100", day))
    hs6 = _txt("hs6")
    bad(hs6.is_null(), "hs6 is empty")
    bad(~hs6.str.contains(r"^\d{6}$") & hs6.str.contains(r"^\d{5}$"),
        pl.format("hs6 '{}' is not 6 digits (a leading zero lost? write 0{})", hs6, hs6))
    bad(~hs6.str.contains(r"^\d{6}$") & ~hs6.str.contains(r"^\d{5}$"), pl.format("hs6 '{}' is not 6 digits", hs6))
    for col in ("origin_country", "departure_country"):
        if col not in present:
            continue
        c = _txt(col)
        if col == "origin_country":
            bad(c.is_null(), "origin_country is empty")
        bad(c.is_not_null() & ~c.str.to_uppercase().is_in(_COUNTRIES),
            pl.format(f"{col} '{{}}' is not an ISO 3166-1 alpha-2 code", c))
    if "transport_mode" in present:
        m = _txt("transport_mode")
        bad(m.is_not_null() & ~m.is_in(_MODES),
            pl.format("transport_mode '{}' is not one of " + "/".join(_MODES), m))
    for col in _NUMERIC:
        if col not in present:
            continue
        raw = _txt(col)
        v = _num(col)
        bad(raw.is_not_null() & (v.is_null() | v.is_nan() | v.is_infinite()),
            pl.format(f"{col} '{{}}' is not a number", raw))
        bad(v < 0, pl.format(f"{col} '{{}}' is negative", raw))
    for col, allowed in (("fraud", (0, 1)), ("critical_fraud", (0, 1, 2))):
        if col not in present:
            continue
        raw = _txt(col)
        v = _num(col)
        bad(raw.is_not_null() & ~v.is_in([float(a) for a in allowed]).fill_null(False),
            pl.format(f"{col} '{{}}' is not one of {'/'.join(map(str, allowed))}", raw))
    return out


def _typed(present: set[str]) -> list[pl.Expr]:
    exprs: list[pl.Expr] = []
    for c in COLUMNS:
        if c.name not in present:
            expr = pl.lit(None)
        elif c.name == "declared_on":
            expr = _date(c.name)
        elif c.sql_type == "DOUBLE":
            expr = _num(c.name)
        elif c.sql_type == "TINYINT":
            expr = _num(c.name).cast(pl.Int8)
        elif c.name in ("origin_country", "departure_country"):
            expr = _txt(c.name).str.to_uppercase()
        else:
            expr = _txt(c.name)
        dtype = {"DOUBLE": pl.Float64, "TINYINT": pl.Int8, "DATE": pl.Date}.get(c.sql_type, pl.String)
        exprs.append(expr.cast(dtype).alias(c.name))
    return exprs


def validate(df: pl.DataFrame, lines: pl.Series, ingest_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a batch (canonical names, text values) into (accepted typed rows, rejected rows with reason)."""
    present = set(df.columns)
    df = _prepare(df, present).with_columns(lines.alias("source_line"))
    reason = pl.concat_str(_reasons(present), separator="; ", ignore_nulls=True)
    df = df.with_columns(reason.alias("_reason"))
    # concat_str of all-null gives "" with ignore_nulls: empty string = no reason
    ok = pl.col("_reason").is_null() | (pl.col("_reason") == "")
    accepted = df.filter(ok).select(
        *_typed(present),
        _date("declared_on").dt.year().cast(pl.Int16).alias("year"),
        _date("declared_on").dt.month().cast(pl.Int8).alias("month"),
        pl.lit(ingest_id).alias("ingest_id"),
        pl.col("source_line").cast(pl.Int64),
    )
    raw_cols = [c for c in df.columns if c != "source_line" and not c.startswith("_")]
    rejected = df.filter(~ok).select(
        pl.col("source_line").cast(pl.Int64).alias("line"),
        _txt("declaration_id").alias("declaration_id"),
        pl.lit("invalid").alias("kind"),
        pl.col("_reason").alias("reason"),
        pl.struct(raw_cols).struct.json_encode().alias("raw"),
    )
    return accepted, rejected
