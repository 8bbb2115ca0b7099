"""The ``marknet`` design vectors: one unit vector per registered view, kept beside the registry.

The learned encoder (``kcs_kit/embed/cnn.py``) embeds each active design's dark-on-light drawing; the
vectors live in ``registry/marknet-<weights hash>.npz`` (ids, views, vectors), rebuilt by ``kcs index build``
when the active designs or the weights change. A photo's window vectors are compared with all of them in
one matrix product (3,403 designs: ~1 ms per 1,000 windows); at hundreds of thousands of designs the same
vectors would go to a Chroma collection like the VLAD ones.

Example::

    >>> from kcs_kit.index.marknet import load_vectors
    >>> vecs = load_vectors(settings)  # doctest: +SKIP
    >>> vecs.matrix.shape  # doctest: +SKIP
    (3403, 128)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from kcs_kit.config import Settings
from kcs_kit.embed.base import best_per_design
from kcs_kit.embed.cnn import WEIGHTS, MarkNetEncoder
from kcs_kit.index.design_arrays import fingerprint, is_current, save_arrays

BATCH = 64


@dataclass(frozen=True)
class DesignVectors:
    encoder: MarkNetEncoder
    ids: np.ndarray  # design id per row
    matrix: np.ndarray  # (n, dim) unit vectors

    def scores(self, windows: np.ndarray) -> tuple[dict[str, float], dict[str, int]]:
        """Best cosine of each design over the windows, and the index of that window."""
        if not len(windows) or not len(self.ids):
            return {}, {}
        return best_per_design(self.ids, windows @ self.matrix.T)


def _path(settings: Settings, version: str) -> Path:
    return settings.registry_dir / f"marknet-{version}.npz"


def build_vectors(settings: Settings, active: pl.DataFrame, *, progress: Callable[[int], Callable] | None = None,
                  log: Callable[[str], None] = lambda _m: None) -> Path | None:
    """Embed every active design's views unless the file for these weights and designs exists."""
    from PIL import Image

    if not WEIGHTS.exists():
        log("marknet weights not installed: the learned encoder is skipped")
        return None
    enc = MarkNetEncoder.load()
    path, fp = _path(settings, enc.version), fingerprint(active)
    if is_current(path, fp):
        return path
    ids, views, vecs = [], [], []
    tick = progress(active.height) if progress else None
    rows = [(d, v, p) for d, paths in zip(active["design_id"], active["paths"], strict=True)
            for v, p in enumerate(paths)]
    for start in range(0, len(rows), BATCH):
        part = rows[start:start + BATCH]
        vecs.append(enc.design_vectors([np.asarray(Image.open(p).convert("RGB")) for _d, _v, p in part]))
        ids += [d for d, _v, _p in part]
        views += [v for _d, v, _p in part]
        if tick:
            tick(len({d for d, _v, _p in part}))
    save_arrays(path, fp, ids=np.array(ids), views=np.array(views, np.int16),
                vectors=np.concatenate(vecs) if vecs else np.zeros((0, enc.dim), np.float32))
    log(f"marknet vectors: {len(ids):,} views of {active.height:,} designs")
    return path


def load_vectors(settings: Settings) -> DesignVectors | None:
    """The design vectors for the installed weights, or None when the weights are not installed or
    ``kcs index build`` has not embedded the designs with them yet (matching then goes without them)."""
    if not WEIGHTS.exists():
        return None
    enc = MarkNetEncoder.load()
    path = _path(settings, enc.version)
    if not path.exists():
        return None
    z = np.load(path)
    return DesignVectors(enc, z["ids"], z["vectors"].astype(np.float32))
