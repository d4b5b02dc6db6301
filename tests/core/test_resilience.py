from __future__ import annotations

import asyncio
import time

import pytest

from beluga.core import BelugaError, ErrorCode
from beluga.core.resilience import CircuitBreaker, RateLimiter, RetryPolicy, retry_call


def flaky(failures: list[BelugaError]):  # type: ignore[no-untyped-def]
    calls: list[float] = []

    async def call() -> str:
        calls.append(time.monotonic())
        if failures:
            raise failures.pop(0)
        return "ok"

    return call, calls


def unavailable(**kw: object) -> BelugaError:
    return BelugaError("op", ErrorCode.PROVIDER_UNAVAILABLE, "down", **kw)  # type: ignore[arg-type]


async def test_retry_until_success() -> None:
    call, calls = flaky([unavailable(), unavailable()])
    policy = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002)
    assert await retry_call(call, policy) == "ok"
    assert len(calls) == 3


async def test_retry_gives_up_after_max_attempts() -> None:
    call, calls = flaky([unavailable() for _ in range(5)])
    with pytest.raises(BelugaError):
        await retry_call(call, RetryPolicy(max_attempts=2, base_delay=0.001))
    assert len(calls) == 2


async def test_non_retryable_is_not_retried() -> None:
    call, calls = flaky([BelugaError("op", ErrorCode.AUTH_FAILED, "bad key")])
    with pytest.raises(BelugaError, match="bad key"):
        await retry_call(call, RetryPolicy(base_delay=0.001))
    assert len(calls) == 1


async def test_retry_after_is_honoured() -> None:
    call, calls = flaky([BelugaError("op", ErrorCode.RATE_LIMITED, "slow", retry_after=0.05)])
    await retry_call(call, RetryPolicy(base_delay=10))  # backoff would be far longer
    assert 0.045 <= calls[1] - calls[0] < 1.0


async def test_retry_after_over_the_cap_is_not_waited_for() -> None:
    call, calls = flaky([BelugaError("op", ErrorCode.RATE_LIMITED, "slow", retry_after=120)])
    with pytest.raises(BelugaError):
        await retry_call(call, RetryPolicy(max_retry_after=5))
    assert len(calls) == 1


def test_backoff_is_exponential_with_full_jitter() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=1, multiplier=2, max_delay=5)
    err = unavailable()
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (4, 5), (6, 5)]:
        samples = [policy.delay(attempt, err) for _ in range(200)]
        assert all(s is not None and 0 <= s <= ceiling for s in samples)
        assert max(s for s in samples if s is not None) > ceiling * 0.8


def test_circuit_opens_half_opens_and_closes() -> None:
    breaker = CircuitBreaker("p", failure_threshold=2, reset_after=0.05)
    breaker.before("op")
    breaker.failure(unavailable())
    breaker.failure(unavailable())
    assert breaker.state == "open"
    with pytest.raises(BelugaError) as info:
        breaker.before("op")
    assert info.value.retryable
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE
    time.sleep(0.06)
    assert breaker.state == "half_open"
    breaker.before("op")  # the single probe
    with pytest.raises(BelugaError):
        breaker.before("op")  # no second probe while the first is out
    breaker.success()
    assert breaker.state == "closed"


def test_failed_probe_reopens_and_bad_requests_do_not_count() -> None:
    breaker = CircuitBreaker("p", failure_threshold=1, reset_after=0.02)
    breaker.failure(BelugaError("op", ErrorCode.INVALID_REQUEST, "bad"))
    assert breaker.state == "closed"
    breaker.failure(unavailable())
    time.sleep(0.03)
    breaker.before("op")
    breaker.failure(unavailable())
    assert breaker.state == "open"


async def test_rate_limiter_spaces_requests() -> None:
    limiter = RateLimiter(requests_per_minute=1200)  # 20/s, burst of 1200
    limiter._requests._level = 0  # type: ignore[union-attr]  # start empty: measure the rate
    start = time.monotonic()
    for _ in range(5):
        await limiter.acquire()
        limiter.release()
    assert time.monotonic() - start >= 0.2


async def test_rate_limiter_bounds_concurrency() -> None:
    limiter = RateLimiter(max_concurrency=2)
    active = peak = 0

    async def job() -> None:
        nonlocal active, peak
        await limiter.acquire()
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)
        active -= 1
        limiter.release()

    await asyncio.gather(*(job() for _ in range(8)))
    assert peak == 2


async def test_token_budget_is_charged_with_actual_usage() -> None:
    limiter = RateLimiter(tokens_per_minute=6000)  # 100 tokens/s, bucket of 6000
    await limiter.acquire(1000)
    limiter.release(tokens_used=5900, tokens_reserved=1000)  # used far more than reserved
    start = time.monotonic()
    await limiter.acquire(150)  # 100 left in the bucket: waits ~0.5 s for 50 more
    assert 0.4 <= time.monotonic() - start < 1.5
    limiter.release()
