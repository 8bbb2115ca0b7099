"""marknet, the learned encoder: shipped weights with a checked hash, window vectors, the data recipe, training."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import indexed_workspace
from test_match import photo_queries, render, scene

from kcs_kit.embed.cnn import CANVAS, META, WEIGHTS, MarkNetEncoder, design_canvas
from kcs_kit.embed.cnn_recipe import make_batch, mark_masks
from kcs_kit.errors import KcsError
from kcs_kit.index.marknet import HUB_KIND, DesignVectors, _path, hubness, load_vectors, window_bank
from kcs_kit.registry import store


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return indexed_workspace(tmp_path_factory.mktemp("marknet"), 20)


def test_shipped_weights_match_their_hash_and_a_damaged_copy_is_refused(tmp_path):
    meta = json.loads(META.read_text())
    enc = MarkNetEncoder.load()
    assert enc.version == meta["sha256"][:12] and enc.dim == meta["dim"]
    bad = tmp_path / "marknet.pt"
    shutil.copy(WEIGHTS, bad)
    shutil.copy(META, bad.with_suffix(".json"))
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(KcsError, match="does not match"):
        MarkNetEncoder.load(bad)
    with pytest.raises(KcsError, match="missing"):
        MarkNetEncoder.load(tmp_path / "nothing.pt")


def test_the_shipped_window_model_runs_in_onnx_runtime_and_gives_torchs_vectors(ws, tmp_path):
    enc = MarkNetEncoder.load()
    assert enc.onnx is not None and enc.onnx.name == "marknet.onnx"  # shipped, and exported from these weights
    photo = scene(render(ws, sorted(store.active_design_ids(ws))[0]), 3, size=(560, 420))
    v_onnx, b_onnx = enc.photo_windows(photo)
    v_torch, b_torch = enc.photo_windows(photo, runtime="torch")
    assert np.array_equal(b_onnx, b_torch) and v_onnx.shape == v_torch.shape and len(v_onnx) > 100
    assert np.abs(v_onnx - v_torch).max() < 1e-5
    # a damaged window model is refused; without one the weights run in torch
    for f in (WEIGHTS, META, WEIGHTS.with_suffix(".onnx")):
        shutil.copy(f, tmp_path / f.name)
    onnx = tmp_path / "marknet.onnx"
    data = bytearray(onnx.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx.write_bytes(bytes(data))
    with pytest.raises(KcsError, match="window model .* does not match"):
        MarkNetEncoder.load(tmp_path / "marknet.pt")
    onnx.unlink()
    plain = MarkNetEncoder.load(tmp_path / "marknet.pt")
    assert plain.onnx is None and plain.version == enc.version
    assert np.abs(plain.photo_windows(photo)[0] - v_torch).max() < 1e-6


def test_grey_is_the_same_number_as_the_weighted_sum_it_replaced():
    """to_gray01 sums the channels one by one (faster); the result must be the matrix product's, to the bit,
    so marknet's vectors of stored analyses stay what they were."""
    from kcs_kit.embed.cnn import to_gray01

    rgb = np.random.default_rng(0).integers(0, 256, (300, 400, 4), dtype=np.uint8)
    before = (np.asarray(rgb[..., :3] @ np.array([0.299, 0.587, 0.114]), np.float32) / 255.0).astype(np.float32)
    got = to_gray01(rgb)
    assert got.dtype == np.float32 and np.array_equal(got, before)
    assert np.array_equal(to_gray01(rgb[..., 0]), rgb[..., 0].astype(np.float32) / 255.0)


def test_design_canvas_fits_the_mark_in_the_middle_window():
    img = np.full((300, 500, 3), 255, np.uint8)
    img[100:200, 50:450] = 0  # a wide dark bar
    c = design_canvas(img)
    assert c.shape == (CANVAS, CANVAS)
    ink = np.argwhere(c < 0.5)
    assert ink[:, 1].min() >= 16 and ink[:, 1].max() < 80  # within the middle 64 columns
    assert ink[:, 1].max() - ink[:, 1].min() >= 55  # and filling most of it


