"""The policy evaluation report: what enforcement achieved per period, from the lake and the case file.

Sources: ``declarations`` (the inflow: declarations and their declared value), goods lines of ``ipr_lines``
(inspections, suspicions, confirmed counterfeits, seized value, false alarms, the pre-AI time to notify;
SYNTHETIC in the demo workspace) and the case file (``case_events``: officers' cases, their decisions and
notices: reading accuracy and the time from photo to notice with the AI workbench).

Definitions (per period bucket of ``declared_on``, or of the case's opening):
- flagged: goods lines ever suspected (``suspected_at`` set); confirmed: outcome confirmed_counterfeit;
- false alarms: flagged lines cleared as genuine; false_alarm_rate = false alarms / flagged;
- seized_per_mille_inflow: seized (genuine-equivalent) value per 1,000 KRW of declared inflow value;
- notify_minutes_median / _p90: suspicion -> right holder notified, the visual-inspection baseline;
- cases: reading accuracy = decided cases (confirm or reject) where the officer agreed with rank 1
  (confirmed the top design, or rejected when the match said "no registered design");
  case_notify_minutes_median: photo received -> notice written.

Example::

    >>> from kcs_kit.report import policy_report
    >>> rep = policy_report(settings, period="2020Q1:2021Q1", freq="quarter")  # doctest: +SKIP
    >>> Path("report.html").write_text(rep.to_html())  # doctest: +SKIP
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from kcs_kit.analytics import _db
from kcs_kit.analytics.dimensions import LINE_DIMENSIONS, where_clause
from kcs_kit.analytics.periods import Period, check_freq, parse_period

if TYPE_CHECKING:
    import polars as pl

    from kcs_kit.config import Settings

_TRUNC = {"month": "month", "quarter": "quarter", "year": "year"}
_LINES_SQL = """SELECT date_trunc('{unit}', declared_on)::DATE AS period_start,
    count(*) AS lines,
    count(*) FILTER (WHERE inspection_outcome <> 'not_inspected') AS inspected,
    count(*) FILTER (WHERE suspected_at IS NOT NULL) AS flagged,
    count(*) FILTER (WHERE inspection_outcome = 'confirmed_counterfeit') AS confirmed,
    count(*) FILTER (WHERE suspected_at IS NOT NULL AND inspection_outcome = 'cleared_genuine') AS false_alarms,
    coalesce(sum(seizure_value_krw), 0) AS seized_value_krw,
    median(notify_minutes) AS notify_minutes_median,
    quantile_cont(notify_minutes, 0.9) AS notify_minutes_p90,
    bool_or(synthetic) AS synthetic
FROM ipr_lines WHERE {where} GROUP BY ALL"""
_INFLOW_SQL = """SELECT date_trunc('{unit}', declared_on)::DATE AS period_start, count(*) AS declarations,
    coalesce(sum(item_price_krw), 0) AS inflow_value_krw FROM declarations WHERE {where} GROUP BY ALL"""
_WORKLOAD_SQL = """SELECT date_trunc('{unit}', declared_on)::DATE AS period_start, office_id,
    count(*) FILTER (WHERE inspection_outcome <> 'not_inspected') AS inspected,
    count(*) FILTER (WHERE suspected_at IS NOT NULL) AS flagged,
    count(*) FILTER (WHERE inspection_outcome = 'confirmed_counterfeit') AS confirmed
