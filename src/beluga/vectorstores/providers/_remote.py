"""The part every client-backed store shares: a traced, retried call with mapped errors.

Each store says how an SDK exception maps to a :class:`BelugaError` (:meth:`RemoteStore._error`);
:meth:`RemoteStore._call` runs an SDK call as one database client span per attempt, named after
the database's own operation (``query_points docs`` for Qdrant, ``fetch idx`` for Pinecone;
:func:`beluga.observability.db.start_db_operation`, with ``db.client.operation.duration``), so
retries and the calls behind one protocol operation are visible under the span that
:func:`beluga.vectorstores.middleware.traced` records for the operation itself. Retryable
failures are retried through :mod:`beluga.core.resilience` (every call the stores make is
idempotent: upserts by id, deletes, reads), and no raw SDK exception, or a secret inside one,
gets out.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from typing import ClassVar, TypeVar

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.provider_errors import scrub
from beluga.core.resilience import RetryPolicy, retry_call
from beluga.observability.db import start_db_operation
from beluga.schema import Document
from beluga.vectorstores.base import ScoredDocument

__all__ = ["RemoteStore"]

T = TypeVar("T")


class RemoteStore(AsyncClosing):
    """Base of the Qdrant, Chroma, Pinecone and Weaviate stores."""

    provider: ClassVar[str]
    native: ClassVar[dict[str, str]] = {}
    """The database's own name of each call (``search`` -> ``query_points``)."""

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

    async def _call(self, name: str, call: Callable[[], Awaitable[T]], **attrs: int) -> T:
        """``call()``, one span per attempt, retried while retryable, its errors mapped to
        the operation ``name``; ``attrs`` are counts (``db.operation.batch.size``)."""
        op = self._op(name)
        native = self.native.get(name, name)

        async def attempt() -> T:
            with start_db_operation(native, self.collection, system=self.provider) as span:
                for key, value in attrs.items():
                    span.set(key, value)
                try:
                    return await call()
                except BelugaError:
                    raise
                except Exception as exc:
                    scrub(exc)
                    raise self._error(exc, op) from exc

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
