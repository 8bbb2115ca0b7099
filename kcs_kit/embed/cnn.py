"""``marknet``: a small CNN trained by the project itself (no pretrained weights) that embeds marks.

It is trained with metric learning on augmented renders of the registry (``cnn_recipe.py``,
``cnn_train.py``) so that a mark printed, embossed, woven, warped, recoloured or half hidden on a product
lands near the flat registered drawing. It runs fully convolutionally: the photo is read at a pyramid of
scales and every 64x64-pixel window (stride 8) of every scale gets a vector, so a small mark in a cluttered
photo is found where it is instead of being drowned by the whole frame.

Weights ship in ``kcs_kit/data/marknet.pt`` with their SHA-256 in ``marknet.json``; a file whose hash
differs is refused. Beside them ships ``marknet.onnx``, the same network's window model (photos -> window
vectors, any batch and size) exported by ``export_onnx`` when the weights are written (its hash is in the
.json too): matching runs it in ONNX Runtime, which RapidOCR loads anyway, so a query never imports torch
(about 1.5 s of a cold start) and the windows take a third to half of torch's time. Its vectors equal
torch's within 1e-5 (tested). ``region_vectors`` reads a photo's proposed regions as crops cut like training
crops, all in one batched call (``kcs bench shortlists`` measures it; matching does not use it).
Index builds and training use torch; weights without an .onnx are run in torch throughout.

Example::

    >>> import numpy as np
    >>> from kcs_kit.embed.cnn import MarkNetEncoder
    >>> enc = MarkNetEncoder.load()  # doctest: +SKIP
    >>> enc.design_vectors([np.full((64, 64, 3), 255, np.uint8)]).shape  # doctest: +SKIP
    (1, 128)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kcs_kit.embed._util import export_onnx as write_onnx
from kcs_kit.embed._util import library_threads, onnx_session, write_text_atomic
from kcs_kit.errors import KcsError, MissingDependencyError

NAME = "marknet"
DATA = Path(__file__).resolve().parents[1] / "data"
WEIGHTS = DATA / "marknet.pt"
META = DATA / "marknet.json"
WINDOW = 64  # pixels of the window a vector describes (8 x 8 cells of the stride-8 feature map)
CANVAS = 96  # training crops: the window in the middle of a 96 x 96 crop (context as in a photo)
CELLS = WINDOW // 8
# Photo pyramid: the window covers these fractions of the photo's shorter side (marks of ~5-60% of the frame).
SCALES = (0.85, 0.6, 0.42, 0.3, 0.21)
ONNX_OPSET = 17


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is a pinned dependency
        raise MissingDependencyError("the marknet encoder needs torch: run `make install`") from exc
    return torch


def _box_mean(x):
    """Mean over the 33 x 33 neighbourhood inside the image, as two 1-D passes: the valid part of a window is a
    rectangle, so the mean of the column means is the 2-D mean (equal to one 33 x 33 pass within 1e-6) at a
    seventh of the time."""
    f = _torch().nn.functional
    y = f.avg_pool2d(x, (33, 1), 1, (16, 0), count_include_pad=False)
    return f.avg_pool2d(y, (1, 33), 1, (0, 16), count_include_pad=False)


def build_net(width: int = 16, dim: int = 128):
    """The network: stride-8 backbone -> 1x1 head; ``pool`` turns a cell map into window vectors."""
    torch = _torch()
    nn = torch.nn

    def block(cin: int, cout: int, stride: int) -> list:
        return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    w = width
    layers = [*block(1, w, 2), *block(w, w, 1), *block(w, 2 * w, 2), *block(2 * w, 2 * w, 1),
              *block(2 * w, 4 * w, 2), *block(4 * w, 4 * w, 1), *block(4 * w, 8 * w, 1)]

    class MarkNet(nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(*layers)
            self.proj = nn.Linear(8 * w, dim)

        def cells(self, x):  # (B, 1, H, W) in [0, 1] -> (B, C, H/8, W/8)
            # local contrast normalisation (33-px neighbourhood): the same for a crop and a whole photo
            mu = _box_mean(x)
            sd = _box_mean((x - mu) ** 2).sqrt()
            return self.features((x - mu) / (sd + 0.05))

        def pool(self, cells, stride: int = 1):  # -> (B, h, w, dim) L2-normalised window vectors
            g = torch.nn.functional.avg_pool2d(cells.clamp(min=1e-6).pow(3), CELLS, stride).pow(1 / 3)
            v = self.proj(g.permute(0, 2, 3, 1))
            return torch.nn.functional.normalize(v, dim=-1)

        def forward(self, x):  # training crops (B, 1, 96, 96): the middle 64 x 64 window
            c = self.cells(x)
            m = (c.shape[-1] - CELLS) // 2
            return self.pool(c[:, :, m:m + CELLS, m:m + CELLS])[:, 0, 0]

    return MarkNet()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def to_gray01(rgb: np.ndarray) -> np.ndarray:
    """Grey in [0, 1] (float32) by the ITU-R 601 weights. Summed channel by channel in float64: the same
    numbers as ``rgb @ weights`` (tested), at 16 ms instead of 42 ms for a 1,600 x 1,200 photo."""
    if rgb.ndim == 2:
        g = np.asarray(rgb, np.float64)
    else:
        g = rgb[..., 0].astype(np.float64) * 0.299
        g += rgb[..., 1].astype(np.float64) * 0.587
        g += rgb[..., 2].astype(np.float64) * 0.114
    return (g.astype(np.float32) / 255.0).astype(np.float32)


def design_canvas(rgb: np.ndarray) -> np.ndarray:
    """A registered drawing (dark on light) -> 96 x 96 grey canvas with the mark fitted in the middle 64."""
    import cv2

    g = to_gray01(rgb)
    ink = 1.0 - g
    ys, xs = np.nonzero(ink > 0.1)
    if len(xs):
        g = g[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    h, w = g.shape
    s = WINDOW * 0.9 / max(h, w)
    small = cv2.resize(g, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    out = np.ones((CANVAS, CANVAS), np.float32)
    y0, x0 = (CANVAS - small.shape[0]) // 2, (CANVAS - small.shape[1]) // 2
    out[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
    return out


def region_crops(gray: np.ndarray, boxes: Sequence[Sequence[float]]) -> np.ndarray:
    """96 x 96 crops (n, 96, 96) of a grey photo's regions (boxes x0, y0, x1, y1 in its pixels), each cut as a
    training crop is: the region's longer side at 0.9 of the 64-px window, centred in the canvas (the photo around
    it as context, its edge replicated beyond the frame)."""
    import cv2

    crops = []
    for x0, y0, x1, y1 in boxes:
        side = max(1, round(max(x1 - x0, y1 - y0, 1.0) * CANVAS / (0.9 * WINDOW)))
        patch = cv2.getRectSubPix(gray, (side, side), ((x0 + x1) / 2, (y0 + y1) / 2))  # edge replicated
        crops.append(cv2.resize(patch, (CANVAS, CANVAS), interpolation=cv2.INTER_AREA))
    return np.ascontiguousarray(np.stack(crops), np.float32)


def _windows_model(net: Any) -> Any:
    """The fully convolutional window model: grey photo (1, 1, H, W) in [0, 1] -> window vectors (1, h, w, dim)."""
    torch = _torch()

    class Windows(torch.nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net.pool(self.net.cells(x))

    return Windows().eval()


def export_onnx(net: Any, path: Path) -> str:
    """Write ``net``'s window model to ``path`` as ONNX (any photo size); returns the file's SHA-256."""
    axes = {"gray": {0: "batch", 2: "height", 3: "width"}, "windows": {0: "batch", 1: "rows", 2: "cols"}}
    write_onnx(_windows_model(net), (_torch().rand(1, 1, 96, 128),), path, inputs=["gray"], outputs=["windows"],
               dynamic_axes=axes, opset=ONNX_OPSET)
    return sha256(path)


def install_onnx(weights: Path = WEIGHTS) -> dict:
    """Export the window model of ``weights`` beside them (``.onnx``) and record its hash in their .json;
    returns the .json's "onnx" entry. What ``kcs model export-marknet`` and training do."""
    enc = MarkNetEncoder.load(weights)
    meta_path = weights.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["onnx"] = {"sha256": export_onnx(enc.net, weights.with_suffix(".onnx")), "weights_sha256": meta["sha256"],
                    "opset": ONNX_OPSET}
    write_text_atomic(meta_path, json.dumps(meta, indent=2) + "\n")
    return meta["onnx"]


