"""Widgets tested without a browser, by setting their values: uploads, bad photos, decisions, the case
queue, trends with filters, drill-down and export. Matching runs for real on the shared demo workspace."""

from __future__ import annotations

import html
import io
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from demo_ws import SAMPLE_DESIGN, SAMPLE_TITLE, demo_workspace
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    from kcs_kit.config import load_settings

    return load_settings(workspace=demo_workspace(tmp_path_factory), env={})


@pytest.fixture(scope="module")
def photo(settings) -> bytes:
    from kcs_kit.demo_photo import sample_photo

    return sample_photo(settings, SAMPLE_DESIGN, seed=0)


def upload(name: str, data: bytes, kind: str = "image/jpeg") -> dict:
    """One file as ipywidgets 8 FileUpload puts it in ``value``."""
    return {"name": name, "type": kind, "size": len(data), "content": memoryview(data),
            "last_modified": datetime(2026, 1, 1)}


@pytest.fixture(scope="module")
def matched(settings, photo):
    from widgets import MatchWorkbench

    wb = MatchWorkbench(settings, officer="kim")
    wb.upload.value = (upload("item.jpg", photo),)
    return wb


def test_upload_gives_ranked_cards_and_evidence(matched):
    wb = matched
    assert wb.error == "" and not wb.busy
    assert wb.result is not None and wb.result.candidates[0].design_id == SAMPLE_DESIGN
    assert re.fullmatch(r"C\d{8}-[0-9a-f]{6}", wb.case_id)
    assert len(wb.cards.children) == min(wb.top, len(wb.result.candidates))
    first = wb.cards.children[0]
    assert "kcs-card" in first._dom_classes
    text = first.children[1].value
    assert SAMPLE_TITLE in text and "right holder" in text and "kcs-bar" in text
    assert first.children[0].value[:8] == b"\x89PNG\r\n\x1a\n"  # the design's image
    assert wb.case_id in wb.banner.value
    visual, ocr, decl, narrative = (tab.value for tab in wb.evidence.children)
    assert "data:image/png;base64," in visual and "words read" in ocr and narrative
    assert "no declaration given" in decl
    assert len(wb.thumbs.children) == 1 and wb.progress_box.layout.display == "none"
    assert not wb.buttons["confirm"].disabled


def test_choosing_another_card_shows_its_evidence(matched):
    wb = matched
    wb.cards.children[1].children[2].click()
    assert wb.selected == 2 and wb.selected_candidate().rank == 2
    second = wb.result.candidates[1]
    assert second.design_id in wb.evidence.children[0].value or \
        html.escape(second.title) in wb.evidence.children[3].value  # the narrative is HTML: '1&1' is '1&amp;1'
    wb.selected = 1


def test_confirm_records_the_decision_and_the_queue_lists_it(matched, settings):
    from widgets import CaseQueue

    wb = matched
    wb.reason.value = "same mark, declared far below the genuine price"
    wb.buttons["confirm"].click()
    assert wb.error == "" and "confirmed" in wb.info and SAMPLE_DESIGN in wb.info
    assert not wb.notify_button.disabled
    wb.notify_button.click()
    assert wb.error == "" and "notice for the right holder" in wb.info
    pdf = Path(re.search(r"pdf: (\S+)", wb.info).group(1))
    assert pdf.exists() and pdf.read_bytes()[:5] == b"%PDF-" and wb.notify_button.disabled
    wb.notify_button.disabled = False
    wb.notify_button.click()  # a second notice for the same case is refused with a clear message
    assert "expected a confirmed case" in wb.error
    queue = CaseQueue(settings, workbench=wb, status="notified")
    assert wb.case_id in list(queue.frame["case_id"])
    queue.pick.value = wb.case_id
    assert "decided" in queue.detail.value and "notified" in queue.detail.value and "notice:" in queue.detail.value
    other = type(wb)(settings)
    queue.workbench = other
    queue.open_in_workbench()
    assert other.case_id == wb.case_id and other.result.candidates[0].design_id == SAMPLE_DESIGN
    assert "notified" in other.info and other.notify_button.disabled


