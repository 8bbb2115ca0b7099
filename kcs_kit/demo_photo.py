"""A SYNTHETIC sample photo of a registered design, for demos, notebooks and UI tests.

The design's registered render is printed on a textured surface, seen at a slant (perspective warp),
slightly blurred and saved as a JPEG whose EXIF description says it is synthetic. Much easier than the
photo benchmark (``kcs bench photos``): it shows the workflow, it does not measure accuracy.

Example::

    >>> from kcs_kit.demo_photo import sample_photo
    >>> Path("item.jpg").write_bytes(sample_photo(settings, "nike", seed=1))  # doctest: +SKIP
"""

from __future__ import annotations

import io

import numpy as np

from kcs_kit.config import Settings
from kcs_kit.registry.store import get_design

DESCRIPTION = "SYNTHETIC sample photo of registered design {design_id} (kcs-kit demo_photo, seed {seed})"


def _ground(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    import cv2

    base = np.array(rng.uniform(90, 200, 3), np.float32)
    noise = cv2.GaussianBlur(rng.normal(0, 28, (h, w)).astype(np.float32), (0, 0), 4)[..., None]
    grain = rng.normal(0, 6, (h, w, 1)).astype(np.float32)
    return np.clip(base + noise + grain, 0, 255).astype(np.uint8)


def sample_photo(settings: Settings, design_id: str, *, seed: int = 0, size: tuple[int, int] = (1200, 900),
                 frac: float = 0.45) -> bytes:
    """JPEG bytes: the design ``design_id`` on a textured surface, warped; deterministic in ``seed``."""
    import cv2
    from PIL import Image

    design = get_design(settings, design_id)
    mark = np.asarray(Image.open(design.render()).convert("RGB"))
    rng = np.random.default_rng(seed)
    w, h = size
    img = _ground(rng, w, h)
    s = min(w, h) * frac
    cx, cy = w / 2 + rng.uniform(-0.1, 0.1) * w, h / 2 + rng.uniform(-0.1, 0.1) * h
    dst = np.array([[cx - s / 2, cy - s / 2], [cx + s / 2, cy - s / 2], [cx + s / 2, cy + s / 2],
                    [cx - s / 2, cy + s / 2]], np.float32) + rng.uniform(-0.08, 0.08, (4, 2)).astype(np.float32) * s
    mh, mw = mark.shape[:2]
    hom = cv2.getPerspectiveTransform(np.array([[0, 0], [mw, 0], [mw, mh], [0, mh]], np.float32), dst)
    warped = cv2.warpPerspective(mark, hom, (w, h))
    inside = cv2.warpPerspective(np.full((mh, mw), 255, np.uint8), hom, (w, h)) > 0
    img[inside] = warped[inside]
    img = cv2.GaussianBlur(img, (0, 0), 0.8)
    shade = np.linspace(rng.uniform(0.8, 1.0), rng.uniform(1.0, 1.1), w, dtype=np.float32)[None, :, None]
    img = np.clip(img * shade, 0, 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x010E] = DESCRIPTION.format(design_id=design_id, seed=seed)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=88, exif=exif)
    return buf.getvalue()
