"""Altair charts for the common analytics views; the only analytics module that imports altair.

Every chart built from synthetic rows (a true ``synthetic`` column, i.e. ``goods_lines.synthetic``)
carries the subtitle ``SYNTHETIC_NOTE``, so that it is never mistaken for real enforcement figures.

Example::

    >>> from kcs_kit.analytics import trends
    >>> from kcs_kit.analytics.charts import trend_chart
    >>> trend_chart(trends(settings, by="origin", freq="quarter"), measure="confirmed").save("t.html")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import altair as alt
import polars as pl

from kcs_kit.analytics.dimensions import DIMENSION_COLUMNS
from kcs_kit.errors import SchemaError

SYNTHETIC_NOTE = "synthetic data: generated goods lines, not real enforcement records"
MARKS = ("line", "bar")


def offline_renderer() -> None:
    """Show charts in Jupyter with the Vega JavaScript inline (vl-convert), so that they render without
    internet: JupyterLab 4 has no renderer for Vega-Lite 6 and altair's default HTML loads Vega from a CDN,
    which air-gapped sites cannot reach. Called on import; a renderer the user chose is left alone."""
    if alt.renderers.active != "default":
        return
    try:
        import vl_convert  # noqa: F401
    except ImportError:  # charts then need the CDN
        return
    alt.renderers.enable("html", template="inline")


offline_renderer()


def is_synthetic(df: pl.DataFrame, synthetic: bool | None = None) -> bool:
    """``synthetic`` when given, else whether any row has a true ``synthetic`` column."""
    if synthetic is not None:
        return synthetic
    return "synthetic" in df.columns and bool(df["synthetic"].fill_null(False).any())


def _title(text: str, df: pl.DataFrame, synthetic: bool | None) -> alt.TitleParams:
    if is_synthetic(df, synthetic):
        return alt.TitleParams(text=text, subtitle=SYNTHETIC_NOTE, subtitleColor="#b00020")
    return alt.TitleParams(text=text)


def _need(df: pl.DataFrame, column: str, what: str) -> None:
    if column not in df.columns:
        raise SchemaError(f"{what} {column!r} is not a column of the frame; found: {', '.join(df.columns)}")


def _color_column(df: pl.DataFrame, color: str | None) -> str | None:
    """The colour column: ``color`` when given, else the frame's (first) dimension column."""
    if color is not None:
        _need(df, color, "color")
        return color
    if "transport_name" in df.columns:
        return "transport_name"
    return next((c for c in df.columns if c in DIMENSION_COLUMNS), None)


