"""The ``marknet`` design vectors: one unit vector per registered view, kept beside the registry.

The learned encoder (``kcs_kit/embed/cnn.py``) embeds each active design's dark-on-light drawing; the
vectors live in ``registry/marknet-<weights hash>.npz`` (ids, views, vectors, hubness), rebuilt by ``kcs index
build`` when the active designs or the weights change.

Scores are hubness-corrected, as the silhouettes' are (cross-domain similarity local scaling, CSLS): a window
that looks like every drawing (a blob, a product edge, fabric) and a drawing that looks like every photo window
(a disk, a plain curve, a letter) would otherwise win on many photos. The score of a design in a window is its
cosine minus half of the window's mean cosine with its 10 best designs and half of the drawing's mean cosine
with its most similar *photo windows* of other marks (CSLS halved: 2 cos - r_window - r_drawing, over 2).

The drawing's neighbourhood is measured where it is used, among photo windows: ``kcs index build`` makes a
bank of photo-like crops of the registry's own marks with marknet's training recipe (warped, lit, on clutter,
embossed, woven; no clean drawings; written independently of the benchmark's generator), cuts each crop into
its 25 windows (the mark whole, off-centre or in part, as a photo's windows show it) and keeps, per drawing,
the mean cosine of its k most similar windows that show another mark. A simple curve (Air India's) or a disk
scores high there although no other *drawing* looks like it: it looks like a piece of almost any mark. v8
measured the drawing's hubness among the other drawings instead (a quarter weight); with all signals computed
again, over the 1,800 fitting queries (out of fold, reject ratio 0.35) reading accuracy went from 65.3% to
66.7% and rejection from 94.7% to 94.4%. Air India, the most frequent wrong winner (27 of 200 wrongly ranked
fitting photos), was a low hub among drawings (rank 3,252 of 3,403) but a high one among windows (393).

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
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import polars as pl

from kcs_kit.config import Settings
from kcs_kit.embed.base import best_per_design, hub_k, place_hubness
from kcs_kit.embed.cnn import WEIGHTS, MarkNetEncoder, _torch
from kcs_kit.index import coarse
from kcs_kit.index.bank import BANK_SEED, bank_designs, bank_k, crop_count, draw_bank, keep_mask, photo_like_crops
from kcs_kit.index.bank import hubness as bank_hubness
from kcs_kit.index.coarse import InvertedLists
from kcs_kit.index.design_arrays import fingerprint, is_current, save_arrays

BATCH = 64
WINDOW_HUB = 0.5  # weight of a window's hubness (as in CSLS: 2 cos - r_window - r_drawing, halved)
DESIGN_HUB = 0.5  # weight of a drawing's hubness among photo windows of other marks
HUB_KIND = "photo-windows-1"  # what the stored hubness measures (files of another kind are rebuilt)
BANK_WINDOWS_PER_K = 5000  # k = bank windows / 5,000 (17 at the demo registry), 5 to 50


def hubness(ids: np.ndarray, matrix: np.ndarray, bank: np.ndarray, bank_ids: np.ndarray, k: int | None = None
            ) -> np.ndarray:
    """Per row: the drawing's mean cosine with its k most similar rows of ``bank`` (windows, or other
    drawings) that belong to other designs (k as for a photo's windows by default)."""
    return bank_hubness(ids, matrix, bank_ids, lambda rows: rows @ bank.T, k or hub_k(len(bank)))


def window_bank(encoder: MarkNetEncoder, masks: np.ndarray, *, crops: int | None = None,
                seed: int = BANK_SEED) -> tuple[np.ndarray, np.ndarray]:
    """The windows of a bank of photo-like crops of the marks ``masks`` (n, 96, 96): each crop cut into its
    5 x 5 windows of 64 px at stride 8 (the mark whole, off-centre or in part, as a photo's windows show it).
    Returns the window vectors (m, dim) and, per window, the index of the mark its crop shows."""
    torch = _torch()
    net = encoder.net
    vecs, labs = [], []
    with torch.inference_mode():
        for x, lab in photo_like_crops(masks, crops or crop_count(len(masks)), seed=seed):
            v = net.pool(net.cells(x))  # type: ignore[attr-defined]
            vecs.append(v.reshape(-1, v.shape[-1]).numpy())
            labs.append(np.repeat(lab, v.shape[1] * v.shape[2]))
    return np.concatenate(vecs).astype(np.float32), np.concatenate(labs)


def photo_hubness(encoder: MarkNetEncoder, ids: np.ndarray, matrix: np.ndarray,
                  masks: dict[str, np.ndarray], *, seed: int = BANK_SEED) -> np.ndarray:
    """Per row of ``matrix``: the drawing's hubness among photo-like windows of other marks, from a bank
    made of ``masks`` (design id -> ink mask, of the ``bank_designs``)."""
    bank, bank_ids = draw_bank(masks, lambda m: window_bank(encoder, m, seed=seed))
    return hubness(ids, matrix, bank, bank_ids, k=bank_k(len(bank), BANK_WINDOWS_PER_K))


@dataclass(frozen=True)
class DesignVectors:
    encoder: MarkNetEncoder
    ids: np.ndarray  # design id per row
    matrix: np.ndarray  # (n, dim) unit vectors
    hub: np.ndarray  # (n,) each drawing's hubness among photo windows of other marks
    views: np.ndarray | None = None  # (n,) which view of its design each row is
    lists: InvertedLists | None = None  # above EXACT_MAX rows: the rows grouped (and stored) list by list

    def searched(self, exact_max: int | None = None, cache: tuple[Path, str] | None = None) -> DesignVectors:
        """These vectors as matching searches them: as they are up to ``exact_max`` rows, else grouped into
        inverted lists (``index/coarse.py``; kept at ``cache``'s path for its key), the rows stored list by
        list."""
        if len(self.ids) <= (coarse.EXACT_MAX if exact_max is None else exact_max) or self.lists is not None:
            return self
        lists = InvertedLists.learn(self.matrix, cache)
        o = lists.order
        return replace(self, ids=self.ids[o], matrix=np.ascontiguousarray(self.matrix[o]), hub=self.hub[o],
                       views=None if self.views is None else self.views[o], lists=lists)

    def scores(self, windows: np.ndarray, only: set[str] | None = None, hub_out: list[np.ndarray] | None = None
               ) -> tuple[dict[str, float], dict[str, int]]:
        """Best hubness-corrected cosine of each design over the windows, and the index of that window
        (through the inverted lists at a large registry: the designs the windows reached, and all of
        ``only``, the designs an officer's filter allows). ``hub_out``: each window's hubness is appended to it
        (what ``WindowStats`` needs)."""
        if not len(windows) or not len(self.ids):
            return {}, {}
        if self.lists is not None:
            return coarse.search(self.lists, self.ids, windows, lambda p, s, e: windows[p] @ self.matrix[s:e].T,
                                 lambda r: windows @ self.matrix[r].T, WINDOW_HUB, DESIGN_HUB * self.hub, only,
                                 hub_out=hub_out)
        sims = windows @ self.matrix.T  # (windows, rows): ~2,700 x 3,403 for a photo, corrected in place
        hub = place_hubness(sims)
        if hub_out is not None:
            hub_out.append(hub)
        sims -= WINDOW_HUB * hub[:, None]
        return best_per_design(self.ids, sims, DESIGN_HUB * self.hub)

    @cached_property
    def _design_rows(self) -> dict[str, np.ndarray]:
        """Design id -> its rows (views)."""
        o = np.argsort(self.ids, kind="stable")
        ids = self.ids[o]
        cut = np.flatnonzero(ids[1:] != ids[:-1]) + 1
        return {str(part[0]): rows for part, rows in zip(np.split(ids, cut), np.split(o, cut), strict=True)
                if len(part)}

    def peaks(self, best: dict[str, float], stats: WindowStats) -> dict[str, float]:
        """How far each design's best score over a photo's windows (``best``, from ``scores``) stands above its
        mean hubness-corrected score over all those windows (of its best view): a texture or a product that
        resembles a drawing resembles it in every window, a mark in one place. The mean of the cosines is the
        cosine with the windows' mean vector, and their hubness comes from ``scores`` (``stats``), so this costs
        one dot product per view."""
        rows = self._design_rows
        out: dict[str, float] = {}
        for d, b in best.items():
            r = rows.get(d)
            if r is not None:
                mean = self.matrix[r] @ stats.mean - DESIGN_HUB * self.hub[r]
                out[d] = b - (float(mean.max()) - WINDOW_HUB * stats.hub_mean)
        return out


@dataclass(frozen=True)
class WindowStats:
    """A photo's marknet windows summed up for ``DesignVectors.peaks``: their mean vector and mean hubness."""

    mean: np.ndarray  # (dim,)
    hub_mean: float

    @classmethod
    def of(cls, windows: np.ndarray, hub: np.ndarray) -> WindowStats:
        return cls(windows.mean(0), float(np.mean(hub)) if len(hub) else 0.0)


def _path(settings: Settings, version: str) -> Path:
    return settings.registry_dir / f"marknet-{version}.npz"


def embed_registry(enc: MarkNetEncoder, active: pl.DataFrame, tick: Callable | None = None,
                   log: Callable[[str], None] = lambda _m: None) -> DesignVectors:
    """Every active design's views embedded with ``enc``, and each drawing's hubness among photo-like windows
    of other marks (what ``kcs index build`` stores; ``kcs bench marknet`` does it for weights not installed)."""
    from PIL import Image

    ids, views, vecs = [], [], []
    in_bank = bank_designs(active["design_id"].to_list())
    masks: dict[str, np.ndarray] = {}  # the first view of each of them as an ink mask
    rows = [(d, v, p) for d, paths in zip(active["design_id"], active["paths"], strict=True)
            for v, p in enumerate(paths)]
    for start in range(0, len(rows), BATCH):
        part = rows[start:start + BATCH]
        images = [np.asarray(Image.open(p).convert("RGB")) for _d, _v, p in part]
        vecs.append(enc.design_vectors(images))
        for (d, v, _p), im in zip(part, images, strict=True):
            keep_mask(masks, in_bank, d, v, im)
        ids += [d for d, _v, _p in part]
        views += [v for _d, v, _p in part]
        if tick:
            tick(len({d for d, _v, _p in part}))
    matrix = np.concatenate(vecs) if vecs else np.zeros((0, enc.dim), np.float32)
    log("marknet: drawings' hubness among photo-like windows of the registry's marks")
    hub = photo_hubness(enc, np.array(ids), matrix, masks) if masks else np.zeros(0, np.float32)
    return DesignVectors(enc, np.array(ids), matrix, hub, np.array(views, np.int16))


def build_vectors(settings: Settings, active: pl.DataFrame, *, progress: Callable[[int], Callable] | None = None,
                  log: Callable[[str], None] = lambda _m: None) -> Path | None:
    """Embed every active design's views unless the file for these weights and designs exists."""
    if not WEIGHTS.exists():
        log("marknet weights not installed: the learned encoder is skipped")
        return None
    enc = MarkNetEncoder.load()
    path, fp = _path(settings, enc.version), f"{fingerprint(active)}:{HUB_KIND}"
    if is_current(path, fp):
        return path
    v = embed_registry(enc, active, progress(active.height) if progress else None, log)
    save_arrays(path, fp, ids=v.ids, views=np.asarray(v.views), vectors=v.matrix, hub=v.hub,
                hub_kind=np.array(HUB_KIND))
    log(f"marknet vectors: {len(v.ids):,} views of {active.height:,} designs")
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
    if "hub_kind" not in z.files or str(z["hub_kind"]) != HUB_KIND:
        return None  # written by an older kcs-kit: `kcs index build` rebuilds it
    return DesignVectors(enc, z["ids"], z["vectors"].astype(np.float32), z["hub"], z["views"]).searched(
        cache=(path.with_name(f"lists-{path.name}"), str(z["fingerprint"])))