def test_vectors_are_unit_and_windows_cover_the_photo():
    enc = MarkNetEncoder.load()
    v = enc.design_vectors([np.full((64, 64, 3), 255, np.uint8), np.zeros((50, 80, 3), np.uint8)])
    assert v.shape == (2, enc.dim) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-4)
    rgb = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    vecs, boxes = enc.photo_windows(rgb)
    assert len(vecs) == len(boxes) > 100
    assert boxes[:, 0].min() >= 0 and boxes[:, 2].max() <= 640 + 1 and boxes[:, 3].max() <= 480 + 1


def test_a_warped_mark_on_a_background_finds_its_design(ws):
    vecs = load_vectors(ws)
    assert vecs is not None and len(set(vecs.ids.tolist())) == 20
    hits = 0
    for k, d in enumerate(sorted(store.active_design_ids(ws))[:8]):
        photo = scene(render(ws, d, "dark"), seed=k, frac=0.4)
        scores, _ = vecs.scores(vecs.encoder.photo_windows(photo)[0])
        hits += max(scores, key=lambda x: scores[x]) == d
    assert hits >= 6  # of 8: the learned encoder alone, before verification and fusion


def test_regions_cut_as_marks_in_one_batched_call_give_torchs_vectors_and_find_the_design(ws):
    """region_vectors: each proposed region cut like a training crop, all of a photo's in one ONNX call (the
    same vectors as one call per crop and as torch); the region around a warped mark finds its design."""
    from kcs_kit.embed.shape import photo_regions

    vecs = load_vectors(ws)
    enc = vecs.encoder
    designs = sorted(store.active_design_ids(ws))[:8]
    photo = scene(render(ws, designs[0], "dark"), seed=2, frac=0.4)
    boxes = [(300.0, 200.0, 600.0, 500.0), (0.0, 0.0, 40.0, 25.0), (850.0, 650.0, 1000.0, 760.0)]  # one past the edge
    batched = enc.region_vectors(photo, boxes)
    assert batched.shape == (3, enc.dim) and np.allclose(np.linalg.norm(batched, axis=1), 1, atol=1e-4)
    one_by_one = np.concatenate([enc.region_vectors(photo, [b]) for b in boxes])
    assert np.abs(batched - one_by_one).max() < 1e-5
    torch_only = MarkNetEncoder.load()
    torch_only.onnx = None
    assert np.abs(batched - torch_only.region_vectors(photo, boxes)).max() < 1e-5
    assert enc.region_vectors(photo, []).shape == (0, enc.dim)
    hits = 0
    for k, d in enumerate(designs):
        rgb = scene(render(ws, d, "dark"), seed=k, frac=0.4)
        boxes = [r.box for r in photo_regions(rgb)[:48]]
        scores, which = vecs.scores(enc.region_vectors(rgb, boxes))
        best = max(scores, key=lambda x: scores[x])
        hits += best == d
        if best == d:
            x0, y0, x1, y1 = boxes[which[d]]
            assert x0 < 450 < x1 and y0 < 350 < y1  # the region it was found in covers the mark in the middle
    assert hits >= 5  # of 8: marknet on the proposed regions alone


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def test_hubness_leaves_out_the_designs_own_views_and_is_highest_for_a_generic_drawing():
    rng = np.random.default_rng(0)
    base = _unit(rng.normal(size=(100, 64)))
    generic = _unit(base[1:6].sum(0))  # like five drawings at once
    matrix = np.vstack([base, base[7:8], generic[None]])  # design 7 registered with two identical views
    ids = np.array([f"d{i}" for i in range(100)] + ["d7", "generic"])
    hub = hubness(ids, matrix, matrix, ids)
    assert hub.shape == (102,) and hub[101] == hub.max() and hub[101] > 0.35
    assert hub[7] < 0.5 and hub[100] == pytest.approx(hub[7])  # its own second view does not count


def test_a_window_like_many_drawings_loses_to_one_like_this_drawing_only():
    rng = np.random.default_rng(1)
    matrix = _unit(rng.normal(size=(100, 64)))
    ids = np.array([f"d{i}" for i in range(100)])
    blob = _unit(matrix[0:4].sum(0))  # cosine ~0.5 with designs 0-3
    noise = rng.normal(size=64)
    noise -= (noise @ matrix[0]) * matrix[0]
    mark = _unit(0.45 * matrix[0] + 0.89 * _unit(noise))  # cosine 0.45 with design 0 only
    windows = np.vstack([blob, mark])
    assert (windows @ matrix.T)[:, 0].argmax() == 0  # the plain cosine prefers the blob
    vecs = DesignVectors(MarkNetEncoder.load(), ids, matrix, hubness(ids, matrix, matrix, ids))
    scores, where = vecs.scores(windows)
    assert where["d0"] == 1 and scores["d0"] < 0.45


