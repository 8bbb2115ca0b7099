"""OCR engines: the contract kit, a rendered English word (rapidocr) and a rendered Korean word (tesseract)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kcs_kit.embed.base import OcrWord, get
from kcs_kit.embed.ocr import engine_names, merge_words, open_ocr_engines, read_all
from kcs_kit.embed.ocr_tesseract import parse_tsv
from kcs_kit.embed.testkit import check_ocr_engine, render_text
from kcs_kit.errors import ConfigError, ImageError, MissingDependencyError

KOREAN_FONTS = (  # Debian fonts-nanum, then fonts-noto-cjk (see apt-packages.txt)
    Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)


@pytest.fixture(scope="module")
def rapid():
    pytest.importorskip("rapidocr_onnxruntime", reason="rapidocr-onnxruntime not installed: run `make install`")
    from kcs_kit.embed.ocr_rapid import RapidOcrEngine

    return RapidOcrEngine()


@pytest.fixture(scope="module")
def tesseract():
    from kcs_kit.embed.ocr_tesseract import TesseractOcrEngine

    try:
        return TesseractOcrEngine()
    except MissingDependencyError as exc:
        pytest.skip(f"tesseract with Korean is not installed (apt-get install $(cat apt-packages.txt)): {exc}")


def _korean_font() -> Path:
    for font in KOREAN_FONTS:
        if font.exists():
            return font
    pytest.skip("no Korean font: apt-get install fonts-nanum (listed in apt-packages.txt)")


def test_rapidocr_keeps_the_contract_and_reads_an_english_word(rapid):
    check_ocr_engine(rapid, text="KOREA")


def test_rapidocr_returns_boxes_around_the_word_in_pixels(rapid):
    words = rapid.read(render_text("GENUINE"))
    assert [w.text for w in words] == ["GENUINE"]
    x0, y0, x1, y1 = words[0].box
    assert 50 <= x0 < 80 and 140 <= y0 < 175 and x1 - x0 > 150 and y1 - y0 > 25
    assert words[0].engine == "rapidocr" and words[0].confidence > 0.9


def test_tesseract_keeps_the_contract_and_reads_korean(tesseract):
    check_ocr_engine(tesseract, text="정품", font_path=_korean_font())
    check_ocr_engine(tesseract, text="KOREA")


def test_read_all_merges_engines_and_keeps_each_word_once(rapid, tesseract):
    from PIL import Image, ImageDraw, ImageFont

    img = Image.fromarray(render_text("KOREA"))
    ImageDraw.Draw(img).text((64, 300), "정품", fill="black", font=ImageFont.truetype(str(_korean_font()), 48))
    words = read_all(np.asarray(img), [rapid, tesseract])
    texts = [w.text for w in words]
    assert texts.count("KOREA") == 1 and "정품" in texts
    assert {w.engine for w in words} <= {"rapidocr", "tesseract"}


def test_merge_words_keeps_the_more_confident_of_two_overlapping_readings():
    a = OcrWord("Nike", (10, 10, 60, 30), 0.7, "tesseract")
    b = OcrWord("NIKE", (11, 9, 61, 31), 0.95, "rapidocr")
    c = OcrWord("NIKE", (200, 10, 250, 30), 0.6, "rapidocr")
    assert merge_words([a, b, c]) == [b, c]


def test_parse_tsv_reads_words_and_scales_confidence():
    tsv = ("level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
           "4\t1\t1\t1\t1\t0\t5\t5\t90\t40\t-1\t\n"
           "5\t1\t1\t1\t1\t1\t5\t5\t90\t40\t96.5\t정품\n"
           "5\t1\t1\t1\t1\t2\t95\t5\t30\t40\t12.0\t~\n")
    words = parse_tsv(tsv, 100, 50, min_confidence=0.3)
    assert words == [OcrWord("정품", (5.0, 5.0, 95.0, 45.0), 0.965, "tesseract")]


def test_engines_come_from_settings(settings):
    assert engine_names(settings) == ["rapidocr", "tesseract"]
    with pytest.raises(ConfigError, match="ocr_engines"):
        engine_names(type("S", (), {"ocr_engines": " , "})())
    with pytest.raises(ConfigError, match="unknown"):
        get("ocr", "nope", settings)
    assert [e.name for e in open_ocr_engines(settings, skip_missing=True)]


def test_bad_image_names_what_was_expected(rapid):
    with pytest.raises(ImageError, match=r"expected an RGB array \(H, W, 3\) of uint8, found shape \(4, 4\)"):
        rapid.read(np.zeros((4, 4), dtype=np.uint8))