FROM ipr_lines WHERE {where} GROUP BY ALL HAVING count(*) FILTER (WHERE inspection_outcome <> 'not_inspected') > 0"""


@dataclass(frozen=True)
class PolicyReport:
    """The report's tables; ``synthetic`` when any goods line behind it is generated."""

    period: str
    freq: str
    by_period: pl.DataFrame
    workload: pl.DataFrame
    cases: pl.DataFrame
    synthetic: bool

    def summary(self) -> dict[str, Any]:
        """Totals over the whole period (what a one-page brief quotes)."""
        t = self.by_period
        flagged = int(t["flagged"].sum())
        inflow = float(t["inflow_value_krw"].sum())
        decided = int(self.cases["decided"].sum()) if self.cases.height else 0
        correct = int(self.cases["read_correctly"].sum()) if self.cases.height else 0
        return {
            "period": self.period, "declarations": int(t["declarations"].sum()), "inflow_value_krw": inflow,
            "inspected_lines": int(t["inspected"].sum()), "flagged_lines": flagged,
            "confirmed_lines": int(t["confirmed"].sum()), "false_alarms": int(t["false_alarms"].sum()),
            "false_alarm_rate": int(t["false_alarms"].sum()) / flagged if flagged else None,
            "seized_value_krw": float(t["seized_value_krw"].sum()),
            "seized_per_mille_inflow": 1000 * float(t["seized_value_krw"].sum()) / inflow if inflow else None,
            "cases": int(self.cases["cases"].sum()) if self.cases.height else 0, "decided_cases": decided,
            "reading_accuracy": correct / decided if decided else None, "synthetic": self.synthetic,
        }

    def to_html(self) -> str:
        """A self-contained HTML page: summary, tables per period, workload by office."""
        note = ("<p style='color:#b00020'>Goods lines in this workspace are SYNTHETIC: these are demo figures, "
                "not enforcement results.</p>") if self.synthetic else ""
        summary = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>"
                          for k, v in self.summary().items())
        return (f"<html><head><meta charset='utf-8'><title>Policy evaluation {html.escape(self.period)}</title>"
                f"</head><body><h1>Policy evaluation report, {html.escape(self.period)} (per {self.freq})</h1>"
                f"{note}<h2>Summary</h2><table>{summary}</table><h2>By period</h2>{self.by_period._repr_html_()}"
                f"<h2>Officers' cases</h2>{self.cases._repr_html_()}"
                f"<h2>Workload by office</h2>{self.workload._repr_html_()}</body></html>")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.0f}"
    return html.escape(str(v))


def _label(df: pl.DataFrame, freq: str) -> pl.DataFrame:
    import polars as pl

    d = pl.col("period_start")
    label = {"month": d.dt.strftime("%Y-%m"), "year": d.dt.year().cast(pl.String),
             "quarter": pl.concat_str([d.dt.year().cast(pl.String), pl.lit("Q"), d.dt.quarter().cast(pl.String)])}
    return df.with_columns(label[freq].alias("period")).select("period", pl.exclude("period"))


