"""Analytics over a tiny hand-made lake: 12 declarations (Jan-Jun 2020) and 14 goods lines with known outcomes.

Goods lines (C confirmed, S suspected, G cleared genuine, N not inspected; seizure in M KRW):
  Jan  D01-1 C 5 Chanel, D01-2 N, D02-1 S Nike, D03-1 G Apple      Feb  D04-1 C 3 Chanel, D05-1 G Dior
  Mar  D06-1 C 4 Chanel, D06-2 C 2 LV, D07-1 S Rolex               Apr  D08-1 C 6 Chanel, D09-1 N
  May  D10-1 C 10 Rolex                                            Jun  D11-1 G Nike, D12-1 N
"""

from __future__ import annotations

import json
from datetime import date, datetime

import polars as pl
import pytest
from click.testing import CliRunner

from kcs_kit.analytics import (
    GoodsLinesMissingError,
    UnknownDimensionError,
    declaration_trends,
    drilldown,
    entity_links,
    parse_period,
    repeat_offenders,
    trends,
)
from kcs_kit.analytics.charts import SYNTHETIC_NOTE, detection_rate_chart, offenders_chart, trend_chart
from kcs_kit.cli import main
from kcs_kit.config import load_settings
from kcs_kit.errors import SchemaError
from kcs_kit.lake import catalog
from kcs_kit.lake.goods import GOODS_SCHEMA, replace_goods_lines
from kcs_kit.lake.ingest import ingest_file

HEADER = ("declaration_id,declared_on,office_id,transport_mode,importer_id,seller_id,declarant_id,courier_id,"
          "hs6,departure_country,origin_country,net_mass_kg,item_price_krw,fraud,critical_fraud")
DECLARATIONS = """\
D01,2020-01-10,40,40,IMP1,SEL1,DCL1,,420221,CN,CN,1.0,100000,1,2
D02,2020-01-20,40,40,IMP2,SEL2,DCL1,,640399,HK,CN,2.0,200000,0,0
D03,2020-01-25,20,10,IMP3,SEL3,DCL2,,851830,US,US,3.0,300000,0,0
D04,2020-02-05,40,40,IMP1,SEL1,DCL1,,420221,CN,CN,1.0,150000,1,1
D05,2020-02-15,30,10,IMP2,SEL2,DCL2,,330499,FR,FR,4.0,250000,0,0
D06,2020-03-03,40,50,IMP1,SEL5,DCL1,,420221,HK,CN,1.5,120000,1,2
D07,2020-03-18,40,40,IMP4,SEL4,DCL3,,910211,CN,CN,0.5,80000,0,0
D08,2020-04-02,40,40,IMP1,SEL1,DCL1,,420221,CN,CN,1.0,90000,1,2
D09,2020-04-20,20,10,IMP3,SEL3,DCL2,,851830,US,US,3.0,310000,0,0
D10,2020-05-11,40,50,IMP4,SEL4,DCL3,,910211,CN,CN,0.5,70000,1,1
D11,2020-06-30,40,40,IMP2,SEL2,DCL1,,640399,HK,CN,2.0,210000,0,0
D12,2020-06-15,30,10,IMP5,SEL6,DCL2,,330499,FR,FR,4.0,260000,0,0
"""
C, S, G, N = "confirmed_counterfeit", "suspected", "cleared_genuine", "not_inspected"
M = 1_000_000.0
# (declaration, line_no, category, hs6, brand, right holder, outcome, seizure)
LINES = [
    ("D01", 1, "bags", "420221", "Chanel", "Chanel SAS", C, 5 * M),
    ("D01", 2, "bags", "420221", None, None, N, 0.0),
    ("D02", 1, "footwear", "640399", "Nike", "Nike Inc", S, 0.0),
    ("D03", 1, "electronics", "851830", "Apple", "Apple Inc", G, 0.0),
    ("D04", 1, "bags", "420221", "Chanel", "Chanel SAS", C, 3 * M),
    ("D05", 1, "cosmetics", "330499", "Dior", "Christian Dior", G, 0.0),
    ("D06", 1, "bags", "420221", "Chanel", "Chanel SAS", C, 4 * M),
    ("D06", 2, "bags", "420221", "Louis Vuitton", "LVMH", C, 2 * M),
    ("D07", 1, "watches", "910211", "Rolex", "Rolex SA", S, 0.0),
    ("D08", 1, "bags", "420221", "Chanel", "Chanel SAS", C, 6 * M),
    ("D09", 1, "electronics", "851830", None, None, N, 0.0),
    ("D10", 1, "watches", "910211", "Rolex", "Rolex SA", C, 10 * M),
    ("D11", 1, "footwear", "640399", "Nike", "Nike Inc", G, 0.0),
    ("D12", 1, "cosmetics", "330499", "Dior", "Christian Dior", N, 0.0),
]


