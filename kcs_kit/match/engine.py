"""``match()``: photos of one item -> ranked registered designs with right holder and calibrated probability.

Pipeline (every step is evidence on the result):
1. load the photos safely (EXIF, size guards) and apply the officer's crop;
2. local features of each photo, read both ways (dark-on-light and inverted, for embossed or reversed
   marks); VLAD vectors of the whole photo and of a window pyramid query the image collection, visual words
   vote through an inverted file, marknet (our small CNN) scores every window, and the silhouettes of the
   photo's colour regions are compared with the drawings' up to rotation and mirroring (four shortlists);
3. OCR words (read on each photo and on its relief, the height recovered from its shading: embossed words) are
   matched to the designs' names (exact and trigram-fuzzy) and, with the officer's text, to the text
   collection: more candidates and a strong signal;
4. geometric verification of the shortlist against the feature store (ratio test + RANSAC homography);
5. where each candidate was found: inside a line of ordinary text (not its name), and whether the stages
   agree on the place; declaration conditioning when a declaration is given (declared HS6 vs the design's
   codes, declared value vs the genuine price);
6. fusion into calibrated probabilities with a "no registered design" option (``fusion.py``).

Example::

    >>> from kcs_kit.match.engine import match
    >>> result = match(["photo.jpg"], settings)  # doctest: +SKIP
    >>> result.candidates[0].design_id, round(result.candidates[0].probability, 2)  # doctest: +SKIP
    ('nike', 0.97)
"""

from __future__ import annotations

import contextlib
import itertools
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher

import numpy as np

from kcs_kit.config import Settings
from kcs_kit.embed._util import at_most
from kcs_kit.embed.base import OcrWord
from kcs_kit.embed.local import LocalFeatures, read_all_ways
from kcs_kit.embed.relief import relief_image
from kcs_kit.embed.shape import photo_regions
from kcs_kit.errors import ImageError, SchemaError
from kcs_kit.index.bow import TOP as BOW_TOP
from kcs_kit.index.marknet import WindowStats
from kcs_kit.match.context import EXACT_ONLY, MatchContext, get_context
from kcs_kit.match.fusion import QUERY_SIGNALS, SIGNALS, rejects
from kcs_kit.match.photo import Photo, PhotoInput, apply_crop, crop_pixels, load_photo, parse_crop
from kcs_kit.match.types import Candidate, Evidence, MatchResult
from kcs_kit.match.verify import NONE, UNCHECKED, Verification, descriptors, fit_homography, ratio_matches

QUERY_SIDE = 800
QUERY_FEATURES = 1500
SHORTLIST_K = 30
PER_LIST = 30  # each image shortlist puts its best PER_LIST designs among the candidates
# ... and its best VERIFY of them are verified (keypoints + RANSAC); the others keep every other signal, with
# no inliers. Out of fold on the 1,800 fitting queries (docs/MATCHING.md, Latency) verifying the best 10 of each
# list instead of all 30 reads 70.6% against 70.4% at the same 95.0% rejection and p_no_match as calibrated
# (ECE 0.076 / 0.075), with a third of the verification (~39 of ~109 candidates per query).
VERIFY = 10
PEAK = SIGNALS.index("marknet_peak")  # its column in a candidate's signals
# Bump when what a signal means changes: cached analyses of labelled queries (kcs model fit) are then redone.
ANALYSIS_VERSION = "signals-27"  # 2: mirrored keypoint reading; 3: in_text, agree; 4: in_text letters only;
# 5: marknet hubness-corrected; 6: marknet drawing hubness among photo windows; 7: silhouettes too (regions);
# 8: marknet on the proposed regions (measured, taken out again); 9: ocr_short; 10: VLAD shortlist searched
# exactly (HNSW ef_search), OCR reads a margin around the officer's crop box; 11, 12: silhouettes also inside
# marknet's most confident windows (measured, taken out again: docs/MATCHING.md, Fusion v12); 13: a flat
# photo's grid keypoints described at the pyramid level of their size, and its grid readings not verified;
# 14: only the best VERIFY (10) of each image shortlist verified, the rest of its PER_LIST (30) kept unverified;
# 15: four marknet scales (measured, not kept); 16: in_text over every stage's place, slanted lines' own size;
# 17: two-letter lines as text (measured, not kept); 18: colour, the registered colour at the mark's places;
# 19: colour's hues looked up in half-degree steps (a quarter of its time); 20: relief silhouettes (measured,
# not kept); 21: OCR also reads the height recovered from each photo's shading (embossed and debossed words);
# 22: silhouettes completed under an occluder (a finger, strap or tape across the mark; embed/shape.py);
# 23, 24: keypoints on the relief, OCR lines read again on the opened photo (measured, not kept); 25: the colour
# at the mark against the ring around it as a fifteenth signal (measured); 26: colour is that (Fusion v18);
# 27: marknet_peak, the best window against the design's mean over the photo's windows (and marknet_z, the same
# in standard deviations over the windows: measured, not kept; docs/MATCHING.md, Fusion v19)
# OCR reads the officer's box widened by this share of its size on each side: a tight box around a mark
# leaves out the brand name printed beside it (on 172 cropped fitting queries the true name was read on 14
# within the box, 34 with half its size around it; the names read on queries without a design: 3 and 3)
OCR_MARGIN = 0.5
FILTER_KEYS = ("right_holder",)  # what an officer may restrict a match to (match(filters=...))
SHAPE_REGION = 0.1  # a silhouette this far above the drawing's usual similarity locates the mark
TEXT_LINE_CHARS = 3  # an OCR line this long (without spaces) is text around a mark, not a lone letter
NAME_LIKE = 0.6  # an OCR line (or a word of it) this similar to the design's name reads as that name
LETTER_HEIGHT = 2.0  # a letter of a text line is between half and twice the line's height
SLANTED = 1.3  # a text line whose box is this many times its own height is slanted (by ~15 degrees or more)
# Stages timed on every match (MatchResult.stage_ms): "open" is the workspace's models and indexes (once per
# process), "words" the OCR words matched to names and texts, "places" where each candidate was found.
STAGES = ("open", "photos", "keypoints", "vlad", "visual words", "ocr", "words", "marknet", "silhouettes",
          "verification", "places", "fusion")


