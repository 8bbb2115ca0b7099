"""``kcs bench scale``: matching latency at a registry of N designs (300,000: the KCS system's scale).

Rendering and describing 300,000 marks would take days on 2 cores, so the workspace's registry is grown in
memory: every real design stays, and noisy copies of them (ids ``<design>~<i>``) fill it up to N. Every part
of matching that grows with the registry grows alike:

- marknet's vectors and the silhouettes' descriptors: the source's plus Gaussian noise (cosine, or
  correlation, ~0.8 with it), renormalised, with the source's hubness; above ``coarse.EXACT_MAX`` rows both
  are searched through inverted lists, as a real registry of that size would be;
- visual words: the source's row of the sparse design x word matrix;
- names: the source's name and a random suffix ('NIKE QZRT'), so the trigram index grows as a real one;
- VLAD: a Chroma collection of N vectors (the source's plus noise, in ``--work``, reused when it holds N);
- local features for verification: the source's file, read from disk for every new id as a 300,000-design
  registry's cache would.

The text collection (the officer's text and the OCR words, one query per item) stays the demo's: a 300,000-
vector Chroma query is measured in ``kcs bench index`` (p50 6 ms). The first L items of a query package are
then matched as ``kcs bench latency`` matches them; for the first R items marknet's and the silhouettes'
searches through the lists are compared with exhaustive ones on the same grown registry (their first 30, and
whether the true design is in it). The answers themselves are not scored: the fusion was fitted on the demo
registry and the copies are not real marks.

Example::

    >>> from kcs_kit.bench.scale import run  # doctest: +SKIP
    >>> b = run(settings, Path("/tmp/photos-eval"), designs=300_000, limit=100)  # doctest: +SKIP
    >>> b.latency.p95_ms  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import json
import string
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from kcs_kit.bench.latency import LatencyBench
from kcs_kit.config import Settings
from kcs_kit.errors import SchemaError

COPY_COS = 0.8  # a copy's cosine (or correlation) with its source
TARGET_P95_MS = 1000.0  # issue 4: p95 <= 1 s on 2 cores at 300,000 designs
SHORT = 30  # the shortlist depth compared (engine.PER_LIST)


@dataclass(frozen=True)
class ScaleBench:
    designs: int
    grow_s: dict[str, float]  # part -> seconds to grow it (lists included)
    latency: LatencyBench
    recall: dict[str, tuple[float, int, int, float, float]]  # search -> (top-30 overlap, true in exact, in
    # approximate, ms approximate, ms exhaustive) over the recall items (VLAD: Chroma's HNSW against numpy)
    recall_items: int
    lists: dict[str, int]  # search -> inverted lists
    vlad_kept: bool = False  # the VLAD collection was filled by an earlier run (grow_s has that run's seconds)


def _noisy(base: np.ndarray, src: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rows ``base[src]`` plus noise with cosine ~COPY_COS to them, unit norm."""
    dim = base.shape[1]
    v = base[src] + rng.normal(0, np.sqrt(1 / COPY_COS ** 2 - 1) / np.sqrt(dim), (len(src), dim)).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _noisy_shapes(desc: np.ndarray, src: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Silhouette descriptors (n, 2 NR, NT) of ``src`` with noise, each channel zero-mean, of norm 1/sqrt(2)."""
    half = desc.shape[1] // 2
    out = np.empty((len(src), *desc.shape[1:]), np.float32)
    for ch in (slice(0, half), slice(half, None)):
        part = desc[src][:, ch].reshape(len(src), -1) * np.sqrt(2)
        v = part + rng.normal(0, np.sqrt(1 / COPY_COS ** 2 - 1) / np.sqrt(part.shape[1]), part.shape)
        v -= v.mean(1, keepdims=True)
        v /= np.linalg.norm(v, axis=1, keepdims=True) * np.sqrt(2)
        out[:, ch] = v.reshape(len(src), half, -1)
    return out


def _rows_of(index_ids, real: list[str], src: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The grown registry's designs (positions) that an index of the real ones has a row for, ascending, and each
    one's source row: ``index_ids`` is that index's design per row (an index holds active designs only, so the
    copies of inactive ones get none)."""
    row = {d: i for i, d in enumerate(index_ids)}
    have = np.array([i for i, s in enumerate(src.tolist()) if real[s] in row], np.int64)
    return have, np.array([row[real[src[i]]] for i in have], np.int64)


class _SourceStore:
    """The feature store of a grown registry: a copy's local features are its source's file."""

    def __init__(self, store) -> None:
        self.store = store

    def load(self, design_id: str):
        return self.store.load(design_id.split("~")[0])


def _vlad(ctx, folder: Path, n: int, ids: list[str], real: list[str], src: np.ndarray, seed: int,
          log: Callable[[str], None]):
    """A Chroma collection of the grown registry's VLAD vectors in ``folder`` (reused when it holds them)."""
    import chromadb

    from kcs_kit.index.chroma import ChromaIndex, _create

    path = folder / "scale-vlad"
    # v2: designs without a stored vector (inactive) are left out; v1 gave them the first design's vector
    stamp = {"n": n, "seed": seed, "designs": len(ctx.designs), "collection": ctx.image_index.name, "v": 2}
    client = chromadb.PersistentClient(path=str(path), settings=chromadb.config.Settings(anonymized_telemetry=False))
    marker = folder / "scale-vlad.json"
    kept = json.loads(marker.read_text()) if marker.exists() else {}
    if kept.get("stamp") == stamp:
        col = client.get_collection("scale", embedding_function=None)
        return ChromaIndex(col, dim=ctx.image_index.dim, max_batch=int(client.get_max_batch_size())), \
            float(kept["fill_s"]), True
    marker.unlink(missing_ok=True)
    try:
        client.delete_collection("scale")
    except Exception:  # noqa: BLE001 (none yet)
        pass
    ix = ChromaIndex(_create(client, "scale", {"kcs_family": "image"}), dim=ctx.image_index.dim,
                     max_batch=int(client.get_max_batch_size()))
    stored = ctx.image_index.get_vectors(ctx.image_index.ids())
    base = np.stack(list(stored.values()))
    have, rows = _rows_of([k.split("#")[0] for k in stored], real, src)
    rng = np.random.default_rng(seed + 1)
    t = time.perf_counter()
    step = 20_000
    for start in range(0, n, step):
        a, b = np.searchsorted(have, [start, start + step])  # this step's designs that have a vector
        if a < b:
            part, r = have[a:b], rows[a:b]
            vecs = np.where((part >= len(real))[:, None], _noisy(base, r, rng), base[r])
            ix.upsert([f"{ids[i]}#0" for i in part], vecs, [{"design_id": ids[i]} for i in part])
        log(f"  VLAD: {min(start + step, n):,} / {n:,} designs")
    if len(have) < n:
        log(f"  VLAD: {n - len(have):,} designs (copies of inactive ones) have no vector, as in the index")
    fill_s = time.perf_counter() - t
    marker.write_text(json.dumps({"stamp": stamp, "fill_s": fill_s}))
    return ix, fill_s, False


def grow(ctx, n: int, *, folder: Path, seed: int = 0, log: Callable[[str], None] = print):
    """A copy of the match context ``ctx`` whose registry holds ``n`` designs (module docstring), the seconds
    each part took to grow, and whether the VLAD collection was one kept from an earlier run (its seconds are
    then that run's)."""
    from kcs_kit.embed.shape import ShapeIndex
    from kcs_kit.index.bow import BowIndex
    from kcs_kit.match.context import TitleIndex

    real = sorted(ctx.designs)
    if n < len(real):
        raise SchemaError(f"kcs bench scale: --designs {n:,} is below the registry's {len(real):,} designs",
                          hint="ask for at least as many designs as the workspace has")
    rng = np.random.default_rng(seed)
    src = np.concatenate([np.arange(len(real)), rng.integers(0, len(real), n - len(real))])
    ids = real + [f"{real[s]}~{i}" for i, s in enumerate(src[len(real):].tolist(), 1)]
    big = copy.copy(ctx)
    times: dict[str, float] = {}

    t = time.perf_counter()
    big.designs = {d: ctx.designs[real[s]] for d, s in zip(ids, src.tolist(), strict=True)}
    letters = np.array(list(string.ascii_uppercase))
    suffix = ["".join(letters[rng.integers(0, 26, rng.integers(3, 7))]) for _ in range(n - len(real))]
    names = {d: ctx.designs[d].title for d in real}
    names.update({d: f"{ctx.designs[real[s]].title} {x}" for d, s, x in
                  zip(ids[len(real):], src[len(real):].tolist(), suffix, strict=True)})
    big.titles = TitleIndex(names)
    big.store = _SourceStore(ctx.store)
    big._features = OrderedDict()
    big._active = {}
    times["names"] = time.perf_counter() - t

    if ctx.marknet is not None:
        t = time.perf_counter()
        m = ctx.marknet
        have, rows = _rows_of(m.ids.tolist(), real, src)
        vecs = np.where((have < len(real))[:, None], m.matrix[rows], _noisy(m.matrix, rows, rng))
        big.marknet = replace(m, ids=np.array(ids)[have], matrix=vecs.astype(np.float32), hub=m.hub[rows],
                              views=np.zeros(len(have), np.int16), lists=None).searched()
        times["marknet"] = time.perf_counter() - t
    if ctx.shapes is not None:
        t = time.perf_counter()
        sh = ctx.shapes
        desc = sh.descriptors()
        have, rows = _rows_of(sh.ids.tolist(), real, src)  # drawings with a silhouette
        grown = np.where((have < len(real))[:, None, None], desc[rows], _noisy_shapes(desc, rows, rng))
        big.shapes = ShapeIndex(np.array(ids)[have], grown.astype(np.float32), sh.hub[rows])
        times["silhouettes"] = time.perf_counter() - t
    if ctx.bow is not None:
        t = time.perf_counter()
        b = ctx.bow
        have, rows = _rows_of(b.ids, real, src)
        big.bow = BowIndex([ids[i] for i in have], b.matrix[rows], b.idf, b.centroids, b.version)
        times["visual words"] = time.perf_counter() - t
    big.image_index, times["VLAD"], kept = _vlad(ctx, folder, n, ids, real, src, seed, log)
    if kept:
        log(f"  VLAD: the collection of {n:,} vectors kept in {folder} is used again")
    return big, times, kept


def _first30(scores: dict[str, float]) -> list[str]:
    return sorted(scores, key=lambda d: scores[d], reverse=True)[:SHORT]


class _ExactVlad:
    """The VLAD shortlist as ``engine._shortlist`` makes it, but from every stored vector (numpy)."""

    def __init__(self, index) -> None:
        stored = index.get_vectors(index.ids())
        self.designs = np.array([k.split("#")[0] for k in stored])
        self.matrix = np.stack(list(stored.values())).astype(np.float32)

    def shortlist(self, vecs: np.ndarray, k: int) -> dict[str, float]:
        sims = vecs @ self.matrix.T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        best: dict[str, float] = {}
        for row, cols in zip(sims, top, strict=True):
            for d, v in zip(self.designs[cols].tolist(), row[cols].tolist(), strict=True):
                best[d] = max(best.get(d, -1.0), v)
        return best


def _recall(big, qs, log: Callable[[str], None]) -> dict[str, tuple[float, int, int, float, float]]:
    """marknet's and the silhouettes' first 30 through the lists against exhaustive searches (every list
    probed: the same scores as comparing with every drawing), and the VLAD shortlist's first 30 from Chroma's
    HNSW against every stored vector, on the first photo of each query."""
    import kcs_kit.index.coarse as coarse
    from kcs_kit.embed.shape import photo_regions
    from kcs_kit.match import engine
    from kcs_kit.match.photo import load_photo

    out: dict[str, list] = {name: [0.0, 0, 0, 0.0, 0.0] for name in ("marknet", "silhouettes", "VLAD")}
    probes = coarse.PROBES
    log("  VLAD: reading every stored vector for the exact search")
    exact_vlad = _ExactVlad(big.image_index)
    for i, q in enumerate(qs):
        photo = load_photo(str(q.photos[0]))
        rgb = photo.rgb
        reads = engine._read_photos([photo])
        vecs = np.vstack([big.encoder.window_vectors(r.feats, engine._window_masks(r.feats)) for r in reads
                          if r.shortlist])
        t = time.perf_counter()
        hnsw = _first30(engine._shortlist(big, reads, None))
        t1 = time.perf_counter()
        every = _first30(exact_vlad.shortlist(vecs, engine.SHORTLIST_K))
        out["VLAD"][3] += t1 - t
        out["VLAD"][4] += time.perf_counter() - t1
        _tally(out["VLAD"], q.design_id, hnsw, every)
        jobs = {}
        if big.marknet is not None:
            jobs["marknet"] = (big.marknet, big.marknet.encoder.photo_windows(rgb)[0])
        if big.shapes is not None:
            jobs["silhouettes"] = (big.shapes, photo_regions(rgb, occluded=big.settings.occluders))
        for name, (index, places) in jobs.items():
            got = []
            for p in (probes, 10 ** 9):  # every list probed: the exhaustive search
                coarse.PROBES = p
                t = time.perf_counter()
                try:
                    got.append(_first30(index.scores(places)[0]))
                finally:
                    coarse.PROBES = probes
                out[name][3 if p == probes else 4] += time.perf_counter() - t
            _tally(out[name], q.design_id, *got)
        log(f"  recall: {i + 1} / {len(qs)} photos")
    k = max(len(qs), 1)
    return {name: (v[0] / k, int(v[1]), int(v[2]), v[3] / k * 1000, v[4] / k * 1000) for name, v in out.items()}


def _tally(row: list, truth: str, approx: list[str], exact: list[str]) -> None:
    """Add one photo to [share of the exact first 30 kept, true design in exact, in approximate, ...]."""
    row[0] += len(set(approx) & set(exact)) / max(len(exact), 1)
    row[1] += truth in exact
    row[2] += truth in approx


def run(settings: Settings, queries: Path, *, designs: int = 300_000, limit: int = 100, recall: int = 20,
        folder: Path | None = None, seed: int = 0, log: Callable[[str], None] = print,
        tick: Callable[[int], None] | None = None) -> ScaleBench:
    from kcs_kit.bench import latency
    from kcs_kit.bench.queries import read_queries
    from kcs_kit.match.context import get_context, installed

    folder = folder or settings.workspace / "bench" / "scale"
    folder.mkdir(parents=True, exist_ok=True)
    ctx = get_context(settings)
    log(f"growing the registry from {len(ctx.designs):,} to {designs:,} designs")
    big, times, kept = grow(ctx, designs, folder=folder, seed=seed, log=log)
    lists = {name: len(ix.lists.centroids) for name, ix in (("marknet", big.marknet), ("silhouettes", big.shapes))
             if ix is not None and ix.lists is not None}
    with installed(settings, big):
        lat = latency.run(settings, queries, limit=limit, tick=tick)
    with_design = [q for q in read_queries(queries) if q.design_id][:recall]
    log(f"searches through the lists against exhaustive ones, {len(with_design)} photos")
    rec = _recall(big, with_design, log)
    return ScaleBench(designs, times, lat, rec, len(with_design), lists, kept)


def render(b: ScaleBench, command: str, machine: str) -> str:
    lat = b.latency
    ok = "met" if lat.p95_ms <= TARGET_P95_MS else "**missed**"
    by = " · ".join(f"{n} photo{'s' if n > 1 else ''}: {c} items, p50 {p50 / 1000:.2f} s / p95 {p95 / 1000:.2f} s"
                    for n, (c, p50, p95) in lat.by_photos.items())
    grow_s = ", ".join(f"{k} {v:.0f} s" + (" (filled by an earlier run, kept in --work)"
                                              if k == "VLAD" and b.vlad_kept else "") for k, v in b.grow_s.items())
    lists = ", ".join(f"{k} {v:,}" for k, v in b.lists.items())
    rows = [f"| {k} | {m:.0f} | {p:.0f} |" for k, (m, p) in lat.stages.items()]
    rec = [f"| {k} | {o:.1%} | {e} / {b.recall_items} | {a} / {b.recall_items} | {ta:,.0f} | {te:,.0f} |"
           for k, (o, e, a, ta, te) in b.recall.items()]
    return "\n".join([
        "## Matching at 300,000 designs (`kcs bench scale`)", "",
        f"Command: `{command}`  ", f"Machine: {machine}", "",
        f"The registry grown in memory to {b.designs:,} designs: the demo's real ones and noisy copies of them "
        "(marknet vectors, silhouettes, visual words, names, VLAD in Chroma; `kcs_kit/bench/scale.py`); "
        f"marknet and the silhouettes searched through inverted lists ({lists}). Growing it took {grow_s}. "
        f"{lat.items} items matched in one process after a first, cold one ({lat.cold_ms / 1000:.2f} s).", "",
        f"Latency p50 **{lat.p50_ms / 1000:.2f} s**, p95 **{lat.p95_ms / 1000:.2f} s** (target p95 <= "
        f"{TARGET_P95_MS / 1000:.0f} s at 300,000: {ok}). By photos per item: {by}.", "",
        "| stage | mean ms | p95 ms |", "|---|---:|---:|", *rows, "",
        f"Approximate searches against exhaustive ones of the same {b.designs:,} designs (first photo of the "
        f"first {b.recall_items} queries with a registered design; marknet and the silhouettes through the lists, "
        "VLAD through Chroma's HNSW at the collection's query breadth against every stored vector in numpy):", "",
        "| search | first 30 in common | true design in exhaustive first 30 | in the approximate first 30 | "
        "ms, approximate | ms, exhaustive |", "|---|---:|---:|---:|---:|---:|", *rec,
    ])
