"""One declaration for an officer: its facts, its goods lines and the parties' history of flagged lines.

Example::

    >>> from kcs_kit.analytics.declarations import declaration_record
    >>> rec = declaration_record(settings, "97061800")  # doctest: +SKIP
    >>> rec.facts["origin_country"], rec.history.height  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kcs_kit.analytics.offenders import FLAGGED
from kcs_kit.errors import NotFoundError

if TYPE_CHECKING:
    import polars as pl

    from kcs_kit.config import Settings

FACTS = ("declaration_id", "declared_on", "office_id", "transport_mode", "origin_country", "departure_country",
         "importer_id", "seller_id", "declarant_id", "courier_id", "hs6", "net_mass_kg", "item_price_krw")
GOODS = ("line_id", "description_en", "brand_title", "right_holder", "quantity", "unit_value_krw",
         "genuine_unit_price_krw", "inspection_outcome", "synthetic")
HISTORY = ("role", "party_id", "line_id", "declaration_id", "declared_on", "brand_title", "inspection_outcome",
           "seizure_value_krw", "synthetic")


@dataclass(frozen=True)
class DeclarationRecord:
    """``facts`` of the declaration, its goods ``lines`` and the ``history``: earlier flagged (suspected or
    confirmed) lines of the same importer or seller, newest first."""

    facts: dict[str, Any]
    lines: pl.DataFrame
    history: pl.DataFrame


def declaration_record(settings: Settings, declaration_id: str, *, history_limit: int = 20) -> DeclarationRecord:
    """The declaration ``declaration_id`` with its goods lines and its parties' flagged history.

    Raises NotFoundError when the lake has no such declaration.
    """
    from kcs_kit.analytics._db import _has_view
    from kcs_kit.lake import catalog

    key = str(declaration_id).strip()
    with catalog.connect(settings, read_only=True) as con:
        facts = catalog.query_pl(con, f"SELECT {', '.join(FACTS)} FROM declarations WHERE declaration_id = $d",
                                 {"d": key})
        if not facts.height:
            raise NotFoundError(f"declaration {key!r}: expected a declaration ID of the lake in "
                                f"{settings.workspace}, found none",
                                hint="check the number on the declaration form")
        row = facts.row(0, named=True)
        if not _has_view(con):
            empty = catalog.query_pl(con, "SELECT 1 AS none WHERE false")
            return DeclarationRecord(row, empty, empty)
        lines = catalog.query_pl(con, f"SELECT {', '.join(GOODS)} FROM ipr_lines WHERE declaration_id = $d "
                                      "ORDER BY line_id", {"d": key})
        history = catalog.query_pl(
            con,
            f"SELECT * FROM (SELECT 'importer' AS role, importer_id AS party_id, {', '.join(HISTORY[2:])} "
            f"FROM ipr_lines WHERE importer_id = $imp AND {FLAGGED} AND declared_on <= $on "
            f"AND declaration_id <> $d UNION ALL SELECT 'seller', seller_id, {', '.join(HISTORY[2:])} "
            f"FROM ipr_lines WHERE seller_id = $sel AND {FLAGGED} AND declared_on <= $on AND declaration_id <> $d) "
            "ORDER BY declared_on DESC, line_id LIMIT $n",
            {"imp": row["importer_id"], "sel": row["seller_id"], "on": row["declared_on"], "d": key,
             "n": int(history_limit)})
    return DeclarationRecord(row, lines, history)