@dataclass
class _Read:
    """One photo read one way (normal, inverted or mirrored)."""

    photo: int
    feats: LocalFeatures
    desc: np.ndarray
    size: tuple[int, int]
    scale: float
    shortlist: bool = True  # False: verification only (the mirrored reading)


def _window_masks(f: LocalFeatures) -> list[np.ndarray]:
    """Keypoint masks of the whole frame and a pyramid of overlapping windows (features computed once)."""
    k = f.keypoints
    out = [np.ones(len(k), bool)]
    w, h = f.width, f.height
    for frac, steps in ((0.6, 3), (0.4, 4)):
        ww, hh = w * frac, h * frac
        for fx in np.linspace(0, 1, steps):
            for fy in np.linspace(0, 1, steps):
                x0, y0 = fx * (w - ww), fy * (h - hh)
                m = (k[:, 0] >= x0) & (k[:, 0] < x0 + ww) & (k[:, 1] >= y0) & (k[:, 1] < y0 + hh)
                if m.sum() >= 8:
                    out.append(m)
    return out


def _read_photos(photos: Sequence[Photo], start: int = 0) -> list[_Read]:
    """Each photo as is and inverted (shortlists and verification), and mirrored (verification only: a
    mirrored copy of a mark; the silhouettes and marknet already find it, keypoints then agree with it).
    ``start``: the item's number of the first of ``photos``."""
    reads = []
    for i, p in enumerate(photos, start):
        size = (p.rgb.shape[1], p.rgb.shape[0])
        normal, inv, mir = read_all_ways(p.rgb, max_side=QUERY_SIDE, n_features=QUERY_FEATURES)
        reads += [_Read(i, f, descriptors(f), size, p.scale) for f in (normal, inv)]
        if mir is not None:
            reads.append(_Read(i, mir, descriptors(mir), size, p.scale, shortlist=False))
    return reads


def _shortlist(ctx: MatchContext, reads: list[_Read], where: dict | None) -> dict[str, float]:
    vecs = np.vstack([ctx.encoder.window_vectors(r.feats, _window_masks(r.feats)) for r in reads if r.shortlist])
    best: dict[str, float] = {}
    for hits in ctx.image_index.query(vecs, SHORTLIST_K, where=where, metadata=False):
        for h in hits:
            d = h.id.split("#")[0]  # a view's id is "design#view" (index.build); design ids hold no '#'
            best[d] = max(best.get(d, -1.0), h.score)
    return best


def _bow(ctx: MatchContext, reads: list[_Read], only: set[str] | None = None) -> dict[str, float]:
    """Visual-word votes of the shortlist readings (as is and inverted): the best designs (of ``only``, the
    designs an officer's filter allows, when given)."""
    return ctx.bow.scores([r.desc for r in reads if r.shortlist], only=only) if ctx.bow else {}


_Verified = dict[str, tuple[Verification, int | None, float]]  # design -> (verification, photo, scale)


def _parts(bounds: np.ndarray, n: int) -> list[tuple[int, int]]:
    """The views (``bounds``: their first descriptor rows, then the total) cut into at most ``n`` runs of
    consecutive views with about as many descriptors each: (first view, view after the last) of each run."""
    total, views = int(bounds[-1]), len(bounds) - 1
    cuts = sorted({0, views, *(int(np.abs(bounds - total * j / n).argmin()) for j in range(1, n))})
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def _verify_all(ctx: MatchContext, reads: list[_Read], designs: list[str], best: _Verified | None = None,
                threads: int = 1) -> _Verified:
    """Best verification of each design over photos, readings and views: the ratio test of all candidate
    descriptors against each reading is one matrix product, then one RANSAC per (design view, reading).
    ``best``: what earlier readings of the designs gave (a reading only replaces it when it does better).
    With ``threads`` > 1 each reading's views are cut into that many runs verified side by side (a row of
    the matrix product and each RANSAC do not depend on the others, and the readings' results are taken in
    the same order, so the answer is the same)."""
    views = [(d, vf, vd) for d in designs for vf, vd in ctx.design_features(d) if len(vf) >= 4]
    best = {d: (best or {}).get(d, (NONE, None, 1.0)) for d in designs}
    if not views:
        return best
    stacked = np.vstack([vd for _d, _vf, vd in views])
    bounds = np.cumsum([0, *(len(vd) for _d, _vf, vd in views)])

    def run(task: tuple[_Read, int, int]) -> list[Verification]:
        r, k0, k1 = task
        lo = bounds[k0]
        di, pi = ratio_matches(stacked[lo:bounds[k1]], r.desc)  # di ascending: each view's matches are a slice
        cut = np.searchsorted(di, bounds[k0:k1 + 1] - lo)
        return [fit_homography(r.feats, views[k][1], di[cut[j]:cut[j + 1]] - (bounds[k] - lo),
                               pi[cut[j]:cut[j + 1]], r.size) for j, k in enumerate(range(k0, k1))]

    # a flat photo's grid keypoints (``LocalFeatures.dense``) are placed, not found: a homography between them
    # and a drawing's keypoints is chance (a lattice fits a lattice), so such a reading is not verified
    runs = _parts(bounds, max(1, threads))
    tasks = [(r, k0, k1) for r in reads if len(r.feats) >= 4 and not r.feats.dense for k0, k1 in runs]
    done = [_run(threads, run, t) for t in tasks]
    for (r, k0, _k1), job in zip(tasks, done, strict=True):
        for k, v in enumerate(job.result(), k0):
            d = views[k][0]
            if (v.inliers, v.plausible) > (best[d][0].inliers, best[d][0].plausible):
                best[d] = (v, r.photo, r.scale)
    return best


