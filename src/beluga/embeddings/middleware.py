"""Middleware for embedders: each is ``Embedder -> Embedder`` and composes with
:func:`beluga.core.middleware.compose` (the first listed is the outermost).

Retry, timeout, rate limit and circuit breaker are the generic wrappers of
:mod:`beluga.core.resilience`, adapted here in a few lines each, so an embedder fails, waits
and sheds load as a chat model does. :func:`batched` splits a large ``embed`` into batches
within an API's limits and runs them with bounded concurrency, order kept (built-in providers
already do this; it is for embedders that do not). :func:`cached` answers inputs it has seen
from an :class:`~beluga.embeddings.cache.EmbeddingCache` and sends only the others.
:func:`traced` gives an embedder that is not a built-in provider the ``embeddings {model}``
span. Wrappers forward ``model_name``, ``dimensions`` and ``provider`` and close what they wrap.
"""

from __future__ import annotations

from collections.abc import Sequence

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
from beluga.embeddings._batching import Batch, estimate_tokens, run_batches, split
from beluga.embeddings.base import Embedder, EmbedInput
from beluga.embeddings.cache import EmbeddingCache, MemoryEmbeddingCache
from beluga.observability.genai import start_operation
from beluga.observability.logs import get_logger

__all__ = [
    "EmbedderWrapper",
    "batched",
    "cached",
    "circuit_breaker",
    "rate_limited",
    "retrying",
    "timed_out",
    "traced",
]

_log = get_logger("beluga.embeddings.middleware")


class EmbedderWrapper(Wrapper[Embedder]):
    """Delegates to ``inner``; middlewares override ``embed``. Identity is the inner's."""

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    @property
    def dimensions(self) -> int:
        return self.inner.dimensions

    async def embed(self, inputs: Sequence[EmbedInput]) -> list[list[float]]:
        return await self.inner.embed(inputs)


class _Retrying(EmbedderWrapper):
    def __init__(self, inner: Embedder, policy: RetryPolicy) -> None:
        super().__init__(inner)
        self.policy = policy
        self._log_retry = log_retries(_log, inner.model_name)

    async def embed(self, inputs: Sequence[EmbedInput]) -> list[list[float]]:
        return await retry_call(
            lambda: self.inner.embed(inputs), self.policy, on_retry=self._log_retry
        )


def retrying(policy: RetryPolicy | None = None) -> Middleware[Embedder]:
    """Retry retryable failures (rate limits, outages, timeouts) with backoff, jitter and the
    server's ``retry-after``."""
    chosen = policy or RetryPolicy()
    return lambda inner: _Retrying(inner, chosen)


class _TimedOut(EmbedderWrapper):
    def __init__(self, inner: Embedder, seconds: float | None) -> None:
        super().__init__(inner)
        self.seconds = seconds

    async def embed(self, inputs: Sequence[EmbedInput]) -> list[list[float]]:
        return await timeout_call(
            lambda: self.inner.embed(inputs),
            self.seconds,
            op=f"embeddings.{self.model_name}.embed",
            hint="raise the timeout, or embed fewer inputs per call",
        )


def timed_out(seconds: float | None) -> Middleware[Embedder]:
    """Fail an ``embed`` that takes longer than ``seconds`` with a retryable TIMEOUT."""
    return lambda inner: _TimedOut(inner, seconds)


class _RateLimited(EmbedderWrapper):
    def __init__(self, inner: Embedder, limiter: RateLimiter) -> None:
        super().__init__(inner)
        self.limiter = limiter

    async def embed(self, inputs: Sequence[EmbedInput]) -> list[list[float]]:
        tokens = sum(estimate_tokens(item) for item in inputs)
        return await limit_call(lambda: self.inner.embed(inputs), self.limiter, tokens=tokens)


