"""The vector-store protocol: documents with their vectors, searchable by similarity.

Documents are :class:`beluga.schema.Document` (id, content parts, metadata), so a store keeps the
one wire form and a document with image parts (embedded by a multimodal embedder) is stored and
returned like a text one. Every store shares these rules, which the contract tests check:

- ``upsert`` writes one vector per document; a stored id is replaced (document and vector).
  A batch is checked whole before anything is written: a vector of the wrong size, a NaN or an
  infinity, a zero vector under cosine, the same id twice, metadata that is not JSON. The store
  knows its ``dimensions`` (given, or fixed by the first upsert) and its ``metric``.
- ``search`` returns at most ``k`` hits, closest first, with a score where HIGHER IS CLOSER:
  ``cosine`` (default) the cosine similarity in [-1, 1]; ``dot`` the inner product;
  ``euclidean`` the negated L2 distance. ``score_threshold`` drops hits scoring below it.
- ``filter`` is the common filter language of :mod:`beluga.vectorstores.filters`.
- ``delete`` removes the given ids (unknown ids are ignored) or every match of a filter (both:
  the ids that match); ``filter={}`` explicitly means everything, no arguments is an error.
- ``get`` returns the stored documents of these ids, in their order, skipping unknown ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

from beluga.schema import Document
from beluga.vectorstores.filters import Filter

__all__ = ["METRICS", "MetadataFilter", "Metric", "ScoredDocument", "VectorStore"]

MetadataFilter: TypeAlias = Mapping[str, Any] | Filter
"""A filter dict (``{"session_id": "s1", "year": {"$gte": 2020}}``) or its parsed tree."""

Metric: TypeAlias = Literal["cosine", "dot", "euclidean"]
METRICS: tuple[Metric, ...] = ("cosine", "dot", "euclidean")


@dataclass(slots=True, frozen=True)
class ScoredDocument:
    """A search hit: the document and its similarity to the query (higher is closer)."""

    document: Document
    score: float


@runtime_checkable
class VectorStore(Protocol):
    """Documents with their vectors, searchable by similarity (rules in the module docstring)."""

    async def upsert(
        self, documents: Sequence[Document], vectors: Sequence[Sequence[float]]
    ) -> None:
        """Add the documents (one vector each, in order), replacing stored ones of equal id."""
        ...

    async def search(
        self,
        vector: Sequence[float],
        *,
        k: int = 4,
        filter: MetadataFilter | None = None,
        score_threshold: float | None = None,
    ) -> list[ScoredDocument]:
        """The ``k`` documents closest to ``vector`` (that match ``filter``), closest first."""
        ...

    async def get(self, ids: Sequence[str]) -> list[Document]:
        """The stored documents with these ids, in this order (unknown ids skipped)."""
        ...

    async def delete(
        self, ids: Sequence[str] | None = None, *, filter: MetadataFilter | None = None
    ) -> None:
        """Remove the documents with these ids, or all that match ``filter``."""
        ...

    async def count(self, filter: MetadataFilter | None = None) -> int:
        """How many documents are stored (that match ``filter``)."""
        ...