def _signals(ver: Verification, shortlist: float, bow: float, ocr: float, text: float,
             decl: tuple[float, float], marknet: float, shape: float, in_text: float, agree: float,
             short_name: bool, colour: float = 0.0, peak: float = 0.0) -> np.ndarray:
    """The candidate's signals in fusion.SIGNALS order; ``short_name``: its name is in TitleIndex.short."""
    inl = math.log1p(ver.inliers) / math.log1p(50) * (1.0 if ver.plausible else 0.5)
    return np.array([max(shortlist, 0.0), bow, inl, min(ver.inlier_ratio, 1.0), ocr, max(text, 0.0), *decl,
                     max(marknet, 0.0), max(shape, 0.0), in_text, agree, ocr if short_name else 0.0, colour,
                     max(peak, 0.0)])


def _intersection(a: Sequence[float], b: Sequence[float]) -> float:
    """The area two boxes (x0, y0, x1, y1) have in common."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _contained(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """How much of the smaller of two boxes lies inside the other (1: one holds the other)."""
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return _intersection(a, b) / small if small > 0 else 0.0


def _places(d: str, ver: Verification, where: int | None, scale: float, shape: float, windows: dict[str, tuple],
            shape_regions: dict[str, tuple], *, plausible_only: bool = False) -> list[tuple]:
    """(photo, box in original pixels) where each stage found design ``d``, most precise first: the
    keypoints' region (only a plausible transform's with ``plausible_only``), the silhouette's (when it
    stands out) and the learned encoder's best window."""
    out = [(where, tuple(v / scale for v in ver.region))] if ver.region and (ver.plausible or not plausible_only) \
        else []
    if shape >= SHAPE_REGION and d in shape_regions:
        out.append(shape_regions[d])
    if d in windows:
        out.append(windows[d])
    return out


def _locate(d: str, ver: Verification, where: int | None, scale: float, shape: float, windows: dict[str, tuple],
            shape_regions: dict[str, tuple]) -> tuple[int | None, tuple | None]:
    """(photo, box) where design ``d`` was found: the most precise of ``_places``; (None, None) when nowhere."""
    return next(iter(_places(d, ver, where, scale, shape, windows, shape_regions)), (None, None))


def _agree(d: str, ver: Verification, where: int | None, scale: float, shape: float, windows: dict[str, tuple],
           shape_regions: dict[str, tuple]) -> float:
    """Whether independent stages found design ``d`` in the same place: the best overlap between the places
    given by the keypoints (a plausible transform), the silhouette (when it stands out) and marknet's best
    window. A true mark is found where it is by each; a chance likeness lands anywhere."""
    places = _places(d, ver, where, scale, shape, windows, shape_regions, plausible_only=True)
    return max((_contained(a[1], b[1]) for i, a in enumerate(places) for b in places[i + 1:] if a[0] == b[0]),
               default=0.0)


def _reads_as(text: str, name: str) -> bool:
    """Whether an OCR line, or one of its words, reads like ``name`` despite misread letters
    ('WPath' for UiPath, 'Samsung Pay' for Samsung)."""
    key = "".join(ch for ch in name.casefold() if ch.isalnum())
    parts = ["".join(text.split()), *text.split()]
    return bool(key) and any(SequenceMatcher(None, p.casefold(), key).ratio() >= NAME_LIKE for p in parts)


def _letter_of(box: tuple[float, ...], word: OcrWord) -> bool:
    """Whether ``box`` is the size of one letter or a few of the text line ``word``: as tall as the line
    (within a factor LETTER_HEIGHT) and at most half as wide. A box as wide as its line is the line itself: a
    mark that OCR read as a word (a misread wordmark), not a letter inside other text. On a slanted line
    (its box SLANTED times its own height or more) both boxes are axis-aligned around slanted text, so a
    letter's size is the root of its box's area, compared with the line's own height and length."""
    line = word.box
    h, w, lh = box[3] - box[1], box[2] - box[0], line[3] - line[1]
    if word.height > 0 and lh >= SLANTED * word.height:
        size = math.sqrt(max(h, 0.0) * max(w, 0.0))
        return 1 / LETTER_HEIGHT <= size / word.height <= LETTER_HEIGHT and 2 * size <= word.length
    return lh > 0 and 1 / LETTER_HEIGHT <= h / lh <= LETTER_HEIGHT and 2 * w <= line[2] - line[0]


def _in_text(box: tuple[float, ...], words: list, name: str) -> tuple[float, str]:
    """How much of ``box`` (pixels of the photo read) lies inside OCR text lines that do not read as the
    design's ``name`` and of which it is a letter-sized part, and the line covering most of it: a 'logo'
    found inside 'MADE IN CHINA' is a letter of ordinary text, not a mark."""
    area = max((box[2] - box[0]) * (box[3] - box[1]), 1e-6)
    share, best, line = 0.0, 0.0, ""
    for w in words:  # cheapest tests first: this runs for every candidate
        inter = _intersection(box, w.box)
        if not inter or len("".join(w.text.split())) < TEXT_LINE_CHARS or not _letter_of(box, w) \
                or _reads_as(w.text, name):
            continue
        share += inter / area
        if inter > best:
            best, line = inter, w.text
    return min(share, 1.0), line


def _in_text_anywhere(places: list[tuple], photos: list[Photo], lines: list[list[OcrWord]], name: str
                      ) -> tuple[float, str] | None:
    """``_in_text`` at each of a design's places (photo, box in original pixels), the largest; None without
    a place. Every stage's place counts: the keypoints' region is often looser than the letter that a
    silhouette or a window found the design on."""
    best: tuple[float, str] | None = None
    for photo, box in places:
        if box is None or photo is None:
            continue
        px = photos[photo].scale
        found = _in_text(tuple(v * px for v in box), lines[photo], name)
        if best is None or found[0] > best[0]:
            best = found
    return best


