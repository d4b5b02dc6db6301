from __future__ import annotations

import asyncio

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.middleware import apply
from beluga.core.resilience import CircuitBreaker, RateLimiter, RetryPolicy
from beluga.retrievers import Reranker
from beluga.retrievers.middleware import circuit_breaker, rate_limited, retrying, timed_out
from beluga.retrievers.rerank import BaseReranker, top
from beluga.schema import Document
from beluga.vectorstores.base import ScoredDocument

DOCS = [Document("a", id="a"), Document("b", id="b")]


class Flaky(BaseReranker):
    provider = "flaky"

    def __init__(self, failures: int, code: ErrorCode = ErrorCode.RATE_LIMITED) -> None:
        super().__init__("flaky-1")
        self.failures, self.code, self.calls = failures, code, 0

    async def _rerank(
        self, query: str, documents: list[Document], top_n: int
    ) -> list[ScoredDocument]:
        self.calls += 1
        if self.calls <= self.failures:
            raise BelugaError("test", self.code, "try again", retry_after=0.0)
        return top(documents, [0.1, 0.9], top_n)


async def test_retrying_retries_retryable_errors_only() -> None:
    inner = Flaky(2)
    reranker = apply(inner, retrying(RetryPolicy(max_attempts=3)))
    assert isinstance(reranker, Reranker) and reranker.model_name == "flaky-1"
    ranked = await reranker.rerank("q", DOCS, top_n=1)
    assert [r.document.id for r in ranked] == ["b"] and inner.calls == 3
    bad = Flaky(1, ErrorCode.AUTH_FAILED)
    with pytest.raises(BelugaError) as info:
        await apply(bad, retrying()).rerank("q", DOCS)
    assert info.value.code is ErrorCode.AUTH_FAILED and bad.calls == 1


async def test_timeout_breaker_and_limiter() -> None:
    class Slow(Flaky):
        async def _rerank(
            self, query: str, documents: list[Document], top_n: int
        ) -> list[ScoredDocument]:
            await asyncio.sleep(1)
            return []

    with pytest.raises(BelugaError) as info:
        await apply(Slow(0), timed_out(0.01)).rerank("q", DOCS)
    assert info.value.code is ErrorCode.TIMEOUT and info.value.retryable
    inner = Flaky(10, ErrorCode.PROVIDER_UNAVAILABLE)
    guarded = apply(inner, circuit_breaker(CircuitBreaker("flaky", failure_threshold=2)))
    for _ in range(3):
        with pytest.raises(BelugaError):
            await guarded.rerank("q", DOCS)
    assert inner.calls == 2  # the third call failed at once, the circuit open
    limited = apply(Flaky(0), rate_limited(RateLimiter(max_concurrency=1)))
    assert len(await limited.rerank("q", DOCS)) == 2