@dataclass
class MarkNetEncoder:
    weights: Path
    version: str
    dim: int
    width: int = 16
    onnx: Path | None = None  # the exported window model, when it ships with the weights (its hash checked)
    name: str = NAME
    threads: int = 0  # ONNX Runtime threads (0: all cores); matching sets 1 when its stages run side by side
    _net: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, weights: Path = WEIGHTS) -> MarkNetEncoder:
        """The encoder of ``weights`` (checked against the SHA-256 in their .json); torch is imported only when
        the torch network is used (index builds, training, weights without an .onnx)."""
        meta_path = weights.with_suffix(".json")
        if not weights.is_file() or not meta_path.is_file():
            raise KcsError(f"marknet weights {weights}: file or its .json is missing",
                           hint="train them with `kcs model train-marknet` or reinstall kcs-kit")
        meta = json.loads(meta_path.read_text())
        digest = sha256(weights)
        if digest != meta["sha256"]:
            raise KcsError(f"marknet weights {weights}: SHA-256 {digest[:12]}... does not match "
                           f"{meta['sha256'][:12]}... in {meta_path.name}", hint="the file is damaged; reinstall it")
        path, exported = weights.with_suffix(".onnx"), meta.get("onnx") or {}
        onnx = path if path.is_file() and exported.get("weights_sha256") == digest else None  # else torch only
        if onnx is not None and (got := sha256(onnx)) != exported.get("sha256"):
            raise KcsError(f"marknet window model {onnx}: SHA-256 {got[:12]}... does not match "
                           f"{str(exported.get('sha256'))[:12]}... in {meta_path.name}",
                           hint="the file is damaged: reinstall it, or delete it to run the weights in torch")
        return cls(weights=weights, version=digest[:12], dim=int(meta["dim"]), width=int(meta["width"]), onnx=onnx)

    @property
    def net(self) -> Any:
        """The torch network (built on first use)."""
        if self._net is None:
            torch = _torch()
            net = build_net(self.width, self.dim)
            net.load_state_dict(torch.load(self.weights, map_location="cpu", weights_only=True))
            net.eval()
            self._net = net
        return self._net

    def session(self) -> Any:
        """The ONNX Runtime session of the exported window model (None without one), with ``threads``."""
        return onnx_session(str(self.onnx), library_threads(self.threads)) if self.onnx is not None else None

    def _windows(self, x: np.ndarray, runtime: str) -> np.ndarray:
        """Window vectors (h, w, dim) of one grey image (H, W) in [0, 1], by ONNX Runtime or torch."""
        if runtime == "onnx" and self.onnx is not None:
            return self.session().run(None, {"gray": x[None, None]})[0][0]
        torch = _torch()
        with torch.inference_mode():
            return self.net.pool(self.net.cells(torch.from_numpy(x)[None, None]))[0].numpy()

    def _centres(self, crops: np.ndarray) -> np.ndarray:
        """The middle window's vector (n, dim) of each 96 x 96 grey crop (n, 96, 96): one batched ONNX call
        (a window model exported with a fixed batch of 1 is called per crop), else torch."""
        sess = self.session()
        if sess is not None:
            if isinstance(sess.get_inputs()[0].shape[0], str):  # a dynamic batch axis
                v = sess.run(None, {"gray": crops[:, None]})[0]
            else:  # an export of an earlier kcs-kit: batch fixed at 1
                v = np.concatenate([sess.run(None, {"gray": c[None, None]})[0] for c in crops])
        else:
            torch = _torch()
            with torch.inference_mode():
                v = self.net.pool(self.net.cells(torch.from_numpy(crops)[:, None])).numpy()
        return v[:, v.shape[1] // 2, v.shape[2] // 2]

    def region_vectors(self, rgb: np.ndarray, boxes: Sequence[Sequence[float]]) -> np.ndarray:
        """Vectors (n, dim) of regions of a photo (boxes x0, y0, x1, y1 in its pixels), each cut as a training
        crop is: the region's longer side at 0.9 of the 64-px window, centred in a 96-px canvas (the photo
        around it as context, its edge replicated beyond the frame)."""
        if not len(boxes):
            return np.zeros((0, self.dim), np.float32)
        return self._centres(region_crops(to_gray01(rgb), boxes)).astype(np.float32)

    def design_vectors(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Registered drawings (dark on light renders) -> (n, dim) unit vectors."""
        torch = _torch()
        if not images:
            return np.zeros((0, self.dim), np.float32)
        x = torch.from_numpy(np.stack([design_canvas(im) for im in images]))[:, None]
        with torch.inference_mode():
            return self.net(x).numpy().astype(np.float32)  # type: ignore[operator]

    def photo_windows(self, rgb: np.ndarray, scales: Sequence[float] = SCALES, *, runtime: str = "onnx"
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Vectors (m, dim) of every 64-px window at every pyramid scale and their boxes (m, 4) in the photo.

        ``runtime``: "onnx" (the exported window model when it ships with the weights, else torch) or "torch"."""
        import cv2

        gray = to_gray01(rgb)
        h, w = gray.shape
        vecs, boxes = [], []
        for frac in scales:
            s = WINDOW / (frac * min(h, w))
            sw, sh = max(WINDOW, round(w * s)), max(WINDOW, round(h * s))
            img = cv2.resize(gray, (sw, sh), interpolation=cv2.INTER_AREA)
            v = self._windows(np.ascontiguousarray(img, np.float32), runtime)
            gy, gx = np.mgrid[0:v.shape[0], 0:v.shape[1]]
            b = np.stack([gx * 8, gy * 8, gx * 8 + WINDOW, gy * 8 + WINDOW], -1).reshape(-1, 4)
            b = np.minimum(b, [sw, sh, sw, sh])  # the last cells of a padded map overhang the image
            vecs.append(v.reshape(-1, v.shape[-1]))
            boxes.append(b * np.array([w / sw, h / sh, w / sw, h / sh]))
        return np.concatenate(vecs).astype(np.float32), np.concatenate(boxes).astype(np.float32)
