"""Things around and over the goods: objects, stickers, barcodes, words, tape; fingers and straps that occlude.

Images are float32 RGB (H x W x 3, 0..1) changed in place; masks are float32 (H x W, 0..1). SYNTHETIC.

Example::

    >>> import numpy as np
    >>> from kcs_kit.bench.photogen.clutter import scatter
    >>> img = np.full((120, 160, 3), 0.5, np.float32)
    >>> scatter(np.random.default_rng(3), img, 1.0, 4)
    >>> img.shape
    (120, 160, 3)
"""

from __future__ import annotations

import cv2
import numpy as np

from kcs_kit.bench.photogen.fonts import text_mask
from kcs_kit.bench.photogen.textures import blur, jitter_colour, product_colour

WORDS = ("MADE IN CHINA", "100% COTTON", "SIZE M", "STYLE NO. 38271", "QC PASSED", "FRAGILE", "THIS SIDE UP",
         "정품", "세관 검사", "수입 통관", "원산지: 중국", "EXP 2027.03", "LOT 4471", "www.shop.example", "SALE",
         "NEW ARRIVAL", "Handle with care", "품명: 가방", "CN22", "EMS", "GENUINE LEATHER", "SPORT", "XL",
         "PREMIUM QUALITY", "DO NOT BLEACH", "Art. 55-120", "수량 12", "Fashion", "ORIGINAL", "KEEP DRY",
         "제조국 베트남", "Wash 30°C", "Limited Edition", "EAN 8801234567893", "TEL 02-123-4567", "Collection")
SKIN = ((0.87, 0.70, 0.58), (0.78, 0.58, 0.45), (0.62, 0.44, 0.32), (0.42, 0.29, 0.21), (0.92, 0.78, 0.68))
GLOVES = ((0.25, 0.35, 0.75), (0.45, 0.35, 0.70), (0.08, 0.08, 0.09), (0.92, 0.92, 0.90))


