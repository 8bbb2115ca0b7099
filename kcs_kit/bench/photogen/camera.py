"""What a phone camera does to a scene: uneven light, glare, cast shadows, colour cast, defocus and motion
blur, lens (barrel) distortion, resampling to the sensor size, noise, phone sharpening, JPEG and EXIF.

``optics`` works on the float32 scene (in place); ``sensor`` resamples it to the output size and returns
uint8; ``encode_jpeg`` writes the bytes, optionally rotated with an EXIF Orientation tag. SYNTHETIC.

Example::

    >>> import numpy as np
    >>> from kcs_kit.bench.photogen.camera import encode_jpeg
    >>> encode_jpeg(np.zeros((48, 64, 3), np.uint8), 80, 6, "synthetic")[:2]
    b'\\xff\\xd8'
"""

from __future__ import annotations

import io

import cv2
import numpy as np

from kcs_kit.bench.photogen.textures import blur, fbm

# EXIF orientation -> how the stored pixels are turned from the upright picture (inverse of exif_transpose)
_STORE = {3: cv2.ROTATE_180, 6: cv2.ROTATE_90_COUNTERCLOCKWISE, 8: cv2.ROTATE_90_CLOCKWISE}


def _lighting(rng: np.random.Generator, img: np.ndarray, s: float) -> None:
    """Uneven light: a ramp, soft blotches and vignetting (computed small, it is smooth)."""
    h, w = img.shape[:2]
    sh, sw = max(8, h // 8), max(8, w // 8)
    y, x = np.mgrid[0:sh, 0:sw].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    ramp = ((x - sw / 2) * np.cos(ang) + (y - sh / 2) * np.sin(ang)) / max(sh, sw)
    field = rng.uniform(0.75, 1.15) + rng.uniform(0.0, 0.5) * ramp + rng.uniform(0, 0.05) * fbm(rng, sh, sw,
                                                                                                  40 * s, 2)
    r2 = ((x - sw / 2) ** 2 + (y - sh / 2) ** 2) / ((sw / 2) ** 2 + (sh / 2) ** 2)
    field *= 1 - rng.uniform(0.05, 0.45) * r2
    img *= cv2.resize(field, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]


def _cast_shadow(rng: np.random.Generator, img: np.ndarray, s: float) -> None:
    """The phone's / officer's shadow: a big soft blob entering from one side."""
    h, w = img.shape[:2]
    m = np.zeros((h, w), np.float32)
    c = (int(rng.uniform(-0.2, 1.2) * w), int(rng.choice([-0.2, 1.2]) * h))
    cv2.ellipse(m, c, (int(w * rng.uniform(0.3, 0.7)), int(h * rng.uniform(0.3, 0.8))), rng.uniform(0, 180), 0,
                360, 1.0, -1)
    img *= (1 - blur(m, rng.uniform(20, 80) * s) * rng.uniform(0.25, 0.6))[..., None]


def _glare(rng: np.random.Generator, img: np.ndarray, where: np.ndarray, strength: float, s: float) -> None:
    """Specular highlights (lamps, windows) on glossy parts: additive soft blobs and streaks."""
    h, w = img.shape[:2]
    m = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        c = (int(rng.uniform(0.1, 0.9) * w), int(rng.uniform(0.1, 0.9) * h))
        long = rng.uniform(10, 200) * s
        ax = (int(long), int(long * rng.uniform(0.05, 0.5)))
        cv2.ellipse(m, c, ax, rng.uniform(0, 180), 0, 360, float(rng.uniform(0.3, 1.0)), -1)
    glare = blur(m, rng.uniform(4, 30) * s) * where * strength
    img += glare[..., None] * np.asarray([1.0, 0.98, 0.95], np.float32)


def _motion_kernel(rng: np.random.Generator, length: int) -> np.ndarray:
    k = np.zeros((length, length), np.float32)
    a = rng.uniform(0, np.pi)
    c = (length - 1) / 2
    dx, dy = np.cos(a) * c, np.sin(a) * c
    cv2.line(k, (int(round(c - dx)), int(round(c - dy))), (int(round(c + dx)), int(round(c + dy))), 1.0, 1,
             cv2.LINE_AA)
    return k / k.sum()


def optics(rng: np.random.Generator, img: np.ndarray, glossy: np.ndarray, s: float) -> dict[str, float]:
    """Light, shadow, glare, white balance and blur on the float scene (in place); returns what was done."""
    _lighting(rng, img, s)
    done = {"shadow": 0.0, "glare": 0.0, "defocus": 0.0, "motion": 0.0}
    if rng.random() < 0.25:
        _cast_shadow(rng, img, s)
        done["shadow"] = 1.0
    if rng.random() < 0.45:
        done["glare"] = float(rng.uniform(0.3, 1.2))
        _glare(rng, img, glossy, done["glare"], s)
    gains = np.asarray([rng.normal(1, 0.07), rng.normal(1, 0.04), rng.normal(1, 0.09)], np.float32)
    if rng.random() < 0.3:  # tungsten or fluorescent room light left uncorrected
        gains *= np.asarray([1.12, 1.0, 0.78] if rng.random() < 0.6 else [0.92, 1.06, 1.0], np.float32)
    img *= gains / gains.mean()
    if rng.random() < 0.55:
        done["defocus"] = float(rng.uniform(0.4, 2.5) * s)
        img[:] = cv2.GaussianBlur(img, (0, 0), done["defocus"])
    if rng.random() < 0.15:
        length = max(3, int(rng.uniform(3, 16) * s)) | 1
        done["motion"] = float(length)
        img[:] = cv2.filter2D(img, -1, _motion_kernel(rng, length))
    return done


def distortion_maps(rng: np.random.Generator, src: tuple[int, int], out: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """remap() maps from the output size (w, h) into the scene of size ``src`` with slight barrel distortion."""
    (sw, sh), (ow, oh) = src, out
    k1 = rng.uniform(-0.01, 0.08) if rng.random() < 0.7 else 0.0
    gw, gh = max(8, ow // 8), max(8, oh // 8)  # smooth: computed on a grid, then interpolated
    y, x = np.mgrid[0:gh, 0:gw].astype(np.float32)
    x, y = (x + 0.5) * (ow / gw) - 0.5, (y + 0.5) * (oh / gh) - 0.5
    nx, ny = (x + 0.5 - ow / 2) / (ow / 2), (y + 0.5 - oh / 2) / (oh / 2)
    f = (1 + k1 * (nx * nx + ny * ny) / 2) / (1 + k1)  # k1 > 0: barrel; the corners stay put
    mx = (nx * f * (ow / 2) + ow / 2) * (sw / ow) - 0.5
    my = (ny * f * (oh / 2) + oh / 2) * (sh / oh) - 0.5
    return (cv2.resize(mx, (ow, oh), interpolation=cv2.INTER_LINEAR),
            cv2.resize(my, (ow, oh), interpolation=cv2.INTER_LINEAR))


def develop(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Tone curve, chroma noise and phone sharpening on the float scene; returns uint8 (same size)."""
    np.clip(img, 0, 1, out=img)
    lut = np.linspace(0, 1, 256, dtype=np.float32) ** rng.uniform(0.85, 1.15)
    lut += rng.uniform(0.0, 0.35) * lut * (1 - lut) * (2 * lut - 1) * 1.5  # a mild S-curve
    out = cv2.LUT(np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8), np.clip(lut * 255, 0, 255).astype(np.uint8))
    h, w = out.shape[:2]
    iso = rng.uniform(0.003, 0.035)
    chroma = rng.standard_normal((max(2, h // 4), max(2, w // 4), 3), dtype=np.float32) * (iso * 0.8 * 255)
    work = out.astype(np.float32) + cv2.resize(chroma, (w, h), interpolation=cv2.INTER_LINEAR)
    sharp = rng.uniform(0.0, 1.2)
    if sharp > 0.1:
        soft = cv2.GaussianBlur(work, (0, 0), rng.uniform(0.8, 2.0))
        work = cv2.addWeighted(work, 1 + sharp, soft, -sharp, 0)  # type: ignore[assignment]
    return np.clip(work, 0, 255).astype(np.uint8)


def sensor(rng: np.random.Generator, img8: np.ndarray, maps: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Resample the developed scene through ``maps`` to the output size and add fine sensor grain."""
    out = cv2.remap(img8, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    h, w = out.shape[:2]
    t = 256
    tile = rng.standard_normal((t, t), dtype=np.float32) * rng.uniform(1.0, 9.0)
    reps = (h // t + 1, w // t + 1, 1)
    up = np.tile(cv2.merge([np.clip(tile, 0, 255).astype(np.uint8)] * 3), reps)[:h, :w]
    down = np.tile(cv2.merge([np.clip(-tile, 0, 255).astype(np.uint8)] * 3), reps)[:h, :w]
    return cv2.subtract(cv2.add(out, up), down)


def encode_jpeg(rgb: np.ndarray, quality: int, orientation: int, description: str) -> bytes:
    """JPEG bytes of the upright picture ``rgb``; with ``orientation`` 3/6/8 the pixels are stored turned and
    the EXIF Orientation tag says how to turn them back (what ``ImageOps.exif_transpose`` does)."""
    from PIL import Image

    stored = cv2.rotate(rgb, _STORE[orientation]) if orientation in _STORE else rgb
    im = Image.fromarray(np.ascontiguousarray(stored), "RGB")
    exif = Image.Exif()
    exif[0x010E] = description  # ImageDescription
    exif[0x0131] = "kcs-photos/1 (synthetic)"  # Software
    if orientation in _STORE:
        exif[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=int(quality), exif=exif.tobytes(), optimize=False)
    return buf.getvalue()