def test_a_drawings_hubness_among_photo_windows_leaves_out_the_windows_of_its_own_mark():
    rng = np.random.default_rng(2)
    matrix = _unit(rng.normal(size=(3, 64)))
    ids = np.array(["a", "b", "c"])
    bank = np.vstack([matrix[0], matrix[0], _unit(0.6 * matrix[0] + 0.8 * matrix[1]), _unit(rng.normal(size=(40, 64)))])
    bank_ids = np.array(["a", "a", "b"] + ["x"] * 40)
    hub = hubness(ids, matrix, bank, bank_ids, k=1)
    sims = matrix @ bank.T
    assert hub[0] == pytest.approx(sims[0, 2:].max(), abs=1e-5) and hub[0] < 0.99  # not its own windows (cosine 1)
    assert hub[1] == pytest.approx(np.delete(sims[1], 2).max(), abs=1e-5)
    assert hubness(ids, matrix, bank, np.array(["b"] * len(bank)), k=1)[0] == pytest.approx(1.0, abs=1e-5)


def test_the_window_bank_is_seeded_and_labels_every_window_with_the_mark_of_its_crop():
    imgs = [np.full((40, 40, 3), 255, np.uint8) for _ in range(3)]
    for i, im in enumerate(imgs):
        im[5 + i:30, 8:20 + 5 * i] = 0
    enc = MarkNetEncoder.load()
    a, la = window_bank(enc, mark_masks(imgs), crops=8, seed=4)
    b, lb = window_bank(enc, mark_masks(imgs), crops=8, seed=4)
    assert a.shape == (8 * 25, enc.dim) and np.array_equal(a, b) and np.array_equal(la, lb)
    assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-4)
    assert sorted(np.unique(la).tolist()) == [0, 1, 2] and all(np.all(la[i:i + 25] == la[i]) for i in range(0, 200, 25))


def test_built_vectors_keep_the_photo_window_hubness_and_an_older_file_is_not_used(ws, tmp_path):
    vecs = load_vectors(ws)
    assert vecs is not None and vecs.hub.shape == vecs.ids.shape
    assert 0.2 < float(vecs.hub.min()) <= float(vecs.hub.max()) < 1
    path = _path(ws, vecs.encoder.version)
    keep = tmp_path / "keep.npz"
    shutil.copy(path, keep)
    try:
        z = dict(np.load(path))
        z["hub_kind"] = np.array("drawings")  # as if written by an older kcs-kit
        np.savez(path, **z)
        assert load_vectors(ws) is None
    finally:
        shutil.copy(keep, path)
    assert HUB_KIND != "drawings" and load_vectors(ws) is not None


def test_recipe_is_seeded_and_in_range():
    imgs = [np.full((40, 40, 3), 255, np.uint8) for _ in range(3)]
    for i, im in enumerate(imgs):
        im[5 + i:30, 8:20 + 5 * i] = 0
    masks = torch.from_numpy(mark_masks(imgs))
    labels = torch.tensor([0, 1, 2, 0])
    a = make_batch(masks, labels, torch.Generator().manual_seed(3))
    b = make_batch(masks, labels, torch.Generator().manual_seed(3))
    assert a.shape == (4, 1, CANVAS, CANVAS) and torch.equal(a, b)
    assert float(a.min()) >= 0 and float(a.max()) <= 1 and float(a.std()) > 0.02


def test_training_writes_weights_with_their_hash(ws, tmp_path):
    from kcs_kit.embed.cnn_train import train

    out = tmp_path / "m.pt"
    meta = train(ws, out, steps=2, batch=8, log=lambda _m: None)
    assert meta["steps"] >= 1 and meta["designs_trained"] >= 15
    enc = MarkNetEncoder.load(out)
    assert enc.version == json.loads(out.with_suffix(".json").read_text())["sha256"][:12]
    # the window model is exported with the weights, its hash recorded: matching runs it in ONNX Runtime
    assert enc.onnx == out.with_suffix(".onnx") and meta["onnx"]["weights_sha256"] == meta["sha256"]
    rgb = np.random.default_rng(1).integers(0, 255, (200, 260, 3), dtype=np.uint8)
    assert np.abs(enc.photo_windows(rgb)[0] - enc.photo_windows(rgb, runtime="torch")[0]).max() < 1e-5


