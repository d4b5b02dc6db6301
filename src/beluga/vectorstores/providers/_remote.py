"""The part every client-backed store shares: a traced, retried call with mapped errors.

Each store says how an SDK exception maps to a :class:`BelugaError` (:meth:`RemoteStore._error`);
:meth:`RemoteStore._call` runs an SDK call inside the store's span (OpenTelemetry database
conventions: ``{operation} {collection}``, ``db.system.name``, ``db.collection.name``,
``db.operation.name``), retries retryable failures through :mod:`beluga.core.resilience` (every
operation the stores make is idempotent: upserts by id, deletes, reads), and never lets a raw
SDK exception, or a secret inside one, out.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from typing import ClassVar, TypeVar

from opentelemetry.trace import SpanKind

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.provider_errors import scrub
from beluga.core.resilience import RetryPolicy, retry_call
from beluga.observability.genai import start_operation
from beluga.schema import Document
from beluga.vectorstores.base import ScoredDocument

__all__ = ["RemoteStore"]

T = TypeVar("T")


class RemoteStore(AsyncClosing):
    """Base of the Qdrant, Chroma, Pinecone and Weaviate stores."""

    provider: ClassVar[str]

    def __init__(self, collection: str, *, retries: int) -> None:
        if retries < 1:
            raise BelugaError(
                f"vectorstores.{self.provider}.init",
                ErrorCode.INVALID_CONFIG,
                f"retries must be at least 1 (attempts in all), got {retries}",
            )
        self.collection = collection
        self._policy = RetryPolicy(max_attempts=retries)

    def _op(self, name: str) -> str:
        return f"vectorstores.{self.provider}.{name}"

    async def _call(self, name: str, call: Callable[[], Awaitable[T]], **attrs: object) -> T:
        """``call()`` traced as ``name``, retried while retryable, its errors mapped."""
        op = self._op(name)

        async def attempt() -> T:
            try:
                return await call()
            except BelugaError:
                raise
            except Exception as exc:
                scrub(exc)
                raise self._error(exc, op) from exc

        attributes = {
            "db.system.name": self.provider,
            "db.collection.name": self.collection,
            "db.operation.name": name,
            **attrs,
        }
        with (
            start_operation(
                name, self.collection, attributes=attributes, kind=SpanKind.CLIENT
            ) as span,
            span.activated(),
        ):
            return await retry_call(attempt, self._policy)

    @abstractmethod
    def _error(self, exc: Exception, op: str) -> BelugaError:
        """The :class:`BelugaError` for an exception the SDK raised during ``op``."""

    @staticmethod
    def _threshold(hits: Sequence[ScoredDocument], threshold: float | None) -> list[ScoredDocument]:
        if threshold is None:
            return list(hits)
        return [hit for hit in hits if hit.score >= threshold]

    @staticmethod
    def _in_order(ids: Sequence[str], found: dict[str, Document]) -> list[Document]:
        return [found[i] for i in ids if i in found]
