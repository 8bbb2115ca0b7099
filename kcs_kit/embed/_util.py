"""Small helpers shared by the encoder backends: input checks, offline loading, weight digests."""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from kcs_kit.errors import ImageError, KcsError, MissingDependencyError, SchemaError

ONE_THREAD = False  # set by one_thread_each(): this process is one of several sharing the cores


def one_thread_each() -> None:
    """In each of several worker processes sharing the cores: torch, OpenCV and ONNX Runtime use one thread
    (their own thread pools would otherwise contend, several threads per core), and a match runs its stages
    one after another."""
    global ONE_THREAD
    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    ONE_THREAD = True  # the ONNX Runtime sessions follow it (library_threads)


def opencv() -> ModuleType:
    """OpenCV on one thread: parallelism comes from the match threads and worker processes; OpenCV's own pool
    would only contend with them."""
    import cv2

    cv2.setNumThreads(1)
    return cv2


def at_most(image: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    """``image`` reduced (area averaging) so that its longer side is at most ``side`` px, never enlarged, and the
    scale applied (1.0: the image itself)."""
    h, w = image.shape[:2]
    s = min(1.0, side / max(h, w))
    if s == 1.0:
        return image, s
    cv2 = opencv()
    return cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA), s


def library_threads(wanted: int = 0) -> int:
    """Threads for a library's own pool (ONNX Runtime): 1 in a worker process that shares the cores with
    others (``one_thread_each``), else ``wanted`` (0: the library's default, all cores)."""
    return 1 if ONE_THREAD else wanted


@functools.lru_cache(maxsize=8)
def onnx_session(path: str, threads: int) -> Any:
    """An ONNX Runtime CPU session of the model at ``path`` with ``threads`` intra-op threads (0: all cores),
    made once per process, model and thread count."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
        raise KcsError(f"model {path}: ONNX Runtime cannot load it ({exc})",
                       hint="the file is damaged: delete it and export it again") from exc


def export_onnx(module: Any, args: tuple, path: Path, *, inputs: list[str], outputs: list[str],
                dynamic_axes: dict[str, dict[int, str]], opset: int = 17) -> None:
    """Write a torch ``module`` (traced on ``args``) to ``path`` as ONNX, atomically (a temporary file, then a
    rename); needs torch and the onnx package."""
    import torch

    try:
        import onnx  # noqa: F401  (the exporter needs it)
    except ImportError as exc:  # pragma: no cover - onnx is a pinned dependency
        raise MissingDependencyError("exporting a model to ONNX needs the onnx package: run `make install`") from exc
    tmp = path.with_suffix(path.suffix + ".tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notices
        torch.onnx.export(module.eval(), args, str(tmp), dynamo=False, opset_version=opset, input_names=inputs,
                          output_names=outputs, dynamic_axes=dynamic_axes)
    os.replace(tmp, path)


def write_text_atomic(path: Path, text: str) -> None:
    """``text`` into ``path`` by a temporary file and a rename: readers see the old file or the new one."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


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
