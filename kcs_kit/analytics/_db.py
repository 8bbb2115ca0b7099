"""Run one analytics query on a read-only connection to the workspace catalog."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kcs_kit.analytics.dimensions import GoodsLinesMissingError

if TYPE_CHECKING:  # polars and duckdb load on the first query, keeping `import kcs_kit.analytics` light
    import polars as pl

    from kcs_kit.config import Settings


def has_goods_lines(settings: Settings) -> bool:
    """True when the workspace has the ``ipr_lines`` view (goods lines joined to declarations)."""
    from kcs_kit.lake import catalog

    with catalog.connect(settings, read_only=True) as con:
        return _has_view(con)


def _has_view(con: Any) -> bool:
    # fetchall, not fetchone: duckdb 2 refuses new work on a connection with an unfinished result
    rows = con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'ipr_lines'").fetchall()
    return bool(rows[0][0])


def run(settings: Settings, sql: str, params: dict[str, Any], *, goods: bool) -> pl.DataFrame:
    """Run parameterised ``sql``; with ``goods`` first check that goods lines exist."""
    from kcs_kit.lake import catalog

    with catalog.connect(settings, read_only=True) as con:
        if goods and not _has_view(con):
            raise GoodsLinesMissingError(
                f"workspace {settings.workspace}: expected goods lines (table goods_lines, view ipr_lines), "
                "found none",
                hint="run `kcs lake synth` to generate seeded demo goods lines, or load your own with "
                "kcs_kit.lake.goods.replace_goods_lines",
            )
        return catalog.query_pl(con, sql, params)
