"""Repeat offenders and the links between importers, sellers, declarants, brands and routes.

Both read the flagged goods lines of ``ipr_lines``: outcome ``suspected`` or ``confirmed_counterfeit``.
A route is ``"origin>departure/mode"``, e.g. ``"CN>HK/air"``.

Example::

    >>> from kcs_kit.analytics import repeat_offenders, entity_links
    >>> repeat_offenders(settings, role="importer", min_cases=3, period="2020")  # doctest: +SKIP
    >>> entity_links(settings, min_weight=2)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kcs_kit.analytics import _db
from kcs_kit.analytics.dimensions import (
    LINE_DIMENSIONS,
    Filters,
    UnknownDimensionError,
    transport_name_sql,
    where_clause,
)
from kcs_kit.analytics.periods import Period
from kcs_kit.errors import SchemaError

if TYPE_CHECKING:
    import polars as pl

    from kcs_kit.config import Settings

ROLES = {"importer": "importer_id", "seller": "seller_id", "declarant": "declarant_id"}
FLAGGED = "inspection_outcome IN ('suspected', 'confirmed_counterfeit')"
CONFIRMED = "count(*) FILTER (WHERE inspection_outcome = 'confirmed_counterfeit')"
ROUTE_SQL = ("coalesce(origin_country, '?') || '>' || coalesce(departure_country, '?') || '/' || "
             f"coalesce({transport_name_sql()}, transport_mode, '?')")
# (source type, source column, target type, target column) of every edge kind; constants only.
EDGES = (
    ("importer", "importer_id", "seller", "seller_id"),
    ("importer", "importer_id", "declarant", "declarant_id"),
    ("seller", "seller_id", "brand", "brand_title"),
    ("importer", "importer_id", "brand", "brand_title"),
    ("importer", "importer_id", "route", "route"),
)


def _flagged_where(period: str | Period | None, filters: Filters | None) -> tuple[str, dict]:
    where, params = where_clause(period, filters, LINE_DIMENSIONS, "goods lines")
    return f"{FLAGGED} AND {where}", params


def _at_least(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SchemaError(f"{name} {value!r}: expected a whole number >= 1")
    return value


def repeat_offenders(settings: Settings, *, role: str = "importer", min_cases: int = 2,
                     period: str | Period | None = None, filters: Filters | None = None,
                     limit: int | None = None) -> pl.DataFrame:
    """Entities of ``role`` (importer, seller, declarant) with at least ``min_cases`` flagged lines.

    Columns: role, entity_id, cases (suspected + confirmed lines), confirmed, declarations, first_seen,
    last_seen, brands (list), routes (list of "origin>departure/mode"), seized_value_krw, synthetic;
    sorted by confirmed, then cases (descending), then entity_id.

    Example: ``repeat_offenders(s, role="seller", min_cases=3, period="2020Q1:2020Q4")``
    """
    if role not in ROLES:
        raise UnknownDimensionError(f"role {role!r}: expected one of {', '.join(ROLES)}",
                                    hint=f"use one of: {', '.join(ROLES)}")
    col = ROLES[role]
    where, params = _flagged_where(period, filters)
    params.update(role=role, min_cases=_at_least("min_cases", min_cases))
    sql = (
        f"SELECT $role AS role, {col} AS entity_id, count(*) AS cases, {CONFIRMED} AS confirmed, "
        "count(DISTINCT declaration_id) AS declarations, min(declared_on) AS first_seen, "
        "max(declared_on) AS last_seen, list_sort(list_distinct(list(brand_title))) AS brands, "
        f"list_sort(list_distinct(list({ROUTE_SQL}))) AS routes, "
        "coalesce(sum(seizure_value_krw), 0) AS seized_value_krw, bool_or(synthetic) AS synthetic "
        f"FROM ipr_lines WHERE {where} AND {col} IS NOT NULL GROUP BY {col} "
        "HAVING count(*) >= $min_cases ORDER BY confirmed DESC, cases DESC, entity_id"
    )
    if limit is not None:
        params["limit"] = _at_least("limit", limit)
        sql += " LIMIT $limit"
    return _db.run(settings, sql, params, goods=True)


def entity_links(settings: Settings, *, period: str | Period | None = None, min_weight: int = 1,
                 filters: Filters | None = None) -> pl.DataFrame:
    """Edge table over flagged lines for network views: importer-seller, importer-declarant,
    seller-brand, importer-brand and importer-route.

    Columns: source_type, source_id, target_type, target_id, weight (flagged lines that share the pair),
    confirmed (of those, confirmed), synthetic; edges with weight >= ``min_weight``, heaviest first.

    Example: ``entity_links(s, period="2020", min_weight=2).filter(pl.col("target_type") == "brand")``
    """
    where, params = _flagged_where(period, filters)
    params["min_weight"] = _at_least("min_weight", min_weight)
    parts = [
        f"SELECT '{st}' AS source_type, {sc} AS source_id, '{tt}' AS target_type, {tc} AS target_id, "
        f"count(*) AS weight, {CONFIRMED} AS confirmed, bool_or(synthetic) AS synthetic FROM flagged "
        f"WHERE {sc} IS NOT NULL AND {tc} IS NOT NULL GROUP BY {sc}, {tc} HAVING count(*) >= $min_weight"
        for st, sc, tt, tc in EDGES
    ]
    sql = (f"WITH flagged AS (SELECT *, {ROUTE_SQL} AS route FROM ipr_lines WHERE {where}) "
           f"SELECT * FROM ({' UNION ALL '.join(parts)}) "
           "ORDER BY weight DESC, confirmed DESC, source_type, source_id, target_type, target_id")
    return _db.run(settings, sql, params, goods=True)
