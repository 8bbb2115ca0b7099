"""Geometric verification of one (photo, design) pair: descriptor matches + RANSAC homography.

Returns the inliers, their share of the design's keypoints, and the design's outline mapped into the
photo (the matched region), which the explanations draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kcs_kit.embed.local import LocalFeatures, root_sift

RATIO = 0.8
RANSAC_PX = 6.0


@dataclass(frozen=True)
class Verification:
    inliers: int
    matches: int  # ratio-test matches before RANSAC
    inlier_ratio: float  # inliers / keypoints of the design view
    corners: tuple[tuple[float, float], ...] | None  # design view outline in photo pixels
    region: tuple[float, float, float, float] | None  # bounding box of the corners, clipped
    plausible: bool  # the homography is not degenerate (no fold, sane area)
    checked: bool = True  # False: matching did not verify this design (engine.VERIFY), so 0 inliers mean nothing

    @property
    def mirrored(self) -> bool:
        """The design's outline lands reversed in the photo (its corners turn the other way): a mirrored copy,
        found by the mirrored keypoint reading."""
        return reversed_outline(self.corners)


def reversed_outline(corners) -> bool:
    """Whether a design outline (its corners in order, mapped into the photo) turns the other way round: the
    homography includes a reflection."""
    if corners is None or not len(corners):
        return False
    c = np.asarray(corners, dtype=float)
    x, y = c[:, 0], c[:, 1]
    return float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) < 0


NONE = Verification(0, 0, 0.0, None, None, False)
UNCHECKED = Verification(0, 0, 0.0, None, None, False, checked=False)


def _plausible(corners: np.ndarray) -> bool:
    import cv2

    if not np.isfinite(corners).all():
        return False
    pts = corners.reshape(-1, 2).astype(np.float32)
    return bool(cv2.isContourConvex(pts)) and cv2.contourArea(pts) > 64


def ratio_matches(design_desc: np.ndarray, photo_desc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lowe's ratio test for every design descriptor against the photo's, in one matrix product
    (RootSIFT rows have unit norm, so squared distance = 2 - 2 x dot). Returns (design idx, photo idx)."""
    if len(design_desc) == 0 or len(photo_desc) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    sim = design_desc @ photo_desc.T
    rows = np.arange(len(sim))
    best = sim.argmax(axis=1)  # two max passes: several times faster than argpartition on wide rows
    a = sim[rows, best]
    sim[rows, best] = -np.inf
    b = sim.max(axis=1)
    d1 = np.sqrt(np.maximum(2 - 2 * a, 0))
    d2 = np.sqrt(np.maximum(2 - 2 * b, 0))
    keep = d1 < RATIO * d2
    return rows[keep], best[keep]


def fit_homography(photo: LocalFeatures, design: LocalFeatures, di: np.ndarray, pi: np.ndarray,
                   photo_size: tuple[int, int]) -> Verification:
    """RANSAC homography from the design's keypoints ``di`` to the photo's ``pi``."""
    import cv2

    if len(di) < 4:
        return Verification(0, len(di), 0.0, None, None, False)
    src = design.keypoints[di, :2].astype(np.float32)
    dst = photo.keypoints[pi, :2].astype(np.float32)
    H, mask = cv2.findHomography(src, dst, cv2.RANSAC, RANSAC_PX, maxIters=500, confidence=0.99)
    if H is None or mask is None:
        return Verification(0, len(di), 0.0, None, None, False)
    inliers = int(mask.sum())
    w, h = design.width, design.height
    outline = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32).reshape(-1, 1, 2)
    corners = cv2.perspectiveTransform(outline, H).reshape(-1, 2)
    pw, ph = photo_size
    x0, y0 = np.clip(corners.min(0), 0, [pw, ph])
    x1, y1 = np.clip(corners.max(0), 0, [pw, ph])
    return Verification(inliers, len(di), inliers / max(len(design), 1),
                        tuple((float(x), float(y)) for x, y in corners), (float(x0), float(y0), float(x1), float(y1)),
                        _plausible(corners))


def verify_pair(photo: LocalFeatures, photo_desc: np.ndarray, design: LocalFeatures, design_desc: np.ndarray,
                photo_size: tuple[int, int]) -> Verification:
    """``*_desc`` are RootSIFT float32 descriptors (computed once per photo / design by the caller)."""
    if len(design) < 4 or len(photo) < 4:
        return NONE
    di, pi = ratio_matches(design_desc, photo_desc)
    return fit_homography(photo, design, di, pi, photo_size)


def descriptors(f: LocalFeatures) -> np.ndarray:
    return root_sift(f.descriptors) if len(f) else np.zeros((0, 128), np.float32)
