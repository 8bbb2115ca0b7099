"""Goods lines: what was declared inside each declaration, with its IPR inspection outcome.

The public declarations carry no brand or goods description, so the demo goods lines are generated
(``kcs lake synth``, seeded, ``synthetic = true`` on every row). Real sites load their own with
``replace_goods_lines``. The ``ipr_lines`` view joins each line to its declaration for analytics.
"""

from __future__ import annotations

import polars as pl

from kcs_kit.config import Settings
from kcs_kit.errors import SchemaError
from kcs_kit.lake import catalog

OUTCOMES = ("not_inspected", "cleared_genuine", "suspected", "confirmed_counterfeit")
CATEGORIES = ("bags", "footwear", "apparel", "cosmetics", "electronics", "watches", "toys", "accessories", "other")

GOODS_SCHEMA: dict[str, pl.DataType] = {
    "line_id": pl.String(),  # "<declaration_id>-<line_no>"
    "declaration_id": pl.String(),
    "line_no": pl.Int16(),
    "description_en": pl.String(),
    "description_ko": pl.String(),
    "product_category": pl.String(),  # one of CATEGORIES
    "hs6": pl.String(),
    "claimed_brand": pl.String(),  # registry design/mark slug; null = unbranded
    "brand_title": pl.String(),
    "right_holder": pl.String(),
    "quantity": pl.Int32(),
    "unit_value_krw": pl.Float64(),  # declared value per unit
    "genuine_unit_price_krw": pl.Float64(),  # the right holder's price per unit, null if unbranded
    "photo_ref": pl.String(),
    "inspection_outcome": pl.String(),  # one of OUTCOMES
    "seizure_value_krw": pl.Float64(),  # genuine-equivalent value seized; 0 unless confirmed
    "suspected_at": pl.Datetime("us"),
    "notified_at": pl.Datetime("us"),
    "notify_minutes": pl.Float64(),
    "synthetic": pl.Boolean(),
    "generator": pl.String(),  # e.g. "kcs-synth/1 seed=42"
}

_DECL_COLS = ("declared_on", "year", "month", "office_id", "transport_mode", "origin_country",
              "departure_country", "importer_id", "seller_id", "declarant_id", "courier_id")
IPR_VIEW = (
    "CREATE OR REPLACE VIEW ipr_lines AS SELECT g.*, substr(g.hs6, 1, 2) AS hs_chapter, "
    + ", ".join(f"d.{c}" for c in _DECL_COLS)
    + " FROM goods_lines g JOIN declarations d USING (declaration_id)"
)


def check_goods_frame(df: pl.DataFrame) -> pl.DataFrame:
    """Columns, types and value domains of a goods-lines frame; raises SchemaError naming the problem."""
    missing = [c for c in GOODS_SCHEMA if c not in df.columns]
    if missing:
        raise SchemaError(f"goods lines: missing column(s) {', '.join(missing)}",
                          hint=f"expected columns: {', '.join(GOODS_SCHEMA)}")
    df = df.select([pl.col(c).cast(t) for c, t in GOODS_SCHEMA.items()])
    for col, allowed in (("inspection_outcome", OUTCOMES), ("product_category", CATEGORIES)):
        bad = df.filter(~pl.col(col).is_in(allowed))
        if bad.height:
            raise SchemaError(f"goods lines: {col} {bad[col][0]!r} (line {bad['line_id'][0]}) is not one of "
                              f"{', '.join(allowed)}")
    dup = df.filter(pl.col("line_id").is_duplicated())
    if dup.height:
        raise SchemaError(f"goods lines: line_id {dup['line_id'][0]!r} appears more than once")
    return df


def replace_goods_lines(settings: Settings, df: pl.DataFrame) -> int:
    """Replace the goods_lines table with ``df`` atomically (one transaction) and (re)create ipr_lines."""
    df = check_goods_frame(df)
    with catalog.writer_lock(settings), catalog.connect(settings) as con:
        con.register("goods_frame", df.to_arrow())
        con.execute("BEGIN TRANSACTION")
        con.execute("CREATE OR REPLACE TABLE goods_lines AS SELECT * FROM goods_frame")
        con.execute(IPR_VIEW)
        con.execute("COMMIT")
        con.unregister("goods_frame")
    return df.height
