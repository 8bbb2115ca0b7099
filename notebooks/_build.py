"""Writes the notebooks from plain cell lists (run: python notebooks/_build.py); committed without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).parent


def md(text: str):
    return nbf.v4.new_markdown_cell(text.strip())


def code(text: str, tags: list[str] | None = None):
    cell = nbf.v4.new_code_cell(text.strip())
    if tags:
        cell.metadata["tags"] = tags
    return cell


QUICKSTART = [
    md("""
# kcs-kit quick start

The demo workspace: 45,519 KCS synthetic import declarations (2020-01..2021-03) in the DuckDB + Parquet
lake, plus **synthetic** goods lines with brands and IPR inspection outcomes (see docs/SYNTHETIC.md).
Run all cells; building the demo workspace takes a few seconds the first time and is reused after.
"""),
    code("""
# Parameters (papermill): the workspace folder; None = the repo root (KCS_WORKSPACE if set)
workspace = None
period = "2020Q1:2021Q1"
registry_limit = None  # import only the first N demo marks; None imports all 3,453 (minutes, once)
""", tags=["parameters"]),
    code("""
from kcs_kit.config import load_settings
from kcs_kit.demo import build_demo
from kcs_kit.lake.status import lake_status

settings = load_settings(workspace=workspace)
summary = build_demo(settings, registry_limit=registry_limit, log=print)
lake_status(settings)
"""),
    md("""
## The design registry
The demo marks (Simple Icons, CC0 with a trademark disclaimer) stand in for registered marks; right
holders, registration numbers and goods classes are **synthetic**.
"""),
    code("""
from IPython.display import Image

from kcs_kit.registry.sheet import contact_sheet
from kcs_kit.registry.store import list_designs

designs = list_designs(settings, status="registered", limit=12)
display(designs.select("design_id", "title", "right_holder", "registration_no", "classes"))
Image(contact_sheet(settings, list(designs["design_id"])))
"""),
    md("## Confirmed counterfeits per quarter, by origin (synthetic goods lines)"),
    code("""
from kcs_kit.analytics import trends
from kcs_kit.analytics.charts import trend_chart

by_origin = trends(settings, by="origin", freq="quarter", period=period)
trend_chart(by_origin, measure="confirmed", mark="bar")
"""),
    md("## Detection rate by transport mode"),
    code("""
from kcs_kit.analytics.charts import detection_rate_chart

detection_rate_chart(trends(settings, by="transport", freq="quarter", period=period))
"""),
    md("## Repeat offenders: importers with two or more suspected or confirmed lines"),
    code("""
from kcs_kit.analytics import repeat_offenders
from kcs_kit.analytics.charts import offenders_chart

offenders = repeat_offenders(settings, role="importer", min_cases=2, period=period)
display(offenders.head(10))
offenders_chart(offenders, top=10)
"""),
    md("## Declarations and duty-fraud rate per month (the real-data-derived part of the lake)"),
    code("""
from kcs_kit.analytics import declaration_trends

declaration_trends(settings, freq="month", period=period).select("period", "declarations", "fraud", "fraud_rate")
"""),
]


OFFICER = [
    md("""
# Officer: match a photographed item

Upload one or more photos of the item (optionally draw a crop box as `x0,y0,x1,y1` in pixels of photo 1 and
enter the declaration number). The workbench opens a **case**, shows the registered designs the item may copy,
ranked, with right holder, registration number and probability, and the evidence for each. Record your
decision (confirm / reject / unsure); a confirmed case can be sent to the right holder at once.

The demo registry's right holders and registration numbers are **synthetic** (Simple Icons marks stand in for
registered marks).
"""),
    code("""
# Parameters (papermill)
workspace = None  # the workspace folder; None = the repo root (KCS_WORKSPACE if set)
registry_limit = None  # import only the first N demo marks; None imports all 3,453 (minutes, once)
officer = None  # your officer ID for the case file; None = the officer_id setting
sample_design = "7zip"  # the demo mark shown on the SYNTHETIC sample photo
use_sample = False  # True: put the sample photo into the workbench below without uploading
""", tags=["parameters"]),
    code("""
from kcs_kit.config import load_settings
from kcs_kit.demo import build_demo

settings = load_settings(workspace=workspace)
summary = build_demo(settings, registry_limit=registry_limit, log=print)
"""),
    md("## The workbench\nClick **Photos** and choose the photos of one item; matching starts when they arrive."),
    code("""
from widgets import MatchWorkbench

wb = MatchWorkbench(settings, officer=officer)
wb
"""),
    md("""
## No photo at hand?
This writes a **SYNTHETIC** sample photo of a demo mark (printed on a textured surface, seen at a slant) to the
workspace: upload that file above. With `use_sample = True` it goes straight into the workbench.
"""),
    code("""
from kcs_kit.demo_photo import sample_photo

sample = settings.workspace / "samples" / f"sample-{sample_design}.jpg"
sample.parent.mkdir(parents=True, exist_ok=True)
sample.write_bytes(sample_photo(settings, sample_design, seed=0))
print("sample photo:", sample)
if use_sample:
    wb.set_photos([(sample.name, sample.read_bytes())])
    print("case", wb.case_id, "- rank 1:", wb.result.candidates[0].design_id if wb.result else None, wb.error)