def _goods_frame() -> pl.DataFrame:
    rows = []
    for decl, no, cat, hs6, brand, holder, outcome, seized in LINES:
        flagged = outcome in (S, C)
        rows.append({
            "line_id": f"{decl}-{no}", "declaration_id": decl, "line_no": no,
            "description_en": f"{cat} item", "description_ko": None, "product_category": cat, "hs6": hs6,
            "claimed_brand": brand.lower().replace(" ", "-") if brand else None, "brand_title": brand,
            "right_holder": holder, "quantity": 1, "unit_value_krw": 10000.0,
            "genuine_unit_price_krw": 1000000.0 if brand else None, "photo_ref": None,
            "inspection_outcome": outcome, "seizure_value_krw": seized,
            "suspected_at": datetime(2020, 1, 1, 9) if flagged else None,
            "notified_at": datetime(2020, 1, 1, 9, 4) if flagged else None,
            "notify_minutes": 4.0 if flagged else None, "synthetic": True, "generator": "test",
        })
    return pl.DataFrame(rows, schema=GOODS_SCHEMA)


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("ws")
    settings = load_settings(workspace=root, env={})
    csv = root / "declarations.csv"
    csv.write_text(HEADER + "\n" + DECLARATIONS, encoding="utf-8")
    result = ingest_file(csv, settings, errors="raise")
    assert result.ingested == 12
    assert replace_goods_lines(settings, _goods_frame()) == 14
    return settings


def _rows(df: pl.DataFrame, *cols: str) -> list[tuple]:
    return [tuple(r) for r in df.select(cols).iter_rows()]


# --- periods ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, start, end", [
    ("2020Q1:2021Q1", date(2020, 1, 1), date(2021, 4, 1)),
    ("2020-01:2020-06", date(2020, 1, 1), date(2020, 7, 1)),
    ("2020:2021", date(2020, 1, 1), date(2022, 1, 1)),
    ("2020Q3", date(2020, 7, 1), date(2020, 10, 1)),
    ("2020q4", date(2020, 10, 1), date(2021, 1, 1)),
    ("2020-03", date(2020, 3, 1), date(2020, 4, 1)),
    ("2020-12", date(2020, 12, 1), date(2021, 1, 1)),
    ("2020-02-29", date(2020, 2, 29), date(2020, 3, 1)),
    (" 2020 ", date(2020, 1, 1), date(2021, 1, 1)),
])
def test_parse_period(text, start, end):
    p = parse_period(text)
    assert (p.start, p.end) == (start, end)


@pytest.mark.parametrize("text, found", [
    ("2020Q5", "Q5"), ("2020-13", "month 13"), ("2021:2020", "before it starts"), ("", "found nothing"),
    ("20-01", "'20-01'"), ("2020Q1:2020Q2:2020Q3", "one ':'"), ("2019-02-29", "calendar date"),
    ("1066", "1900-2100"), ("last year", "'last year'"),
])
def test_parse_period_errors_name_the_input(text, found):
    with pytest.raises(SchemaError) as exc:
        parse_period(text)
    assert repr(text) in str(exc.value) and found in str(exc.value)


# --- trends -------------------------------------------------------------------------------------------
def test_monthly_trends_exact(ws):
    df = trends(ws)
    assert _rows(df, "period", "lines", "inspected", "suspected", "confirmed", "seized_value_krw") == [
        ("2020-01", 4, 3, 1, 1, 5 * M), ("2020-02", 2, 2, 0, 1, 3 * M), ("2020-03", 3, 3, 1, 2, 6 * M),
        ("2020-04", 2, 1, 0, 1, 6 * M), ("2020-05", 1, 1, 0, 1, 10 * M), ("2020-06", 2, 1, 0, 0, 0.0),
    ]
    assert df["detection_rate"].to_list() == pytest.approx([1 / 3, 0.5, 2 / 3, 1.0, 1.0, 0.0])
    assert df["confirmed_change_pct"].to_list() == [None, 0.0, 100.0, -50.0, 0.0, -100.0]
    assert df["period_start"][0] == date(2020, 1, 1)
    assert df["synthetic"].all()


