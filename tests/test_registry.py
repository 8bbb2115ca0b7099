"""Design registry: import of real packages (SVG, PNG, JPEG, WebP), renders, versions, status, bad input, CLI."""

from __future__ import annotations

import csv
import io
import json
import shutil
import struct
import zlib
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw

from kcs_kit.cli import main
from kcs_kit.config import load_settings
from kcs_kit.errors import ImageError, NotFoundError, SchemaError
from kcs_kit.lake import catalog
from kcs_kit.registry import demo, store
from kcs_kit.registry.images import render_view

REPO = Path(__file__).resolve().parents[1]
ICONS = REPO / "data" / "simple-icons" / "icons"
HEADER = ["design_id", "title", "right_holder", "image_path", "hex", "status", "valid_from", "valid_to", "hs6",
          "classes", "genuine_price_krw", "note"]


def _logo(size=(200, 120), bg="white", fg="black") -> Image.Image:
    im = Image.new("RGB", size, bg)
    d = ImageDraw.Draw(im)
    w, h = size
    d.ellipse((w * 0.1, h * 0.1, w * 0.5, h * 0.9), fill=fg)
    d.rectangle((w * 0.6, h * 0.2, w * 0.9, h * 0.4), fill=fg)
    return im


def _save(im: Image.Image, path: Path, fmt: str, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, fmt, **kw)
    return path


def _write_csv(root: Path, rows: list[dict], encoding: str = "utf-8", header=HEADER) -> None:
    with open(root / "designs.csv", "w", encoding=encoding, newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def _row(design_id: str, image_path: str, **kw) -> dict:
    return {"design_id": design_id, "title": design_id.title(), "right_holder": f"{design_id} Co (synthetic)",
            "image_path": image_path, **kw}


def _package(root: Path) -> list[dict]:
    """A good package: 5 SVG marks, a PNG, a JPEG, a WebP and one design with three views."""
    (root / "icons").mkdir(parents=True)
    for slug in ("nike", "adidas", "apple", "samsung", "dotenv"):
        shutil.copy(ICONS / f"{slug}.svg", root / "icons" / f"{slug}.svg")
    _save(_logo(), root / "img" / "circle.png", "PNG")
    _save(_logo(bg="black", fg="white"), root / "img" / "night.jpg", "JPEG", quality=90)
    _save(_logo(bg=(30, 60, 200), fg="yellow"), root / "img" / "blue.webp", "WEBP")
    rows = [
        _row("nike", "icons/nike.svg", hex="111111", valid_to="2030-12-31", hs6="640411|610910", classes="25",
             genuine_price_krw="159000", note="kept as metadata"),
        _row("adidas", "icons/adidas.svg", hex="000000"),
        _row("apple", "icons/apple.svg", hex="000000", valid_from="2010-01-01"),
        _row("samsung", "icons/samsung.svg", hex="1428A0", status="registered"),
        _row("dotenv", "icons/dotenv.svg", hex="ECD53F"),
        _row("circle", "img/circle.png"),
        _row("night", "img/night.jpg"),
        _row("blue", "img/blue.webp"),
        _row("multi", "icons/nike.svg|img/circle.png|img/blue.webp", hex="E4002B"),
    ]
    _write_csv(root, rows)
    return rows


@pytest.fixture
def pkg(tmp_path: Path) -> Path:
    root = tmp_path / "pkg"
    _package(root)
    return root


def _bomb_png(path: Path, width: int = 100_000, height: int = 100_000) -> None:
    """A tiny PNG whose IHDR claims width x height pixels (CRC fixed), like a decompression bomb."""
    buf = io.BytesIO()
    Image.new("1", (8, 8)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))


def _count(settings, sql: str) -> int:
    with store.connect(settings, read_only=True) as con:
        return con.execute(sql).fetchall()[0][0]


def test_import_renders_every_view_three_ways(pkg, settings):
    result = store.import_package(pkg, settings)
    assert (result.added, result.updated, result.unchanged, result.quarantined) == (9, 0, 0, ())
    nike = store.get_design(settings, "nike")
    assert (nike.version, nike.status, nike.hs6, nike.classes) == (1, "registered", ("640411", "610910"), ("25",))
    assert nike.metadata == {"note": "kept as metadata"} and nike.genuine_price_krw == 159000
    assert {(i.view, i.variant) for i in nike.images} == {(0, v) for v in ("colour", "dark", "light")}
    multi = store.get_design(settings, "multi")
    assert len(multi.images) == 9 and [i.source_path for i in multi.images[::3]] == [
        "icons/nike.svg", "img/circle.png", "img/blue.webp"]
    for im in multi.images:
        assert im.path.is_file() and im.path.is_relative_to(settings.registry_dir / "images" / "multi")
        assert (im.width, im.height) == (512, 512)
    assert not (settings.registry_dir / "_staging").exists()
    assert store.active_design_ids(settings) == {"nike", "adidas", "apple", "samsung", "dotenv", "circle",
                                                 "night", "blue", "multi"}


