"""TrendExplorer: the analyst's view over ``kcs_kit.analytics``: filters -> chart and table, drill down
from a bar to the goods lines and declarations behind it, export CSV.

State: ``frame`` (the trend table), ``chart`` (its altair chart), ``drill_frame`` (the rows behind the
chosen bar), ``export_path`` and ``error``.

Example (in a notebook)::

    from widgets import TrendExplorer
    te = TrendExplorer(settings)
    te  # or in code: te.by.value = "brand"; te.origin.value = ("CN",); te.frame
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Any

import ipywidgets as w
import traitlets as t

from kcs_kit.config import Settings, load_settings
from widgets._common import CSS, Frame, frame_html, message, shows_errors

BY = ("origin", "departure", "transport", "office", "hs_chapter", "category", "brand", "right_holder", "outcome")
MEASURES = ("confirmed", "suspected", "inspected", "lines", "seized_value_krw", "detection_rate")
FILTERS = ("origin", "transport", "hs_chapter", "brand", "right_holder")
_LABEL_OF = {"transport": "transport_name"}
TOP = 8  # groups drawn in the chart


def _svg(chart: Any) -> str:
    """The chart as inline SVG (vl-convert): drawn in the kernel, so it shows without internet and without
    an Output widget (whose captured multi-megabyte Vega bundles stall headless notebook runs)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_json())