def test_quarterly_trends_by_origin(ws):
    df = trends(ws, by="origin", freq="quarter", period="2020Q1:2021Q1")
    assert _rows(df, "period", "origin_country", "lines", "inspected", "confirmed", "confirmed_change_pct") == [
        ("2020Q1", "CN", 7, 6, 4, None), ("2020Q1", "FR", 1, 1, 0, None), ("2020Q1", "US", 1, 1, 0, None),
        ("2020Q2", "CN", 3, 3, 2, -50.0), ("2020Q2", "FR", 1, 0, 0, None), ("2020Q2", "US", 1, 0, 0, None),
    ]
    assert df["detection_rate"].to_list() == pytest.approx([4 / 6, 0.0, 0.0, 2 / 3, None, None], nan_ok=True)
    total = trends(ws, freq="quarter")
    assert _rows(total, "period", "lines", "inspected", "suspected", "confirmed", "seized_value_krw") == [
        ("2020Q1", 9, 8, 2, 4, 14 * M), ("2020Q2", 5, 3, 0, 2, 16 * M)]
    assert total["detection_rate"].to_list() == pytest.approx([0.5, 2 / 3])


def test_period_change_looks_back_one_bucket(ws):
    df = trends(ws, freq="quarter", period="2020Q2")
    assert _rows(df, "period", "confirmed", "confirmed_change_pct") == [("2020Q2", 2, -50.0)]
    march = trends(ws, period="2020-03")
    assert _rows(march, "period", "confirmed", "confirmed_change_pct") == [("2020-03", 2, 100.0)]
    # a period that does not start on a bucket boundary reads no days before it
    mid = trends(ws, freq="quarter", period="2020-02:2020-03")
    assert _rows(mid, "period", "lines", "confirmed_change_pct") == [("2020Q1", 5, None)]


def test_transport_dimension_shows_names_and_filters(ws):
    df = trends(ws, by="transport", freq="quarter", filters={"transport": ["air", "mail"]})
    assert _rows(df, "period", "transport_mode", "transport_name", "lines", "confirmed") == [
        ("2020Q1", "40", "air", 5, 2), ("2020Q1", "50", "mail", 2, 2),
        ("2020Q2", "40", "air", 2, 1), ("2020Q2", "50", "mail", 1, 1)]


def test_filters_and_gap_without_previous_bucket(ws):
    df = trends(ws, filters={"origin": "cn", "transport": "50"})
    # March then May: no April bucket, so May has no previous period to compare with
    assert _rows(df, "period", "lines", "confirmed", "confirmed_change_pct") == [
        ("2020-03", 2, 2, None), ("2020-05", 1, 1, None)]
    brands = trends(ws, by=["brand", "category"], filters={"brand": ["Chanel", "Rolex"], "office": 40})
    assert brands.select(pl.col("lines").sum()).item() == 6
    assert set(brands["product_category"]) == {"bags", "watches"}
    chapters = trends(ws, by="chapter", period="2020Q1")
    assert _rows(chapters, "period", "hs_chapter", "lines") == [
        ("2020-01", "42", 2), ("2020-01", "64", 1), ("2020-01", "85", 1), ("2020-02", "33", 1),
        ("2020-02", "42", 1), ("2020-03", "42", 2), ("2020-03", "91", 1)]


