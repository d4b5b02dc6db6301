from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from beluga.core import BelugaError, ErrorCode, register_secret
from beluga.observability import start_operation
from beluga.schema import ToolCall, ToolDefinition
from beluga.tools import RunContext, ToolResult, ToolRetry
from beluga.tools.execute import run_tool
from beluga.tools.function import tool
from tests.conftest import Telemetry

SECRET = "sk-test-PLANTEDsecret0123456789"


def _text(result: ToolResult) -> str:
    return "".join(getattr(p, "text", "") for p in result.content)


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


async def test_success_returns_the_tool_result() -> None:
    result = await run_tool(add, ToolCall("c1", "add", '{"a": 2, "b": 3}'), RunContext(None))
    assert result == ToolResult.text("5")


async def test_empty_arguments_mean_no_arguments() -> None:
    @tool
    async def ping() -> str:
        return "pong"

    for text in ("", "{}"):
        assert _text(await run_tool(ping, ToolCall("c", "ping", text), RunContext(None))) == "pong"


async def test_the_tool_sees_the_call_in_its_context_and_the_callers_is_untouched() -> None:
    seen: list[RunContext[Any]] = []

    @tool
    async def probe(ctx: RunContext[Any]) -> str:
        seen.append(ctx)
        return "ok"

    ctx = RunContext("deps", session_id="s", retry=2)
    await run_tool(probe, ToolCall("call-7", "probe"), ctx)
    (inner,) = seen
    assert (inner.tool_call_id, inner.tool_name) == ("call-7", "probe")
    assert (inner.deps, inner.session_id, inner.retry) == ("deps", "s", 2)
    assert ctx.tool_call_id is None and ctx.tool_name is None


async def test_a_context_already_for_this_call_is_passed_as_is() -> None:
    seen: list[RunContext[Any]] = []

    @tool
    async def probe(ctx: RunContext[Any]) -> str:
        seen.append(ctx)
        return "ok"

    ctx = RunContext(None, tool_call_id="c", tool_name="probe")
    await run_tool(probe, ToolCall("c", "probe"), ctx)
    assert seen[0] is ctx


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"a": 1,', "not valid JSON"),
        ("[1, 2]", "must be a JSON object, not an array"),
        ('"a"', "not a string"),
        ("3", "not a number"),
        ("null", "not null"),
    ],
)
async def test_malformed_arguments_are_an_error_result(arguments: str, expected: str) -> None:
    result = await run_tool(add, ToolCall("c", "add", arguments), RunContext(None))
    assert result.is_error
    assert expected in _text(result)
    assert "'add'" in _text(result)


async def test_invalid_arguments_come_back_as_the_retry_message() -> None:
    result = await run_tool(add, ToolCall("c", "add", '{"a": "x"}'), RunContext(None))
    assert result.is_error
    text = _text(result)
    assert "- a: Input should be a valid integer" in text
    assert "- b: Field required" in text


async def test_tool_retry_message_reaches_the_model() -> None:
    @tool
    def pick(n: int) -> int:
        raise ToolRetry("n must be below 10; pick a smaller one")

    result = await run_tool(pick, ToolCall("c", "pick", '{"n": 50}'), RunContext(None))
    assert result == ToolResult.text("n must be below 10; pick a smaller one", is_error=True)


async def test_an_exception_is_a_short_redacted_error_result() -> None:
    register_secret(SECRET)

    @tool
    def leak() -> str:
        raise ValueError(f"upstream refused key {SECRET}")

    result = await run_tool(leak, ToolCall("c", "leak"), RunContext(None))
    assert result.is_error
    text = _text(result)
    assert text.startswith("Tool 'leak' failed with ValueError: upstream refused key")
    assert SECRET not in text
    assert "Traceback" not in text and "File " not in text


async def test_a_beluga_error_keeps_its_code() -> None:
    @tool
    async def down() -> str:
        raise BelugaError("svc", ErrorCode.PROVIDER_UNAVAILABLE, "the service is down")

    result = await run_tool(down, ToolCall("c", "down"), RunContext(None))
    assert _text(result) == (
        "Tool 'down' failed with BelugaError: [provider_unavailable] the service is down"
    )


async def test_a_huge_exception_message_is_cut() -> None:
    @tool
    async def loud() -> str:
        raise RuntimeError("x" * 50_000)

    result = await run_tool(loud, ToolCall("c", "loud"), RunContext(None))
    assert result.is_error and len(_text(result)) <= 1000


async def test_timeout_is_an_error_result() -> None:
    never = asyncio.Event()

    @tool(timeout=0.01)
    async def stuck() -> str:
        await never.wait()
        return "never"

    result = await run_tool(stuck, ToolCall("c", "stuck"), RunContext(None))
    assert result.is_error
    assert _text(result).startswith("Tool 'stuck' timed out: no answer within 0.01s")


async def test_cancellation_propagates() -> None:
    started = asyncio.Event()

    @tool
    async def slow() -> str:
        started.set()
        await asyncio.Event().wait()
        return "never"

    task = asyncio.create_task(run_tool(slow, ToolCall("c", "slow"), RunContext(None)))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_keyboard_interrupt_propagates() -> None:
    @tool
    async def interrupted() -> str:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await run_tool(interrupted, ToolCall("c", "interrupted"), RunContext(None))


