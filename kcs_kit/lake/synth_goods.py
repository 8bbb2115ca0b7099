"""Synthetic goods lines for the declarations in the lake: brand claims and calibrated IPR outcomes.

The public KCS declarations carry no goods description or brand, so the demo goods lines are generated.
Every row says ``synthetic = true`` and ``generator = "kcs-synth/1 seed=<seed>"``. How it works, and which
published figures (``data/ipr-enforcement-figures/figures.csv``) each target comes from: docs/SYNTHETIC.md.

1. 1-3 lines per declaration; product category from the HS chapter; an English/Korean description.
2. A claimed brand (a slug of ``data/simple-icons/metadata.csv``) on part of the lines, customs-relevant
   fashion and electronics marks weighted heavily; a genuine unit price for branded lines.
3. Which branded lines are counterfeit: odds multipliers per origin (CN+HK or not), channel (postal/express
   or cargo) and category are fitted by iterative proportional fitting (raking) so that the expected shares
   among counterfeits match ``CALIBRATION``; a few repeat-offender importers and sellers get higher odds.
4. Inspection: most counterfeits and few genuine lines are inspected; suspicion, notification of the right
   holder (pre-AI visual inspection: lognormal, median 1,560 minutes, mean about 1,700) and the outcome.

Example::

    >>> from kcs_kit.config import load_settings
    >>> from kcs_kit.lake.synth_goods import synth_goods_lines
    >>> df = synth_goods_lines(load_settings(workspace="/tmp/kcs-doc", env={}), declarations=100)
    >>> bool(df["synthetic"].all())
    True
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from kcs_kit.config import Settings
from kcs_kit.errors import KcsError, NotFoundError, SchemaError
from kcs_kit.lake import catalog
from kcs_kit.lake.goods import CATEGORIES, GOODS_SCHEMA, OUTCOMES, replace_goods_lines

GENERATOR = "kcs-synth/1 seed={seed}"  # the generator column; demo.py compares it
PRONE_CHAPTERS = ("33", "42", "61", "62", "63", "64", "85", "91", "95")


@dataclass(frozen=True)
class Calibration:
    """Targets and assumptions of the generator. Shares are among confirmed counterfeit lines."""

    cn_hk_share: float = 0.953  # figures.csv lines 22 (KCS 2020: 94.5%) and 28 (KCS 2024: 96.1%)
    postal_express_share: float = 0.90  # lines 14 (KCS 2019: 83.7%), 16+17 (KCS 2020: 89.0% + 9.7%)
    category_mix: dict[str, float] = field(default_factory=lambda: {  # lines 8-10, 19-21, 43-47, 107
        "bags": 0.22, "footwear": 0.15, "apparel": 0.20, "toys": 0.12, "electronics": 0.12,
        "cosmetics": 0.04, "watches": 0.03, "accessories": 0.04, "other": 0.08})
    fake_line_share: float = 0.012  # expected counterfeit lines / all lines (assumption; demo-sized)
    offender_odds: float = 20.0  # odds multiplier of repeat-offender importers and sellers
    offender_share: float = 0.01  # share of risky importers/sellers that are repeat offenders
    fake_value_ratio: float = 0.08  # median declared unit value / genuine price of a fake (assumption)
    notify_median_min: float = 1560.0  # pre-AI minutes to notify the right holder (DESIGN: > 1,440)
    notify_sigma: float = 0.45
    postal_items_p: float = 0.2  # postal quantity ~ geometric(p): about 80% under 10 (figures.csv line 109)


CALIBRATION = Calibration()
_LINES_P = (0.60, 0.28, 0.12)  # 1, 2 or 3 goods lines per declaration
_BRANDED_P = {"bags": 0.6, "footwear": 0.6, "apparel": 0.5, "cosmetics": 0.5, "electronics": 0.45,
              "watches": 0.6, "toys": 0.4, "accessories": 0.45, "other": 0.08}
_INSPECT_P = {"fake": 0.85, "branded": 0.06, "unbranded": 0.02}
_CONFIRM_P = 0.88  # inspected counterfeit: confirmed by the right holder; else still suspected
_FALSE_ALARM_P, _RESOLVED_P = 0.15, 0.7  # inspected genuine: suspected; of those, cleared since
_DECL_COLS = ("declaration_id, declared_on, hs6, origin_country, transport_mode, courier_id, importer_id, "
              "seller_id")
_OTHER = CATEGORIES.index("other")

# --- vocabulary: categories, descriptions, brands, prices (all synthetic assumptions) -------------------
CATEGORY_OF_CHAPTER = {"42": "bags", "64": "footwear", "61": "apparel", "62": "apparel", "33": "cosmetics",
                       "85": "electronics", "91": "watches", "95": "toys", "71": "accessories", "96": "accessories"}
CATEGORY_PRICE_KRW = {"bags": 600_000, "footwear": 150_000, "apparel": 90_000, "cosmetics": 60_000,
                      "electronics": 250_000, "watches": 400_000, "toys": 40_000, "accessories": 80_000,
                      "other": 50_000}
DESCRIPTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "bags": (("Leather handbag", "가죽 핸드백"), ("Shoulder bag", "숄더백"), ("Backpack", "백팩"),
             ("Wallet", "지갑"), ("Tote bag", "토트백")),
    "footwear": (("Running shoes", "러닝화"), ("Sneakers", "운동화"), ("Leather shoes", "가죽 구두"),
                 ("Sandals", "샌들"), ("Boots", "부츠")),
    "apparel": (("T-shirt", "티셔츠"), ("Hooded sweatshirt", "후드 티셔츠"), ("Padded jacket", "패딩 재킷"),
                ("Jeans", "청바지"), ("Track suit", "트레이닝복")),
    "cosmetics": (("Lipstick", "립스틱"), ("Perfume", "향수"), ("Face cream", "페이스 크림"),
                  ("Cushion foundation", "쿠션 파운데이션"), ("Eye shadow palette", "아이섀도 팔레트")),
    "electronics": (("Wireless earphones", "무선 이어폰"), ("Phone charger", "휴대폰 충전기"),
                    ("Bluetooth speaker", "블루투스 스피커"), ("Smartphone", "스마트폰"), ("Headphones", "헤드폰")),
    "watches": (("Wristwatch", "손목시계"), ("Smartwatch", "스마트워치"), ("Watch strap", "시계 줄")),
    "toys": (("Plush toy", "봉제 인형"), ("Action figure", "액션 피규어"), ("Game controller", "게임 컨트롤러"),
             ("Building blocks", "블록 장난감"), ("Model car", "모형 자동차")),
    "accessories": (("Necklace", "목걸이"), ("Earrings", "귀걸이"), ("Hair clip", "머리핀"),
                    ("Key ring", "열쇠고리"), ("Ballpoint pen", "볼펜")),
    "other": (("Household goods", "생활용품"), ("Plastic parts", "플라스틱 부품"), ("Kitchen utensils", "주방용품"),
              ("Stationery", "문구류"), ("Sporting goods", "스포츠 용품")),
}
# Customs-relevant marks present in data/simple-icons (slug: weight) per category. "hermes" there is the
# parcel carrier, not the fashion house, so it is left out.
BRANDS: dict[str, dict[str, float]] = {
    "bags": {"dior": 4, "nike": 2, "adidas": 2, "thenorthface": 2, "puma": 1, "fila": 1, "zara": 1, "handm": 1},
    "footwear": {"nike": 5, "adidas": 4, "newbalance": 3, "jordan": 3, "puma": 2, "reebok": 1.5, "fila": 1.5,
                 "underarmour": 1, "dior": 0.5},
    "apparel": {"nike": 4, "adidas": 4, "thenorthface": 3, "uniqlo": 2, "zara": 2, "handm": 2, "puma": 2,
                "underarmour": 1.5, "fila": 1, "reebok": 1, "jordan": 1, "dior": 1},
    "cosmetics": {"dior": 5},
    "electronics": {"samsung": 5, "apple": 5, "lg": 3, "sony": 3, "xiaomi": 2, "huawei": 2, "beatsbydre": 2,
                    "bose": 1.5, "jbl": 1.5, "sennheiser": 1, "oneplus": 0.5, "oppo": 0.5, "nikon": 0.5},
    "watches": {"apple": 3, "samsung": 2, "garmin": 2, "huawei": 1, "xiaomi": 1, "fitbit": 1, "dior": 1},
    "toys": {"kakao": 3, "line": 2, "playstation": 3, "ferrari": 1, "porsche": 1, "lamborghini": 1},
    "accessories": {"dior": 3, "zara": 2, "handm": 2, "nike": 1, "adidas": 1, "starbucks": 1, "kakao": 1},
    "other": {"samsung": 2, "lg": 2, "starbucks": 2, "cocacola": 1, "hyundai": 1, "kia": 1, "apple": 1,
              "xiaomi": 1, "nike": 1, "adidas": 1},
}
_PRICE_MULT = {"dior": 4.0, "thenorthface": 1.6, "jordan": 1.5, "apple": 1.8, "samsung": 1.4, "sony": 1.3,
               "bose": 1.3, "sennheiser": 1.4, "beatsbydre": 1.3, "lg": 1.2, "zara": 0.5, "handm": 0.4,
               "uniqlo": 0.4, "xiaomi": 0.6, "kakao": 0.6, "line": 0.6, "ferrari": 1.5, "porsche": 1.5,
               "lamborghini": 1.5}


def brand_table(data_dir: Path) -> pl.DataFrame:
    """Rows: (row, slug, title, category, weight, price_mult); category null = any registry mark, weight 1."""
    path = data_dir / "simple-icons" / "metadata.csv"
    if not path.is_file():
        raise SchemaError(f"{path}: expected the Simple Icons metadata (slug,title,...), found no file",
                          hint="restore data/simple-icons/ from the repository")
    marks = pl.read_csv(path, columns=["slug", "title"], infer_schema_length=0).sort("slug")
    curated = pl.DataFrame(
        [(s, c, float(w)) for c, table in BRANDS.items() for s, w in table.items()],
        schema={"slug": pl.String, "category": pl.String, "weight": pl.Float64}, orient="row",
    ).join(marks, on="slug", how="inner", maintain_order="left")
    generic = marks.with_columns(category=pl.lit(None, pl.String), weight=pl.lit(1.0))
    out = pl.concat([curated, generic], how="diagonal").with_row_index("row")
    mult = pl.col("slug").replace_strict(_PRICE_MULT, default=1.0, return_dtype=pl.Float64)
    return out.with_columns(row=pl.col("row").cast(pl.Int64), price_mult=mult)


@dataclass(frozen=True)
class SynthSummary:
    """What ``build_goods_lines`` wrote (all of it synthetic)."""

    lines: int
    declarations: int
    confirmed: int
    suspected: int
    seconds: float


def _read_declarations(settings: Settings, declarations: int | None, seed: int) -> pl.DataFrame:
    """All declarations, or a seeded sample of N: those with the N smallest hashes of (ID, seed).
    Sorted by declaration_id, so that the result does not depend on the scan order."""
    with catalog.connect(settings, read_only=True) as con:
        total = con.execute("SELECT count(*) FROM declarations").fetchall()[0][0]
        if total == 0:
            raise NotFoundError(f"{settings.db_path}: expected declarations in the lake, found none",
                                hint="ingest some first: kcs lake ingest data/customs-declarations/*.csv")
        if declarations is not None and not 1 <= declarations <= total:
            raise KcsError(f"declarations={declarations}: expected 1..{total:,} (the lake holds {total:,}), "
                           f"found {declarations}")
        if declarations is None or declarations == total:
            return catalog.query_pl(con, f"SELECT {_DECL_COLS} FROM declarations").sort("declaration_id")
        decl = catalog.query_pl(
            con, f"SELECT {_DECL_COLS}, hash(declaration_id, $seed) AS _h FROM declarations "
                 "WHERE _h <= (SELECT max(h) FROM (SELECT hash(declaration_id, $seed) AS h FROM declarations "
                 "ORDER BY h LIMIT $n))", {"seed": int(seed), "n": int(declarations)})
    return decl.sort("_h", "declaration_id").head(declarations).drop("_h").sort("declaration_id")


def _expand(decl: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """One row per goods line: line_no, category code and the channel/origin flags."""
    per = rng.choice(len(_LINES_P), decl.height, p=_LINES_P) + 1
    first = np.repeat(np.cumsum(per) - per, per)
    lines = decl[np.repeat(np.arange(decl.height, dtype=np.uint32), per)]
    codes = {ch: CATEGORIES.index(c) for ch, c in CATEGORY_OF_CHAPTER.items()}
    chapter = pl.col("hs6").str.slice(0, 2)
    return lines.with_columns(
        line_no=pl.Series(np.arange(len(first)) - first + 1, dtype=pl.Int16),
        cat=chapter.replace_strict(codes, default=_OTHER, return_dtype=pl.Int64),
        prone=chapter.is_in(PRONE_CHAPTERS),
        cn_hk=pl.col("origin_country").is_in(["CN", "HK"]).fill_null(False),
        postal=((pl.col("transport_mode") == "50").fill_null(False) | pl.col("courier_id").is_not_null()),
    )


def _by_category(table: Mapping[str, float]) -> np.ndarray:
    return np.array([table[c] for c in CATEGORIES], dtype=float)


def _pick_brands(lines: pl.DataFrame, brands: pl.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Claimed brand (row of ``brands``; -1 = unbranded) per line and its genuine unit price."""
    n = lines.height
    u_branded, u_generic, u_pick, noise = rng.random(n), rng.random(n), rng.random(n), rng.normal(0, 0.35, n)
    cat = lines["cat"].to_numpy()
    branded = u_branded < _by_category(_BRANDED_P)[cat] * np.where(lines["postal"].to_numpy(), 1.25, 1.0)
    pick = np.full(n, -1, dtype=np.int64)
    generic = brands.filter(pl.col("category").is_null())
    for code, c in enumerate(CATEGORIES):
        curated = brands.filter(pl.col("category") == c)
        mask = (cat == code) & branded
        any_mark = u_generic < 0.1  # one in ten branded lines claims any registry mark
        for m, source in ((mask & any_mark, generic), (mask & ~any_mark, curated if curated.height else generic)):
            cdf = np.cumsum(source["weight"].to_numpy()) / source["weight"].sum()
            pick[m] = source["row"].to_numpy()[np.minimum(np.searchsorted(cdf, u_pick[m]), len(cdf) - 1)]
    mult = brands["price_mult"].to_numpy()[np.maximum(pick, 0)]
    genuine = np.round(_by_category(CATEGORY_PRICE_KRW)[cat] * mult * np.exp(noise), -3)
    return {"pick": pick, "genuine": np.where(pick >= 0, genuine, np.nan)}


