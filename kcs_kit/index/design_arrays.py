"""Per-design arrays kept beside the registry (marknet vectors, silhouette descriptors): one ``.npz`` per
kind and version, keyed by a fingerprint of the active designs, written atomically."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import polars as pl


def fingerprint(active: pl.DataFrame) -> str:
    """A hash of the active designs and their content: the arrays are rebuilt when it changes."""
    h = hashlib.sha256()
    for d, c in zip(active["design_id"], active["content_sha256"], strict=True):
        h.update(f"{d}\t{c}\n".encode())
    return h.hexdigest()


def is_current(path: Path, fp: str) -> bool:
    return path.exists() and str(np.load(path)["fingerprint"]) == fp


def save_arrays(path: Path, fp: str, **arrays: np.ndarray) -> Path:
    """Write ``path`` atomically (temp file + rename) and remove older files of the same kind
    (``<kind>-*.npz`` beside it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    with os.fdopen(fd, "wb") as fh:
        np.savez(fh, fingerprint=np.array(fp), **arrays)  # type: ignore[arg-type]  # stubs read ** as allow_pickle
    os.replace(tmp, path)
    kind = path.name.split("-")[0]
    for old in path.parent.glob(f"{kind}-*.npz"):
        if old != path:
            old.unlink()
    return path