COLOUR_HUE = 20.0  # a pixel within this many degrees of the registered colour's CIELAB hue, and with at least
COLOUR_CHROMA_SHARE = 0.3  # this share of its chroma, is of that colour: light and shadow change a colour's
# lightness and chroma together, much less its hue
COLOUR_FULL = 0.25  # the colour signal is full when this share more of a place's pixels than of the ring around it
# has the registered colour
COLOUR_RING = 0.5  # the ring: the place grown by this share of its size on each side
COLOUR_RING_LEAST = 0.25  # where the photo's edges leave a ring under this share of the place: the whole photo
COLOUR_SIDE = 256  # photos are looked at for colour at most this many pixels on their long side
HUE_STEPS = 720  # a photo's hues are looked up in half-degree steps


@dataclass
class _ColourView:
    """A photo looked at for colour: CIELAB hue (in HUE_STEPS steps) and chroma at most COLOUR_SIDE on its long
    side, its pixels per rgb pixel, and per registered colour the integral image of its pixels of that colour
    (so each place's share is four look-ups, however many candidates share the colour)."""

    hue: np.ndarray
    chroma: np.ndarray
    k: float
    counts: dict[tuple[float, float], np.ndarray] = field(default_factory=dict)

    @classmethod
    def of(cls, photo: Photo) -> _ColourView:
        import cv2

        small, k = at_most(photo.rgb, COLOUR_SIDE)
        ab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 1:]
        hue = np.round(np.degrees(np.arctan2(ab[..., 1], ab[..., 0])) * (HUE_STEPS / 360)).astype(np.int32)
        return cls(hue % HUE_STEPS, np.hypot(ab[..., 0], ab[..., 1]), k)

    def count(self, ab: tuple[float, float]) -> np.ndarray:
        """(H + 1, W + 1) integral image of the pixels of colour ``ab`` (CIELAB a*, b*): a hue within COLOUR_HUE
        of its own (one table look-up per pixel) and at least COLOUR_CHROMA_SHARE of its chroma."""
        if ab not in self.counts:
            import cv2

            turn = np.arange(HUE_STEPS) * (360 / HUE_STEPS) - math.degrees(math.atan2(ab[1], ab[0]))
            near = (np.abs((turn + 180.0) % 360.0 - 180.0) < COLOUR_HUE)[self.hue]
            near &= self.chroma >= COLOUR_CHROMA_SHARE * math.hypot(*ab)
            self.counts[ab] = cv2.integral(near.view(np.uint8))
        return self.counts[ab]


def _colour_share(places: list[tuple], photos: list[Photo], views: dict[int, _ColourView],
                  ab: tuple[float, float]) -> tuple[float, float]:
    """(share, local) of a design's places (photo, box in original pixels) for its registered colour ``ab``
    (CIELAB a*, b*: the hue within COLOUR_HUE, some of its chroma), each as a share of COLOUR_FULL, at most 1.
    *share*: how much of the best place has the colour. *local*, the colour signal since v18: how much more of a
    place has it than its surroundings (the place grown by COLOUR_RING of its size on each side; the whole photo
    where that ring is small). A red product or background makes every red-registered design's places red, but
    only a red mark makes its own place redder than what is around it. ``views`` caches each photo's
    ``_ColourView``."""
    best = local = 0.0
    for photo, box in places:
        if box is None or photo is None:
            continue
        if photo not in views:
            views[photo] = _ColourView.of(photos[photo])
        view = views[photo]
        px = photos[photo].scale * view.k
        if min(box[2] - box[0], box[3] - box[1]) * px < 2:  # a degenerate place (a transform's collapsed region)
            continue
        h, w = view.hue.shape
        x0, y0 = max(0, int(box[0] * px)), max(0, int(box[1] * px))
        x1, y1 = min(w, int(math.ceil(box[2] * px))), min(h, int(math.ceil(box[3] * px)))
        if x1 <= x0 or y1 <= y0:
            continue
        c = view.count(ab)
        n, area = _box_count(c, x0, y0, x1, y1), (y1 - y0) * (x1 - x0)
        gx, gy = int((x1 - x0) * COLOUR_RING) + 1, int((y1 - y0) * COLOUR_RING) + 1
        big = (max(0, x0 - gx), max(0, y0 - gy), min(w, x1 + gx), min(h, y1 + gy))
        ring = (big[2] - big[0]) * (big[3] - big[1]) - area
        around = (_box_count(c, *big) - n) / ring if ring >= COLOUR_RING_LEAST * area else int(c[h, w]) / (h * w)
        best = max(best, n / area)
        local = max(local, n / area - around)
    return min(1.0, best / COLOUR_FULL), min(1.0, local / COLOUR_FULL)


