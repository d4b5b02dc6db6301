"""An in-memory vector store for tests and offline examples: brute-force cosine similarity.

Exact (no index), so what a test expects is what it gets; fine up to some thousands of
documents. Vectors must all have the length of the first one stored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import Document
from beluga.vectorstores.base import MetadataFilter, ScoredDocument

__all__ = ["InMemoryVectorStore"]

_OP = "vectorstores.memory"


class InMemoryVectorStore:
    """Documents and unit vectors in a dict, searched by cosine similarity."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[Document, list[float]]] = {}
        self._dimensions: int | None = None

    def __len__(self) -> int:
        return len(self._items)

    async def upsert(
        self, documents: Sequence[Document], vectors: Sequence[Sequence[float]]
    ) -> None:
        if len(documents) != len(vectors):
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_REQUEST,
                f"got {len(documents)} documents and {len(vectors)} vectors: pass one vector "
                "per document",
            )
        for document, vector in zip(documents, vectors, strict=True):
            self._items[document.id] = (document, self._unit(vector))

    async def search(
        self, vector: Sequence[float], *, k: int = 4, filter: MetadataFilter | None = None
    ) -> list[ScoredDocument]:
        if k < 1:
            raise BelugaError(_OP, ErrorCode.INVALID_REQUEST, f"k must be at least 1, got {k}")
        query = self._unit(vector)
        hits = [
            ScoredDocument(doc, sum(a * b for a, b in zip(query, vec, strict=True)))
            for doc, vec in self._items.values()
            if _matches(doc, filter)
        ]
        hits.sort(key=lambda hit: hit.score, reverse=True)
        return hits[:k]

    async def delete(
        self, ids: Sequence[str] | None = None, *, filter: MetadataFilter | None = None
    ) -> None:
        if ids is None and filter is None:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_REQUEST,
                "delete needs ids= or filter= (refusing to delete everything by accident)",
            )
        for doc_id in list(ids or ()):
            self._items.pop(doc_id, None)
        if filter is not None:
            for doc_id in [i for i, (doc, _) in self._items.items() if _matches(doc, filter)]:
                del self._items[doc_id]

    def _unit(self, vector: Sequence[float]) -> list[float]:
        if self._dimensions is None:
            self._dimensions = len(vector)
        if len(vector) != self._dimensions or not vector:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_REQUEST,
                f"a vector of {len(vector)} floats, but this store holds vectors of "
                f"{self._dimensions}: use the same embedder for every document and query",
            )
        norm = math.sqrt(sum(v * v for v in vector))
        return [v / norm for v in vector] if norm else [0.0] * len(vector)

    def __repr__(self) -> str:
        return f"InMemoryVectorStore({len(self._items)} documents)"


def _matches(document: Document, filter: MetadataFilter | None) -> bool:
    if not filter:
        return True
    meta = document.metadata
    return all(key in meta and meta[key] == value for key, value in filter.items())
