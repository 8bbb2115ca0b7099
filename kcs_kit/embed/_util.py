"""Small helpers shared by the encoder backends: input checks, offline loading, weight digests."""

from __future__ import annotations

import hashlib
import importlib
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from kcs_kit.errors import ImageError, MissingDependencyError, SchemaError

ONE_THREAD = False  # set by one_thread_each(): this process is one of several sharing the cores


def one_thread_each() -> None:
    """In each of several worker processes sharing the cores: torch, OpenCV and ONNX Runtime use one thread
    (their own thread pools would otherwise contend, several threads per core), and a match runs its stages
    one after another."""
    global ONE_THREAD
    import cv2
    import torch

    from kcs_kit.embed import ocr_rapid

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    ocr_rapid.set_threads(1)
    ONE_THREAD = True


def as_rgb(image: Any, who: str) -> np.ndarray:
    """``image`` as a C-contiguous RGB uint8 array (H, W, 3); ImageError naming ``who`` otherwise."""
    if not isinstance(image, np.ndarray):
        raise ImageError(f"{who}: expected an RGB numpy array (H, W, 3) uint8, found {type(image).__name__}",
                         hint="decode the photo first (kcs_kit.registry.images or PIL + numpy.asarray)")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
        raise ImageError(f"{who}: expected an RGB array (H, W, 3) of uint8, found shape {image.shape} "
                         f"dtype {image.dtype}", hint="convert with PIL .convert('RGB') and numpy.asarray")
    return np.ascontiguousarray(image)


def as_texts(texts: Any, who: str) -> list[str]:
    """``texts`` as a list of str; SchemaError naming the first bad item otherwise."""
    if isinstance(texts, str):
        raise SchemaError(f"{who}: expected a sequence of strings, found a single string {texts[:40]!r}",
                          hint="wrap it in a list: encode_texts([text])")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise SchemaError(f"{who}: text #{i} should be a str, found {type(t).__name__} {t!r:.60}",
                              hint="convert missing values to '' before encoding")
    return out


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm, as float32 (an all-zero row stays zero)."""
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.ascontiguousarray(v / np.maximum(norms, 1e-12), dtype=np.float32)


def files_digest(root: Path, *, content_of: tuple[str, ...] = ()) -> str:
    """Short hash of every file's relative name and size under ``root`` (plus the bytes of ``content_of``).

    Cheap (no weight file is read) and changes whenever the weights are swapped for others.
    """
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and ".cache" not in p.parts):
        rel = path.relative_to(root).as_posix()
        h.update(f"{rel}\0{path.stat().st_size}\n".encode())
        if rel in content_of:
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def set_offline() -> None:
    """Forbid every Hugging Face hub access in this process before a model is loaded from a local folder."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def require(module: str, what: str, install: str) -> ModuleType:
    """Import ``module`` or raise MissingDependencyError saying that ``what`` needs ``install``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(f"{what} needs the Python package {module!r}, which is not installed",
                                     hint=install) from exc
