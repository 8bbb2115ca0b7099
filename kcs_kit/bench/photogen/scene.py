"""One synthetic phone photo of one item: ground and clutter, the product, its mark, occluders, camera.

``ItemSpec`` says what the item is (decided once per query, the same for all its photos); ``render_photo``
draws one view of it from a per-photo seed and returns the upright uint8 picture with the mark's box.

Example::

    >>> from kcs_kit.bench.photogen.scene import ItemSpec, render_photo
    >>> p = render_photo(ItemSpec("no_mark", "box", "none", item_seed=3), photo_seed=4)
    >>> p.rgb.dtype.name, p.mark_box
    ('uint8', None)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from kcs_kit.bench.photogen import camera, clutter, marks, products, textures

# query kind -> (products, mark styles) it allows
KIND_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "printed": (("bag", "tshirt", "shoe", "phone_case", "box"), ("print", "print", "screen", "foil", "raised")),
    "embossed": (("bag", "shoe", "phone_case"), ("emboss", "deboss")),
    "woven": (("tshirt", "label"), ("woven",)),
    "on_bottle": (("bottle",), ("print", "print", "screen", "foil")),
    "on_box": (("box",), ("print", "print", "foil")),
    "label": (("label",), ("print", "print", "foil", "woven")),
}
_ANY = (tuple(products.PRODUCTS), marks.STYLES)
SYLLABLES = ("ka", "lo", "ven", "tor", "mi", "za", "rex", "el", "on", "sta", "qui", "dor", "fa", "lux", "ne", "ko")


@dataclass(frozen=True)
class ItemSpec:
    """What one query shows. ``mark``: 'registry' (``path``/``hex``), 'invented' or 'none'."""

    kind: str
    product: str
    mark: str
    path: str = ""
    hex: str | None = None
    word: str = ""
    alteration: str = ""
    item_seed: int = 0


@dataclass(frozen=True)
class Photo:
    """An upright picture (uint8 H x W x 3) with the mark's box (x0, y0, x1, y1) when a mark shows."""

    rgb: np.ndarray
    mark_box: tuple[int, int, int, int] | None
    mark_fraction: float
    style: str
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Look:
    """Item-level choices: the product, ink, style and the mark canvas (mark and word masks)."""

    item: products.Item
    style: str
    ink: tuple[float, float, float]
    canvas: np.ndarray | None
    alteration: str


def invented_word(rng: np.random.Generator) -> str:
    word = "".join(rng.choice(SYLLABLES, int(rng.integers(2, 4))))
    return word.upper() if rng.random() < 0.5 else word.capitalize()


def _ink(rng: np.random.Generator, spec: ItemSpec, style: str) -> tuple[float, float, float]:
    if spec.alteration == "colour":
        return marks.other_colour(rng, spec.hex)
    if style == "foil":
        return marks.GOLD if rng.random() < 0.7 else marks.SILVER
    pick = rng.random()
    brand = marks.hex_rgb(spec.hex)
    if brand and pick < 0.45:
        return brand
    if pick < 0.65:
        return textures.jitter_colour(rng, (0.05, 0.05, 0.06), 0.02)
    if pick < 0.85:
        return textures.jitter_colour(rng, (0.95, 0.95, 0.93), 0.02)
    return textures.product_colour(rng)


def _contrasting(rng: np.random.Generator, ink, style: str) -> tuple[float, float, float]:
    """A product colour; for printed styles, one that the ink stands out from (mostly)."""
    colour = textures.product_colour(rng)
    for _ in range(12):
        if style in ("emboss", "deboss") or np.abs(np.subtract(colour, ink)).sum() > 0.6 or rng.random() < 0.04:
            break
        colour = textures.product_colour(rng)
    return colour


