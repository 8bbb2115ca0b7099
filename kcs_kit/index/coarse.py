"""Inverted lists for the per-design arrays, so a photo is not compared with every drawing of a large registry.

marknet's windows and the silhouettes' regions are compared with every registered drawing in a few matrix
products: ~0.1 s each at the demo registry's 3,403 designs, but growing with the registry (at 300,000 designs
~2,700 windows x 300,000 drawings is a 3 GB similarity matrix per photo). Above ``EXACT_MAX`` rows the
drawings are grouped into inverted lists (spherical k-means, as in an IVF index): a place (window, region) is
compared with the drawings of the ``PROBES`` lists whose centres it is most similar to, and its hubness (the
mean of its k best similarities) is taken over those drawings. A design is scored from the places that
probed its list; a design no place reached has no score (as one outside a shortlist).

Up to ``EXACT_MAX`` rows nothing changes: every place is compared with every drawing. ``kcs bench scale``
measures the latency at 300,000 designs and how often the approximate shortlist keeps the exact one.

Example::

    >>> import numpy as np
    >>> from kcs_kit.index.coarse import InvertedLists
    >>> x = np.random.default_rng(0).normal(size=(500, 8)).astype(np.float32)
    >>> lists = InvertedLists.build(x / np.linalg.norm(x, axis=1, keepdims=True), n_lists=10)
    >>> int(lists.starts[-1]), len(lists.centroids)
    (500, 10)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kcs_kit.embed.base import hub_k

EXACT_MAX = 20_000  # registries up to this many rows (design views) are searched exhaustively
PROBES = 8  # lists each place is compared with
TRAIN_SAMPLE = 16_384  # rows the list centres are learnt from
ITERATIONS = 6
KEEP = 5000  # designs a search through the lists returns scores for, best first


def list_count(n: int) -> int:
    """Lists for ``n`` rows: about 2 sqrt(n) (1,095 at 300,000), so a list holds ~sqrt(n) / 2 rows."""
    return max(1, min(n, int(round(2 * np.sqrt(n)))))


def _nearest(x: np.ndarray, centroids: np.ndarray, chunk: int = 8192) -> np.ndarray:
    out = np.empty(len(x), np.int32)
    for i in range(0, len(x), chunk):
        out[i:i + chunk] = np.argmax(x[i:i + chunk] @ centroids.T, axis=1)
    return out


@dataclass(frozen=True)
class InvertedLists:
    """Rows grouped by their nearest centre: ``order`` lists the original rows list by list, list ``c`` being
    ``order[starts[c]:starts[c + 1]]``; an index built on them stores its rows in that order."""

    centroids: np.ndarray  # (C, dim) unit vectors
    order: np.ndarray  # (n,) original row of each stored row
    starts: np.ndarray  # (C + 1,)

    @classmethod
    def build(cls, vectors: np.ndarray, *, n_lists: int | None = None, seed: int = 0) -> InvertedLists:
        """Spherical k-means of unit ``vectors`` (n, dim), learnt on a sample, then every row to its nearest
        centre. Deterministic for a given ``seed``."""
        n = len(vectors)
        c = n_lists or list_count(n)
        rng = np.random.default_rng(seed)
        sample = vectors[rng.choice(n, min(n, max(TRAIN_SAMPLE, 4 * c)), replace=False)]
        cent = sample[rng.choice(len(sample), c, replace=False)].copy()
        for _ in range(ITERATIONS):
            near = _nearest(sample, cent)
            sums = np.zeros_like(cent)
            np.add.at(sums, near, sample)
            norms = np.linalg.norm(sums, axis=1)
            empty = norms < 1e-9  # a centre no sample chose: restart it on a random sample
            sums[empty] = sample[rng.choice(len(sample), int(empty.sum()))]
            cent = (sums / np.maximum(np.linalg.norm(sums, axis=1), 1e-9)[:, None]).astype(np.float32)
        near = _nearest(vectors, cent)
        order = np.argsort(near, kind="stable")
        starts = np.searchsorted(near[order], np.arange(c + 1)).astype(np.int64)
        return cls(cent, order, starts)

    @classmethod
    def cached(cls, path: Path, key: str, build: Callable[[], InvertedLists]) -> InvertedLists:
        """The lists stored at ``path`` for ``key`` (the arrays' fingerprint), else ``build()`` them and store
        them there (learning them takes ~1 min at 300,000 silhouettes: once per registry state, not per start)."""
        if path.exists():
            with np.load(path) as z:
                if str(z["key"]) == key:
                    return cls(z["centroids"], z["order"], z["starts"])
        lists = build()
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, key=np.array(key), centroids=lists.centroids, order=lists.order, starts=lists.starts)
        os.replace(tmp, path)
        return lists

    @classmethod
    def learn(cls, vectors: np.ndarray, cache: tuple[Path, str] | None = None) -> InvertedLists:
        """``build`` the lists of ``vectors``, or when ``cache`` (path, key) is given, the ones ``cached`` there."""
        return cls.cached(*cache, lambda: cls.build(vectors)) if cache else cls.build(vectors)

    def probe(self, places: np.ndarray, probes: int | None = None) -> list[tuple[int, np.ndarray]]:
        """For each list that any place probes: (list, the places that probe it, ascending)."""
        p = min(probes or PROBES, len(self.centroids))
        sims = places @ self.centroids.T
        top = np.argpartition(-sims, p - 1, axis=1)[:, :p] if p < sims.shape[1] else \
            np.broadcast_to(np.arange(sims.shape[1]), sims.shape)
        lists = top.ravel()
        who = np.repeat(np.arange(len(places)), top.shape[1])
        o = np.lexsort((who, lists))
        lists, who = lists[o], who[o]
        cut = np.flatnonzero(np.diff(lists)) + 1
        return [(int(ls[0]), w) for ls, w in zip(np.split(lists, cut), np.split(who, cut), strict=True) if len(ls)]


def probed_best(lists: InvertedLists, keys: np.ndarray,
                sims: Callable[[np.ndarray, int, int], np.ndarray], place_hub: float, row_hub: np.ndarray, *,
                probes: int | None = None, rows: np.ndarray | None = None,
                row_sims: Callable[[np.ndarray], np.ndarray] | None = None,
                hub_out: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Hubness-corrected best score of every stored row over the places that reached it, through the lists.

    ``keys`` (n_places, dim) are what the places probe the list centres with; ``sims(places, s, e)`` gives
    the places' similarities with stored rows s..e (one list). A place's hubness is the mean of its k best
    similarities among the rows it reached (k as for an exhaustive search of the registry). Returns, per stored
    row, the score sim - place_hub * place hubness - row_hub (-inf where no place reached it) and the place
    that gave it. ``rows`` (stored rows, e.g. the designs an officer's filter allows) are also compared with
    every place, whatever lists it probed: ``row_sims(rows)`` gives those (n_places, len(rows)) similarities.
    ``hub_out``: the places' hubness is appended to it."""
    n, n_places = int(lists.starts[-1]), len(keys)
    k = hub_k(n)
    p_max = min(probes or PROBES, len(lists.centroids))
    # each place's k best similarities in each list it probed, side by side: (places, probes * k)
    tops = np.full((n_places, p_max * k), -np.inf, np.float32)
    filled = np.zeros(n_places, np.int64)
    blocks = []
    for c, places in lists.probe(keys, p_max):
        s, e = int(lists.starts[c]), int(lists.starts[c + 1])
        if e == s:
            continue
        block = sims(places, s, e)
        kk = min(k, e - s)
        top = np.partition(block, -kk, axis=1)[:, -kk:] if e - s > kk else block
        tops[places[:, None], filled[places][:, None] + np.arange(kk)] = top
        filled[places] += kk
        blocks.append((places, s, e, block))
    # a place's hubness: the mean of its k best over all it reached (0 when it reached k or fewer rows)
    best_k = np.partition(tops, -k, axis=1)[:, -k:] if tops.shape[1] > k else tops
    hub = np.where(filled > k, best_k.mean(1), 0.0).astype(np.float32)
    if hub_out is not None:
        hub_out.append(hub)
    best = np.full(n, -np.inf, np.float32)
    where = np.zeros(n, np.int64)
    for places, s, e, block in blocks:
        corr = block - place_hub * hub[places][:, None]
        i = corr.argmax(0)
        v = corr[i, np.arange(e - s)]
        better = v > best[s:e]
        best[s:e][better] = v[better]
        where[s:e][better] = places[i][better]
    if rows is not None and len(rows) and row_sims is not None:
        corr = row_sims(rows) - place_hub * hub[:, None]
        i = corr.argmax(0)
        v = corr[i, np.arange(len(rows))]
        better = v > best[rows]
        best[rows[better]] = v[better]
        where[rows[better]] = i[better]
    return best - row_hub, where


def search(lists: InvertedLists, ids: np.ndarray, keys: np.ndarray, sims: Callable[[np.ndarray, int, int], np.ndarray],
           row_sims: Callable[[np.ndarray], np.ndarray], place_hub: float, row_hub: np.ndarray,
           only: set[str] | None = None, hub_out: list[np.ndarray] | None = None
           ) -> tuple[dict[str, float], dict[str, int]]:
    """A photo's places (``keys``) searched through the lists (``probed_best``): the best-scoring KEEP designs
    reached, and every one of ``only`` (the designs an officer's filter allows), each with its best score over
    its rows (views) and the place that gave it."""
    rows = np.flatnonzero(np.isin(ids, list(only))) if only is not None else None
    best, where = probed_best(lists, keys, sims, place_hub, row_hub, rows=rows, row_sims=row_sims, hub_out=hub_out)
    return best_reached(ids, best, where, KEEP, rows)


def best_reached(ids: np.ndarray, best: np.ndarray, where: np.ndarray, keep: int, also: np.ndarray | None = None
                 ) -> tuple[dict[str, float], dict[str, int]]:
    """The designs of the best-scoring ``keep`` reached rows and of the rows ``also``: each one's best score
    over its rows (views), and the place that gave it (a design further down has no score, as one outside a
    shortlist: the fusion only uses positive scores, and these are far more than the shortlists and candidates
    take)."""
    reached = np.flatnonzero(np.isfinite(best))
    if len(reached) > keep:
        reached = reached[np.argpartition(-best[reached], keep - 1)[:keep]]
        if also is not None:
            reached = np.union1d(reached, also)
    reached = reached[np.argsort(-best[reached], kind="stable")]
    scores: dict[str, float] = {}
    at: dict[str, int] = {}
    for d, s, w in zip(ids[reached].tolist(), best[reached].tolist(), where[reached].tolist(), strict=True):
        if d not in scores:  # best first: a design's first row is its best
            scores[d], at[d] = s, w
    return scores, at