def _png(size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "white").save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("name,data,expected", [
    ("notes.pdf", b"%PDF-1.7 not a photo at all", "expected a JPEG, PNG"),
    ("broken.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 64, "corrupt or truncated"),
    ("empty.jpg", b"", "empty file"),
    ("tiny.png", _png((12, 12)), "at least 32x32"),
])
def test_bad_uploads_give_a_clear_message_not_a_traceback(settings, name, data, expected):
    from widgets import MatchWorkbench

    wb = MatchWorkbench(settings)
    wb.upload.value = (upload(name, data),)
    assert expected in wb.error and name in wb.error
    assert "Traceback" not in wb.error and "kcs-error" in wb.status.value
    assert wb.result is None and wb.case_id == "" and not wb.cards.children and not wb.busy


def test_too_large_upload_is_refused_before_decoding(settings, photo):
    from widgets import MatchWorkbench

    wb = MatchWorkbench(settings, max_upload_bytes=50_000)
    wb.upload.value = (upload("huge.jpg", photo),)
    assert "larger than the upload limit" in wb.error and "huge.jpg" in wb.error and wb.result is None


def test_bad_crop_and_unknown_declaration_are_shown(settings, photo):
    from widgets import MatchWorkbench

    wb = MatchWorkbench(settings)
    wb.crop.value = "10,10,5,5"
    wb.set_photos([("item.jpg", photo)])
    assert "x0 < x1" in wb.error and wb.result is None
    wb.crop.value = ""
    wb.declaration.value = "NO-SUCH-DECL"
    wb.lookup.click()
    assert "NO-SUCH-DECL" in wb.error and "Traceback" not in wb.error


def test_multi_photo_item_and_declaration_facts(settings, photo):
    from kcs_kit.analytics import drilldown
    from widgets import MatchWorkbench

    decl = drilldown(settings, period="2020Q1", source="declarations", limit=1)["declaration_id"][0]
    noise = np.random.default_rng(3).integers(0, 255, (500, 700, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, format="PNG")
    wb = MatchWorkbench(settings)
    wb.declaration.value = decl
    wb.upload.value = (upload("box.png", buf.getvalue(), "image/png"), upload("label.jpg", photo))
    assert wb.error == "" and len(wb.thumbs.children) == 2
    top = wb.result.candidates[0]
    assert top.design_id == SAMPLE_DESIGN and top.photo_index == 1
    assert wb.result.declaration_id == decl and decl in wb.declaration_html.value
    assert decl in wb.evidence.children[2].value


def test_a_certain_first_photo_answers_and_every_photo_can_be_asked_for(settings, photo):
    """The mark on photo 1: the answer comes from it alone and the banner says so; ticking 'Every photo' and
    matching again matches both."""
    from widgets import MatchWorkbench

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(4).integers(0, 255, (500, 700, 3), dtype=np.uint8)).save(buf, "PNG")
    wb = MatchWorkbench(settings)
    assert not wb.every_photo.value and settings.match_first_photo > 0
    wb.upload.value = (upload("label.jpg", photo), upload("box.png", buf.getvalue(), "image/png"))
    assert wb.error == "" and wb.result.candidates[0].design_id == SAMPLE_DESIGN
    assert wb.result.photos_used == 1 and "photo 1 alone" in wb.banner.value
    assert ["kcs-unmatched" in t._dom_classes for t in wb.thumbs.children] == [False, True]
    first_case = wb.case_id
    wb.every_photo.value = True
    wb.rematch.click()
    assert wb.error == "" and wb.case_id != first_case and wb.result.photos_used == 2
    assert "photo 1 alone" not in wb.banner.value and wb.result.candidates[0].design_id == SAMPLE_DESIGN
    assert not any("kcs-unmatched" in t._dom_classes for t in wb.thumbs.children)


def test_trend_explorer_filters_drilldown_and_export(settings):
    from widgets import TrendExplorer

    te = TrendExplorer(settings, period="2020Q1:2021Q1", freq="quarter", by="origin")
    assert te.error == "" and te.frame.height and te.chart is not None
    assert te.chart_view.value.startswith("<svg") and "synthetic data" in te.chart_view.value
    assert "CN" in te.filters["origin"].options
    te.filters["origin"].value = ("CN",)
    assert set(te.frame["origin_country"]) == {"CN"}
    te.filters["transport"].value = ("50",) if "50" in te.filters["transport"].options else ()
    assert te.drill.options[1:], "bars to drill into"
    te.drill.value = te.drill.options[1][1]
    period, value = te.drill.value
    lines = te.drill_frame
    assert lines.height and set(lines["origin_country"]) == {"CN"}
    te.export.click()
    path = Path(te.export_path)
    assert path.exists() and path.read_text().splitlines()[0].startswith("line_id,declaration_id")
    assert "data:text/csv;base64," in te.download.value
    te.period.value = "2020Q5"
    assert "2020Q5" in te.error


def test_trend_explorer_by_brand_and_declarations_drill(settings):
    from widgets import TrendExplorer

    te = TrendExplorer(settings, by="brand", measure="seized_value_krw")
    assert "brand_title" in te.frame.columns and te.error == ""
    te.drill.value = te.drill.options[1][1]
    te.drill_source.value = "declarations"
    assert "cannot be split by brand" in te.error
    te.by.value = "origin"
    te.drill.value = te.drill.options[1][1]
    te.drill_source.value = "declarations"
    assert te.error == "" and "item_price_krw" in te.drill_frame.columns


def test_kcs_kit_never_imports_widgets():
    pattern = re.compile(r"^\s*(from|import)\s+widgets\b", re.M)
    offenders = [p for p in (REPO / "kcs_kit").rglob("*.py") if pattern.search(p.read_text(encoding="utf-8"))]
    assert not offenders


def test_readme_shows_the_workbench_screenshot():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    shot = REPO / "docs" / "img" / "workbench.png"
    assert "docs/img/workbench.png" in readme and shot.exists()
    assert 10_000 < shot.stat().st_size < 300_000
    assert "notebooks/01_officer.ipynb" in (REPO / "Makefile").read_text()
