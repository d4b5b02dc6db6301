from __future__ import annotations

import asyncio

import pytest

from beluga.schema import ToolCall
from beluga.tools import RunContext, Tool, ToolResult, ToolRetry
from beluga.tools.execute import run_tool
from beluga.tools.testing import FakeCall, FakeTool


async def test_outcomes_in_turn_then_the_last_repeats() -> None:
    fake = FakeTool("f", ToolRetry("again"), {"n": 1})
    assert isinstance(fake, Tool)
    ctx = RunContext("deps")
    with pytest.raises(ToolRetry, match="again"):
        await fake.call({"a": 1}, ctx)
    assert await fake.call({"a": 2}, ctx) == ToolResult.text('{"n":1}')
    assert await fake.call({}, ctx) == ToolResult.text('{"n":1}')
    assert fake.calls[0] == FakeCall({"a": 1}, ctx)
    assert [c.arguments for c in fake.calls] == [{"a": 1}, {"a": 2}, {}]


async def test_defaults_and_definition() -> None:
    fake = FakeTool(parameters={"type": "object", "properties": {"x": {"type": "integer"}}})
    assert fake.definition.name == "fake"
    assert fake.definition.parameters["properties"] == {"x": {"type": "integer"}}
    assert await fake.call({}, RunContext(None)) == ToolResult.text("ok")


async def test_gate_holds_calls_and_counts_concurrency() -> None:
    gate = asyncio.Event()
    fake = FakeTool("slow", gate=gate)
    calls = [
        asyncio.create_task(run_tool(fake, ToolCall(f"c{i}", "slow"), RunContext(None)))
        for i in range(3)
    ]
    for _ in range(3):
        await asyncio.sleep(0)
    assert fake.active == 3 and fake.completed == 0
    gate.set()
    await asyncio.gather(*calls)
    assert fake.max_active == 3 and fake.active == 0 and fake.completed == 3
    assert [c.ctx.tool_call_id for c in fake.calls] == ["c0", "c1", "c2"]


async def test_cancelled_calls_leave_the_count() -> None:
    fake = FakeTool("stuck", gate=asyncio.Event())
    task = asyncio.create_task(fake.call({}, RunContext(None)))
    await asyncio.sleep(0)
    assert fake.active == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fake.active == 0 and fake.completed == 0
