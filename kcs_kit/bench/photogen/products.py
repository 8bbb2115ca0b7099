"""Goods seen by the camera: a product silhouette in its own plane, placed in the photo by a homography.

Each product is drawn in *local* coordinates where the panel that carries the mark is the unit square
[0, 1] x [0, 1] (y down). A pinhole-camera homography (``view_homography``) maps local -> photo pixels. For
every photo pixel of the product, ``render_product`` also returns the local surface coordinates (U, V) --
unrolled around a bottle (cylinder), rippled on fabric (waves) -- so that a mark is drawn by sampling it
at (U, V) and follows the surface. SYNTHETIC.

Example::

    >>> from kcs_kit.bench.photogen.products import PRODUCTS
    >>> "bottle" in PRODUCTS
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from kcs_kit.bench.photogen.textures import blur, jitter_colour, material, relief_shade

# product -> (materials it is made of, surface warp)
PRODUCTS: dict[str, tuple[tuple[str, ...], str]] = {
    "bag": (("leather", "canvas", "suede", "denim", "plastic"), "flat"),
    "shoe": (("leather", "knit", "canvas", "suede"), "flat"),
    "box": (("cardboard", "glossy"), "flat"),
    "bottle": (("glossy", "plastic"), "cylinder"),
    "tshirt": (("knit", "canvas", "denim"), "wave"),
    "label": (("cardboard", "glossy", "canvas"), "flat"),
    "phone_case": (("plastic", "leather", "glossy", "suede"), "flat"),
}


@dataclass(frozen=True)
class Item:
    """The goods photographed (the same for every photo of one item)."""

    product: str
    material: str
    colour: tuple[float, float, float]
    colour2: tuple[float, float, float]
    texture_seed: int
    warp_phase: float


@dataclass(frozen=True)
class ProductLayer:
    """The product as drawn: ROI (x0, y0, x1, y1) in the photo, surface coords U, V and masks over the ROI."""

    roi: tuple[int, int, int, int]
    u: np.ndarray
    v: np.ndarray
    body: np.ndarray
    fold: np.ndarray
    gloss: float


def _rounded_rect(x0, y0, x1, y1, r, n=8):
    pts = []
    for cx, cy, a0 in ((x1 - r, y0 + r, -90), (x1 - r, y1 - r, 0), (x0 + r, y1 - r, 90), (x0 + r, y0 + r, 180)):
        for a in np.radians(np.linspace(a0, a0 + 90, n)):
            pts.append((cx + r * np.cos(a), cy + r * np.sin(a)))
    return np.array(pts)


def _shapes(product: str, rng: np.random.Generator) -> list[tuple[str, np.ndarray, float]]:
    """The parts of a product in local coords: (role, polygon or polyline, stroke width; 0 = filled)."""
    if product == "bag":
        t, b = rng.uniform(-0.5, -0.25), rng.uniform(1.3, 1.7)
        body = np.array([(-0.3, t), (1.3, t), (1.5, b), (-0.5, b)])
        handle = np.array([(0.1 + 0.8 * x, t - 0.9 * np.sin(np.pi * x)) for x in np.linspace(0, 1, 24)])
        return [("body", body, 0), ("part2", handle, 0.09), ("seam", body * 0.94 + 0.03, 0.012)]
    if product == "shoe":
        upper = np.array([(-0.9, 1.15), (-1.0, 0.2), (-0.85, -0.35), (-0.4, -0.25), (0.2, -0.5), (0.8, -0.05),
                          (1.35, 0.45), (1.75, 0.8), (1.85, 1.15)])
        sole = np.array([(-1.05, 1.1), (1.95, 1.1), (1.9, 1.45), (-1.0, 1.45)])
        return [("body", upper, 0), ("part2", sole, 0), ("seam", upper[1:-1] * 0.97 + 0.02, 0.012),
                ("laces", np.array([(0.3, -0.35), (0.9, 0.15)]), 0.04)]
    if product == "box":
        face = np.array([(-0.35, -0.3), (1.35, -0.3), (1.35, 1.3), (-0.35, 1.3)])
        top = np.array([(-0.35, -0.3), (1.35, -0.3), (1.75, -0.75), (0.05, -0.75)])
        side = np.array([(1.35, -0.3), (1.75, -0.75), (1.75, 0.85), (1.35, 1.3)])
        return [("body", face, 0), ("top", top, 0), ("side", side, 0)]
    if product == "bottle":
        body = _rounded_rect(-0.15, -0.45, 1.15, 1.75, 0.1)
        neck = np.array([(-0.1, -0.35), (0.3, -0.85), (0.33, -1.15), (0.67, -1.15), (0.7, -0.85), (1.1, -0.35)])
        cap = _rounded_rect(0.3, -1.45, 0.7, -1.1, 0.04)
        return [("body", body, 0), ("neck", neck, 0), ("part2", cap, 0)]
    if product == "tshirt":
        body = np.array([(-0.9, -0.45), (0.1, -0.75), (0.3, -0.6), (0.7, -0.6), (0.9, -0.75), (1.9, -0.45),
                         (2.6, 0.5), (2.2, 0.8), (1.7, 0.3), (1.7, 2.6), (-0.7, 2.6), (-0.7, 0.3), (-1.2, 0.8),
                         (-1.6, 0.5)])
        collar = np.array([(0.1 + 0.8 * x, -0.72 + 0.3 * np.sin(np.pi * x)) for x in np.linspace(0, 1, 16)])
        return [("body", body, 0), ("seam", collar, 0.05)]
    if product == "label":
        tag = np.array([(0.1, -0.45), (0.9, -0.45), (1.2, -0.2), (1.2, 1.45), (-0.2, 1.45), (-0.2, -0.2)])
        return [("body", tag, 0), ("hole", np.array([(0.5, -0.3), (0.5, -0.3)]), 0.12),
                ("string", np.array([(0.5, -0.3), (0.45, -1.5), (0.6, -3.0)]), 0.02)]
    case = _rounded_rect(-0.3, -1.1, 1.3, 1.9, 0.28)
    bump = _rounded_rect(-0.15, -0.95, 0.5, -0.3, 0.12)
    return [("body", case, 0), ("bump", bump, 0), ("lens", np.array([(0.05, -0.78), (0.05, -0.78)]), 0.18),
            ("lens", np.array([(0.3, -0.5), (0.3, -0.5)]), 0.18)]


def view_homography(rng: np.random.Generator, panel_px: float, centre: tuple[float, float], angle: float,
                    tilt: float) -> np.ndarray:
    """3 x 3 map local -> photo: the unit panel seen by a pinhole camera, ``tilt`` (0..1) of max 40 deg tilt,
    rotated ``angle`` deg in the image, panel about ``panel_px`` px across, its centre at ``centre``."""
    ax, ay = np.radians(rng.uniform(-40, 40, 2) * tilt)
    f = rng.uniform(2.5, 6.0)
    sq = np.array([(-0.5, -0.5, 0), (0.5, -0.5, 0), (0.5, 0.5, 0), (-0.5, 0.5, 0)])
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    p = sq @ (ry @ rx).T
    proj = f * p[:, :2] / (p[:, 2:] + f)
    proj *= 1.0 / np.sqrt(abs(cv2.contourArea(proj.astype(np.float32))) + 1e-9)
    a = np.radians(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    dst = proj @ rot.T * panel_px + np.asarray(centre)
    return cv2.getPerspectiveTransform((sq[:, :2] + 0.5).astype(np.float32), dst.astype(np.float32))


def _to_photo(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(pts.reshape(-1, 1, 2).astype(np.float64), h).reshape(-1, 2)


def _draw(mask: np.ndarray, pts: np.ndarray, stroke: float, h: np.ndarray, scale: float) -> None:
    """Fill (stroke 0) or stroke a local polygon into a uint8 ``mask`` (already offset by the ROI in h)."""
    p = np.round(_to_photo(h, pts) * 4).astype(np.int32)  # 2 fractional bits: smoother edges
    if stroke == 0:
        cv2.fillPoly(mask, [p], 255, cv2.LINE_AA, shift=2)
    else:
        cv2.polylines(mask, [p], False, 255, max(1, int(stroke * scale)), cv2.LINE_AA, shift=2)


def _roi(h: np.ndarray, parts, shape) -> tuple[int, int, int, int]:
    pts = _to_photo(h, np.vstack([p for _, p, _ in parts]))
    pad = 8
    x0, y0 = np.floor(pts.min(0)).astype(int) - pad
    x1, y1 = np.ceil(pts.max(0)).astype(int) + pad
    return max(0, x0), max(0, y0), min(shape[1], x1), min(shape[0], y1)


def _surface_coords(h: np.ndarray, roi, warp: str, phase: float, rng) -> tuple[np.ndarray, ...]:
    """Local (U, V) for each ROI pixel, bent for the product (cylinder / waves), and a fold-shading field.

    Computed on a half-size grid and interpolated: the maps are smooth."""
    x0, y0, x1, y1 = roi
    gw, gh = max(2, (x1 - x0 + 1) // 2), max(2, (y1 - y0 + 1) // 2)
    inv = np.linalg.inv(h)
    xs = (x0 + (np.arange(gw, dtype=np.float32) + 0.5) * ((x1 - x0) / gw) - 0.5)[None, :]
    ys = (y0 + (np.arange(gh, dtype=np.float32) + 0.5) * ((y1 - y0) / gh) - 0.5)[:, None]
    w = inv[2, 0] * xs + inv[2, 1] * ys + inv[2, 2]
    u = (inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]) / w
    v = (inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]) / w
    fold = np.ones_like(u)
    if warp == "cylinder":
        r = 0.65
        t = np.clip((u - 0.5) / r, -1, 1)
        u = 0.5 + r * np.arcsin(t)
        fold = 0.55 + 0.45 * np.sqrt(1 - t * t) + 0.25 * np.exp(-((t - 0.45) ** 2) / 0.01)
    elif warp == "wave":
        lam, amp = rng.uniform(0.6, 1.6), rng.uniform(0.02, 0.06)
        arg = 2 * np.pi * (v / lam + 0.3 * u) + phase
        u = u + amp * np.sin(arg)
        v = v + amp * 0.5 * np.sin(2 * np.pi * u / (lam * 1.3) + phase * 2)
        fold = 1 + 0.18 * np.cos(arg)
    size = (x1 - x0, y1 - y0)
    return tuple(cv2.resize(a.astype(np.float32), size, interpolation=cv2.INTER_LINEAR) for a in (u, v, fold))


def panel_px(h: np.ndarray) -> float:
    sq = _to_photo(h, np.array([(0, 0), (1, 0), (1, 1), (0, 1)], np.float64))
    return float(np.sqrt(abs(cv2.contourArea(sq.astype(np.float32))) + 1.0))


def _local_texture(item: Item, parts, px: float, light) -> tuple[np.ndarray, float, float, float, float]:
    """The item's shaded material over the local bbox of its parts: (rgb, u0, v0, px per unit, gloss)."""
    pts = np.vstack([p for _, p, _ in parts])
    (u0, v0), (u1, v1) = pts.min(0) - 0.05, pts.max(0) + 0.05
    res = float(min(px, np.sqrt(0.4e6 / ((u1 - u0) * (v1 - v0)))))
    tw, th = max(8, int((u1 - u0) * res)), max(8, int((v1 - v0) * res))
    mat = material(np.random.default_rng(item.texture_seed + 1), item.material, th, tw, item.colour, res / 250)
    rgb = mat.albedo * relief_shade(mat.height, light, 0.35)[..., None]
    return rgb.astype(np.float32), float(u0), float(v0), res, mat.gloss


