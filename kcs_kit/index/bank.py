"""Photo-like crops of the registry's own marks, to measure each drawing's hubness where it is used.

A drawing that resembles many photo windows or regions (a disk, a plain curve, a letter) wins on photos of
other marks, of blobs and of product edges. Cross-domain similarity local scaling (CSLS) subtracts its mean
similarity with its nearest neighbours *in the photos' domain*; the other registered drawings are a poor
stand-in for that domain (Air India's plain curve resembles few drawings but a piece of almost any mark).
``kcs index build`` therefore draws a seeded bank of photo-like crops of the registry's marks with marknet's
training recipe (``kcs_kit/embed/cnn_recipe.py``: warped, lit, on clutter, embossed, woven, partly hidden; no
clean drawings; written independently of the photo benchmark's generator) and measures marknet's drawings
against the crops' windows (``index/marknet.py``) and the silhouettes against the crops' regions
(``index/shape.py``), leaving out the crops of the drawing's own mark.

Example::

    >>> from kcs_kit.index.bank import crop_count
    >>> crop_count(20), crop_count(3403), crop_count(300_000)
    (256, 3403, 4096)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

BANK_CROPS = (256, 4096)  # crops: one per design, at least / at most
BANK_SEED = 0


def crop_count(designs: int, limits: tuple[int, int] = BANK_CROPS) -> int:
    """Crops in the bank of a registry of ``designs`` marks: one per design within ``limits``."""
    return min(max(designs, limits[0]), limits[1])


def bank_designs(design_ids: Sequence[str], seed: int = BANK_SEED) -> set[str]:
    """The designs whose marks make the bank: all, or a seeded sample of ``BANK_CROPS[1]`` of a large registry."""
    names = sorted(design_ids)
    if len(names) <= BANK_CROPS[1]:
        return set(names)
    return {names[i] for i in np.random.default_rng(seed).choice(len(names), BANK_CROPS[1], replace=False)}


def photo_like_crops(masks: np.ndarray, crops: int, *, seed: int = BANK_SEED, batch: int = 256
                     ) -> Iterator[tuple[Any, np.ndarray]]:
    """Seeded batches of ``crops`` photo-like crops (torch, (b, 1, 96, 96) in [0, 1]) of the marks ``masks``
    (n, 96, 96 ink masks), each with the index of the mark it shows; every mark once before any twice."""
    import torch

    from kcs_kit.embed.cnn_recipe import make_batch

    n = len(masks)
    g = torch.Generator().manual_seed(seed)
    labels = torch.cat([torch.randperm(n, generator=g) for _ in range(-(-crops // n))])[:crops]
    m = torch.from_numpy(np.ascontiguousarray(masks, dtype=np.float32))
    for start in range(0, crops, batch):
        lab = labels[start:start + batch]
        yield make_batch(m, lab, g, clean_share=0.0), lab.numpy()


def top_k_others(sims: np.ndarray, own: np.ndarray, bank_own: np.ndarray, k: int) -> np.ndarray:
    """Per row of (m, n) similarities with a bank: the mean of its k best among bank entries of another mark
    (``own`` (m,) and ``bank_own`` (n,) are integer mark codes). Modifies ``sims``."""
    from kcs_kit.embed.base import top_k_mean

    sims[own[:, None] == bank_own[None, :]] = -1.0
    return top_k_mean(sims, k)


def keep_mask(masks: dict[str, np.ndarray], in_bank: set[str], design_id: str, view: int, rgb: np.ndarray) -> None:
    """Keep the first view of a bank design (``in_bank``) in ``masks`` as the 96-px ink mask its crops are
    drawn from."""
    from kcs_kit.embed.cnn import design_canvas

    if view == 0 and design_id in in_bank:
        masks[design_id] = 1.0 - design_canvas(rgb)


def draw_bank(masks: dict[str, np.ndarray], make: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
              ) -> tuple[np.ndarray, np.ndarray]:
    """A bank made by ``make`` (ink masks (n, 96, 96) -> bank entries and, per entry, the index of its mark)
    from ``masks`` (design id -> ink mask): the entries and, per entry, the design id of its mark."""
    names = sorted(masks)
    bank, which = make(np.stack([masks[d] for d in names]))
    return bank, np.array(names)[which]


def bank_k(size: int, per_k: int) -> int:
    """Neighbours among ``size`` bank entries: one per ``per_k`` entries, 5 to 50."""
    return max(5, min(50, size // per_k))


def hubness(ids: np.ndarray, rows: np.ndarray, bank_ids: np.ndarray, similarity: Callable[[np.ndarray], np.ndarray],
            k: int, chunk: int = 256) -> np.ndarray:
    """Per drawing (``rows``, of designs ``ids``): the mean of its k best similarities with bank entries of
    other marks; ``similarity(rows)`` gives the (len(rows), bank) similarities, computed ``chunk`` rows at a
    time."""
    own, other = codes(ids, bank_ids)
    out = np.zeros(len(ids), np.float32)
    for start in range(0, len(ids), chunk):
        out[start:start + chunk] = top_k_others(similarity(rows[start:start + chunk]), own[start:start + chunk],
                                                other, k)
    return out


def codes(ids: np.ndarray, bank_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of the design ids of drawings and of bank entries, on one scale."""
    c = np.unique(np.concatenate([ids, bank_ids]), return_inverse=True)[1]
    return c[:len(ids)], c[len(ids):]
