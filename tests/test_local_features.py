"""Local features: the inverted reading derived by permutation equals a real SIFT pass on the inverted image."""

from __future__ import annotations

import cv2
import numpy as np

from kcs_kit.embed.local import extract_features, inverted, mirrored, read_both_ways


def _scene() -> np.ndarray:
    rng = np.random.default_rng(3)
    img = np.full((400, 500, 3), 200, np.uint8)
    for _ in range(30):
        c = tuple(int(v) for v in rng.integers(0, 500, 2))
        cv2.circle(img, c, int(rng.integers(5, 40)), tuple(int(v) for v in rng.integers(0, 255, 3)), -1)
    cv2.putText(img, "KCS", (100, 250), cv2.FONT_HERSHEY_SIMPLEX, 4, (30, 30, 30), 8)
    return cv2.GaussianBlur(img, (3, 3), 0)


def _key(f, i):
    x, y, s, a = f.keypoints[i]
    return round(float(x), 1), round(float(y), 1), round(float(s), 1), round(float(a)) % 360


def test_inverted_features_match_a_second_pass_on_the_inverted_image():
    img = _scene()
    f = extract_features(img, max_side=500, n_features=1500)
    real = extract_features(img, max_side=500, n_features=1500, invert=True)
    derived = inverted(f)
    assert derived is not None and len(derived) == len(f)
    index = {_key(derived, i): i for i in range(len(derived))}
    same = [(index[_key(real, j)], j) for j in range(len(real)) if _key(real, j) in index]
    assert len(same) >= 0.9 * len(real)  # the same keypoints, orientation turned by 180 degrees
    a = derived.descriptors[[i for i, _ in same]].astype(float)
    b = real.descriptors[[j for _, j in same]].astype(float)
    rel = np.abs(a - b).sum(1) / (b.sum(1) + 1)
    assert np.median(rel) < 0.01 and np.percentile(rel, 95) < 0.05
    # without the permutation the descriptors are far apart: the test can fail
    plain = f.descriptors[[i for i, _ in same]].astype(float)
    assert np.median(np.abs(plain - b).sum(1) / (b.sum(1) + 1)) > 0.5


def test_flat_image_with_grid_keypoints_is_read_twice():
    flat = np.full((200, 200, 3), 128, np.uint8)
    f = extract_features(flat)
    assert f.dense and inverted(f) is None
    normal, inv = read_both_ways(flat, max_side=320, n_features=400)
    assert len(normal) == len(inv) > 0


def test_grid_keypoints_are_described_at_the_pyramid_level_of_their_size():
    """A flat photo's grid keypoints (150 px at 800 px) are described on SIFT's pyramid level for their size,
    as a detected keypoint of that size would be: the descriptors still tell smooth images apart, and they
    are those of SIFT's own pass for keypoints carrying that level (not of the full image with a window of
    their size, which took ~1 s per reading)."""
    from kcs_kit.embed.local import grid_level, to_gray

    yy, xx = np.mgrid[0:800, 0:800].astype(np.float32)
    soft = [np.dstack([(127 + 100 * np.sin(xx / f) * np.cos(yy / (f + 40)))] * 3).astype(np.uint8)
            for f in (90.0, 160.0)]
    a, b = (extract_features(im, max_side=800, n_features=1500) for im in soft)
    assert a.dense and b.dense and len(b) == 64 and b.descriptors.any()  # a: 64 and 3 found by the detector
    assert np.array_equal(a.descriptors, extract_features(soft[0], max_side=800, n_features=1500).descriptors)
    grid_a = a.descriptors[-64:].astype(int)
    assert np.array_equal(a.keypoints[-64:, :3], b.keypoints[:, :3])  # the same grid ...
    assert np.abs(grid_a - b.descriptors).sum() > 0.2 * b.descriptors.sum()  # ... told apart
    sift = cv2.SIFT_create(nfeatures=1500)
    kps = [cv2.KeyPoint(float(x), float(y), float(s), -1, 0, grid_level(float(s))) for x, y, s, _a in b.keypoints]
    _k, desc = sift.compute(to_gray(soft[1]), kps)
    assert np.array_equal(np.clip(desc, 0, 255).astype(np.uint8), b.descriptors)
    assert [(grid_level(s) & 255, grid_level(s) >> 8) for s in (3.2, 6.4, 150.0)] == [(0, 0), (1, 0), (5, 2)]


