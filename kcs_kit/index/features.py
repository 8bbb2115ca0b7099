"""The per-design feature store: local features of every view, for geometric verification of a shortlist.

One ``.npz`` per design under ``<workspace>/registry/features/<2 hex>/<id hash>.npz`` (file names come
from a hash of the design_id, never from the id itself), written atomically, stamped with the design's
content hash and the encoder version so that stale features are detected.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kcs_kit.config import Settings
from kcs_kit.embed.local import LocalFeatures
from kcs_kit.errors import IndexNotBuiltError


@dataclass(frozen=True)
class DesignFeatures:
    design_id: str
    content_sha256: str
    encoder_version: str
    views: tuple[LocalFeatures, ...]


class FeatureStore:
    def __init__(self, settings: Settings) -> None:
        self.root = settings.registry_dir / "features"

    def path(self, design_id: str) -> Path:
        h = hashlib.sha1(design_id.encode("utf-8")).hexdigest()
        return self.root / h[:2] / f"{h}.npz"

    def save(self, feats: DesignFeatures) -> Path:
        path = self.path(feats.design_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {}
        for i, v in enumerate(feats.views):
            arrays[f"kp{i}"], arrays[f"desc{i}"] = v.keypoints, v.descriptors
            arrays[f"size{i}"] = np.array([v.width, v.height], np.int32)
        meta = {"design_id": feats.design_id, "content_sha256": feats.content_sha256,
                "encoder_version": feats.encoder_version, "views": len(feats.views)}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(tmp, path)
        return path

    def load(self, design_id: str) -> DesignFeatures:
        path = self.path(design_id)
        if not path.exists():
            raise IndexNotBuiltError(f"design {design_id!r}: no local features in {self.root}",
                                     hint="run `kcs index build`")
        with np.load(path) as z:
            meta = json.loads(z["meta"].tobytes().decode("utf-8"))
            views = tuple(LocalFeatures(z[f"kp{i}"], z[f"desc{i}"], int(z[f"size{i}"][0]), int(z[f"size{i}"][1]))
                          for i in range(meta["views"]))
        return DesignFeatures(meta["design_id"], meta["content_sha256"], meta["encoder_version"], views)

    def stamp(self, design_id: str) -> tuple[str, str] | None:
        """(content_sha256, encoder_version) of the stored features, or None if there are none."""
        try:
            f = self.load(design_id)
        except (IndexNotBuiltError, OSError, ValueError, KeyError):
            return None
        return f.content_sha256, f.encoder_version

    def delete(self, design_id: str) -> None:
        self.path(design_id).unlink(missing_ok=True)

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*.npz")) if self.root.exists() else 0