"""),
    md("## Case queue\nOpen cases, decisions and notices; **Open in workbench** shows a case in the workbench above."),
    code("""
from widgets import CaseQueue

CaseQueue(settings, workbench=wb)
"""),
]

ANALYST = [
    md("""
# Analyst: infringement trends and repeat-offender networks

Trends over the clearance records (period, origin, transport mode, HS chapter, brand, right holder), the goods
lines behind any bar, repeat offenders and the links between importers, sellers, declarants, brands and routes.
Goods lines, brands and inspection outcomes of the demo workspace are **synthetic** (docs/SYNTHETIC.md).
"""),
    code("""
# Parameters (papermill)
workspace = None  # the workspace folder; None = the repo root (KCS_WORKSPACE if set)
registry_limit = None  # unused here (the lake is all this notebook reads); kept so that every notebook takes it
period = "2020Q1:2021Q1"
min_cases = 3  # a repeat offender has at least this many suspected or confirmed goods lines
""", tags=["parameters"]),
    code("""
from kcs_kit.config import load_settings
from kcs_kit.demo import build_demo

settings = load_settings(workspace=workspace)
summary = build_demo(settings, registry=False, log=print)
"""),
    md("## Trend explorer\nFilter, pick a bar under *Drill down* to list the goods lines behind it, export CSV."),
    code("""
from widgets import TrendExplorer

explorer = TrendExplorer(settings, period=period, by="origin", measure="confirmed")
explorer
"""),
    md("## Repeat offenders"),
    code("""
from kcs_kit.analytics import repeat_offenders
from kcs_kit.analytics.charts import offenders_chart

importers = repeat_offenders(settings, role="importer", min_cases=min_cases, period=period)
sellers = repeat_offenders(settings, role="seller", min_cases=min_cases, period=period)
display(importers.head(10))
offenders_chart(importers, top=15)
"""),
    md("""
## The network of importers, sellers, brands and routes
The most connected importers and sellers with their heaviest links (sellers, declarants, brands and routes
"origin>departure/mode") over suspected or confirmed goods lines. Hover for IDs and counts.
"""),
    code("""
from kcs_kit.analytics import entity_links
from kcs_kit.analytics.charts import network_chart
from kcs_kit.analytics.network import network_layout

links = entity_links(settings, period=period, min_weight=1)
nodes, edges = network_layout(links, max_nodes=60)
network_chart(nodes, edges)
"""),
    md("## One repeat offender's declarations"),
    code("""
import polars as pl

from kcs_kit.analytics import drilldown

worst = importers["entity_id"][0]
flagged = drilldown(settings, period=period, filters={"outcome": ["suspected", "confirmed_counterfeit"]},
                    limit=100_000)
flagged.filter(pl.col("importer_id") == worst)
"""),
]

POLICY = [
    md("""
# Policy: evaluation report

Reading accuracy, time to notify the right holder, detected and seized value against the inflow of goods,
false alarms and inspection workload, by period. Figures from goods lines are **synthetic** in the demo
workspace; officers' cases come from the case file (every case in it unless `cases_period` is set).
The measured matching accuracy on the synthetic photo benchmark is in docs/BENCHMARKS.md (`kcs eval`).
"""),
    code("""
# Parameters (papermill)
workspace = None  # the workspace folder; None = the repo root (KCS_WORKSPACE if set)
registry_limit = None  # unused here; kept so that every notebook takes it
period = "2020Q1:2021Q1"
freq = "quarter"  # month | quarter | year
cases_period = None  # officers' cases counted: None = all in the case file, or e.g. "2026"
""", tags=["parameters"]),
    code("""
from kcs_kit.config import load_settings
from kcs_kit.demo import build_demo

settings = load_settings(workspace=workspace)
summary = build_demo(settings, registry=False, log=print)
"""),
    code("""
from kcs_kit.report import policy_report
from kcs_kit.report.policy import report_dashboard

report = policy_report(settings, period=period, freq=freq, cases_period=cases_period)
report.summary()
"""),
    md("## By period"),
    code("""
report.by_period.drop("period_start")
"""),
    code("""
report_dashboard(report)
"""),
    md("""
## Officers' cases: reading accuracy and time to notify with the workbench
Reading accuracy = decided cases where the officer agreed with rank 1; minutes = photo received -> notice.
"""),
    code("""
report.cases
"""),
    md("## The report as one HTML file"),
    code("""
out = settings.workspace / "reports" / f"policy-{period.replace(':', '_')}-{freq}.html"
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(report.to_html(), encoding="utf-8")
print(out)
"""),
]


def write(name: str, cells: list) -> Path:
    nb = nbf.v4.new_notebook()
    nb.cells = cells
    for i, cell in enumerate(cells):  # stable IDs: regenerating gives the same file
        cell.id = f"c{i:02d}"
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = HERE / name
    nbf.write(nb, path)
    return path


if __name__ == "__main__":
    for name, cells in (("00_quickstart.ipynb", QUICKSTART), ("01_officer.ipynb", OFFICER),
                        ("02_analyst.ipynb", ANALYST), ("03_policy.ipynb", POLICY)):
        print(write(name, cells))
