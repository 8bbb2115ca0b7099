"""The default, weight-free image encoder: local features + a VLAD global vector learned from the registry.

- Local features: SIFT keypoints with RootSIFT descriptors (OpenCV), kept per design in the feature store
  for geometric verification of a shortlist (``kcs_kit.index.features``).
- Global vector: VLAD over a k-means codebook of the registry's descriptors, power- and intra-normalised,
  PCA-whitened to ``dim`` and L2-normalised, for the shortlist in the vector store.

The codebook and PCA are learned once per workspace from the registry (``learn_codebook``) and saved as
an ``.npz``; its content hash is the encoder's version, so vectors of another codebook are never mixed.

Example::

    >>> import numpy as np
    >>> from kcs_kit.embed.local import extract_features
    >>> img = np.full((256, 256, 3), 255, np.uint8); img[64:192, 96:160] = 0
    >>> extract_features(img).descriptors.shape[1]
    128
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kcs_kit.embed._util import opencv
from kcs_kit.errors import IndexNotBuiltError, KcsError

NAME = "local-vlad"
DESC_DIM = 128


@dataclass(frozen=True)
class LocalFeatures:
    """Keypoints (n, 4: x, y, size, angle) in the input image's pixels and SIFT descriptors (n, 128) uint8."""

    keypoints: np.ndarray
    descriptors: np.ndarray
    width: int
    height: int
    dense: bool = False  # grid keypoints were added (a flat image): no exact inverse by permutation

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])


# A SIFT descriptor is a 4 x 4 grid of 8-bin orientation histograms. Inverting the image negates every
# gradient: the detector finds the same extrema (|DoG| is unchanged), each orientation turns by 180 degrees,
# and, measured from that orientation, every gradient keeps its relative angle while the sampling grid turns
# half a circle. So the inverted image's descriptor is the original's with the 4 x 4 grid reversed.
_INVERT_PERM = np.arange(128).reshape(4, 4, 8)[::-1, ::-1, :].reshape(-1)


def inverted(f: LocalFeatures) -> LocalFeatures | None:
    """The features of the inverted image (light on dark) derived from ``f`` without a second SIFT pass, or
    None when ``f`` holds grid keypoints (their fixed orientation does not turn; extract again instead).
    Measured against a real second pass: 95% of keypoints identical, their descriptors within 0.5% (L1)."""
    if f.dense:
        return None
    kp = f.keypoints.copy()
    kp[:, 3] = (kp[:, 3] + 180.0) % 360.0
    return LocalFeatures(kp, np.ascontiguousarray(f.descriptors[:, _INVERT_PERM]), f.width, f.height)


# Mirroring the image left-right turns each keypoint's orientation a to 180 - a and, measured from that
# orientation, reflects the sampling grid across the orientation axis: its rows reverse, and every gradient's
# relative angle is negated (orientation bin o -> -o mod 8).
_MIRROR_PERM = np.arange(128).reshape(4, 4, 8)[::-1][:, :, (-np.arange(8)) % 8].reshape(-1)


def mirrored(f: LocalFeatures) -> LocalFeatures | None:
    """The descriptors of the mirrored image (left-right) derived from ``f`` without a second SIFT pass, at
    the keypoints' positions in ``f``'s own image: a homography fitted from a design to this reading includes
    the reflection, so a mirrored copy of a mark verifies and its outline lands where it is in the photo.
    None for grid keypoints (as ``inverted``). Measured against a real pass on the flipped image: descriptors
    within 0.5% (L1) at the same keypoints."""
    if f.dense:
        return None
    kp = f.keypoints.copy()
    kp[:, 3] = (180.0 - kp[:, 3]) % 360.0
    return LocalFeatures(kp, np.ascontiguousarray(f.descriptors[:, _MIRROR_PERM]), f.width, f.height)


