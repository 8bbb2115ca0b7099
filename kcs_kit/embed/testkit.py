"""Contract checks that every encoder and OCR backend must pass; each backend's tests call them.

They raise AssertionError naming the broken promise. Inputs are generated (seeded), nothing is downloaded.

Example::

    >>> from kcs_kit.embed.testkit import check_text_encoder
    >>> check_text_encoder(MiniLmTextEncoder())   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kcs_kit.embed.base import ImageEncoder, OcrEngine, OcrWord, TextEncoder

DEFAULT_TEXTS = ("leather handbag with gold clasp", "정품 화장품 세트", "wireless earbuds charging case",
                 "sports shoe with three stripes")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def sample_images(seed: int = 42) -> list[np.ndarray]:
    """Four distinct RGB images of different sizes: noise, a gradient, a disc, stripes."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, size=(64, 48, 3), dtype=np.uint8)
    ramp = np.linspace(0, 255, 120, dtype=np.float64)
    gradient = np.stack([np.tile(ramp, (90, 1)), np.tile(ramp[::-1], (90, 1)), np.full((90, 120), 128.0)], -1)
    yy, xx = np.mgrid[:100, :100]
    disc = np.where(((yy - 50) ** 2 + (xx - 50) ** 2 < 900)[..., None], [200, 30, 30], [255, 255, 255])
    stripes = np.where(((xx[:, :80] // 8) % 2 == 0)[..., None], [0, 0, 0], [250, 220, 0])
    return [noise, gradient.astype(np.uint8), disc.astype(np.uint8), stripes.astype(np.uint8)]


def _check_identity(enc: Any) -> None:
    for attr in ("name", "version"):
        value = getattr(enc, attr, None)
        _require(isinstance(value, str) and value.strip() != "", f"{enc!r}.{attr} must be a non-empty str")
    _require(isinstance(enc.dim, int) and enc.dim > 0, f"{enc.name}: dim must be a positive int, got {enc.dim!r}")


def _check_vectors(vectors: Any, n: int, enc: Any, what: str) -> None:
    _require(isinstance(vectors, np.ndarray), f"{enc.name}: {what} must return a numpy array")
    _require(vectors.shape == (n, enc.dim), f"{enc.name}: {what} shape {vectors.shape}, expected {(n, enc.dim)}")
    _require(vectors.dtype == np.float32, f"{enc.name}: {what} dtype {vectors.dtype}, expected float32")
    _require(bool(np.isfinite(vectors).all()), f"{enc.name}: {what} returned NaN or inf")
    if n:
        norms = np.linalg.norm(vectors, axis=1)
        _require(bool(np.allclose(norms, 1.0, atol=1e-3)), f"{enc.name}: {what} rows not unit norm: {norms}")


def _check_batch(encode: Any, items: Sequence[Any], enc: Any, what: str) -> None:
    """Shapes, norms, determinism, batch independence and distinct outputs for distinct inputs."""
    _check_identity(enc)
    empty = encode([])
    _check_vectors(empty, 0, enc, f"{what}([])")
    first = encode(list(items))
    _check_vectors(first, len(items), enc, what)
    again = encode(list(items))
    _require(bool(np.allclose(first, again, atol=1e-5)), f"{enc.name}: {what} is not deterministic")
    alone = encode([items[1]])
    _check_vectors(alone, 1, enc, f"{what} of one item")
    _require(bool(np.allclose(alone[0], first[1], atol=1e-4)),
             f"{enc.name}: {what} of an item alone differs from the same item in a batch")
    sims = first @ first.T
    off_diagonal = sims[~np.eye(len(items), dtype=bool)]
    _require(bool((off_diagonal < 0.9999).all()), f"{enc.name}: different inputs gave the same vector")


def check_image_encoder(enc: ImageEncoder, images: Sequence[np.ndarray] | None = None) -> None:
    """``enc`` keeps the ImageEncoder contract on ``images`` (default: ``sample_images()``)."""
    _require(isinstance(enc, ImageEncoder), f"{enc!r} does not implement ImageEncoder")
    _check_batch(enc.encode_images, list(images) if images is not None else sample_images(), enc, "encode_images")


def check_text_encoder(enc: TextEncoder, texts: Sequence[str] = DEFAULT_TEXTS) -> None:
    """``enc`` keeps the TextEncoder contract on ``texts`` (default: English and Korean titles)."""
    _require(isinstance(enc, TextEncoder), f"{enc!r} does not implement TextEncoder")
    _check_batch(enc.encode_texts, list(texts), enc, "encode_texts")


def render_text(text: str, *, font_path: str | Path | None = None, size: int = 48,
                canvas: tuple[int, int] = (640, 480)) -> np.ndarray:
    """``text`` drawn large in black on a white RGB canvas (Pillow's default font unless ``font_path``)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(font_path), size) if font_path else ImageFont.load_default(size=size)
    img = Image.new("RGB", canvas, "white")
    ImageDraw.Draw(img).text((canvas[0] // 10, canvas[1] // 3), text, fill="black", font=font)
    return np.asarray(img)


def _check_words(words: Any, engine: OcrEngine, image: np.ndarray) -> None:
    height, width = image.shape[:2]
    _require(isinstance(words, list), f"{engine.name}: read must return a list, got {type(words).__name__}")
    for w in words:
        _require(isinstance(w, OcrWord), f"{engine.name}: read returned {type(w).__name__}, expected OcrWord")
        x0, y0, x1, y1 = w.box
        _require(0 <= x0 <= x1 <= width and 0 <= y0 <= y1 <= height,
                 f"{engine.name}: box {w.box} of {w.text!r} is outside the {width}x{height} image")
        _require(0.0 <= w.confidence <= 1.0, f"{engine.name}: confidence {w.confidence} of {w.text!r} not in 0..1")
        _require(isinstance(w.text, str) and w.text.strip() != "", f"{engine.name}: empty word {w!r}")
        _require(w.engine == engine.name, f"{engine.name}: word {w.text!r} names engine {w.engine!r}")


def check_ocr_engine(engine: OcrEngine, *, text: str = "KOREA", font_path: str | Path | None = None) -> None:
    """``engine`` keeps the OcrEngine contract and reads ``text`` rendered large on white."""
    _require(isinstance(engine, OcrEngine), f"{engine!r} does not implement OcrEngine")
    for attr in ("name", "version"):
        value = getattr(engine, attr, None)
        _require(isinstance(value, str) and value.strip() != "", f"{engine!r}.{attr} must be a non-empty str")
    blank = np.full((120, 160, 3), 255, dtype=np.uint8)
    _check_words(engine.read(blank), engine, blank)
    image = render_text(text, font_path=font_path)
    words = engine.read(image)
    _check_words(words, engine, image)
    target = _key(text)
    hits = [w for w in words if _key(w.text) and (_key(w.text) in target or target in _key(w.text))]
    _require(target in "".join(_key(w.text) for w in hits),
             f"{engine.name}: expected to read {text!r}, read {[w.text for w in words]}")
    x0, y0, _x1, _y1 = hits[0].box
    _require(x0 < image.shape[1] // 10 + 48 and image.shape[0] // 3 - 48 < y0 < image.shape[0] // 3 + 80,
             f"{engine.name}: box {hits[0].box} of {hits[0].text!r} is not where the text was drawn")


def _key(text: str) -> str:
    return "".join(text.split()).casefold()
