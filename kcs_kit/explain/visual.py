"""Visual evidence: the photo with the design's outline where it was found, beside the registered design.

Example: ``Path("evidence.png").write_bytes(side_by_side(settings, "item.jpg", result.candidates[0]))``
"""

from __future__ import annotations

import io

import numpy as np

from kcs_kit.config import Settings
from kcs_kit.match.photo import PhotoInput, load_photo
from kcs_kit.match.types import Candidate
from kcs_kit.registry.store import get_design

HEIGHT = 420
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _fit(im, height: int):
    return im.resize((max(1, round(im.width * height / im.height)), height))


def side_by_side(settings: Settings, photo: PhotoInput, candidate: Candidate, *, photo_index: int = 0) -> bytes:
    """PNG bytes: the photo (outline of the matched region in green when verified) | the design's render."""
    from PIL import Image, ImageDraw, ImageFont

    p = load_photo(photo, max_pixels=settings.max_image_pixels)
    left = Image.fromarray(np.ascontiguousarray(p.rgb))
    if candidate.corners and (candidate.photo_index in (None, photo_index)):
        pts = [(x * p.scale, y * p.scale) for x, y in candidate.corners]
        ImageDraw.Draw(left).line([*pts, pts[0]], fill=(0, 230, 60), width=max(3, left.width // 200))
    design = get_design(settings, candidate.design_id)
    path = next((i.path for i in design.images if i.view == 0 and i.variant == "colour"), design.images[0].path)
    right = Image.open(path).convert("RGB")
    left, right = _fit(left, HEIGHT), _fit(right, HEIGHT)
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont
    try:
        font = ImageFont.truetype(FONT, 16)
    except OSError:  # the Debian font is not installed
        font = ImageFont.load_default(size=16)
    sheet = Image.new("RGB", (left.width + right.width + 12, HEIGHT + 56), "white")
    sheet.paste(left, (0, 0))
    sheet.paste(right, (left.width + 12, 0))
    draw = ImageDraw.Draw(sheet)
    inl = next((e for e in candidate.evidence if e.signal == "inliers"), None)
    draw.text((6, HEIGHT + 6), f"#{candidate.rank} {candidate.design_id} - {candidate.right_holder} - "
                               f"{candidate.registration_no}", fill="black", font=font)
    draw.text((6, HEIGHT + 30), f"probability {candidate.probability:.0%}; " + (inl.detail if inl else ""),
              fill=(60, 60, 60), font=font)
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    return buf.getvalue()
