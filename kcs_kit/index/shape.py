"""The shape descriptors of the registered drawings (``kcs_kit/embed/shape.py``), kept beside the registry.

``kcs index build`` describes every active design's views (their silhouettes, from the dark-on-light
render) and measures each drawing's hubness (how much it looks like photo regions in general: the mean of its
k best correlations with the regions of a bank of photo-like crops of *other* marks, ``index/bank.py``); both
go to ``registry/shape-<version>.npz`` and are rebuilt when the active designs change. A photo's regions are
compared with all of them in a few matrix products (3,403 designs: ~0.1 s).

Until v9 the hubness was measured against the other drawings. Among photo regions Air India's plain curve,
Headspace's disk and Apache's feather, three of the most frequent wrong winners on the fitting photos, rank
50th, 1st and 64th of 3,403 hubs; among drawings they ranked 1,505th, 291st and 783rd. With all signals
computed again, over the 1,800 fitting queries (out of fold, reject ratio 0.35) reading accuracy went from
66.7% (marknet's bank alone) to 68.7%, rejection from 94.4% to 94.2%.

Example::

    >>> from kcs_kit.index.shape import load_shapes
    >>> idx = load_shapes(settings)  # doctest: +SKIP
    >>> idx.n  # doctest: +SKIP
    3403
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from kcs_kit.config import Settings
from kcs_kit.embed.shape import VERSION, ShapeIndex, describe, design_mask, photo_regions
from kcs_kit.index.bank import (
    BANK_SEED,
    bank_designs,
    bank_k,
    crop_count,
    draw_bank,
    hubness,
    keep_mask,
    photo_like_crops,
)
from kcs_kit.index.design_arrays import fingerprint, is_current, save_arrays

HUB_KIND = "photo-regions-2"  # what the stored hubness measures (files of another kind are rebuilt); 2: GROUP_GAP
BANK_CROPS = (128, 512)  # fewer crops than marknet's: each gives ~40 regions, and finding them costs ~20 ms
BANK_SIDE = 192  # the 96-px crops are enlarged to this side for the region finder (as a photo's mark would be)
REGIONS_PER_K = 2000  # k = bank regions / 2,000 (10 of 20,560 at the demo registry), 5 to 50


def region_bank(masks: np.ndarray, *, crops: int | None = None, seed: int = BANK_SEED
                ) -> tuple[np.ndarray, np.ndarray]:
    """The regions a photo's region finder proposes on a bank of photo-like crops of the marks ``masks``
    (n, 96, 96): their descriptors (m, 2 NR, NT) and, per region, the index of the mark its crop shows."""
    import cv2

    descs, labs = [], []
    for x, lab in photo_like_crops(masks, crops or crop_count(len(masks), BANK_CROPS), seed=seed):
        for img, mark in zip(x[:, 0].numpy(), lab, strict=True):
            grey = cv2.resize((img * 255).astype(np.uint8), (BANK_SIDE, BANK_SIDE), interpolation=cv2.INTER_LINEAR)
            for r in photo_regions(np.repeat(grey[:, :, None], 3, 2)):
                descs.append(r.descriptor)
                labs.append(int(mark))
    return np.stack(descs), np.array(labs)


def photo_hubness(ids: np.ndarray, matrix: np.ndarray, masks: dict[str, np.ndarray], *, crops: int | None = None,
                  seed: int = BANK_SEED) -> np.ndarray:
    """Per drawing (rows of ``matrix``): the mean of its k best correlations with the regions of photo-like
    crops of other marks (a bank made of ``masks``, design id -> ink mask, of the ``bank_designs``)."""
    bank, bank_ids = draw_bank(masks, lambda m: region_bank(m, crops=crops, seed=seed))
    regions = ShapeIndex(np.arange(len(bank)), bank)
    return hubness(ids, matrix, bank_ids, regions.correlations, bank_k(len(bank), REGIONS_PER_K), chunk=128)


def _path(settings: Settings) -> Path:
    return settings.registry_dir / f"shape-{VERSION}.npz"


def build_shapes(settings: Settings, active: pl.DataFrame, *, progress: Callable[[int], Callable] | None = None,
                 log: Callable[[str], None] = lambda _m: None) -> Path:
    """Describe every active design's views unless the file for these designs exists."""
    from PIL import Image

    path, fp = _path(settings), f"{fingerprint(active)}:{HUB_KIND}"
    if is_current(path, fp):
        return path
    ids, views, descs = [], [], []
    in_bank = bank_designs(active["design_id"].to_list())
    masks: dict[str, np.ndarray] = {}  # the first view of each of them as an ink mask
    tick = progress(active.height) if progress else None
    for d, paths in zip(active["design_id"], active["paths"], strict=True):
        for v, p in enumerate(paths):
            rgb = np.asarray(Image.open(p).convert("RGB"))
            keep_mask(masks, in_bank, d, v, rgb)
            desc = describe(design_mask(np.asarray(Image.fromarray(rgb).convert("L"))))
            if desc is not None:  # an empty or line-thin drawing has no shape to compare
                ids.append(d)
                views.append(v)
                descs.append(desc)
        if tick:
            tick(1)
    matrix = np.stack(descs) if descs else np.zeros((0, 1, 1), np.float32)
    log("silhouettes: drawings' hubness among the regions of photo-like crops of the registry's marks")
    hub = photo_hubness(np.array(ids), matrix, masks) if len(descs) > 1 and masks else \
        np.zeros(len(descs), np.float32)
    save_arrays(path, fp, ids=np.array(ids), views=np.array(views, np.int16), descriptors=matrix, hub=hub,
                hub_kind=np.array(HUB_KIND))
    log(f"shape descriptors: {len(ids):,} views of {active.height:,} designs")
    return path


def load_shapes(settings: Settings) -> ShapeIndex | None:
    """The designs' shape index, or None until ``kcs index build`` has described them (matching goes without)."""
    path = _path(settings)
    if not path.exists():
        return None
    z = np.load(path)
    if "hub_kind" not in z.files or str(z["hub_kind"]) != HUB_KIND:
        return None  # written by an older kcs-kit: `kcs index build` rebuilds it
    lists = (path.with_name(f"lists-{path.name}"), str(z["fingerprint"]))  # used above coarse.EXACT_MAX designs
    return ShapeIndex(z["ids"], z["descriptors"], z["hub"], cache=lists)
