"""Embedder middleware: batching, retry, timeout, rate limit, breaker, cache and tracing."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.middleware import apply
from beluga.core.resilience import CircuitBreaker, RateLimiter, RetryPolicy
from beluga.embeddings import MemoryEmbeddingCache, SqliteEmbeddingCache
from beluga.embeddings.base import Embedder, EmbedInput
from beluga.embeddings.middleware import (
    EmbedderWrapper,
    batched,
    cached,
    circuit_breaker,
    rate_limited,
    retrying,
    timed_out,
    traced,
)
from beluga.embeddings.testing import HashingEmbedder
from beluga.schema import ImagePart, TextPart
from tests.conftest import Telemetry


class Flaky(HashingEmbedder):
    """Fails with ``errors`` first, then embeds; records every batch it was given."""

    provider = "flaky"

    def __init__(self, *errors: BelugaError, delay: float = 0.0) -> None:
        super().__init__(16)
        self.errors = list(errors)
        self.batches: list[list[EmbedInput]] = []
        self.delay = delay
        self.active = self.peak = 0

    async def embed(self, inputs: Sequence[EmbedInput]) -> list[list[float]]:
        self.batches.append(list(inputs))
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.errors:
                raise self.errors.pop(0)
            return await super().embed(inputs)
        finally:
            self.active -= 1


def limited(retry_after: float | None = 0.0) -> BelugaError:
    return BelugaError(
        "t", ErrorCode.RATE_LIMITED, "slow down", retryable=True, retry_after=retry_after
    )


async def test_wrappers_forward_identity_and_close() -> None:
    inner = HashingEmbedder(8, model_name="m")
    wrapped = apply(inner, retrying(), cached(), traced())
    assert isinstance(wrapped, Embedder) and isinstance(wrapped, EmbedderWrapper)
    assert (wrapped.model_name, wrapped.dimensions) == ("m", 8)
    assert wrapped.provider == "HashingEmbedder"
    async with wrapped:
        assert await wrapped.embed(["a b"]) == [inner.vector("a b")]


async def test_batched_splits_keeps_order_and_bounds_concurrency() -> None:
    inner = Flaky(delay=0.01)
    wrapped = batched(3, max_concurrency=2)(inner)
    texts = [f"word{i}" for i in range(10)]
    vectors = await wrapped.embed(texts)
    assert [len(b) for b in inner.batches] == [3, 3, 3, 1]
    assert vectors == [inner.vector(t) for t in texts]
    assert inner.peak == 2


async def test_batched_failure_cancels_the_rest() -> None:
    inner = Flaky(BelugaError("t", ErrorCode.INVALID_REQUEST, "bad input"), delay=0.01)
    with pytest.raises(BelugaError, match="bad input"):
        await batched(1, max_concurrency=4)(inner).embed(["a", "b", "c"])
    assert inner.active == 0


async def test_retry_until_success_and_gives_up_on_non_retryable() -> None:
    inner = Flaky(limited(), limited())
    assert len(await retrying(RetryPolicy(max_attempts=3))(inner).embed(["x"])) == 1
    assert len(inner.batches) == 3
    bad = Flaky(BelugaError("t", ErrorCode.INVALID_REQUEST, "too long"))
    with pytest.raises(BelugaError, match="too long"):
        await retrying(RetryPolicy(max_attempts=3))(bad).embed(["x"])
    assert len(bad.batches) == 1


async def test_retry_after_beyond_the_cap_is_not_waited() -> None:
    inner = Flaky(limited(retry_after=3600))
    with pytest.raises(BelugaError, match="slow down"):
        await retrying(RetryPolicy(max_attempts=5, max_retry_after=10))(inner).embed(["x"])
    assert len(inner.batches) == 1


async def test_timeout_is_a_retryable_timeout() -> None:
    with pytest.raises(BelugaError) as info:
        await timed_out(0.01)(Flaky(delay=1.0)).embed(["x"])
    assert info.value.code is ErrorCode.TIMEOUT and info.value.retryable


async def test_rate_limit_caps_concurrency() -> None:
    inner = Flaky(delay=0.01)
    wrapped = rate_limited(RateLimiter(max_concurrency=1))(inner)
    await asyncio.gather(*(wrapped.embed([f"t{i}"]) for i in range(4)))
    assert inner.peak == 1 and len(inner.batches) == 4


async def test_breaker_opens_after_failures() -> None:
    inner = Flaky(*(limited() for _ in range(2)))
    wrapped = circuit_breaker(CircuitBreaker("e", failure_threshold=2, reset_after=60))(inner)
    for _ in range(2):
        with pytest.raises(BelugaError, match="slow down"):
            await wrapped.embed(["x"])
    with pytest.raises(BelugaError, match="circuit 'e' is open"):
        await wrapped.embed(["x"])
    assert len(inner.batches) == 2


async def test_cache_sends_only_unseen_inputs_and_returns_identical_vectors() -> None:
    inner = Flaky()
    cache = MemoryEmbeddingCache()
    wrapped = cached(cache)(inner)
    first = await wrapped.embed(["a", "b", "a"])
    second = await wrapped.embed(["b", "c", "a"])
    assert inner.batches == [["a", "b"], ["c"]]  # a repeat within a call is sent once
    assert second[0] == first[1] and second[2] == first[0]
    second[0][0] = 99.0  # a caller changing its vector changes nothing cached
    assert (await wrapped.embed(["b"]))[0] == first[1]


async def test_cache_keys_differ_by_model_and_by_content() -> None:
    cache = MemoryEmbeddingCache()
    small, other = Flaky(), HashingEmbedder(16, model_name="other")
    await cached(cache)(small).embed(["same"])
    await cached(cache)(other).embed(["same"])
    assert len(cache) == 2
    png = ImagePart(data=b"\x89PNG1", media_type="image/png")
    keys = {
        cache.key("m", [TextPart(text="x"), png]),
        cache.key("m", "x"),
        cache.key("m", [TextPart(text="x"), ImagePart(data=b"\x89PNG2", media_type="image/png")]),
    }
    assert len(keys) == 3


async def test_sqlite_cache_persists_across_instances(tmp_path: Path) -> None:
    path = f"{tmp_path}/cache/e.db"
    inner = Flaky()
    store = SqliteEmbeddingCache(path)
    vectors = await cached(store)(inner).embed(["alpha", "beta"])
    await store.aclose()
    again = SqliteEmbeddingCache(path)
    fresh = Flaky()
    assert await cached(again)(fresh).embed(["beta", "alpha"]) == [vectors[1], vectors[0]]
    assert fresh.batches == []
    await again.aclose()


async def test_broken_sqlite_cache_degrades_to_a_miss(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    store = SqliteEmbeddingCache(f"{blocker}/e.db")  # a folder that cannot exist
    inner = Flaky()
    assert len(await cached(store)(inner).embed(["x"])) == 1
    assert store.failures == 2 and len(inner.batches) == 1


async def test_traced_wrapper_records_the_span(telemetry: Telemetry) -> None:
    await traced()(HashingEmbedder(8, model_name="hash-8")).embed(["x"])
    (span,) = [s for s in telemetry.finished_spans() if s.name == "embeddings hash-8"]
    assert span.attributes is not None
    assert span.attributes["gen_ai.request.model"] == "hash-8"
    assert span.attributes["gen_ai.embeddings.dimension.count"] == 8
