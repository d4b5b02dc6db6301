"""Middleware for chat models: each is ``ChatModel -> ChatModel`` and composes with
:func:`beluga.core.compose` (the first listed is the outermost).

Retry is the single retry loop (provider SDK retries are off). A stream is retried, or handed to
a fallback, only while nothing has been yielded to the consumer; once output has been seen, a
failure surfaces as :class:`StreamInterruptedError` carrying the partial response. Tracing lives
in :class:`~beluga.llms.base.BaseChatModel`; :func:`traced` adds it to a model that is not one.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import fields, replace

from beluga.core import resilience
from beluga.core.errors import BelugaError
from beluga.core.middleware import Middleware, Wrapper
from beluga.core.resilience import (
    CircuitBreaker,
    RateLimiter,
    RetryPolicy,
    TTLCache,
    breaker_call,
    breaker_stream,
    cache_call,
    cache_stream,
    limit_call,
    limit_stream,
    log_retries,
    restart_stream,
    retry_call,
    retry_stream,
    timeout_call,
)
from beluga.core.streams import with_timeout
from beluga.llms.base import BaseChatModel, ChatModel, ModelSettings
from beluga.observability.logs import get_logger
from beluga.schema import (
    ChatResponse,
    Message,
    Prompt,
    ResponseBuilder,
    StreamEvent,
    ToolDefinition,
    Usage,
    UsageEvent,
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


class StreamInterruptedError(resilience.StreamInterruptedError):
    """A stream failed after output reached the consumer; ``partial`` keeps what was said."""

    def __init__(self, error: BelugaError, partial: ChatResponse) -> None:
        super().__init__(error)
        self.partial = partial


class _Partial:
    """What a restartable stream delivered, for the :class:`StreamInterruptedError` raised
    when it fails after output."""

    __slots__ = ("observe",)

    def __init__(self) -> None:
        self.observe = ResponseBuilder()

    def interrupted(self, error: BelugaError) -> StreamInterruptedError:
        return StreamInterruptedError(error, self.observe.build())


def stream_with_restarts(
    open_stream: Callable[[int], AsyncIterator[StreamEvent]],
    give_up: Callable[[int, BelugaError], Awaitable[object]],
) -> AsyncIterator[StreamEvent]:
    """Yield from ``open_stream(attempt)``; on a :class:`BelugaError` before any event was
    yielded, await ``give_up(attempt, error)``: it raises to stop, or returns to try
    ``attempt + 1``. A failure after output raises :class:`StreamInterruptedError`."""
    partial = _Partial()
    return restart_stream(
        open_stream, give_up, observe=partial.observe.add, interrupted=partial.interrupted
    )


class ModelWrapper(Wrapper[ChatModel]):
    """Delegates everything to ``inner``; middlewares override what they change.

    ``model_name`` and ``provider`` are the wrapped model's, so metrics and spans name the
    real provider; ``async with`` and ``aclose`` close the wrapped model."""

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


class _Retrying(ModelWrapper):
    def __init__(self, inner: ChatModel, policy: RetryPolicy) -> None:
        super().__init__(inner)
        self.policy = policy
        self._log_retry = log_retries(_log, inner.model_name)

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
        partial = _Partial()
        return retry_stream(
            lambda: self.inner.stream(prompt, tools=tools, settings=settings),
            self.policy,
            on_retry=self._log_retry,
            observe=partial.observe.add,
            interrupted=partial.interrupted,
        )


def retrying(policy: RetryPolicy | None = None) -> Middleware[ChatModel]:
    """Retry retryable failures with exponential backoff, jitter and ``retry-after``; a
    stream only until its first event."""
    chosen = policy or RetryPolicy()
    return lambda inner: _Retrying(inner, chosen)


class _TimedOut(ModelWrapper):
    def __init__(
        self, inner: ChatModel, total: float | None, first_chunk: float | None, idle: float | None
    ) -> None:
        super().__init__(inner)
        self.total, self.first_chunk, self.idle = total, first_chunk, idle
        self._op = f"llms.{inner.model_name}"

    async def generate(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> ChatResponse:
        return await timeout_call(
            lambda: self.inner.generate(prompt, tools=tools, settings=settings),
            self.total,
            op=f"{self._op}.generate",
            hint="raise the timeout or use a faster model",
        )

    def stream(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> AsyncIterator[StreamEvent]:
        return with_timeout(
            self.inner.stream(prompt, tools=tools, settings=settings),
            first=self.first_chunk or self.total,
            between=self.idle,
            op=f"{self._op}.stream",
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
        return await limit_call(
            lambda: self.inner.generate(prompt, tools=tools, settings=settings),
            self.limiter,
            tokens=_estimate_tokens(prompt, settings),
            used=_response_tokens,
        )

    def stream(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> AsyncIterator[StreamEvent]:
        return limit_stream(
            lambda: self.inner.stream(prompt, tools=tools, settings=settings),
            self.limiter,
            tokens=_estimate_tokens(prompt, settings),
            used=_event_tokens,
        )


def _estimate_tokens(prompt: Prompt, settings: ModelSettings | None) -> int:
    """Tokens to reserve before a call: ~4 characters a token plus the output budget."""
    chars = sum(len(m.text) for m in as_messages(prompt))
    return chars // 4 + 1 + ((settings.max_tokens or 256) if settings else 256)


def _response_tokens(response: ChatResponse) -> int:
    return response.usage.total_tokens


def _event_tokens(event: StreamEvent) -> int:
    return event.usage.total_tokens if type(event) is UsageEvent else 0


def rate_limited(limiter: RateLimiter) -> Middleware[ChatModel]:
    """Wait for the limiter's request, token and concurrency budget before each call.

    Share one limiter between models that share a quota."""
    return lambda inner: _RateLimited(inner, limiter)


class _Breaker(ModelWrapper):
    def __init__(self, inner: ChatModel, breaker: CircuitBreaker) -> None:
        super().__init__(inner)
        self.breaker = breaker
        self._op = f"llms.{inner.model_name}"

    async def generate(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> ChatResponse:
        return await breaker_call(
            lambda: self.inner.generate(prompt, tools=tools, settings=settings),
            self.breaker,
            f"{self._op}.generate",
        )

    def stream(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> AsyncIterator[StreamEvent]:
        return breaker_stream(
            lambda: self.inner.stream(prompt, tools=tools, settings=settings),
            self.breaker,
            f"{self._op}.stream",
        )


def circuit_breaker(breaker: CircuitBreaker) -> Middleware[ChatModel]:
    """Stop calling a model that keeps failing; see :class:`CircuitBreaker`. A consumer that
    stops reading a stream early is not a failure."""
    return lambda inner: _Breaker(inner, breaker)


_RESPONSE_FIELDS = tuple(f.name for f in fields(ChatResponse))
_IMMUTABLE = (str, int, float, bool, type(None), Message, Usage, tuple, frozenset)
"""Values a response may share with its copies: messages, parts and usage are frozen."""


def _fresh(response: ChatResponse) -> ChatResponse:
    """A copy of ``response`` that shares only immutable values with it."""
    changes = {
        name: copy.deepcopy(value)
        for name in _RESPONSE_FIELDS
        if not isinstance(value := getattr(response, name), _IMMUTABLE)
    }
    return replace(response, **changes)


class ResponseCache(TTLCache[str, ChatResponse]):
    """An in-memory LRU of responses with a time to live, keyed by the whole request. Each
    caller gets its own copy of a response."""

    def __init__(self, *, max_entries: int = 1024, ttl: float | None = 3600.0) -> None:
        super().__init__(max_entries=max_entries, ttl=ttl, copy=_fresh)

    @staticmethod
    def key(model: str, prompt: Prompt, tools: _Tools, settings: ModelSettings | None) -> str:
        raw = repr((model, tuple(as_messages(prompt)), tuple(tools or ()), settings))
        return hashlib.sha256(raw.encode()).hexdigest()


def _complete(response: ChatResponse) -> bool:
    return response.finish_reason != "error"


def _response_of(events: list[StreamEvent]) -> ChatResponse:
    builder = ResponseBuilder()
    for event in events:
        builder.add(event)
    return builder.build()


class _Cached(ModelWrapper):
    def __init__(self, inner: ChatModel, cache: ResponseCache) -> None:
        super().__init__(inner)
        self.cache = cache
        self._ident = f"{self.provider}:{inner.model_name}"

    async def generate(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> ChatResponse:
        return await cache_call(
            self.cache,
            self.cache.key(self._ident, prompt, tools, settings),
            lambda: self.inner.generate(prompt, tools=tools, settings=settings),
            keep=_complete,
        )

    def stream(
        self, prompt: Prompt, *, tools: _Tools = None, settings: ModelSettings | None = None
    ) -> AsyncIterator[StreamEvent]:
        from beluga.llms.testing import events_of

        return cache_stream(
            self.cache,
            self.cache.key(self._ident, prompt, tools, settings),
            lambda: self.inner.stream(prompt, tools=tools, settings=settings),
            collect=_response_of,
            replay=events_of,
            keep=_complete,
        )


def cached(cache: ResponseCache | None = None) -> Middleware[ChatModel]:
    """Answer repeated identical requests from ``cache`` (streams replay the cached answer)."""
    chosen = cache if cache is not None else ResponseCache()
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
