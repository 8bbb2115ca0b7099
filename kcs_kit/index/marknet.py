"""The ``marknet`` design vectors: one unit vector per registered view, kept beside the registry.

The learned encoder (``kcs_kit/embed/cnn.py``) embeds each active design's dark-on-light drawing; the
vectors live in ``registry/marknet-<weights hash>.npz`` (ids, views, vectors, hubness), rebuilt by ``kcs index
build`` when the active designs or the weights change.

Scores are hubness-corrected, as the silhouettes' are (cross-domain similarity local scaling): a window that
looks like every drawing (a blob, a product edge, fabric) and a drawing that looks like every other drawing
(a disk, a plain letter) would otherwise win on many photos. The score of a design in a window is its cosine
minus half of the window's mean cosine with its 10 best designs and a quarter of the drawing's mean cosine
with its 10 most similar other registered drawings (a quarter: the other drawings stand in for the photos
the drawing is compared with, a weaker proxy). On the first 200 queries of two fitting sets this put the
true design first for 27% and 32% of photos instead of 17% and 26%, and in the first 30 for 54% and 60%
instead of 47% and 54% (v6 weights; the textbook halves for both: 26% / 31% and 53% / 55%).

A photo's window vectors are compared with all of them in one matrix product (3,403 designs: ~1 ms per
1,000 windows); at hundreds of thousands of designs the same vectors would go to a Chroma collection like
the VLAD ones, and the windows' hubness would come from their nearest neighbours there.

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
from kcs_kit.embed.base import best_per_design, place_hubness
from kcs_kit.embed.cnn import WEIGHTS, MarkNetEncoder
from kcs_kit.index.design_arrays import fingerprint, is_current, save_arrays

BATCH = 64
WINDOW_HUB = 0.5  # weight of a window's hubness (as in CSLS: 2 cos - r_window - r_design, halved)
DESIGN_HUB = 0.25  # weight of a drawing's hubness among the other drawings


def hubness(ids: np.ndarray, matrix: np.ndarray, chunk: int = 512) -> np.ndarray:
    """Per row: the mean cosine of the drawing with its k most similar drawings of other designs."""
    codes = np.unique(ids, return_inverse=True)[1]
    out = np.zeros(len(ids), np.float32)
    for start in range(0, len(ids), chunk):
        sims = matrix[start:start + chunk] @ matrix.T
        sims[codes[start:start + chunk, None] == codes[None, :]] = -1.0  # not the design's own views
        out[start:start + chunk] = place_hubness(sims)  # the k best, as for a photo's windows
    return out


@dataclass(frozen=True)
class DesignVectors:
    encoder: MarkNetEncoder
    ids: np.ndarray  # design id per row
    matrix: np.ndarray  # (n, dim) unit vectors
    hub: np.ndarray  # (n,) each drawing's hubness among the others

    def scores(self, windows: np.ndarray) -> tuple[dict[str, float], dict[str, int]]:
        """Best hubness-corrected cosine of each design over the windows, and the index of that window."""
        if not len(windows) or not len(self.ids):
            return {}, {}
        sims = windows @ self.matrix.T  # (windows, rows): ~2,700 x 3,403 for a photo, corrected in place
        sims -= WINDOW_HUB * place_hubness(sims)[:, None]
        sims -= DESIGN_HUB * self.hub[None, :]
        return best_per_design(self.ids, sims)


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
    matrix = np.concatenate(vecs) if vecs else np.zeros((0, enc.dim), np.float32)
    save_arrays(path, fp, ids=np.array(ids), views=np.array(views, np.int16), vectors=matrix,
                hub=hubness(np.array(ids), matrix))
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
    matrix = z["vectors"].astype(np.float32)
    # files written before the hubness was kept: measure it now (~0.1 s at 3,403 designs)
    hub = z["hub"] if "hub" in z.files else hubness(z["ids"], matrix)
    return DesignVectors(enc, z["ids"], matrix, hub)
