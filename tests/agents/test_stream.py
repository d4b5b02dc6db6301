"""Streaming events in order, and cancellation that leaves no task behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from beluga.agents import (
    Agent,
    FinalOutputEvent,
    ToolCallEvent,
    ToolResultEvent,
    UsageUpdateEvent,
)
from beluga.agents.testing import ScriptedModel, call
from beluga.llms.testing import AgentInfo, FunctionModel
from beluga.schema import Message, StreamEvent, TextDelta, ToolCallDelta

from ._support import FnTool


async def test_stream_yields_calls_results_text_usage_and_the_output_in_order() -> None:
    async def stream(
        messages: Sequence[Message], info: AgentInfo
    ) -> AsyncIterator[str | StreamEvent]:
        if not any(m.role == "tool" for m in messages):
            yield ToolCallDelta(0, "c1", "add", '{"a": 1,')
            yield ToolCallDelta(0, arguments=' "b": 2}')
            return
        for piece in ("the ", "sum ", "is 3"):
            yield piece

    tool = FnTool("add", lambda a, c: a["a"] + a["b"])
    agent = Agent(FunctionModel(stream_function=stream), tools=[tool])
    events = [e async for e in agent.stream("1+2?")]
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "UsageUpdateEvent",
        "ToolCallEvent",
        "ToolResultEvent",
        "TextDelta",
        "TextDelta",
        "TextDelta",
        "UsageUpdateEvent",
        "FinalOutputEvent",
    ]
    call_event, result_event = events[1], events[2]
    assert isinstance(call_event, ToolCallEvent) and call_event.call.arguments == '{"a": 1, "b": 2}'
    assert isinstance(result_event, ToolResultEvent) and result_event.result.content[0].text == "3"  # type: ignore[union-attr]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "the sum is 3"
    final = events[-1]
    assert isinstance(final, FinalOutputEvent) and final.output == "the sum is 3"
    assert final.result.new_messages()[-1].text == "the sum is 3"
    assert isinstance(events[0], UsageUpdateEvent)


def _others() -> set[asyncio.Task[Any]]:
    return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]


async def test_cancelling_a_run_mid_tool_call_leaves_no_task_running() -> None:
    started = asyncio.Event()
    stopped: list[str] = []

    async def slow(args: dict[str, Any], ctx: Any) -> str:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            stopped.append(args["n"])
        return "never"

    tool = FnTool("slow", slow)
    model = ScriptedModel([call("slow", n="a"), call("slow", n="b")], "never")
    before = _others()
    task = asyncio.create_task(Agent(model, tools=[tool]).run("go"))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert task in done and task.cancelled()
    assert sorted(stopped) == ["a", "b"]
    assert _others() == before


async def test_leaving_a_stream_early_closes_the_model_stream() -> None:
    closed: list[bool] = []

    async def stream(messages: Sequence[Message], info: AgentInfo) -> AsyncIterator[str]:
        try:
            for i in range(1000):
                yield f"{i} "
        finally:
            closed.append(True)

    agent = Agent(FunctionModel(stream_function=stream))
    events = agent.stream("count")
    async for event in events:
        if isinstance(event, TextDelta) and event.text == "2 ":
            break
    await events.aclose()  # type: ignore[attr-defined]
    assert closed == [True]
    assert _others() == set()