class _LooseTool:
    """A third-party tool whose ``call`` returns a plain value instead of a ToolResult."""

    definition = ToolDefinition("loose")
    requires_approval = False
    timeout = None
    max_retries = 1

    async def call(self, arguments: dict[str, Any], ctx: RunContext[Any]) -> Any:
        return {"got": arguments}


async def test_a_plain_value_from_a_tool_is_converted() -> None:
    result = await run_tool(_LooseTool(), ToolCall("c", "loose", '{"x": 1}'), RunContext(None))
    assert result == ToolResult.text('{"got":{"x":1}}')


# -- spans ---------------------------------------------------------------------------------


async def test_success_span(telemetry: Telemetry) -> None:
    await run_tool(add, ToolCall("call-1", "add", '{"a": 1, "b": 1}'), RunContext(None))
    (span,) = telemetry.finished_spans()
    assert span.name == "execute_tool add"
    assert span.kind is SpanKind.INTERNAL
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "execute_tool"
    assert attrs["gen_ai.tool.name"] == "add"
    assert attrs["gen_ai.tool.call.id"] == "call-1"
    assert attrs["gen_ai.tool.description"] == "Add two numbers."
    assert "error.type" not in attrs
    assert span.status.status_code is not StatusCode.ERROR


@pytest.mark.parametrize(
    ("arguments", "error_type"),
    [('{"a": ', "invalid_request"), ('{"a": "x", "b": 1}', "ToolRetry")],
)
async def test_error_spans_carry_the_error_type(
    telemetry: Telemetry, arguments: str, error_type: str
) -> None:
    await run_tool(add, ToolCall("c", "add", arguments), RunContext(None))
    (span,) = telemetry.finished_spans()
    assert dict(span.attributes or {})["error.type"] == error_type
    assert span.status.status_code is StatusCode.ERROR


async def test_exception_span_is_redacted(telemetry: Telemetry) -> None:
    register_secret(SECRET)

    @tool
    def leak() -> str:
        raise ValueError(f"key {SECRET}")

    await run_tool(leak, ToolCall("c", "leak"), RunContext(None))
    (span,) = telemetry.finished_spans()
    assert dict(span.attributes or {})["error.type"] == "ValueError"
    dumped = repr(span.status.description) + repr([dict(e.attributes or {}) for e in span.events])
    assert SECRET not in dumped


async def test_timeout_span(telemetry: Telemetry) -> None:
    @tool(timeout=0.01)
    async def stuck() -> str:
        await asyncio.Event().wait()
        return ""

    await run_tool(stuck, ToolCall("c", "stuck"), RunContext(None))
    (span,) = telemetry.finished_spans()
    assert dict(span.attributes or {})["error.type"] == "timeout"


async def test_spans_made_inside_a_tool_are_its_children(telemetry: Telemetry) -> None:
    @tool
    async def outer() -> str:
        with start_operation("inner_step", None):
            return "ok"

    await run_tool(outer, ToolCall("c", "outer"), RunContext(None))
    inner, tool_span = telemetry.finished_spans()
    assert tool_span.name == "execute_tool outer"
    assert inner.parent is not None and inner.parent.span_id == tool_span.context.span_id


async def test_sync_tool_spans_nest_across_the_thread(telemetry: Telemetry) -> None:
    @tool
    def outer() -> str:
        with start_operation("inner_step", None):
            return "ok"

    await run_tool(outer, ToolCall("c", "outer"), RunContext(None))
    inner, tool_span = telemetry.finished_spans()
    assert inner.parent is not None and inner.parent.span_id == tool_span.context.span_id


async def test_the_span_ends_when_cancelled(telemetry: Telemetry) -> None:
    started = asyncio.Event()

    @tool
    async def slow() -> str:
        started.set()
        await asyncio.Event().wait()
        return ""

    task = asyncio.create_task(run_tool(slow, ToolCall("c", "slow"), RunContext(None)))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (span,) = telemetry.finished_spans()
    assert span.name == "execute_tool slow"


async def test_a_bug_in_a_tool_is_logged_with_its_traceback_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    register_secret(SECRET)

    @tool
    def buggy() -> str:
        raise KeyError(f"missing {SECRET}")

    with caplog.at_level("WARNING", logger="beluga.tools"):
        await run_tool(buggy, ToolCall("c", "buggy"), RunContext(None))
    (record,) = [r for r in caplog.records if r.name == "beluga.tools"]
    assert "tool buggy raised KeyError" in record.getMessage()
    assert "Traceback" in caplog.text
    assert SECRET not in caplog.text


async def test_tool_retry_and_beluga_errors_are_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @tool
    def asks() -> str:
        raise ToolRetry("again")

    with caplog.at_level("WARNING", logger="beluga.tools"):
        await run_tool(asks, ToolCall("c", "asks"), RunContext(None))
        await run_tool(add, ToolCall("c", "add", "{"), RunContext(None))
    assert not [r for r in caplog.records if r.name == "beluga.tools"]


async def test_a_sync_function_returning_a_coroutine_is_awaited() -> None:
    async def inner(x: int) -> int:
        return x * 2

    def wrapper(x: int) -> object:
        return inner(x)

    result = await run_tool(tool(wrapper), ToolCall("c", "wrapper", '{"x": 4}'), RunContext(None))
    assert result == ToolResult.text("8")
