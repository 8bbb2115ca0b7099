"""OCR engine ``rapidocr``: PP-OCR detection + recognition on ONNX Runtime (Latin and Chinese, not Korean).

``rapidocr-onnxruntime==1.4.4`` ships its models; install it with ``pip install --no-deps`` (its
``opencv-python`` dependency would overwrite ``opencv-python-headless``). Robust to rotation; one
``OcrWord`` per text line it finds (a line may hold several words separated by spaces).

Example::

    >>> from kcs_kit.embed.ocr_rapid import RapidOcrEngine
    >>> [w.text for w in RapidOcrEngine().read(rgb_photo)]   # doctest: +SKIP
    ['KOREA']
"""

from __future__ import annotations

import functools
from importlib import metadata
from typing import Any

import numpy as np

from kcs_kit.embed._util import as_rgb, library_threads, require
from kcs_kit.embed.base import OCR_ENGINES, OcrWord

NAME = "rapidocr"
_INSTALL = ("run `make install` (or: .venv/bin/pip install --no-deps rapidocr-onnxruntime==1.4.4 onnxruntime "
            "pyclipper shapely six PyYAML; never opencv-python next to opencv-python-headless)")


@functools.lru_cache(maxsize=2)
def _build(det_limit_side_len: int, threads: int) -> Any:
    """The RapidOCR pipeline (three ONNX sessions), built once per process, size limit and thread count."""
    module = require("rapidocr_onnxruntime", "the 'rapidocr' OCR engine", _INSTALL)
    return module.RapidOCR(det_limit_type="max", det_limit_side_len=det_limit_side_len, intra_op_num_threads=threads)


def _sides(quad: Any) -> tuple[float, float]:
    """(height, length) of a text line's quadrilateral: the mean of its shorter pair of opposite sides and of
    its longer pair (a line of text is longer than tall)."""
    p = np.asarray(quad, dtype=np.float64).reshape(-1, 2)
    if len(p) != 4:
        return 0.0, 0.0
    a = (np.linalg.norm(p[1] - p[0]) + np.linalg.norm(p[2] - p[3])) / 2
    b = (np.linalg.norm(p[2] - p[1]) + np.linalg.norm(p[3] - p[0])) / 2
    return float(min(a, b)), float(max(a, b))


def _box(quad: Any, width: int, height: int) -> tuple[float, float, float, float]:
    """Axis-aligned box around a quadrilateral, clipped to the image."""
    pts = np.asarray(quad, dtype=np.float64).reshape(-1, 2)
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    return (float(np.clip(x0, 0, width)), float(np.clip(y0, 0, height)),
            float(np.clip(x1, 0, width)), float(np.clip(y1, 0, height)))


class RapidOcrEngine:
    """Text lines found by RapidOCR, with axis-aligned boxes and recognition confidences (0..1)."""

    name = NAME

    def __init__(self, *, det_limit_side_len: int = 960, min_confidence: float = 0.5, threads: int = 0) -> None:
        try:
            package_version = metadata.version("rapidocr-onnxruntime")
        except metadata.PackageNotFoundError:
            require("rapidocr_onnxruntime", "the 'rapidocr' OCR engine", _INSTALL)
            package_version = "unknown"
        self.det_limit_side_len = det_limit_side_len
        self.min_confidence = min_confidence
        self.threads = threads  # ONNX Runtime threads per session (0: all cores; 1 in worker processes)
        self.version = f"rapidocr-onnxruntime-{package_version}-det{det_limit_side_len}"

    def read(self, image: np.ndarray) -> list[OcrWord]:
        """Text lines in an RGB image, top to bottom; those below ``min_confidence`` are left out.

        The detector looks at the photo reduced to ``det_limit_side_len`` (RapidOCR 1.4.4 itself ignores that
        limit and detects at up to 2,000 px); each line it finds is cut out of the full-resolution photo for
        the angle classifier and the recogniser, so small print keeps its detail."""
        rgb = as_rgb(image, f"OCR engine {NAME}")
        height, width = rgb.shape[:2]
        quads, crops = self.lines(rgb)
        if not quads:
            return []
        rec, _t = self._ocr().text_rec(crops)
        words = []
        for quad, r in zip(quads, rec, strict=True):
            text = str(r[0]).strip()
            confidence = float(np.clip(float(r[1]), 0.0, 1.0))
            if text and confidence >= self.min_confidence:
                words.append(OcrWord(text, _box(quad, width, height), confidence, NAME, *_sides(quad)))
        return sorted(words, key=lambda w: (w.box[1], w.box[0]))

    def _ocr(self) -> Any:
        return _build(self.det_limit_side_len, library_threads(self.threads) or -1)  # RapidOCR's -1: all cores

    def lines(self, rgb: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The text lines the detector finds in an RGB image: each line's quadrilateral (pixels of ``rgb``) and
        its crop from the full-resolution image, turned upright by the angle classifier, ready for the
        recogniser (``read`` recognises them; ``scripts/probe_ocr_lexicon.py`` reads the recogniser's
        probabilities)."""
        import cv2

        height, width = rgb.shape[:2]
        ocr = self._ocr()
        bgr = np.ascontiguousarray(rgb[..., ::-1])  # RapidOCR works in OpenCV's channel order
        scale = min(1.0, self.det_limit_side_len / max(height, width))
        small = bgr if scale == 1.0 else cv2.resize(bgr, (max(1, round(width * scale)), max(1, round(height * scale))),
                                                    interpolation=cv2.INTER_AREA)
        if min(small.shape[:2]) < 32:  # the detector's network needs a few cells each way
            return [], []
        boxes, _elapsed = ocr.auto_text_det(small)
        if boxes is None or not len(boxes):
            return [], []
        quads = [np.asarray(b, np.float32) / np.float32(scale) for b in boxes]
        crops, _cls, _t = ocr.text_cls(ocr.get_crop_img_list(bgr, quads))
        return quads, crops


def _factory(settings: Any) -> RapidOcrEngine:
    return RapidOcrEngine()


OCR_ENGINES[NAME] = _factory
