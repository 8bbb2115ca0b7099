"""Synthetic query photos (kcs bench photos): package format, shares, determinism, EXIF, crops, CLI."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageOps

from kcs_kit.bench.photogen import write_query_package
from kcs_kit.bench.photogen.camera import encode_jpeg
from kcs_kit.cli import main
from kcs_kit.registry import demo

REPO = Path(__file__).resolve().parents[1]
N, SEED = 24, 3
DESIGN_MD_COLUMNS = ("query_id", "image_path", "design_id", "crop")


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Path:
    """Six registered demo marks plus one expired design (its icon copied in)."""
    root = demo.subset_package(tmp_path_factory.mktemp("photogen") / "reg", 6)
    with open(REPO / "data" / "simple-icons" / "designs.csv", encoding="utf-8", newline="") as fh:
        spare = [r for r in csv.DictReader(fh) if r["status"] == "registered"][40]
    shutil.copy(REPO / "data" / "simple-icons" / spare["image_path"], root / spare["image_path"])
    spare.update(status="expired", valid_from="2001-01-01", valid_to="2011-01-01")
    with open(root / "designs.csv", "a", encoding="utf-8", newline="") as fh:
        csv.DictWriter(fh, fieldnames=list(spare), lineterminator="\n").writerow(spare)
    return root


@pytest.fixture(scope="module")
def package(registry, tmp_path_factory):
    out = tmp_path_factory.mktemp("photogen") / "out"
    summary = write_query_package(registry, out, n=N, seed=SEED, workers=2)
    with open(out / "queries.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return summary, out, rows


def _designs(registry: Path) -> dict[str, str]:
    with open(registry / "designs.csv", encoding="utf-8", newline="") as fh:
        return {r["design_id"]: r["status"] for r in csv.DictReader(fh)}


def test_package_has_the_design_md_columns_and_readable_photos(package):
    summary, out, rows = package
    assert len(rows) == N == summary.n
    assert set(DESIGN_MD_COLUMNS) <= set(rows[0])
    assert {r["synthetic"] for r in rows} == {"true"}
    assert {r["generator"] for r in rows} == {f"kcs-photos/1 seed={SEED}"}
    paths = [p for r in rows for p in r["image_path"].split("|")]
    assert len(paths) == summary.photos and any("|" in r["image_path"] for r in rows)
    for rel in paths:
        with Image.open(out / rel) as im:
            im.load()
            w, h = ImageOps.exif_transpose(im).size
            assert 480 <= min(w, h) and max(w, h) <= 2000
    assert "SYNTHETIC" in (out / "README.md").read_text()
    assert Image.open(out / "contact_sheet.png").size[0] > 1000


def test_true_designs_are_registered_and_about_a_fifth_are_rejections(package, registry):
    _summary, _out, rows = package
    status = _designs(registry)
    empty = [r for r in rows if not r["design_id"]]
    assert len(empty) == round(0.2 * N)
    for r in rows:
        if r["design_id"]:
            assert status[r["design_id"]] == "registered", r
    assert {r["kind"] for r in empty} <= {"no_mark", "unregistered_mark", "invented_mark"}
    assert any(r["kind"] == "unregistered_mark" for r in empty)  # the expired design, shown, not matched
    fractions = [float(r["mark_fraction"]) for r in rows if r["kind"] != "no_mark"]
    assert min(fractions) > 0.005 and max(fractions) < 1.0


def test_crop_boxes_lie_inside_the_upright_photo(package):
    _summary, out, rows = package
    cropped = [r for r in rows if r["crop"]]
    assert cropped, "seed 3 gives at least one crop box"
    for r in cropped:
        x0, y0, x1, y1 = map(int, r["crop"].split(","))
        with Image.open(out / r["image_path"]) as im:
            w, h = ImageOps.exif_transpose(im).size
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h


def test_exif_rotated_photos_come_upright():
    upright = np.zeros((120, 200, 3), np.uint8)
    upright[..., 2] = np.linspace(0, 200, 200, dtype=np.uint8)[None, :]  # blue ramp left -> right
    upright[8:40, 8:88] = (250, 30, 30)  # a red block top-left: easy to find after turning
    for orientation in (1, 3, 6, 8):
        data = encode_jpeg(upright, 90, orientation, "SYNTHETIC test")
        with Image.open(io.BytesIO(data)) as im:
            stored = im.size
            shown = np.asarray(ImageOps.exif_transpose(im).convert("RGB"), np.float32)
        assert stored == ((120, 200) if orientation in (6, 8) else (200, 120))
        assert shown.shape == upright.shape
        assert np.abs(shown - upright).mean() < 4, orientation
        assert shown[24, 48, 0] > 200 and shown[100, 180, 0] < 60, orientation


def test_exif_orientation_is_recorded_and_honoured(package):
    _summary, out, rows = package
    turned = [(r, p, o) for r in rows for p, o in zip(r["image_path"].split("|"), r["exif_orientation"].split("|"),
                                                     strict=True) if o != "1"]
    assert turned, "seed 3 gives at least one EXIF-rotated photo"
    for _r, rel, o in turned:
        with Image.open(out / rel) as im:
            assert im.getexif().get(0x0112) == int(o)
            raw = im.size
            shown = ImageOps.exif_transpose(im).size
        assert shown == (raw[::-1] if o in ("6", "8") else raw)


def test_cli_writes_the_same_bytes_with_one_worker(package, registry, tmp_path):
    _summary, out, rows = package
    res = CliRunner().invoke(main, ["bench", "photos", "--registry", str(registry), "--out", str(tmp_path / "o"),
                                    "--n", str(N), "--seed", str(SEED), "--workers", "1", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["n"] == N
    assert (tmp_path / "o" / "queries.csv").read_bytes() == (out / "queries.csv").read_bytes()
    for r in rows:
        for rel in r["image_path"].split("|"):
            assert (tmp_path / "o" / rel).read_bytes() == (out / rel).read_bytes(), rel
    assert (tmp_path / "o" / "contact_sheet.png").read_bytes() == (out / "contact_sheet.png").read_bytes()