def _offenders(lines: pl.DataFrame, col: str, share: float, rng: np.random.Generator) -> np.ndarray:
    """Lines of a few repeat offenders: parties drawn (weight n squared) by their number n of CN/HK
    declarations in counterfeit-prone chapters, ``share`` of those parties (at least 3)."""
    risky = (lines.filter(pl.col("cn_hk") & pl.col("prone") & pl.col(col).is_not_null())
             .group_by(col).agg(pl.col("declaration_id").n_unique().alias("n")).sort(col))
    if risky.is_empty():
        return np.zeros(lines.height, dtype=bool)
    k = min(max(3, round(share * risky.height)), risky.height)
    w = risky["n"].to_numpy().astype(float) ** 2
    chosen = risky[col].gather(rng.choice(risky.height, k, replace=False, p=w / w.sum()))
    return lines[col].is_in(chosen.implode()).fill_null(False).to_numpy()


def _rake(weight: np.ndarray, levels: np.ndarray, targets: list[np.ndarray], iters: int = 200) -> np.ndarray:
    """Multiplier per cell (iterative proportional fitting) so that for each dimension d the weighted
    share of each level (``levels[d]``) matches ``targets[d]``. Levels without weight are dropped and
    the other targets renormalised."""
    mult = np.ones(len(weight))
    for _ in range(iters):
        for codes, target in zip(levels, targets, strict=True):
            sums = np.bincount(codes, weights=weight * mult, minlength=len(target))
            goal = np.where(sums > 0, target, 0.0)
            if goal.sum() == 0:
                continue
            goal = goal / goal.sum() * sums.sum()
            mult *= np.where(sums > 0, goal / np.where(sums > 0, sums, 1.0), 1.0)[codes]
            # shares are scale-free: normalising (with a floor) keeps infeasible targets from overflowing
            mult = np.maximum(mult / mult.max(), 1e-9)
    return mult


