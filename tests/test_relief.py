"""Embossed and debossed marks: the height recovered from a photo's shading (``kcs_kit.embed.relief``)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from test_shape import _corr, _letter_f

from kcs_kit.embed.relief import light_axis, relief_image, shading
from kcs_kit.embed.shape import describe, photo_regions
from kcs_kit.embed.testkit import render_text


def embossed(mask: np.ndarray, light_deg: float, *, sunk: bool = False, seed: int = 0,
             size: tuple[int, int] = (900, 700), depth: float = 1.2, grain: float = 0.04) -> np.ndarray:
    """A photo of ``mask`` pressed into (``sunk``) or raised from a plain grainy brown surface under uneven
    light from ``light_deg``: the mark has the surface's own colour and shows only as light and shade on the
    slopes of its (blurred) height. Written here from the physics of a lamp, not taken from the photo benchmark."""
    rng = np.random.default_rng(seed)
    w, h = size
    height = np.zeros((h, w), np.float32)
    y, x = (h - mask.shape[0]) // 2, (w - mask.shape[1]) // 2
    height[y:y + mask.shape[0], x:x + mask.shape[1]] = mask * (-1.0 if sunk else 1.0)
    height = cv2.GaussianBlur(height, (0, 0), 2.0)
    t = np.radians(light_deg)
    slope = (cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3) * np.cos(t)
             + cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3) * np.sin(t))
    noise = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.5)
    grey = 120 * (1 + depth * slope) * (1 + grain * noise) * np.linspace(0.85, 1.1, w)[None, :]
    return np.clip(grey[..., None] * np.array([1.0, 0.75, 0.55]), 0, 255).astype(np.uint8)


def _badge(size: int = 220) -> np.ndarray:
    """A ring around a triangle: edges of every direction (the light's axis is then found without bias)."""
    m = np.zeros((size, size), np.uint8)
    cv2.circle(m, (size // 2, size // 2), size // 2 - 8, 1, 14)
    cv2.fillPoly(m, [np.array([[60, 150], [110, 55], [160, 150]], np.int32)], 1)
    return m


def _best(photo: np.ndarray, drawing: np.ndarray) -> tuple[float, tuple]:
    """The best correlation of a region of ``photo`` with ``drawing``'s silhouette, and that region's box."""
    regions = photo_regions(photo)
    if not regions:
        return 0.0, ()
    best = max(regions, key=lambda r: _corr(r.descriptor, drawing))
    return _corr(best.descriptor, drawing), best.box


@pytest.mark.parametrize(("light", "sunk"), [(30.0, False), (120.0, True), (200.0, False), (300.0, True)])
def test_relief_recovers_an_embossed_mark_that_has_no_colour_of_its_own(light, sunk):
    """The colour regions miss a mark of the surface's own colour; in the height recovered from its shading it is
    a flat shape that the region finder and the silhouette descriptor find, raised or sunk. The light's axis is
    found from the shading (right for a mark with edges of every direction); a mark of straight strokes along
    two directions biases it, so the F is recovered here with the light's true axis."""
    badge, letter = describe(_badge()), describe(_letter_f())
    photo = embossed(_badge(), light, sunk=sunk)
    axis = np.degrees(light_axis(shading(photo)))
    assert abs((axis - light + 90) % 180 - 90) < 20, (axis, light)  # the axis, not its sign
    plain, _ = _best(photo, badge)
    lifted, box = _best(relief_image(photo), badge)
    assert lifted > 0.7 > plain + 0.25, (plain, lifted)
    s = 320 / 900  # the relief image is at most 320 px: the badge (220 px) in the middle of 900 x 700
    assert abs((box[0] + box[2]) / 2 - 450 * s) < 15 and abs((box[1] + box[3]) / 2 - 350 * s) < 15
    f = embossed(_letter_f(), light, sunk=sunk)
    plain, _ = _best(f, letter)
    lifted, _ = _best(relief_image(f, theta=np.radians(light)), letter)
    assert lifted > 0.9 > plain + 0.25, (plain, lifted)


def test_relief_image_sizes_and_a_flat_photo():
    photo = embossed(_badge(), 30.0)
    for side in (320, 640):
        img = relief_image(photo, side=side)
        assert img.dtype == np.uint8 and img.shape == (round(700 * side / 900), side, 3)
        assert (img[..., 0] == img[..., 1]).all() and img.std() > 10
    small = relief_image(photo[:200, :300], side=640)  # never enlarged
    assert small.shape == (200, 300, 3)
    assert photo_regions(relief_image(np.full((400, 500, 3), 90, np.uint8))) == []  # nothing pressed in
    noise = np.clip(90 + np.random.default_rng(1).normal(0, 2, (700, 900, 3)), 0, 255).astype(np.uint8)
    assert relief_image(noise).std() < relief_image(photo).std() / 2  # sensor noise is not stretched to a relief


@pytest.fixture(scope="module")
def rapid():
    pytest.importorskip("rapidocr_onnxruntime", reason="rapidocr-onnxruntime not installed: run `make install`")
    from kcs_kit.embed.ocr_rapid import RapidOcrEngine

    return RapidOcrEngine(det_limit_side_len=640)


def debossed_word(light: float, sunk: bool, text: str = "KOREA") -> np.ndarray:
    """``text`` pressed faintly into (or raised from) a grainy surface, 900 x 700: a shallow stamp under soft light,
    the word about 130-560 px across and 310-420 px down."""
    ink = render_text(text, size=110, canvas=(640, 240))[..., 0] < 128
    return embossed(ink.astype(np.uint8), light, sunk=sunk, depth=0.08, grain=0.1)


@pytest.mark.parametrize("light", [120.0, 200.0, 300.0])
@pytest.mark.parametrize("sunk", [True, False])
def test_ocr_reads_a_faint_stamped_word_on_the_relief_only(rapid, light, sunk):
    """A word stamped faintly into a surface of its own colour: the text detector finds nothing on the photo,
    and reads the word on the height recovered from its shading."""
    photo = debossed_word(light, sunk)
    assert rapid.read(photo) == []
    assert [w.text for w in rapid.read(relief_image(photo, side=640))] == ["KOREA"]
