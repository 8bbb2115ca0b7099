"""Visual evidence: the photo with the design's outline where it was found, beside the registered design.

``side_by_side`` draws the outline the matcher found; ``keypoint_evidence`` recomputes the keypoint matches
of one pair and draws them (inliers joined by lines), with the homography box and the region agreement.

Example: ``Path("evidence.png").write_bytes(side_by_side(settings, "item.jpg", result.candidates[0]))``
"""

from __future__ import annotations

import io
from dataclasses import dataclass

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
    right = Image.open(design.render()).convert("RGB")
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


@dataclass(frozen=True)
class KeypointEvidence:
    """The keypoint matches of one (photo, design) pair, recomputed for display."""

    png: bytes  # photo with matched keypoints and the homography box | the design with its keypoints, joined
    matches: int  # ratio-test matches between photo and design
    inliers: int  # of those, the ones that agree with one homography (the matched region)
    region_agreement: float  # inliers / matches, in %
    box: tuple[tuple[float, float], ...] | None  # the design's outline in the photo (photo pixels)
    mirrored: bool = False  # the outline lands reversed: the mark is a mirrored copy


@dataclass
class _Best:
    inliers: int = 0
    matches: int = 0
    src: np.ndarray | None = None  # design keypoints (design view pixels)
    dst: np.ndarray | None = None  # photo keypoints (photo pixels)
    inlier: np.ndarray | None = None
    view: int = 0
    size: tuple[int, int] = (1, 1)  # design view (width, height)
    box: np.ndarray | None = None


def _best_view(settings: Settings, rgb: np.ndarray, design_id: str) -> _Best:
    """Ratio test + RANSAC of the photo (as is, inverted and mirrored, as matching reads it) against each view
    of the design; the best pair."""
    import cv2

    from kcs_kit.embed.local import read_all_ways
    from kcs_kit.match.context import get_context
    from kcs_kit.match.engine import QUERY_FEATURES, QUERY_SIDE
    from kcs_kit.match.verify import RANSAC_PX, descriptors, ratio_matches

    best = _Best()
    views = get_context(settings).design_features(design_id)
    # the mirrored reading keeps its keypoints in the photo's pixels: the drawn matches land on the mark
    for f in read_all_ways(rgb, max_side=QUERY_SIDE, n_features=QUERY_FEATURES):
        if f is None or f.dense:  # grid keypoints of a flat photo: matching does not verify them either
            continue
        desc = descriptors(f)
        for k, (vf, vd) in enumerate(views):
            di, pi = ratio_matches(vd, desc)
            if len(di) < 4:
                continue
            src, dst = vf.keypoints[di, :2].astype(np.float32), f.keypoints[pi, :2].astype(np.float32)
            H, mask = cv2.findHomography(src, dst, cv2.RANSAC, RANSAC_PX, maxIters=500, confidence=0.99)
            n = int(mask.sum()) if mask is not None else 0
            if H is not None and n > max(best.inliers, 4):  # 4 matches always fit a homography
                outline = np.array([[0, 0], [vf.width, 0], [vf.width, vf.height], [0, vf.height]], np.float32)
                box = cv2.perspectiveTransform(outline.reshape(-1, 1, 2), H).reshape(-1, 2)
                best = _Best(n, len(di), src, dst, mask.ravel().astype(bool), k, (vf.width, vf.height), box)
    return best


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.truetype(FONT, size)
    except OSError:  # the Debian font is not installed
        return ImageFont.load_default(size=size)


def _design_image(settings: Settings, design_id: str, view: int):
    from PIL import Image

    design = get_design(settings, design_id)
    imgs = design.images
    path = next((i.path for i in imgs if i.view == view and i.variant == "colour"),
                next((i.path for i in imgs if i.view == view), imgs[0].path))
    return Image.open(path).convert("RGB"), design


def keypoint_evidence(settings: Settings, photo: PhotoInput, candidate: Candidate, *,
                      crop: str | tuple | None = None) -> KeypointEvidence:
    """The photo with its matched keypoints and the matched region (homography box, green) beside the
    registered design with the same keypoints, joined by lines (inliers green, other matches red dots)."""
    from PIL import Image, ImageDraw

    from kcs_kit.match.photo import apply_crop, parse_crop
    from kcs_kit.match.verify import reversed_outline

    p = load_photo(photo, max_pixels=settings.max_image_pixels)
    box = parse_crop(crop)
    if box is not None:
        p = apply_crop(p, box)
    # a design matching did not verify (engine.VERIFY) gets no keypoints drawn: they would be evidence it never used
    best = _best_view(settings, p.rgb, candidate.design_id) if candidate.verified else _Best()
    right, design = _design_image(settings, candidate.design_id, best.view)
    left = Image.fromarray(np.ascontiguousarray(p.rgb))
    sl = HEIGHT / left.height
    left, right = _fit(left, HEIGHT), _fit(right, HEIGHT)
    gap = 12
    sheet = Image.new("RGB", (left.width + right.width + gap, HEIGHT + 56), "white")
    sheet.paste(left, (0, 0))
    sheet.paste(right, (left.width + gap, 0))
    draw = ImageDraw.Draw(sheet)
    agreement = 100.0 * best.inliers / best.matches if best.matches else 0.0
    if best.src is not None and best.dst is not None and best.inlier is not None:
        rx = right.width / best.size[0]  # design view pixels -> drawn design
        ry = HEIGHT / best.size[1]
        for (sx, sy), (px, py), ok in zip(best.src, best.dst, best.inlier, strict=True):
            a, b = (px * sl, py * sl), (left.width + gap + sx * rx, sy * ry)
            if ok:
                draw.line([a, b], fill=(0, 200, 60), width=1)
                for x, y in (a, b):
                    draw.ellipse([x - 3, y - 3, x + 3, y + 3], outline=(0, 160, 40), width=2)
            else:
                draw.ellipse([a[0] - 2, a[1] - 2, a[0] + 2, a[1] + 2], fill=(220, 40, 40))
        if best.box is not None:
            pts = [(float(x) * sl, float(y) * sl) for x, y in best.box]
            draw.line([*pts, pts[0]], fill=(0, 230, 60), width=3)
    mirrored = best.inliers > 0 and reversed_outline(best.box)
    font = _font(16)
    draw.text((6, HEIGHT + 6), f"#{candidate.rank} {candidate.design_id} - {design.right_holder} - "
                               f"{design.registration_no or ''}", fill="black", font=font)
    keypoints = (f"{best.inliers} of {best.matches} keypoint matches agree ({agreement:.0f}% region agreement)"
                 + ("; the mark mirrored" if mirrored else "")) if candidate.verified \
        else "keypoints not verified (not among the first designs of any image shortlist)"
    draw.text((6, HEIGHT + 30), f"probability {candidate.probability:.0%}; {keypoints}", fill=(60, 60, 60), font=font)
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    outline = tuple((float(x) / p.scale, float(y) / p.scale) for x, y in best.box) if best.box is not None else None
    return KeypointEvidence(buf.getvalue(), best.matches, best.inliers, agreement, outline, mirrored)
