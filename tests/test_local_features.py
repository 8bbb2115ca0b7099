"""Local features: the inverted reading derived by permutation equals a real SIFT pass on the inverted image."""

from __future__ import annotations

import cv2
import numpy as np

from kcs_kit.embed.local import extract_features, inverted, read_both_ways


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