def _scale_to_total(p: np.ndarray, count: np.ndarray, total: float, cap: float = 0.95) -> np.ndarray:
    """k * p clipped at ``cap``, k found by bisection so that sum(count * clipped) equals ``total``."""
    positive = (p > 0) & (count > 0)
    if not positive.any() or total >= cap * count[positive].sum():
        return np.where(positive, cap, 0.0)
    p = np.where(positive, p, 0.0) / p[positive].max()
    lo, hi = 0.0, cap / p[positive].min()
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if (count * np.minimum(mid * p, cap)).sum() < total else (lo, mid)
    return np.minimum(hi * p, cap)


def _fake_probability(lines: pl.DataFrame, branded: np.ndarray, offender: np.ndarray, cal: Calibration
                      ) -> np.ndarray:
    """P(counterfeit) per line. Cells are (CN/HK, postal, category, offender); the first three are raked
    to the target shares, offenders keep their odds, and the total is ``fake_line_share`` of all lines.
    Rake and scale alternate, so that cells saturated at the cap do not skew the shares."""
    sizes = (2, 2, len(CATEGORIES), 2)
    cell = np.ravel_multi_index((lines["cn_hk"].to_numpy().astype(np.int64),
                                 lines["postal"].to_numpy().astype(np.int64),
                                 lines["cat"].to_numpy(), offender.astype(np.int64)), sizes)
    count = np.bincount(cell, weights=branded, minlength=int(np.prod(sizes)))
    levels = np.indices(sizes).reshape(len(sizes), -1)
    targets = [np.array([1 - cal.cn_hk_share, cal.cn_hk_share]),
               np.array([1 - cal.postal_express_share, cal.postal_express_share]),
               np.array([cal.category_mix.get(c, 0.0) for c in CATEGORIES])]
    p = np.where(levels[3] == 1, cal.offender_odds, 1.0)
    total = cal.fake_line_share * len(cell)
    for _ in range(5):
        p = _scale_to_total(p * _rake(count * p, levels[:3], targets), count, total)
    return np.where(branded > 0, p[cell], 0.0)