def _lake_tables(settings: Settings, per: Period, freq: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    import polars as pl

    unit = _TRUNC[freq]
    where, params = where_clause(per, None, LINE_DIMENSIONS, "goods lines")
    lines = _db.run(settings, _LINES_SQL.format(unit=unit, where=where), params, goods=True)
    inflow = _db.run(settings, _INFLOW_SQL.format(unit=unit, where=where), params, goods=False)
    workload = _db.run(settings, _WORKLOAD_SQL.format(unit=unit, where=where), params, goods=True)
    t = inflow.join(lines, on="period_start", how="full", coalesce=True).sort("period_start").fill_null(
        strategy="zero").with_columns(
        (pl.col("false_alarms") / pl.when(pl.col("flagged") > 0).then(pl.col("flagged"))).alias("false_alarm_rate"),
        (pl.col("confirmed") / pl.when(pl.col("inspected") > 0).then(pl.col("inspected"))).alias("detection_rate"),
        (1000 * pl.col("seized_value_krw") / pl.when(pl.col("inflow_value_krw") > 0)
         .then(pl.col("inflow_value_krw"))).alias("seized_per_mille_inflow"))
    return _label(t, freq), _label(workload.sort("period_start", "office_id"), freq)


def case_table(settings: Settings, per: Period | None, freq: str) -> pl.DataFrame:
    """Officers' cases per period of opening: cases, decided, confirmed, rejected, unsure, notified,
    read_correctly, reading_accuracy and case_notify_minutes_median (photo received -> notice)."""
    import polars as pl

    from kcs_kit.explain.case import list_cases
    from kcs_kit.explain.events import read_events

    notified_at: dict[str, Any] = {}
    for e in read_events(settings):
        if e.kind == "notified":
            notified_at[e.case_id] = e.at
    cases = list_cases(settings).filter(pl.col("opened_at").is_not_null())
    rows = []
    for r in cases.iter_rows(named=True):
        day: date = r["opened_at"].date()
        if per is not None and not per.start <= day < per.end:
            continue
        decided = r["status"] in ("confirmed", "rejected", "notified")
        correct = decided and ((r["design_id"] is not None and r["design_id"] == r["top_design"])
                               or (r["status"] == "rejected" and r["top_design"] is None))
        done = notified_at.get(r["case_id"])
        rows.append({"period_start": _bucket(day, freq), "status": r["status"], "decided": decided,
                     "correct": correct,
                     "minutes": (done - r["opened_at"]).total_seconds() / 60 if done else None})
    schema = {"period_start": pl.Date, "status": pl.String, "decided": pl.Boolean, "correct": pl.Boolean,
              "minutes": pl.Float64}
    df = pl.DataFrame(rows, schema=schema)
    out = df.group_by("period_start").agg(
        pl.len().alias("cases"), pl.col("decided").sum().alias("decided"),
        *(pl.col("status").eq(s).sum().alias(s) for s in ("confirmed", "rejected", "unsure", "notified")),
        pl.col("correct").sum().alias("read_correctly"),
        pl.col("minutes").median().alias("case_notify_minutes_median"))
    out = out.with_columns((pl.col("read_correctly") / pl.when(pl.col("decided") > 0).then(pl.col("decided")))
                           .alias("reading_accuracy"))
    return _label(out.sort("period_start"), freq)


def _bucket(d: date, freq: str) -> date:
    from kcs_kit.analytics.periods import bucket_start

    return bucket_start(d, freq)


def policy_report(settings: Settings, *, period: str | Period, freq: str = "quarter",
                  cases_period: str | Period | None = "same") -> PolicyReport:
    """The report for ``period`` (e.g. "2020Q1:2021Q1", "2020") per ``freq`` (month, quarter, year).
    Officers' cases are counted over ``cases_period`` ("same": ``period``; None: every case in the file).

    Raises GoodsLinesMissingError before goods lines exist (``kcs lake synth``).
    """
    check_freq(freq)
    per = parse_period(period)
    by_period, workload = _lake_tables(settings, per, freq)
    cases = case_table(settings, per if cases_period == "same" else
                       parse_period(cases_period) if cases_period is not None else None, freq)
    synthetic = bool(by_period["synthetic"].any()) if by_period.height else False
    return PolicyReport(str(period), freq, by_period, workload, cases, synthetic)


def report_charts(report: PolicyReport) -> dict[str, Any]:
    """Altair charts of the report: seized value against inflow, false alarms, pre-AI time to notify,
    workload by office."""
    import altair as alt
    import polars as pl

    from kcs_kit.analytics.charts import SYNTHETIC_NOTE

    def title(text: str) -> alt.TitleParams:
        return alt.TitleParams(text, subtitle=SYNTHETIC_NOTE if report.synthetic else "", subtitleColor="#b00020")

    t = report.by_period.drop("synthetic")
    x = alt.X("period:O", title="period")
    seized = alt.Chart(t).mark_bar(color="#1a7f37").encode(
        x=x, y=alt.Y("seized_per_mille_inflow:Q", title="seized KRW per 1,000 KRW declared"),
        tooltip=["period", "declarations", "inflow_value_krw", "seized_value_krw", "seized_per_mille_inflow"],
    ).properties(title=title("detected and seized value against inflow"), width=420, height=220)
    long = t.select("period", "flagged", "confirmed", "false_alarms").unpivot(index="period", variable_name="what",
                                                                               value_name="lines")
    alarms = alt.Chart(long).mark_line(point=True).encode(
        x=x, y=alt.Y("lines:Q"), color=alt.Color("what:N"), tooltip=["period", "what", "lines"],
    ).properties(title=title("flagged lines, confirmed counterfeits and false alarms"), width=420, height=220)
    notify = alt.Chart(t).mark_bar(color="#9a6700").encode(
        x=x, y=alt.Y("notify_minutes_median:Q", title="minutes (median)"),
        tooltip=["period", "notify_minutes_median", "notify_minutes_p90"],
    ).properties(title=title("time to notify the right holder, visual inspection"), width=420, height=220)
    busiest = (report.workload.group_by("office_id").agg(pl.col("inspected").sum())
               .sort(["inspected", "office_id"], descending=[True, False]).head(8)["office_id"])
    w = report.workload.with_columns(pl.when(pl.col("office_id").is_in(busiest.implode())).then(pl.col("office_id"))
                                     .otherwise(pl.lit("other")).alias("office_id")
                                     ).group_by("period", "office_id").agg(pl.col("inspected").sum())
    workload = alt.Chart(w).mark_bar().encode(
        x=x, y=alt.Y("inspected:Q", title="goods lines inspected"), color=alt.Color("office_id:N", title="office"),
        tooltip=["period", "office_id", "inspected"],
    ).properties(title=title("inspection workload by office"), width=420, height=220)
    return {"seized": seized, "alarms": alarms, "notify": notify, "workload": workload}


def report_dashboard(report: PolicyReport) -> Any:
    """The four charts of ``report_charts`` in a 2 x 2 grid, each with its own colour legend."""
    c = report_charts(report)
    return ((c["seized"] | c["alarms"]) & (c["notify"] | c["workload"])).resolve_scale(color="independent")
