"""Ingest: validation, quarantine, duplicates, idempotency, encodings, mapping, Parquet, atomicity."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from kcs_kit.errors import IngestError, SchemaError
from kcs_kit.lake import catalog
from kcs_kit.lake.ingest import ingest_file
from kcs_kit.lake.status import lake_status, quarantine_rows

HEADER = ("Declaration ID,Date,Office ID,Mode of Transport,HS6 Code,Country of Departure,Country of Origin,"
          "Net Mass,Item Price,Fraud,Critical Fraud")
BAD_ROWS = [
    "10000001,2020-01-05,40,40,640399,CN,CN,1.5,10000,0,0",   # line 2 ok
    "10000002,2020-13-01,40,40,640399,CN,CN,1.5,10000,0,0",   # 3 bad date
    "10000003,2020-01-06,40,40,64O3,CN,CN,1.5,10000,0,0",     # 4 bad hs6
    "10000004,2020-01-06,40,40,064039,CN,XX,-1,abc,3,0",      # 5 country, mass, price, fraud
    "10000005,2020-02-06,40,50,420221,HK,CN,2,20000,1,2",     # 6 ok
    "10000001,2020-02-07,40,40,640399,CN,CN,1.5,10000,0,0",   # 7 duplicate of line 2
    "10000006,2020-02-07,40",                                  # 8 malformed
    "10000007,2020-03-01,40,40,950300,CN,CN,0.3,5000,0,0",    # 9 ok
]


def write(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def count(settings) -> int:
    with catalog.connect(settings, read_only=True) as con:
        return con.execute("SELECT count(*) FROM declarations").fetchone()[0]


def test_demo_file_ingests_completely_with_types(settings, valid_csv):
    r = ingest_file(valid_csv, settings)
    assert (r.rows_read, r.ingested, r.quarantined, r.duplicates) == (8134, 8134, 0, 0)
    with catalog.connect(settings, read_only=True) as con:
        row = con.execute("SELECT declaration_id, declared_on::VARCHAR, hs6, origin_country, net_mass_kg, "
                          "item_price_krw, year, month, source_line FROM declarations "
                          "WHERE declaration_id = '56839011'").fetchone()
        types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE declarations)").fetchall())
    assert row == ("56839011", "2021-01-01", "760711", "CN", 901.2, 415092.72, 2021, 1, 2)
    assert types["hs6"] == "VARCHAR" and types["declared_on"] == "DATE" and types["fraud"] == "TINYINT"
    parts = sorted(p.relative_to(settings.lake_dir).as_posix()
                   for p in (settings.lake_dir / "declarations").rglob("*.parquet"))
    assert [p.split("/part-")[0] for p in parts] == [
        "declarations/year=2021/month=01", "declarations/year=2021/month=02", "declarations/year=2021/month=03"]


def test_bad_rows_are_quarantined_with_line_and_reason(settings, tmp_path):
    src = write(tmp_path / "bad.csv", [HEADER, *BAD_ROWS])
    r = ingest_file(src, settings)
    assert (r.rows_read, r.ingested, r.quarantined, r.duplicates) == (8, 3, 4, 1)
    q = {row["line"]: row for row in quarantine_rows(settings, limit=100).iter_rows(named=True)}
    assert sorted(q) == [3, 4, 5, 7, 8]
    assert q[3]["reason"] == "declared_on '2020-13-01' is not a date YYYY-MM-DD"
    assert q[4]["reason"] == "hs6 '64O3' is not 6 digits"
    for part in ("origin_country 'XX' is not an ISO", "net_mass_kg '-1' is negative",
                 "item_price_krw 'abc' is not a number", "fraud '3' is not one of 0/1"):
        assert part in q[5]["reason"]
    assert q[7]["kind"] == "duplicate" and "repeats line 2" in q[7]["reason"]
    assert q[8]["kind"] == "malformed" and "expected 11 fields, found 3" in q[8]["reason"]
    assert json.loads(q[4]["raw"])["hs6"] == "64O3"  # the original values are kept
    assert q[5]["source_path"] == str(src.resolve())
    with catalog.connect(settings, read_only=True) as con:
        ids = [i for (i,) in con.execute("SELECT declaration_id FROM declarations ORDER BY 1").fetchall()]
    assert ids == ["10000001", "10000005", "10000007"]


def test_reingest_same_file_adds_nothing(settings, valid_csv):
    first = ingest_file(valid_csv, settings)
    again = ingest_file(valid_csv, settings)
    assert again.skipped and again.ingest_id == first.ingest_id and again.ingested == 0
    assert count(settings) == 8134
    assert lake_status(settings).ingests == 1


def test_same_rows_in_another_file_are_duplicates_not_added(settings, valid_csv, tmp_path):
    ingest_file(valid_csv, settings)
    copy = tmp_path / "copy.csv"
    copy.write_text(valid_csv.read_text() + "99999999,2021-03-31,40,B,11,21,11,40,A,B,C,,640399,CN,CN,"
                    "0.0,A,Y,1.0,100.0,0,0\n")
    r = ingest_file(copy, settings)
    assert (r.ingested, r.duplicates, r.quarantined) == (1, 8134, 0)
    assert count(settings) == 8135
    st = lake_status(settings)
    assert (st.declarations, st.duplicates) == (8135, 8134)


def test_errors_raise_ingests_nothing_and_names_the_line(settings, tmp_path):
    src = write(tmp_path / "bad.csv", [HEADER, *BAD_ROWS])
    with pytest.raises(SchemaError, match=r"bad.csv line 3: declared_on '2020-13-01'"):
        ingest_file(src, settings, errors="raise")
    assert count(settings) == 0
    assert not list(settings.lake_dir.rglob("*.parquet"))


def test_cp949_file_with_korean_headers(settings, tmp_path):
    header = "신고번호,신고일자,신고세관,운송수단,HS부호,적출국가코드,원산지코드,총중량,과세가격(원화)"
    rows = ["20000001,20200105,040,50,420221,CN,CN,1.2,35000", "20000002,20200106,040,40,611020,HK,CN,0.4,9000"]
    src = write(tmp_path / "kr.csv", [header, *rows], encoding="cp949")
    with pytest.raises(UnicodeDecodeError):
        src.read_text(encoding="utf-8")
    r = ingest_file(src, settings)
    assert (r.ingested, r.quarantined) == (2, 0)
    with catalog.connect(settings, read_only=True) as con:
        got = con.execute("SELECT office_id, declared_on::VARCHAR, item_price_krw FROM declarations "
                          "ORDER BY declaration_id").fetchall()
        enc = con.execute("SELECT encoding FROM lake_ingests").fetchone()[0]
    assert got == [("040", "2020-01-05", 35000.0), ("040", "2020-01-06", 9000.0)] and enc == "cp949"


def test_utf8_forced_on_cp949_file_says_how_to_fix(settings, tmp_path):
    src = write(tmp_path / "kr.csv", ["신고번호,신고일자,HS부호,원산지코드", "1,20200105,420221,CN"], "cp949")
    with pytest.raises(IngestError, match="UTF-8") as exc:
        ingest_file(src, settings, encoding="utf-8")
    assert "kr.csv" in str(exc.value)


def test_mapping_other_layout_and_semicolons(settings, tmp_path):
    src = write(tmp_path / "other.csv", ["ref;when;tariff;made_in;kg", "A-1;2020-05-01;950300;cn;2.5"])
    with pytest.raises(SchemaError, match="required column") as exc:
        ingest_file(src, settings)
    assert "--map" in str(exc.value)
    mapping = {"declaration_id": "ref", "declared_on": "when", "hs6": "tariff", "origin_country": "made_in",
               "net_mass_kg": "kg"}
    r = ingest_file(src, settings, mapping=mapping)
    assert r.ingested == 1
    with catalog.connect(settings, read_only=True) as con:
        assert con.execute("SELECT declaration_id, origin_country, net_mass_kg FROM declarations").fetchone() == (
            "A-1", "CN", 2.5)


def test_mapping_to_missing_column_is_a_clear_error(settings, tmp_path):
    src = write(tmp_path / "x.csv", [HEADER, BAD_ROWS[0]])
    with pytest.raises(SchemaError, match=r"--map hs6='HS' names a column the file does not have"):
        ingest_file(src, settings, mapping={"hs6": "HS"})


def test_parquet_input(settings, valid_csv, tmp_path):
    df = pl.read_csv(valid_csv, infer_schema_length=0).head(500)
    df = df.with_columns(pl.col("Net Mass").cast(pl.Float64), pl.col("Date").str.to_date())
    pq_path = tmp_path / "decl.parquet"
    df.write_parquet(pq_path)
    r = ingest_file(pq_path, settings)
    assert (r.ingested, r.quarantined) == (500, 0)


@pytest.mark.parametrize("name,content,match", [
    ("empty.csv", b"", "empty file"),
    ("notes.xlsx", b"PK\x03\x04", "expected a .csv or .parquet"),
    ("broken.parquet", b"not parquet at all", "expected a Parquet file"),
])
def test_unreadable_inputs(settings, tmp_path, name, content, match):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises((IngestError, SchemaError), match=match):
        ingest_file(p, settings)
    assert count(settings) == 0
