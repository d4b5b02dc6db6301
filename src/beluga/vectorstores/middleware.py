"""Wrappers around any vector store: :func:`traced` records each call as a database span.

``traced(store)`` returns a store that behaves like ``store`` (every other attribute, such as
``flush``, ``drop``, ``dimensions`` or ``metric``, is the wrapped one's) and records each call
through :func:`beluga.observability.db.start_db_operation`: ``upsert docs``, ``search docs``,
... with ``db.system.name`` (``postgresql`` for pgvector, else the provider's name),
``db.operation.batch.size`` for an upsert, ``db.response.returned_rows`` for a search or get,
and ``beluga.vectorstores.k`` / ``beluga.vectorstores.filtered``. Never a document's text, a
metadata value, a filter or a vector. The registry and the ``vectorstores:`` config section
hand out traced stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from beluga.core.closing import AsyncClosing
from beluga.observability.db import start_db_operation
from beluga.schema import Document
from beluga.vectorstores.base import MetadataFilter, ScoredDocument, VectorStore

__all__ = ["TracedVectorStore", "traced"]

_SYSTEMS = {"pgvector": "postgresql"}


class TracedVectorStore(AsyncClosing):
    """``inner`` with a span and a duration point per call (see the module docstring)."""

    def __init__(self, inner: VectorStore, *, collection: str | None = None) -> None:
        self.inner = inner
        provider = str(getattr(inner, "provider", type(inner).__name__))
        self.provider = provider
        self.system = _SYSTEMS.get(provider, provider)
        self.collection = collection or getattr(inner, "collection", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def upsert(
        self, documents: Sequence[Document], vectors: Sequence[Sequence[float]] | Any
    ) -> None:
        with start_db_operation("upsert", self.collection, system=self.system) as op:
            op.set("db.operation.batch.size", len(documents))
            await self.inner.upsert(documents, vectors)

    async def search(
        self,
        vector: Sequence[float] | Any,
        *,
        k: int = 4,
        filter: MetadataFilter | None = None,
        score_threshold: float | None = None,
    ) -> list[ScoredDocument]:
        with start_db_operation("search", self.collection, system=self.system) as op:
            if op.span.is_recording():
                op.set("beluga.vectorstores.k", k if isinstance(k, int) else None)
                op.set("beluga.vectorstores.filtered", bool(filter))
            hits = await self.inner.search(
                vector, k=k, filter=filter, score_threshold=score_threshold
            )
            op.set("db.response.returned_rows", len(hits))
            return hits

    async def get(self, ids: Sequence[str]) -> list[Document]:
        with start_db_operation("get", self.collection, system=self.system) as op:
            found = await self.inner.get(ids)
            op.set("db.response.returned_rows", len(found))
            return found

    async def delete(
        self, ids: Sequence[str] | None = None, *, filter: MetadataFilter | None = None
    ) -> None:
        with start_db_operation("delete", self.collection, system=self.system) as op:
            op.set("beluga.vectorstores.filtered", filter is not None)
            await self.inner.delete(ids, filter=filter)

    async def count(self, filter: MetadataFilter | None = None) -> int:
        with start_db_operation("count", self.collection, system=self.system) as op:
            op.set("beluga.vectorstores.filtered", bool(filter))
            return await self.inner.count(filter)

    async def aclose(self) -> None:
        closer = getattr(self.inner, "aclose", None)
        if closer is not None:
            await closer()

    def __repr__(self) -> str:
        return f"traced({self.inner!r})"


def traced(store: VectorStore, *, collection: str | None = None) -> TracedVectorStore:
    """``store`` with a database span per call (already traced: returned as it is)."""
    if isinstance(store, TracedVectorStore):
        return store
    return TracedVectorStore(store, collection=collection)