def _box_count(c: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> int:
    """The count inside the box (x0, y0, x1, y1) of the integral image ``c``."""
    return int(c[y1, x1]) - int(c[y0, x1]) - int(c[y1, x0]) + int(c[y0, x0])


_NO_SCORE = -2.0  # a design's best marknet or silhouette score before any photo has scored it


def _best_over_photos(photos: list[Photo], score_photo, start: int = 0) -> tuple[dict[str, float], dict[str, tuple]]:
    """Best score of every design over the photos, and (photo, box in original pixels) where it was found.
    ``score_photo(photo)`` gives (design -> score, design -> box index, boxes); ``start``: the item's number
    of the first of ``photos``."""
    best: dict[str, float] = {}
    where: dict[str, tuple] = {}
    for i, p in enumerate(photos, start):
        scores, which, boxes = score_photo(p)
        places: dict[int, tuple] = {}  # box index -> (photo, box in original pixels), made once per box
        for d, sc in scores.items():
            if sc > best.get(d, _NO_SCORE):
                best[d] = sc
                k = which[d]
                if k not in places:
                    places[k] = (i, tuple(float(v) / p.scale for v in boxes[k]))
                where[d] = places[k]
    return best, where


def _shape(ctx: MatchContext, photos: list[Photo], only: set[str] | None = None, start: int = 0
           ) -> tuple[dict[str, float], dict[str, tuple]]:
    """Silhouette similarity of every design (best region over photos, hubness-corrected) and that region;
    ``only``: the designs an officer's filter allows (all of them scored, also at a large registry)."""
    shapes = ctx.shapes
    if shapes is None:
        return {}, {}

    def score_photo(p: Photo) -> tuple:
        regions = photo_regions(p.rgb, occluded=ctx.settings.occluders)
        return (*shapes.scores(regions, only), [r.box for r in regions])

    return _best_over_photos(photos, score_photo, start)


def _marknet(ctx: MatchContext, photos: list[Photo], only: set[str] | None = None, start: int = 0
             ) -> tuple[dict[str, float], dict[str, tuple], dict[int, WindowStats]]:
    """Learned-encoder similarity of every design (best window over photos) and where that window is;
    ``only``: the designs an officer's filter allows (all of them scored, also at a large registry). Also, per
    photo (the item's number), its windows' moments (what ``DesignVectors.peaks`` needs)."""
    net = ctx.marknet
    means: dict[int, WindowStats] = {}
    if net is None:
        return {}, {}, means

    number = iter(range(start, start + len(photos)))  # the item's number of each photo, in the order scored

    def score_photo(p: Photo) -> tuple:
        i = next(number)
        vecs, boxes = net.encoder.photo_windows(p.rgb)
        hub: list[np.ndarray] = []
        out = net.scores(vecs, only, hub_out=hub)
        if hub:  # a photo without windows (or a registry without designs) has no peaks
            means[i] = WindowStats.of(vecs, hub[0])
        return (*out, boxes)

    return (*_best_over_photos(photos, score_photo, start), means)


def _peak(ctx: MatchContext, d: str, learned: dict[str, float], windows: dict[str, tuple],
          means: dict[int, WindowStats]) -> float:
    """marknet_peak of design ``d``: how far its best window stands above its mean over the windows of the photo
    that window is in (0 without a marknet score)."""
    if ctx.marknet is None or d not in learned or d not in windows or windows[d][0] not in means:
        return 0.0
    return ctx.marknet.peaks({d: learned[d]}, means[windows[d][0]]).get(d, 0.0)


def _candidates(short: dict[str, float], bow: dict[str, float], ocr: dict[str, float], text: dict[str, float],
                marknet: dict[str, float], shape: dict[str, float], active: set[str], verify: int = VERIFY
                ) -> tuple[list[str], list[str]]:
    """The union of the image shortlists and the name/text matches, in that order, active designs only; and
    those of them to verify: the best ``verify`` of each image shortlist and every name/text match."""
    out: dict[str, None] = {}
    check: dict[str, None] = {}
    for scores, n, v in ((shape, PER_LIST, verify), (marknet, PER_LIST, verify), (short, PER_LIST, verify),
                         (bow, PER_LIST, verify), (ocr, 10, 10), (text, 5, 5)):
        ranked = [d for d in sorted(scores, key=lambda k: scores[k], reverse=True) if d in active]
        for i, d in enumerate(ranked[:n]):  # the best n the officer's filters allow
            out.setdefault(d)
            if i < v:
                check.setdefault(d)
    return list(out), list(check)


def _inliers_detail(ver: Verification) -> str:
    if not ver.checked:
        return (f"keypoints not verified: the design is not among the first {VERIFY} of any image shortlist (nor "
                "matched by name or text)")
    return (f"{ver.inliers} keypoints agree under one perspective transform"
            + ("" if ver.plausible or not ver.inliers else " (implausible shape)")
            + (", the mark mirrored" if ver.inliers and ver.plausible and ver.mirrored else ""))


def _evidence(contrib: dict[str, float], f: np.ndarray, ver: Verification, ocr_word: str | None,
              text_line: str | None = None) -> tuple[Evidence, ...]:
    details = {
        "shortlist": f"global shape/texture similarity {f[0]:.2f}",
        "bow": f"shared visual words {f[1]:.2f}",
        "inliers": _inliers_detail(ver),
        "inlier_ratio": f"{ver.inlier_ratio:.0%} of the design's keypoints found",
        "ocr": f"OCR read '{ocr_word}' ({f[4]:.2f})" if ocr_word else "no matching word read",
        "text": f"text similarity {f[5]:.2f}",
        "hs_match": f"declared HS6 agrees with the design's goods ({f[6]:.1f})",
        "undervaluation": f"declared value below the genuine price (score {f[7]:.2f})",
        "marknet": f"learned mark similarity {f[8]:.2f} (best window of the photo)",
        "shape": f"silhouette similarity {f[9]:.2f} above the drawing's usual (best region; turned or mirrored "
                 "allowed)",
        "in_text": f"{f[10]:.0%} of the matched region lies inside the text '{text_line}', which is not the "
                   "design's name (a letter of ordinary text?)",
        "agree": f"the stages that located the mark agree on its place ({f[11]:.0%} overlap of keypoints, "
                 "silhouette and learned-window places)",
        "ocr_short": f"the name read has {EXACT_ONLY} characters or fewer: such words often turn up in ordinary "
                     "text by chance",
        "colour": f"the design's registered colour covers {f[13] * COLOUR_FULL:.0%} of the place where the mark was "
                  "found",
        "marknet_peak": f"the learned similarity's best window stands {f[14]:.2f} above the design's mean over the "
                        "photo's windows (a mark is alike in one place, a texture everywhere)",
    }
    return tuple(Evidence(s, float(v), contrib[s], details[s]) for s, v in zip(SIGNALS, f, strict=True)
                 if v or s in ("shortlist", "inliers", "marknet", "shape"))


@dataclass(frozen=True)
class _OcrView:
    """What OCR reads of one photo: the photo itself, or for a cropped photo the officer's box widened by
    OCR_MARGIN; ``offset`` (x, y) takes a word's box from ``rgb``'s pixels back to the photo's."""

    rgb: np.ndarray
    offset: tuple[int, int] = (0, 0)


def _load(photos: Sequence[PhotoInput], crop, settings: Settings) -> tuple[list[Photo], list[_OcrView]]:
    if not photos:
        raise ImageError("match: expected at least one photo of the item, found none")
    loaded = [load_photo(p, max_pixels=settings.max_image_pixels,
                         name=None if isinstance(p, str) else f"photo {i + 1}") for i, p in enumerate(photos)]
    views = [_OcrView(p.rgb) for p in loaded]
    box = parse_crop(crop)
    if box is not None:
        whole = loaded[0]
        loaded[0] = apply_crop(whole, box)
        x0, y0, x1, y1 = box
        mx, my = OCR_MARGIN * (x1 - x0), OCR_MARGIN * (y1 - y0)
        widened = (max(0.0, x0 - mx), max(0.0, y0 - my), x1 + mx, y1 + my)
        (a, b, *_), (wa, wb, *_) = crop_pixels(whole, box), crop_pixels(whole, widened)
        views[0] = _OcrView(apply_crop(whole, widened).rgb, (a - wa, b - wb))
    return loaded, views


def _scaled(w: OcrWord, k: float) -> OcrWord:
    """A word read on an image ``k`` times the size of the one it belongs to, in that one's pixels."""
    x0, y0, x1, y1 = w.box
    return replace(w, box=(x0 / k, y0 / k, x1 / k, y1 / k), height=w.height / k, length=w.length / k)


def _read_words(ctx: MatchContext, views: list[_OcrView]) -> list[list[OcrWord]]:
    """The OCR words of each photo, their boxes in that photo's pixels (outside it for words beside a crop).
    With settings.ocr_relief each photo is read twice: as is, and as the height recovered from its shading
    (``embed.relief``: an embossed or debossed word, the surface's own colour, becomes a flat grey word)."""
    n = len(views)
    relief = ctx.settings.match_ocr and ctx.settings.ocr_relief
    reliefs = [relief_image(v.rgb, side=ctx.settings.ocr_max_side) for v in views] if relief else []
    lines = ctx.read_words([v.rgb for v in views] + reliefs)
    for i, (r, words) in enumerate(zip(reliefs, lines[n:], strict=True)):  # relief words in the photo's pixels
        lines[i] = lines[i] + [_scaled(w, r.shape[1] / views[i].rgb.shape[1]) for w in words]
    return [[replace(w, box=(w.box[0] - dx, w.box[1] - dy, w.box[2] - dx, w.box[3] - dy)) for w in ws]
            for (dx, dy), ws in zip((v.offset for v in views), lines[:n], strict=True)]


_POOLS: dict[int, ThreadPoolExecutor] = {}


def _run(threads: int, fn: Callable, *args) -> Future:
    """``fn(*args)`` on the match thread pool (its libraries, OpenCV, torch, ONNX Runtime and numpy, release
    the GIL), or at once when matching is single-threaded."""
    from kcs_kit.embed import _util

    if threads <= 1 or _util.ONE_THREAD:
        done: Future = Future()
        done.set_result(fn(*args))
        return done
    if threads not in _POOLS:
        _POOLS[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="kcs-match")
    return _POOLS[threads].submit(fn, *args)


@dataclass
class Analysis:
    """Everything computed for one item before fusion: candidate rows and the query's own signals."""

    ctx: MatchContext
    photos: list[Photo]
    words: list
    rows: list[tuple[str, np.ndarray, Verification, int | None, float]]  # design, signals, verification, photo, scale
    query_signals: np.ndarray
    ocr_word: dict[str, str]
    windows: dict[str, tuple] = field(default_factory=dict)  # design -> (photo, box) of its best marknet window
    shape_regions: dict[str, tuple] = field(default_factory=dict)  # design -> (photo, box) of its best region
    text_lines: dict[str, str] = field(default_factory=dict)  # design -> the OCR line its region lies in
    stage_ms: dict[str, float] = field(default_factory=dict)  # stage -> its own milliseconds (STAGES)
    photos_used: int = 0  # how many of the photos (the first ones) were matched; the rest only loaded

    @property
    def feats(self) -> np.ndarray:
        return np.stack([r[1] for r in self.rows]) if self.rows else np.zeros((0, len(SIGNALS)))


def _better(best: dict[str, float], where: dict[str, tuple], scores: dict[str, float], places: dict[str, tuple]
            ) -> tuple[dict[str, float], dict[str, tuple]]:
    """Two photo sets' best scores and places as one (the earlier set's kept on ties, as over photos)."""
    best, where = dict(best), dict(where)
    for d, sc in scores.items():
        if sc > best.get(d, _NO_SCORE):
            best[d], where[d] = sc, places[d]
    return best, where


@dataclass(frozen=True)
class _Seen:
    """What the stages that look at photos found on some of an item's photos (no candidates yet)."""

    lines: list[list[OcrWord]]  # the OCR words of each photo
    learned: dict[str, float]  # marknet: design -> best score over photos
    windows: dict[str, tuple]  # design -> (photo, box) of that window
    window_means: dict[int, WindowStats]  # photo -> its marknet windows summed up
    shape: dict[str, float]  # silhouettes: design -> best score over photos
    shape_regions: dict[str, tuple]  # design -> (photo, box) of that region
    reads: list[_Read]
    short: dict[str, float]  # VLAD: design -> best similarity
    bow: dict[str, float]  # visual words: the best designs' cosines

    def then(self, later: _Seen) -> _Seen:
        """These photos' findings and ``later`` photos' together, as if all had been looked at at once (each
        stage keeps a design's best over photos; the visual words, their best BOW_TOP)."""
        learned, windows = _better(self.learned, self.windows, later.learned, later.windows)
        shape, regions = _better(self.shape, self.shape_regions, later.shape, later.shape_regions)
        short = {d: max(self.short.get(d, -1.0), later.short.get(d, -1.0)) for d in (*self.short, *later.short)}
        bow = {d: max(self.bow.get(d, 0.0), later.bow.get(d, 0.0)) for d in (*self.bow, *later.bow)}
        return _Seen([*self.lines, *later.lines], learned, windows, {**self.window_means, **later.window_means},
                     shape, regions, [*self.reads, *later.reads], short,
                     dict(sorted(bow.items(), key=lambda kv: -kv[1])[:BOW_TOP]))


def _timed(times: dict[str, float], stage: str, fn: Callable) -> Callable:
    """``fn`` that adds its own wall time to ``times[stage]`` (stages on other threads overlap it)."""
    def run(*args):
        t = time.perf_counter()
        try:
            return fn(*args)
        finally:
            times[stage] = times.get(stage, 0.0) + (time.perf_counter() - t) * 1000

    return run


_BLAS: list = []  # threadpoolctl's controller, made once (it scans the loaded libraries)


def _blas_threads(threads: int) -> contextlib.AbstractContextManager:
    """BLAS (numpy's matrix products) limited to ``threads`` threads inside the block; no limit for 0. The
    limit is the process's while it lasts: BLAS has one thread pool."""
    if not threads:
        return contextlib.nullcontext()
    if not _BLAS:
        from threadpoolctl import ThreadpoolController

        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=threads, user_api="blas")