def _arr(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)


def _border(a: np.ndarray) -> float:
    return float(np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]]).mean())


def test_render_variants_are_what_they_say(pkg, settings):
    store.import_package(pkg, settings)
    for design_id in ("nike", "night", "blue"):  # an SVG, a white-on-black JPEG, a yellow-on-blue WebP
        files = {i.variant: i.path for i in store.get_design(settings, design_id).images}
        dark, light = _arr(files["dark"]), _arr(files["light"])
        assert _border(dark) > 240 and dark.min() < 30, design_id  # dark ink on a light ground
        assert _border(light) < 15 and light.max() > 225, design_id  # light ink on a dark ground
        assert np.allclose(dark + light, 255, atol=1)
        if design_id != "nike":  # inside the photo, left of the mark: its own ground, made light in "dark"
            assert dark[256, 40].min() > 200 and light[256, 40].max() < 55, design_id
    colour = _arr({i.variant: i.path for i in store.get_design(settings, "samsung").images}["colour"])
    ink = colour[(colour < 250).any(axis=2)]
    assert np.abs(ink.mean(axis=0) - [0x14, 0x28, 0xA0]).max() < 25  # painted in the brand colour
    assert _border(colour) > 250


def test_exif_orientation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = _save(_logo((300, 100)), tmp_path / "rotated.jpg", "JPEG", exif=exif.tobytes())
    dark = np.asarray(render_view(path)["dark"])
    rows, cols = np.nonzero(dark < 128)
    assert (rows.max() - rows.min()) > 2 * (cols.max() - cols.min())  # upright: taller than wide


def test_reimport_unchanged_touches_nothing(pkg, settings):
    store.import_package(pkg, settings)
    before = {p: p.stat().st_mtime_ns for p in (settings.registry_dir / "images").rglob("*.png")}
    again = store.import_package(pkg, settings)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 9)
    assert {p: p.stat().st_mtime_ns for p in (settings.registry_dir / "images").rglob("*.png")} == before
    assert _count(settings, "SELECT count(*) FROM design_versions") == 9


def test_changed_row_or_image_gets_a_new_version(pkg, settings):
    rows = _package(pkg.parent / "pkg2")
    store.import_package(pkg.parent / "pkg2", settings)
    rows[0]["title"] = "Nike (renamed)"
    rows[8]["image_path"] = "icons/nike.svg"  # multi: three views -> one
    _write_csv(pkg.parent / "pkg2", rows)
    _save(_logo(fg="red"), pkg.parent / "pkg2" / "img" / "circle.png", "PNG")
    result = store.import_package(pkg.parent / "pkg2", settings)
    assert (result.added, result.updated, result.unchanged) == (0, 3, 6)
    nike = store.get_design(settings, "nike")
    assert nike.title == "Nike (renamed)" and nike.version == 2
    assert [(v.version, v.change) for v in nike.versions] == [(1, "added"), (2, "updated")]
    assert nike.versions[0].row["title"] == "Nike" and nike.created_at < nike.updated_at
    multi = store.get_design(settings, "multi")
    assert len(multi.images) == 3 and sorted(p.name for p in multi.images[0].path.parent.iterdir()) == [
        "0-colour.png", "0-dark.png", "0-light.png"]  # renders of removed views are gone
    assert store.get_design(settings, "circle").version == 2


def test_withdraw_expire_and_reactivate(pkg, settings):
    rows = _package(pkg.parent / "p")
    store.import_package(pkg.parent / "p", settings)
    d = store.withdraw(settings, "adidas", reason="cancelled by the office")
    assert (d.status, d.version, d.status_reason) == ("withdrawn", 2, "cancelled by the office")
    assert d.versions[-1].change == "withdrawn" and d.versions[-1].row["status"] == "withdrawn"
    assert "adidas" not in store.active_design_ids(settings)
    assert store.expire_due(settings, today=date(2031, 1, 1)) == ["nike"]
    assert store.get_design(settings, "nike").versions[-1].change == "expired"
    assert "nike" not in store.active_design_ids(settings)
    assert "apple" not in store.active_design_ids(settings, today=date(2009, 12, 31))  # not yet valid
    assert store.expire_due(settings, today=date(2031, 1, 1)) == []
    rows[1]["title"] = "Adidas AG"
    _write_csv(pkg.parent / "p", rows)
    store.import_package(pkg.parent / "p", settings)
    assert store.get_design(settings, "adidas").versions[-1].change == "reactivated"
    with pytest.raises(NotFoundError, match="'nope'.*expected a design_id"):
        store.withdraw(settings, "nope", reason="x")


