"""A small real workspace for the case/evidence/notice tests: 20 registered demo marks, their index, and a
hand-made lake of 6 declarations with goods lines whose history is known (see ``build``).

Declarations (importer, seller, declarant, origin>departure, outcome of the goods line, brand):
  H1 2020-11-02 IMP0042 SEL0007 DCL0003 CN>CN confirmed  A      H2 2020-12-05 IMP0042 SEL0099 DCL0003 CN>CN suspected B
  H3 2021-01-07 IMP0500 SEL0007 DCL0800 CN>HK confirmed  A      H4 2021-02-01 IMP0600 SEL0600 DCL0800 US>US cleared   A
  Q1 2021-03-10 IMP0042 SEL0007 DCL0003 CN>HK not inspected A (declared 30,000 KRW a unit; the query's declaration)
  Q2 2021-03-11 IMP0700 SEL0700 DCL0900 KR>KR not inspected (no brand)
A = the first active design (sorted), B = the second.
"""

from __future__ import annotations

import io
from datetime import datetime

import cv2
import numpy as np
import polars as pl
from conftest import make_registry
from PIL import Image
from test_match import scene  # noqa: F401  (the photos of test_match)

from kcs_kit.config import Settings, load_settings
from kcs_kit.index.build import build_index
from kcs_kit.lake.goods import GOODS_SCHEMA, replace_goods_lines
from kcs_kit.lake.ingest import ingest_file
from kcs_kit.registry import store

HEADER = ("declaration_id,declared_on,office_id,transport_mode,importer_id,seller_id,declarant_id,courier_id,"
          "hs6,departure_country,origin_country,net_mass_kg,item_price_krw,fraud,critical_fraud")
ROWS = [  # id, date, importer, seller, declarant, departure, origin, outcome, brand (A/B/None)
    ("H1", "2020-11-02", "IMP0042", "SEL0007", "DCL0003", "CN", "CN", "confirmed_counterfeit", "A"),
    ("H2", "2020-12-05", "IMP0042", "SEL0099", "DCL0003", "CN", "CN", "suspected", "B"),
    ("H3", "2021-01-07", "IMP0500", "SEL0007", "DCL0800", "HK", "CN", "confirmed_counterfeit", "A"),
    ("H4", "2021-02-01", "IMP0600", "SEL0600", "DCL0800", "US", "US", "cleared_genuine", "A"),
    ("Q1", "2021-03-10", "IMP0042", "SEL0007", "DCL0003", "HK", "CN", "not_inspected", "A"),
    ("Q2", "2021-03-11", "IMP0700", "SEL0700", "DCL0900", "KR", "KR", "not_inspected", None),
]


def build(root, n_designs: int = 20, **overrides) -> Settings:
    settings = load_settings(workspace=root / "ws", env={}, match_ocr=False, **overrides)
    store.import_package(make_registry(root / "pkg", n_designs), settings)
    build_index(settings, text=False, workers=1)
    a, b = ids(settings)[:2]
    da, db = store.get_design(settings, a), store.get_design(settings, b)
    hs6 = da.hs6[0]
    csv = root / "declarations.csv"
    lines = [HEADER] + [f"{i},{d},40,40,{imp},{sel},{dcl},,{hs6},{dep},{org},1.0,30000,0,0"
                        for i, d, imp, sel, dcl, dep, org, _o, _b in ROWS]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert ingest_file(csv, settings, errors="raise").ingested == len(ROWS)
    goods = []
    for i, _d, _imp, _sel, _dcl, _dep, _org, outcome, brand in ROWS:
        design = {"A": da, "B": db}.get(brand or "")
        flagged = outcome in ("suspected", "confirmed_counterfeit")
        goods.append({
            "line_id": f"{i}-1", "declaration_id": i, "line_no": 1, "description_en": "Shoulder bag",
            "description_ko": "숄더백", "product_category": "bags", "hs6": hs6,
            "claimed_brand": design.design_id if design else None, "brand_title": design.title if design else None,
            "right_holder": design.right_holder if design else None, "quantity": 1, "unit_value_krw": 30000.0,
            "genuine_unit_price_krw": design.genuine_price_krw if design else None, "photo_ref": None,
            "inspection_outcome": outcome,
            "seizure_value_krw": 1e6 if outcome == "confirmed_counterfeit" else 0.0,
            "suspected_at": datetime(2021, 1, 1, 9) if flagged else None,
            "notified_at": None, "notify_minutes": None, "synthetic": True, "generator": "test",
        })
    replace_goods_lines(settings, pl.DataFrame(goods, schema=GOODS_SCHEMA))
    return settings


def ids(settings) -> list[str]:
    return sorted(store.active_design_ids(settings))


def render(settings, design_id: str) -> np.ndarray:
    d = store.get_design(settings, design_id)
    path = next(i.path for i in d.images if i.view == 0 and i.variant == "colour")
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def photo_of(settings, design_id: str, seed: int) -> bytes:
    return jpeg(scene(render(settings, design_id), seed=seed))