def _mark_mask(rng: np.random.Generator, spec: ItemSpec) -> tuple[np.ndarray | None, str]:
    if spec.mark == "registry":
        mask = marks.registry_mask(spec.path, spec.hex)
    elif spec.mark == "invented":
        mask = marks.invented_mark(rng)
    else:
        return None, ""
    how = ""
    if spec.alteration == "shape":
        mask, how = marks.alter_shape(rng, mask)
    elif spec.alteration == "mirror":
        how = "flip_lr" if rng.random() < 0.8 else "flip_ud"
        mask = mask[:, ::-1] if how == "flip_lr" else mask[::-1]
    return np.ascontiguousarray(mask), how or spec.alteration


def look_of(spec: ItemSpec) -> _Look:
    """Decide the item's look from its seed (so that every photo of it shows the same goods)."""
    rng = np.random.default_rng(spec.item_seed)
    styles = KIND_RULES.get(spec.kind, _ANY)[1]
    style = str(styles[int(rng.integers(len(styles)))])
    ink = _ink(rng, spec, style)
    item = products.make_item(rng, spec.product, _contrasting(rng, ink, style), textures.product_colour(rng))
    if style in ("emboss", "deboss") and spec.product != "phone_case":
        item = products.Item(item.product, "leather", item.colour, item.colour2, item.texture_seed,
                             item.warp_phase)
    mask, how = _mark_mask(rng, spec)
    if mask is None:
        if rng.random() < 0.5:  # goods without a mark often carry some unrelated word
            word = clutter.text_mask(str(rng.choice(clutter.WORDS)), 120, int(rng.integers(12)))
            return _Look(item, style, ink, np.dstack([np.zeros_like(word), word]), "")
        return _Look(item, style, ink, None, "")
    a, b = marks.compose(rng, mask, spec.word)
    canvas = np.dstack([a, b])
    if style == "woven":
        canvas = np.dstack([marks.woven(rng, a), marks.woven(rng, b)])
    return _Look(item, style, ink, canvas.astype(np.float32), how)


def _frame_size(rng: np.random.Generator) -> tuple[int, int]:
    long = int(rng.uniform(640, 2000))
    aspect = float(rng.choice([4 / 3, 4 / 3, 4 / 3, 16 / 9, 3 / 2, 1.0]))
    short = max(480, int(long / aspect))
    return (long, short) if rng.random() < 0.55 else (short, long)


