"""Input and output guardrails stop a run with a clear error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from beluga.agents import Agent, GuardrailTripped
from beluga.agents.testing import ScriptedModel
from beluga.core.errors import ErrorCode
from beluga.schema import Message
from beluga.tools.base import RunContext


def no_secrets(ctx: RunContext[Any], messages: Sequence[Message]) -> str | None:
    return "the input holds a password" if any("password" in m.text for m in messages) else None


async def short_answer(ctx: RunContext[Any], output: Any) -> bool:
    return len(str(output)) < 10


def raising(ctx: RunContext[Any], output: Any) -> None:
    raise ValueError("mentions a competitor")


async def test_an_input_guardrail_trips_before_any_model_request() -> None:
    model = ScriptedModel("never")
    agent = Agent(model, input_guardrails=[no_secrets], name="bot")
    with pytest.raises(GuardrailTripped) as info:
        await agent.run("my password is hunter2")
    assert model.requests == []
    error = info.value
    assert (error.guardrail, error.stage, error.code) == (
        "no_secrets",
        "input",
        ErrorCode.CONTENT_FILTERED,
    )
    assert "the input holds a password" in error.message and "'bot'" in error.message


async def test_a_passing_input_guardrail_lets_the_run_go_on() -> None:
    result = await Agent(ScriptedModel("ok"), input_guardrails=[no_secrets]).run("hello")
    assert result.output == "ok"


@pytest.mark.parametrize(
    ("guardrail", "reason"), [(short_answer, "returned False"), (raising, "mentions a competitor")]
)
async def test_an_output_guardrail_trips_on_the_final_output(guardrail: Any, reason: str) -> None:
    agent = Agent(ScriptedModel("a very long answer indeed"), output_guardrails=[guardrail])
    with pytest.raises(GuardrailTripped) as info:
        await agent.run("hi")
    assert info.value.stage == "output" and reason in info.value.message


async def test_an_output_guardrail_passes_a_short_answer() -> None:
    result = await Agent(ScriptedModel("short"), output_guardrails=[short_answer]).run("hi")
    assert result.output == "short"
