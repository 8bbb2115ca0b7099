"""The Chroma index: the contract kit on an embedded store and on a real `chroma run` server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from kcs_kit.config import load_settings
from kcs_kit.errors import ConfigError, IndexNotBuiltError, SchemaError
from kcs_kit.index.testkit import check_index, unit_vectors

pytest.importorskip("chromadb", reason="chromadb not installed: run `make install`")

from kcs_kit.index import drop_index, open_index  # noqa: E402
from kcs_kit.index.chroma import EF_SEARCH, collection_name, ef_search  # noqa: E402


def _open(settings, dim=16, version="v1", **kw):
    return open_index(settings, family="designs-image", encoder_name="tiny", encoder_version=version, dim=dim, **kw)


def test_embedded_store_keeps_the_contract(settings):
    ix = _open(settings)
    check_index(ix)
    assert (settings.vectorstore_dir / "chroma.sqlite3").exists()


def test_vectors_persist_and_the_collection_records_its_encoder(settings):
    vectors = unit_vectors(3, 16)
    _open(settings).upsert(["a", "b", "c"], vectors, [{"right_holder": "ACME"}] * 3)
    again = _open(settings)
    assert again.count() == 3 and again.name == collection_name("designs-image", "tiny", "v1")
    assert again.collection.metadata["kcs_encoder_version"] == "v1"
    assert again.query(vectors[1:2], k=1, where={"right_holder": "ACME"})[0][0].id == "b"


def test_another_encoder_version_gets_its_own_collection_and_a_mismatch_is_refused(settings):
    _open(settings).upsert(["a"], unit_vectors(1, 16))
    assert _open(settings, version="v2").count() == 0
    with pytest.raises(IndexNotBuiltError, match="rebuild the index"):
        _open(settings, dim=32)
    with pytest.raises(IndexNotBuiltError, match="found none"):
        _open(settings, version="v3", create=False)
    assert drop_index(settings, family="designs-image", encoder_name="tiny", encoder_version="v1")
    assert _open(settings).count() == 0


def test_upserts_larger_than_a_chroma_batch_are_split(settings):
    ix = _open(settings, dim=8)
    ix.max_batch = 100
    ids = [f"id{i}" for i in range(250)]
    vecs = unit_vectors(250, 8)
    ix.upsert(ids, vecs)
    assert ix.count() == 250 and sorted(ix.ids()) == sorted(ids)
    got = ix.get_vectors([*ids, "absent"])  # read in batches of max_batch too
    assert list(got) == ids and np.allclose(np.stack(list(got.values())), vecs, atol=1e-6)
    ix.delete(ids[:150])
    assert ix.count() == 100


def test_queries_return_the_exact_nearest_vectors_at_registry_size(settings):
    # Random 64-d vectors are the hard case for HNSW: with Chroma's default breadth (100) only 5-9 of 20 such
    # queries got exactly their 30 nearest of 3,000 (and the answer could change between processes).
    vectors, queries = unit_vectors(3000, 64, seed=1), unit_vectors(20, 64, seed=2)
    ix = _open(settings, dim=64)
    ix.upsert([f"d{i}" for i in range(3000)], vectors)
    for q, hits in zip(queries, ix.query(queries, k=30), strict=True):
        exact = {f"d{i}" for i in np.argsort(-(vectors @ q))[:30]}
        assert {h.id for h in hits} == exact


def test_a_collection_built_with_the_default_breadth_is_widened_when_opened(settings):
    from kcs_kit.index.chroma import _client

    meta = {"kcs_family": "designs-image", "kcs_encoder": "tiny", "kcs_encoder_version": "v1", "kcs_dim": 16}
    old = _client(settings).create_collection(collection_name("designs-image", "tiny", "v1"), metadata=meta,
                                              embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
    assert ef_search(old) == 100  # Chroma's default, as indexes built before 2026-12-06 have it
    assert ef_search(_open(settings).collection) == EF_SEARCH
    assert ef_search(_client(settings).get_collection(old.name, embedding_function=None)) == EF_SEARCH


def test_bad_input_is_named(settings):
    ix = _open(settings, dim=8)
    with pytest.raises(SchemaError, match=r"shape \(2, 8\), found \(2, 5\)"):
        ix.upsert(["a", "b"], np.ones((2, 5), dtype=np.float32))
    with pytest.raises(SchemaError, match=r"duplicates \['a'\]"):
        ix.upsert(["a", "a"], unit_vectors(2, 8))
    with pytest.raises(SchemaError, match="classes should be a str"):
        ix.upsert(["a"], unit_vectors(1, 8), [{"classes": ["09", "14"]}])
    with pytest.raises(SchemaError, match="query vectors"):
        ix.query(np.ones(8, dtype=np.float32), k=1)


def test_http_mode_without_a_server_says_how_to_start_one(tmp_path):
    settings = load_settings(workspace=tmp_path, env={}, chroma_mode="http", chroma_port=_free_port())
    with pytest.raises(ConfigError, match="chroma run --host 127.0.0.1"):
        _open(settings)
    with pytest.raises(ConfigError, match="chroma_mode"):
        load_settings(workspace=tmp_path, env={}, chroma_mode="cloud")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_heartbeat(proc: subprocess.Popen, port: int, log: Path, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"chroma run exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"chroma run gave no heartbeat in {timeout_s:.0f} s: {log.read_text(errors='replace')[-2000:]}")


@pytest.fixture
def chroma_server(tmp_path):
    """A real Chroma server on 127.0.0.1 and a free port, stopped by PID afterwards."""
    exe = Path(sys.executable).with_name("chroma")
    if not exe.exists():
        exe = Path(shutil.which("chroma") or "")
    if not exe.is_file():
        pytest.skip("the `chroma` command of the chromadb package is not installed: run `make install`")
    port, log = _free_port(), tmp_path / "chroma.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(exe), "run", "--host", "127.0.0.1", "--port", str(port), "--path",
                                 str(tmp_path / "server-store")], stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_heartbeat(proc, port, log)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_server_mode_keeps_the_contract(chroma_server, tmp_path):
    settings = load_settings(workspace=tmp_path / "ws", env={"KCS_CHROMA_MODE": "http",
                                                            "KCS_CHROMA_PORT": str(chroma_server)})
    check_index(_open(settings))
    assert not (settings.vectorstore_dir / "chroma.sqlite3").exists()