def test_hard_batches_hold_groups_of_look_alike_designs_and_distinct_designs_only():
    from kcs_kit.embed.cnn_train import HARD_GROUP, batch_labels, neighbours

    # eight families of three near-identical drawings (a bar at one of eight angles, slightly thickened)
    masks = torch.zeros(24, CANVAS, CANVAS)
    yy, xx = torch.meshgrid(torch.arange(CANVAS) - 48.0, torch.arange(CANVAS) - 48.0, indexing="ij")
    for i in range(24):
        a = np.pi * (i // 3) / 8
        dist = (xx * np.sin(a) - yy * np.cos(a)).abs()
        masks[i] = ((dist < 6 + i % 3) & (xx.abs() < 30) & (yy.abs() < 30)).float()
    net = MarkNetEncoder.load().net
    near = neighbours(net, masks, k=2)
    assert near.shape == (24, 2) and not any(i in near[i].tolist() for i in range(24))
    family = sum(int(j) // 3 == i // 3 for i in range(24) for j in near[i])
    assert family >= 36  # of 48: the trained network finds most of each drawing's two look-alikes
    g = torch.Generator().manual_seed(0)
    far = torch.stack([(torch.arange(16) + 1 + i) % 100 for i in range(100)])  # i's neighbours: i+1 .. i+16
    labels = batch_labels(100, 32, g, far, hard=0.5).tolist()
    assert len(labels) == len(set(labels)) == 32
    groups = [labels[i:i + HARD_GROUP] for i in range(0, 16, HARD_GROUP)]
    assert all(all(0 < (d - grp[0]) % 100 <= 16 for d in grp[1:]) for grp in groups)  # a design and its neighbours
    assert len(batch_labels(100, 32, g, None, hard=0.5).unique()) == 32


def test_training_further_starts_from_the_given_weights_and_records_the_chain(ws, tmp_path):
    import torch

    from kcs_kit.embed.cnn_train import train

    out = tmp_path / "more.pt"
    meta = train(ws, out, steps=1, batch=8, lr=1e-9, init=WEIGHTS, log=lambda _m: None)
    shipped = json.loads(META.read_text())
    assert meta["init"] == shipped["sha256"] and meta["steps"] == shipped["steps"] + 1
    assert meta["history"][:-1] == shipped["history"] and meta["history"][-1]["init"] == shipped["sha256"]
    # one step at a tiny learning rate: the shipped network's weights, not a fresh random network's (the
    # batch-norm statistics move with every batch, so only the learned parameters are compared)
    a = dict(MarkNetEncoder.load(WEIGHTS).net.named_parameters())
    b = dict(MarkNetEncoder.load(out).net.named_parameters())
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)


def test_separable_contrast_normalisation_equals_the_2d_window_mean():
    import torch

    from kcs_kit.embed.cnn import _box_mean

    x = torch.rand(2, 1, 70, 45, generator=torch.Generator().manual_seed(1))
    full = torch.nn.functional.avg_pool2d(x, 33, 1, 16, count_include_pad=False)
    assert torch.allclose(_box_mean(x), full, atol=1e-5)
    assert not torch.allclose(_box_mean(x), torch.nn.functional.avg_pool2d(x, 33, 1, 16), atol=1e-3)  # pads differ


def test_bench_marknet_compares_weight_files_on_the_same_photos_without_installing_them(ws, tmp_path):
    from click.testing import CliRunner

    from kcs_kit.cli import main
    from kcs_kit.embed.cnn_train import train
    from kcs_kit.index.build import active_designs
    from kcs_kit.index.marknet import embed_registry

    installed = load_vectors(ws)
    again = embed_registry(MarkNetEncoder.load(), active_designs(ws))  # what the bench embeds = what the index holds
    assert np.array_equal(again.ids, installed.ids) and np.allclose(again.matrix, installed.matrix, atol=1e-5)
    assert np.allclose(again.hub, installed.hub, atol=1e-5)
    fresh = tmp_path / "fresh.pt"
    train(ws, fresh, steps=1, batch=8, seed=3, log=lambda _m: None)  # an untrained network: near chance
    photo_queries(ws, sorted(store.active_design_ids(ws))[:6], tmp_path / "q", seed=20)
    res = CliRunner().invoke(main, ["--workspace", str(ws.workspace), "bench", "marknet", "--weights", str(WEIGHTS),
                                    "--weights", str(fresh), "--queries", str(tmp_path / "q"), "--no-write", "--json"])
    assert res.exit_code == 0, res.output
    shipped, untrained = json.loads(res.stdout)
    assert shipped["queries"] == untrained["queries"] == 6 and shipped["version"] == MarkNetEncoder.load().version
    assert shipped["recall"]["1"] >= 0.5 and shipped["recall"]["1"] >= untrained["recall"]["1"]
    assert shipped["recall"]["30"] == 1.0  # 20 designs: every one is in the first 30
    assert shipped["by_kind"]["printed"][0] == 6
    assert load_vectors(ws).encoder.version == shipped["version"]  # the installed weights are untouched


_FRESH = """
import json, sys
from kcs_kit.config import load_settings
from kcs_kit.match.engine import match
r = match([sys.argv[2]], load_settings(workspace=sys.argv[1], env={}, match_ocr=False))
grammars = 'rfc3987_syntax' in sys.modules
import rfc3987_syntax  # noqa: F401  (still importable by code that wants it)
print(json.dumps({"torch": 'torch' in sys.modules, "grammars": grammars, "ids": [c.design_id for c in r.candidates]}))
"""


def test_a_match_in_a_fresh_process_loads_neither_torch_nor_the_iri_grammars(ws, tmp_path):
    import subprocess
    import sys

    import cv2

    design = sorted(store.active_design_ids(ws))[1]
    photo = tmp_path / "item.jpg"
    cv2.imwrite(str(photo), cv2.cvtColor(scene(render(ws, design), 5), cv2.COLOR_RGB2BGR))
    out = subprocess.run([sys.executable, "-c", _FRESH, str(ws.workspace), str(photo)], check=True,
                         capture_output=True, text=True, timeout=300)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"torch": False, "grammars": False, "ids": got["ids"]} and design in got["ids"][:3]


