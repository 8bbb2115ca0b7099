"""OCR engine ``tesseract``: Korean + English words through the ``tesseract`` binary (TSV output).

Needs Debian ``tesseract-ocr`` and ``tesseract-ocr-kor`` (listed in ``apt-packages.txt``). The image goes
to tesseract's standard input as a PPM, the words come back as TSV; no temporary file, no shell.

Example::

    >>> from kcs_kit.embed.ocr_tesseract import TesseractOcrEngine
    >>> [w.text for w in TesseractOcrEngine().read(rgb_label)]   # doctest: +SKIP
    ['정품']
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from typing import Any

import numpy as np

from kcs_kit.embed._util import as_rgb
from kcs_kit.embed.base import OCR_ENGINES, OcrWord
from kcs_kit.errors import KcsError, MissingDependencyError

NAME = "tesseract"
_INSTALL = "run `apt-get install -y tesseract-ocr tesseract-ocr-kor` (see apt-packages.txt)"


@functools.lru_cache(maxsize=4)
def _probe(binary: str) -> tuple[str, str, frozenset[str]]:
    """(path, version, installed languages) of a tesseract binary; MissingDependencyError when absent."""
    exe = shutil.which(binary)
    if exe is None:
        raise MissingDependencyError(f"OCR engine 'tesseract' needs the program {binary!r}, not found on PATH",
                                     hint=_INSTALL)
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30, check=False)
    langs = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=30, check=False)
    first = (version.stdout or version.stderr).strip().splitlines()
    listed = (langs.stdout + langs.stderr).splitlines()[1:]
    return exe, (first[0].split()[-1] if first else "unknown"), frozenset(s.strip() for s in listed if s.strip())


def _ppm(rgb: np.ndarray) -> bytes:
    height, width = rgb.shape[:2]
    return b"P6\n%d %d\n255\n" % (width, height) + rgb.tobytes()


def parse_tsv(tsv: str, width: int, height: int, min_confidence: float) -> list[OcrWord]:
    """Words (TSV level 5) with a confidence of at least ``min_confidence`` (0..1), boxes clipped to the image."""
    words = []
    for line in tsv.splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) < 12 or cols[0] != "5" or not cols[11].strip():
            continue
        left, top, w, h = (int(c) for c in cols[6:10])
        confidence = min(max(float(cols[10]) / 100.0, 0.0), 1.0)
        if confidence < min_confidence:
            continue
        box = (float(max(0, left)), float(max(0, top)), float(min(width, left + w)), float(min(height, top + h)))
        words.append(OcrWord(cols[11].strip(), box, confidence, NAME))
    return words


class TesseractOcrEngine:
    """Words read by tesseract (default ``kor+eng``, page segmentation 11: sparse text, as on labels)."""

    name = NAME

    def __init__(self, *, languages: str = "kor+eng", psm: int = 11, min_confidence: float = 0.3,
                 binary: str = "tesseract", timeout_s: float = 60.0) -> None:
        exe, version, installed = _probe(binary)
        missing = [lang for lang in languages.split("+") if lang not in installed]
        if missing:
            raise MissingDependencyError(
                f"OCR engine 'tesseract': expected language data {missing}, found only {sorted(installed)}",
                hint=_INSTALL if "kor" in missing else f"install tesseract-ocr-{missing[0]}")
        self.exe, self.languages, self.psm = exe, languages, psm
        self.min_confidence, self.timeout_s = min_confidence, timeout_s
        self.version = f"tesseract-{version}-{languages}-psm{psm}"

    def read(self, image: np.ndarray) -> list[OcrWord]:
        """Words in an RGB image, in tesseract's reading order."""
        rgb = as_rgb(image, f"OCR engine {NAME}")
        cmd = [self.exe, "stdin", "stdout", "-l", self.languages, "--psm", str(self.psm), "tsv"]
        try:
            done = subprocess.run(cmd, input=_ppm(rgb), capture_output=True, timeout=self.timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise KcsError(f"OCR engine tesseract: expected a result within {self.timeout_s:.0f} s for a "
                           f"{rgb.shape[1]}x{rgb.shape[0]} image, found none",
                           hint="downscale the photo or raise timeout_s") from exc
        if done.returncode != 0:
            raise KcsError(f"OCR engine tesseract: exited with {done.returncode} reading a {rgb.shape[1]}x"
                           f"{rgb.shape[0]} image: {done.stderr.decode(errors='replace').strip()[:300]}",
                           hint="run `tesseract --list-langs` to check the installation")
        tsv = done.stdout.decode("utf-8", errors="replace")
        return parse_tsv(tsv, rgb.shape[1], rgb.shape[0], self.min_confidence)


def _factory(settings: Any) -> TesseractOcrEngine:
    return TesseractOcrEngine()


OCR_ENGINES[NAME] = _factory
