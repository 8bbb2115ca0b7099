"""Write a SYNTHETIC query package (DESIGN.md "Query package") of phone-like photos of goods from a registry.

``OUT/queries.csv`` (query_id, image_path, design_id, crop + break-down columns), ``OUT/photos/*.jpg``,
``OUT/README.md`` and ``OUT/contact_sheet.png``. True designs are drawn uniformly from the registered designs;
about 20 % of queries have none (no mark, an expired / withdrawn mark, or an invented logo). Every query and
photo has its own seed hashed from (seed, query number, photo number), so the files are byte-identical for the
same registry, n and seed whatever the number of workers.

Example::

    >>> from kcs_kit.bench.photogen import write_query_package
    >>> s = write_query_package("data/simple-icons", "/tmp/q", n=10, seed=1)   # doctest: +SKIP
    >>> s.with_design + s.without_design
    10
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kcs_kit.errors import KcsError

if TYPE_CHECKING:
    from kcs_kit.bench.photogen.scene import ItemSpec

GENERATOR = "kcs-photos/1"
COLUMNS = ("query_id", "image_path", "design_id", "crop", "kind", "mark_fraction", "has_text", "synthetic",
           "generator", "product", "style", "alteration", "occluder", "exif_orientation", "jpeg_quality")
POSITIVE_KINDS = {"printed": 0.2, "embossed": 0.1, "woven": 0.08, "on_bottle": 0.1, "on_box": 0.1, "label": 0.1,
                  "altered_colour": 0.1, "altered_shape": 0.12, "mirrored": 0.1}
NEGATIVE_KINDS = {"no_mark": 0.35, "unregistered_mark": 0.3, "invented_mark": 0.35}
NEGATIVE_SHARE, MULTI_SHARE, CROP_SHARE, TEXT_SHARE, EXIF_SHARE = 0.2, 0.1, 0.1, 0.3, 0.08


@dataclass(frozen=True)
class QueryPackageSummary:
    """What ``write_query_package`` wrote: queries with / without a true design, photos, time taken."""

    n: int
    with_design: int
    without_design: int
    photos: int
    seconds: float
    out_dir: Path
    kinds: tuple[tuple[str, int], ...] = ()

    @property
    def photos_per_second(self) -> float:
        return self.photos / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class QueryPlan:
    """One query before it is drawn: the item, its true design ('' = none) and what to record."""

    query_id: str
    index: int
    design_id: str
    n_photos: int
    crop: bool
    has_text: bool
    spec: ItemSpec
    seed: int


def sub_seed(seed: int, *parts: object) -> int:
    """A 63-bit seed from ``seed`` and ``parts`` (stable across runs, machines and scheduling)."""
    text = "|".join([GENERATOR, str(seed), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def _designs(registry_dir: Path) -> tuple[list, list]:
    from kcs_kit.registry.package import read_package

    pkg = read_package(registry_dir)
    registered = [r for r in pkg.rows if r.status == "registered"]
    if not registered:
        raise KcsError(f"{registry_dir}/designs.csv: expected registered designs to photograph, found none "
                       f"({len(pkg.rows)} valid rows, {len(pkg.rejected)} rejected)",
                       hint="point --registry at a registry package with status=registered rows")
    return registered, [r for r in pkg.rows if r.status in ("expired", "withdrawn")]


def _labels(rng: random.Random, weights: dict[str, float], count: int) -> list[str]:
    """``count`` labels in the given shares (largest remainder), shuffled."""
    raw = {k: w * count / sum(weights.values()) for k, w in weights.items()}
    got = {k: int(v) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: raw[k] - got[k], reverse=True)[:count - sum(got.values())]:
        got[k] += 1
    out = [k for k, c in got.items() for _ in range(c)]
    rng.shuffle(out)
    return out


def plan_queries(registered: list, unregistered: list, n: int, seed: int) -> list[QueryPlan]:
    """Decide every query (kind, design, product, photos, crop, text) with ``random.Random(seed)``."""
    import numpy as np

    from kcs_kit.bench.photogen import products, scene

    rng = random.Random(seed)
    n_neg = round(n * NEGATIVE_SHARE)
    kinds = _labels(rng, POSITIVE_KINDS, n - n_neg) + _labels(rng, NEGATIVE_KINDS, n_neg)
    rng.shuffle(kinds)
    plans = []
    for i, kind in enumerate(kinds):
        if kind == "unregistered_mark" and not unregistered:
            kind = "invented_mark"
        row = rng.choice(registered) if kind in POSITIVE_KINDS else \
            rng.choice(unregistered) if kind == "unregistered_mark" else None
        choices = scene.KIND_RULES.get(kind, (tuple(products.PRODUCTS), ()))[0]
        has_text = kind != "no_mark" and rng.random() < TEXT_SHARE
        mark = "registry" if row else "none" if kind == "no_mark" else "invented"
        item_seed = sub_seed(seed, i, "item")
        word = ""
        if has_text:
            word = row.title if row else scene.invented_word(np.random.default_rng(item_seed))
        alteration = {"altered_colour": "colour", "altered_shape": "shape", "mirrored": "mirror"}.get(kind, "")
        spec = scene.ItemSpec(kind, rng.choice(choices), mark, str(row.views[0]) if row else "",
                              row.hex if row else None, word, alteration, item_seed)
        n_photos = rng.choice((2, 2, 3)) if rng.random() < MULTI_SHARE else 1
        crop = n_photos == 1 and mark != "none" and rng.random() < CROP_SHARE
        design = row.design_id if row and kind in POSITIVE_KINDS else ""
        plans.append(QueryPlan(f"q{i + 1:05d}", i, design, n_photos, crop, has_text, spec, seed))
    return plans


def _loose(box: tuple[int, int, int, int], size: tuple[int, int], rng: random.Random) -> str:
    x0, y0, x1, y1 = box
    w, h = size
    px, py = (x1 - x0) * rng.uniform(0.04, 0.2), (y1 - y0) * rng.uniform(0.04, 0.2)
    return f"{max(0, int(x0 - px))},{max(0, int(y0 - py))},{min(w, int(x1 + px))},{min(h, int(y1 + py))}"


def render_query(plan: QueryPlan) -> list[dict]:
    """Draw every photo of one query: [{name, data (JPEG bytes), box, fraction, style, notes, ...}]."""
    from kcs_kit.bench.photogen import camera, scene

    out = []
    for k in range(plan.n_photos):
        photo = scene.render_photo(plan.spec, sub_seed(plan.seed, plan.index, "photo", k))
        jr = random.Random(sub_seed(plan.seed, plan.index, "jpeg", k))
        orientation = jr.choice((6, 6, 8, 8, 3)) if jr.random() < EXIF_SHARE else 1
        quality = jr.randint(35, 90)
        suffix = f"-{k + 1}" if plan.n_photos > 1 else ""
        desc = f"SYNTHETIC photo {plan.query_id}{suffix} by {GENERATOR} seed={plan.seed}; not a real photo"
        h, w = photo.rgb.shape[:2]
        crop = _loose(photo.mark_box, (w, h), jr) if plan.crop and photo.mark_box else ""
        out.append({"name": f"photos/{plan.query_id}{suffix}.jpg", "style": photo.style, "crop": crop,
                    "data": camera.encode_jpeg(photo.rgb, quality, orientation, desc), "notes": photo.notes,
                    "fraction": photo.mark_fraction, "orientation": orientation, "quality": quality})
    return out


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)


def _row(plan: QueryPlan, photos: list[dict]) -> dict[str, str]:
    first = photos[0]
    return {"query_id": plan.query_id, "image_path": "|".join(p["name"] for p in photos),
            "design_id": plan.design_id, "crop": first["crop"], "kind": plan.spec.kind,
            "mark_fraction": f"{max(p['fraction'] for p in photos):.4f}", "has_text": str(int(plan.has_text)),
            "synthetic": "true", "generator": f"{GENERATOR} seed={plan.seed}", "product": first["notes"]["product"],
            "style": first["style"], "alteration": first["notes"]["alteration"],
            "occluder": "|".join(p["notes"]["occluder"] for p in photos).strip("|"),
            "exif_orientation": "|".join(str(p["orientation"]) for p in photos),
            "jpeg_quality": "|".join(str(p["quality"]) for p in photos)}


def _prepare(out_dir: Path) -> None:
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / "queries.csv").exists():
        raise KcsError(f"{out_dir}: expected an empty folder or an earlier query package, found other files",
                       hint="choose a new --out folder")
    (out_dir / "photos").mkdir(parents=True, exist_ok=True)
    for old in (out_dir / "photos").glob("q*.jpg"):
        old.unlink()


def write_query_package(registry_dir: str | Path, out_dir: str | Path, *, n: int, seed: int, workers: int = 2,
                        progress: Callable[[int], Callable[[int], None]] | None = None) -> QueryPackageSummary:
    """Generate ``n`` synthetic queries from the registry package at ``registry_dir`` into ``out_dir``."""
    if n < 1:
        raise KcsError(f"--n {n}: expected at least 1 query", hint="pass --n 2000 (the default)")
    registry_dir, out_dir = Path(registry_dir), Path(out_dir)
    start = time.perf_counter()
    registered, unregistered = _designs(registry_dir)
    plans = plan_queries(registered, unregistered, n, seed)
    _prepare(out_dir)
    update = progress(n) if progress else (lambda _k: None)
    rows: list = []
    sheet: list = []
    for plan, photos in zip(plans, _run(plans, workers), strict=True):
        for p in photos:
            (out_dir / p["name"]).write_bytes(p["data"])
            if len(sheet) < 24:
                sheet.append((p["data"], plan))
        rows.append(_row(plan, photos))
        update(1)
    _atomic_write(out_dir / "queries.csv", _csv_text(rows))
    kinds = tuple(sorted(Counter(r["kind"] for r in rows).items()))
    from kcs_kit.bench.photogen.report import contact_sheet, readme

    _atomic_write(out_dir / "README.md", readme(registry_dir, out_dir, n, seed, rows, kinds))
    (out_dir / "contact_sheet.png").write_bytes(contact_sheet(sheet, seed))
    with_design = sum(1 for r in rows if r["design_id"])
    return QueryPackageSummary(n, with_design, n - with_design, sum(len(r["image_path"].split("|")) for r in rows),
                               time.perf_counter() - start, out_dir, kinds)


def _run(plans: list[QueryPlan], workers: int):
    if workers <= 1:
        yield from map(render_query, plans)
        return
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(workers, initializer=_init_worker) as pool:
        yield from pool.imap(render_query, plans, chunksize=2)


def _csv_text(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _atomic_write(dest: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}-", dir=dest.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
