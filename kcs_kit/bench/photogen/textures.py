"""Procedural noise, product materials and background surfaces (float32 RGB in [0, 1], SYNTHETIC).

Everything is drawn from the ``numpy.random.Generator`` passed in, so a seed gives the same pixels.
Materials return an albedo, a height map (for relief shading) and a gloss value (how much glare they take).

Example::

    >>> import numpy as np
    >>> from kcs_kit.bench.photogen.textures import material
    >>> material(np.random.default_rng(1), "leather", 64, 96, (0.3, 0.2, 0.1)).albedo.shape
    (64, 96, 3)
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import cv2
import numpy as np

MATERIALS = ("leather", "canvas", "knit", "plastic", "cardboard", "glossy", "denim", "suede")
Rgb = tuple[float, float, float]

# Colours of real goods (RGB 0..1): blacks, whites, navies, browns, tans, greys, reds, olives, pastels.
PRODUCT_COLOURS: tuple[Rgb, ...] = (
    (0.06, 0.06, 0.07), (0.12, 0.11, 0.11), (0.92, 0.91, 0.88), (0.82, 0.80, 0.76), (0.10, 0.13, 0.25),
    (0.33, 0.20, 0.11), (0.55, 0.36, 0.20), (0.72, 0.58, 0.40), (0.45, 0.45, 0.46), (0.62, 0.62, 0.60),
    (0.60, 0.08, 0.10), (0.30, 0.33, 0.20), (0.80, 0.66, 0.66), (0.60, 0.72, 0.82), (0.85, 0.78, 0.55),
    (0.16, 0.35, 0.25), (0.90, 0.45, 0.15), (0.25, 0.25, 0.45), (0.95, 0.95, 0.95), (0.20, 0.18, 0.17),
)


@dataclass(frozen=True)
class Material:
    """A product surface: ``albedo`` (H x W x 3), ``height`` (H x W, about -1..1) and ``gloss`` (0..1)."""

    kind: str
    albedo: np.ndarray
    height: np.ndarray
    gloss: float


def value_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Smooth noise in [0, 1] with features about ``cell`` px across (upsampled random grid)."""
    cell = max(1.0, float(cell))
    if cell <= 1.01:
        return rng.random((h, w), dtype=np.float32)
    gh, gw = int(np.ceil(h / cell)) + 3, int(np.ceil(w / cell)) + 3
    grid = rng.random((gh, gw), dtype=np.float32)
    interp = cv2.INTER_CUBIC if cell > 6 else cv2.INTER_LINEAR
    big = cv2.resize(grid, (int(gw * cell), int(gh * cell)), interpolation=interp)
    oy = int(rng.integers(0, max(1, big.shape[0] - h)))
    ox = int(rng.integers(0, max(1, big.shape[1] - w)))
    return big[oy:oy + h, ox:ox + w]


def fbm(rng: np.random.Generator, h: int, w: int, cell: float, octaves: int = 4, gain: float = 0.5) -> np.ndarray:
    """Fractal noise (sum of ``octaves`` value noises, each half the cell size), about zero mean, unit std."""
    out = np.zeros((h, w), np.float32)
    amp, total, power = 1.0, 0.0, 0.0
    for _ in range(octaves):
        out += amp * value_noise(rng, h, w, cell)
        total, power = total + amp, power + amp * amp
        cell, amp = cell / 2, amp * gain
    out -= 0.5 * total
    out *= 1.0 / (0.22 * np.sqrt(power))  # a smoothed uniform grid has std ~ 0.22
    return out


def jitter_colour(rng: np.random.Generator, rgb: Rgb, amount: float = 0.06) -> Rgb:
    """``rgb`` with hue, saturation and value moved a little (amount ~ 0.06 = barely; 0.3 = a lot)."""
    h, s, v = colorsys.rgb_to_hsv(*rgb)
    h = (h + rng.normal(0, amount * 0.5)) % 1.0
    s = float(np.clip(s * (1 + rng.normal(0, amount * 2)), 0, 1))
    v = float(np.clip(v * (1 + rng.normal(0, amount * 2)), 0.02, 1))
    return colorsys.hsv_to_rgb(h, s, v)


def product_colour(rng: np.random.Generator) -> Rgb:
    """A plausible colour for goods: mostly from the palette, sometimes any saturated colour."""
    if rng.random() < 0.8:
        return jitter_colour(rng, PRODUCT_COLOURS[int(rng.integers(len(PRODUCT_COLOURS)))])
    r, g, b = colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.3, 0.9), rng.uniform(0.25, 0.95))
    return (r, g, b)


def _tint(base: Rgb, field: np.ndarray) -> np.ndarray:
    """H x W x 3 albedo: ``base`` colour times a brightness field (clipped to 0..1)."""
    out = field[..., None] * np.asarray(base, np.float32)[None, None, :]
    return np.clip(out, 0, 1, out=out)


