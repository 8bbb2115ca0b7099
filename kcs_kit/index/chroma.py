"""``VectorIndex`` on Chroma: embedded (``PersistentClient`` in ``<workspace>/vectorstore``) or a server.

``settings.chroma_mode`` picks ``persistent`` (default) or ``http`` (``chroma run --host H --port P``,
reached with ``HttpClient``). Chroma never embeds anything itself (``embedding_function=None``: its
default would download a model); the space is cosine. One collection per family + encoder + version,
whose metadata records the encoder and size; opening it with another encoder is an error, never a mix.

Example::

    >>> ix = open_index(settings, family="designs-image", encoder_name="clip",   # doctest: +SKIP
    ...                 encoder_version=enc.version, dim=enc.dim)
    >>> ix.upsert(["D1"], enc.encode_images([rgb]), [{"status": "registered"}])  # doctest: +SKIP
    >>> ix.query(enc.encode_images([photo]), k=10, where={"status": "registered"})  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import re
import sys
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kcs_kit.errors import ConfigError, IndexNotBuiltError, MissingDependencyError, SchemaError
from kcs_kit.index.base import Hit, MetadataValue

_INSTALL = "run `make install` (or: .venv/bin/pip install chromadb)"
_NAME_OK = re.compile(r"[^a-zA-Z0-9_-]+")
_META_KEYS = ("kcs_family", "kcs_encoder", "kcs_encoder_version", "kcs_dim")
# How many candidates an HNSW query keeps while it walks the graph. Chroma's default (100) returned a different
# ~4% of the 30 nearest designs from one process to the next for the same query vectors (so the same photo
# could get another shortlist), and missed up to a quarter of the exact 30 on a window of a photo. At 1,000
# the 3,403 demo designs come back exactly (the exact top 30 for every window of 20 photos, and the same in
# two processes) for +30 ms per photo; a registry much larger than this breadth is searched approximately.
EF_SEARCH = 1000


def _without_iri_grammars() -> None:
    """Import jsonschema (chromadb imports it) without its optional IRI format checks.

    When rfc3987-syntax is installed (JupyterLab's jupyter-events brings it), importing jsonschema compiles
    its 39 Lark grammars: about 1.8 s of chromadb's 2.5 s import, a third of a cold start. kcs-kit never
    checks IRI formats with jsonschema, so if jsonschema is not loaded yet it is loaded without them (it
    skips optional checks whose module fails to import); other code importing rfc3987_syntax gets it."""
    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        return
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # import fails: the checks are skipped
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        pass  # chromadb's own import reports what is missing
    finally:
        del sys.modules["rfc3987_syntax"]


def _chromadb() -> Any:
    _without_iri_grammars()
    try:
        import chromadb
        import chromadb.config
    except ImportError as exc:
        raise MissingDependencyError("the vector index needs chromadb, which is not installed",
                                     hint=_INSTALL) from exc
    return chromadb


def collection_name(family: str, encoder_name: str, encoder_version: str) -> str:
    """A Chroma-safe, stable name: ``{family}-{encoder}-{10 hex of the version}``."""
    digest = hashlib.sha256(encoder_version.encode()).hexdigest()[:10]
    stem = _NAME_OK.sub("_", f"{family}-{encoder_name}").strip("_-")[:200]
    if not stem:
        raise SchemaError(f"index family {family!r} / encoder {encoder_name!r}: expected letters or digits",
                          hint="name the family like 'designs-image'")
    return f"{stem}-{digest}"


def _where(settings: Any) -> str:
    if settings.chroma_mode == "http":
        return f"Chroma server http://{settings.chroma_host}:{settings.chroma_port}"
    return f"Chroma store {settings.vectorstore_dir}"


def _client(settings: Any) -> Any:
    chromadb = _chromadb()
    chroma_settings = chromadb.config.Settings(anonymized_telemetry=False)
    if settings.chroma_mode != "http":
        settings.vectorstore_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.vectorstore_dir), settings=chroma_settings)
    try:
        return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
    except (ValueError, ConnectionError, OSError) as exc:
        raise ConfigError(
            f"{_where(settings)}: expected a running Chroma server, could not connect ({exc})",
            hint=f"start one with `chroma run --host {settings.chroma_host} --port {settings.chroma_port} "
                 "--path vectorstore`, or set KCS_CHROMA_MODE=persistent") from exc


def _hnsw(collection: Any) -> dict[str, Any]:
    """The collection's HNSW settings: its configuration (Chroma >= 1.0), else its "hnsw:" metadata."""
    with warnings.catch_warnings():  # Chroma 1.x calls embedding_function=None a "legacy" config; it is ours
        warnings.simplefilter("ignore", DeprecationWarning)
        config = getattr(collection, "configuration", None) or {}
    hnsw = config.get("hnsw") if isinstance(config, Mapping) else None
    if isinstance(hnsw, Mapping) and hnsw.get("space"):
        return dict(hnsw)
    meta = collection.metadata or {}
    return {"space": meta.get("hnsw:space"), "ef_search": meta.get("hnsw:search_ef")}


def _space(collection: Any) -> str | None:
    space = _hnsw(collection).get("space")
    return str(space) if space else None


def _create(client: Any, name: str, meta: dict[str, Any]) -> Any:
    try:
        return client.create_collection(name, embedding_function=None, metadata=meta,
                                        configuration={"hnsw": {"space": "cosine", "ef_search": EF_SEARCH}})
    except TypeError:  # a Chroma without collection configuration (< 1.0)
        return client.create_collection(name, embedding_function=None,
                                        metadata={**meta, "hnsw:space": "cosine", "hnsw:search_ef": EF_SEARCH})


def ef_search(collection: Any) -> int | None:
    """The collection's HNSW query breadth (None when this Chroma does not say)."""
    found = _hnsw(collection).get("ef_search")
    return int(found) if found is not None else None


def _search_wide(collection: Any) -> None:
    """Raise the query breadth of a collection built before EF_SEARCH (Chroma's default 100) to EF_SEARCH."""
    found = ef_search(collection)
    if found is not None and found < EF_SEARCH:
        collection.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})


