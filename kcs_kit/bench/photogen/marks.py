"""Marks to put on goods: registry renders (as masks), counterfeit alterations, invented logos, brand words,
and the ways a mark is applied (printed, foil, screen print, embossed / debossed, woven).

A mark is a float32 mask (1 = ink) on a canvas; ``compose`` adds the brand word beside it. ``apply_style``
draws sampled masks onto the photo. SYNTHETIC.

Example::

    >>> import numpy as np
    >>> from kcs_kit.bench.photogen.marks import invented_mark
    >>> invented_mark(np.random.default_rng(5)).max() > 0.5
    True
"""

from __future__ import annotations

import string
from functools import lru_cache

import cv2
import numpy as np

from kcs_kit.bench.photogen.fonts import text_mask
from kcs_kit.bench.photogen.textures import blur, value_noise

STYLES = ("print", "print", "print", "screen", "foil", "raised", "emboss", "deboss", "woven")
GOLD, SILVER = (0.83, 0.66, 0.30), (0.78, 0.78, 0.80)


@lru_cache(maxsize=64)
def registry_mask(path: str, hex_colour: str | None) -> np.ndarray:
    """The ``dark`` render of a design view as an ink mask (1 = mark), cropped to the ink with a margin."""
    from kcs_kit.registry.images import render_view

    dark = render_view(path, hex=hex_colour)["dark"]
    return tight(1.0 - np.asarray(dark, np.float32) / 255.0)


def tight(mask: np.ndarray, pad: float = 0.04) -> np.ndarray:
    """``mask`` cropped to where it has ink, with ``pad`` x its size of margin."""
    ys, xs = np.nonzero(mask > 0.05)
    if xs.size == 0:
        return mask
    m = int(pad * max(mask.shape)) + 2
    out = mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    return np.pad(out, m).astype(np.float32)


# ---- counterfeit alterations -------------------------------------------------------------------------


def alter_shape(rng: np.random.Generator, mask: np.ndarray) -> tuple[np.ndarray, str]:
    """A small shape change (erode / dilate, a cut, an added blob, a 10-20 % stretch); returns (mask, how)."""
    how = str(rng.choice(["erode", "dilate", "cut", "blob", "stretch"]))
    h, w = mask.shape
    size = max(h, w)
    if how in ("erode", "dilate"):
        k = max(3, int(size * rng.uniform(0.012, 0.03))) | 1
        ker = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        mask = (cv2.erode if how == "erode" else cv2.dilate)(mask, ker)
    elif how == "cut":
        ys, xs = np.nonzero(mask > 0.5)
        i = int(rng.integers(xs.size)) if xs.size else 0
        c = (int(xs[i]), int(ys[i])) if xs.size else (w // 2, h // 2)
        ang = rng.uniform(0, np.pi)
        d = np.array([np.cos(ang), np.sin(ang)]) * size * rng.uniform(0.15, 0.35)
        mask = mask.copy()
        cv2.line(mask, (int(c[0] - d[0]), int(c[1] - d[1])), (int(c[0] + d[0]), int(c[1] + d[1])), 0.0,
                 max(2, int(size * rng.uniform(0.02, 0.05))), cv2.LINE_AA)
    elif how == "blob":
        mask = mask.copy()
        ys, xs = np.nonzero(mask > 0.5)
        i = int(rng.integers(xs.size)) if xs.size else 0
        c = (int(xs[i]), int(ys[i])) if xs.size else (w // 2, h // 2)
        r = int(size * rng.uniform(0.04, 0.09))
        cv2.ellipse(mask, c, (r, int(r * rng.uniform(0.5, 1.5))), rng.uniform(0, 180), 0, 360, 1.0, -1,
                    cv2.LINE_AA)
    else:
        f = 1 + rng.uniform(0.1, 0.2)
        new = (int(w * f), h) if rng.random() < 0.5 else (w, int(h * f))
        mask = cv2.resize(mask, new, interpolation=cv2.INTER_LINEAR)
    return mask.astype(np.float32), how


def other_colour(rng: np.random.Generator, hex_colour: str | None) -> tuple[float, float, float]:
    """A colour clearly unlike the brand colour (hue turned 60-300 deg, or a different lightness)."""
    import colorsys

    base = hex_rgb(hex_colour) or (0.1, 0.1, 0.1)
    h, s, v = colorsys.rgb_to_hsv(*base)
    if s < 0.2:  # a black / grey / white mark: any clearly coloured ink
        return colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.5, 1.0), rng.uniform(0.5, 0.95))
    return colorsys.hsv_to_rgb((h + rng.uniform(1 / 6, 5 / 6)) % 1, s, float(np.clip(v * rng.uniform(0.6, 1.2),
                                                                                       0.2, 1)))