def _bad_package(root: Path) -> dict[str, str]:
    """The good package plus one bad design of each kind; returns design_id -> expected reason."""
    rows = _package(root)
    d = root / "bad"
    d.mkdir()
    good = io.BytesIO()
    _logo().save(good, "PNG")
    (d / "broken.png").write_bytes(good.getvalue()[:60] + b"\x00" * 200)
    jpeg = io.BytesIO()
    _logo((400, 300)).save(jpeg, "JPEG")
    (d / "truncated.jpg").write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 2])
    (d / "text.png").write_text("hello, I am not an image\n")
    svg = (ICONS / "nike.svg").read_text()
    (d / "external.svg").write_text(svg.replace("</svg>", '<image href="https://evil.example/x.png"/></svg>'))
    (d / "script.svg").write_text(svg.replace("</svg>", "<script>alert(1)</script></svg>"))
    (d / "entity.svg").write_text('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]>' + svg)
    _bomb_png(d / "bomb.png")
    (root.parent / "outside.png").write_bytes(good.getvalue())
    (d / "link.png").symlink_to(root.parent / "outside.png")
    bad = {
        "broken": ("bad/broken.png", "expected a readable PNG"),
        "truncated": ("bad/truncated.jpg", "expected a readable JPEG"),
        "textpng": ("bad/text.png", "expected a PNG, JPEG, WebP or SVG image, found 25 bytes starting with 'hello"),
        "external": ("bad/external.svg", "references external 'https://evil.example/x.png'"),
        "script": ("bad/script.svg", "SVG contains <script>"),
        "entity": ("bad/entity.svg", "declares XML entities"),
        "missing": ("bad/nothere.png", "image file 'bad/nothere.png' not found"),
        "escape": ("../outside.png", "uses '..'"),
        "link": ("bad/link.png", "leads outside the package folder"),
        "bomb": ("bad/bomb.png", "decompression-bomb guard"),
        "halfbad": ("icons/nike.svg|bad/broken.png", "expected a readable PNG"),
    }
    rows += [_row(k, path) for k, (path, _) in bad.items()]
    rows += [_row("hsbad", "icons/apple.svg", hs6="6403AB"), _row("nike", "icons/apple.svg")]
    _write_csv(root, rows)
    return {**{k: why for k, (_, why) in bad.items()}, "hsbad": "hs6 '6403AB' is not valid; expected 6 digits",
            "nike": "design_id 'nike' repeats line 2"}


def test_bad_designs_are_quarantined_with_clear_reasons(tmp_path, settings):
    expected = _bad_package(tmp_path / "pkg")
    result = store.import_package(tmp_path / "pkg", settings)
    assert result.added == 9
    reasons = {q.design_id: q.reason for q in result.quarantined if q.design_id != "nike"}
    reasons["nike"] = next(q.reason for q in result.quarantined if q.design_id == "nike")
    assert set(reasons) == set(expected)
    for design_id, fragment in expected.items():
        assert fragment in reasons[design_id], (design_id, reasons[design_id])
        assert reasons[design_id].startswith("designs.csv line ")
    assert store.get_design(settings, "nike").images[0].source_path == "icons/nike.svg"  # the first one won
    assert not (settings.registry_dir / "images" / "halfbad").exists()  # never half a design
    assert _count(settings, "SELECT count(*) FROM registry_quarantine") == len(expected)
    assert _count(settings, "SELECT count(*) FROM designs") == 9


def test_raise_imports_nothing(tmp_path, settings):
    _bad_package(tmp_path / "pkg")
    with pytest.raises(SchemaError, match=r"designs.csv line \d+: .*nothing was imported"):
        store.import_package(tmp_path / "pkg", settings, errors="raise")
    assert _count(settings, "SELECT count(*) FROM designs") == 0
    assert not list((settings.registry_dir).rglob("*.png"))
    with pytest.raises(ImageError, match="expected a readable PNG"):
        render_view(tmp_path / "pkg" / "bad" / "broken.png")


def test_pixel_guard_is_a_setting(pkg, tmp_path):
    small = load_settings(workspace=tmp_path / "small", env={}, max_image_pixels=10_000)
    result = store.import_package(pkg, small)
    assert {q.design_id for q in result.quarantined} == {"circle", "night", "blue", "multi"}
    assert "claims 200 x 120 = 24,000 pixels; expected at most 10,000" in result.quarantined[0].reason


