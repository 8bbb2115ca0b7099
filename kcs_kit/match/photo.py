"""Load an officer's photo safely: type sniffing, decompression-bomb guard, EXIF rotation, size limits, crop.

Uploaded file names are only ever used in messages, never as paths.

Example::

    >>> import numpy as np
    >>> from kcs_kit.match.photo import load_photo
    >>> load_photo(np.zeros((480, 640, 3), np.uint8)).size
    (640, 480)
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kcs_kit.errors import ImageError

MAX_SIDE = 1600  # larger photos are reduced for matching (keeps latency bounded)
MIN_SIDE = 32
PhotoInput = bytes | bytearray | str | Path | np.ndarray


@dataclass(frozen=True)
class Photo:
    rgb: np.ndarray  # (H, W, 3) uint8, upright, at most MAX_SIDE on its long side
    size: tuple[int, int]  # (width, height) of the upright original
    scale: float  # rgb pixels per original pixel
    sha256: str  # of the original bytes (audit)
    name: str  # for messages only


def _sniff(data: bytes) -> str | None:
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:2] == b"BM":
        return "BMP"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    return None


def _decode(data: bytes, name: str, max_pixels: int):
    from PIL import Image, ImageOps

    kind = _sniff(data)
    if kind is None:
        found = "an empty file" if not data else f"bytes starting {data[:8]!r}"
        raise ImageError(f"{name}: expected a JPEG, PNG, WebP, GIF, BMP or TIFF photo, found {found}",
                         hint="send the photo file itself (not a document or a link)")
    old = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with Image.open(io.BytesIO(data)) as probe:
            w, h = probe.size
            if w * h > max_pixels:
                raise ImageError(f"{name}: {kind} of {w}x{h} pixels is larger than the limit of {max_pixels:,}",
                                 hint="send a smaller photo, or raise KCS_MAX_IMAGE_PIXELS")
            probe.verify()
        with Image.open(io.BytesIO(data)) as im:
            turned = im.getexif().get(0x0112, 1) in (5, 6, 7, 8)  # EXIF orientation swaps the axes
            im.draft("RGB", (MAX_SIDE * 2, MAX_SIDE * 2))  # fast JPEG downscale while decoding
            return ImageOps.exif_transpose(im).convert("RGB"), ((h, w) if turned else (w, h))
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{name}: {kind} claims more pixels than the limit of {max_pixels:,} ({exc})",
                         hint="a decompression bomb or a huge scan: send an ordinary photo") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{name}: the {kind} data is corrupt or truncated ({exc})",
                         hint="take or export the photo again") from exc
    finally:
        Image.MAX_IMAGE_PIXELS = old


def load_photo(src: PhotoInput, *, name: str | None = None, max_pixels: int = 40_000_000) -> Photo:
    """Bytes, a file path or an RGB array -> an upright RGB Photo (reduced to MAX_SIDE for matching)."""
    import cv2

    if isinstance(src, np.ndarray):
        label = name or "photo"
        if src.ndim == 2:
            src = np.stack([src] * 3, axis=-1)
        if src.ndim != 3 or src.shape[2] < 3 or src.dtype != np.uint8:
            raise ImageError(f"{label}: expected an RGB uint8 array (H, W, 3), found {src.dtype} {src.shape}")
        rgb, data, size = np.ascontiguousarray(src[..., :3]), src.tobytes(), (src.shape[1], src.shape[0])
    else:
        if isinstance(src, str | Path):
            label = name or Path(src).name
            try:
                data = Path(src).read_bytes()
            except OSError as exc:
                raise ImageError(f"{label}: cannot read the photo ({exc.strerror})", hint="check the path") from exc
        else:
            label, data = name or "uploaded photo", bytes(src)
        im, size = _decode(data, label, max_pixels)
        rgb = np.asarray(im)
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise ImageError(f"{label}: expected a photo of at least {MIN_SIDE}x{MIN_SIDE} pixels, found {w}x{h}",
                         hint="take the photo closer or at a higher resolution")
    scale = min(1.0, MAX_SIDE / max(h, w))
    if scale < 1.0:
        rgb = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    scale = rgb.shape[1] / size[0]
    return Photo(rgb, size, scale, hashlib.sha256(data).hexdigest(), label)


def parse_crop(text: str | tuple | list | None) -> tuple[float, float, float, float] | None:
    """'x0,y0,x1,y1' (pixels of the upright photo) -> a tuple; None passes through."""
    if text is None or text == "":
        return None
    parts = text.split(",") if isinstance(text, str) else list(text)
    try:
        x0, y0, x1, y1 = (float(p) for p in parts)
    except (TypeError, ValueError) as exc:
        raise ImageError(f"crop {text!r}: expected four numbers x0,y0,x1,y1 in pixels") from exc
    if x1 <= x0 or y1 <= y0:
        raise ImageError(f"crop {text!r}: expected x0 < x1 and y0 < y1")
    return x0, y0, x1, y1


def crop_pixels(photo: Photo, crop: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """``crop`` (original upright pixels) as a rectangle (x0, y0, x1, y1) of ``photo.rgb``, clipped to it."""
    x0, y0, x1, y1 = crop
    s = photo.scale
    return (max(0, round(x0 * s)), max(0, round(y0 * s)),
            min(photo.rgb.shape[1], round(x1 * s)), min(photo.rgb.shape[0], round(y1 * s)))


def apply_crop(photo: Photo, crop: tuple[float, float, float, float]) -> Photo:
    """The part of the photo inside ``crop`` (original upright pixels), clipped to the photo."""
    w, h = photo.size
    x0, y0, x1, y1 = crop
    if x0 >= w or y0 >= h or x1 <= 0 or y1 <= 0:
        raise ImageError(f"{photo.name}: crop {crop} lies outside the {w}x{h} photo",
                         hint="draw the box on the photo itself")
    s = photo.scale
    a, b, c, d = crop_pixels(photo, crop)
    if c - a < 16 or d - b < 16:
        raise ImageError(f"{photo.name}: crop {crop} is too small ({c - a}x{d - b} pixels to search)")
    return Photo(np.ascontiguousarray(photo.rgb[b:d, a:c]), (round((c - a) / s), round((d - b) / s)), s,
                 photo.sha256, photo.name)