def test_mirrored_features_match_a_second_pass_on_the_flipped_image():
    img = _scene()  # 500 px wide: features at scale 1
    f = extract_features(img, max_side=500, n_features=1500)
    real = extract_features(np.ascontiguousarray(img[:, ::-1]), max_side=500, n_features=1500)
    derived = mirrored(f)
    assert derived is not None and len(derived) == len(f)
    assert np.array_equal(derived.keypoints[:, :3], f.keypoints[:, :3])  # kept where they are in the photo
    # pair each real keypoint, flipped back, with the derived one at the same place, size and orientation
    back = real.keypoints.copy()
    back[:, 0] = f.width - back[:, 0]
    turn = np.abs((derived.keypoints[None, :, 3] - back[:, None, 3] + 180) % 360 - 180)
    dist = np.linalg.norm(derived.keypoints[None, :, :3] - back[:, None, :3], axis=2) + turn / 10
    j_best = dist.argmin(1)
    ok = dist[np.arange(len(back)), j_best] < 1.5
    assert ok.mean() >= 0.8  # the same keypoints, orientation a -> 180 - a
    a = derived.descriptors[j_best[ok]].astype(float)
    b = real.descriptors[ok].astype(float)
    rel = np.abs(a - b).sum(1) / (b.sum(1) + 1)
    # the rest differ by a few percent: OpenCV samples the patch around the keypoint's rounded position and
    # orientation histogram, which a flip moves by half a pixel / a few degrees (a real photo's noise is larger)
    assert np.median(rel) < 0.01 and (rel < 0.05).mean() >= 0.65
    # without the permutation the descriptors are far apart: the test can fail
    plain = f.descriptors[j_best[ok]].astype(float)
    assert np.median(np.abs(plain - b).sum(1) / (b.sum(1) + 1)) > 0.3
    assert mirrored(extract_features(np.full((200, 200, 3), 128, np.uint8))) is None  # grid keypoints


def test_a_mirrored_copy_verifies_only_through_the_mirrored_reading():
    from kcs_kit.match.verify import descriptors, verify_pair

    design = np.full((240, 320, 3), 255, np.uint8)
    cv2.putText(design, "FRJ", (20, 170), cv2.FONT_HERSHEY_SIMPLEX, 4, (0, 0, 0), 10)
    cv2.circle(design, (270, 60), 30, (0, 0, 0), 6)
    photo = _scene()
    photo[100:340, 120:440] = design[:, ::-1]  # the mark, mirrored, pasted into a scene
    d = extract_features(design, max_side=320, n_features=400)
    p = extract_features(photo, max_side=500, n_features=1500)
    m = mirrored(p)
    assert m is not None
    plain = verify_pair(p, descriptors(p), d, descriptors(d), (500, 400))
    mirror = verify_pair(m, descriptors(m), d, descriptors(d), (500, 400))
    assert mirror.inliers >= 15 and mirror.inliers > 3 * max(plain.inliers, 1)
    assert mirror.plausible and mirror.mirrored  # the outline turns the other way: reported as mirrored
    straight = photo.copy()
    straight[100:340, 120:440] = design  # the same mark, not mirrored, read the normal way
    s = extract_features(straight, max_side=500, n_features=1500)
    normal = verify_pair(s, descriptors(s), d, descriptors(d), (500, 400))
    assert normal.inliers >= 15 and normal.plausible and not normal.mirrored
    # the officer's evidence says so
    from kcs_kit.match.engine import _evidence
    from kcs_kit.match.fusion import SIGNALS

    contrib = dict.fromkeys(SIGNALS, 0.0)
    f = np.zeros(len(SIGNALS))
    said = {e.signal: e.detail for e in _evidence(contrib, f, mirror, None)}
    assert said["inliers"].endswith(", the mark mirrored")
    assert "mirrored" not in {e.signal: e.detail for e in _evidence(contrib, f, normal, None)}["inliers"]
    x0, y0, x1, y1 = mirror.region  # the outline lands on the pasted mark, in the photo's own pixels
    assert abs(x0 - 120) < 15 and abs(x1 - 440) < 15 and abs(y0 - 100) < 15 and abs(y1 - 340) < 15