def _coords(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Rotated pixel coordinates (u along the weave, v across), random angle."""
    a = rng.uniform(-0.5, 0.5)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return x * np.cos(a) + y * np.sin(a), -x * np.sin(a) + y * np.cos(a)


def _leather(rng, h, w, base, s):
    n = value_noise(rng, h, w, rng.uniform(2.5, 6) * s)
    crease = np.exp(-(((n - 0.5) / rng.uniform(0.04, 0.09)) ** 2))  # a thin network between the pebbles
    fine = value_noise(rng, h, w, 1.5 * s) - 0.5
    height = -crease * rng.uniform(0.2, 0.6) + 0.15 * fine
    light = 0.93 + 0.04 * fbm(rng, h, w, 150 * s, 2) - 0.07 * crease + 0.03 * fine
    return _tint(base, light), height, rng.uniform(0.2, 0.6)


def _canvas(rng, h, w, base, s):
    u, v = _coords(rng, h, w)
    p = rng.uniform(1.1, 2.5) * s
    warp = np.sin(u * (np.pi / p)) ** 2
    weft = np.sin(v * (np.pi / p)) ** 2
    rows = value_noise(rng, 1, int(h * 1.5) + 8, 1)[0]
    threads = np.take(rows, (np.abs(v) / p).astype(np.int32) % rows.size)
    height = (warp * weft - 0.25) * 2
    light = 0.85 + 0.1 * threads + 0.08 * height + 0.08 * fbm(rng, h, w, 60 * s, 2)
    return _tint(base, light), height, rng.uniform(0.0, 0.15)


def _knit(rng, h, w, base, s):
    u, v = _coords(rng, h, w)
    p = rng.uniform(1.6, 3.5) * s
    col = np.abs((u / p) % 1.0 - 0.5)
    stitch = np.sin(2 * np.pi * (v / (p * 1.2) + col)) * np.sqrt(np.abs(np.sin(np.pi * (u / p))))
    height = stitch * 0.9
    light = 0.85 + 0.12 * stitch + 0.06 * fbm(rng, h, w, 25 * s, 3)
    return _tint(base, light), height, rng.uniform(0.0, 0.1)


def _plastic(rng, h, w, base, s):
    micro = value_noise(rng, h, w, 1.5 * s) - 0.5
    height = micro * rng.uniform(0.02, 0.25)
    light = 1.0 + 0.04 * fbm(rng, h, w, 200 * s, 2) + 0.03 * micro
    return _tint(base, light), height, rng.uniform(0.5, 1.0)


def _cardboard(rng, h, w, base, s):
    fib = rng.random((h, w), dtype=np.float32)
    k = max(3, int(rng.uniform(6, 20) * s)) | 1
    fib = cv2.blur(fib, (k, 1)) if rng.random() < 0.5 else cv2.blur(fib, (1, k))
    flecks = (rng.random((h, w), dtype=np.float32) > 0.997).astype(np.float32)
    light = 0.92 + 0.9 * (fib - 0.5) + 0.08 * fbm(rng, h, w, 80 * s, 3) - 0.3 * flecks
    return _tint(base, light), (fib - 0.5) * 0.6, rng.uniform(0.0, 0.2)


def _glossy(rng, h, w, base, s):
    light = 1.0 + 0.03 * fbm(rng, h, w, 300 * s, 2)
    return _tint(base, light), np.zeros((h, w), np.float32), rng.uniform(0.7, 1.0)


def _denim(rng, h, w, base, s):
    u, v = _coords(rng, h, w)
    p = rng.uniform(1.2, 2.5) * s
    twill = np.sin((u + v) * (np.pi / p)) ** 2
    slub = value_noise(rng, h, w, 1.0)
    slub = cv2.blur(slub, (max(3, int(9 * s)), 1))
    light = 0.75 + 0.3 * twill + 0.5 * (slub - 0.5) + 0.1 * fbm(rng, h, w, 90 * s, 2)
    return _tint(base, light), (twill - 0.5), rng.uniform(0.0, 0.1)


def _suede(rng, h, w, base, s):
    nap = fbm(rng, h, w, 30 * s, 4)
    light = 0.9 + 0.1 * nap + 0.05 * (rng.random((h, w), dtype=np.float32) - 0.5)
    return _tint(base, light), nap * 0.1, 0.0


_MAKERS = {"leather": _leather, "canvas": _canvas, "knit": _knit, "plastic": _plastic, "cardboard": _cardboard,
           "glossy": _glossy, "denim": _denim, "suede": _suede}


def material(rng: np.random.Generator, kind: str, h: int, w: int, base: Rgb, scale: float = 1.0) -> Material:
    """A ``kind`` surface (see MATERIALS) of colour ``base``; ``scale`` multiplies feature sizes (px)."""
    albedo, height, gloss = _MAKERS[kind](rng, h, w, base, max(0.4, scale))
    return Material(kind, albedo.astype(np.float32), height.astype(np.float32), float(gloss))


def relief_shade(height: np.ndarray, light_dir: tuple[float, float], strength: float) -> np.ndarray:
    """Lambert-like shading (H x W, about 1) from a height map lit from ``light_dir`` (dx, dy)."""
    gx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3)
    return 1.0 + strength * (gx * light_dir[0] + gy * light_dir[1])


# ---- backgrounds -------------------------------------------------------------------------------------


def _wood(rng, h, w, s):
    base = jitter_colour(rng, ((0.55, 0.36, 0.20), (0.70, 0.55, 0.38), (0.35, 0.22, 0.13))[int(rng.integers(3))])
    y, x = np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :]
    if rng.random() < 0.5:
        x, y = y, x
    warp = fbm(rng, h, w, 150 * s, 3) * rng.uniform(8, 25) * s
    grain = np.sin((y + warp) * (2 * np.pi / (rng.uniform(6, 16) * s))) * 0.5 + 0.5
    plank = rng.uniform(120, 400) * s
    seams = np.abs(((x + rng.uniform(0, plank)) % plank) - plank / 2) > plank / 2 - 1.5 * s
    light = 0.82 + 0.14 * grain + 0.03 * fbm(rng, h, w, 40 * s, 3) - 0.35 * seams
    return _tint(base, light)


def _laminate(rng, h, w, s):
    grey = rng.uniform(0.55, 0.95)
    base = jitter_colour(rng, (grey, grey * rng.uniform(0.95, 1.02), grey * rng.uniform(0.9, 1.03)), 0.03)
    light = 1.0 + 0.03 * fbm(rng, h, w, 6 * s, 2) + 0.04 * fbm(rng, h, w, 300 * s, 2)
    return _tint(base, light)


def _steel(rng, h, w, s):
    brushed = cv2.blur(rng.random((h, w), dtype=np.float32), (max(3, int(40 * s)) | 1, 1))
    light = 0.65 + 0.6 * (brushed - 0.5) + 0.06 * fbm(rng, h, w, 200 * s, 2)
    return _tint((0.72, 0.73, 0.75), light)


def _carpet(rng, h, w, s):
    fibres = value_noise(rng, h, w, 1.2 * s)
    light = 0.8 + 0.4 * (fibres - 0.5) + 0.1 * fbm(rng, h, w, 50 * s, 3)
    return _tint(product_colour(rng), light)


def _tiles(rng, h, w, s):
    size = rng.uniform(80, 250) * s
    y, x = np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :]
    grout = ((x % size < 2.5 * s) | (y % size < 2.5 * s)).astype(np.float32)
    light = 0.95 + 0.02 * fbm(rng, h, w, 30 * s, 3) - 0.35 * grout
    return _tint(jitter_colour(rng, (0.85, 0.83, 0.78), 0.1), light)


def _plastic_bag(rng, h, w, s):
    crinkle = fbm(rng, h, w, 60 * s, 4)
    shade = relief_shade(crinkle, (0.7, 0.7), 0.15)
    base = (0.9, 0.9, 0.9) if rng.random() < 0.5 else product_colour(rng)
    return np.clip(_tint(base, 0.9 + 0.05 * crinkle) * shade[..., None], 0, 1)


_GROUNDS = {"wood": _wood, "laminate": _laminate, "steel": _steel, "carpet": _carpet, "tiles": _tiles,
            "parcel": lambda rng, h, w, s: material(rng, "cardboard", h, w,
                                                     jitter_colour(rng, (0.66, 0.50, 0.33), 0.08), s).albedo,
            "cloth": lambda rng, h, w, s: material(rng, str(rng.choice(["canvas", "knit", "denim"])), h, w,
                                                   product_colour(rng), s).albedo,
            "plastic_bag": _plastic_bag}
GROUNDS = tuple(_GROUNDS)


def ground(rng: np.random.Generator, h: int, w: int, scale: float = 1.0) -> tuple[str, np.ndarray]:
    """A background surface (table, steel counter, parcel, floor, cloth, plastic bag): (name, H x W x 3)."""
    name = GROUNDS[int(rng.integers(len(GROUNDS)))]
    return name, np.ascontiguousarray(_GROUNDS[name](rng, h, w, max(0.4, scale)), dtype=np.float32)


def blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur that stays fast for large ``sigma`` (blurs a shrunk copy and scales it back)."""
    if sigma < 6:
        return cv2.GaussianBlur(a, (0, 0), max(0.3, sigma))
    f = max(2, int(sigma / 3))
    h, w = a.shape[:2]
    small = cv2.resize(a, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / f)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
