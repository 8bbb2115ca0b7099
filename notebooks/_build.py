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


def write(name: str, cells: list) -> Path:
    nb = nbf.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = HERE / name
    nbf.write(nb, path)
    return path


if __name__ == "__main__":
    print(write("00_quickstart.ipynb", QUICKSTART))