def test_top_k_mean_and_best_place_are_those_of_a_plain_partition_and_argmax():
    """top_k_mean keeps only the values at or above each row's k-th best block maximum, and best_per_design
    finds each row's best place a chunk at a time: both must give what a partition of every row and a
    column-wise argmax give, ties (to the first place) and flat rows included."""
    from kcs_kit.embed.base import best_per_design, top_k_mean

    rng = np.random.default_rng(3)
    sims = rng.normal(0, 0.2, (700, 3403)).astype(np.float32)
    sims[5] = 0.25  # a flat row: every value ties
    sims[9, :40] = 0.9  # many equal best values in one row
    sims[300:310, 7] = 2.0  # one column's best reached by ten places: the first one wins
    for k in (1, 10, 17):
        want = np.partition(sims, -k, axis=1)[:, -k:].mean(1)
        assert np.allclose(top_k_mean(sims, k), want, rtol=0, atol=1e-6)
    assert np.allclose(top_k_mean(sims[:, :300], 10), np.partition(sims[:, :300], -10, axis=1)[:, -10:].mean(1))
    assert not top_k_mean(sims[:, :10], 10).any()  # no more columns than k: 0
    ids = np.array([f"d{j // 2}" for j in range(sims.shape[1])])  # two views per design
    offset = rng.random(sims.shape[1]).astype(np.float32)
    for chunk in (1, 128, 1000):
        scores, where = best_per_design(ids, sims, offset, chunk=chunk)
        place = sims.argmax(0)
        best = sims[place, np.arange(sims.shape[1])] - offset
        for d in ("d0", "d3", "d500", "d1700"):
            j = 2 * int(d[1:]) + int(best[2 * int(d[1:]) + 1] > best[2 * int(d[1:])])
            assert scores[d] == best[j] and where[d] == place[j]
        assert where["d3"] == 300  # column 7 (design d3, its second view): ten equal places, the first
