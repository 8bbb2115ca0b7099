"""Image and text encoders ``clip``: a CLIP or SigLIP model loaded from ``settings.clip_model_dir`` only.

No pretrained image network ships in any package we install, so sites copy the weights into a local
folder (``config.json``, ``model.safetensors`` and the processor/tokenizer files that
``save_pretrained`` writes). Nothing is ever loaded by hub name and the hub is switched off first.

Example::

    >>> from kcs_kit.embed.clip import ClipImageEncoder
    >>> enc = ClipImageEncoder("/models/clip-vit-b32")   # doctest: +SKIP
    >>> enc.encode_images([rgb]).shape                    # doctest: +SKIP
    (1, 512)
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kcs_kit.embed._util import as_rgb, as_texts, files_digest, normalise, require, set_offline
from kcs_kit.embed.base import IMAGE_ENCODERS, TEXT_ENCODERS
from kcs_kit.errors import ConfigError

NAME = "clip"
_INSTALL = "run `make install` (or: .venv/bin/pip install torch==2.13.0 transformers)"
_BATCH = 32


def model_dir_from(settings: Any) -> Path:
    """``settings.clip_model_dir``, checked: ConfigError when unset or not a saved model folder."""
    folder = settings.clip_model_dir
    if folder is None:
        raise ConfigError("the 'clip' encoders need local weights: setting clip_model_dir is not set",
                          hint="copy a CLIP/SigLIP model folder (save_pretrained output) to this machine and "
                               "set KCS_CLIP_MODEL_DIR or clip_model_dir in kcs.toml; nothing is downloaded")
    return Path(folder)


def _read_config(folder: Path) -> dict[str, Any]:
    config = folder / "config.json"
    if not config.is_file():
        raise ConfigError(f"CLIP model folder {folder}: expected config.json and weights (save_pretrained "
                          f"output), found {'no folder' if not folder.is_dir() else 'no config.json'}",
                          hint="set clip_model_dir to the folder that holds config.json")
    try:
        return json.loads(config.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{config}: expected JSON, could not parse it ({exc})") from exc


def _dim(config: dict[str, Any], folder: Path) -> int:
    """Embedding size: CLIP's projection_dim, else (SigLIP) the vision tower's hidden size."""
    model_type = str(config.get("model_type", ""))
    if model_type == "clip":
        return int(config.get("projection_dim", 512))
    if model_type.startswith("siglip"):
        return int(config.get("vision_config", {}).get("hidden_size", 768))
    raise ConfigError(f"{folder / 'config.json'}: expected model_type 'clip' or 'siglip', found {model_type!r}",
                      hint="clip_model_dir must hold a CLIP or SigLIP model")


@functools.lru_cache(maxsize=2)
def _load(folder: str) -> tuple[Any, Any]:
    """(model, processor) from a local folder, in eval mode on CPU; loaded once per process and folder."""
    set_offline()
    require("torch", "the 'clip' encoders", _INSTALL)
    transformers = require("transformers", "the 'clip' encoders", _INSTALL)
    try:
        model = transformers.AutoModel.from_pretrained(folder, local_files_only=True)
        processor = transformers.AutoProcessor.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"CLIP model folder {folder}: expected a complete save_pretrained folder (model and "
                          f"processor), could not load it ({exc})",
                          hint="copy the whole model folder, tokenizer and preprocessor files included") from exc
    return model.eval(), processor


def _pooled(output: Any) -> Any:
    """The embedding tensor: transformers 5 returns an output object (``pooler_output``), 4.x a tensor."""
    if hasattr(output, "pooler_output") and output.pooler_output is not None:
        return output.pooler_output
    return output


class _ClipBase:
    name = NAME

    def __init__(self, model_dir: str | Path) -> None:
        folder = Path(model_dir).expanduser().resolve()
        config = _read_config(folder)
        self.model_dir = folder
        self.model_type = str(config.get("model_type"))
        self.dim = _dim(config, folder)
        self.version = f"{self.model_type}-{files_digest(folder, content_of=('config.json',))}"

    def _run(self, items: list[Any], encode: Callable[[Any, Any, list[Any]], Any]) -> np.ndarray:
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        torch = require("torch", "the 'clip' encoders", _INSTALL)
        model, processor = _load(str(self.model_dir))
        chunks = []
        with torch.inference_mode():
            for start in range(0, len(items), _BATCH):
                features = _pooled(encode(model, processor, items[start : start + _BATCH]))
                chunks.append(features.detach().float().cpu().numpy())
        return normalise(np.concatenate(chunks))


class ClipImageEncoder(_ClipBase):
    """CLIP/SigLIP image embeddings, L2-normalised float32 rows."""

    def encode_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """(n, dim) float32, each row L2-normalised; an empty batch gives (0, dim)."""
        rgbs = [as_rgb(image, f"image encoder {NAME} (image #{i})") for i, image in enumerate(images)]

        def encode(model: Any, processor: Any, batch: list[np.ndarray]) -> Any:
            inputs = processor(images=batch, return_tensors="pt")
            return model.get_image_features(pixel_values=inputs["pixel_values"])

        return self._run(rgbs, encode)


class ClipTextEncoder(_ClipBase):
    """CLIP/SigLIP text embeddings in the same space as ``ClipImageEncoder`` of the same folder."""

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, each row L2-normalised; an empty batch gives (0, dim)."""
        items = as_texts(texts, f"text encoder {NAME}")
        siglip = self.model_type.startswith("siglip")

        def encode(model: Any, processor: Any, batch: list[str]) -> Any:
            max_length = int(getattr(model.config.text_config, "max_position_embeddings", 77))
            inputs = processor(text=batch, return_tensors="pt", truncation=True, max_length=max_length,
                               padding="max_length" if siglip else True)
            kwargs = {k: inputs[k] for k in ("input_ids", "attention_mask") if k in inputs}
            return model.get_text_features(**kwargs)

        return self._run(items, encode)


def _image_factory(settings: Any) -> ClipImageEncoder:
    return ClipImageEncoder(model_dir_from(settings))


def _text_factory(settings: Any) -> ClipTextEncoder:
    return ClipTextEncoder(model_dir_from(settings))


IMAGE_ENCODERS[NAME] = _image_factory
TEXT_ENCODERS[NAME] = _text_factory
