"""Middleware for rerankers: each is ``Reranker -> Reranker``, composed with
:func:`beluga.core.apply` (the first listed is the outermost).

Thin adapters over :mod:`beluga.core.resilience`, the policies every area shares: the cloud
rerankers turn their SDKs' own retries off, so :func:`retrying` is the one retry loop (it acts
on retryable errors only: 429 with the server's ``retry-after``, 5xx, dropped connections).
A wrapper keeps the wrapped reranker's ``model_name`` and ``provider``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from beluga.core.middleware import Middleware, Wrapper
from beluga.core.resilience import (
    CircuitBreaker,
    RateLimiter,
    RetryPolicy,
    breaker_call,
    limit_call,
    log_retries,
    retry_call,
    timeout_call,
)
from beluga.observability.logs import get_logger
from beluga.retrievers.base import Reranker
from beluga.schema import Document
from beluga.vectorstores.base import ScoredDocument

__all__ = ["RerankerWrapper", "circuit_breaker", "rate_limited", "retrying", "timed_out"]

_log = get_logger("beluga.retrievers.middleware")
_Call = Callable[[], Awaitable[list[ScoredDocument]]]


class RerankerWrapper(Wrapper[Reranker]):
    """Delegates to ``inner`` through ``around`` (the policy of one middleware)."""

    def __init__(
        self, inner: Reranker, around: Callable[[_Call], Awaitable[list[ScoredDocument]]]
    ) -> None:
        super().__init__(inner)
        self._around = around

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    async def rerank(
        self, query: str, documents: Sequence[Document], *, top_n: int | None = None
    ) -> list[ScoredDocument]:
        return await self._around(lambda: self.inner.rerank(query, documents, top_n=top_n))


def retrying(policy: RetryPolicy | None = None) -> Middleware[Reranker]:
    """Retry retryable :class:`~beluga.core.errors.BelugaError` s with backoff."""
    chosen = policy or RetryPolicy()

    def wrap(inner: Reranker) -> Reranker:
        on_retry = log_retries(_log, f"reranker {inner.model_name}")
        return RerankerWrapper(inner, lambda call: retry_call(call, chosen, on_retry=on_retry))

    return wrap


def timed_out(seconds: float) -> Middleware[Reranker]:
    """Fail a rerank that takes longer than ``seconds`` with a retryable TIMEOUT."""

    def wrap(inner: Reranker) -> Reranker:
        op = f"retrievers.rerank.{inner.model_name}"
        return RerankerWrapper(inner, lambda call: timeout_call(call, seconds, op=op))

    return wrap


def rate_limited(limiter: RateLimiter) -> Middleware[Reranker]:
    """Wait for ``limiter``'s budget before each call (share one limiter per API key)."""
    return lambda inner: RerankerWrapper(inner, lambda call: limit_call(call, limiter))


def circuit_breaker(breaker: CircuitBreaker) -> Middleware[Reranker]:
    """Stop calling a reranker that keeps failing; while open, calls fail at once."""

    def wrap(inner: Reranker) -> Reranker:
        op = f"retrievers.rerank.{inner.model_name}"
        return RerankerWrapper(inner, lambda call: breaker_call(call, breaker, op))

    return wrap
