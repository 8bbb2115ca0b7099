"""Encoders 'clip': a tiny random CLIP built from CLIPConfig, saved to a temp folder and loaded back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kcs_kit.config import load_settings
from kcs_kit.embed.base import get
from kcs_kit.embed.testkit import check_image_encoder, check_text_encoder, sample_images
from kcs_kit.errors import ConfigError, ImageError

pytest.importorskip("torch", reason="torch not installed: run `make install`")
pytest.importorskip("transformers", reason="transformers not installed: run `make install`")


def _tiny_clip(folder: Path) -> Path:
    """A random CLIP (32-px images, 2 layers, 16-d embeddings) with a character-level tokenizer."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for suffix in ("", "</w>"):
        for ch in "abcdefghijklmnopqrstuvwxyz0123456789":
            vocab[ch + suffix] = len(vocab)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[])
    tower = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
    config = CLIPConfig(
        text_config={**tower, "vocab_size": len(vocab), "max_position_embeddings": 32,
                     "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 1},
        vision_config={**tower, "image_size": 32, "patch_size": 8},
        projection_dim=16,
    )
    torch.manual_seed(0)
    images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    CLIPModel(config).save_pretrained(folder)
    CLIPProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory) -> Path:
    return _tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture(scope="module")
def clip_settings(clip_dir, tmp_path_factory):
    return load_settings(workspace=tmp_path_factory.mktemp("ws"), env={"KCS_CLIP_MODEL_DIR": str(clip_dir)})


def test_clip_image_encoder_keeps_the_contract(clip_settings):
    enc = get("image", "clip", clip_settings)
    check_image_encoder(enc)
    assert enc.dim == 16 and enc.version.startswith("clip-")


def test_clip_text_encoder_keeps_the_contract_in_the_same_space(clip_settings):
    text, image = get("text", "clip", clip_settings), get("image", "clip", clip_settings)
    check_text_encoder(text)
    assert text.dim == image.dim and text.version == image.version
    assert text.encode_texts(["a" * 500]).shape == (1, 16)  # truncated to the model's 32 positions


def test_many_images_are_encoded_in_batches(clip_settings):
    enc = get("image", "clip", clip_settings)
    images = sample_images() * 9  # 36 images: two batches of the backend's 32
    v = enc.encode_images(images)
    assert v.shape == (36, 16)
    assert np.allclose(v[0], v[32], atol=1e-5) and np.allclose(v[3], v[35], atol=1e-5)


def test_version_changes_with_the_weights(clip_dir, tmp_path):
    from kcs_kit.embed.clip import ClipImageEncoder

    copy = _tiny_clip(tmp_path / "other")
    config = json.loads((copy / "config.json").read_text())
    config["projection_dim"] = 16
    (copy / "config.json").write_text(json.dumps(config, indent=1))
    assert ClipImageEncoder(copy).version != ClipImageEncoder(clip_dir).version


def test_without_local_weights_the_error_says_what_to_set(tmp_path):
    settings = load_settings(workspace=tmp_path, env={})
    with pytest.raises(ConfigError, match="clip_model_dir is not set"):
        get("image", "clip", settings)
    with pytest.raises(ConfigError, match="expected config.json"):
        get("text", "clip", load_settings(workspace=tmp_path, env={}, clip_model_dir=str(tmp_path / "nope")))


def test_a_bad_image_is_named(clip_settings):
    enc = get("image", "clip", clip_settings)
    with pytest.raises(ImageError, match="image #1"):
        enc.encode_images([sample_images()[0], np.zeros((8, 8, 4), dtype=np.uint8)])


def test_importing_the_backends_loads_no_heavy_library():
    import subprocess
    import sys

    code = (
        "import sys, kcs_kit, kcs_kit.embed, kcs_kit.index, kcs_kit.embed.base as b, kcs_kit.embed.ocr, "
        "kcs_kit.index.testkit, kcs_kit.embed.testkit\n"
        "for m in b.BACKEND_MODULES: __import__(m)\n"
        "heavy = ('torch', 'transformers', 'sentence_transformers', 'chromadb', 'cv2', 'rapidocr_onnxruntime', "
        "'onnxruntime', 'PIL')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