class TrendExplorer(w.VBox):
    """Filters (period, origin, transport mode, HS chapter, brand, right holder) -> chart and table."""

    frame = Frame(None, help="polars DataFrame of the current trend (kcs_kit.analytics.trends)")
    chart = Frame(None, help="the altair chart of ``frame``")
    drill_frame = Frame(None, help="the goods lines behind the chosen bar")
    export_path = t.Unicode("", help="the last CSV written")
    error = t.Unicode("")

    def __init__(self, settings: Settings | None = None, *, period: str = "2020Q1:2021Q1",
                 freq: str = "quarter", by: str = "origin", measure: str = "confirmed", **kwargs: Any) -> None:
        self.settings = settings or load_settings()
        self.period = w.Text(value=period, description="Period", placeholder="2020Q1:2021Q1, 2020, 2020-03")
        self.freq = w.Dropdown(options=("month", "quarter", "year"), value=freq, description="Per")
        self.by = w.Dropdown(options=BY, value=by, description="By")
        self.measure = w.Dropdown(options=MEASURES, value=measure, description="Measure")
        self.filters = {name: w.SelectMultiple(options=self._values(name), description=name.replace("_", " "),
                                               rows=5, layout=w.Layout(width="230px")) for name in FILTERS}
        self.clear = w.Button(description="Clear filters", icon="eraser")
        self.drill = w.Dropdown(options=[], description="Bar", layout=w.Layout(width="420px"))
        self.drill_source = w.ToggleButtons(options=("lines", "declarations"), value="lines")
        self.export = w.Button(description="Export CSV", icon="download")
        self.status = w.HTML("")
        self.chart_view = w.HTML("")
        self.table = w.HTML("")
        self.drill_table = w.HTML("")
        self.download = w.HTML("")
        self._wire()
        super().__init__([
            w.HTML(CSS + "<h3>Infringement trends</h3><span class='kcs-synthetic'>Goods lines, brands and "
                   "outcomes of the demo workspace are SYNTHETIC.</span>"),
            w.HBox([self.period, self.freq, self.by, self.measure]),
            w.HBox([*self.filters.values(), self.clear]), self.status, self.chart_view, self.table,
            w.HTML("<h4>Drill down: the goods lines or declarations behind one bar</h4>"),
            w.HBox([self.drill, self.drill_source]), self.drill_table, w.HBox([self.export, self.download]),
        ], **kwargs)
        self.add_class("kcs-trends")
        self.refresh()

    def _wire(self) -> None:
        for control in (self.period, self.freq, self.by, self.measure, *self.filters.values()):
            control.observe(lambda _c: self.refresh(), names=["value"])
        self.clear.on_click(lambda _b: self.clear_filters())
        self.drill.observe(lambda _c: self.show_drill(), names=["value"])
        self.drill_source.observe(lambda _c: self.show_drill(), names=["value"])
        self.export.on_click(lambda _b: self.export_csv())
        self.observe(self._render_error, names=["error"])

    def _values(self, name: str) -> tuple[str, ...]:
        """The values of one filter, most frequent first (from flagged and other goods lines)."""
        import polars as pl

        from kcs_kit.analytics import trends

        df = trends(self.settings, by=name, freq="year")
        col = df.columns[2]
        sums = df.group_by(col).agg(pl.col("lines").sum())
        top = sums.drop_nulls(col).sort(["lines", col], descending=[True, False]).head(60)
        return tuple(str(v) for v in top[col])

    def _render_error(self, _change: dict) -> None:
        self.status.value = message(self.error, "error") if self.error else ""

    def current_filters(self) -> dict[str, list[str]]:
        return {name: list(sel.value) for name, sel in self.filters.items() if sel.value}

    def clear_filters(self) -> None:
        for sel in self.filters.values():
            sel.value = ()

    @shows_errors
    def refresh(self) -> None:
        """Query the trend for the current controls and redraw chart, table and the drill-down bars."""
        from kcs_kit.analytics import trends

        self.error = ""
        df = trends(self.settings, by=self.by.value, freq=self.freq.value, period=self.period.value.strip() or None,
                    filters=self.current_filters() or None)
        self.frame = df
        self.chart = self._chart(df) if df.height else None
        self.chart_view.value = _svg(self.chart) if self.chart is not None else \
            message("no goods lines match these filters", "info")
        self.table.value = frame_html(df.sort(self.measure.value, descending=True, nulls_last=True), 15)
        col = df.columns[2]
        shown = _LABEL_OF.get(self.by.value, col)
        bars = [(f"{r['period']} | {r[shown]} | {self.measure.value} {r[self.measure.value]}", (r["period"], r[col]))
                for r in df.filter(df["confirmed"] + df["suspected"] > 0).iter_rows(named=True) if r[col] is not None]
        self.drill.options = [("(choose a bar)", None), *bars]
        self.drill.value = None

    def _chart(self, df: Any) -> Any:
        """Bars of a count per period (a line for a rate), for the TOP groups with the largest total."""
        import polars as pl

        from kcs_kit.analytics.charts import detection_rate_chart, trend_chart

        col = df.columns[2]
        measure = self.measure.value
        weight = "confirmed" if measure == "detection_rate" else measure
        top = (df.group_by(col).agg(pl.col(weight).sum()).sort([weight, col], descending=[True, False])
               .head(TOP)[col])
        shown = df.filter(pl.col(col).is_in(top.implode()))
        more = df[col].n_unique() - shown[col].n_unique()
        note = f" (top {TOP} of {df[col].n_unique()}; all in the table)" if more > 0 else ""
        if measure == "detection_rate":
            return detection_rate_chart(shown, title=f"detection rate by {col.replace('_', ' ')}{note}")
        return trend_chart(shown, measure=measure, mark="bar",
                           title=f"{measure.replace('_', ' ')} per {self.freq.value} by {col.replace('_', ' ')}{note}")

    @shows_errors
    def show_drill(self) -> None:
        """The goods lines (or declarations) behind the chosen bar."""
        from kcs_kit.analytics import drilldown

        self.error = ""
        if self.drill.value is None:
            self.drill_frame, self.drill_table.value = None, ""
            return
        period, value = self.drill.value
        by = self.by.value
        source = self.drill_source.value
        filters = self.current_filters() or None
        if source == "declarations":  # declarations have no brand/right holder/category/outcome
            filters = {k: v for k, v in (filters or {}).items() if k in ("origin", "transport", "hs_chapter")} or None
            if by in ("brand", "right_holder", "category", "outcome"):
                self.error = f"declarations cannot be split by {by}: choose goods lines"
                return
        self.drill_frame = drilldown(self.settings, period=period, by=by, value=str(value), filters=filters,
                                     source=source)
        self.drill_table.value = (f"<p>{self.drill_frame.height} {source} behind {period} / {by} = {value}"
                                  + (" (first 200)" if self.drill_frame.height == 200 else "") + "</p>"
                                  + frame_html(self.drill_frame, 50))

    @shows_errors
    def export_csv(self) -> None:
        """Write the drill-down rows (or else the trend table) to <workspace>/exports/ and offer a download."""
        df = self.drill_frame if self.drill_frame is not None else self.frame
        if df is None:
            self.error = "nothing to export yet"
            return
        folder = self.settings.workspace / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        kind = "drilldown" if self.drill_frame is not None else "trends"
        stem = re.sub(r"[^0-9A-Za-z_-]+", "-", f"{kind}-{self.by.value}-{self.period.value}").strip("-")
        path = folder / f"{stem}-{datetime.now():%Y%m%d-%H%M%S}.csv"
        flat = df.with_columns(df[c].list.join(" | ") for c in df.columns if df[c].dtype.is_nested())
        flat.write_csv(path)
        self.export_path = str(path)
        data = base64.b64encode(path.read_bytes()).decode()
        self.download.value = (f"<a download='{path.name}' href='data:text/csv;base64,{data}'>download "
                               f"{path.name}</a> ({flat.height} rows; also saved as {path})")