def _plain(df: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Only the chart's columns; lists joined with ' | ' (Vega has no list type)."""
    out = df.select(list(dict.fromkeys(columns)))
    return out.with_columns(pl.col(c).list.join(" | ") for c, t in out.schema.items()
                            if isinstance(t, pl.List))


def trend_chart(df: pl.DataFrame, *, measure: str = "confirmed", color: str | None = None,
                mark: str = "line", title: str | None = None, synthetic: bool | None = None) -> alt.Chart:
    """``measure`` per period (from ``trends``/``declaration_trends``), one colour per dimension value.

    Example: ``trend_chart(trends(s, by="origin"), measure="seized_value_krw", mark="bar")``
    """
    _need(df, "period", "x axis")
    _need(df, measure, "measure")
    if mark not in MARKS:
        raise SchemaError(f"mark {mark!r}: expected one of {', '.join(MARKS)}")
    col = _color_column(df, color)
    data = _plain(df, ["period", measure, *([col] if col else [])])
    base = alt.Chart(data).mark_line(point=True) if mark == "line" else alt.Chart(data).mark_bar()
    enc: dict = {"x": alt.X("period:O", sort="ascending", title="period"),
                 "y": alt.Y(f"{measure}:Q", title=measure.replace("_", " ")),
                 "tooltip": list(data.columns)}
    if col:
        enc["color"] = alt.Color(f"{col}:N", title=col.replace("_", " "))
    text = title or f"{measure.replace('_', ' ')} per period" + (f" by {col.replace('_', ' ')}" if col else "")
    return base.encode(**enc).properties(title=_title(text, df, synthetic), width=600, height=300)


def detection_rate_chart(df: pl.DataFrame, *, color: str | None = None, title: str | None = None,
                         synthetic: bool | None = None) -> alt.Chart:
    """Detection rate (``trends``) or fraud rate (``declaration_trends``) per period, as percent.

    Example: ``detection_rate_chart(trends(s, by="transport", freq="quarter"))``
    """
    rate = "detection_rate" if "detection_rate" in df.columns else "fraud_rate"
    _need(df, rate, "rate")
    col = _color_column(df, color)
    data = _plain(df, ["period", rate, *([col] if col else [])])
    enc: dict = {"x": alt.X("period:O", sort="ascending", title="period"),
                 "y": alt.Y(f"{rate}:Q", title=rate.replace("_", " "), axis=alt.Axis(format="%")),
                 "tooltip": [alt.Tooltip(f"{rate}:Q", format=".1%"), *(c for c in data.columns if c != rate)]}
    if col:
        enc["color"] = alt.Color(f"{col}:N", title=col.replace("_", " "))
    text = title or rate.replace("_", " ") + (f" by {col.replace('_', ' ')}" if col else "")
    chart = alt.Chart(data).mark_line(point=True).encode(**enc)
    return chart.properties(title=_title(text, df, synthetic), width=600, height=300)


def offenders_chart(df: pl.DataFrame, *, top: int = 10, measure: str = "confirmed", title: str | None = None,
                    synthetic: bool | None = None) -> alt.Chart:
    """Top-``top`` entities of ``repeat_offenders`` by ``measure`` as horizontal bars.

    Example: ``offenders_chart(repeat_offenders(s, role="seller"), top=15)``
    """
    _need(df, "entity_id", "label")
    _need(df, measure, "measure")
    extra = [c for c in ("cases", "declarations", "brands", "routes") if c in df.columns and c != measure]
    data = _plain(df.sort(measure, descending=True, maintain_order=True).head(top),
                  ["entity_id", measure, *extra])
    role = df["role"][0] if "role" in df.columns and df.height else "entity"
    chart = alt.Chart(data).mark_bar().encode(
        x=alt.X(f"{measure}:Q", title=measure.replace("_", " ")),
        y=alt.Y("entity_id:N", sort="-x", title=role),
        tooltip=list(data.columns),
    )
    text = title or f"top {top} {role}s by {measure.replace('_', ' ')}"
    return chart.properties(title=_title(text, df, synthetic), width=500)


def measure_chart(df: pl.DataFrame, measure: str) -> alt.Chart:
    """The chart for one measure of ``trends``/``declaration_trends``: a rate gets the rate chart.

    Example: ``measure_chart(declaration_trends(s, by="office"), "fraud_rate")``
    """
    if measure in ("detection_rate", "fraud_rate"):
        return detection_rate_chart(df)
    return trend_chart(df, measure=measure)


def network_chart(nodes: pl.DataFrame, edges: pl.DataFrame, *, labels: int = 25, title: str | None = None,
                  synthetic: bool | None = None) -> alt.LayerChart:
    """The network of ``kcs_kit.analytics.network.network_layout``: edges as lines (width = flagged lines),
    entities as dots coloured by type (size = weighted degree), the ``labels`` most connected named.

    Example: ``network_chart(*network_layout(entity_links(s, min_weight=2)))``
    """
    for col in ("node", "type", "label", "x", "y", "degree"):
        _need(nodes, col, "node")
    axis: dict[str, Any] = {"axis": None, "scale": alt.Scale(domain=[-1.15, 1.15])}
    lines = alt.Chart(_plain(edges, ["source", "target", "weight", "confirmed", "x", "y", "x2", "y2"])).mark_rule(
        color="#8c959f", opacity=0.5).encode(
        x=alt.X("x:Q", **axis), y=alt.Y("y:Q", **axis), x2="x2:Q", y2="y2:Q",
        strokeWidth=alt.StrokeWidth("weight:Q", scale=alt.Scale(range=[0.5, 4]), legend=None),
        tooltip=["source", "target", "weight", "confirmed"])
    data = _plain(nodes, ["node", "type", "label", "x", "y", "degree", "confirmed"])
    dots = alt.Chart(data).mark_circle(opacity=0.9, stroke="white", strokeWidth=0.5).encode(
        x=alt.X("x:Q", **axis), y=alt.Y("y:Q", **axis),
        color=alt.Color("type:N", title="entity", scale=alt.Scale(
            domain=["importer", "seller", "declarant", "brand", "route"],
            range=["#cf222e", "#8250df", "#9a6700", "#1a7f37", "#0969da"])),
        size=alt.Size("degree:Q", scale=alt.Scale(range=[30, 600]), title="flagged lines"),
        tooltip=["type", "label", "degree", "confirmed"])
    named = data.sort("degree", descending=True).head(labels)
    text = alt.Chart(named).mark_text(dy=-10, fontSize=10).encode(x=alt.X("x:Q", **axis), y=alt.Y("y:Q", **axis),
                                                                    text="label:N")
    head = title or "repeat-offender network: importers, sellers, declarants, brands and routes"
    chart = alt.layer(lines, dots, text).properties(title=_title(head, nodes, synthetic), width=640, height=520)
    return chart  # type: ignore[return-value]
