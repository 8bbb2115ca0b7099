"""Turn the shipped Simple Icons marks into a demo registry package: ``data/simple-icons/designs.csv``.

Real: design_id (the slug), title, image_path, hex and the source/guidelines/license columns (kept as
metadata). SYNTHETIC, drawn with ``random.Random(seed)`` and listed per row in ``synthetic_fields``:
right holder and contact, registration number, right type, Nice classes (from a small keyword table over the
title and source), HS6 codes consistent with the classes, genuine price, territory, status, validity and
description. The output is deterministic for a given seed.

Example::

    python -m kcs_kit.registry.demo            # writes data/simple-icons/designs.csv
    >>> from kcs_kit.registry.demo import build_rows
    >>> build_rows(limit=2)[0]["right_holder"].endswith("(synthetic)")
    True
"""

from __future__ import annotations

import csv
import io
import os
import random
import re
import tempfile
from datetime import date, timedelta
from pathlib import Path

# (field, Nice classes, HS6 codes, price range in KRW); the first field whose keyword or slug matches wins.
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[int, int]]] = {
    "apparel": (("25", "18"), ("640411", "640399", "610910", "611020", "420222"), (39_000, 390_000)),
    "luxury": (("18", "25", "14"), ("420221", "420231", "610910", "711319"), (800_000, 9_000_000)),
    "cosmetics": (("3",), ("330300", "330499", "330590"), (15_000, 250_000)),
    "vehicles": (("12",), ("870323", "870899", "871120"), (30_000, 900_000)),
    "electronics": (("9",), ("851713", "847130", "852872", "852589"), (49_000, 2_500_000)),
    "games": (("9", "28"), ("950450", "950300", "852349"), (19_000, 700_000)),
    "food": (("30", "43"), ("090121", "210111", "190590"), (3_000, 40_000)),
    "drink": (("32", "33"), ("220210", "220300", "220890"), (1_500, 80_000)),
    "sports": (("28", "25"), ("950691", "950662", "640411"), (19_000, 400_000)),
    "finance": (("36", "9"), ("852349",), (0, 0)),
    "media": (("41", "9"), ("852349",), (0, 0)),
    "transport": (("39",), (), (0, 0)),
    "software": (("9", "42"), ("852349", "847130"), (9_000, 600_000)),
}
SLUGS = {
    "apparel": "nike adidas puma newbalance underarmour reebok fila jordan thenorthface zara handm uniqlo "
               "asics vans converse levis lacoste columbia patagonia skechers kappa umbro mizuno",
    "luxury": "hermes dior louisvuitton gucci chanel prada burberry versace fendi",
    "electronics": "samsung lg sony apple huawei xiaomi nikon canon panasonic philips oneplus oppo vivo lenovo "
                   "dell hp asus acer logitech bose jbl dji garmin fujifilm intel amd nvidia qualcomm",
    "vehicles": "hyundai kia bmw audi porsche ferrari volkswagen toyota honda tesla ford nissan mercedes "
                "lamborghini bugatti chevrolet volvo mazda subaru suzuki ducati harleydavidson yamahamotorcorporation",
    "games": "playstation nintendo xbox sega steam",
    "food": "starbucks mcdonalds burgerking kfc subway dominos",
    "drink": "cocacola pepsi redbull",
}
KEYWORDS = {
    "apparel": "fashion apparel clothing wear shoe shoes sneaker jeans",
    "cosmetics": "cosmetic cosmetics beauty parfum perfume skincare makeup",
    "vehicles": "motor motors automotive auto cars vehicle",
    "games": "games gaming game playstation console",
    "food": "food pizza burger coffee restaurant eats delivery",
    "drink": "cola beer brewery drink drinks wine",
    "sports": "sport sports fitness golf tennis football",
    "finance": "bank banking pay payment payments finance wallet invest crypto coin",
    "media": "music radio tv news podcast video film media",
    "transport": "airline airlines airways air rail railway bus transit",
}
SYNTHETIC = ("right_holder", "right_holder_contact", "registration_no", "right_type", "classes", "territory",
             "status", "valid_from", "valid_to", "hs6", "genuine_price_krw", "description")
COLUMNS = ("design_id", "title", "right_holder", "image_path", "right_holder_contact", "registration_no",
           "right_type", "classes", "territory", "status", "valid_from", "valid_to", "hs6", "genuine_price_krw",
           "description", "hex", "source", "guidelines", "license_type", "synthetic_fields")
KEEP_REGISTERED = frozenset(" ".join(SLUGS.values()).split())


