"""Test doubles for code that uses a vector store.

- :class:`InMemoryVectorStore`: the real exact in-memory store (numpy), re-exported here so
  tests and offline examples import their doubles from one place.
- :class:`RecordingVectorStore`: wraps a store and records every call (method and arguments),
  to assert what a caller asked for without a mock library.
- :class:`FailingVectorStore`: every call raises the error it was given, to test degradation
  (memory falling back to the recent turns, a retriever's error path).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import Document
from beluga.vectorstores.base import MetadataFilter, ScoredDocument, VectorStore
from beluga.vectorstores.providers import memory as _memory

__all__ = ["FailingVectorStore", "InMemoryVectorStore", "RecordedCall", "RecordingVectorStore"]

InMemoryVectorStore = _memory.InMemoryVectorStore
"""The exact in-memory store (the real one, not a fake)."""


@dataclass(slots=True, frozen=True)
class RecordedCall:
    """One call a :class:`RecordingVectorStore` saw."""

    method: str
    args: dict[str, Any] = field(default_factory=dict)


class RecordingVectorStore(AsyncClosing):
    """A store that records each call, then forwards it to ``inner`` (in-memory by default)."""

    provider = "recording"

    def __init__(self, inner: VectorStore | None = None) -> None:
        self.inner: VectorStore = inner if inner is not None else InMemoryVectorStore()
        self.calls: list[RecordedCall] = []

    async def upsert(
        self, documents: Sequence[Document], vectors: Sequence[Sequence[float]]
    ) -> None:
        self.calls.append(RecordedCall("upsert", {"ids": [d.id for d in documents]}))
        await self.inner.upsert(documents, vectors)

    async def search(
        self,
        vector: Sequence[float],
        *,
        k: int = 4,
        filter: MetadataFilter | None = None,
        score_threshold: float | None = None,
    ) -> list[ScoredDocument]:
        self.calls.append(
            RecordedCall("search", {"k": k, "filter": filter, "score_threshold": score_threshold})
        )
        return await self.inner.search(vector, k=k, filter=filter, score_threshold=score_threshold)

    async def get(self, ids: Sequence[str]) -> list[Document]:
        self.calls.append(RecordedCall("get", {"ids": list(ids)}))
        return await self.inner.get(ids)

    async def delete(
        self, ids: Sequence[str] | None = None, *, filter: MetadataFilter | None = None
    ) -> None:
        self.calls.append(
            RecordedCall("delete", {"ids": None if ids is None else list(ids), "filter": filter})
        )
        await self.inner.delete(ids, filter=filter)

    async def count(self, filter: MetadataFilter | None = None) -> int:
        self.calls.append(RecordedCall("count", {"filter": filter}))
        return await self.inner.count(filter)

    async def aclose(self) -> None:
        closer = getattr(self.inner, "aclose", None)
        if closer is not None:
            await closer()

    def __repr__(self) -> str:
        return f"RecordingVectorStore({self.inner!r}, {len(self.calls)} calls)"


class FailingVectorStore(AsyncClosing):
    """Every call raises ``error`` (by default a retryable PROVIDER_UNAVAILABLE)."""

    provider = "failing"

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error or BelugaError(
            "vectorstores.failing",
            ErrorCode.PROVIDER_UNAVAILABLE,
            "the vector store is down (a test double)",
            retryable=True,
        )
        self.calls = 0

    def _fail(self) -> BaseException:
        self.calls += 1
        return self.error

    async def upsert(
        self, documents: Sequence[Document], vectors: Sequence[Sequence[float]]
    ) -> None:
        raise self._fail()

    async def search(
        self,
        vector: Sequence[float],
        *,
        k: int = 4,
        filter: MetadataFilter | None = None,
        score_threshold: float | None = None,
    ) -> list[ScoredDocument]:
        raise self._fail()

    async def get(self, ids: Sequence[str]) -> list[Document]:
        raise self._fail()

    async def delete(
        self, ids: Sequence[str] | None = None, *, filter: MetadataFilter | None = None
    ) -> None:
        raise self._fail()

    async def count(self, filter: MetadataFilter | None = None) -> int:
        raise self._fail()

    async def aclose(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"FailingVectorStore({type(self.error).__name__})"
