"""Index build/status/verify: incremental, removes withdrawn designs, resumable after SIGKILL; local encoder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import make_registry

from kcs_kit.cli import main
from kcs_kit.embed.local import LocalEncoder, extract_features, learn_codebook
from kcs_kit.embed.testkit import check_image_encoder
from kcs_kit.index.build import active_designs, build_index, load_encoder
from kcs_kit.index.chroma import open_index
from kcs_kit.index.features import FeatureStore
from kcs_kit.index.verify import verify_index
from kcs_kit.registry import store


@pytest.fixture
def indexed(settings, tmp_path):
    store.import_package(make_registry(tmp_path / "pkg", 24), settings)
    result = build_index(settings, text=False, workers=1)
    return settings, result


def _image_index(settings):
    enc = load_encoder(settings)
    return enc, open_index(settings, family="image", encoder_name=enc.name, encoder_version=enc.version,
                           dim=enc.dim)


def test_build_indexes_every_active_design_and_verifies(indexed):
    settings, result = indexed
    assert (result.active, result.indexed, result.removed) == (24, 24, 0) and result.codebook_learned
    rep = verify_index(settings, text=False)
    assert rep.ok and rep.collections[0].designs == 24 and rep.feature_bytes > 0
    again = build_index(settings, text=False, workers=1)
    assert (again.indexed, again.unchanged, again.codebook_learned) == (0, 24, False)


def test_a_render_finds_its_own_design_first(indexed):
    settings, _ = indexed
    enc, ix = _image_index(settings)
    rows = active_designs(settings)
    for design_id, paths in list(zip(rows["design_id"], rows["paths"], strict=True))[:8]:
        img = cv2.cvtColor(cv2.imread(paths[0]), cv2.COLOR_BGR2RGB)
        hits = ix.query(enc.encode_images([img]), k=3)[0]
        assert hits[0].metadata["design_id"] == design_id and hits[0].score > 0.99
        feats = FeatureStore(settings).load(design_id)
        assert len(feats.views[0]) == len(extract_features(img, max_side=enc.max_side, n_features=enc.n_features))


def test_withdrawn_design_leaves_the_index(indexed):
    settings, _ = indexed
    victim = sorted(store.active_design_ids(settings))[0]
    store.withdraw(settings, victim, reason="court order")
    assert not verify_index(settings, text=False).ok  # an orphan until the next build
    r = build_index(settings, text=False, workers=1)
    assert r.removed == 1 and r.active == 23
    _enc, ix = _image_index(settings)
    assert not [i for i in ix.ids() if i.startswith(victim + "#")]
    assert FeatureStore(settings).stamp(victim) is None
    assert verify_index(settings, text=False).ok


def test_cli_status_and_verify(indexed):
    settings, _ = indexed
    runner = CliRunner()
    r = runner.invoke(main, ["--workspace", str(settings.workspace), "index", "verify", "--json"])
    assert r.exit_code == 0, r.output
    assert '"missing": []' in r.output


BUILD = ("import sys; from kcs_kit.config import load_settings; from kcs_kit.index.build import build_index; "
         "build_index(load_settings(workspace=sys.argv[1], env={}), text=False, workers=1)")


def test_killed_build_is_finished_by_the_next_without_duplicates(settings, tmp_path):
    store.import_package(make_registry(tmp_path / "pkg", 150), settings)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", BUILD, str(settings.workspace)], env=env)
    features = settings.registry_dir / "features"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if features.exists() and sum(1 for _ in features.rglob("*.npz")) >= 70:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = sum(1 for _ in features.rglob("*.npz"))
    assert 0 < partial < 150, f"the kill did not land mid-build ({partial} feature files)"
    r = build_index(settings, text=False, workers=1)
    assert r.indexed < 150 and r.indexed + r.unchanged == 150
    rep = verify_index(settings, text=False)
    assert rep.ok
    _enc, ix = _image_index(settings)
    assert ix.count() == 150 == len(set(ix.ids()))


def test_local_encoder_contract(settings, tmp_path):
    pkg = make_registry(tmp_path / "pkg", 12)
    store.import_package(pkg, settings)
    renders = [cv2.imread(p[0], cv2.IMREAD_GRAYSCALE) for p in active_designs(settings)["paths"]]
    codebook = learn_codebook([extract_features(r).descriptors for r in renders], k=16, dim=32)
    check_image_encoder(LocalEncoder(codebook))
    assert np.isclose(np.linalg.norm(LocalEncoder(codebook).encode_images(renders[:1])), 1.0)


def test_visual_word_index_finds_a_render_of_its_design(indexed):
    from kcs_kit.embed.local import root_sift
    from kcs_kit.index.bow import load_bow

    settings, _ = indexed
    bow = load_bow(settings)
    assert bow is not None and len(bow.ids) == 24 and bow.version.startswith("bow-k")
    rows = active_designs(settings)
    for design_id, paths in list(zip(rows["design_id"], rows["paths"], strict=True))[:5]:
        gray = cv2.imread(paths[0], cv2.IMREAD_GRAYSCALE)
        scores = bow.scores([root_sift(extract_features(gray).descriptors)])
        assert max(scores, key=scores.get) == design_id