def _sample(canvas: np.ndarray, layer: products.ProductLayer, px: float, rng: np.random.Generator,
            fill: float) -> np.ndarray:
    """The canvas (mark, word) drawn on the product surface: two masks over the layer's ROI."""
    ch, cw = canvas.shape[:2]
    sigma = fill / math.sqrt(cw * ch)  # local units per canvas pixel
    shrink = min(1.0, sigma * px * 1.5)
    if shrink < 1.0:
        canvas = cv2.resize(canvas, (max(2, int(cw * shrink)), max(2, int(ch * shrink))),
                            interpolation=cv2.INTER_AREA)
        sigma /= shrink
        ch, cw = canvas.shape[:2]
    theta = math.radians(rng.normal(0, 5))
    du, dv = layer.u - (0.5 + rng.normal(0, 0.03)), layer.v - (0.5 + rng.normal(0, 0.03))
    c, s = math.cos(theta), math.sin(theta)
    x = (du * c + dv * s) / sigma + cw / 2
    y = (-du * s + dv * c) / sigma + ch / 2
    out = cv2.remap(canvas, x.astype(np.float32), y.astype(np.float32), cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out * layer.body[..., None]


def _place(rng: np.random.Generator, size: tuple[int, int], fill: float, aspect: float) -> tuple[np.ndarray, float]:
    """Homography for a product whose mark covers a log-uniform 5-60 % of the frame; returns (H, target)."""
    w, h = size
    target = math.exp(rng.uniform(math.log(0.05), math.log(0.6)))
    side = math.sqrt(target * w * h)
    half_w, half_h = side * math.sqrt(aspect) / 2, side / math.sqrt(aspect) / 2
    cx = rng.uniform(half_w, w - half_w) if w > 2 * half_w else w / 2
    cy = rng.uniform(half_h, h - half_h) if h > 2 * half_h else h / 2
    angle = rng.uniform(-35, 35) + (180 if rng.random() < 0.07 else 0)
    tilt = rng.random() ** 1.5
    return products.view_homography(rng, side / fill, (cx, cy), angle, tilt), target


def _mark_box(mask: np.ndarray) -> tuple[tuple[int, int, int, int] | None, float]:
    ys, xs = np.nonzero(mask > 0.3)
    if xs.size < 4:
        return None, 0.0
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    return box, (box[2] - box[0]) * (box[3] - box[1]) / mask.size


def render_photo(spec: ItemSpec, photo_seed: int) -> Photo:
    """Draw one photo of ``spec`` (deterministic in ``spec`` and ``photo_seed``)."""
    look = look_of(spec)
    rng = np.random.default_rng(photo_seed)
    out_w, out_h = _frame_size(rng)
    work = min(1.0, rng.uniform(640, 900) / max(out_w, out_h))
    ww, wh = max(64, int(out_w * work)), max(64, int(out_h * work))
    s = max(ww, wh) / 1000
    ground, img = textures.ground(rng, wh, ww, s)
    clutter.scatter(rng, img, s, int(rng.integers(0, 7)))
    canvas = look.canvas
    aspect = canvas.shape[1] / canvas.shape[0] if canvas is not None else 1.0
    fill = rng.uniform(0.5, 0.9)
    hom, _target = _place(rng, (ww, wh), fill, aspect)
    products.drop_shadow(img, hom, look.item, rng)
    la = rng.uniform(0, 2 * math.pi)
    light = (math.cos(la), math.sin(la))
    layer = products.render_product(rng, look.item, img, hom, light)
    x0, y0, x1, y1 = layer.roi
    mark_full = np.zeros((wh, ww), np.float32)
    if canvas is not None:
        px = products.panel_px(hom)
        sampled = _sample(canvas, layer, px, rng, fill)
        ink = np.maximum(sampled[..., 0], sampled[..., 1])
        bx, by, bw, bh = cv2.boundingRect((ink > 0.004).astype(np.uint8))
        pad = int(max(bw, bh) * 0.05) + 4
        sx0, sy0 = max(0, bx - pad), max(0, by - pad)
        sx1, sy1 = min(ink.shape[1], bx + bw + pad), min(ink.shape[0], by + bh + pad)
        if bw and bh:
            marks.apply_style(rng, img[y0 + sy0:y0 + sy1, x0 + sx0:x0 + sx1], ink[sy0:sy1, sx0:sx1], look.style,
                              look.ink, px, light)
        mark_full[y0:y1, x0:x1] = sampled[..., 0]
    occluder = ""
    if rng.random() < (0.3 if spec.mark != "none" else 0.15):
        occluder = clutter.occlude(rng, img, mark_full if mark_full.any() else _centre_blob(wh, ww))
    glossy = np.zeros((wh, ww), np.float32)
    glossy[y0:y1, x0:x1] = layer.body * layer.gloss
    glossy += 0.3 if ground in ("steel", "plastic_bag", "laminate") else 0.05
    done = camera.optics(rng, img, glossy, s)
    maps = camera.distortion_maps(rng, (ww, wh), (out_w, out_h))
    rgb = camera.sensor(rng, camera.develop(rng, img), maps)  # type: ignore[arg-type]
    box, frac = _mark_box(cv2.remap(mark_full, maps[0], maps[1], cv2.INTER_LINEAR))
    notes = {"product": look.item.product, "material": look.item.material, "ground": ground,
             "alteration": look.alteration, "occluder": occluder,
             "blur": "motion" if done["motion"] else "defocus" if done["defocus"] else ""}
    return Photo(rgb, box, frac, look.style if canvas is not None and spec.mark != "none" else "", notes)


def _centre_blob(h: int, w: int) -> np.ndarray:
    m = np.zeros((h, w), np.float32)
    cv2.circle(m, (w // 2, h // 2), min(h, w) // 5, 1.0, -1)
    return m