def rate_limited(limiter: RateLimiter) -> Middleware[Embedder]:
    """Keep within requests/tokens per minute and a concurrency cap (waits, never drops);
    a call's tokens are estimated from its inputs."""
    return lambda inner: _RateLimited(inner, limiter)


class _Breaker(EmbedderWrapper):
    def __init__(self, inner: Embedder, breaker: CircuitBreaker) -> None:
        super().__init__(inner)
        self.breaker = breaker

    async def embed(self, inputs: Sequence[EmbedInput]) -> list[list[float]]:
        op = f"embeddings.{self.model_name}.embed"
        return await breaker_call(lambda: self.inner.embed(inputs), self.breaker, op)


def circuit_breaker(breaker: CircuitBreaker) -> Middleware[Embedder]:
    """Stop calling a failing embedder for a while after repeated retryable failures."""
    return lambda inner: _Breaker(inner, breaker)


class _Batched(EmbedderWrapper):
    def __init__(
        self, inner: Embedder, max_inputs: int, max_tokens: int | None, max_concurrency: int
    ) -> None:
        super().__init__(inner)
        self.max_inputs, self.max_tokens = max_inputs, max_tokens
        self.max_concurrency = max_concurrency

    async def _one(self, batch: list[EmbedInput]) -> Batch:
        return Batch(await self.inner.embed(batch))

    async def embed(self, inputs: Sequence[EmbedInput]) -> list[list[float]]:
        items = list(inputs)
        if not items:
            return []
        batches = split(items, self.max_inputs, self.max_tokens)
        result = await run_batches(batches, self._one, max_concurrency=self.max_concurrency)
        return result.vectors


def batched(
    max_inputs: int, *, max_tokens: int | None = None, max_concurrency: int = 4
) -> Middleware[Embedder]:
    """Split each ``embed`` into calls of at most ``max_inputs`` inputs (and an estimated
    ``max_tokens``), ``max_concurrency`` at a time; vectors come back in input order."""
    if max_inputs < 1 or max_concurrency < 1:
        raise ValueError("max_inputs and max_concurrency must be at least 1")
    return lambda inner: _Batched(inner, max_inputs, max_tokens, max_concurrency)


class _Cached(EmbedderWrapper):
    def __init__(self, inner: Embedder, cache: EmbeddingCache) -> None:
        super().__init__(inner)
        self.cache = cache

    async def embed(self, inputs: Sequence[EmbedInput]) -> list[list[float]]:
        items = list(inputs)
        model = f"{self.provider}:{self.model_name}:{self.dimensions}"
        keys = [self.cache.key(model, item) for item in items]
        found = await self.cache.get_many(keys)
        missing = [i for i, key in enumerate(keys) if key not in found]
        if missing:
            # One input that repeats within the call is embedded once.
            unique: dict[str, int] = {}
            for i in missing:
                unique.setdefault(keys[i], i)
            fresh = await self.inner.embed([items[i] for i in unique.values()])
            computed = dict(zip(unique, fresh, strict=True))
            await self.cache.put_many(computed)
            found.update(computed)
        return [list(found[key]) for key in keys]


def cached(cache: EmbeddingCache | None = None) -> Middleware[Embedder]:
    """Answer inputs seen before (same provider, model and size) from ``cache`` (default an
    in-memory LRU of 10,000 vectors) without calling the provider."""
    chosen = cache if cache is not None else MemoryEmbeddingCache()
    return lambda inner: _Cached(inner, chosen)


class _Traced(EmbedderWrapper):
    async def embed(self, inputs: Sequence[EmbedInput]) -> list[list[float]]:
        attrs = {"gen_ai.embeddings.dimension.count": self.dimensions}
        with start_operation(
            "embeddings", self.model_name, provider=self.provider, attributes=attrs
        ):
            return await self.inner.embed(inputs)


def traced() -> Middleware[Embedder]:
    """The ``embeddings {model}`` span and duration metric for an embedder that does not
    record them itself (built-in providers do)."""
    return _Traced
