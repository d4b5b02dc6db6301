"""The vector-store protocol: similarity search over embedded documents.

Small on purpose: RAG brings the real stores (pgvector, an embedded store, ...); memory's
vector recall depends only on this. Documents are :class:`beluga.schema.Document` (id, content,
metadata), so what a store keeps is the one wire form. A ``filter`` is an equality match on
metadata keys (every key must be equal), the subset every vector database supports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias, runtime_checkable

from beluga.schema import Document

__all__ = ["MetadataFilter", "ScoredDocument", "VectorStore"]

MetadataFilter: TypeAlias = Mapping[str, Any]
"""Metadata a document must have (``{"session_id": "s1"}``): equality on every key."""


@dataclass(slots=True, frozen=True)
class ScoredDocument:
    """A search hit: the document and its similarity to the query (higher is closer)."""

    document: Document
    score: float


@runtime_checkable
class VectorStore(Protocol):
    """Documents with their vectors, searchable by similarity."""

    async def upsert(
        self, documents: Sequence[Document], vectors: Sequence[Sequence[float]]
    ) -> None:
        """Add the documents (one vector each, in order); a document whose id is stored
        replaces the stored one."""
        ...

    async def search(
        self, vector: Sequence[float], *, k: int = 4, filter: MetadataFilter | None = None
    ) -> list[ScoredDocument]:
        """The ``k`` documents closest to ``vector`` (that match ``filter``), closest first."""
        ...

    async def delete(
        self, ids: Sequence[str] | None = None, *, filter: MetadataFilter | None = None
    ) -> None:
        """Remove the documents with these ids, or all that match ``filter``."""
        ...
