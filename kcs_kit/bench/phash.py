"""The anchor: perceptual-hash nearest neighbour (imagehash pHash), the classic copy-detection baseline.

Every render of every active design (each view, all three variants: colour, dark, light) is hashed once
(64-bit DCT pHash; hashes are cached in ``<workspace>/registry/anchor-phash.json`` by render sha256). A
query is hashed whole, photo by photo, plus its crop when given (the crop is on the first photo, in pixels
after EXIF rotation); a design's distance is the smallest Hamming distance between any query hash and any
of its renders. Designs are ranked by distance (then design_id); probability = 1 - distance / 64;
``p_no_match = min(1, best / (2 * REJECT_DISTANCE))`` and the query is rejected when the best distance
exceeds ``REJECT_DISTANCE`` = 10 bits, a fixed constant (the usual near-duplicate cut-off for 64-bit
pHashes, e.g. imagededup's default ``max_distance_threshold``), never tuned on evaluated queries.

The anchor has the matcher's signature, so ``kcs eval`` runs it through the same harness.

Example::

    >>> from kcs_kit.bench.phash import PHashAnchor
    >>> anchor = PHashAnchor(settings)  # doctest: +SKIP
    >>> anchor(["photo.jpg"], settings).candidates[0].design_id  # doctest: +SKIP
    'nike'
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kcs_kit.config import Settings
from kcs_kit.errors import IndexNotBuiltError, MissingDependencyError
from kcs_kit.match.types import Candidate, MatchResult

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

HASH_BITS = 64
REJECT_DISTANCE = 10
CACHE_NAME = "anchor-phash.json"
MODEL_VERSION = f"phash-64/reject>{REJECT_DISTANCE}"


def _imagehash():
    try:
        import imagehash
    except ImportError as exc:
        raise MissingDependencyError("the pHash anchor needs imagehash: run `pip install imagehash==4.3.2`",
                                     hint="or run `kcs eval --no-anchor`") from exc
    return imagehash


def phash_int(im: Image.Image) -> int:
    """The 64-bit pHash of an image as an unsigned integer."""
    bits = _imagehash().phash(im).hash.flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


def _renders(settings: Settings, today: date | None = None) -> list[tuple[str, str, str]]:
    """(design_id, absolute path, sha256) of every render of every active design."""
    from kcs_kit.registry import store

    today = today or date.today()
    sql = """SELECT i.design_id, i.path, i.sha256 FROM design_images i JOIN designs d USING (design_id)
             WHERE d.status = 'registered' AND (d.valid_from IS NULL OR d.valid_from <= ?)
               AND (d.valid_to IS NULL OR d.valid_to >= ?)
             ORDER BY i.design_id, i.view, i.variant"""
    with store.connect(settings, read_only=True) as con:
        rows = con.execute(sql, [today, today]).fetchall()
    return [(d, str(settings.workspace / p), sha) for d, p, sha in rows]


def _load_cache(path: Path) -> dict[str, str]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return {}


def _save_cache(path: Path, cache: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".anchor-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(cache, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def design_hashes(settings: Settings) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """(design ids, owner index per render hash, uint64 hashes) of all active designs' renders."""
    import numpy as np
    from PIL import Image

    rows = _renders(settings)
    if not rows:
        raise IndexNotBuiltError(f"{settings.workspace}: the registry has no active design with renders",
                                 hint="run `kcs registry import DIR` first")
    cache_path = settings.registry_dir / CACHE_NAME
    cache = _load_cache(cache_path)
    missing = [(p, sha) for _d, p, sha in rows if sha not in cache]
    for path, sha in missing:
        with Image.open(path) as im:
            cache[sha] = f"{phash_int(im.convert('RGB')):016x}"
    if missing:
        _save_cache(cache_path, cache)
    ids = tuple(dict.fromkeys(d for d, _p, _s in rows))
    index = {d: i for i, d in enumerate(ids)}
    owner = np.array([index[d] for d, _p, _s in rows], dtype=np.int64)
    hashes = np.array([int(cache[sha], 16) for _d, _p, sha in rows], dtype=np.uint64)
    return ids, owner, hashes


class PHashAnchor:
    """pHash nearest-neighbour matcher over the workspace registry, with the matcher's call signature."""

    name = "pHash anchor"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ids, self.owner, self.hashes = design_hashes(settings)

    def query_hashes(self, photos: Sequence[Any], crop: tuple[int, int, int, int] | None) -> list[int]:
        from PIL import Image

        from kcs_kit.match.photo import apply_crop, load_photo  # the matcher's own photo loading

        loaded = [load_photo(p, max_pixels=self.settings.max_image_pixels,
                             name=None if isinstance(p, str | Path) else f"photo {i + 1}")
                  for i, p in enumerate(photos)]
        if crop is not None and loaded:
            loaded.append(apply_crop(loaded[0], tuple(float(v) for v in crop)))  # type: ignore[arg-type]
        return [phash_int(Image.fromarray(p.rgb)) for p in loaded]

    def distances(self, query: list[int]) -> np.ndarray:
        """Per design (in ``self.ids`` order): the smallest Hamming distance to any query hash."""
        import numpy as np

        q = np.array(query, dtype=np.uint64)
        per_render = np.bitwise_count(self.hashes[None, :] ^ q[:, None]).min(axis=0)
        best = np.full(len(self.ids), HASH_BITS, dtype=np.int64)
        np.minimum.at(best, self.owner, per_render.astype(np.int64))
        return best

    def __call__(self, photos: Sequence[Any], settings: Settings | None = None, *,
                 crop: tuple[int, int, int, int] | None = None, declaration_id: str | None = None,
                 text: str | None = None, top_k: int = 10, filters: Any = None) -> MatchResult:
        """Rank designs by pHash distance; ``settings``, ``text`` and ``filters`` are accepted and ignored."""
        import numpy as np

        t0 = time.perf_counter()
        dist = self.distances(self.query_hashes(photos, crop))
        order = np.lexsort((np.arange(len(dist)), dist))[:top_k]
        candidates = tuple(Candidate(design_id=self.ids[j], rank=r + 1, probability=1 - int(dist[j]) / HASH_BITS)
                           for r, j in enumerate(order))
        best = int(dist[order[0]]) if len(order) else HASH_BITS
        return MatchResult(candidates=candidates, p_no_match=min(1.0, best / (2 * REJECT_DISTANCE)),
                           rejected=best > REJECT_DISTANCE, latency_ms=(time.perf_counter() - t0) * 1000,
                           model_version=MODEL_VERSION, declaration_id=declaration_id)
