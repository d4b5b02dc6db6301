"""Resilience for any async operation: retry, timeout, rate limit, circuit breaker and cache.

They know nothing of chat models. Each policy comes with two generic wrappers, one for a call
(``call: () -> Awaitable[T]``) and one for a stream (``open_stream: () -> AsyncIterator[T]``, a
factory, so a stream can be reopened or not opened at all), and each area (LLMs, embedders,
tools, STT/TTS) adapts its own protocol to them in a few lines: every area retries, times out
and sheds load the same way. Decisions use :class:`BelugaError.retryable` and ``retry_after``.

A stream is restarted only while nothing that counts as output (``is_output``, by default any
item) has reached the consumer; after that, a failure surfaces as
:class:`StreamInterruptedError`, since repeating delivered output would corrupt it.

A consumer that stops reading early (``break``, ``aclose``, cancellation) is never a failure of
the dependency: the breaker counts it a success once items arrived, and no verdict before.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.streams import aclose

__all__ = [
    "CircuitBreaker",
    "OnRetry",
    "RateLimiter",
    "RetryPolicy",
    "StreamInterruptedError",
    "TTLCache",
    "breaker_call",
    "breaker_stream",
    "cache_call",
    "cache_stream",
    "limit_call",
    "limit_stream",
    "log_retries",
    "restart_stream",
    "retry_call",
    "retry_stream",
    "timeout_call",
]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

OnRetry = Callable[[int, BelugaError, float], object]
"""Called as ``on_retry(attempt, error, wait)`` before waiting ``wait`` s for the next attempt."""


def log_retries(logger: logging.Logger, what: str) -> OnRetry:
    """An ``on_retry`` that logs each retry of ``what`` (a model or tool name) at INFO."""

    def log(attempt: int, error: BelugaError, wait: float) -> None:
        logger.info(
            "retry %s attempt %d after %s: waiting %.2fs", what, attempt + 1, error.code.value, wait
        )

    return log


class StreamInterruptedError(BelugaError):
    """A stream failed after output reached the consumer; not retryable, since a restart
    would repeat what was already delivered. ``cause`` is the failure."""

    def __init__(self, error: BelugaError) -> None:
        super().__init__(
            error.op,
            error.code,
            f"stream interrupted after output was delivered: {error.message}",
            retryable=False,
            cause=error,
        )


# -- retry -------------------------------------------------------------------------------


@dataclass(slots=True, frozen=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff with full jitter; a server's ``retry_after`` wins, up to a cap.

    ``max_attempts`` counts the first try. A ``retry_after`` longer than ``max_retry_after``
    is not waited for: the error is raised so that a fallback can take over at once.
    """

    max_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 20.0
    multiplier: float = 2.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, error: BelugaError) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up."""
        if not error.retryable or attempt >= self.max_attempts:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_retry_after else None
        ceiling = min(self.max_delay, self.base_delay * self.multiplier ** (attempt - 1))
        return random.uniform(0, ceiling)

    async def backoff(self, attempt: int, error: BelugaError, on_retry: OnRetry | None) -> None:
        """Wait before attempt ``attempt + 1``, or re-raise ``error`` when the policy gives up."""
        wait = self.delay(attempt, error)
        if wait is None:
            raise error
        if on_retry is not None:
            on_retry(attempt, error, wait)
        await asyncio.sleep(wait)


async def retry_call(
    call: Callable[[], Awaitable[T]], policy: RetryPolicy, *, on_retry: OnRetry | None = None
) -> T:
    """Run ``call`` until it succeeds or ``policy`` gives up; the single retry loop."""
    attempt = 1
    while True:
        try:
            return await call()
        except BelugaError as exc:
            await policy.backoff(attempt, exc, on_retry)
            attempt += 1


def retry_stream(
    open_stream: Callable[[], AsyncIterator[T]],
    policy: RetryPolicy,
    *,
    on_retry: OnRetry | None = None,
    is_output: Callable[[T], bool] | None = None,
    observe: Callable[[T], object] | None = None,
    interrupted: Callable[[BelugaError], BaseException] | None = None,
) -> AsyncIterator[T]:
    """Reopen a stream that failed before output, as ``policy`` allows (see
    :func:`restart_stream` for the other options)."""

    async def give_up(attempt: int, error: BelugaError) -> None:
        await policy.backoff(attempt, error, on_retry)

    return restart_stream(
        lambda _: open_stream(),
        give_up,
        is_output=is_output,
        observe=observe,
        interrupted=interrupted,
    )


async def restart_stream(
    open_stream: Callable[[int], AsyncIterator[T]],
    give_up: Callable[[int, BelugaError], Awaitable[object]],
    *,
    is_output: Callable[[T], bool] | None = None,
    observe: Callable[[T], object] | None = None,
    interrupted: Callable[[BelugaError], BaseException] | None = None,
) -> AsyncGenerator[T, None]:
    """Yield from ``open_stream(attempt)``, reopening it after a failure before output.

    Items for which ``is_output`` is false (all count by default) are held back until the
    first that is true, so a restarted attempt is invisible to the consumer. A
    :class:`BelugaError` before output awaits ``give_up(attempt, error)``, which raises to stop
    or returns to try ``attempt + 1``. After output the failure is raised as
    ``interrupted(error)`` (default :class:`StreamInterruptedError`). ``observe`` sees every
    item delivered, e.g. to keep the partial result for ``interrupted``.
    """
    attempt = 1
    while True:
        delivered = False
        source = open_stream(attempt)
        try:
            held: list[T] = []
            async for item in source:
                if not delivered:
                    if is_output is not None and not is_output(item):
                        held.append(item)
                        continue
                    delivered = True
                    for early in held:
                        if observe is not None:
                            observe(early)
                        yield early
                    held.clear()
                if observe is not None:
                    observe(item)
                yield item
            for early in held:  # the stream ended before any output: deliver what it said
                if observe is not None:
                    observe(early)
                yield early
            return
        except BelugaError as exc:
            if delivered:
                raise (interrupted or StreamInterruptedError)(exc) from exc
            await give_up(attempt, exc)
        finally:
            await aclose(source)
        attempt += 1


# -- timeout -----------------------------------------------------------------------------


async def timeout_call(
    call: Callable[[], Awaitable[T]],
    seconds: float | None,
    *,
    op: str,
    hint: str = "raise the timeout or check the service",
) -> T:
    """Run ``call``, failing with a retryable TIMEOUT after ``seconds`` (None: no limit).

    Stream deadlines are :func:`beluga.core.streams.with_timeout`."""
    if seconds is None:
        return await call()
    scope = asyncio.timeout(seconds)
    try:
        async with scope:
            return await call()
    except TimeoutError as exc:
        if not scope.expired():  # the call's own TimeoutError, not our deadline
            raise
        raise BelugaError(
            op, ErrorCode.TIMEOUT, f"no answer within {seconds}s; {hint}", cause=exc
        ) from exc


# -- circuit breaker ---------------------------------------------------------------------


class CircuitBreaker:
    """Stops calling a failing dependency for ``reset_after`` seconds after
    ``failure_threshold`` consecutive retryable failures, then lets one probe through."""

    __slots__ = ("_failures", "_opened_at", "_probing", "failure_threshold", "name", "reset_after")

    def __init__(self, name: str, *, failure_threshold: int = 5, reset_after: float = 30.0) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_after = reset_after
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> Literal["closed", "open", "half_open"]:
        if self._opened_at is None:
            return "closed"
        if time.monotonic() - self._opened_at >= self.reset_after:
            return "half_open"
        return "open"

    def before(self, op: str) -> None:
        """Raise a retryable PROVIDER_UNAVAILABLE if calls are not allowed now."""
        state = self.state
        if state == "closed":
            return
        if state == "half_open" and not self._probing:
            self._probing = True
            return
        assert self._opened_at is not None
        left = max(self.reset_after - (time.monotonic() - self._opened_at), 0.0)
        raise BelugaError(
            op,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"circuit {self.name!r} is open after {self._failures} failures; calls resume in "
            f"{left:.1f}s (or use a fallback provider)",
            retryable=True,
            retry_after=left,
        )

    def success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def release(self) -> None:
        """A call ended with no verdict (stopped before any result): free the probe slot."""
        self._probing = False

    def failure(self, error: BaseException) -> None:
        """Count a failure; only retryable ones (outages, not bad requests) open the circuit.

        A caller that stopped (cancellation, ``GeneratorExit``) is no failure: see
        :meth:`release`."""
        if not isinstance(error, Exception) or (
            isinstance(error, BelugaError) and not error.retryable
        ):
            self._probing = False
            return
        self._failures += 1
        if self._probing or self._failures >= self.failure_threshold:
            self._opened_at = time.monotonic()
        self._probing = False


async def breaker_call(call: Callable[[], Awaitable[T]], breaker: CircuitBreaker, op: str) -> T:
    """Run ``call`` through ``breaker``; a cancelled call gives no verdict."""
    breaker.before(op)
    try:
        result = await call()
    except Exception as exc:
        breaker.failure(exc)
        raise
    except BaseException:
        breaker.release()
        raise
    breaker.success()
    return result


async def breaker_stream(
    open_stream: Callable[[], AsyncIterator[T]], breaker: CircuitBreaker, op: str
) -> AsyncGenerator[T, None]:
    """Yield from ``open_stream()`` through ``breaker``. A consumer that stops early counts as
    a success once an item arrived (the dependency answered), as no verdict before."""
    breaker.before(op)
    answered = False
    source = open_stream()
    try:
        async for item in source:
            answered = True
            yield item
    except Exception as exc:
        breaker.failure(exc)
        raise
    except BaseException:
        breaker.success() if answered else breaker.release()
        raise
    finally:
        await aclose(source)
    breaker.success()


# -- rate limit --------------------------------------------------------------------------


class RateLimiter:
    """Requests per minute, tokens per minute and concurrency, as token buckets and a
    semaphore. ``acquire`` waits; it never drops a call."""

    __slots__ = ("_concurrency", "_requests", "_tokens")

    def __init__(
        self,
        *,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        max_concurrency: int | None = None,
    ) -> None:
        self._requests = _Bucket(requests_per_minute) if requests_per_minute else None
        self._tokens = _Bucket(tokens_per_minute) if tokens_per_minute else None
        self._concurrency = asyncio.Semaphore(max_concurrency) if max_concurrency else None

    async def acquire(self, tokens: int = 0) -> None:
        """Wait for a request slot, ``tokens`` of token budget and a concurrency slot."""
        if self._requests is not None:
            await self._requests.take(1)
        if self._tokens is not None and tokens:
            await self._tokens.take(min(tokens, self._tokens.capacity))
        if self._concurrency is not None:
            await self._concurrency.acquire()

    def release(self, tokens_used: int = 0, tokens_reserved: int = 0) -> None:
        """Free the concurrency slot and charge the token difference once it is known."""
        if self._concurrency is not None:
            self._concurrency.release()
        if self._tokens is not None and tokens_used != tokens_reserved:
            self._tokens.adjust(tokens_used - tokens_reserved)


class _Bucket:
    """A token bucket refilled continuously at ``per_minute / 60`` per second."""

    __slots__ = ("_last", "_level", "_lock", "capacity", "rate")

    def __init__(self, per_minute: float) -> None:
        self.capacity = per_minute
        self.rate = per_minute / 60.0
        self._level = per_minute
        self._last = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self._level = min(self.capacity, self._level + (now - self._last) * self.rate)
        self._last = now

    async def take(self, amount: float) -> None:
        async with self._lock:  # first come, first served
            self._refill()
            while self._level < amount:
                await asyncio.sleep((amount - self._level) / self.rate)
                self._refill()
            self._level -= amount

    def adjust(self, delta: float) -> None:
        self._refill()
        self._level = min(self.capacity, self._level - delta)


async def limit_call(
    call: Callable[[], Awaitable[T]],
    limiter: RateLimiter,
    *,
    tokens: int = 0,
    used: Callable[[T], int] | None = None,
) -> T:
    """Run ``call`` within ``limiter``'s budget, reserving ``tokens``; ``used(result)`` is what
    it actually spent (0 or no ``used``: the reservation)."""
    await limiter.acquire(tokens)
    spent = tokens
    try:
        result = await call()
        if used is not None:
            spent = used(result) or tokens
        return result
    finally:
        limiter.release(spent, tokens)


async def limit_stream(
    open_stream: Callable[[], AsyncIterator[T]],
    limiter: RateLimiter,
    *,
    tokens: int = 0,
    used: Callable[[T], int] | None = None,
) -> AsyncGenerator[T, None]:
    """Yield from ``open_stream()`` within ``limiter``'s budget; ``used(item)`` is the tokens
    an item reports, summed over the stream (0 in all: the reservation)."""
    await limiter.acquire(tokens)
    spent = 0
    try:
        source = open_stream()
        try:
            async for item in source:
                if used is not None:
                    spent += used(item)
                yield item
        finally:
            await aclose(source)
    finally:
        limiter.release(spent or tokens, tokens)


# -- cache -------------------------------------------------------------------------------


class TTLCache(Generic[K, V]):
    """An in-memory LRU with a time to live. ``copy`` (if given) copies each value in and
    out, so no caller can change what the next one gets."""

    def __init__(
        self,
        *,
        max_entries: int = 1024,
        ttl: float | None = 3600.0,
        copy: Callable[[V], V] | None = None,
    ) -> None:
        self.max_entries, self.ttl = max_entries, ttl
        self._copy = copy
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        item = self._items.get(key)
        if item is None or (self.ttl is not None and time.monotonic() - item[0] > self.ttl):
            self._items.pop(key, None)
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return item[1] if self._copy is None else self._copy(item[1])

    def put(self, key: K, value: V) -> None:
        self._items[key] = (time.monotonic(), value if self._copy is None else self._copy(value))
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


async def cache_call(
    cache: TTLCache[K, V],
    key: K,
    call: Callable[[], Awaitable[V]],
    *,
    keep: Callable[[V], bool] | None = None,
) -> V:
    """``cache``'s value for ``key``, or ``call()``'s, stored when ``keep`` allows."""
    hit = cache.get(key)
    if hit is not None:
        return hit
    value = await call()
    if keep is None or keep(value):
        cache.put(key, value)
    return value


async def cache_stream(
    cache: TTLCache[K, V],
    key: K,
    open_stream: Callable[[], AsyncIterator[T]],
    *,
    collect: Callable[[list[T]], V],
    replay: Callable[[V], Iterable[T]],
    keep: Callable[[V], bool] | None = None,
) -> AsyncGenerator[T, None]:
    """Replay ``cache``'s value for ``key``, or stream ``open_stream()`` and store
    ``collect(items)`` once it ended normally (not after an error or an early stop)."""
    hit = cache.get(key)
    if hit is not None:
        for item in replay(hit):
            yield item
        return
    items: list[T] = []
    source = open_stream()
    try:
        async for item in source:
            items.append(item)
            yield item
    finally:
        await aclose(source)
    value = collect(items)
    if keep is None or keep(value):
        cache.put(key, value)
