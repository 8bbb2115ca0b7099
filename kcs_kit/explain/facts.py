"""Declaration facts for one (declaration, design) pair, all from the workspace catalog (DuckDB).

Declared HS6 against the design's goods codes and classes; declared unit value against the genuine price;
origin and departure with their history of flagged goods lines; the importer's, seller's and declarant's
history (prior suspected or confirmed lines, brands involved); other declarations linked by importer or
seller that claim the same brand. History excludes the declaration itself. IDs are masked when
``settings.mask_identities`` is on (the default).

Example::

    >>> from kcs_kit.explain.facts import declaration_facts
    >>> f = declaration_facts(settings, "Q1", "nike")  # doctest: +SKIP
    >>> f.hs_agreement, round(f.undervaluation_ratio, 3)  # doctest: +SKIP
    ('exact', 0.067)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from kcs_kit.config import Settings
from kcs_kit.errors import NotFoundError
from kcs_kit.lake import catalog

ROLES = (("importer", "importer_id"), ("seller", "seller_id"), ("declarant", "declarant_id"))
FLAGGED = "inspection_outcome IN ('suspected', 'confirmed_counterfeit')"


def mask(entity_id: str | None, on: bool = True) -> str | None:
    """'IMP0042' -> 'IM****2': the first two and the last character stay, so officers can tell IDs apart."""
    if entity_id is None or not on:
        return entity_id
    if len(entity_id) <= 3:
        return "*" * len(entity_id)
    return entity_id[:2] + "*" * (len(entity_id) - 3) + entity_id[-1]


@dataclass(frozen=True)
class PlaceHistory:
    role: str  # origin | departure
    country: str | None
    lines: int  # goods lines from there (other declarations)
    flagged: int  # suspected or confirmed
    confirmed: int


@dataclass(frozen=True)
class PartyHistory:
    role: str  # importer | seller | declarant
    entity_id: str | None  # masked when settings.mask_identities
    flagged: int  # prior suspected or confirmed goods lines
    confirmed: int
    brands: tuple[str, ...]


@dataclass(frozen=True)
class LinkedDeclaration:
    declaration_id: str
    declared_on: date | None
    via: str  # importer | seller | importer+seller
    brand: str | None
    outcome: str


@dataclass(frozen=True)
class DeclarationFacts:
    declaration_id: str
    declared_on: date | None
    hs6: str | None
    design_hs6: tuple[str, ...]
    design_classes: tuple[str, ...]
    hs_agreement: str  # exact | chapter | none | unknown
    unit_value_krw: float | None
    genuine_price_krw: float | None
    undervaluation_ratio: float | None  # declared unit value / genuine price (0.07 = 7 % of the price)
    origin: PlaceHistory
    departure: PlaceHistory
    transport_mode: str | None
    parties: tuple[PartyHistory, ...]
    linked: tuple[LinkedDeclaration, ...]
    masked: bool


def _has(con: Any, name: str) -> bool:
    rows = con.execute("SELECT count(*) FROM (SELECT table_name AS n FROM duckdb_tables() UNION ALL "
                       "SELECT view_name FROM duckdb_views()) WHERE n = ?", [name]).fetchall()
    return bool(rows[0][0])


def _declaration(con: Any, declaration_id: str) -> dict[str, Any]:
    rows = con.execute("SELECT declaration_id, declared_on, hs6, item_price_krw, origin_country, departure_country, "
                       "transport_mode, importer_id, seller_id, declarant_id FROM declarations "
                       "WHERE declaration_id = ?", [declaration_id]).fetchall()
    if not rows:
        raise NotFoundError(f"declaration {declaration_id!r}: not in the lake",
                            hint="check the number, or ingest the declarations first (kcs lake ingest)")
    keys = ("declaration_id", "declared_on", "hs6", "price", "origin", "departure", "transport_mode", "importer_id",
            "seller_id", "declarant_id")
    d = dict(zip(keys, rows[0], strict=True))
    if _has(con, "goods_lines"):
        unit = con.execute("SELECT min(unit_value_krw) FROM goods_lines WHERE declaration_id = ?",
                           [declaration_id]).fetchall()[0][0]
        d["unit_value"] = unit if unit is not None else d["price"]
    else:
        d["unit_value"] = d["price"]
    return d


def _place(con: Any, role: str, column: str, country: str | None, declaration_id: str, goods: bool) -> PlaceHistory:
    if not goods or country is None:
        return PlaceHistory(role, country, 0, 0, 0)
    row = con.execute(f"SELECT count(*), count(*) FILTER (WHERE {FLAGGED}), "
                      "count(*) FILTER (WHERE inspection_outcome = 'confirmed_counterfeit') FROM ipr_lines "
                      f"WHERE {column} = ? AND declaration_id <> ?", [country, declaration_id]).fetchall()[0]
    return PlaceHistory(role, country, int(row[0]), int(row[1]), int(row[2]))


def _parties(con: Any, d: dict[str, Any], goods: bool, masked: bool) -> tuple[PartyHistory, ...]:
    out = []
    for role, column in ROLES:
        entity = d[column]
        if not goods or entity is None:
            out.append(PartyHistory(role, mask(entity, masked), 0, 0, ()))
            continue
        row = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE inspection_outcome = 'confirmed_counterfeit'), "
            "list_sort(list_distinct(list(brand_title) FILTER (WHERE brand_title IS NOT NULL))) FROM ipr_lines "
            f"WHERE {column} = ? AND declaration_id <> ? AND {FLAGGED}", [entity, d["declaration_id"]]).fetchall()[0]
        out.append(PartyHistory(role, mask(entity, masked), int(row[0]), int(row[1]), tuple(row[2] or ())))
    return tuple(out)


def _linked(con: Any, d: dict[str, Any], design_id: str, title: str) -> tuple[LinkedDeclaration, ...]:
    rows = con.execute(
        "SELECT declaration_id, any_value(declared_on), bool_or(importer_id = $imp), bool_or(seller_id = $sel), "
        "any_value(brand_title), max(CASE inspection_outcome WHEN 'confirmed_counterfeit' THEN 3 WHEN 'suspected' "
        "THEN 2 WHEN 'cleared_genuine' THEN 1 ELSE 0 END) FROM ipr_lines WHERE declaration_id <> $id AND "
        "(importer_id = $imp OR seller_id = $sel) AND (claimed_brand = $design OR brand_title = $title) "
        "GROUP BY declaration_id ORDER BY 2 DESC, 1 LIMIT 20",
        {"imp": d["importer_id"], "sel": d["seller_id"], "id": d["declaration_id"], "design": design_id,
         "title": title}).fetchall()
    outcomes = ("not_inspected", "cleared_genuine", "suspected", "confirmed_counterfeit")
    return tuple(LinkedDeclaration(r[0], r[1], "+".join(k for k, v in (("importer", r[2]), ("seller", r[3])) if v),
                                   r[4], outcomes[r[5]]) for r in rows)


def _hs(hs6: str | None, codes: tuple[str, ...]) -> str:
    if not hs6 or not codes:
        return "unknown"
    return "exact" if hs6 in codes else "chapter" if any(c[:2] == hs6[:2] for c in codes) else "none"


def declaration_facts(settings: Settings, declaration_id: str, design_id: str, *,
                      mask_ids: bool | None = None) -> DeclarationFacts:
    """Facts of ``declaration_id`` seen against ``design_id`` (NotFoundError when either is unknown)."""
    from kcs_kit.registry.store import get_design

    design = get_design(settings, design_id)
    masked = settings.mask_identities if mask_ids is None else mask_ids
    with catalog.connect(settings, read_only=True) as con:
        d = _declaration(con, declaration_id)
        goods = _has(con, "ipr_lines")
        origin = _place(con, "origin", "origin_country", d["origin"], declaration_id, goods)
        departure = _place(con, "departure", "departure_country", d["departure"], declaration_id, goods)
        parties = _parties(con, d, goods, masked)
        linked = _linked(con, d, design_id, design.title) if goods else ()
    genuine, unit = design.genuine_price_krw, d["unit_value"]
    ratio = unit / genuine if genuine and unit else None
    return DeclarationFacts(declaration_id, d["declared_on"], d["hs6"], design.hs6, design.classes,
                            _hs(d["hs6"], design.hs6), unit, genuine, ratio, origin, departure, d["transport_mode"],
                            parties, linked, masked)
