"""The vector index family behind a Protocol: upsert, delete and query unit vectors by cosine similarity.

One index (collection) holds the vectors of one family (e.g. ``designs-image``) made by one encoder
name and version of one size; a mismatch on open is an error, never a silent mix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

MetadataValue = str | int | float | bool


@dataclass(frozen=True)
class Hit:
    """One query result: the stored id, its cosine similarity to the query (1 = same direction), metadata."""

    id: str
    score: float
    metadata: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class VectorIndex(Protocol):
    name: str  # the collection name
    dim: int

    def upsert(self, ids: Sequence[str], vectors: np.ndarray,
               metadatas: Sequence[Mapping[str, MetadataValue] | None] | None = None) -> None:
        """Insert or replace ``ids`` (a re-upserted id replaces its vector and metadata)."""
        ...

    def delete(self, ids: Sequence[str]) -> None:
        """Remove ``ids``; unknown ids are ignored."""
        ...

    def query(self, vectors: np.ndarray, k: int, where: Mapping[str, Any] | None = None, *,
              metadata: bool = True) -> list[list[Hit]]:
        """For each query row, up to ``k`` hits, best first; ``where`` filters on metadata. ``metadata``
        False: the hits come without their metadata (empty), for callers that need ids and scores only."""
        ...

    def count(self) -> int:
        """Number of stored vectors."""
        ...

    def ids(self) -> list[str]:
        """Every stored id."""
        ...
