"""Contract checks that every ``VectorIndex`` backend must pass (run on an empty index of dim >= 8).

Example::

    >>> from kcs_kit.index.testkit import check_index
    >>> check_index(open_index(settings, family="t", encoder_name="x", encoder_version="1", dim=16))  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from kcs_kit.index.base import Hit, VectorIndex


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def unit_vectors(n: int, dim: int, seed: int = 42) -> np.ndarray:
    """``n`` random unit vectors (float32), seeded."""
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _check_hits(rows: list[list[Hit]], n_queries: int, k: int, name: str) -> None:
    _require(isinstance(rows, list) and len(rows) == n_queries, f"{name}: query must return one list per row")
    for row in rows:
        _require(isinstance(row, list) and len(row) <= k, f"{name}: at most k={k} hits per row")
        _require(all(isinstance(h, Hit) for h in row), f"{name}: hits must be Hit objects")
        scores = [h.score for h in row]
        _require(scores == sorted(scores, reverse=True), f"{name}: hits not best first: {scores}")
        _require(all(-1.001 <= s <= 1.001 for s in scores), f"{name}: scores not cosine similarities: {scores}")


def check_index(ix: VectorIndex, n: int = 60) -> None:
    """Upsert, self-match, metadata filter, replace-not-duplicate, delete, count and ids on an empty ``ix``."""
    name = getattr(ix, "name", "?")
    _require(isinstance(ix, VectorIndex), f"{ix!r} does not implement VectorIndex")
    _require(isinstance(name, str) and name != "", "an index must have a non-empty name")
    _require(ix.count() == 0, f"{name}: check_index needs an empty index, found {ix.count()} vectors")
    _require(ix.query(unit_vectors(1, ix.dim), k=3) == [[]], f"{name}: an empty index must return no hits")
    vectors = unit_vectors(n, ix.dim)
    ids = [f"D{i:04d}" for i in range(n)]
    metas: list[dict[str, str | int] | None] = [
        {"status": "registered" if i % 3 else "expired", "right_holder": f"holder-{i % 5}", "rank": i}
        for i in range(n)
    ]
    metas[1] = None  # a record without metadata
    ix.upsert(ids, vectors, metas)
    _require(ix.count() == n and sorted(ix.ids()) == ids, f"{name}: count/ids wrong after upserting {n}")
    rows = ix.query(vectors[:5], k=4)
    _check_hits(rows, 5, 4, name)
    for i, row in enumerate(rows):
        _require(row[0].id == ids[i] and abs(row[0].score - 1.0) < 1e-3,
                 f"{name}: a stored vector must find itself first with score ~1, got {row[:1]}")
    _require(dict(rows[0][0].metadata) == metas[0], f"{name}: metadata not returned: {rows[0][0].metadata}")
    bare = ix.query(vectors[:5], k=4, metadata=False)
    _require(_ids_scores(bare) == _ids_scores(rows) and all(not h.metadata for r in bare for h in r),
             f"{name}: metadata=False must return the same ids and scores, without metadata")
    bare_expired = ix.query(vectors[:2], k=n, where={"status": "expired"}, metadata=False)
    _require(len(bare_expired[0]) == n // 3, f"{name}: metadata=False must still filter by where")
    expired = ix.query(vectors[:2], k=n, where={"status": "expired"})
    _check_hits(expired, 2, n, name)
    _require(len(expired[0]) == n // 3 and all(h.metadata["status"] == "expired" for h in expired[0]),
             f"{name}: where={{'status': 'expired'}} must return exactly the {n // 3} expired records")
    both = ix.query(vectors[:1], k=n, where={"$and": [{"status": "registered"}, {"right_holder": "holder-2"}]})
    expected = {ids[i] for i in range(n) if metas[i] and i % 3 and i % 5 == 2}
    _require({h.id for h in both[0]} == expected, f"{name}: a combined where filter returned the wrong ids")
    _check_replace_and_delete(ix, ids, vectors, name)


def _ids_scores(rows: list[list[Hit]]) -> list[list[tuple[str, float]]]:
    return [[(h.id, round(h.score, 5)) for h in r] for r in rows]


def _check_replace_and_delete(ix: VectorIndex, ids: list[str], vectors: np.ndarray, name: str) -> None:
    n = len(ids)
    ix.upsert([ids[0]], vectors[7:8], [{"status": "withdrawn"}])
    _require(ix.count() == n, f"{name}: re-upserting an id must replace it, not add a duplicate")
    top = ix.query(vectors[7:8], k=2)[0]
    _require({h.id for h in top} == {ids[0], ids[7]} and top[1].score > 0.999,
             f"{name}: the replaced vector is not the one stored: {top}")
    _require(ix.query(vectors[:1], k=1, where={"status": "withdrawn"})[0][0].metadata == {"status": "withdrawn"},
             f"{name}: re-upserting must replace the metadata too")
    ix.upsert([ids[2]], vectors[2:3], [None])
    _require(dict(ix.query(vectors[2:3], k=1)[0][0].metadata) == {},
             f"{name}: re-upserting without metadata must clear the old metadata")
    ix.delete([ids[0], ids[7], "never-stored"])
    _require(ix.count() == n - 2 and ids[0] not in ix.ids(), f"{name}: delete did not remove the ids")
    _require(all(h.id not in (ids[0], ids[7]) for h in ix.query(vectors[7:8], k=n)[0]),
             f"{name}: a deleted id is still returned by query")
    ix.delete([])
    _require(ix.count() == n - 2, f"{name}: deleting nothing must change nothing")
