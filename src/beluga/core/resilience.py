"""Resilience policies for any async operation: retry, circuit breaker, rate limiter.

They know nothing of chat models: each area (LLMs, embedders, tools, STT/TTS) wraps its own
protocol with them, so every area retries and sheds load the same way. Decisions use
:class:`BelugaError.retryable` and ``retry_after`` only.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from beluga.core.errors import BelugaError, ErrorCode

__all__ = ["CircuitBreaker", "RateLimiter", "RetryPolicy", "retry_call"]

T = TypeVar("T")


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


async def retry_call(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    on_retry: Callable[[int, BelugaError, float], None] | None = None,
) -> T:
    """Run ``call`` until it succeeds or ``policy`` gives up; the single retry loop."""
    attempt = 1
    while True:
        try:
            return await call()
        except BelugaError as exc:
            wait = policy.delay(attempt, exc)
            if wait is None:
                raise
            if on_retry is not None:
                on_retry(attempt, exc, wait)
            await asyncio.sleep(wait)
            attempt += 1


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

    def failure(self, error: BaseException) -> None:
        """Count a failure; only retryable ones (outages, not bad requests) open the circuit."""
        if isinstance(error, BelugaError) and not error.retryable:
            self._probing = False
            return
        self._failures += 1
        if self._probing or self._failures >= self.failure_threshold:
            self._opened_at = time.monotonic()
        self._probing = False


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
