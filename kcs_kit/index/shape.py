"""The shape descriptors of the registered drawings (``kcs_kit/embed/shape.py``), kept beside the registry.

``kcs index build`` describes every active design's views (their silhouettes, from the dark-on-light
render) and measures each drawing's hubness (how much it looks like drawings in general) against the other
drawings; both go to ``registry/shape-<version>.npz`` and are rebuilt when the active designs change. A
photo's regions are compared with all of them in a few matrix products (3,403 designs: ~0.1 s).

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
from kcs_kit.embed.shape import VERSION, ShapeIndex, describe, design_mask
from kcs_kit.index.design_arrays import fingerprint, is_current, save_arrays


def _path(settings: Settings) -> Path:
    return settings.registry_dir / f"shape-{VERSION}.npz"


def build_shapes(settings: Settings, active: pl.DataFrame, *, progress: Callable[[int], Callable] | None = None,
                 log: Callable[[str], None] = lambda _m: None) -> Path:
    """Describe every active design's views unless the file for these designs exists."""
    from PIL import Image

    path, fp = _path(settings), fingerprint(active)
    if is_current(path, fp):
        return path
    ids, views, descs = [], [], []
    tick = progress(active.height) if progress else None
    for d, paths in zip(active["design_id"], active["paths"], strict=True):
        for v, p in enumerate(paths):
            desc = describe(design_mask(np.asarray(Image.open(p).convert("L"))))
            if desc is not None:  # an empty or line-thin drawing has no shape to compare
                ids.append(d)
                views.append(v)
                descs.append(desc)
        if tick:
            tick(1)
    matrix = np.stack(descs) if descs else np.zeros((0, 1, 1), np.float32)
    hub = ShapeIndex.hubness(matrix) if len(descs) > 1 else np.zeros(len(descs), np.float32)
    save_arrays(path, fp, ids=np.array(ids), views=np.array(views, np.int16), descriptors=matrix, hub=hub)
    log(f"shape descriptors: {len(ids):,} views of {active.height:,} designs")
    return path


def load_shapes(settings: Settings) -> ShapeIndex | None:
    """The designs' shape index, or None until ``kcs index build`` has described them (matching goes without)."""
    path = _path(settings)
    if not path.exists():
        return None
    z = np.load(path)
    return ShapeIndex(z["ids"], z["descriptors"], z["hub"])
