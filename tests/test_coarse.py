"""Inverted lists (index/coarse.py): the search of a large registry's marknet vectors and silhouettes."""

from __future__ import annotations

import numpy as np
import pytest

from kcs_kit.embed.shape import ShapeIndex, describe, magnitudes
from kcs_kit.index import coarse
from kcs_kit.index.coarse import InvertedLists
from kcs_kit.index.marknet import DesignVectors


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _descriptors(rng: np.random.Generator, n: int) -> np.ndarray:
    """Silhouettes of random blobs (a few overlapping ellipses each)."""
    import cv2

    out = []
    while len(out) < n:
        m = np.zeros((64, 64), np.uint8)
        for _ in range(rng.integers(1, 4)):
            cv2.ellipse(m, (int(rng.integers(20, 44)), int(rng.integers(20, 44))),
                        (int(rng.integers(4, 18)), int(rng.integers(4, 18))), float(rng.uniform(0, 180)), 0, 360, 1, -1)
        d = describe(m)
        if d is not None:
            out.append(d)
    return np.stack(out)


def test_lists_hold_every_row_once_and_are_the_same_each_time():
    x = _unit(np.random.default_rng(1), 900, 16)
    a, b = InvertedLists.build(x), InvertedLists.build(x)
    assert len(a.centroids) == coarse.list_count(900) == 60
    assert sorted(a.order.tolist()) == list(range(900)) and a.starts[0] == 0 and a.starts[-1] == 900
    assert np.array_equal(a.order, b.order) and np.array_equal(a.starts, b.starts)
    near = np.argmax(x @ a.centroids.T, axis=1)  # each row sits in the list of its nearest centre
    for c in range(len(a.centroids)):
        assert (near[a.order[a.starts[c]:a.starts[c + 1]]] == c).all()


def test_marknet_through_every_list_scores_as_the_exhaustive_search(monkeypatch):
    rng = np.random.default_rng(2)
    ids = np.array([f"d{i // 2}" for i in range(800)])  # two views per design
    full = DesignVectors(None, ids, _unit(rng, 800, 32), rng.uniform(0, 0.3, 800).astype(np.float32))
    lists = full.searched(exact_max=100)
    assert full.searched() is full and lists.lists is not None and sorted(lists.ids) == sorted(ids)
    windows = _unit(rng, 300, 32)
    exact = full.scores(windows)
    monkeypatch.setattr(coarse, "PROBES", 10 ** 6)
    got = lists.scores(windows)
    assert got[1] == exact[1] and set(got[0]) == set(exact[0])
    assert max(abs(got[0][d] - exact[0][d]) for d in exact[0]) < 1e-5


def test_marknet_peak_is_the_best_window_above_the_design_mean_over_all_windows(monkeypatch):
    from kcs_kit.embed.base import place_hubness
    from kcs_kit.index.marknet import DESIGN_HUB, WINDOW_HUB, WindowStats

    rng = np.random.default_rng(5)
    ids = np.array([f"d{i // 2}" for i in range(400)])  # two views per design
    full = DesignVectors(None, ids, _unit(rng, 400, 32), rng.uniform(0, 0.3, 400).astype(np.float32))
    windows = _unit(rng, 120, 32)
    windows[7] = full.matrix[10]  # one window shows design d5's first view: it stands out there only
    hub: list[np.ndarray] = []
    best, _at = full.scores(windows, hub_out=hub)
    peaks = full.peaks(best, WindowStats.of(windows, hub[0]))
    sims = windows @ full.matrix.T
    corrected = sims - WINDOW_HUB * place_hubness(sims)[:, None] - DESIGN_HUB * full.hub  # every window, every view
    for d in ("d5", "d0", "d77", "d199"):
        views = np.flatnonzero(ids == d)
        v = views[corrected[:, views].mean(0).argmax()]  # the view with the best mean
        peak = corrected[:, views].max() - corrected[:, v].mean()
        assert abs(peaks[d] - peak) < 1e-5
    assert max(peaks, key=lambda d: peaks[d]) == "d5" and peaks["d5"] > 0.5
    lists = full.searched(exact_max=100)  # the inverted lists give the same windows' hubness
    monkeypatch.setattr(coarse, "PROBES", 10 ** 6)
    hub_lists: list[np.ndarray] = []
    lists.scores(windows, hub_out=hub_lists)
    assert np.allclose(hub_lists[0], hub[0], atol=1e-5)


