"""Check one view of a design (PNG, JPEG, WebP or SVG) and render it several ways for matching.

Photos of counterfeits show a mark printed in its colour, printed dark on a light label, embossed, or light
on a dark fabric, so every view is rendered three ways, each a square PNG of ``SIZE`` px with a margin:

- ``colour``: SVG filled with the brand colour (``hex``) on white; raster: the original colours;
- ``dark``: dark on light (grayscale; a raster on a dark background is inverted);
- ``light``: light on dark (the inverse of ``dark``).

Raster files are opened with Pillow behind a pixel-count guard (decompression bombs), verified, reloaded
and turned upright (EXIF). SVGs are refused when they reference anything outside themselves or carry
scripts, event handlers, entities or foreignObject, then drawn with resvg. Files are written atomically.

Example::

    >>> from kcs_kit.registry.images import render_view
    >>> sorted(render_view("data/simple-icons/icons/nike.svg", hex="111111"))
    ['colour', 'dark', 'light']
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree

from kcs_kit.errors import ImageError

if TYPE_CHECKING:
    from PIL import Image

SIZE = 512
MARGIN = 32
VARIANTS = ("colour", "dark", "light")
DEFAULT_MAX_PIXELS = 40_000_000
MAX_SVG_BYTES = 5 << 20
_UNSAFE_SVG_TAGS = {"script", "foreignobject", "iframe", "embed", "object", "audio", "video"}
_CSS_URL = re.compile(r"url\(\s*['\"]?\s*(?!#|data:)[^)]*\)|@import", re.IGNORECASE)


@dataclass(frozen=True)
class Render:
    """One rendered variant of one view of a design, as written to disk."""

    design_id: str
    view: int
    variant: str
    path: Path
    sha256: str
    width: int
    height: int


def sniff(data: bytes) -> str:
    """'png', 'jpeg', 'webp', 'svg' or 'unknown', from the bytes (never the file name)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<") and b"<svg" in head:
        return "svg"
    return "unknown"