def open_index(settings: Any, *, family: str, encoder_name: str, encoder_version: str, dim: int,
               create: bool = True) -> ChromaIndex:
    """The index of ``family`` for one encoder name + version + size; created if absent (unless ``create``
    is False: then IndexNotBuiltError). IndexNotBuiltError too when the stored collection disagrees."""
    chromadb = _chromadb()
    client = _client(settings)
    name = collection_name(family, encoder_name, encoder_version)
    meta = {"kcs_family": family, "kcs_encoder": encoder_name, "kcs_encoder_version": encoder_version,
            "kcs_dim": int(dim)}
    try:
        collection = client.get_collection(name, embedding_function=None)
    except (chromadb.errors.NotFoundError, ValueError):
        if not create:
            raise IndexNotBuiltError(f"{_where(settings)}: expected the {family} index of encoder {encoder_name} "
                                     f"({encoder_version}), found none (collection {name})",
                                     hint="build the index first (kcs index build)") from None
        collection = _create(client, name, meta)
    _check(collection, meta, _where(settings))
    _search_wide(collection)
    return ChromaIndex(collection, dim=int(dim), max_batch=int(client.get_max_batch_size()))


def drop_index(settings: Any, *, family: str, encoder_name: str, encoder_version: str) -> bool:
    """Delete the collection of this family + encoder + version (before a rebuild); False if there was none."""
    chromadb = _chromadb()
    client = _client(settings)
    try:
        client.delete_collection(collection_name(family, encoder_name, encoder_version))
    except (chromadb.errors.NotFoundError, ValueError):
        return False
    return True


def _check(collection: Any, expected: dict[str, Any], where: str) -> None:
    found = {k: (collection.metadata or {}).get(k) for k in _META_KEYS}
    space = _space(collection)
    if found != expected or space != "cosine":
        raise IndexNotBuiltError(
            f"{where}: collection {collection.name} was built with {found} (space {space}), expected "
            f"{expected} (space cosine)",
            hint="rebuild the index with the current encoder (kcs index build --rebuild) rather than mixing")


def _clean_metadata(item_id: str, meta: Mapping[str, Any] | None) -> dict[str, MetadataValue] | None:
    if meta is None:
        return None
    out: dict[str, MetadataValue] = {}
    for key, value in meta.items():
        if value is None:
            continue
        if not isinstance(value, str | int | float | bool) or isinstance(value, float) and not np.isfinite(value):
            raise SchemaError(f"index metadata of {item_id!r}: {key} should be a str, int, float or bool, found "
                              f"{type(value).__name__} {value!r:.60}", hint="join lists with '|' before indexing")
        out[str(key)] = value
    return out or None


