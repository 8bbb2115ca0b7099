"""The encoder families behind Protocols, and a plain dict registry of backends.

Every encoder names itself (``name``) and its version (``version``: weights hash, parameters); the index
records both per collection, so vectors of different encoders or versions are never mixed.
Images are passed as RGB ``uint8`` numpy arrays of shape (H, W, 3).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class ImageEncoder(Protocol):
    name: str
    version: str
    dim: int

    def encode_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """(n, dim) float32, each row L2-normalised."""
        ...


@runtime_checkable
class TextEncoder(Protocol):
    name: str
    version: str
    dim: int

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, each row L2-normalised."""
        ...


@dataclass(frozen=True)
class OcrWord:
    text: str
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels of the image read
    confidence: float  # 0..1
    engine: str
    # A slanted line's own size (its quadrilateral's shorter and longer side), which its axis-aligned ``box``
    # overstates; 0 where the engine gives only boxes (then the box's height and width stand for them).
    height: float = 0.0
    length: float = 0.0


@runtime_checkable
class OcrEngine(Protocol):
    name: str
    version: str

    def read(self, image: np.ndarray) -> list[OcrWord]:
        """Words found in an RGB image, with boxes and confidences."""
        ...


# name -> factory(settings) ; filled by each backend module's import (see ``get``)
IMAGE_ENCODERS: dict[str, Callable[[Any], ImageEncoder]] = {}
TEXT_ENCODERS: dict[str, Callable[[Any], TextEncoder]] = {}
OCR_ENGINES: dict[str, Callable[[Any], OcrEngine]] = {}

# The backend modules that register themselves; importing one loads no heavy library (they import
# torch, transformers, rapidocr... inside the functions that need them).
BACKEND_MODULES: tuple[str, ...] = (
    "kcs_kit.embed.text",
    "kcs_kit.embed.clip",
    "kcs_kit.embed.ocr_rapid",
    "kcs_kit.embed.ocr_tesseract",
)

_FAMILIES: dict[str, dict[str, Callable[[Any], Any]]] = {
    "image": IMAGE_ENCODERS,
    "text": TEXT_ENCODERS,
    "ocr": OCR_ENGINES,
}


def get(family: str, name: str, settings: Any) -> Any:
    """A backend of ``family`` ('image', 'text' or 'ocr') by name, built for ``settings``.

    Example::

        >>> from kcs_kit.embed.base import get
        >>> enc = get("text", "minilm", settings)      # doctest: +SKIP
        >>> enc.encode_texts(["leather handbag"]).shape  # doctest: +SKIP
        (1, 384)
    """
    from kcs_kit.errors import ConfigError

    if family not in _FAMILIES:
        raise ConfigError(f"encoder family {family!r}: expected one of {sorted(_FAMILIES)}")
    for module in BACKEND_MODULES:
        importlib.import_module(module)
    registry = _FAMILIES[family]
    if name not in registry:
        raise ConfigError(f"{family} backend {name!r} is unknown; known: {sorted(registry)}",
                          hint="check the spelling in kcs.toml or the KCS_* variable")
    return registry[name](settings)


HUB_K = 10


def hub_k(n: int) -> int:
    """Neighbours that define "usual" similarity: 10, or fewer in a small registry (the neighbourhood must
    stay a small part of the registry, else every score looks unusual)."""
    return max(1, min(HUB_K, n // 40))


def place_hubness(sims: np.ndarray) -> np.ndarray:
    """How much each place (photo window, region) of (m places, n rows) similarities looks like drawings in
    general: the mean of its k best similarities (0 in a registry too small to say)."""
    return top_k_mean(sims, hub_k(sims.shape[1]))


BLOCK = 64  # columns per block of top_k_mean's first pass
SMALL_SET = 256  # top_k_mean: at most this many values per row above the bound, else a partition of the rows


def top_k_mean(sims: np.ndarray, k: int) -> np.ndarray:
    """Per row of (m, n) similarities: the mean of its k best (0 when n <= k), in linear time.

    A partition of every row (np.partition; a sort is ~10x slower) took ~50 ms for a photo's ~2,700 marknet
    windows against 3,403 drawings. Instead, each row's k-th best *block maximum* (blocks of BLOCK columns) is a
    lower bound of its k-th best value (k different values reach it), so the k best are among the few values at
    or above it (~16 per row there): only those are partitioned (~30 ms). The same k values, so the same mean
    but for the order of a float sum."""
    def partitioned(a: np.ndarray) -> np.ndarray:
        return np.partition(a, -k, axis=1)[:, -k:].mean(1)

    m, n = sims.shape
    if n <= k:
        return np.zeros(m, np.float32)
    nb = n // BLOCK
    if nb < 2 * k or not m:
        return partitioned(sims)
    blocks = sims[:, :nb * BLOCK].reshape(m, nb, BLOCK).max(2)
    bound = np.partition(blocks, -k, axis=1)[:, -k]
    mask = sims >= bound[:, None]
    counts = mask.sum(1)
    cap = int(counts.max())
    if cap > SMALL_SET:  # many equal values (a flat row): the plain partition
        return partitioned(sims)
    rows, cols = np.nonzero(mask)
    vals = np.full((m, cap), -np.inf, sims.dtype)
    vals[rows, np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)] = sims[rows, cols]
    return partitioned(vals)


def best_per_design(ids: np.ndarray, sims: np.ndarray, offset: np.ndarray | None = None, *, chunk: int = 128
                    ) -> tuple[dict[str, float], dict[str, int]]:
    """From (m places, n rows) similarities with one design id per row (a design may have several views):
    each design's best similarity over places and rows, and the place (window, region) that gave it.
    ``offset`` (n,): subtracted from each row's best (a constant per row does not change which place is best,
    so it is not subtracted from the whole matrix).

    The best place of every row is found ``chunk`` places at a time (a column-wise argmax of a row-major matrix
    is ~4x slower); ties go to the first place, as np.argmax(axis=0)."""
    m, n = sims.shape
    top = np.full(n, -np.inf, sims.dtype)
    place = np.zeros(n, np.int64)
    for i in range(0, m, chunk):
        part = sims[i:i + chunk]
        v = part.max(0)
        better = np.nonzero(v > top)[0]
        if len(better):
            place[better] = i + part[:, better].argmax(0)
            top[better] = v[better]
    best = np.subtract(top, offset).astype(sims.dtype) if offset is not None else top  # as an in-place subtraction
    scores: dict[str, float] = {}
    where: dict[str, int] = {}
    for d, s, w in zip(ids.tolist(), best.tolist(), place.tolist(), strict=True):
        if s > scores.get(d, -2.0):
            scores[d], where[d] = s, w
    return scores, where