def check_filters(filters: object) -> dict[str, str] | None:
    """The officer's ``filters`` of a match, checked: None, or a dict of FILTER_KEYS to non-empty strings."""
    if filters is None:
        return None
    example = "filters={'right_holder': 'Nike, Inc.'}"
    if not isinstance(filters, dict):
        raise SchemaError(f"match filters: expected a dict such as {example}, found {type(filters).__name__}")
    unknown = sorted(str(k) for k in filters if k not in FILTER_KEYS)
    if unknown:
        raise SchemaError(f"match filters: expected keys among {', '.join(FILTER_KEYS)}, found {', '.join(unknown)}",
                          hint=f"filter the designs by their right holder: {example}")
    for key, value in filters.items():
        if not isinstance(value, str) or not value.strip():
            raise SchemaError(f"match filters: {key} should be a non-empty string, found {value!r}",
                              hint=f"e.g. {example}")
    return dict(filters)


class _Item:
    """One item being matched: its photos, loaded and checked, and what the stages found on those looked at
    so far. ``analysis(n)`` looks at the first ``n`` photos; asked again for more, it looks only at the new
    ones and verifies only what is new (the first photo alone, then every photo, costs what every photo
    does, and gives the same signals)."""

    def __init__(self, ctx: MatchContext, ms: dict[str, float], settings: Settings, photos: Sequence[PhotoInput],
                 crop, declaration_id: str | None, text: str | None, filters: dict | None) -> None:
        self.ctx, self.ms, self.settings = ctx, ms, settings
        self.text, self.filters = text, filters
        self.photos, self.ocr_views = _timed(ms, "photos", _load)(photos, crop, settings)
        self.only = ctx.active_ids(filters) if filters else None  # the designs the officer's filter allows
        self.decl = _timed(ms, "words", ctx.declaration)(declaration_id)  # once per item (DuckDB), not per step
        self.seen: _Seen | None = None
        self.verified: _Verified = {}  # the last candidates' best verification over the first verified_reads
        self.verified_reads = 0

    def _look(self, start: int, stop: int) -> _Seen:
        """The stages that need only the photos, on photos start..stop-1. OCR, marknet and the silhouettes
        run beside the keypoint stages."""
        ctx, ms, n, photos = self.ctx, self.ms, self.settings.match_threads, self.photos[start:stop]
        read_job = _run(n, _timed(ms, "ocr", _read_words), ctx, self.ocr_views[start:stop])
        marknet_job = _run(n, _timed(ms, "marknet", _marknet), ctx, photos, self.only, start)
        shape_job = _run(n, _timed(ms, "silhouettes", _shape), ctx, photos, self.only, start)
        reads = _timed(ms, "keypoints", _read_photos)(photos, start)
        short = _timed(ms, "vlad", _shortlist)(ctx, reads, self.filters)
        bow = _timed(ms, "visual words", _bow)(ctx, reads, self.only)
        (learned, windows, means), (shape, regions) = marknet_job.result(), shape_job.result()
        return _Seen(read_job.result(), learned, windows, means, shape, regions, reads, short, bow)

    def _verify(self, reads: list[_Read], cands: list[str]) -> _Verified:
        """Verification of ``cands`` over ``reads``, the readings already verified for the last candidates
        redone only for new candidates."""
        k, ctx = self.verified_reads, self.ctx
        missing = [d for d in cands if d not in self.verified]
        n = self.settings.match_threads
        prior = {**self.verified, **(_verify_all(ctx, reads[:k], missing, threads=n) if k and missing else {})}
        self.verified = _verify_all(ctx, reads[k:], cands, prior, threads=n)
        self.verified_reads = len(reads)
        return self.verified

    def analysis(self, n: int) -> Analysis:
        """Steps 2-5 of the pipeline on the first ``n`` photos: candidates with their signals."""
        ctx, ms = self.ctx, self.ms
        done = len(self.seen.lines) if self.seen else 0
        if n > done:
            later = self._look(done, n)
            self.seen = self.seen.then(later) if self.seen else later
        seen = self.seen
        assert seen is not None
        t = time.perf_counter()
        words = [w for ws in seen.lines for w in ws]
        ocr, ocr_word = ctx.title_matches(words)
        text_sim = ctx.text_matches(" ".join([*(w.text for w in words), self.text or ""]))
        ms["words"] = ms.get("words", 0.0) + (time.perf_counter() - t) * 1000
        learned, windows, shape, shape_regions = seen.learned, seen.windows, seen.shape, seen.shape_regions
        rows = []
        text_lines: dict[str, str] = {}
        colour_views: dict[int, _ColourView] = {}
        cands, check = _candidates(seen.short, seen.bow, ocr, text_sim, learned, shape, ctx.active_ids(self.filters))
        verified = _timed(ms, "verification", self._verify)(seen.reads, check)
        t = time.perf_counter()
        for d in cands:
            ver, where, scale = verified.get(d, (UNCHECKED, None, 1.0))
            in_text = 0.0
            place_args = (d, ver, where, scale, shape.get(d, 0.0), windows, shape_regions)
            places = _places(*place_args)
            if not ocr.get(d):  # the design's name read: text expected
                info = ctx.designs.get(d)
                found = _in_text_anywhere(places, self.photos, seen.lines, info.title if info else d)
                if found is not None:
                    in_text, text_lines[d] = found
            ab = ctx.colours.get(d)
            colour = _colour_share(places, self.photos, colour_views, ab)[1] if ab else 0.0  # at the mark, not around
            f = _signals(ver, seen.short.get(d, 0.0), seen.bow.get(d, 0.0), ocr.get(d, 0.0), text_sim.get(d, 0.0),
                         ctx.declaration_signals(self.decl, d), learned.get(d, 0.0), shape.get(d, 0.0), in_text,
                         _agree(*place_args), d in ctx.titles.short, colour,
                         _peak(ctx, d, learned, windows, seen.window_means))
            rows.append((d, f, ver, where, scale))
        q = np.array([max(seen.short.values(), default=0.0), max(seen.bow.values(), default=0.0),
                      max((r[1][2] for r in rows), default=0.0), math.log1p(len(words)) / 3,
                      max(learned.values(), default=0.0), max(max(shape.values(), default=0.0), 0.0),
                      max((r[1][PEAK] for r in rows), default=0.0)])
        ms["places"] = ms.get("places", 0.0) + (time.perf_counter() - t) * 1000
        return Analysis(ctx, self.photos, words, rows, q[: len(QUERY_SIGNALS)], ocr_word, windows, shape_regions,
                        text_lines, ms, photos_used=len(seen.lines))


