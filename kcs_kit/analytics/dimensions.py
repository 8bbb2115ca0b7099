"""The whitelist of analytics dimensions and the WHERE clauses built from periods and filters.

Dimension and column names reach SQL only from the dicts below; user values (periods, filter values)
only as named parameters. An unknown name raises ``UnknownDimensionError`` listing the allowed ones.

Example::

    >>> from kcs_kit.analytics.dimensions import LINE_DIMENSIONS, where_clause
    >>> sql, params = where_clause(None, {"origin": "CN"}, LINE_DIMENSIONS, "goods lines")
    >>> sql, params
    ('list_contains($f0, origin_country)', {'f0': ['CN']})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from kcs_kit.analytics.periods import Period, parse_period
from kcs_kit.errors import NotFoundError, SchemaError
from kcs_kit.lake.schema import TRANSPORT_MODES

FilterValues = str | int | Sequence[str | int]
Filters = Mapping[str, FilterValues]


class UnknownDimensionError(SchemaError):
    """A dimension, filter or role name is not one of the allowed names."""


class GoodsLinesMissingError(NotFoundError):
    """The workspace has no goods lines (table goods_lines / view ipr_lines) yet."""


@dataclass(frozen=True)
class Dimension:
    """``alias`` (what users type), ``column`` (the output column) and ``expr`` (constant SQL)."""

    alias: str
    column: str
    expr: str


def _dims(*items: tuple[str, str] | tuple[str, str, str]) -> dict[str, Dimension]:
    return {it[0]: Dimension(it[0], it[1], it[2] if len(it) == 3 else it[1]) for it in items}


_SHARED = (("origin", "origin_country"), ("departure", "departure_country"),
           ("transport", "transport_mode"), ("office", "office_id"))
LINE_DIMENSIONS = _dims(*_SHARED, ("hs_chapter", "hs_chapter"), ("chapter", "hs_chapter"),
                        ("category", "product_category"), ("brand", "brand_title"),
                        ("right_holder", "right_holder"), ("outcome", "inspection_outcome"))
DECLARATION_DIMENSIONS = _dims(*_SHARED, ("hs_chapter", "hs_chapter", "substr(hs6, 1, 2)"),
                               ("chapter", "hs_chapter", "substr(hs6, 1, 2)"))
DIMENSION_COLUMNS = tuple(dict.fromkeys(d.column for d in (*LINE_DIMENSIONS.values(),
                                                           *DECLARATION_DIMENSIONS.values())))
_MODE_CODES = {name: code for code, name in TRANSPORT_MODES.items()}


def transport_name_sql(expr: str = "transport_mode") -> str:
    """CASE expression code -> name (sea, air, mail...) built from the schema's constants."""
    whens = " ".join(f"WHEN '{code}' THEN '{name}'" for code, name in TRANSPORT_MODES.items())
    return f"CASE {expr} {whens} END"


def dimension(name: str, allowed: Mapping[str, Dimension], what: str) -> Dimension:
    """Look up an alias (or an output column name) in ``allowed``; raise listing the allowed names."""
    key = str(name).strip().lower()
    if key in allowed:
        return allowed[key]
    for dim in allowed.values():
        if dim.column == key:
            return dim
    raise UnknownDimensionError(
        f"dimension {name!r} is not available for {what}; allowed: {', '.join(allowed)}",
        hint=f"use one of: {', '.join(allowed)}",
    )


def resolve_dims(by: str | Sequence[str] | None, allowed: Mapping[str, Dimension],
                 what: str) -> list[Dimension]:
    """``by`` (None, one name or several) -> distinct Dimensions in the given order."""
    names = [by] if isinstance(by, str) else list(by or ())
    out: dict[str, Dimension] = {}
    for name in names:
        dim = dimension(name, allowed, what)
        out.setdefault(dim.column, dim)
    return list(out.values())


def _values(dim: Dimension, raw: FilterValues) -> list[str]:
    items = [raw] if isinstance(raw, str | int) else list(raw)
    if not items:
        raise SchemaError(f"filter {dim.alias}: expected at least one value, found none")
    values = [str(v).strip() for v in items]
    if dim.column == "transport_mode":  # accept names: air -> 40
        values = [_MODE_CODES.get(v.lower(), v) for v in values]
    if dim.column in ("origin_country", "departure_country"):
        values = [v.upper() for v in values]
    return values


def where_clause(period: str | Period | None, filters: Filters | None, allowed: Mapping[str, Dimension],
                 what: str, *, start: date | None = None) -> tuple[str, dict[str, Any]]:
    """(SQL condition, parameters) for a period and filters; ``start`` overrides the period's start."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if period is not None:
        p = parse_period(period)
        clauses += ["declared_on >= $p_start", "declared_on < $p_end"]
        params.update(p_start=start or p.start, p_end=p.end)
    for i, (name, raw) in enumerate((filters or {}).items()):
        dim = dimension(name, allowed, what)
        params[f"f{i}"] = _values(dim, raw)
        clauses.append(f"list_contains($f{i}, {dim.expr})")
    return (" AND ".join(clauses) or "true"), params


def parse_filter_items(items: Sequence[str]) -> dict[str, list[str]]:
    """CLI form ``["origin=CN", "origin=HK", "brand=Chanel"]`` -> ``{"origin": ["CN", "HK"], ...}``."""
    out: dict[str, list[str]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise SchemaError(f"--filter {item!r}: expected DIMENSION=VALUE, e.g. origin=CN")
        out.setdefault(name.strip().lower(), []).append(value.strip())
    return out