def render_product(rng: np.random.Generator, item: Item, img: np.ndarray, h: np.ndarray,
                   light: tuple[float, float]) -> ProductLayer:
    """Draw ``item`` into ``img`` (float RGB, in place) through homography ``h``; returns its layer."""
    parts = _shapes(item.product, np.random.default_rng(item.texture_seed))
    roi = _roi(h, parts, img.shape)
    x0, y0, x1, y1 = roi
    rh, rw = y1 - y0, x1 - x0
    if rh < 4 or rw < 4:
        raise ValueError("product outside the photo")
    px = panel_px(h)
    hr = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64) @ h
    u, v, fold = _surface_coords(h, roi, PRODUCTS[item.product][1], item.warp_phase, rng)
    tex, u0, v0, res, gloss = _local_texture(item, parts, px, light)
    colour = cv2.remap(tex, (u - u0) * res, (v - v0) * res, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    colour *= fold[..., None]
    body = np.zeros((rh, rw), np.uint8)
    roi_img = img[y0:y1, x0:x1]
    for role, pts, stroke in parts:
        m = np.zeros((rh, rw), np.uint8)
        _draw(m, pts, stroke, hr, px)
        bx, by, bw, bh = cv2.boundingRect(m)
        if bw == 0 or bh == 0:
            continue
        sl = (slice(by, by + bh), slice(bx, bx + bw))
        a = (m[sl].astype(np.float32) / 255)[..., None]
        dst = roi_img[sl]
        if role in ("body", "neck", "top", "side", "bump"):
            np.maximum(body[sl], m[sl], out=body[sl])
            k = {"top": 1.15, "side": 0.7, "bump": 0.6}.get(role, 1.0)
            dst[:] = dst * (1 - a) + np.clip(colour[sl] * k, 0, 1) * a
        elif role in ("part2", "laces", "string"):
            dst[:] = dst * (1 - a) + np.asarray(item.colour2, np.float32) * (0.75 + 0.25 * fold[sl][..., None]) * a
        else:  # seams, holes, lenses: darker lines and spots
            dst *= 1 - a * (0.55 if role == "seam" else 0.85)
    bodyf = body.astype(np.float32) / 255
    _form_shading(roi_img, bodyf, px, light, PRODUCTS[item.product][1] == "flat" and item.product != "box")
    return ProductLayer(roi, u, v, bodyf, fold, gloss)


def _form_shading(roi_img: np.ndarray, body: np.ndarray, px: float, light, soft: bool) -> None:
    """Darker towards the outline; soft goods (bags, shoes, cases) also bulge: lit on one side."""
    edge = blur(body, max(1.0, px * 0.04))
    shade = 0.75 + 0.25 * edge
    if soft:
        bulge = blur(body, max(2.0, px * 0.3))
        gy, gx = np.gradient(bulge)
        shade += (gx * light[0] + gy * light[1]) * px * 0.25
    roi_img *= (1 - body * (1 - np.clip(shade, 0.5, 1.3)))[..., None]


def drop_shadow(img: np.ndarray, h: np.ndarray, item: Item, rng: np.random.Generator) -> None:
    """Darken the ground under the product (before drawing it): a soft offset copy of its silhouette."""
    parts = [p for p in _shapes(item.product, np.random.default_rng(item.texture_seed)) if p[2] == 0]
    mask = np.zeros(img.shape[:2], np.uint8)
    scale = panel_px(h)
    off = np.array([[1, 0, rng.uniform(-0.05, 0.08) * scale], [0, 1, rng.uniform(0.0, 0.1) * scale], [0, 0, 1]])
    for _, pts, _ in parts:
        _draw(mask, pts, 0, off @ h, scale)
    soft = blur(mask.astype(np.float32) / 255, max(2.0, scale * rng.uniform(0.03, 0.12)))
    img *= (1 - soft * rng.uniform(0.3, 0.6))[..., None]


def make_item(rng: np.random.Generator, product: str, colour, colour2) -> Item:
    """An item of ``product`` with a material it is made of and seeds for its texture and folds."""
    mats = PRODUCTS[product][0]
    return Item(product, str(mats[int(rng.integers(len(mats)))]), tuple(colour),
                tuple(jitter_colour(rng, colour2)),  # type: ignore[arg-type]
                int(rng.integers(2**31)), float(rng.uniform(0, 2 * np.pi)))
