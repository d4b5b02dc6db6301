from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest

from beluga.core import BelugaError, ErrorCode
from beluga.core.resilience import (
    CircuitBreaker,
    RateLimiter,
    RetryPolicy,
    StreamInterruptedError,
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


async def test_log_retries_names_what_is_retried(caplog: pytest.LogCaptureFixture) -> None:
    call, _ = flaky([unavailable()])
    log = logging.getLogger("beluga.test.retries")
    with caplog.at_level(logging.INFO, logger="beluga.test.retries"):
        await retry_call(call, RetryPolicy(base_delay=0.001), on_retry=log_retries(log, "m1"))
    assert [r.getMessage().split(": waiting")[0] for r in caplog.records] == [
        "retry m1 attempt 2 after provider_unavailable"
    ]


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


# -- generic call and stream wrappers ----------------------------------------------------


def items(values: list[object], *, fail: BelugaError | None = None, hang: bool = False):  # type: ignore[no-untyped-def]
    """A stream factory of ``values`` (then ``fail`` or a hang) that counts its opens."""
    opened: list[int] = []

    async def gen() -> AsyncIterator[object]:
        opened.append(1)
        for value in values:
            yield value
        if hang:
            await asyncio.Event().wait()
        if fail is not None:
            raise fail

    return gen, opened


async def test_restart_stream_reopens_until_output_and_holds_back_what_is_not() -> None:
    attempts: list[int] = []

    def open_stream(attempt: int) -> AsyncIterator[str]:
        attempts.append(attempt)
        gen, _ = (
            items(["meta", "meta2"], fail=unavailable()) if attempt < 3 else items(["meta", "a"])
        )
        return gen()  # type: ignore[no-any-return]

    async def give_up(attempt: int, error: BelugaError) -> None:
        assert error.code is ErrorCode.PROVIDER_UNAVAILABLE

    out = [
        x
        async for x in restart_stream(
            open_stream, give_up, is_output=lambda s: s != "meta" and s != "meta2"
        )
    ]
    assert out == ["meta", "a"]  # the failed attempts' held items never reached the consumer
    assert attempts == [1, 2, 3]


async def test_restart_stream_delivers_held_items_of_a_stream_without_output() -> None:
    gen, _ = items(["meta"])

    async def give_up(attempt: int, error: BelugaError) -> None:
        raise AssertionError("no failure")

    out = [x async for x in restart_stream(lambda _: gen(), give_up, is_output=lambda s: False)]
    assert out == ["meta"]


async def test_restart_stream_after_output_raises_interrupted_with_observed_items() -> None:
    gen, opened = items(["a", "b"], fail=unavailable())
    seen: list[object] = []

    async def give_up(attempt: int, error: BelugaError) -> None:
        raise AssertionError("must not restart after output")

    got: list[object] = []
    with pytest.raises(StreamInterruptedError) as info:
        async for x in restart_stream(lambda _: gen(), give_up, observe=seen.append):
            got.append(x)
    assert got == seen == ["a", "b"]
    assert not info.value.retryable
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE
    assert len(opened) == 1


async def test_retry_stream_reuses_the_policy_for_any_stream() -> None:
    failures = [unavailable(), unavailable()]
    retries: list[int] = []

    async def transcripts() -> AsyncIterator[str]:  # e.g. an STT stream
        if failures:
            raise failures.pop(0)
        yield "hello"
        yield "world"

    stream = retry_stream(transcripts, FAST_POLICY, on_retry=lambda a, e, w: retries.append(a))
    assert [x async for x in stream] == ["hello", "world"]
    assert retries == [1, 2]


async def test_retry_stream_gives_up_as_the_policy_says() -> None:
    async def down() -> AsyncIterator[str]:
        raise BelugaError("stt", ErrorCode.AUTH_FAILED, "bad key")
        yield "never"

    with pytest.raises(BelugaError, match="bad key"):
        [x async for x in retry_stream(down, FAST_POLICY)]


async def test_timeout_call_raises_a_retryable_timeout() -> None:
    with pytest.raises(BelugaError) as info:
        await timeout_call(lambda: asyncio.sleep(10), 0.01, op="tools.search", hint="try less")
    assert info.value.code is ErrorCode.TIMEOUT and info.value.retryable
    assert info.value.op == "tools.search" and "try less" in info.value.message
    assert await timeout_call(lambda: asyncio.sleep(0, "ok"), None, op="x") == "ok"


async def test_timeout_call_keeps_the_calls_own_timeout_error() -> None:
    async def own() -> None:
        raise TimeoutError("socket")

    with pytest.raises(TimeoutError, match="socket"):
        await timeout_call(own, 10, op="x")


async def test_breaker_call_cancellation_is_no_failure() -> None:
    breaker = CircuitBreaker("p", failure_threshold=1, reset_after=60)
    for _ in range(3):
        task = asyncio.create_task(breaker_call(lambda: asyncio.sleep(10), breaker, "op"))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert breaker.state == "closed"
    with pytest.raises(BelugaError):
        await breaker_call(_raise(unavailable()), breaker, "op")
    assert breaker.state == "open"


async def test_breaker_stream_early_stops_are_no_failure() -> None:
    breaker = CircuitBreaker("stt", failure_threshold=2, reset_after=60)
    gen, _ = items([1, 2, 3])
    for _ in range(3):  # break, then close: GeneratorExit inside the wrapper
        stream = breaker_stream(gen, breaker, "op")
        async for _ in stream:
            break
        await stream.aclose()  # type: ignore[attr-defined]
    hanging, _ = items([], hang=True)
    for _ in range(3):  # cancelled while waiting for the first item
        task = asyncio.create_task(_drain(breaker_stream(hanging, breaker, "op")))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert breaker.state == "closed"
    assert [x async for x in breaker_stream(gen, breaker, "op")] == [1, 2, 3]


async def test_a_cancelled_probe_frees_the_half_open_slot() -> None:
    breaker = CircuitBreaker("p", failure_threshold=1, reset_after=0.01)
    breaker.failure(unavailable())
    await asyncio.sleep(0.02)
    assert breaker.state == "half_open"
    hanging, _ = items([], hang=True)
    task = asyncio.create_task(_drain(breaker_stream(hanging, breaker, "op")))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await breaker_call(lambda: asyncio.sleep(0, "probe"), breaker, "op") == "probe"
    assert breaker.state == "closed"


def test_breaker_failure_ignores_a_stopped_caller() -> None:
    breaker = CircuitBreaker("p", failure_threshold=1)
    breaker.failure(asyncio.CancelledError())
    breaker.failure(GeneratorExit())
    assert breaker.state == "closed"


async def test_breaker_stream_counts_a_failing_stream() -> None:
    breaker = CircuitBreaker("p", failure_threshold=2, reset_after=60)
    gen, _ = items([1], fail=unavailable())
    for _ in range(2):
        with pytest.raises(BelugaError):
            await _drain(breaker_stream(gen, breaker, "op"))
    assert breaker.state == "open"
    with pytest.raises(BelugaError, match="circuit 'p' is open"):
        await _drain(breaker_stream(gen, breaker, "op"))


async def test_limit_call_and_stream_charge_what_was_used() -> None:
    limiter = RateLimiter(tokens_per_minute=6000, max_concurrency=1)
    bucket = limiter._tokens
    assert bucket is not None
    result = await limit_call(lambda: asyncio.sleep(0, 40), limiter, tokens=10, used=lambda r: r)
    assert result == 40
    assert 5959 < bucket._level < 5980  # 40 charged (refilling at 100/s meanwhile), not 10
    gen, _ = items([7, 8])
    stream = limit_stream(gen, limiter, tokens=100, used=lambda x: x)  # type: ignore[arg-type, return-value]
    assert [x async for x in stream] == [7, 8]
    assert 5944 < bucket._level < 5980  # 15 charged, not the 100 reserved
    await limiter.acquire()  # the concurrency slot was given back
    limiter.release()


def test_ttl_cache_copies_values_in_and_out() -> None:
    cache: TTLCache[str, list[int]] = TTLCache(copy=list)
    value = [1]
    cache.put("k", value)
    value.append(2)  # the caller's own object
    hit = cache.get("k")
    assert hit == [1]
    assert hit is not None
    hit.append(3)
    assert cache.get("k") == [1]
    assert (cache.hits, cache.misses, len(cache)) == (2, 0, 1)


async def test_cache_call_and_stream_share_entries_and_skip_unkept() -> None:
    cache: TTLCache[str, str] = TTLCache()
    calls: list[str] = []

    async def answer() -> str:
        calls.append("call")
        return "ok"

    assert await cache_call(cache, "q", answer, keep=lambda v: v != "ok") == "ok"
    assert await cache_call(cache, "q", answer) == "ok"
    assert await cache_call(cache, "q", answer) == "ok"
    assert calls == ["call", "call"]

    gen, opened = items(["a", "b"])
    stream = cache_stream(cache, "s", gen, collect="".join, replay=list)  # type: ignore[arg-type]
    async for _ in stream:
        break  # an early stop stores nothing
    await stream.aclose()  # type: ignore[attr-defined]
    assert cache.get("s") is None
    whole = [x async for x in cache_stream(cache, "s", gen, collect="".join, replay=list)]  # type: ignore[arg-type]
    again = [x async for x in cache_stream(cache, "s", gen, collect="".join, replay=list)]  # type: ignore[arg-type]
    assert whole == again == ["a", "b"]
    assert len(opened) == 2


FAST_POLICY = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002)


def _raise(error: BelugaError):  # type: ignore[no-untyped-def]
    async def call() -> None:
        raise error

    return call


async def _drain(stream: AsyncIterator[object]) -> list[object]:
    return [x async for x in stream]
