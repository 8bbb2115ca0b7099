"""Analytics for investigative analysts: trends, repeat offenders and entity links as polars DataFrames.

Queries are parameterised DuckDB SQL over the workspace lake (``declarations`` and ``ipr_lines``);
charts live in ``kcs_kit.analytics.charts`` (altair, imported only there). This package never imports
``kcs_kit.embed``, ``kcs_kit.index`` or ``kcs_kit.match``; polars and duckdb load on the first query.

Example::

    >>> from kcs_kit.analytics import trends, repeat_offenders
    >>> trends(settings, by="origin", freq="quarter", period="2020Q1:2021Q1")  # doctest: +SKIP
"""

from kcs_kit.analytics.dimensions import GoodsLinesMissingError, UnknownDimensionError
from kcs_kit.analytics.offenders import entity_links, repeat_offenders
from kcs_kit.analytics.periods import Period, parse_period
from kcs_kit.analytics.trends import declaration_trends, drilldown, trends

__all__ = [
    "GoodsLinesMissingError",
    "Period",
    "UnknownDimensionError",
    "declaration_trends",
    "drilldown",
    "entity_links",
    "parse_period",
    "repeat_offenders",
    "trends",
]