def analyse(photos: Sequence[PhotoInput], settings: Settings, *, crop=None, declaration_id: str | None = None,
            text: str | None = None, filters: dict | None = None) -> Analysis:
    """Steps 1-5 of the pipeline on every photo: candidates with their signals (no probabilities yet)."""
    filters = check_filters(filters)
    ms: dict[str, float] = {}  # each stage's own milliseconds (STAGES)
    ctx = _timed(ms, "open", get_context)(settings)
    with _blas_threads(ctx.use_threads(settings.match_threads)):
        item = _Item(ctx, ms, settings, photos, crop, declaration_id, text, filters)
        return item.analysis(len(item.photos))


def _certain(probs: np.ndarray, p_none: float, settings: Settings) -> bool:
    """Whether the fusion accepts its best design with at least settings.match_first_photo probability."""
    return bool(len(probs)) and not rejects(probs, p_none, settings.reject_ratio) \
        and float(probs.max()) >= settings.match_first_photo


def match(photos: Sequence[PhotoInput], settings: Settings, *, crop=None, declaration_id: str | None = None,
          text: str | None = None, top_k: int = 10, filters: dict | None = None) -> MatchResult:
    """Rank the registered designs that the item in ``photos`` may copy (see the module docstring).

    Of several photos, the first is matched alone first, then with the second, and so on: once the fusion
    accepts its best design with at least ``settings.match_first_photo`` probability, that is the answer (the
    photos after are loaded and checked, not matched; a note says so). Each step reuses the stage results of
    the photos before it."""
    t0 = time.perf_counter()
    filters = check_filters(filters)
    ms: dict[str, float] = {}  # each stage's own milliseconds (STAGES)
    ctx = _timed(ms, "open", get_context)(settings)
    with _blas_threads(ctx.use_threads(settings.match_threads)):
        item = _Item(ctx, ms, settings, photos, crop, declaration_id, text, filters)
        n = len(item.photos)
        for k in range(1 if settings.match_first_photo > 0 else n, n + 1):
            a = item.analysis(k)
            t = time.perf_counter()
            probs, p_none = ctx.fusion.probabilities(a.feats, a.query_signals)
            ms["fusion"] = ms.get("fusion", 0.0) + (time.perf_counter() - t) * 1000
            if _certain(probs, p_none, settings):
                break
    t = time.perf_counter()
    contribs = ctx.fusion.contributions(a.feats)
    out = []
    for rank, i in enumerate(np.argsort(-probs)[:top_k], 1):
        d, f, ver, where, scale = a.rows[i]
        info = ctx.designs.get(d)
        where, region = _locate(d, ver, where, scale, f[SIGNALS.index("shape")], a.windows, a.shape_regions)
        out.append(Candidate(
            d, rank, float(probs[i]), info.title if info else "", info.right_holder if info else "",
            info.registration_no if info else "",
            _evidence(contribs[i], f, ver, a.ocr_word.get(d), a.text_lines.get(d)), where, region,
            tuple((x / scale, y / scale) for x, y in ver.corners) if ver.corners else None, ver.checked))
    rejected = rejects(probs, p_none, settings.reject_ratio)
    used = a.photos_used
    notes = () if used == n else (
        f"answered from {'photo 1 alone' if used == 1 else f'photos 1-{used}'}: the best design is accepted with "
        f"probability {probs.max():.2f} (at least {settings.match_first_photo:g}, the setting match_first_photo), "
        f"so {f'photo {n}' if used == n - 1 else f'photos {used + 1}-{n}'} {'was' if used == n - 1 else 'were'} "
        "loaded but not matched; set match_first_photo = 0 to match every photo",)
    ms["fusion"] += (time.perf_counter() - t) * 1000
    return MatchResult(tuple(out), p_none, rejected, (time.perf_counter() - t0) * 1000,
                       tuple(p.size for p in a.photos), tuple(w.text for w in a.words), ctx.version, declaration_id,
                       notes=notes, query_signals=tuple(zip(QUERY_SIGNALS, map(float, a.query_signals), strict=True)),
                       stage_ms=tuple((k, round(ms.get(k, 0.0), 2)) for k in STAGES), photos_used=used)