class ChromaIndex:
    """One Chroma collection of unit vectors; scores are cosine similarities (1 - cosine distance)."""

    def __init__(self, collection: Any, *, dim: int, max_batch: int = 5000) -> None:
        self.collection = collection
        self.name: str = collection.name
        self.dim = dim
        self.max_batch = max(1, max_batch)

    def _vectors(self, vectors: Any, n: int | None, what: str) -> np.ndarray:
        v = np.asarray(vectors, dtype=np.float32)
        if v.ndim != 2 or v.shape[1] != self.dim or (n is not None and v.shape[0] != n):
            rows = "n" if n is None else n
            raise SchemaError(f"index {self.name}: {what} vectors should have shape ({rows}, {self.dim}), "
                              f"found {v.shape}", hint="encode with the encoder this index was opened for")
        if not np.isfinite(v).all():
            raise SchemaError(f"index {self.name}: {what} vectors contain NaN or inf")
        return v

    def upsert(self, ids: Sequence[str], vectors: np.ndarray,
               metadatas: Sequence[Mapping[str, MetadataValue] | None] | None = None) -> None:
        """Insert or replace, in batches of Chroma's largest batch; ids must be unique non-empty strings."""
        ids = [str(i) for i in ids]
        v = self._vectors(vectors, len(ids), "upserted")
        metas = list(metadatas) if metadatas is not None else [None] * len(ids)
        if len(metas) != len(ids):
            raise SchemaError(f"index {self.name}: {len(ids)} ids but {len(metas)} metadatas")
        dupes = sorted(i for i, n in Counter(ids).items() if n > 1)
        if dupes or "" in ids:
            found = f"duplicates {dupes[:5]}" if dupes else "an empty id"
            raise SchemaError(f"index {self.name}: ids should be unique and non-empty, found {found}",
                              hint="give every design or view its own id")
        cleaned = [_clean_metadata(i, m) for i, m in zip(ids, metas, strict=True)]
        for start in range(0, len(ids), self.max_batch):
            stop = start + self.max_batch
            batch_meta = self._replacing(ids[start:stop], cleaned[start:stop])
            self.collection.upsert(ids=ids[start:stop], embeddings=v[start:stop],
                                   metadatas=batch_meta if any(m is not None for m in batch_meta) else None)

    def _replacing(self, ids: list[str], metas: list[dict[str, Any] | None]) -> list[dict[str, Any] | None]:
        """Chroma merges metadata on upsert; set the stored keys absent from the new metadata to None
        (Chroma's way to remove a key), so that an upsert replaces the record whole."""
        stored = self.collection.get(ids=ids, include=["metadatas"])
        old = {i: m for i, m in zip(stored["ids"], stored["metadatas"] or [], strict=False) if m}
        return [({**dict.fromkeys(old[i]), **(m or {})} if i in old else m) for i, m in zip(ids, metas, strict=True)]

    def delete(self, ids: Sequence[str]) -> None:
        """Remove ``ids``; unknown ones are ignored."""
        ids = [str(i) for i in ids]
        for start in range(0, len(ids), self.max_batch):
            self.collection.delete(ids=ids[start : start + self.max_batch])

    def query(self, vectors: np.ndarray, k: int, where: Mapping[str, Any] | None = None, *,
              metadata: bool = True) -> list[list[Hit]]:
        """For each row of ``vectors``, up to ``k`` hits by cosine similarity, best first.

        ``where`` goes to Chroma as is: ``{"status": "registered"}``,
        ``{"$and": [{"status": "registered"}, {"right_holder": "ACME"}]}``. ``metadata`` False leaves the
        hits' metadata empty: reading it back from Chroma's SQLite is half the cost of a query of 3,403
        vectors (55 against 124 ms for 60 rows), and matching's shortlist needs only ids and scores.
        """
        v = self._vectors(vectors, None, "query")
        total = self.count()
        if k < 1 or total == 0 or len(v) == 0:
            return [[] for _ in range(len(v))]
        result = self.collection.query(query_embeddings=v, n_results=min(int(k), total),
                                       where=dict(where) if where else None,
                                       include=["distances", "metadatas"] if metadata else ["distances"])
        metadatas = result.get("metadatas") or [[None] * len(row) for row in result["ids"]]
        return [[Hit(i, 1.0 - float(d), dict(m or {})) for i, d, m in zip(ids, dists, metas, strict=True)]
                for ids, dists, metas in zip(result["ids"], result["distances"], metadatas, strict=True)]

    def count(self) -> int:
        return int(self.collection.count())

    def ids(self) -> list[str]:
        """Every stored id, read page by page."""
        out: list[str] = []
        while True:
            page = self.collection.get(include=[], limit=self.max_batch, offset=len(out))["ids"]
            out.extend(page)
            if len(page) < self.max_batch:
                return out

    def get_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of ``ids`` (those that exist), as float32, read in batches (Chroma's SQLite refuses
        a query with hundreds of thousands of ids)."""
        ids = [str(i) for i in ids]
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(ids), self.max_batch):
            got = self.collection.get(ids=ids[start:start + self.max_batch], include=["embeddings"])
            out.update((i, np.asarray(e, dtype=np.float32)) for i, e in zip(got["ids"], got["embeddings"], strict=True))
        return out