def test_silhouettes_through_every_list_score_as_the_exhaustive_search(monkeypatch):
    from kcs_kit.embed.shape import Region

    rng = np.random.default_rng(3)
    desc = _descriptors(rng, 240)
    ids = np.array([f"d{i}" for i in range(240)])
    hub = rng.uniform(0, 0.3, 240).astype(np.float32)
    full, lists = ShapeIndex(ids, desc, hub), ShapeIndex(ids, desc, hub, exact_max=50)
    assert full.lists is None and lists.lists is not None
    assert np.allclose(full.descriptors(), desc, atol=1e-5)
    assert np.allclose(lists.descriptors(), desc[lists.lists.order], atol=1e-5)  # stored list by list
    regions = [Region(d, (0, 0, 1, 1), 0.1) for d in _descriptors(rng, 12)]
    exact = full.scores(regions)
    monkeypatch.setattr(coarse, "PROBES", 10 ** 6)
    got = lists.scores(regions)
    assert got[1] == exact[1] and max(abs(got[0][d] - exact[0][d]) for d in exact[0]) < 1e-5


def test_a_few_lists_find_the_drawing_a_place_shows():
    rng = np.random.default_rng(4)
    ids = np.array([f"d{i}" for i in range(5000)])
    v = DesignVectors(None, ids, _unit(rng, 5000, 32), np.zeros(5000, np.float32)).searched(exact_max=100)
    shown = rng.choice(5000, 20, replace=False)
    row = {d: i for i, d in enumerate(v.ids.tolist())}
    windows = np.concatenate([_unit(rng, 200, 32), v.matrix[[row[f"d{i}"] for i in shown]]])
    scores, where = v.scores(windows)
    assert len(scores) <= coarse.KEEP
    best = sorted(scores, key=scores.get, reverse=True)[:20]
    assert set(best) == {f"d{i}" for i in shown}  # each found by the window that shows it
    assert {where[f"d{i}"] for i in shown} == set(range(200, 220))


def test_amplitude_vectors_bound_the_correlation_from_above():
    rng = np.random.default_rng(5)
    desc = _descriptors(rng, 40)
    corr = ShapeIndex(np.arange(40), desc).correlations(desc)
    mag = magnitudes(desc)
    assert np.allclose(np.linalg.norm(mag, axis=1), 1, atol=1e-5)
    assert (mag @ mag.T >= corr - 1e-4).all()
    assert np.allclose(np.diag(corr), 1, atol=1e-4)


def test_lists_are_kept_for_their_key_and_learnt_again_for_another(tmp_path):
    x = _unit(np.random.default_rng(6), 400, 8)
    path = tmp_path / "lists-shape-2.npz"
    built = InvertedLists.cached(path, "fp1", lambda: InvertedLists.build(x))
    assert path.exists()

    def fail() -> InvertedLists:
        raise AssertionError("the stored lists should have been used")

    again = InvertedLists.cached(path, "fp1", fail)
    assert np.array_equal(again.order, built.order) and np.array_equal(again.centroids, built.centroids)
    other = InvertedLists.cached(path, "fp2", lambda: InvertedLists.build(x, n_lists=5))
    assert len(other.centroids) == 5 and len(InvertedLists.cached(path, "fp2", fail).centroids) == 5


@pytest.mark.parametrize("n", [1, 3])
def test_tiny_registries_still_build(n):
    x = _unit(np.random.default_rng(7), n, 4)
    lists = InvertedLists.build(x)
    assert lists.starts[-1] == n and len(lists.probe(x[:1])) >= 1


def test_designs_an_officer_allows_are_scored_even_where_no_place_probed_their_list(monkeypatch):
    from kcs_kit.embed.shape import Region

    rng = np.random.default_rng(8)
    ids = np.array([f"d{i}" for i in range(3000)])
    v = DesignVectors(None, ids, _unit(rng, 3000, 32), np.zeros(3000, np.float32)).searched(exact_max=100)
    monkeypatch.setattr(coarse, "PROBES", 1)
    monkeypatch.setattr(coarse, "KEEP", 50)
    windows = _unit(rng, 5, 32)
    plain = v.scores(windows)[0]
    missing = sorted(set(ids) - set(plain))[:3]
    assert len(missing) == 3
    got, where = v.scores(windows, only=set(missing))
    assert set(missing) <= set(got) and all(0 <= where[d] < 5 for d in missing)
    row = {d: i for i, d in enumerate(v.ids.tolist())}
    for d in missing:  # its best window's cosine, less that window's hubness among the rows it reached
        cos = float(windows[where[d]] @ v.matrix[row[d]])
        assert cos - 0.5 < got[d] <= cos + 1e-6

    desc = _descriptors(rng, 200)
    shapes = ShapeIndex(np.array([f"s{i}" for i in range(200)]), desc, exact_max=50)
    regions = [Region(d, (0, 0, 1, 1), 0.1) for d in _descriptors(rng, 2)]
    left_out = sorted(set(shapes.ids.tolist()) - set(shapes.scores(regions)[0]))[:2]
    assert left_out and set(left_out) <= set(shapes.scores(regions, only=set(left_out))[0])
