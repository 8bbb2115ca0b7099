"""Shape of a mark: affine-normalised polar silhouettes, matched up to rotation and mirroring.

Registered marks are mostly flat one-colour drawings: a swoosh, a letter in a circle, a bird. Keypoints
find few corners on them, but their *silhouette* survives being printed, foiled or screen-printed on a
product, photographed at an angle, rotated or mirrored. This module:

1. proposes regions of a photo (``photo_regions``): the photo (320 px) is split into a few colour clusters
   (k-means in CIE Lab, and again with lightness down-weighted); every sizeable connected component of a
   cluster is a region, and so is every group of components of one cluster that lie close together (a
   word mark's letters);
2. describes a silhouette (``describe``) independently of any affine transform: the pixels' mean and
   covariance map the shape to a frame where its covariance is the identity (an affine image of a shape,
   e.g. a mark seen at an angle, maps to the *same* normalised shape up to a rotation or reflection); the
   normalised shape is sampled on a polar grid (radius x angle) and made zero-mean, unit-norm;
3. compares (``ShapeIndex.scores``): the correlation of two polar grids over every rotation is one FFT
   along the angle; mirroring reverses the angle (the conjugate spectrum). The best correlation over
   rotations, mirroring and regions is the design's shape score in [-1, 1].

No weights, no training: the same code describes a registered drawing and a region of a photo.

Example::

    >>> import numpy as np
    >>> m = np.zeros((64, 64), np.uint8); m[16:48, 24:40] = 1
    >>> describe(m).shape  # silhouette and outline, each 12 radii x 48 angles
    (24, 48)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kcs_kit.embed._util import at_most, opencv
from kcs_kit.embed.base import best_per_design, place_hubness

VERSION = "2"  # of the descriptor: stored descriptors of another version are rebuilt
NR, NT = 12, 48  # radial and angular bins of the polar grid
RMAX = 2.6  # outer radius in standard deviations of the normalised shape (a uniform disk ends at 2.0)
SUB = 3  # sub-samples per bin along each axis (anti-aliasing)
SIDE = 320  # photo side for region proposals
CLUSTERS = 4
MIN_AREA = 0.002  # regions smaller than this share of the photo are noise
MIN_PART = 0.0002  # ... but parts this small still join a group (the dot of an i)
MAX_AREA = 0.7  # ... larger ones are background
MAX_REGIONS = 96
# Parts of one cluster this close (share of the photo's longer side) form one region: a mark's letters, a
# symbol and its dots. 0.035 until 2026-12-06; with 0.05 and no morphological opening (which erased strokes
# 1-2 px wide at 320 px: a ring around a letter, a thin stem), a region fitting the true drawing (correlation
# >= 0.7) was found on 55.0% of 400 fitting photos instead of 53.0%, the drawing among the first 10 on 54.2%
# instead of 52.3% (hubness rebuilt); the best score on 120 photos without a registered mark: 0.095 -> 0.099.
GROUP_GAP = 0.05
HUB_WEIGHT = 0.5  # as in CSLS: 2 cos - r_region - r_design, halved
# Occluders (v17): a finger holding the item, a strap or tape lies across the mark and hides part of it, and what
# is left is another silhouette (a notch, or two halves). A part of one colour that touches parts of another
# colour is taken as an occluder of those parts when it hides between HIDDEN (of their area) inside their convex
# hull, reaches out of the hull (it comes from beyond the mark) and covers at most OCCLUDER_RING of a ring around
# the hull (a ground surrounds the mark; an object across it crosses the ring once or twice). The parts with the
# pixels the occluder hides inside their hull are one more region (``_completed``).
OCCLUDER_MAX = 0.25  # share of the photo: larger parts are grounds, not objects across a mark
HIDDEN = (0.03, 0.6)
OCCLUDER_RING = 0.4
RING_WIDTH = 0.08  # of the square root of the hull's area
MAX_COMPLETED = 32
# Regions compared with the drawings at a time: the (turns x regions x drawings) arrays of a larger batch spill
# out of the processor's cache (60 held-out photos' regions, 44 on average, against 3,403 drawings: 144 ms per
# photo in one batch, 73 ms in batches of 24; the correlations differ by float rounding, < 1e-6).
REGION_CHUNK = 24


def _grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = (np.arange(NR * SUB) + 0.5) / (NR * SUB) * RMAX
    t = (np.arange(NT * SUB) + 0.5) / (NT * SUB) * 2 * np.pi
    rr, tt = np.meshgrid(r, t, indexing="ij")
    # area element r dr dtheta: outer bins weigh more, so the correlation is an area overlap
    weight = np.sqrt((np.arange(NR) + 0.5) / NR)[:, None]
    return rr * np.cos(tt), rr * np.sin(tt), weight


_GX, _GY, _W = _grid()


def describe(mask: np.ndarray) -> np.ndarray | None:
    """The (2 NR, NT) polar grids of a binary silhouette and of its outline, each zero-mean and of norm
    1/sqrt(2) (so the whole is unit-norm), or None when the silhouette is too small or a line."""
    cv2 = opencv()
    ys, xs = np.nonzero(mask)
    if len(xs) < 30:
        return None
    pts = np.stack([xs, ys], 1).astype(np.float64)
    c = pts.mean(0)
    cov = np.cov(pts.T) + np.eye(2) * 0.25
    vals, vecs = np.linalg.eigh(cov)
    if vals[0] <= 0 or vals[1] / vals[0] > 400:  # a line, not a shape
        return None
    a = vecs @ np.diag(np.sqrt(vals)) @ vecs.T  # whitened -> image
    # blur in proportion to the shape's size, so that fine print and a big render describe alike
    sigma = max(0.5, 0.35 * float(np.sqrt(np.sqrt(vals[0] * vals[1]))) * RMAX / NR)
    pad = int(3 * sigma) + 2  # blank margin: the blur and the outline must not fold back at a tight crop
    c = c + pad
    mx = (c[0] + a[0, 0] * _GX + a[0, 1] * _GY).astype(np.float32)
    my = (c[1] + a[1, 0] * _GX + a[1, 1] * _GY).astype(np.float32)
    m = cv2.GaussianBlur(np.pad(mask.astype(np.float32), pad), (0, 0), sigma)
    # two channels on the same grid: the filled silhouette and its outline (gradient of the blurred
    # silhouette, scaled by sigma so it does not depend on size): holes and inner strokes count
    gx, gy = cv2.Sobel(m, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(m, cv2.CV_32F, 0, 1, ksize=3)
    e = np.sqrt(gx * gx + gy * gy) * sigma
    out = []
    for ch in (m, e):
        s = cv2.remap(ch, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
        d = s.reshape(NR, SUB, NT, SUB).mean((1, 3)) * _W
        d = d - d.mean()
        n = float(np.linalg.norm(d))
        if n < 1e-6:
            return None
        out.append(d / n / np.sqrt(2))
    return np.concatenate(out).astype(np.float32)


def design_mask(gray: np.ndarray, side: int = 256) -> np.ndarray:
    """Silhouette of a dark-on-light registered drawing (uint8 0/1)."""
    return (at_most(gray, side)[0] < 128).astype(np.uint8)


@dataclass(frozen=True)
class Region:
    """A proposed region of a photo: its descriptor and bounding box (x0, y0, x1, y1) in photo pixels."""

    descriptor: np.ndarray
    box: tuple[float, float, float, float]
    area: float  # share of the photo


def _clusters(pix: np.ndarray, k: int) -> np.ndarray | None:
    cv2 = opencv()
    sample = pix[:: max(1, len(pix) // 8000)]
    rows = sample[np.lexsort(sample.T)]  # distinct colours (np.unique(axis=0) is ~10x slower)
    k = min(k, 1 + int(np.any(rows[1:] != rows[:-1], axis=1).sum()) if len(rows) else 0)
    if k < 2:
        return None
    cv2.setRNGSeed(7)  # deterministic clusters: the same photo always gives the same regions
    _c, _l, centers = cv2.kmeans(sample, k, None, (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5),
                                 2, cv2.KMEANS_PP_CENTERS)
    # nearest centre: |p - c|^2 = |p|^2 - 2 p.c + |c|^2, the first term the same for every centre (one small
    # matrix product instead of an (n, k, 3) array)
    return ((centers * centers).sum(1)[None, :] - 2 * (pix @ centers.T)).argmin(1)


def _components(labels: np.ndarray, ids, clusters: list | None = None) -> list[tuple[int, np.ndarray]]:
    """Sizeable connected components of each cluster, and groups of nearby components of one cluster: (pixels,
    mask) of each. If ``clusters`` is given, each cluster's (component labels, stats, parts, each part's group) is
    added to it (what ``_completed`` looks for occluders in)."""
    cv2 = opencv()
    hh, ww = labels.shape
    total = hh * ww
    gap = max(3, round(GROUP_GAP * max(hh, ww)))
    group_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (gap, gap))
    masks: list[tuple[int, np.ndarray]] = []
    for lab_id in ids:
        m = (labels == lab_id).astype(np.uint8)
        n, comp, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
        # parts: anything but specks and the background; regions on their own: sizeable parts
        lo, hi = max(8, MIN_PART * total), MAX_AREA * total
        parts = [i for i in range(1, n) if lo <= stats[i, cv2.CC_STAT_AREA] <= hi
                 and not (stats[i, cv2.CC_STAT_WIDTH] >= 0.97 * ww and stats[i, cv2.CC_STAT_HEIGHT] >= 0.97 * hh)]
        group_of = np.zeros(n, np.int64)  # part -> its group (0: none)
        if clusters is not None:
            clusters.append((comp, stats, parts, group_of))
        for i in parts:
            if stats[i, cv2.CC_STAT_AREA] >= MIN_AREA * total:
                masks.append((int(stats[i, cv2.CC_STAT_AREA]), comp == i))
        if len(parts) < 2:
            continue
        is_part = np.zeros(n, bool)
        is_part[parts] = True
        grouped = is_part[comp]  # a word mark's letters, a symbol and its dot: one region
        gn, gcomp = cv2.connectedComponents(cv2.dilate(grouped.astype(np.uint8), group_kernel), connectivity=8)
        # per group: its pixels (of the parts) and how many parts it joins, counted once for all groups
        g_of = gcomp[grouped]
        pixels = np.bincount(g_of, minlength=gn)
        group_of[comp[grouped]] = g_of  # a part is connected: all of it lies in one group
        joined = np.bincount(group_of[parts], minlength=gn)
        for g in range(1, gn):
            if joined[g] >= 2 and MIN_AREA * total <= pixels[g] <= MAX_AREA * total:
                masks.append((int(pixels[g]), grouped & (gcomp == g)))
    return masks


def _completed(clusters: list[tuple[np.ndarray, np.ndarray, list[int], np.ndarray]], total: int
               ) -> list[tuple[int, np.ndarray]]:
    """Marks completed under an occluder: for every part O of one cluster (at most OCCLUDER_MAX of the photo) and
    every other cluster, each part of that cluster that touches O, all of them together, and the groups they
    belong to (a word's letters), with the pixels of O inside their convex hull, when O hides HIDDEN of them
    there, reaches out of the hull at least half as far and covers at most OCCLUDER_RING of a ring around it.
    ``clusters``: (component labels, their stats, parts, each part's group) of each cluster. Each candidate is
    worked out in the box around it and its occluder (most are small)."""
    cv2 = opencv()
    touch = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))  # within 2 px: seams of blur and JPEG between them
    hh, ww = clusters[0][0].shape if clusters else (0, 0)
    out: list[tuple[int, np.ndarray]] = []
    hulls: dict[tuple[int, int], np.ndarray] = {}

    def hull_of(cj: int, i: int) -> np.ndarray:  # a part's convex hull (points in the photo), computed once
        if (cj, i) not in hulls:
            comp2, stats2 = clusters[cj][0], clusters[cj][1]
            x, y, w, h = (int(v) for v in stats2[i, :4])
            hulls[cj, i] = cv2.convexHull(cv2.findNonZero((comp2[y:y + h, x:x + w] == i).astype(np.uint8))) + (x, y)
        return hulls[cj, i]

    for ci, (comp, stats, parts, _groups) in enumerate(clusters):
        for o in parts:
            x, y, w, h, area = (int(v) for v in stats[o])
            if not MIN_AREA * total <= area <= OCCLUDER_MAX * total:
                continue
            y0, y1, x0, x1 = max(0, y - 2), min(hh, y + h + 2), max(0, x - 2), min(ww, x + w + 2)
            near = cv2.dilate((comp[y0:y1, x0:x1] == o).astype(np.uint8), touch).astype(bool)
            for cj, (comp2, stats2, parts2, group_of) in enumerate(clusters):
                if cj == ci:
                    continue
                hit = [int(i) for i in np.intersect1d(comp2[y0:y1, x0:x1][near], parts2)]
                if not hit:
                    continue
                groups = np.setdiff1d(group_of[hit], [0])
                members = np.asarray(parts2)[np.isin(group_of[parts2], groups)].tolist() if len(groups) else []
                joined = sorted(set(hit) | set(members))
                # each touching part, all of them, their groups: each set once, in that order
                for group in dict.fromkeys([(i,) for i in hit] + [tuple(g) for g in (hit, joined) if len(g) > 1]):
                    size = int(stats2[list(group), cv2.CC_STAT_AREA].sum())
                    if not MIN_AREA * total <= size <= MAX_AREA * total:
                        continue
                    pts = np.concatenate([hull_of(cj, i) for i in group])
                    done = _under(comp2, group, cv2.convexHull(pts), comp, o, stats[o], size)
                    if done is not None:
                        out.append(done)
    return out


def _under(marks: np.ndarray, group: tuple[int, ...], hull_pts: np.ndarray, occluders: np.ndarray, o: int,
           o_stats: np.ndarray, size: int) -> tuple[int, np.ndarray] | None:
    """The parts ``group`` of the labels ``marks`` (their convex hull ``hull_pts``) with the pixels of part ``o``
    of ``occluders`` inside that hull, (pixels, full-size mask), if ``o`` occludes them (``_completed``), else
    None."""
    cv2 = opencv()
    if cv2.contourArea(hull_pts) < (1 + HIDDEN[0]) * size:  # no room in the hull for anything hidden
        return None
    hh, ww = marks.shape
    hx, hy, hw, hh_ = cv2.boundingRect(hull_pts)
    ox, oy, ow, oh = (int(v) for v in o_stats[:4])
    pad = 2 + round(RING_WIDTH * np.sqrt(size) * 2)  # room for the ring around the hull
    x0, y0 = max(0, min(hx, ox) - pad), max(0, min(hy, oy) - pad)
    x1, y1 = min(ww, max(hx + hw, ox + ow) + pad), min(hh, max(hy + hh_, oy + oh) + pad)
    occluder = occluders[y0:y1, x0:x1] == o
    hull = np.zeros(occluder.shape, np.uint8)
    cv2.fillConvexPoly(hull, hull_pts - (x0, y0), 1)
    inside = occluder & hull.astype(bool)
    hidden = int(np.count_nonzero(inside))
    if not HIDDEN[0] * size <= hidden <= HIDDEN[1] * size or int(o_stats[4]) - hidden < 0.5 * hidden:
        return None
    k = max(1, round(RING_WIDTH * np.sqrt(np.count_nonzero(hull))))
    ring = cv2.dilate(hull, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))) > hull
    if np.count_nonzero(occluder & ring) > OCCLUDER_RING * max(1, int(np.count_nonzero(ring))):
        return None
    full = np.zeros(marks.shape, bool)
    full[y0:y1, x0:x1] = np.isin(marks[y0:y1, x0:x1], list(group)) | inside
    return size + hidden, full


def region_masks(rgb: np.ndarray, *, side: int = SIDE, clusters: int = CLUSTERS, limit: int = MAX_REGIONS,
                 occluded: bool = False) -> tuple[np.ndarray, list[tuple[Region, np.ndarray]]]:
    """The photo as the region finder reads it (at most ``side`` px, median-filtered) and its candidate regions
    (colour-cluster components and groups of them), largest first, each with its mask at that size: at most
    ``limit``, of the MAX_REGIONS largest parts. With ``occluded``, then up to MAX_COMPLETED marks completed under
    an occluder (``_completed``), largest first."""
    cv2 = opencv()
    img, s = at_most(rgb, side)
    img = cv2.medianBlur(np.ascontiguousarray(img, dtype=np.uint8), 3)
    lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
    hh, ww = img.shape[:2]
    total = hh * ww
    masks: list[tuple[int, np.ndarray]] = []
    completed: list[tuple[int, np.ndarray]] = []  # marks completed under an occluder (``occluded``)
    # two readings of the colours: all of Lab, and chroma first (lightness down-weighted), so a foil or
    # shaded mark whose lightness varies across it still comes out as one region
    for weight, k in ((1.0, clusters), (0.3, max(3, clusters - 2))):
        labels = _clusters(lab * np.array([weight, 1.0, 1.0], np.float32), k)
        if labels is not None:
            parts: list | None = [] if occluded else None  # each cluster's components, for the occluders among them
            masks += _components(labels.reshape(hh, ww), range(int(labels.max()) + 1), parts)
            completed += _completed(parts, total) if parts is not None else []
    masks.sort(key=lambda am: -am[0])
    out: list[tuple[Region, np.ndarray]] = []
    for group, most in ((masks[:MAX_REGIONS], limit), (sorted(completed, key=lambda am: -am[0]), MAX_COMPLETED)):
        kept = 0  # the completed marks after the others, up to MAX_COMPLETED: they crowd none of them out
        for _area, mm in group:
            ys, xs = np.nonzero(mm)
            x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
            d = describe(mm[y0:y1, x0:x1])
            if d is not None:
                out.append((Region(d, (x0 / s, y0 / s, x1 / s, y1 / s), len(xs) / total), mm))
                kept += 1
                if kept >= most:
                    break
    return img, out


def photo_regions(rgb: np.ndarray, *, side: int = SIDE, clusters: int = CLUSTERS, limit: int = MAX_REGIONS,
                  occluded: bool = False) -> list[Region]:
    """Candidate mark regions of a photo, largest first, then any completed under an occluder (``region_masks``
    without the masks)."""
    return [r for r, _mask in region_masks(rgb, side=side, clusters=clusters, limit=limit, occluded=occluded)[1]]


def magnitudes(descriptors: np.ndarray) -> np.ndarray:
    """(n, 2 NR * (NT // 2 + 1)) unit vectors whose dot product bounds the correlation of two descriptors
    over every rotation and the mirror image from above (the amplitudes of their angular spectra, weighted so
    that Parseval holds): what a large registry's inverted lists are built on and probed with."""
    amp = np.abs(np.fft.rfft(descriptors, axis=-1))
    w = np.full(NT // 2 + 1, 2.0)
    w[0] = 1.0
    if NT % 2 == 0:
        w[-1] = 1.0
    v = (amp * np.sqrt(w / NT)).reshape(len(descriptors), -1)
    return (v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)).astype(np.float32)


class ShapeIndex:
    """Polar descriptors of the registered drawings, compared with a photo's regions in a few matrix products
    (above ``coarse.EXACT_MAX`` drawings: with those of the inverted lists each region probes)."""

    def __init__(self, ids: np.ndarray, descriptors: np.ndarray, hub: np.ndarray | None = None, *,
                 exact_max: int | None = None, cache: tuple[Path, str] | None = None) -> None:
        """``cache``: where the inverted lists of a large registry are kept, and their key."""
        from kcs_kit.index.coarse import EXACT_MAX, InvertedLists

        hub = hub if hub is not None else np.zeros(len(ids), np.float32)
        self.lists = None
        if len(ids) > (EXACT_MAX if exact_max is None else exact_max):
            self.lists = InvertedLists.learn(magnitudes(descriptors), cache)
            o = self.lists.order
            ids, descriptors, hub = ids[o], descriptors[o], hub[o]
        self.ids = ids
        self.n = len(ids)
        # spectra along the angle: (n, rows, NT // 2 + 1)
        spec = np.fft.rfft(descriptors, axis=-1) if self.n else np.zeros((0, 1, NT // 2 + 1), np.complex64)
        # (K, rows, n), C-contiguous: the batched complex product then runs as BLAS (twice as fast as on strides)
        self._dconj = np.ascontiguousarray(np.conj(spec).transpose(2, 1, 0), dtype=np.complex64)
        self.hub = hub

    def descriptors(self) -> np.ndarray:
        """(n, 2 NR, NT) the stored descriptors, in the stored (list) order, from their spectra."""
        return np.fft.irfft(np.conj(self._dconj).transpose(2, 1, 0), n=NT, axis=-1).astype(np.float32)

    @staticmethod
    def _spectra(regions: np.ndarray) -> np.ndarray:
        """(K, m, rows) angular spectra of m region descriptors."""
        return np.ascontiguousarray(np.fft.rfft(regions, axis=-1).transpose(2, 0, 1), dtype=np.complex64)

    @staticmethod
    def _best_turn(q: np.ndarray, d: np.ndarray) -> np.ndarray:
        """(m, n) best correlation over rotations and the mirror image, from region spectra ``q`` (K, m, rows)
        and conjugate design spectra ``d`` (K, rows, n)."""
        # conj: the angle reversed, i.e. the mirror image; one complex product per frequency -> (K, m, n)
        turned, mirrored = (np.fft.irfft(np.matmul(qq, d), n=NT, axis=0).max(0) for qq in (q, np.conj(q)))
        return np.maximum(turned, mirrored).astype(np.float32)

    def correlations(self, regions: np.ndarray) -> np.ndarray:
        """(m regions, n designs): the best correlation over all rotations and a mirror image, REGION_CHUNK
        regions at a time."""
        if not len(regions) or not self.n:
            return np.zeros((len(regions), self.n), np.float32)
        return np.concatenate([self._best_turn(self._spectra(regions[i:i + REGION_CHUNK]), self._dconj)
                               for i in range(0, len(regions), REGION_CHUNK)])

    def scores(self, regions: list[Region], only: set[str] | None = None) -> tuple[dict[str, float], dict[str, int]]:
        """Best shape correlation of every design over the regions, and which region gave it (at a large
        registry: of the designs the regions reached through the inverted lists, and all of ``only``, the
        designs an officer's filter allows)."""
        if not regions or not self.n:
            return {}, {}
        desc = np.stack([r.descriptor for r in regions])
        if self.lists is not None:
            from kcs_kit.index.coarse import search

            q = self._spectra(desc)
            return search(self.lists, self.ids, magnitudes(desc),
                          lambda p, s, e: self._best_turn(q[:, p], self._dconj[:, :, s:e]),
                          lambda r: self._best_turn(q, self._dconj[:, :, r]), HUB_WEIGHT, HUB_WEIGHT * self.hub, only)
        return self.best(self.correlations(desc))

    def best(self, corr: np.ndarray) -> tuple[dict[str, float], dict[str, int]]:
        """From (regions x designs) correlations: each design's best hubness-corrected score and its region."""
        return best_per_design(self.ids, corr - HUB_WEIGHT * (self.hub[None, :] + place_hubness(corr)[:, None]))
