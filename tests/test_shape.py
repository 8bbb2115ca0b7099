"""Shape matching: affine-normalised silhouettes, region proposals, the designs' shape index."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from conftest import indexed_workspace
from test_match import photo_queries, render, scene

from kcs_kit.embed.cnn import design_canvas
from kcs_kit.embed.shape import NT, ShapeIndex, describe, design_mask, photo_regions
from kcs_kit.index.shape import load_shapes, photo_hubness, region_bank
from kcs_kit.registry import store


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return indexed_workspace(tmp_path_factory.mktemp("shape"), 20)


def _letter_f(size: int = 200) -> np.ndarray:
    """An asymmetric silhouette (an F with a hole): rotation and mirroring change it visibly."""
    m = np.zeros((size, size), np.uint8)
    m[30:170, 50:80] = 1
    m[30:60, 80:160] = 1
    m[90:115, 80:130] = 1
    m[140:160, 90:110] = 1  # a separate dot
    return m


def _warp(mask: np.ndarray, angle: float, shear: float, scale: float, mirror: bool) -> np.ndarray:
    m = mask[:, ::-1] if mirror else mask
    h, w = m.shape
    a = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    a[0, 1] += shear
    out = cv2.warpAffine(m.astype(np.uint8) * 255, a, (w * 2, h * 2))
    return (out > 127).astype(np.uint8)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(ShapeIndex(np.array(["b"]), b[None]).correlations(a[None])[0, 0])


def test_descriptor_is_unit_and_zero_mean_and_rejects_specks_and_lines():
    d = describe(_letter_f())
    assert d is not None and d.shape[1] == NT
    assert abs(float(d.mean())) < 1e-5 and abs(float(np.linalg.norm(d)) - 1) < 1e-4
    assert describe(np.zeros((50, 50), np.uint8)) is None
    speck = np.zeros((50, 50), np.uint8)
    speck[10:13, 10:13] = 1
    assert describe(speck) is None
    line = np.zeros((50, 300), np.uint8)
    line[20, :] = 1
    assert describe(line) is None


@pytest.mark.parametrize("angle,shear,scale,mirror", [(0, 0, 1, False), (37, 0, 0.6, False), (-80, 0.3, 1.4, False),
                                                      (150, -0.2, 0.8, True)])
def test_same_silhouette_under_rotation_shear_scale_and_mirror_correlates(angle, shear, scale, mirror):
    base = describe(_letter_f())
    warped = describe(_warp(_letter_f(), angle, shear, scale, mirror))
    assert _corr(warped, base) > 0.9


def test_different_silhouettes_correlate_less():
    disk = np.zeros((200, 200), np.uint8)
    cv2.circle(disk, (100, 100), 70, 1, -1)
    ring = disk.copy()
    cv2.circle(ring, (100, 100), 40, 0, -1)
    f = describe(_letter_f())
    assert _corr(describe(disk), f) < 0.75
    assert _corr(describe(ring), describe(disk)) < _corr(describe(_warp(ring, 20, 0.1, 0.7, False)), describe(ring))


def test_silhouette_hubness_among_photo_regions_leaves_out_the_crops_of_the_drawings_own_mark():
    square = np.pad(np.ones((60, 60), np.uint8), 20)
    masks = {d: 1.0 - design_canvas(np.repeat((255 * (1 - m))[:, :, None], 3, 2).astype(np.uint8))
             for d, m in (("square", square), ("f", _letter_f()))}
    descs = np.stack([describe(m) for m in (square, _letter_f(), square)])
    ids = np.array(["square", "f", "copy"])  # copy: the square drawing registered as another design
    hub = photo_hubness(ids, descs, masks, crops=24)
    assert hub.shape == (3,) and np.all(hub > 0) and np.all(hub < 1)
    assert hub[2] > hub[0] + 0.02  # the copy counts the square's crops as others; the square does not
    bank, marks = region_bank(np.stack([masks["f"], masks["square"]]), crops=6, seed=3)
    again, marks2 = region_bank(np.stack([masks["f"], masks["square"]]), crops=6, seed=3)
    assert len(bank) == len(marks) > 6 and np.array_equal(bank, again) and np.array_equal(marks, marks2)
    assert set(marks.tolist()) == {0, 1}


def test_regions_find_a_coloured_mark_on_a_textured_background():
    mark = np.full((200, 200, 3), 235, np.uint8)
    mark[_letter_f() > 0] = (200, 30, 30)
    photo = scene(mark, seed=3, frac=0.5)
    regions = photo_regions(photo)
    assert regions and all(0 < r.area < 1 for r in regions)
    base = describe(_letter_f())
    best = max(regions, key=lambda r: _corr(r.descriptor, base))
    assert _corr(best.descriptor, base) > 0.85
    x0, y0, x1, y1 = best.box  # the mark sits in the middle of the 900 x 700 photo
    assert 250 < (x0 + x1) / 2 < 650 and 150 < (y0 + y1) / 2 < 550
    assert photo_regions(np.full((200, 300, 3), 128, np.uint8)) == []  # a flat photo has no regions
    assert [r.box for r in photo_regions(photo, limit=2)] == [r.box for r in regions[:2]]  # the largest


def test_thin_rings_around_a_letter_stay_one_region():
    """A mark of thin strokes (rings 2 px wide at the 320-px reading, around a letter) is found: no
    morphological opening erases the strokes (until 2026-12-06 one did: no such region came out)."""
    from kcs_kit.embed.shape import SIDE

    photo = np.full((2 * SIDE, 2 * SIDE, 3), (120, 40, 140), np.uint8)  # purple cloth, read at half size
    for radius in (220, 170, 120):
        cv2.circle(photo, (SIDE, SIDE), radius, (245, 245, 245), 4, cv2.LINE_AA)
    cv2.putText(photo, "k", (280, 360), cv2.FONT_HERSHEY_SIMPLEX, 3.2, (245, 245, 245), 8)
    strokes = [r for r in photo_regions(photo) if r.area < 0.1 and r.box[2] - r.box[0] > 400]
    assert strokes, [(r.box, r.area) for r in photo_regions(photo)]  # the rings, not the cloth inside them
    x0, y0, x1, y1 = strokes[0].box
    assert abs((x0 + x1) / 2 - SIDE) < 10 and abs((y1 - y0) - 440) < 20


def test_index_build_describes_every_active_design_and_photos_find_theirs(ws):
    idx = load_shapes(ws)
    active = sorted(store.active_design_ids(ws))
    assert idx is not None and set(idx.ids.tolist()) == set(active) and idx.hub.shape == (idx.n,)
    hits = 0
    for k, d in enumerate(active[:8]):
        photo = scene(render(ws, d, "colour"), seed=k, frac=0.45)
        scores, _ = idx.scores(photo_regions(photo))
        hits += max(scores, key=lambda x: scores[x]) == d
    assert hits >= 5  # of 8, the silhouette alone among 20 designs (the demo marks include plain shapes)


def test_a_large_registry_is_searched_through_lists_kept_beside_the_arrays(ws, monkeypatch):
    from kcs_kit.index import coarse
    from kcs_kit.index.marknet import load_vectors

    monkeypatch.setattr(coarse, "EXACT_MAX", 8)  # 20 designs count as a large registry here
    for name in ("lists-shape-2.npz", *(f"lists-{p.name}" for p in ws.registry_dir.glob("marknet-*.npz"))):
        (ws.registry_dir / name).unlink(missing_ok=True)
    idx, vecs = load_shapes(ws), load_vectors(ws)
    assert idx is not None and idx.lists is not None and vecs is not None and vecs.lists is not None
    assert (ws.registry_dir / "lists-shape-2.npz").exists() and list(ws.registry_dir.glob("lists-marknet-*.npz"))

    def learn_again(*_a, **_k):
        raise AssertionError("the lists kept beside the arrays should have been used")

    monkeypatch.setattr(coarse.InvertedLists, "build", learn_again)
    again = load_shapes(ws)
    assert again is not None and np.array_equal(again.ids, idx.ids) and load_vectors(ws) is not None
    monkeypatch.setattr(coarse, "PROBES", 10 ** 6)  # every list: the exhaustive scores
    monkeypatch.setattr(coarse, "EXACT_MAX", 10 ** 6)
    exhaustive = load_shapes(ws)
    assert exhaustive is not None and exhaustive.lists is None
    photo = scene(render(ws, sorted(store.active_design_ids(ws))[0], "colour"), seed=3, frac=0.45)
    regions = photo_regions(photo)
    got, want = again.scores(regions), exhaustive.scores(regions)
    assert got[1] == want[1] and max(abs(got[0][d] - want[0][d]) for d in want[0]) < 1e-5


def test_design_mask_is_the_dark_ink():
    g = np.full((600, 400), 250, np.uint8)
    g[100:300, 100:200] = 10
    m = design_mask(g)
    assert m.dtype == np.uint8 and max(m.shape) == 256 and 0.05 < m.mean() < 0.15


def test_bench_shortlists_reports_each_family_on_a_query_package(ws, tmp_path):
    import json

    from click.testing import CliRunner

    from kcs_kit.bench.shortlists import FAMILIES, rank_of
    from kcs_kit.cli import main

    active = sorted(store.active_design_ids(ws))[:4]
    # the last row's design is not in this workspace: left out
    photo_queries(ws, active, tmp_path / "q", seed=10, extra=("q9,photos/0.jpg,not-a-registered-design,printed",))
    res = CliRunner().invoke(main, ["--workspace", str(ws.workspace), "bench", "shortlists", "--queries",
                                    str(tmp_path / "q"), "--no-write", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["queries"] == 4 and set(out["recall"]) == set(FAMILIES)
    assert out["recall"]["shape"]["1"] >= 0.5 and out["recall"]["marknet"]["1"] >= 0.5
    assert out["recall"]["region"]["30"] >= 0.5
    assert out["union_30"] == 1.0 and out["union_30_region"] == 1.0 and out["by_kind"]["printed"][0] == 4
    assert rank_of({"a": 0.9, "b": 0.5, "c": 0.7}, "b") == 3 and rank_of({"a": 1.0}, "z") > 1000


def _finger(photo: np.ndarray, y: int, height: int, reach: int) -> np.ndarray:
    """``photo`` with a finger (a rounded bar of skin colour) lying across it from the left edge to ``reach``."""
    out = photo.copy()
    cv2.rectangle(out, (0, y), (reach, y + height), (205, 150, 120), -1)
    cv2.circle(out, (reach, y + height // 2), height // 2, (205, 150, 120), -1)
    return out


@pytest.mark.parametrize("y,height", [(385, 70), (300, 60), (400, 50)])
def test_a_mark_under_a_finger_is_completed_into_its_silhouette(y, height):
    """A finger across the F's stem leaves a notched or cut F; the visible parts with the finger's pixels inside
    their outline are one more region, which fits the F again. The other regions stay as they were."""
    mark = np.full((200, 200, 3), 235, np.uint8)
    mark[_letter_f() > 0] = (30, 60, 160)
    clean = scene(mark, seed=3, frac=0.5)  # the F on a light label, 350 px, in the middle of a grey product
    photo = _finger(clean, y, height, 440)  # from the left edge across the stem (x 362-415)
    base = describe(_letter_f())
    plain, full = photo_regions(photo), photo_regions(photo, occluded=True)
    assert [r.box for r in full[:len(plain)]] == [r.box for r in plain]  # the completed ones come after
    assert max(_corr(r.descriptor, base) for r in plain) < 0.65  # cut by the finger, no region fits the F
    best = max(full[len(plain):], key=lambda r: _corr(r.descriptor, base))
    assert _corr(best.descriptor, base) > 0.85
    x0, y0, x1, y1 = best.box  # the F's box, not the finger's (which starts at the photo's edge)
    assert 330 < x0 < 380 and 560 < x1 < 620 and 200 < y0 < 250 and 450 < y1 < 520, best.box
    assert max(_corr(r.descriptor, base) for r in photo_regions(clean)) > 0.95


def test_a_ground_around_a_mark_or_nothing_across_it_completes_nothing():
    """Without anything across the mark nothing is completed: the label around the F (a part of another colour
    that touches it and fills the space between its arms) surrounds it, so it is its ground, not an occluder;
    nor is a bar that touches the mark from outside without entering its outline."""
    mark = np.full((200, 200, 3), 235, np.uint8)
    mark[_letter_f() > 0] = (30, 60, 160)
    clean = scene(mark, seed=3, frac=0.5)
    beside = _finger(clean, 600, 50, 300)  # below the label, touching nothing
    for photo in (clean, beside):
        assert [r.box for r in photo_regions(photo, occluded=True)] == [r.box for r in photo_regions(photo)]
    assert photo_regions(np.full((200, 300, 3), 128, np.uint8), occluded=True) == []


def test_matching_reads_marks_under_a_finger_with_the_occluders_setting(ws):
    """settings.occluders reaches the silhouette stage: with a finger across each of the 20 registered marks, the
    completed silhouettes put more of them first, and no design's own score falls."""
    from kcs_kit.match.context import get_context
    from kcs_kit.match.engine import _shape
    from kcs_kit.match.photo import load_photo

    first = {False: 0, True: 0}
    for k, d in enumerate(sorted(store.active_design_ids(ws))):
        photo = load_photo(_finger(scene(render(ws, d, "colour"), seed=k, frac=0.45), 330, 55, 450))
        own = {}
        for on in (False, True):
            scores, _ = _shape(get_context(dataclasses.replace(ws, occluders=on)), [photo])
            first[on] += max(scores, key=lambda x: scores[x]) == d
            own[on] = scores[d]
        assert own[True] >= own[False]
    assert first[True] >= first[False] + 3, first