def to_gray(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim == 2:
        return rgb
    return opencv().cvtColor(np.ascontiguousarray(rgb[..., :3]), opencv().COLOR_RGB2GRAY)


def grid_level(size: float) -> int:
    """SIFT's packed octave field (octave | layer << 8) of a keypoint of ``size`` px, as the detector would
    have found it (size = 2 x 1.6 x 2^(octave + layer / 3)): the descriptor of a grid keypoint is then
    computed on the pyramid level of its size, not on the full image with a window of its size (a grid
    keypoint of a flat 800-px photo is 150 px wide: 1 s per reading at the full image, ~0.15 s at its level).

    >>> grid_level(150.0) & 255, grid_level(150.0) >> 8  # octave 5, layer 2
    (5, 2)
    """
    v = max(0.0, float(np.log2(size / 3.2)))
    octave = int(v)
    layer = int(round(3 * (v - octave)))
    return (octave & 255) | (layer << 8)


def extract_features(image: np.ndarray, *, max_side: int = 320, n_features: int = 400,
                     invert: bool = False, min_keypoints: int = 8) -> LocalFeatures:
    """SIFT features of an RGB (or gray) image, computed at ``max_side`` pixels, returned in input pixels.

    Small images are enlarged to at least 160 px; where the detector finds fewer than ``min_keypoints``
    (flat or smooth images), dense SIFT on a grid is added so that the image still has a description.
    """
    cv2 = opencv()
    gray = to_gray(image)
    if invert:
        gray = 255 - gray
    h, w = gray.shape
    scale = min(max_side / max(h, w), max(1.0, 160 / min(h, w)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=interp) \
        if scale != 1 else gray
    sift = cv2.SIFT_create(nfeatures=n_features)
    kps = list(sift.detect(small, None))
    dense = len(kps) < min_keypoints
    if dense:
        step = max(8, min(small.shape) // 8)
        level = grid_level(step * 1.5)
        kps += [cv2.KeyPoint(float(x), float(y), float(step * 1.5), -1, 0, level)
                for y in range(step // 2, small.shape[0], step) for x in range(step // 2, small.shape[1], step)]
    kps, desc = sift.compute(small, kps)
    if desc is None or not kps:
        return LocalFeatures(np.zeros((0, 4), np.float32), np.zeros((0, DESC_DIM), np.uint8), w, h, dense)
    kp = np.array([(k.pt[0] / scale, k.pt[1] / scale, k.size / scale, k.angle) for k in kps], np.float32)
    return LocalFeatures(kp, np.clip(desc, 0, 255).astype(np.uint8), w, h, dense)


def read_both_ways(image: np.ndarray, *, max_side: int, n_features: int) -> tuple[LocalFeatures, LocalFeatures]:
    """Features of the image as it is and inverted (embossed, reversed or light-on-dark marks): one SIFT pass
    where the inverse follows by permutation (``inverted``), two for a flat image with grid keypoints."""
    f = extract_features(image, max_side=max_side, n_features=n_features)
    inv = inverted(f)
    return f, inv if inv is not None else extract_features(image, max_side=max_side, n_features=n_features,
                                                           invert=True)


def read_all_ways(image: np.ndarray, *, max_side: int, n_features: int
                  ) -> tuple[LocalFeatures, LocalFeatures, LocalFeatures | None]:
    """A photo's three keypoint readings, as matching and its explanations use them: as is, inverted
    (``read_both_ways``) and mirrored (``mirrored``; None for grid keypoints)."""
    normal, inv = read_both_ways(image, max_side=max_side, n_features=n_features)
    return normal, inv, mirrored(normal)


def root_sift(desc: np.ndarray) -> np.ndarray:
    """RootSIFT (Arandjelovic & Zisserman 2012): L1-normalise, square-root; float32 with unit L2 norm."""
    d = desc.astype(np.float32)
    d /= d.sum(axis=1, keepdims=True) + 1e-7
    return np.sqrt(d)


@dataclass(frozen=True)
class Codebook:
    centroids: np.ndarray  # (k, 128) float32, RootSIFT space
    pca_mean: np.ndarray  # (k*128,)
    pca_components: np.ndarray  # (dim, k*128), rows scaled by 1/sqrt(eigenvalue) (whitening)

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])

    @property
    def dim(self) -> int:
        return int(self.pca_components.shape[0])

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, centroids=self.centroids, pca_mean=self.pca_mean, pca_components=self.pca_components)
        return buf.getvalue()

    @property
    def sha256(self) -> str:
        h = hashlib.sha256()
        for a in (self.centroids, self.pca_mean, self.pca_components):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(self.to_bytes())
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: Path) -> Codebook:
        if not path.exists():
            raise IndexNotBuiltError(f"{path}: no codebook for the local encoder",
                                     hint="run `kcs index build` to learn it from the registry")
        with np.load(path) as z:
            return cls(z["centroids"], z["pca_mean"], z["pca_components"])


def vlad(desc: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Raw VLAD (k*128,) of uint8 SIFT descriptors: RootSIFT, residual sums, power- and intra-normalised."""
    k = centroids.shape[0]
    out = np.zeros((k, DESC_DIM), np.float32)
    if len(desc):
        d = root_sift(desc)
        assign = np.argmax(d @ centroids.T - 0.5 * (centroids**2).sum(1), axis=1)
        np.add.at(out, assign, d - centroids[assign])
    out = np.sign(out) * np.sqrt(np.abs(out))
    out /= np.linalg.norm(out, axis=1, keepdims=True) + 1e-9
    flat = out.ravel()
    return flat / (np.linalg.norm(flat) + 1e-9)


def learn_codebook(descriptor_sets: Sequence[np.ndarray], *, k: int = 64, dim: int = 256, seed: int = 42,
                   max_descriptors: int = 150_000) -> Codebook:
    """k-means codebook over RootSIFT descriptors, then PCA-whitening of the sets' VLADs to ``dim``."""
    cv2 = opencv()
    sets = [d for d in descriptor_sets if len(d)]
    if len(sets) < 8:
        raise KcsError(f"learning the local codebook: expected features from at least 8 images, found {len(sets)}",
                       hint="import a registry with more designs before building the index")
    rng = np.random.default_rng(seed)
    pool = root_sift(np.vstack(sets))
    if len(pool) > max_descriptors:
        pool = pool[rng.choice(len(pool), max_descriptors, replace=False)]
    k = min(k, max(2, len(pool) // 20))
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 1e-4)
    _, _, centroids = cv2.kmeans(pool.astype(np.float32), k, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    V = np.stack([vlad(d, centroids) for d in sets])
    mean = V.mean(axis=0)
    _, s, vt = np.linalg.svd(V - mean, full_matrices=False)
    dim = min(dim, vt.shape[0])
    eig = (s[:dim] ** 2) / max(len(V) - 1, 1)
    comps = vt[:dim] / np.sqrt(eig + eig.mean() * 0.1)[:, None]  # regularised whitening
    return Codebook(centroids.astype(np.float32), mean.astype(np.float32), comps.astype(np.float32))


class LocalEncoder:
    """ImageEncoder: VLAD of SIFT features, PCA-whitened, L2-normalised."""

    name = NAME

    def __init__(self, codebook: Codebook, *, max_side: int = 320, n_features: int = 400) -> None:
        self.codebook = codebook
        self.max_side, self.n_features = max_side, n_features
        self.dim = codebook.dim
        self.version = f"sift-rootsift-{max_side}px-{n_features}/k{codebook.k}/d{codebook.dim}/" \
                       f"{codebook.sha256[:12]}"

    def global_vector(self, features: LocalFeatures) -> np.ndarray:
        return self.window_vectors(features, [np.ones(len(features), bool)])[0]

    def window_vectors(self, features: LocalFeatures, masks: Sequence[np.ndarray]) -> np.ndarray:
        """Global vectors of several keypoint subsets (windows) of one image, sharing one assignment pass
        (VLAD as ``vlad()``, then PCA-whitening)."""
        cb = self.codebook
        k = cb.k
        d = root_sift(features.descriptors)
        assign = np.argmax(d @ cb.centroids.T - 0.5 * (cb.centroids ** 2).sum(1), axis=1)
        onehot = np.zeros((len(d), k), np.float32)
        onehot[np.arange(len(d)), assign] = 1.0
        resid = d - cb.centroids[assign]
        raw = np.stack([(onehot[m].T @ resid[m]) for m in masks])  # (windows, k, 128)
        raw = np.sign(raw) * np.sqrt(np.abs(raw))
        raw /= np.linalg.norm(raw, axis=2, keepdims=True) + 1e-9
        flat = raw.reshape(len(masks), -1)
        flat /= np.linalg.norm(flat, axis=1, keepdims=True) + 1e-9
        v = (flat - cb.pca_mean) @ cb.pca_components.T
        return (v / (np.linalg.norm(v, axis=1, keepdims=True) + 1e-9)).astype(np.float32)

    def features(self, image: np.ndarray, *, invert: bool = False) -> LocalFeatures:
        return extract_features(image, max_side=self.max_side, n_features=self.n_features, invert=invert)

    def encode_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        if not len(images):
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.global_vector(self.features(im)) for im in images])