def test_sql_injection_in_filter_is_a_literal(ws):
    for evil in ["CN' OR '1'='1", "CN'); DROP TABLE goods_lines; --", "x\" OR 1=1 --"]:
        assert trends(ws, filters={"origin": evil}).height == 0
        assert repeat_offenders(ws, min_cases=1, filters={"brand": evil}).height == 0
    with pytest.raises(SchemaError):
        trends(ws, period="2020'; DROP TABLE goods_lines; --")
    with catalog.connect(ws, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM goods_lines").fetchone()[0] == 14
        assert con.execute("SELECT count(*) FROM declarations").fetchone()[0] == 12


def test_unknown_dimension_names_allowed(ws):
    with pytest.raises(UnknownDimensionError) as exc:
        trends(ws, by="colour")
    msg = str(exc.value)
    assert "'colour'" in msg and "origin" in msg and "right_holder" in msg
    with pytest.raises(UnknownDimensionError, match="brand"):
        trends(ws, filters={"origin_country; DROP TABLE x": "CN"})
    with pytest.raises(UnknownDimensionError, match="hs_chapter"):
        declaration_trends(ws, by="brand")  # no brands on plain declarations
    with pytest.raises(SchemaError, match="freq 'week'"):
        trends(ws, freq="week")
    with pytest.raises(UnknownDimensionError, match="importer, seller, declarant"):
        repeat_offenders(ws, role="courier")


def test_declaration_trends(ws):
    df = declaration_trends(ws, by="office", freq="quarter", period="2020")
    assert _rows(df, "period", "office_id", "declarations", "fraud", "critical_fraud") == [
        ("2020Q1", "20", 1, 0, 0), ("2020Q1", "30", 1, 0, 0), ("2020Q1", "40", 5, 3, 2),
        ("2020Q2", "20", 1, 0, 0), ("2020Q2", "30", 1, 0, 0), ("2020Q2", "40", 3, 2, 1)]
    assert df["fraud_rate"].to_list() == pytest.approx([0, 0, 0.6, 0, 0, 2 / 3])
    assert df["fraud_change_pct"].to_list()[-1] == pytest.approx(-100 / 3)
    monthly = declaration_trends(ws)
    assert _rows(monthly, "period", "declarations", "fraud") == [
        ("2020-01", 3, 1), ("2020-02", 2, 1), ("2020-03", 2, 1), ("2020-04", 2, 1), ("2020-05", 1, 1),
        ("2020-06", 2, 0)]
    assert monthly["value_krw"][0] == 600000.0


def test_drilldown(ws):
    lines = drilldown(ws, period="2020Q1", by="origin", value="CN")
    assert lines["line_id"].to_list() == ["D01-1", "D01-2", "D02-1", "D04-1", "D06-1", "D06-2", "D07-1"]
    confirmed = drilldown(ws, period="2020-03", filters={"outcome": C}, limit=1)
    assert confirmed["line_id"].to_list() == ["D06-1"]
    decl = drilldown(ws, period="2020Q2", by="office", value="40", source="declarations")
    assert decl["declaration_id"].to_list() == ["D08", "D10", "D11"]
    with pytest.raises(SchemaError, match="both or neither"):
        drilldown(ws, period="2020Q1", by="origin")


# --- offenders and links ------------------------------------------------------------------------------
def test_repeat_offenders(ws):
    df = repeat_offenders(ws, role="importer", min_cases=2)
    assert _rows(df, "entity_id", "cases", "confirmed", "declarations", "first_seen", "last_seen") == [
        ("IMP1", 5, 5, 4, date(2020, 1, 10), date(2020, 4, 2)),
        ("IMP4", 2, 1, 2, date(2020, 3, 18), date(2020, 5, 11))]
    first = df.row(0, named=True)
    assert first["brands"] == ["Chanel", "Louis Vuitton"]
    assert first["routes"] == ["CN>CN/air", "CN>HK/mail"]
    assert first["seized_value_krw"] == 20 * M and first["role"] == "importer"
    assert repeat_offenders(ws, min_cases=1)["entity_id"].to_list() == ["IMP1", "IMP4", "IMP2"]
    assert repeat_offenders(ws, min_cases=6).height == 0
    sellers = repeat_offenders(ws, role="seller", min_cases=2)
    assert _rows(sellers, "entity_id", "cases", "confirmed") == [("SEL1", 3, 3), ("SEL5", 2, 2), ("SEL4", 2, 1)]
    q2 = repeat_offenders(ws, role="declarant", min_cases=1, period="2020Q2")
    assert _rows(q2, "entity_id", "cases", "confirmed") == [("DCL1", 1, 1), ("DCL3", 1, 1)]
    with pytest.raises(SchemaError, match="min_cases 0"):
        repeat_offenders(ws, min_cases=0)


def test_entity_links(ws):
    df = entity_links(ws)
    assert df.height == 21
    edges = {(r["source_id"], r["target_type"], r["target_id"]): (r["weight"], r["confirmed"])
             for r in df.iter_rows(named=True)}
    assert edges[("IMP1", "declarant", "DCL1")] == (5, 5)
    assert edges[("IMP1", "brand", "Chanel")] == (4, 4)
    assert edges[("IMP1", "seller", "SEL1")] == (3, 3)
    assert edges[("SEL4", "brand", "Rolex")] == (2, 1)
    assert edges[("IMP2", "route", "CN>HK/air")] == (1, 0)
    assert edges[("IMP4", "route", "CN>CN/mail")] == (1, 1)
    assert df.row(0, named=True)["weight"] == 5
    heavy = entity_links(ws, min_weight=2)
    assert heavy.height == 11 and heavy["weight"].min() == 2
    assert entity_links(ws, period="2020-05").height == 5  # D10: one line, five edge kinds


# --- charts -------------------------------------------------------------------------------------------
def test_charts_carry_synthetic_caption(ws):
    spec = trend_chart(trends(ws, by="origin", freq="quarter")).to_dict()
    assert spec["title"]["subtitle"] == SYNTHETIC_NOTE and "synthetic data" in spec["title"]["subtitle"]
    assert spec["encoding"]["color"]["field"] == "origin_country"
    rate = detection_rate_chart(trends(ws, by="transport")).to_dict()
    assert "synthetic data" in rate["title"]["subtitle"] and rate["encoding"]["color"]["field"] == "transport_name"
    top = offenders_chart(repeat_offenders(ws, min_cases=1), top=2).to_dict()
    assert "synthetic data" in top["title"]["subtitle"]
    decl = trend_chart(declaration_trends(ws), measure="declarations", mark="bar").to_dict()
    assert "subtitle" not in decl["title"]
    with pytest.raises(SchemaError, match="'colour'"):
        trend_chart(trends(ws), measure="colour")


# --- CLI ----------------------------------------------------------------------------------------------
def _cli(ws, *args: str):
    result = CliRunner().invoke(main, ["--workspace", str(ws.workspace), "analytics", *args])
    return result


def test_cli_trends_json_csv_chart(ws, tmp_path):
    out, html = tmp_path / "t.csv", tmp_path / "t.html"
    r = _cli(ws, "trends", "--by", "origin", "--period", "2020Q1:2021Q1", "--freq", "quarter",
             "--filter", "origin=CN", "--json", "--csv", str(out), "--chart", str(html))
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [(x["period"], x["confirmed"]) for x in rows] == [("2020Q1", 4), ("2020Q2", 2)]
    assert pl.read_csv(out)["lines"].to_list() == [7, 3]
    assert "synthetic data" in html.read_text(encoding="utf-8")
    human = _cli(ws, "trends", "--freq", "quarter")
    assert human.exit_code == 0 and "2020Q2" in human.output and "SYNTHETIC" in human.output


def test_cli_offenders_links_declarations(ws, tmp_path):
    r = _cli(ws, "offenders", "--role", "importer", "--min-cases", "2", "--json")
    assert r.exit_code == 0, r.output
    assert [x["entity_id"] for x in json.loads(r.stdout)] == ["IMP1", "IMP4"]
    out = tmp_path / "o.csv"
    assert _cli(ws, "offenders", "--csv", str(out)).exit_code == 0
    assert pl.read_csv(out)["brands"][0] == "Chanel|Louis Vuitton"
    links = json.loads(_cli(ws, "links", "--min-weight", "2", "--json").stdout)
    assert len(links) == 11
    decl = json.loads(_cli(ws, "declarations", "--by", "office", "--freq", "quarter", "--json").stdout)
    assert len(decl) == 6
    drill = json.loads(_cli(ws, "drilldown", "--period", "2020-03", "--json").stdout)
    assert [x["line_id"] for x in drill] == ["D06-1", "D06-2", "D07-1"]
    bad = _cli(ws, "trends", "--by", "colour")
    assert bad.exit_code == 1 and "allowed: origin" in bad.output
    bad = _cli(ws, "trends", "--period", "2020Q9")
    assert bad.exit_code == 1 and "'2020Q9'" in bad.output


def test_missing_goods_lines_says_run_synth(tmp_path):
    settings = load_settings(workspace=tmp_path, env={})
    with pytest.raises(GoodsLinesMissingError, match="kcs lake synth"):
        trends(settings)
    assert declaration_trends(settings).height == 0  # plain declarations work on an empty lake
    r = CliRunner().invoke(main, ["--workspace", str(tmp_path), "analytics", "offenders"])
    assert r.exit_code == 1 and "kcs lake synth" in r.output


def test_analytics_never_imports_matching_layers():
    import subprocess
    import sys

    code = ("import sys, kcs_kit.analytics, kcs_kit.analytics.charts, kcs_kit.cli_analytics; "
            "bad = [m for m in sys.modules if m.split('.')[:2] in (['kcs_kit', 'embed'], ['kcs_kit', 'index'], "
            "['kcs_kit', 'match'])]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