def render_view(path: str | Path, *, hex: str | None = None,
                max_image_pixels: int = DEFAULT_MAX_PIXELS) -> dict[str, Image.Image]:
    """Check the image file at ``path`` and return its three variants (PIL images, SIZE x SIZE)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(f"{path}: cannot read the image file ({exc.strerror})",
                         hint="check that the file exists and is readable") from exc
    kind = sniff(data)
    if kind == "svg":
        return _svg_variants(data, path, hex)
    if kind == "unknown":
        start = data[:16].decode("ascii", errors="replace").strip()
        raise ImageError(f"{path}: expected a PNG, JPEG, WebP or SVG image, found {len(data)} bytes starting "
                         f"with {start!r}", hint="replace the file with the image itself, or fix image_path")
    return _raster_variants(load_raster(data, path, kind, max_image_pixels))


def load_raster(data: bytes, path: Path, kind: str, max_image_pixels: int) -> Image.Image:
    """Decode PNG/JPEG/WebP bytes safely: size guard, verify, reload, EXIF transpose; returns RGB."""
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data), formats=[kind.upper()]) as probe:
            _check_pixels(probe.size, path, kind, max_image_pixels)
            probe.verify()
        im: Image.Image = Image.open(io.BytesIO(data), formats=[kind.upper()])
        im.load()
        im = ImageOps.exif_transpose(im) or im
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{path}: {kind.upper()} is too large to decode safely ({exc}); expected at most "
                         f"{max_image_pixels:,} pixels (decompression-bomb guard)", hint="shrink the image") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{path}: expected a readable {kind.upper()} image, found a corrupt or truncated "
                         f"file ({exc})", hint="export the image again from its original") from exc
    return _to_rgb(im)


def _check_pixels(size: tuple[int, int], path: Path, kind: str, max_image_pixels: int) -> None:
    w, h = size
    if w * h > max_image_pixels or w <= 0 or h <= 0:
        raise ImageError(f"{path}: {kind.upper()} claims {w} x {h} = {w * h:,} pixels; expected at most "
                         f"{max_image_pixels:,} (decompression-bomb guard)",
                         hint="shrink the image, or raise KCS_MAX_IMAGE_PIXELS if it is genuine")


def _to_rgb(im: Image.Image) -> Image.Image:
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        im = im.point(lambda v: v / 256).convert("L") if im.mode.startswith("I;16") else im.convert("L")
    if im.mode == "P":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA"):
        im = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, im).convert("RGB")
    return im.convert("RGB")


def _fit(im: Image.Image, fill: int | tuple[int, ...]) -> Image.Image:
    """Scale ``im`` to fit SIZE - 2*MARGIN and centre it on a SIZE square of colour ``fill``."""
    from PIL import Image

    box = SIZE - 2 * MARGIN
    scale = box / max(im.size)
    w, h = max(1, round(im.width * scale)), max(1, round(im.height * scale))
    if (w, h) != im.size:
        im = im.resize((w, h), Image.Resampling.LANCZOS)
    canvas = Image.new(im.mode, (SIZE, SIZE), fill)
    canvas.paste(im, ((SIZE - w) // 2, (SIZE - h) // 2))
    return canvas


def _border_mean(gray: Image.Image) -> float:
    import numpy as np

    a = np.asarray(gray, dtype=np.float32)
    return float(np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]]).mean())


def _raster_variants(rgb: Image.Image) -> dict[str, Image.Image]:
    from PIL import ImageOps

    gray = ImageOps.autocontrast(rgb.convert("L"), cutoff=0.5)
    if _border_mean(gray) < 128:  # a mark on a dark ground: invert, so that "dark" is dark on light
        gray = ImageOps.invert(gray)
    dark = _fit(gray, 255)
    return {"colour": _fit(rgb, _edge_colour(rgb)), "dark": dark, "light": ImageOps.invert(dark)}


def _edge_colour(rgb: Image.Image) -> tuple[int, int, int]:
    import numpy as np

    a = np.asarray(rgb)
    edge = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    return tuple(int(v) for v in np.median(edge, axis=0))  # type: ignore[return-value]


def check_svg(text: str, path: Path) -> ElementTree.Element:
    """Parse SVG text and refuse external references, scripts, handlers, entities, foreignObject."""
    if re.search(r"<!ENTITY|<!DOCTYPE[^>]*\[", text, re.IGNORECASE):
        raise ImageError(f"{path}: SVG declares XML entities (<!ENTITY> / DOCTYPE subset); expected none",
                         hint="remove the DOCTYPE and entities from the SVG")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise ImageError(f"{path}: expected well-formed SVG XML, found a parse error ({exc})",
                         hint="export the SVG again") from exc
    if _local(root.tag) != "svg":
        raise ImageError(f"{path}: expected an <svg> root element, found <{_local(root.tag)}>")
    for el in root.iter():
        tag = _local(el.tag)
        if tag.lower() in _UNSAFE_SVG_TAGS:
            raise ImageError(f"{path}: SVG contains <{tag}>; expected plain drawing elements",
                             hint=f"remove the <{tag}> element")
        for name, value in el.attrib.items():
            _check_attr(_local(name), value, tag, path)
        if tag == "style" and el.text and _CSS_URL.search(el.text):
            raise ImageError(f"{path}: SVG <style> loads an external resource (url()/@import); expected none")
    return root


def _check_attr(name: str, value: str, tag: str, path: Path) -> None:
    if name.lower().startswith("on"):
        raise ImageError(f"{path}: SVG <{tag}> has event handler {name}=; expected no scripting",
                         hint=f"remove the {name} attribute")
    if name == "href" and not value.strip().startswith(("#", "data:")):
        raise ImageError(f"{path}: SVG <{tag}> references external {value.strip()[:80]!r}; expected only "
                         "'#id' or 'data:' references", hint="embed the resource in the SVG or remove it")
    if name == "style" and _CSS_URL.search(value):
        raise ImageError(f"{path}: SVG <{tag}> style loads an external resource; expected none")


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _svg_variants(data: bytes, path: Path, hex: str | None) -> dict[str, Image.Image]:
    import numpy as np
    from PIL import Image, ImageOps

    if len(data) > MAX_SVG_BYTES:
        raise ImageError(f"{path}: SVG of {len(data):,} bytes; expected at most {MAX_SVG_BYTES:,}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImageError(f"{path}: expected UTF-8 SVG text, found undecodable bytes", hint="save as UTF-8") from exc
    check_svg(text, path)
    a = np.asarray(_resvg(text, path))
    alpha = a[..., 3]
    if int(alpha.max()) == 0:
        raise ImageError(f"{path}: SVG draws nothing (every pixel is transparent); expected a visible mark")
    white = Image.new("RGBA", (a.shape[1], a.shape[0]), (255, 255, 255, 255))
    gray = Image.alpha_composite(white, Image.fromarray(a, "RGBA")).convert("L")
    if int(np.asarray(gray).min()) > 200:  # drawn in a light colour: use its silhouette
        gray = Image.fromarray(255 - alpha, "L")
    dark = _fit(ImageOps.autocontrast(gray), 255)
    return {"colour": _svg_colour(a, hex), "dark": dark, "light": ImageOps.invert(dark)}


def _svg_colour(a, hex: str | None) -> Image.Image:
    """The mark in its brand colour: single-colour SVGs (default black fill) are painted ``hex``; on white,
    or on black when the brand colour is too light to see on white."""
    import numpy as np
    from PIL import Image

    alpha = a[..., 3]
    rgba = a
    if hex and int(a[..., :3][alpha > 0].max()) <= 32:
        rgb = [int(hex[i:i + 2], 16) for i in (0, 2, 4)]
        rgba = np.empty_like(a)
        rgba[..., :3] = rgb
        rgba[..., 3] = alpha
        light_brand = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 220
    else:
        light_brand = False
    bg = (0, 0, 0) if light_brand else (255, 255, 255)
    base = Image.new("RGBA", (a.shape[1], a.shape[0]), (*bg, 255))
    return _fit(Image.alpha_composite(base, Image.fromarray(rgba, "RGBA")).convert("RGB"), bg)


def _resvg(text: str, path: Path) -> Image.Image:
    import resvg_py
    from PIL import Image

    box = SIZE - 2 * MARGIN
    try:
        png = resvg_py.svg_to_bytes(svg_string=text, width=box, height=box, skip_system_fonts=False)
    except (ValueError, RuntimeError) as exc:
        raise ImageError(f"{path}: SVG could not be drawn ({exc})", hint="export the SVG again") from exc
    return Image.open(io.BytesIO(bytes(png))).convert("RGBA")


def write_png(im: Image.Image, dest: Path) -> tuple[str, int, int]:
    """Write ``im`` as PNG to ``dest`` atomically (temp file + os.replace). Returns (sha256, width, height)."""
    buf = io.BytesIO()
    im.save(buf, "PNG", optimize=False, compress_level=6)
    data = buf.getvalue()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return hashlib.sha256(data).hexdigest(), im.width, im.height


def render_files(design_id: str, views: list[Path], out_dir: Path, *, hex: str | None,
                 max_image_pixels: int, final_dir: Path | None = None) -> list[Render]:
    """Render every view of one design into ``out_dir/{view}-{variant}.png``.

    All views are checked and drawn in memory first, so a bad view writes nothing. ``final_dir`` is
    where the files will live once committed (recorded in the returned renders; default ``out_dir``).
    """
    drawn = [render_view(p, hex=hex, max_image_pixels=max_image_pixels) for p in views]
    final_dir = final_dir or out_dir
    out: list[Render] = []
    for view, variants in enumerate(drawn):
        for variant in VARIANTS:
            name = f"{view}-{variant}.png"
            sha, w, h = write_png(variants[variant], out_dir / name)
            out.append(Render(design_id, view, variant, final_dir / name, sha, w, h))
    return out
