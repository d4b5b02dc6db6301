"""Middleware for chat models: each is ``ChatModel -> ChatModel`` and composes with
:func:`beluga.core.compose` (the first listed is the outermost).

Retry is the single retry loop (provider SDK retries are off). A stream is retried, or handed to
a fallback, only while nothing has been yielded to the consumer; once output has been seen, a
failure surfaces as :class:`StreamInterruptedError` carrying the partial response. Tracing lives
in :class:`~beluga.llms.base.BaseChatModel`; :func:`traced` adds it to a model that is not one.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.middleware import Middleware
from beluga.core.resilience import CircuitBreaker, RateLimiter, RetryPolicy, retry_call
from beluga.core.streams import aclose, with_timeout
from beluga.llms.base import BaseChatModel, ChatModel, ModelSettings
from beluga.observability.logs import get_logger
from beluga.schema import (
    ChatResponse,
    Message,
    Prompt,
    ResponseBuilder,
    StreamEvent,
    ToolDefinition,
    as_messages,
)

__all__ = [
    "ModelWrapper",
    "ResponseCache",
    "StreamInterruptedError",
    "cached",
    "circuit_breaker",
    "rate_limited",
    "retrying",
    "stream_with_restarts",
    "timed_out",
    "traced",
]

_log = get_logger("beluga.llms.middleware")
_Tools = Sequence[ToolDefinition] | None


class StreamInterruptedError(BelugaError):
    """A stream failed after output reached the consumer; ``partial`` keeps what was said."""

    def __init__(self, error: BelugaError, partial: ChatResponse) -> None:
        super().__init__(
            error.op,
            error.code,
            f"stream interrupted after output was delivered: {error.message}",
            retryable=False,
            cause=error,
        )
        self.partial = partial


class ModelWrapper:
    """Delegates everything to ``inner``; middlewares override what they change."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner
        self.provider: str = getattr(inner, "provider", None) or type(inner).__name__

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    async def generate(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> ChatResponse:
        return await self.inner.generate(prompt, tools=tools, settings=settings)

    def stream(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> AsyncIterator[StreamEvent]:
        return self.inner.stream(prompt, tools=tools, settings=settings)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"


async def stream_with_restarts(
    open_stream: Callable[[int], AsyncIterator[StreamEvent]],
    give_up: Callable[[int, BelugaError], Any],
) -> AsyncIterator[StreamEvent]:
    """Yield from ``open_stream(attempt)``; on a :class:`BelugaError` before any event was
    yielded, await ``give_up(attempt, error)`` — it raises to stop, or returns to try
    ``attempt + 1``. A failure after output raises :class:`StreamInterruptedError`."""
    attempt = 1
    while True:
        builder: ResponseBuilder | None = None
        source = open_stream(attempt)
        try:
            async for event in source:
                if builder is None:
                    builder = ResponseBuilder()
                builder.add(event)
                yield event
            return
        except BelugaError as exc:
            if builder is not None:
                raise StreamInterruptedError(exc, builder.build()) from exc
            await give_up(attempt, exc)
        finally:
            await aclose(source)
        attempt += 1


class _Retrying(ModelWrapper):
    def __init__(self, inner: ChatModel, policy: RetryPolicy) -> None:
        super().__init__(inner)
        self.policy = policy

    def _log_retry(self, attempt: int, error: BelugaError, wait: float) -> None:
        _log.info(
            "retry %s attempt %d after %s: waiting %.2fs",
            self.model_name,
            attempt + 1,
            error.code.value,
            wait,
        )

    async def generate(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> ChatResponse:
        return await retry_call(
            lambda: self.inner.generate(prompt, tools=tools, settings=settings),
            self.policy,
            on_retry=self._log_retry,
        )

    def stream(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> AsyncIterator[StreamEvent]:
        async def give_up(attempt: int, error: BelugaError) -> None:
            wait = self.policy.delay(attempt, error)
            if wait is None:
                raise error
            self._log_retry(attempt, error, wait)
            await asyncio.sleep(wait)

        return stream_with_restarts(
            lambda _: self.inner.stream(prompt, tools=tools, settings=settings), give_up
        )


def retrying(policy: RetryPolicy | None = None) -> Middleware[ChatModel]:
    """Retry retryable failures with exponential backoff, jitter and ``retry-after``."""
    chosen = policy or RetryPolicy()
    return lambda inner: _Retrying(inner, chosen)


class _TimedOut(ModelWrapper):
    def __init__(
        self, inner: ChatModel, total: float | None, first_chunk: float | None, idle: float | None
    ) -> None:
        super().__init__(inner)
        self.total, self.first_chunk, self.idle = total, first_chunk, idle

    async def generate(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> ChatResponse:
        try:
            async with asyncio.timeout(self.total):
                return await self.inner.generate(prompt, tools=tools, settings=settings)
        except TimeoutError as exc:
            raise BelugaError(
                f"llms.{self.model_name}.generate",
                ErrorCode.TIMEOUT,
                f"no answer within {self.total}s; raise the timeout or use a faster model",
                cause=exc,
            ) from exc

    def stream(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> AsyncIterator[StreamEvent]:
        return with_timeout(
            self.inner.stream(prompt, tools=tools, settings=settings),
            first=self.first_chunk or self.total,
            between=self.idle,
            op=f"llms.{self.model_name}.stream",
        )


def timed_out(
    seconds: float | None = None, *, first_chunk: float | None = None, idle: float | None = None
) -> Middleware[ChatModel]:
    """Fail with a retryable TIMEOUT: ``seconds`` for a whole ``generate``; for streams,
    ``first_chunk`` (default ``seconds``) to the first event and ``idle`` between events."""
    return lambda inner: _TimedOut(inner, seconds, first_chunk, idle)


class _RateLimited(ModelWrapper):
    def __init__(self, inner: ChatModel, limiter: RateLimiter) -> None:
        super().__init__(inner)
        self.limiter = limiter

    async def generate(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> ChatResponse:
        reserved = _estimate_tokens(prompt, settings)
        await self.limiter.acquire(reserved)
        used = reserved
        try:
            response = await self.inner.generate(prompt, tools=tools, settings=settings)
            used = response.usage.total_tokens or reserved
            return response
        finally:
            self.limiter.release(used, reserved)

    async def stream(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> AsyncIterator[StreamEvent]:
        reserved = _estimate_tokens(prompt, settings)
        await self.limiter.acquire(reserved)
        builder = ResponseBuilder()
        source = self.inner.stream(prompt, tools=tools, settings=settings)
        try:
            async for event in source:
                builder.add(event)
                yield event
        finally:
            await aclose(source)
            self.limiter.release(builder.usage.total_tokens or reserved, reserved)


def _estimate_tokens(prompt: Prompt, settings: ModelSettings | None) -> int:
    """Tokens to reserve before a call: ~4 characters a token plus the output budget."""
    chars = sum(len(m.text) for m in as_messages(prompt))
    return chars // 4 + 1 + ((settings.max_tokens or 256) if settings else 256)


def rate_limited(limiter: RateLimiter) -> Middleware[ChatModel]:
    """Wait for the limiter's request, token and concurrency budget before each call.

    Share one limiter between models that share a quota."""
    return lambda inner: _RateLimited(inner, limiter)


class _Breaker(ModelWrapper):
    def __init__(self, inner: ChatModel, breaker: CircuitBreaker) -> None:
        super().__init__(inner)
        self.breaker = breaker

    async def generate(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> ChatResponse:
        self.breaker.before(f"llms.{self.model_name}.generate")
        try:
            response = await self.inner.generate(prompt, tools=tools, settings=settings)
        except BaseException as exc:
            self.breaker.failure(exc)
            raise
        self.breaker.success()
        return response

    async def stream(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> AsyncIterator[StreamEvent]:
        self.breaker.before(f"llms.{self.model_name}.stream")
        source = self.inner.stream(prompt, tools=tools, settings=settings)
        try:
            async for event in source:
                yield event
        except BaseException as exc:
            self.breaker.failure(exc)
            raise
        finally:
            await aclose(source)
        self.breaker.success()


def circuit_breaker(breaker: CircuitBreaker) -> Middleware[ChatModel]:
    """Stop calling a model that keeps failing; see :class:`CircuitBreaker`."""
    return lambda inner: _Breaker(inner, breaker)


class ResponseCache:
    """An in-memory LRU of responses with a time to live, keyed by the whole request."""

    def __init__(self, *, max_entries: int = 1024, ttl: float | None = 3600.0) -> None:
        self.max_entries, self.ttl = max_entries, ttl
        self._items: OrderedDict[str, tuple[float, ChatResponse]] = OrderedDict()
        self.hits = self.misses = 0

    @staticmethod
    def key(model: str, prompt: Prompt, tools: _Tools, settings: ModelSettings | None) -> str:
        raw = repr((model, tuple(as_messages(prompt)), tuple(tools or ()), settings))
        return hashlib.sha256(raw.encode()).hexdigest()

    def get(self, key: str) -> ChatResponse | None:
        item = self._items.get(key)
        if item is None or (self.ttl is not None and time.monotonic() - item[0] > self.ttl):
            self._items.pop(key, None)
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return item[1]

    def put(self, key: str, response: ChatResponse) -> None:
        self._items[key] = (time.monotonic(), response)
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)


class _Cached(ModelWrapper):
    def __init__(self, inner: ChatModel, cache: ResponseCache) -> None:
        super().__init__(inner)
        self.cache = cache

    async def generate(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> ChatResponse:
        key = self.cache.key(self.model_name, prompt, tools, settings)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        response = await self.inner.generate(prompt, tools=tools, settings=settings)
        if response.finish_reason != "error":
            self.cache.put(key, response)
        return response

    async def stream(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> AsyncIterator[StreamEvent]:
        from beluga.llms.testing import events_of

        key = self.cache.key(self.model_name, prompt, tools, settings)
        hit = self.cache.get(key)
        if hit is not None:
            for event in events_of(hit):
                yield event
            return
        builder = ResponseBuilder()
        source = self.inner.stream(prompt, tools=tools, settings=settings)
        try:
            async for event in source:
                builder.add(event)
                yield event
        finally:
            await aclose(source)
        self.cache.put(key, builder.build())


def cached(cache: ResponseCache | None = None) -> Middleware[ChatModel]:
    """Answer repeated identical requests from ``cache`` (streams replay the cached answer)."""
    chosen = cache or ResponseCache()
    return lambda inner: _Cached(inner, chosen)


class _Traced(BaseChatModel):
    """Puts any :class:`ChatModel` behind the base class's GenAI span and metrics."""

    def __init__(self, inner: ChatModel, provider: str) -> None:
        super().__init__(inner.model_name)
        self.inner = inner
        self.provider = provider

    async def _generate(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> ChatResponse:
        return await self.inner.generate(messages, tools=tools, settings=settings)

    def _stream(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
    ) -> AsyncIterator[StreamEvent]:
        return self.inner.stream(messages, tools=tools, settings=settings)

    async def aclose(self) -> None:
        await self.inner.aclose()


def traced(provider: str) -> Middleware[ChatModel]:
    """Trace and meter a model that does not derive from :class:`BaseChatModel`."""
    return lambda inner: _Traced(inner, provider)
