"""Fonts for printed words (brand names, clutter text): system TTFs when present, else Pillow's default.

The list is fixed and sorted so that a seed picks the same font on the same machine; a machine without
DejaVu / Nanum fonts falls back to ``ImageFont.load_default(size)`` (photos then differ from other machines).

Example::

    >>> from kcs_kit.bench.photogen.fonts import font
    >>> font(0, 40).getbbox("KCS")[2] > 0
    True
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import ImageFont

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/nanum")
# Hangul needs Nanum; Latin text uses any of them.
_LATIN = ("DejaVuSans-Bold.ttf", "DejaVuSans.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSansCondensed-Bold.ttf",
          "DejaVuSerif.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSans-BoldOblique.ttf", "NanumSquareB.ttf",
          "NanumGothicBold.ttf", "NanumMyeongjoBold.ttf", "NanumSquareRoundB.ttf", "NanumBarunGothic.ttf")
_HANGUL = ("NanumGothic.ttf", "NanumGothicBold.ttf", "NanumSquareB.ttf", "NanumBarunGothic.ttf",
           "NanumMyeongjo.ttf")


@lru_cache(maxsize=1)
def font_files() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(Latin-capable, Hangul-capable) font paths found on this machine, in a fixed order."""
    found = {p.name: str(p) for d in FONT_DIRS for p in sorted(Path(d).glob("*.ttf"))}
    return (tuple(found[n] for n in _LATIN if n in found), tuple(found[n] for n in _HANGUL if n in found))


@lru_cache(maxsize=256)
def font(index: int, size: int, hangul: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Font number ``index`` (modulo the available ones) at ``size`` px."""
    from PIL import ImageFont

    files = font_files()[1 if hangul else 0]
    size = max(6, int(size))
    if not files:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(files[index % len(files)], size)


def needs_hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" or "\u3131" <= ch <= "\u318e" for ch in text)


def text_mask(text: str, size: int, index: int, *, pad: int = 2) -> np.ndarray:
    """A tight float32 mask (0..1) of ``text`` drawn in font ``index`` at ``size`` px."""
    from PIL import Image, ImageDraw

    f = font(index, size, needs_hangul(text))
    x0, y0, x1, y1 = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((0, 0), text, font=f)
    im = Image.new("L", (int(max(1, x1 - x0) + 2 * pad), int(max(1, y1 - y0) + 2 * pad)), 0)
    ImageDraw.Draw(im).text((pad - x0, pad - y0), text, fill=255, font=f)
    return np.asarray(im, np.float32) / 255.0