def hex_rgb(hex_colour: str | None) -> tuple[float, float, float] | None:
    if not hex_colour or len(hex_colour.lstrip("#")) != 6:
        return None
    x = hex_colour.lstrip("#")
    return tuple(int(x[i:i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


# ---- invented (unregistered) logos ---------------------------------------------------------------------


def _star(c, r, n, inner, rot):
    a = rot + np.arange(2 * n) * np.pi / n
    rr = np.where(np.arange(2 * n) % 2 == 0, r, r * inner)
    return np.stack([c + rr * np.cos(a), c + rr * np.sin(a)], 1)


def _frame(rng, m, s):
    kind = int(rng.integers(4))
    c, r = s // 2, int(s * 0.42)
    t = int(s * rng.uniform(0.03, 0.08))
    if kind == 0:
        cv2.circle(m, (c, c), r, 1.0, t, cv2.LINE_AA)
    elif kind == 1:
        pts = np.array([(c - r, c - r), (c + r, c - r), (c + r, c + r * 0.3), (c, c + r), (c - r, c + r * 0.3)])
        cv2.polylines(m, [pts.astype(np.int32)], True, 1.0, t, cv2.LINE_AA)
    elif kind == 2:
        cv2.polylines(m, [_star(c, r, 3, 0.5, 0)[::2].astype(np.int32) if rng.random() < 0.5 else
                          np.array([(c + r * np.cos(a), c + r * np.sin(a)) for a in np.arange(6) * np.pi / 3],
                                   np.int32)], True, 1.0, t, cv2.LINE_AA)
    else:
        cv2.rectangle(m, (c - r, c - r), (c + r, c + r), 1.0, t, cv2.LINE_AA)


def _geometric(rng, m, s):
    c = s // 2
    kind = int(rng.integers(5))
    if kind == 0:
        pts = _star(c, s * 0.4, int(rng.integers(4, 10)), rng.uniform(0.3, 0.7), rng.uniform(0, np.pi))
        cv2.fillPoly(m, [pts.astype(np.int32)], 1.0, cv2.LINE_AA)
    elif kind == 1:
        for i in range(int(rng.integers(2, 5))):
            x = int(s * (0.15 + 0.2 * i))
            cv2.fillPoly(m, [np.array([(x, s * 0.8), (x + s * 0.12, s * 0.8), (x + s * 0.3, s * 0.2),
                                       (x + s * 0.18, s * 0.2)], np.int32)], 1.0, cv2.LINE_AA)
    elif kind == 2:
        r = int(s * rng.uniform(0.15, 0.25))
        for i in range(int(rng.integers(2, 4))):
            cv2.circle(m, (int(s * 0.3 + i * r * 1.2), c), r, 1.0, int(s * 0.04), cv2.LINE_AA)
    elif kind == 3:
        cv2.ellipse(m, (c, c), (int(s * 0.42), int(s * rng.uniform(0.15, 0.3))), rng.uniform(-30, 30), 0, 360,
                    1.0, -1, cv2.LINE_AA)
        cv2.ellipse(m, (c + int(s * 0.06), c - int(s * 0.08)), (int(s * 0.4), int(s * 0.2)), rng.uniform(-30, 30),
                    0, 360, 0.0, -1, cv2.LINE_AA)
    else:
        t = np.linspace(0, 1, 40)
        for k in range(int(rng.integers(1, 4))):
            pts = np.stack([s * (0.1 + 0.8 * t), s * (0.3 + 0.15 * k + 0.12 * np.sin(2 * np.pi * t * 1.5))], 1)
            cv2.polylines(m, [pts.astype(np.int32)], False, 1.0, int(s * 0.05), cv2.LINE_AA)


def invented_mark(rng: np.random.Generator) -> np.ndarray:
    """A logo-like mask not in any registry: a monogram in a frame, a geometric emblem, or both."""
    s = 512
    m = np.zeros((s, s), np.float32)
    pick = rng.random()
    if pick < 0.6:
        letters = "".join(rng.choice(list(string.ascii_uppercase), int(rng.integers(1, 4))))
        t = text_mask(letters, int(s * rng.uniform(0.3, 0.5)), int(rng.integers(12)))
        th, tw = min(t.shape[0], s), min(t.shape[1], s)
        y, x = (s - th) // 2, (s - tw) // 2
        m[y:y + th, x:x + tw] = t[:th, :tw]
        if rng.random() < 0.6:
            _frame(rng, m, s)
    else:
        _geometric(rng, m, s)
        if rng.random() < 0.3:
            _frame(rng, m, s)
    if rng.random() < 0.2:  # knocked out of a filled disc
        disc = np.zeros_like(m)
        cv2.circle(disc, (s // 2, s // 2), int(s * 0.47), 1.0, -1, cv2.LINE_AA)
        m = np.clip(disc - m, 0, 1)
    return tight(m)


# ---- the mark with its brand word --------------------------------------------------------------------


def compose(rng: np.random.Generator, mark: np.ndarray, word: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(mark, text) masks on one canvas: the mark alone, or with ``word`` right / left / below / above."""
    if not word:
        return mark, np.zeros_like(mark)
    mh, mw = mark.shape
    where = str(rng.choice(["right", "below", "below", "above", "left"]))
    size = int(mh * (rng.uniform(0.3, 0.55) if where in ("right", "left") else rng.uniform(0.15, 0.3)))
    text = text_mask(word, size, int(rng.integers(12)))
    th, tw = text.shape
    gap = int(mh * rng.uniform(0.02, 0.12))
    if where in ("right", "left"):
        h, w = max(mh, th), mw + gap + tw
        my, ty = (h - mh) // 2, (h - th) // 2
        mx, tx = (0, mw + gap) if where == "right" else (tw + gap, 0)
    else:
        h, w = mh + gap + th, max(mw, tw)
        mx, tx = (w - mw) // 2, (w - tw) // 2
        my, ty = (0, mh + gap) if where == "below" else (th + gap, 0)
    a, b = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
    a[my:my + mh, mx:mx + mw] = mark
    b[ty:ty + th, tx:tx + tw] = text
    return a, b


def woven(rng: np.random.Generator, mask: np.ndarray) -> np.ndarray:
    """The mask as a woven label shows it: stepped on a coarse thread grid (40-90 threads across)."""
    h, w = mask.shape
    n = rng.uniform(40, 90) / max(h, w)
    small = cv2.resize(mask, (max(4, int(w * n)), max(4, int(h * n))), interpolation=cv2.INTER_AREA)
    small = (small > rng.uniform(0.35, 0.6)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def apply_style(rng: np.random.Generator, roi: np.ndarray, ink: np.ndarray, style: str,
                colour: tuple[float, float, float], px: float, light: tuple[float, float]) -> None:
    """Draw the sampled ink mask ``ink`` (H x W) onto ``roi`` (H x W x 3, in place) in ``style``."""
    a = ink[..., None]
    lum = roi.mean(2, keepdims=True)
    under = lum / (float(lum.mean()) + 1e-3)
    c = np.asarray(colour, np.float32)
    if style in ("emboss", "deboss", "raised"):
        depth = blur(ink, max(0.7, px * rng.uniform(0.002, 0.006)))
        gx = cv2.Sobel(depth, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(depth, cv2.CV_32F, 0, 1, ksize=3)
        sign = -1.0 if style == "deboss" else 1.0
        relief = 1 + sign * rng.uniform(0.6, 1.6) * (gx * light[0] + gy * light[1])
        if style == "raised":
            roi[:] = roi * (1 - a) + c * (0.85 + 0.15 * under) * a
        else:
            roi *= 1 - (0.12 if style == "deboss" else -0.05) * a
        roi *= relief[..., None]
    elif style == "screen":
        holes = value_noise(rng, ink.shape[0], ink.shape[1], max(1.0, px * 0.002))
        cover = a * (holes > rng.uniform(0.03, 0.15))[..., None] * rng.uniform(0.75, 0.95)
        roi[:] = roi * (1 - cover) + c * (0.55 + 0.45 * under) * cover
    elif style == "foil":
        sheen = 0.55 + 0.9 * value_noise(rng, ink.shape[0], ink.shape[1], max(4.0, px * 0.15))
        roi[:] = roi * (1 - a) + np.clip(c * sheen[..., None], 0, 1) * a
    elif style == "woven":
        mix = rng.uniform(0.45, 0.8)
        roi[:] = roi * (1 - a * mix) + c * (0.7 + 0.3 * under) * a * mix
    else:
        roi[:] = roi * (1 - a) + c * (0.8 + 0.2 * under) * a
    np.clip(roi, 0, 1, out=roi)
