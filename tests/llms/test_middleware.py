"""Middleware on real providers failing against a local server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from beluga.core import BelugaError, ErrorCode, Middleware, apply
from beluga.core.resilience import CircuitBreaker, RateLimiter, RetryPolicy
from beluga.llms import ChatModel, create
from beluga.llms.metered import metered
from beluga.llms.metrics import MetricsRecorder, open_store
from beluga.llms.middleware import (
    ResponseCache,
    StreamInterruptedError,
    cached,
    circuit_breaker,
    rate_limited,
    retrying,
    timed_out,
    traced,
)
from beluga.llms.testing import AgentInfo, FunctionModel, TestModel
from beluga.schema import FinishEvent, Message, StreamEvent, TextDelta, Usage
from tests.conftest import Telemetry
from tests.llms._servers import completion, error, stream
from tests.support.replay_server import ReplayServer, Reply

FAST = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002)


@pytest.fixture
async def server() -> AsyncIterator[ReplayServer]:
    async with ReplayServer() as srv:
        yield srv


def model_at(server: ReplayServer, **kw: object) -> ChatModel:
    return create(
        "openai:gpt-4o-mini", base_url=f"{server.url}/v1", api_key="sk-test-0123456789", **kw
    )


async def test_retry_recovers_from_retryable_errors(server: ReplayServer) -> None:
    server.enqueue(error(503), error(429, headers={"retry-after-ms": "30"}), completion("ok"))
    model = apply(model_at(server), retrying(FAST))
    start = time.monotonic()
    assert (await model.generate("hi")).text == "ok"
    assert len(server.requests) == 3
    assert time.monotonic() - start >= 0.03  # the server's retry-after-ms was honoured


async def test_retry_does_not_retry_bad_requests(server: ReplayServer) -> None:
    server.enqueue(error(400, "bad tool schema"), completion("never"))
    with pytest.raises(BelugaError) as info:
        await apply(model_at(server), retrying(FAST)).generate("hi")
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert len(server.requests) == 1


async def test_retry_restarts_a_stream_that_failed_before_output(server: ReplayServer) -> None:
    server.enqueue(error(500), stream(["a", "b"], cut_after=30), stream(["fine"]))
    model = apply(model_at(server), retrying(FAST))
    text = "".join([e.text async for e in model.stream("hi") if isinstance(e, TextDelta)])
    assert text == "fine"
    assert len(server.requests) == 3


async def test_retry_never_restarts_after_output(server: ReplayServer) -> None:
    whole = stream(["one", " two", " three"])
    server.enqueue(stream(["one", " two", " three"], cut_after=len(whole.wire_body()) - 100))
    model = apply(model_at(server), retrying(FAST))
    with pytest.raises(StreamInterruptedError) as info:
        async for _ in model.stream("hi"):
            pass
    assert info.value.partial.text.startswith("one")
    assert len(server.requests) == 1


async def test_timeout_is_retryable_and_then_succeeds(server: ReplayServer) -> None:
    server.enqueue(Reply(200, [], b"", delay=1.0), completion("quick"))
    model = apply(model_at(server), retrying(FAST), timed_out(0.2))
    assert (await model.generate("hi")).text == "quick"


async def test_stream_first_chunk_timeout(server: ReplayServer) -> None:
    slow = stream(["late"])
    slow.delay = 1.0
    server.enqueue(slow)
    with pytest.raises(BelugaError) as info:
        async for _ in apply(model_at(server), timed_out(first_chunk=0.2)).stream("hi"):
            pass
    assert info.value.code is ErrorCode.TIMEOUT
    assert info.value.retryable


async def test_circuit_breaker_opens_then_recovers(server: ReplayServer) -> None:
    breaker = CircuitBreaker("openai", failure_threshold=2, reset_after=0.1)
    model = apply(model_at(server), circuit_breaker(breaker))
    server.enqueue(error(500), error(500), completion("recovered"))
    for _ in range(2):
        with pytest.raises(BelugaError):
            await model.generate("hi")
    with pytest.raises(BelugaError, match="circuit 'openai' is open"):
        await model.generate("hi")
    assert len(server.requests) == 2  # the open circuit sent nothing
    await asyncio.sleep(0.12)
    assert (await model.generate("hi")).text == "recovered"
    assert breaker.state == "closed"


async def test_rate_limit_bounds_concurrency_on_a_real_server(server: ReplayServer) -> None:
    for _ in range(6):
        slow = completion("x")
        slow.delay = 0.05
        server.enqueue(slow)
    model = apply(model_at(server), rate_limited(RateLimiter(max_concurrency=2)))
    start = time.monotonic()
    await asyncio.gather(*(model.generate("hi") for _ in range(6)))
    assert time.monotonic() - start >= 0.14  # 3 waves of 2 at 50 ms each


async def test_cache_answers_repeats_without_calling(server: ReplayServer) -> None:
    cache = ResponseCache(max_entries=8)
    model = apply(model_at(server), cached(cache))
    server.enqueue(completion("first"), completion("other question"))
    assert (await model.generate("same")).text == "first"
    assert (await model.generate("same")).text == "first"
    assert (await model.generate("different")).text == "other question"
    streamed = "".join([e.text async for e in model.stream("same") if isinstance(e, TextDelta)])
    assert streamed == "first"
    assert len(server.requests) == 2
    assert (cache.hits, cache.misses) == (2, 2)


def test_cache_evicts_and_expires() -> None:
    cache = ResponseCache(max_entries=1, ttl=0.01)
    from beluga.schema import ChatResponse, Message

    cache.put("a", ChatResponse(Message.assistant("a")))
    cache.put("b", ChatResponse(Message.assistant("b")))
    assert cache.get("a") is None
    time.sleep(0.02)
    assert cache.get("b") is None


async def test_traced_wraps_any_chat_model(telemetry: Telemetry) -> None:
    class Plain:
        """A ChatModel that is not a BaseChatModel."""

        model_name = "plain-1"
        inner = TestModel()

        async def generate(self, prompt, *, tools=None, settings=None):  # type: ignore[no-untyped-def]
            return await self.inner._generate([], (), self.inner.settings)

        def stream(self, prompt, *, tools=None, settings=None):  # type: ignore[no-untyped-def]
            return self.inner.stream(prompt)

        async def aclose(self) -> None:
            return None

    model = apply(Plain(), traced("custom"))  # type: ignore[arg-type]
    await model.generate("hi")
    names = [s.name for s in telemetry.finished_spans()]
    assert names == ["chat plain-1"]


ALL_WRAPPERS = [
    retrying(FAST),
    timed_out(5),
    rate_limited(RateLimiter(max_concurrency=4)),
    circuit_breaker(CircuitBreaker("x")),
    cached(),
]
WRAPPER_NAMES = ["retrying", "timed_out", "rate_limited", "circuit_breaker", "cached"]


class Closable(TestModel):
    """A TestModel that counts its closes."""

    closes = 0

    async def aclose(self) -> None:
        self.closes += 1


@pytest.mark.parametrize("middleware", ALL_WRAPPERS, ids=WRAPPER_NAMES)
def test_wrappers_forward_provider_and_model_name(middleware: Middleware[ChatModel]) -> None:
    model = apply(TestModel("test-1"), middleware)
    assert (model.provider, model.model_name) == ("test", "test-1")  # type: ignore[attr-defined]
    stacked = apply(TestModel("test-2"), *ALL_WRAPPERS)
    assert (stacked.provider, stacked.model_name) == ("test", "test-2")  # type: ignore[attr-defined]


@pytest.mark.parametrize("middleware", ALL_WRAPPERS, ids=WRAPPER_NAMES)
async def test_wrappers_are_async_context_managers(middleware: Middleware[ChatModel]) -> None:
    inner = Closable()
    async with apply(inner, middleware) as model:  # type: ignore[attr-defined]
        assert (await model.generate("hi")).text
    assert inner.closes == 1
    await apply(inner, middleware).aclose()
    assert inner.closes == 2


async def test_metrics_name_the_provider_under_a_retry(tmp_path: Path) -> None:
    recorder = MetricsRecorder(open_store(f"sqlite://{tmp_path}/m.db"), interval=0.01)
    model = apply(TestModel(), metered(recorder), retrying(FAST))
    await model.generate("hi")
    recorder.flush()
    assert [r.provider for r in recorder.store.export()] == ["test"]
    recorder.close()


async def test_breaker_early_stops_are_not_failures() -> None:
    breaker = CircuitBreaker("test", failure_threshold=2, reset_after=60)
    model = apply(TestModel(text="one two three"), circuit_breaker(breaker))
    for _ in range(3):  # break out, then close: GeneratorExit inside the wrapper
        stream = model.stream("hi")
        async for _ in stream:
            break
        await stream.aclose()  # type: ignore[attr-defined]

    async def stalls(_: Sequence[Message], __: AgentInfo) -> AsyncIterator[str]:
        await asyncio.Event().wait()
        yield "never"

    stalled = apply(FunctionModel(stream_function=stalls), circuit_breaker(breaker))
    for _ in range(3):  # cancelled while waiting
        task = asyncio.create_task(_drain(stalled.stream("hi")))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert breaker.state == "closed"
    assert [e async for e in model.stream("hi") if isinstance(e, TextDelta)]


async def test_cache_hits_are_copies() -> None:
    cache = ResponseCache()
    model = apply(TestModel(text="original"), cached(cache))
    first = await model.generate("q")
    first.message = Message.assistant("changed by the first caller")
    hit = await model.generate("q")
    assert hit.text == "original"
    hit.message = Message.assistant("changed by the second")
    hit.usage = Usage(999, 999)
    hit.finish_reason = "length"
    again = await model.generate("q")
    assert (again.text, again.usage.input_tokens, again.finish_reason) == ("original", 2, "stop")
    assert again is not hit
    assert cache.hits == 2


async def test_cache_skips_failed_and_stopped_streams() -> None:
    calls: list[str] = []

    async def answer(_: Sequence[Message], __: AgentInfo) -> AsyncIterator[str | StreamEvent]:
        calls.append("call")
        yield "partial"
        yield FinishEvent("error" if len(calls) == 1 else "stop")

    cache = ResponseCache()
    model = apply(FunctionModel(stream_function=answer), cached(cache))
    await _drain(model.stream("q"))  # finished with an error: not kept
    stream = model.stream("q")
    async for _ in stream:
        break  # stopped early: not kept
    await stream.aclose()  # type: ignore[attr-defined]
    await _drain(model.stream("q"))
    await _drain(model.stream("q"))  # the only hit
    assert len(calls) == 3
    assert (await model.generate("q")).text == "partial"
    assert len(calls) == 3


async def _drain(stream: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [e async for e in stream]
