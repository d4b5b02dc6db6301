"""The tool-calling loop: results, retries, concurrency, limits and output repair."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

from beluga.agents import Agent, UsageLimitExceeded, UsageLimits
from beluga.agents.testing import ScriptedModel, call
from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.testing import TestModel
from beluga.schema import Usage
from beluga.tools.base import RunContext

from ._support import FnTool, adder, tool_messages


async def test_a_tool_result_reaches_the_model_and_the_answer_ends_the_run() -> None:
    tool = adder()
    model = ScriptedModel(call("add", a=2, b=3), "5")
    result = await Agent(model, tools=[tool]).run("2+3?")
    assert result.output == "5"
    assert tool.calls == [{"a": 2, "b": 3}]
    assert [m.text for m in tool_messages(model.requests[1])] == ["5"]
    assert (result.steps, result.requests, result.tool_calls) == (1, 2, 1)
    assert result.usage == Usage(20, 10)
    assert [m.role for m in result.new_messages()] == ["user", "assistant", "tool", "assistant"]


async def test_invalid_arguments_go_back_to_the_model_which_corrects_them() -> None:
    tool = adder()
    tool.max_retries = 2
    bad = [call("add", a="two", b=3), call("add", "{not json")]
    model = ScriptedModel(*bad, call("add", a=2, b=3), "5")
    result = await Agent(model, tools=[tool]).run("2+3?")
    errors = [m for m in result.new_messages() if m.role == "tool" and m.is_error]
    assert result.output == "5"
    assert len(errors) == 2
    assert "a and b must be integers" in errors[0].text
    assert "not valid JSON" in errors[1].text


async def test_a_tool_exception_is_an_error_result_the_model_can_recover_from() -> None:
    def boom(args: dict[str, Any], ctx: RunContext[Any]) -> str:
        if not ctx.retry:
            raise RuntimeError("disk full")
        return "ok"

    tool = FnTool("save", boom)
    model = ScriptedModel(call("save"), call("save"), "saved")
    result = await Agent(model, tools=[tool]).run("save it")
    messages = tool_messages(result.new_messages())
    assert messages[0].is_error and "disk full" in messages[0].text
    assert messages[1].text == "ok" and not messages[1].is_error
    assert [ctx.retry for ctx in tool.contexts] == [0, 1]
    assert result.output == "saved"


async def test_retries_exhausted_stop_the_run_naming_the_tool_and_limit() -> None:
    tool = FnTool("flaky", lambda a, c: 1 / 0, max_retries=1)
    model = ScriptedModel(call("flaky"), call("flaky"), "never")
    with pytest.raises(BelugaError) as info:
        await Agent(model, tools=[tool]).run("go")
    assert "'flaky'" in info.value.message and "max_retries=1" in info.value.message
    assert "ZeroDivisionError" in info.value.message


async def test_an_unknown_tool_is_told_to_the_model_with_the_tools_it_has() -> None:
    model = ScriptedModel(call("nope"), "fine")
    result = await Agent(model, tools=[adder()]).run("go")
    error = tool_messages(result.new_messages())[0]
    assert error.is_error and "unknown tool 'nope'" in error.text and "add" in error.text


async def test_calls_of_one_response_run_concurrently_and_results_keep_call_order() -> None:
    barrier = asyncio.Barrier(3)

    async def meet(args: dict[str, Any], ctx: RunContext[Any]) -> str:
        await asyncio.wait_for(barrier.wait(), 5)  # only passes when all three run at once
        return str(args["n"])

    tool = FnTool("meet", meet)
    calls = [call("meet", n=1), call("meet", n=2), call("meet", n=3)]
    model = ScriptedModel(calls, "met")
    result = await Agent(model, tools=[tool]).run("go")
    results = tool_messages(result.new_messages())
    assert [m.tool_call_id for m in results] == [c.id for c in calls]
    assert [m.text for m in results] == ["1", "2", "3"]


async def test_plain_functions_are_tools() -> None:
    def multiply(a: int, b: int) -> int:
        """Multiply two integers."""
        return a * b

    model = ScriptedModel(call("multiply", a=6, b=7), "42")
    result = await Agent(model, tools=[multiply]).run("6*7")
    assert tool_messages(result.new_messages())[0].text == "42"


def _looping_model() -> ScriptedModel:
    return ScriptedModel(*[call("add", a=1, b=1) for _ in range(10)], usage=Usage(100, 10))


@pytest.mark.parametrize(
    ("limits", "name", "value"),
    [
        (UsageLimits(max_steps=2), "max_steps", 2),
        (UsageLimits(max_requests=3), "max_requests", 3),
        (UsageLimits(max_tool_calls=4), "max_tool_calls", 4),
        (UsageLimits(max_input_tokens=250), "max_input_tokens", 250),
        (UsageLimits(max_output_tokens=25), "max_output_tokens", 25),
        (UsageLimits(max_total_tokens=300), "max_total_tokens", 300),
    ],
)
async def test_every_limit_stops_the_run_naming_it(
    limits: UsageLimits, name: str, value: int
) -> None:
    agent = Agent(_looping_model(), tools=[adder()], limits=limits)
    with pytest.raises(UsageLimitExceeded) as info:
        await agent.run("loop")
    assert info.value.code is ErrorCode.CAPACITY_EXCEEDED
    assert (info.value.limit, info.value.value) == (name, value)
    assert f"{name}={value}" in info.value.message


async def test_a_parallel_batch_over_max_tool_calls_runs_none_of_it() -> None:
    tool = adder()
    model = ScriptedModel([call("add", a=1, b=1), call("add", a=1, b=2)], "x")
    with pytest.raises(UsageLimitExceeded, match="max_tool_calls=1"):
        await Agent(model, tools=[tool], limits=UsageLimits(max_tool_calls=1)).run("go")
    assert tool.calls == []


def test_limits_reject_nonsense() -> None:
    with pytest.raises(BelugaError, match="max_steps=0"):
        UsageLimits(max_steps=0)


class City(BaseModel):
    name: str
    population: int


@dataclass
class Point:
    x: int
    y: int


class Pair(TypedDict):
    left: str
    right: str


@pytest.mark.parametrize(
    ("output_type", "expected"),
    [
        (City, City(name="a", population=0)),
        (Point, Point(0, 0)),
        (Pair, {"left": "a", "right": "a"}),
        ({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}, {"n": 0}),
    ],
)
async def test_output_types_are_validated(output_type: Any, expected: Any) -> None:
    result = await Agent(TestModel(), output_type=output_type).run("go")
    assert result.output == expected


async def test_output_repair_sends_the_problem_back_and_succeeds() -> None:
    model = ScriptedModel('{"name": "Oslo"}', '{"name": "Oslo", "population": 700000}')
    result = await Agent(model, output_type=City).run("a city")
    assert result.output == City(name="Oslo", population=700000)
    repair = model.requests[1][-1]
    assert repair.role == "user" and "population" in repair.text
    assert result.requests == 2


async def test_output_repair_exhausted_is_a_clear_error_with_the_last_problem() -> None:
    model = ScriptedModel("not json", '{"name": 1}', '{"name": "x"}')
    with pytest.raises(BelugaError) as info:
        await Agent(model, output_type=City, output_retries=2).run("a city")
    assert info.value.op == "agents.output"
    assert "output_retries" in info.value.message and "population" in info.value.message
    assert len(model.requests) == 3