def field_of(slug: str, title: str, source: str) -> str:
    """The brand's field (a key of FIELDS) from known slugs, then keywords in title and source host."""
    for name, slugs in SLUGS.items():
        if slug in slugs.split():
            return name
    words = set(re.findall(r"[a-z]+", f"{title} {re.sub(r'^https?://', '', source).split('/')[0]}".lower()))
    for name, keywords in KEYWORDS.items():
        if words & set(keywords.split()):
            return name
    return "software"


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _validity(rng: random.Random, status: str, today: date) -> tuple[date, date]:
    """Ten-year terms from a random filing date; registered marks are renewed to last at least 3 more years."""
    start = date(2004, 1, 1) + timedelta(days=rng.randrange(365 * 19))
    end = _add_years(start, 10) - timedelta(days=1)
    if status == "expired":
        while end >= today:
            start, end = _add_years(start, -10), _add_years(end, -10)
    else:
        while end < _add_years(today, 3):
            end = _add_years(end, 10)
    return start, end


def _row(meta: dict[str, str], rng: random.Random, status: str, today: date) -> dict[str, str]:
    slug, title = meta["slug"], meta["title"]
    classes, hs6, (low, high) = FIELDS[field_of(slug, title, meta["source"])]
    start, end = _validity(rng, status, today)
    price = round(rng.uniform(low, high), -3) if high else None
    return {
        "design_id": slug, "title": title, "right_holder": f"{title} Holdings (synthetic)",
        "image_path": meta["svg_path"], "right_holder_contact": f"ipr@{slug.replace('_', '-')}.example",
        "registration_no": f"40-{start.year}-{rng.randrange(1, 10**7):07d}", "right_type": "trademark",
        "classes": "|".join(classes), "territory": "KR", "status": status,
        "valid_from": start.isoformat(), "valid_to": end.isoformat(),
        "hs6": "|".join(sorted(rng.sample(hs6, k=min(len(hs6), rng.randint(1, 3))))),
        "genuine_price_krw": f"{price:.0f}" if price else "",
        "description": f"Logo mark of {title} (Simple Icons); holder, registration and goods are synthetic.",
        "hex": meta["hex"], "source": meta["source"], "guidelines": meta["guidelines"],
        "license_type": meta["license_type"], "synthetic_fields": "|".join(SYNTHETIC),
    }


def build_rows(src_dir: str | Path | None = None, *, seed: int = 42, limit: int | None = None,
               today: date = date(2026, 1, 1)) -> list[dict[str, str]]:
    """designs.csv rows for the first ``limit`` marks of metadata.csv (all when None), in its order.

    About 1% of marks (never the customs-relevant brands) are expired and 0.5% withdrawn, for realism.
    ``today`` is fixed so that the output does not change with the calendar.
    """
    src_dir = Path(src_dir) if src_dir else _default_dir()
    with open(src_dir / "metadata.csv", encoding="utf-8", newline="") as fh:
        metas = list(csv.DictReader(fh))[:limit]
    rng = random.Random(seed)
    out = []
    for meta in metas:
        draw = rng.random()
        status = "registered"
        if meta["slug"] not in KEEP_REGISTERED:
            status = "expired" if draw < 0.01 else "withdrawn" if draw < 0.015 else "registered"
        out.append(_row(meta, rng, status, today))
    return out


def write_package(src_dir: str | Path | None = None, *, seed: int = 42, limit: int | None = None) -> Path:
    """Write ``src_dir/designs.csv`` (UTF-8, atomically) and return its path."""
    src_dir = Path(src_dir) if src_dir else _default_dir()
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(build_rows(src_dir, seed=seed, limit=limit))
    dest = src_dir / "designs.csv"
    fd, tmp = tempfile.mkstemp(prefix=".designs-", suffix=".csv", dir=src_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(buf.getvalue())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def subset_package(dest: str | Path, n: int, *, start: int = 0, src_dir: str | Path | None = None) -> Path:
    """A registry package of ``n`` registered demo marks (from ``start``), copied to ``dest``; for tests and
    quick demos. Returns ``dest``."""
    src_dir = Path(src_dir) if src_dir else _default_dir()
    dest = Path(dest)
    (dest / "icons").mkdir(parents=True, exist_ok=True)
    with open(src_dir / "designs.csv", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = [r for r in reader if r["status"] == "registered"][start:start + n]
        fields = list(reader.fieldnames or COLUMNS)
    for r in rows:
        (dest / r["image_path"]).write_bytes((src_dir / r["image_path"]).read_bytes())
    with open(dest / "designs.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return dest


def _default_dir() -> Path:
    from kcs_kit.config import load_settings

    return load_settings().data_dir / "simple-icons"


def main() -> None:
    from kcs_kit.config import load_settings

    settings = load_settings()
    dest = write_package(settings.data_dir / "simple-icons", seed=settings.seed)
    print(f"wrote {dest}")


if __name__ == "__main__":
    main()