def _outcomes(fake: np.ndarray, branded: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(index into OUTCOMES, was suspected) per line."""
    n = len(fake)
    u_insp, u_conf, u_alarm, u_res = rng.random(n), rng.random(n), rng.random(n), rng.random(n)
    p_insp = np.where(fake, _INSPECT_P["fake"], np.where(branded, _INSPECT_P["branded"], _INSPECT_P["unbranded"]))
    inspected = u_insp < p_insp
    alarm = inspected & ~fake & branded & (u_alarm < _FALSE_ALARM_P)
    code = np.where(inspected, OUTCOMES.index("cleared_genuine"), OUTCOMES.index("not_inspected"))
    code[alarm & (u_res >= _RESOLVED_P)] = OUTCOMES.index("suspected")
    caught = inspected & fake
    code[caught] = np.where(u_conf[caught] < _CONFIRM_P, OUTCOMES.index("confirmed_counterfeit"),
                            OUTCOMES.index("suspected"))
    return code, caught | alarm


def _values(lines: pl.DataFrame, genuine: np.ndarray, fake: np.ndarray, cal: Calibration,
            rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Quantity (small postal parcels, bulk cargo) and declared unit value (fakes far under genuine)."""
    n = lines.height
    small = rng.geometric(cal.postal_items_p, n)
    bulk = np.maximum(1, np.round(np.exp(rng.normal(np.log(40), 1.2, n))))
    quantity = np.where(lines["postal"].to_numpy(), small, bulk).astype(np.int32)
    fake_ratio = np.clip(np.exp(rng.normal(np.log(cal.fake_value_ratio), 0.6, n)), 0.01, 0.5)
    genuine_ratio = rng.uniform(0.55, 0.95, n)
    plain = _by_category(CATEGORY_PRICE_KRW)[lines["cat"].to_numpy()] * 0.25 * np.exp(rng.normal(0, 0.7, n))
    unit = np.where(np.isnan(genuine), plain, genuine * np.where(fake, fake_ratio, genuine_ratio))
    return {"quantity": quantity, "unit_value_krw": np.maximum(np.round(unit), 1.0)}


def _timeline(declared_on: pl.Series, suspected: np.ndarray, cal: Calibration,
              rng: np.random.Generator) -> dict[str, pl.Series]:
    """suspected_at (a working hour 0-2 days after the declaration), notified_at and notify_minutes."""
    n = len(suspected)
    offset_min = rng.integers(0, 3, n) * 1440 + 9 * 60 + rng.integers(0, 8 * 60, n)
    minutes = np.round(np.exp(rng.normal(np.log(cal.notify_median_min), cal.notify_sigma, n)), 1)
    start = declared_on.cast(pl.Datetime("us")) + pl.Series(offset_min * 60_000_000).cast(pl.Duration("us"))
    notified = start + pl.Series(np.round(minutes * 60_000_000).astype(np.int64)).cast(pl.Duration("us"))
    keep = pl.Series(suspected)
    return {
        "suspected_at": pl.select(pl.when(keep).then(start)).to_series(),
        "notified_at": pl.select(pl.when(keep).then(notified)).to_series(),
        "notify_minutes": pl.Series(np.where(suspected, minutes, np.nan)).fill_nan(None),
    }


def synth_goods_lines(settings: Settings, *, declarations: int | None = None, seed: int = 42,
                      calibration: Calibration = CALIBRATION) -> pl.DataFrame:
    """Goods lines (``GOODS_SCHEMA``) for all declarations in the lake, or a seeded sample of N.

    Deterministic: the same lake and seed give the same frame. Every row is labelled synthetic.
    """
    if seed < 0:
        raise KcsError(f"seed={seed}: expected a whole number >= 0")
    rng = np.random.default_rng(seed)
    lines = _expand(_read_declarations(settings, declarations, seed), rng)
    brands = brand_table(settings.data_dir)
    picked = _pick_brands(lines, brands, rng)
    branded = picked["pick"] >= 0
    offender = np.zeros(lines.height, dtype=bool)
    for col in ("importer_id", "seller_id"):
        offender |= _offenders(lines, col, calibration.offender_share, rng)
    fake = rng.random(lines.height) < _fake_probability(lines, branded.astype(float), offender, calibration)
    outcome, suspected = _outcomes(fake, branded, rng)
    values = _values(lines, picked["genuine"], fake, calibration, rng)
    return _assemble(lines, brands, picked, values, outcome, suspected, seed, rng, calibration)


def _assemble(lines: pl.DataFrame, brands: pl.DataFrame, picked: dict[str, np.ndarray], values: dict,
              outcome: np.ndarray, suspected: np.ndarray, seed: int, rng: np.random.Generator,
              cal: Calibration) -> pl.DataFrame:
    """Descriptions, brand columns, timeline and lineage, in GOODS_SCHEMA order and types."""
    n, pick = lines.height, picked["pick"]
    brand = brands.select("slug", "title")[np.maximum(pick, 0)].with_columns(
        [pl.when(pl.Series(pick >= 0)).then(pl.col(c)).alias(c) for c in ("slug", "title")])
    confirmed = outcome == OUTCOMES.index("confirmed_counterfeit")
    line_id = lines["declaration_id"] + "-" + lines["line_no"].cast(pl.String)
    frame = pl.DataFrame({
        "line_id": line_id, "declaration_id": lines["declaration_id"], "line_no": lines["line_no"],
        **_describe(lines["cat"].to_numpy(), rng),
        "product_category": pl.Series(CATEGORIES).gather(lines["cat"]), "hs6": lines["hs6"],
        "claimed_brand": brand["slug"], "brand_title": brand["title"],
        "right_holder": brand["title"] + " (right holder, synthetic)",
        "quantity": values["quantity"], "unit_value_krw": values["unit_value_krw"],
        "genuine_unit_price_krw": pl.Series(picked["genuine"]).fill_nan(None),
        "photo_ref": pl.select(pl.when(pl.Series(outcome != OUTCOMES.index("not_inspected")))
                               .then("synthetic-photo/" + line_id + ".jpg")).to_series(),
        "inspection_outcome": pl.Series(OUTCOMES).gather(outcome),
        "seizure_value_krw": np.where(confirmed, values["quantity"] * np.nan_to_num(picked["genuine"]), 0.0),
        **_timeline(lines["declared_on"], suspected, cal, rng),
        "synthetic": np.ones(n, dtype=bool),
        "generator": pl.repeat(GENERATOR.format(seed=seed), n, eager=True),
    })
    return frame.select([pl.col(c).cast(t) for c, t in GOODS_SCHEMA.items()])


def _describe(cat: np.ndarray, rng: np.random.Generator) -> dict[str, pl.Series]:
    """An English and a Korean description per line, drawn from its category's templates."""
    sizes = np.array([len(DESCRIPTIONS[c]) for c in CATEGORIES])
    offsets = np.cumsum(sizes) - sizes
    pick = offsets[cat] + np.minimum((rng.random(len(cat)) * sizes[cat]).astype(np.int64), sizes[cat] - 1)
    flat = [pair for c in CATEGORIES for pair in DESCRIPTIONS[c]]
    return {"description_en": pl.Series([en for en, _ in flat]).gather(pick),
            "description_ko": pl.Series([ko for _, ko in flat]).gather(pick)}


def build_goods_lines(settings: Settings, *, declarations: int | None = None, seed: int = 42) -> SynthSummary:
    """Generate goods lines and replace the lake's goods_lines table with them (one transaction)."""
    t0 = time.perf_counter()
    df = synth_goods_lines(settings, declarations=declarations, seed=seed)
    replace_goods_lines(settings, df)
    counts = df["inspection_outcome"].value_counts()
    count = dict(zip(counts["inspection_outcome"].to_list(), counts["count"].to_list(), strict=True))
    return SynthSummary(df.height, df["declaration_id"].n_unique(), count.get("confirmed_counterfeit", 0),
                        count.get("suspected", 0), time.perf_counter() - t0)
