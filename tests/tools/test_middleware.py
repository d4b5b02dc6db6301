from __future__ import annotations

import asyncio

import pytest

from beluga.core import BelugaError, ErrorCode, apply
from beluga.core.resilience import CircuitBreaker, RateLimiter, RetryPolicy
from beluga.schema import ToolCall
from beluga.tools import RunContext, Tool, ToolResult, ToolRetry
from beluga.tools.execute import run_tool
from beluga.tools.middleware import ToolWrapper, circuit_breaker, rate_limited, retrying
from beluga.tools.testing import FakeTool

FAST = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)
DOWN = BelugaError("svc", ErrorCode.PROVIDER_UNAVAILABLE, "down")


def ctx() -> RunContext[None]:
    return RunContext(None)


def test_wrappers_forward_definition_and_flags() -> None:
    inner = FakeTool(
        "lookup",
        description="Find it.",
        parameters={"type": "object", "properties": {"q": {"type": "string"}}},
        requires_approval=True,
        timeout=4.0,
        max_retries=3,
    )
    wrapped = apply(
        inner,
        retrying(FAST),
        rate_limited(RateLimiter(max_concurrency=2)),
        circuit_breaker(CircuitBreaker("t")),
    )
    assert isinstance(wrapped, Tool) and isinstance(wrapped, ToolWrapper)
    assert wrapped.definition is inner.definition
    assert (wrapped.requires_approval, wrapped.timeout, wrapped.max_retries) == (True, 4.0, 3)


async def test_retry_retries_retryable_errors() -> None:
    inner = FakeTool("flaky", DOWN, DOWN, "fine")
    result = await retrying(FAST)(inner).call({}, ctx())
    assert result == ToolResult.text("fine")
    assert len(inner.calls) == 3


async def test_retry_gives_up_and_never_retries_tool_retry() -> None:
    inner = FakeTool("bad", ToolRetry("fix your input"), "never")
    with pytest.raises(ToolRetry):
        await retrying(FAST)(inner).call({}, ctx())
    assert len(inner.calls) == 1
    always = FakeTool("down", DOWN)
    with pytest.raises(BelugaError, match="down"):
        await retrying(FAST)(always).call({}, ctx())
    assert len(always.calls) == 3


async def test_rate_limit_bounds_concurrency() -> None:
    gate = asyncio.Event()
    inner = FakeTool("busy", gate=gate)
    tool = rate_limited(RateLimiter(max_concurrency=2))(inner)
    tasks = [asyncio.create_task(tool.call({}, ctx())) for _ in range(5)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert inner.active == 2
    gate.set()
    await asyncio.gather(*tasks)
    assert inner.max_active == 2 and inner.completed == 5


async def test_breaker_opens_on_failures_and_ignores_tool_retry() -> None:
    breaker = CircuitBreaker("api", failure_threshold=2, reset_after=60)
    retry_only = circuit_breaker(breaker)(FakeTool("t", ToolRetry("again")))
    for _ in range(3):
        with pytest.raises(ToolRetry):
            await retry_only.call({}, ctx())
    assert breaker.state == "closed"
    inner = FakeTool("t", ValueError("boom"))
    failing = circuit_breaker(breaker)(inner)
    for _ in range(2):
        with pytest.raises(ValueError, match="boom"):
            await failing.call({}, ctx())
    assert breaker.state == "open"
    with pytest.raises(BelugaError, match="circuit 'api' is open"):
        await failing.call({}, ctx())
    assert len(inner.calls) == 2


async def test_an_open_breaker_is_an_error_result_for_the_model() -> None:
    breaker = CircuitBreaker("api", failure_threshold=1, reset_after=60)
    tool = circuit_breaker(breaker)(FakeTool("t", ValueError("boom")))
    await run_tool(tool, ToolCall("c", "t"), ctx())
    result = await run_tool(tool, ToolCall("c", "t"), ctx())
    assert result.is_error
    assert "provider_unavailable" in result.content[0].text  # type: ignore[union-attr]


async def test_aclose_reaches_the_wrapped_tool() -> None:
    closed: list[str] = []

    class Closable(FakeTool):
        async def aclose(self) -> None:
            closed.append(self.name)

    async with retrying(FAST)(Closable("c")):
        pass
    assert closed == ["c"]
