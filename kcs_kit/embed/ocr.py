"""Reading text with several OCR engines at once, and merging what they found.

Example::

    >>> from kcs_kit.embed.ocr import open_ocr_engines, read_all
    >>> engines = open_ocr_engines(settings, skip_missing=True)   # doctest: +SKIP
    >>> [w.text for w in read_all(rgb_photo, engines)]            # doctest: +SKIP
    ['정품', 'KOREA']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from kcs_kit.embed.base import OcrEngine, OcrWord, get
from kcs_kit.errors import ConfigError, MissingDependencyError


def engine_names(settings: Any) -> list[str]:
    """The engine names of ``settings.ocr_engines`` ('rapidocr,tesseract'), in order, without duplicates."""
    names = [n.strip() for n in str(settings.ocr_engines).split(",") if n.strip()]
    if not names:
        raise ConfigError("setting ocr_engines: expected a comma-separated list such as 'rapidocr,tesseract', "
                          "found nothing", hint="set KCS_OCR_ENGINES=rapidocr,tesseract")
    return list(dict.fromkeys(names))


def open_ocr_engines(settings: Any, *, skip_missing: bool = False) -> list[OcrEngine]:
    """The engines named in ``settings.ocr_engines``; with ``skip_missing``, uninstalled ones are left out."""
    engines = []
    for name in engine_names(settings):
        try:
            engines.append(get("ocr", name, settings))
        except MissingDependencyError:
            if not skip_missing:
                raise
    return engines


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _key(text: str) -> str:
    return "".join(text.split()).casefold()


def merge_words(words: Sequence[OcrWord], *, iou: float = 0.5) -> list[OcrWord]:
    """Words of several engines, one per (text, place): the same text in overlapping boxes is kept once,
    with the highest confidence. Sorted top to bottom, left to right."""
    kept: list[OcrWord] = []
    for word in sorted(words, key=lambda w: -w.confidence):
        if not any(_key(k.text) == _key(word.text) and _iou(k.box, word.box) >= iou for k in kept):
            kept.append(word)
    return sorted(kept, key=lambda w: (round(w.box[1]), w.box[0]))


def read_all(image: np.ndarray, engines: Sequence[OcrEngine]) -> list[OcrWord]:
    """What every engine reads in ``image``, merged (see ``merge_words``); each word names its engine."""
    return merge_words([word for engine in engines for word in engine.read(image)])
