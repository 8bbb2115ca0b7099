"""Policy evaluation report, offender network layout, declaration record and the sample photo: exact
expectations against the shared demo workspace."""

from __future__ import annotations

import io

import polars as pl
import pytest
from demo_ws import SAMPLE_DESIGN, demo_workspace


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    from kcs_kit.config import load_settings

    return load_settings(workspace=demo_workspace(tmp_path_factory), env={})


def test_policy_report_agrees_with_the_trend_queries(settings):
    from kcs_kit.analytics import declaration_trends, trends
    from kcs_kit.report import policy_report

    rep = policy_report(settings, period="2020Q1:2021Q1", freq="quarter")
    t = trends(settings, freq="quarter", period="2020Q1:2021Q1")
    d = declaration_trends(settings, freq="quarter", period="2020Q1:2021Q1")
    assert list(rep.by_period["period"]) == ["2020Q1", "2020Q2", "2020Q3", "2020Q4", "2021Q1"]
    assert rep.by_period["confirmed"].to_list() == t["confirmed"].to_list()
    assert rep.by_period["inspected"].to_list() == t["inspected"].to_list()
    assert rep.by_period["declarations"].to_list() == d["declarations"].to_list()
    assert rep.by_period["seized_value_krw"].sum() == pytest.approx(t["seized_value_krw"].sum())
    s = rep.summary()
    assert s["declarations"] == 45_519 and s["confirmed_lines"] == 652 and s["synthetic"]
    assert 0 < s["false_alarm_rate"] < 0.5 and s["false_alarms"] <= s["flagged_lines"]
    assert rep.workload["inspected"].sum() == s["inspected_lines"]
    from kcs_kit.report.policy import report_dashboard

    spec = report_dashboard(rep).to_dict()
    assert spec["resolve"]["scale"]["color"] == "independent" and len(spec["vconcat"]) == 2
    html = rep.to_html()
    assert "SYNTHETIC" in html and "reading_accuracy" in html


def test_policy_report_counts_officers_cases(settings):
    from kcs_kit.demo_photo import sample_photo
    from kcs_kit.explain.case import decide, open_case
    from kcs_kit.report import policy_report

    case = open_case(settings, [sample_photo(settings, SAMPLE_DESIGN, seed=0)], officer="lee")
    decide(settings, case.case_id, "confirm", officer="lee")
    rep = policy_report(settings, period="2020", cases_period=None)
    assert rep.cases["cases"].sum() >= 1 and rep.cases["read_correctly"].sum() >= 1
    assert 0 < rep.summary()["reading_accuracy"] <= 1


def test_network_layout_is_deterministic_and_bounded(settings):
    from kcs_kit.analytics import entity_links
    from kcs_kit.analytics.charts import network_chart
    from kcs_kit.analytics.network import network_layout

    links = entity_links(settings, period="2020Q1:2021Q1")
    nodes, edges = network_layout(links, max_nodes=40)
    again, _ = network_layout(links, max_nodes=40)
    assert 0 < nodes.height <= 40 and nodes.equals(again)
    assert set(nodes["type"]) >= {"importer", "brand"}
    assert set(edges["source"]) | set(edges["target"]) <= set(nodes["node"])
    assert nodes["x"].abs().max() <= 1.0 + 1e-9
    spec = network_chart(nodes, edges).to_dict()
    assert "synthetic" in str(spec["title"])


def test_declaration_record_and_unknown_declaration(settings):
    from kcs_kit.analytics.declarations import declaration_record
    from kcs_kit.errors import NotFoundError
    from kcs_kit.lake import catalog

    with catalog.connect(settings, read_only=True) as con:
        decl, importer = con.execute(
            "SELECT declaration_id, importer_id FROM ipr_lines WHERE inspection_outcome = 'confirmed_counterfeit' "
            "ORDER BY declared_on DESC, declaration_id LIMIT 1").fetchall()[0]
    rec = declaration_record(settings, decl)
    assert rec.facts["declaration_id"] == decl and rec.facts["importer_id"] == importer
    assert rec.lines.height >= 1 and (rec.lines["inspection_outcome"] == "confirmed_counterfeit").any()
    assert decl not in rec.history["declaration_id"].to_list()
    assert set(rec.history.filter(pl.col("role") == "importer")["party_id"]) <= {importer}
    with pytest.raises(NotFoundError, match="'nope'"):
        declaration_record(settings, "nope")


def test_sample_photo_is_deterministic_and_labelled_synthetic(settings):
    from PIL import Image

    from kcs_kit.demo_photo import sample_photo

    a, b = sample_photo(settings, SAMPLE_DESIGN, seed=3), sample_photo(settings, SAMPLE_DESIGN, seed=3)
    assert a == b and a != sample_photo(settings, SAMPLE_DESIGN, seed=4)
    with Image.open(io.BytesIO(a)) as im:
        assert im.format == "JPEG" and im.size == (1200, 900)
        assert "SYNTHETIC" in im.getexif()[0x010E]