def paste(img: np.ndarray, rgb: np.ndarray | tuple, alpha: np.ndarray, cx: float, cy: float, angle: float = 0.0,
          scale: float = 1.0) -> None:
    """Blend a patch (``rgb`` image or one colour, ``alpha`` mask) centred at (cx, cy), rotated ``angle`` deg."""
    ph, pw = alpha.shape
    m = cv2.getRotationMatrix2D((pw / 2, ph / 2), angle, scale)
    m[:, 2] += (cx - pw / 2, cy - ph / 2)
    corners = np.array([[0, 0, 1], [pw, 0, 1], [0, ph, 1], [pw, ph, 1]], np.float64) @ m.T
    x0, y0 = np.floor(corners.min(0)).astype(int)
    x1, y1 = np.ceil(corners.max(0)).astype(int)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(img.shape[1], x1), min(img.shape[0], y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    m[:, 2] -= (x0, y0)
    a = cv2.warpAffine(alpha, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)[..., None]
    if isinstance(rgb, np.ndarray):
        col = cv2.warpAffine(rgb, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    else:
        col = np.asarray(rgb, np.float32)[None, None, :]
    roi = img[y0:y1, x0:x1]
    roi *= 1 - a
    roi += col * a


def _shadowed(img, rng, alpha, cx, cy, angle, s):
    """Paste a soft contact shadow of ``alpha`` under an object before the object itself."""
    r = max(2, int(rng.uniform(3, 14) * s))
    soft = cv2.GaussianBlur(np.pad(alpha, r * 2), (0, 0), r) * rng.uniform(0.25, 0.55)
    paste(img, (0.0, 0.0, 0.0), soft, cx + r * 0.6, cy + r * 0.8, angle)


def barcode(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A mask (1 = black) of a random 1-D barcode, ``w`` x ``h`` px."""
    out = np.zeros((h, w), np.float32)
    x, unit = int(w * 0.05), max(1.0, w / 140)
    while x < w * 0.95:
        bw = int(unit * rng.integers(1, 5))
        if rng.random() < 0.55:
            out[:int(h * 0.85), x:x + bw] = 1
        x += bw
    return out


def _label(rng, s):
    """A white sticker / shipping label with words and often a barcode: (rgb, alpha)."""
    w, h = int(rng.uniform(90, 260) * s), int(rng.uniform(50, 160) * s)
    ink = np.zeros((h, w), np.float32)
    y = int(h * 0.08)
    for _ in range(int(rng.integers(1, 4))):
        word = text_mask(str(rng.choice(WORDS)), max(7, int(h * rng.uniform(0.1, 0.18))), int(rng.integers(12)))
        th, tw = min(word.shape[0], h - y), min(word.shape[1], w - 4)
        if th > 2:
            ink[y:y + th, 4:4 + tw] = np.maximum(ink[y:y + th, 4:4 + tw], word[:th, :tw])
        y += word.shape[0] + 2
    if rng.random() < 0.7 and h - y > 10:
        bh = h - y - 3
        ink[y:y + bh, 4:w - 4] = np.maximum(ink[y:y + bh, 4:w - 4], barcode(rng, w - 8, bh))
    paper = np.asarray(jitter_colour(rng, (0.95, 0.95, 0.93), 0.03), np.float32)
    rgb = paper[None, None, :] * (1 - 0.9 * ink[..., None])
    return rgb.astype(np.float32), np.ones((h, w), np.float32)


def _object(rng, s):
    """A box, cup, pen, coin or cable seen from above: (colour, alpha)."""
    kind = int(rng.integers(5))
    w, h = int(rng.uniform(60, 320) * s), int(rng.uniform(60, 320) * s)
    a = np.zeros((h, w), np.uint8)
    if kind == 0:
        a[:] = 255
    elif kind in (1, 3):
        cv2.ellipse(a, (w // 2, h // 2), (w // 2 - 1, (h if kind == 1 else w) // 2 - 1), 0, 0, 360, 255, -1,
                    cv2.LINE_AA)
    elif kind == 2:
        cv2.line(a, (4, h // 2), (w - 4, h // 2 + int(rng.integers(-h // 3, h // 3 + 1))), 255,
                 max(2, int(rng.uniform(6, 14) * s)), cv2.LINE_AA)
    else:
        pts = np.stack([np.linspace(4, w - 4, 12), h / 2 + np.cumsum(rng.normal(0, h / 10, 12))], 1)
        cv2.polylines(a, [pts.astype(np.int32)], False, 255, max(2, int(rng.uniform(3, 8) * s)), cv2.LINE_AA)
    return product_colour(rng), a.astype(np.float32) / 255


def printed_words(rng: np.random.Generator, img: np.ndarray, x: float, y: float, size: float,
                  colour: tuple | None = None) -> None:
    """Print one random word / phrase of WORDS at (x, y) (centre), ``size`` px high, slightly rotated."""
    mask = text_mask(str(rng.choice(WORDS)), max(7, int(size)), int(rng.integers(12)))
    ink = colour or ((0.05, 0.05, 0.05) if img[int(y) % img.shape[0], int(x) % img.shape[1]].mean() > 0.45
                     else (0.92, 0.92, 0.9))
    paste(img, ink, mask * rng.uniform(0.7, 1.0), x, y, rng.uniform(-20, 20))


def scatter(rng: np.random.Generator, img: np.ndarray, s: float, n: int) -> None:
    """Put ``n`` unrelated things on the background: objects, labels, barcodes, printed words, tape."""
    h, w = img.shape[:2]
    for _ in range(n):
        cx, cy, angle = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(-90, 90)
        pick = rng.random()
        if pick < 0.35:
            col, alpha = _object(rng, s)
            _shadowed(img, rng, alpha, cx, cy, angle, s)
            shade = 0.75 + 0.35 * cv2.GaussianBlur(alpha, (0, 0), max(1.0, min(alpha.shape) / 6))
            paste(img, np.asarray(col, np.float32)[None, None, :] * shade[..., None], alpha, cx, cy, angle)
        elif pick < 0.6:
            rgb, alpha = _label(rng, s)
            _shadowed(img, rng, alpha, cx, cy, angle, s * 0.3)
            paste(img, rgb, alpha, cx, cy, angle)
        elif pick < 0.8:
            printed_words(rng, img, cx, cy, rng.uniform(10, 40) * s)
        else:
            tape(rng, img, cx, cy, angle, rng.uniform(0.6, 3.0) * max(h, w), rng.uniform(30, 70) * s)


def tape(rng: np.random.Generator, img: np.ndarray, cx: float, cy: float, angle: float, length: float,
         width: float) -> np.ndarray:
    """A strip of clear, brown or masking tape; returns its opacity mask (how much it hides)."""
    kind = int(rng.integers(3))
    colour, opacity = ((0.95, 0.93, 0.85), rng.uniform(0.12, 0.3)) if kind == 0 else \
        (jitter_colour(rng, (0.72, 0.55, 0.35), 0.05), rng.uniform(0.55, 0.8)) if kind == 1 else \
        (jitter_colour(rng, (0.90, 0.86, 0.72), 0.04), rng.uniform(0.8, 0.95))
    h, w = img.shape[:2]
    band = np.zeros((h, w), np.uint8)
    dx, dy = np.cos(np.radians(angle)) * length / 2, np.sin(np.radians(angle)) * length / 2
    cv2.line(band, (int(cx - dx), int(cy - dy)), (int(cx + dx), int(cy + dy)), 255, max(2, int(width)),
             cv2.LINE_AA)
    layer = band.astype(np.float32) * (opacity / 255)
    bx, by, bw, bh = cv2.boundingRect(band)
    if bw and bh:
        sl = (slice(by, by + bh), slice(bx, bx + bw))
        mask = band[sl].astype(np.float32) / 255
        edge = np.clip(cv2.Laplacian(mask, cv2.CV_32F), 0, 1)
        roi = img[sl]
        roi *= (1 - layer[sl])[..., None]
        roi += layer[sl][..., None] * np.asarray(colour, np.float32)
        roi += (edge * 0.25 + mask * 0.1 * (kind == 0))[..., None]
        np.clip(roi, 0, 1, out=roi)
    return layer


def _line_mask(h, w, a, b, width):
    m = np.zeros((h, w), np.uint8)
    cv2.line(m, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), 255, max(3, int(width)), cv2.LINE_AA)
    return m.astype(np.float32) / 255


def _cover_mask(kind, h, w, tip, direction, width):
    """Where the occluder lies: a finger from ``tip`` outwards, a band across at ``tip``, a shadow beyond it."""
    big = 2 * max(h, w)
    perp = np.array([-direction[1], direction[0]])
    if kind == "finger":
        return _line_mask(h, w, tip, tip + direction * big, width)
    if kind in ("strap", "tape"):
        c = tip + direction * width * 0.6
        return _line_mask(h, w, c - perp * big, c + perp * big, width * 1.3)
    poly = np.array([tip - perp * big, tip + perp * big, tip + perp * big + direction * big,
                     tip - perp * big + direction * big], np.int32)
    cover = np.zeros((h, w), np.float32)
    cv2.fillPoly(cover, [poly], 1.0)
    return cover * 0.5


def occlude(rng: np.random.Generator, img: np.ndarray, mark: np.ndarray, max_cover: float = 0.25) -> str:
    """Cover up to ``max_cover`` of the ``mark`` mask with a finger, tape, a strap or a shadow; returns which."""
    h, w = mark.shape
    ys, xs = np.nonzero(mark > 0.3)
    if xs.size == 0:
        return ""
    centre = np.array([xs.mean(), ys.mean()])
    span = max(float(np.ptp(xs)), float(np.ptp(ys)), 8.0)
    kind = str(rng.choice(["finger", "finger", "tape", "strap", "shadow"]))
    ang = rng.uniform(0, 2 * np.pi)
    direction = np.array([np.cos(ang), np.sin(ang)])
    width = span * rng.uniform(0.2, 0.45)
    q = 4  # coverage is measured on a quarter-size copy
    small = cv2.resize(mark, (max(1, w // q), max(1, h // q)), interpolation=cv2.INTER_AREA)
    total = float(small.sum()) + 1e-6
    for reach in np.linspace(rng.uniform(0.0, 0.5), 1.5, 10):  # pull it out until it covers little enough
        tip = centre + direction * span * reach
        cover = _cover_mask(kind, small.shape[0], small.shape[1], tip / q, direction, width / q)
        if float((cover * small).sum()) / total <= max_cover:
            break
    cover = _cover_mask(kind, h, w, tip, direction, width)
    _draw_cover(rng, img, kind, cover, tip, direction, width)
    return kind


def _draw_cover(rng, img, kind, cover, tip, direction, width):
    if kind == "finger":
        _finger(rng, img, cover, tip, direction, width)
    elif kind == "shadow":
        soft = blur(cover, max(2.0, width / 2)) * rng.uniform(0.7, 1.3)
        img *= (1 - soft)[..., None]
    elif kind == "strap":
        colour = np.asarray(product_colour(rng), np.float32)
        weave = 0.9 + 0.1 * np.sin(np.arange(img.shape[1], dtype=np.float32) * 1.3)[None, :]
        shadow = np.roll(blur(cover, width / 4), int(width / 4), 0)
        img *= 1 - 0.4 * shadow[..., None]
        img *= 1 - cover[..., None]
        img += (cover * weave)[..., None] * colour
    else:
        c = tip + direction * width * 0.6
        angle = float(np.degrees(np.arctan2(direction[0], -direction[1])))
        tape(rng, img, float(c[0]), float(c[1]), angle, 4 * max(img.shape[:2]), width * 1.3)
    np.clip(img, 0, 1, out=img)


def _finger(rng, img, cover, tip, direction, width):
    gloved = rng.random() < 0.4
    colour = np.asarray(jitter_colour(rng, (GLOVES if gloved else SKIN)[int(rng.integers(4))], 0.04), np.float32)
    round_ = blur(cover, max(1.0, width / 5))
    shade = 0.55 + 0.6 * round_ / (float(round_.max()) + 1e-6)
    shadow = np.roll(blur(cover, width / 3), (int(width / 4), int(width / 5)), (0, 1))
    img *= 1 - 0.45 * shadow[..., None]
    img *= 1 - cover[..., None]
    img += (cover * shade)[..., None] * colour
    if not gloved:
        nail = np.zeros_like(cover)
        c = tip + direction * width * 0.55
        cv2.ellipse(nail, (int(c[0]), int(c[1])), (max(2, int(width * 0.3)), max(2, int(width * 0.38))),
                    float(np.degrees(np.arctan2(direction[1], direction[0]))), 0, 360, 1.0, -1, cv2.LINE_AA)
        img += (blur(nail, max(1.0, width / 12)) * cover * 0.06)[..., None]
