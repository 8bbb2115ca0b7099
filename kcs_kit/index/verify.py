"""``kcs index status|verify``: what the vector and feature stores hold against the active registry."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from kcs_kit.config import Settings
from kcs_kit.errors import IndexNotBuiltError
from kcs_kit.index.build import _entries, active_designs, load_encoder
from kcs_kit.index.features import FeatureStore


@dataclass(frozen=True)
class CollectionReport:
    family: str
    name: str
    vectors: int
    designs: int
    missing: tuple[str, ...]  # active designs not in the collection
    stale: tuple[str, ...]  # indexed with an older content hash
    orphans: tuple[str, ...]  # in the collection but not active (withdrawn, expired, gone)


@dataclass(frozen=True)
class IndexReport:
    active: int
    collections: tuple[CollectionReport, ...]
    features_missing: tuple[str, ...]
    features_stale: tuple[str, ...]
    feature_bytes: int
    vectorstore_bytes: int

    @property
    def ok(self) -> bool:
        return not (self.features_missing or self.features_stale) and all(
            not (c.missing or c.stale or c.orphans) for c in self.collections)


def _collection(settings: Settings, family: str, enc, active) -> CollectionReport:
    from kcs_kit.index.chroma import open_index

    ix = open_index(settings, family=family, encoder_name=enc.name, encoder_version=enc.version, dim=enc.dim,
                    create=False)
    stored = ix.ids()
    present = {i.split("#", 1)[0] for i in stored}
    entries = _entries(settings, ix.name)
    sha = dict(zip(active["design_id"], active["content_sha256"], strict=True))
    missing = sorted(d for d in sha if d not in present or d not in entries)
    stale = sorted(d for d in sha if d in entries and entries[d] != sha[d])
    orphans = sorted(present - set(sha))
    return CollectionReport(family, ix.name, len(stored), len(present), tuple(missing), tuple(stale), tuple(orphans))


def verify_index(settings: Settings, *, deep: bool = True, text: bool = True) -> IndexReport:
    """Compare both collections and (``deep``) every design's feature file with the active registry."""
    active = active_designs(settings)
    try:
        image = load_encoder(settings)
    except IndexNotBuiltError as exc:
        raise IndexNotBuiltError(f"{settings.workspace}: the index was never built", hint="run `kcs index build`") \
            from exc
    reports = [_collection(settings, "image", image, active)]
    if text:  # checked when it was built (kcs index build --no-text skips it)
        from kcs_kit.embed.base import get

        with contextlib.suppress(IndexNotBuiltError):
            reports.append(_collection(settings, "text", get("text", "minilm", settings), active))
    store = FeatureStore(settings)
    missing, stale = [], []
    if deep:
        for d, sha in zip(active["design_id"], active["content_sha256"], strict=True):
            stamp = store.stamp(d)
            if stamp is None:
                missing.append(d)
            elif stamp != (sha, image.version):
                stale.append(d)
    vs = settings.vectorstore_dir
    vs_bytes = sum(p.stat().st_size for p in vs.rglob("*") if p.is_file()) if vs.exists() else 0
    return IndexReport(active.height, tuple(reports), tuple(missing), tuple(stale), store.disk_bytes(), vs_bytes)