def test_cp949_csv_and_file_level_errors(tmp_path, settings):
    root = tmp_path / "kr"
    (root / "icons").mkdir(parents=True)
    shutil.copy(ICONS / "samsung.svg", root / "icons" / "s.svg")
    _write_csv(root, [_row("KR-1", "icons/s.svg", hex="1428A0") | {"title": "삼성 로고", "note": "한글"}],
               encoding="cp949")
    assert store.import_package(root, settings).added == 1
    d = store.get_design(settings, "KR-1")
    assert d.title == "삼성 로고" and d.metadata == {"note": "한글"}
    (root / "designs.csv").write_text("id,name\n1,x\n")
    with pytest.raises(SchemaError, match="expected columns design_id, title, right_holder, image_path; missing"):
        store.import_package(root, settings)
    with pytest.raises(SchemaError, match="expected a registry package folder with designs.csv"):
        store.import_package(tmp_path / "nowhere", settings)


def test_interrupted_commit_is_repaired(pkg, settings):
    store.import_package(pkg, settings)
    nike = settings.registry_dir / "images" / "nike"
    before = {p.name: p.read_bytes() for p in nike.iterdir()}
    old = settings.registry_dir / "_staging" / "crashed" / "_old" / "nike"  # swapped out, never committed
    old.parent.mkdir(parents=True)
    shutil.copytree(nike, old)
    for p in nike.iterdir():
        p.write_bytes(b"uncommitted")
    (settings.registry_dir / "images" / "ghost").mkdir()  # added but never committed
    store.import_package(pkg, settings)
    assert {p.name: p.read_bytes() for p in nike.iterdir()} == before
    assert not (settings.registry_dir / "images" / "ghost").exists()
    assert not (settings.registry_dir / "_staging").exists()


def test_registry_shares_the_lake_catalog(pkg, settings):
    store.import_package(pkg, settings)
    with catalog.connect(settings, read_only=True) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert {"designs", "design_images", "design_versions", "registry_quarantine", "lake_files"} <= tables


def test_cli(pkg, tmp_path):
    runner = CliRunner()
    ws = ["--workspace", str(tmp_path / "cli-ws")]
    out = runner.invoke(main, [*ws, "registry", "import", str(pkg), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["added"] == 9
    out = runner.invoke(main, [*ws, "registry", "list", "--query", "NIK", "--json"])
    assert [r["design_id"] for r in json.loads(out.output)] == ["nike"]
    out = runner.invoke(main, [*ws, "registry", "withdraw", "nike", "--reason", "cancelled"])
    assert out.exit_code == 0 and "withdrawn (v2)" in out.output
    out = runner.invoke(main, [*ws, "registry", "list", "--status", "withdrawn"])
    assert "nike" in out.output and "1 design(s)" in out.output
    out = runner.invoke(main, [*ws, "registry", "show", "nike"])
    assert "v2 withdrawn" in out.output and "0-colour.png" in out.output
    assert json.loads(runner.invoke(main, [*ws, "registry", "show", "apple", "--json"]).output)["version"] == 1
    out = runner.invoke(main, [*ws, "registry", "expire", "--today", "2031-01-01"])
    assert out.exit_code == 0 and "0 design(s) expired" in out.output  # nike is withdrawn already
    out = runner.invoke(main, [*ws, "registry", "show", "nope"])
    assert out.exit_code == 1 and "error: design 'nope'" in out.output


def test_demo_package_is_deterministic_and_imports(tmp_path, settings):
    src = REPO / "data" / "simple-icons"
    assert demo.build_rows(src, limit=50) == demo.build_rows(src, limit=50)
    assert demo.build_rows(src, limit=50, seed=7) != demo.build_rows(src, limit=50)
    rows = demo.build_rows(src, limit=50)
    assert all(r["right_holder"].endswith("(synthetic)") and "hs6" in r["synthetic_fields"] for r in rows)
    shipped = list(csv.DictReader(open(src / "designs.csv", encoding="utf-8")))[:50]
    assert shipped == rows  # the committed designs.csv is what the generator writes
    sub = tmp_path / "si"
    (sub / "icons").mkdir(parents=True)
    with open(src / "metadata.csv", encoding="utf-8") as fh:
        lines = fh.readlines()[:51]
    (sub / "metadata.csv").write_text("".join(lines), encoding="utf-8")
    for r in rows:
        shutil.copy(src / r["image_path"], sub / r["image_path"])
    demo.write_package(sub, limit=50)
    result = store.import_package(sub, settings)  # 50 designs: rendered by the worker pool
    assert (result.added, result.quarantined) == (50, ())
    assert demo.field_of("nike", "Nike", "") == "apparel" and demo.field_of("x", "Acme Coffee", "") == "food"
