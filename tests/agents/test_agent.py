"""Building an agent: models by name, instructions, tools, multimodal input, tracing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from beluga.agents import Agent
from beluga.agents.testing import ScriptedModel, call
from beluga.config import parse_config
from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.testing import AgentInfo, FunctionModel
from beluga.schema import ImagePart, Message, TextPart
from beluga.tools.base import RunContext, Tool
from tests.conftest import Telemetry

from ._support import FnTool, adder


def _echo_model() -> FunctionModel:
    return FunctionModel(
        lambda messages, info: f"{len(messages)} messages, {len(info.tools)} tools"
    )


def test_a_registry_id_resolves_on_the_first_run_and_is_closed_with_the_agent() -> None:
    agent = Agent("test:my-model", tools=[adder()])
    assert agent._model is None  # nothing is created before the first run
    result = agent.run_sync("hi")
    assert result.output == "success (no tool calls)"
    assert agent.chat_model().model_name == "my-model"


async def test_a_role_resolves_through_the_configured_router(telemetry: Telemetry) -> None:
    config = parse_config(
        {
            "llm": {
                "default": "test:fallback",
                "providers": {"small": {"type": "test", "model": "small-1"}},
                "roles": {"planner": {"provider": "small"}},
            }
        },
        env={},
    )
    agent = Agent("planner", config=config, name="planner_agent")
    result = await agent.run("hi")
    assert result.output == "success (no tool calls)"
    assert agent.chat_model().model_name == "role:planner"
    assert "chat small-1" in {s.name for s in telemetry.finished_spans()}
    await agent.aclose()


def test_an_unknown_role_lists_the_roles() -> None:
    config = parse_config({"llm": {"roles": {"coder": {"provider": "test"}}}}, env={})
    agent = Agent("plannr", config=config)
    with pytest.raises(BelugaError) as info:
        agent.run_sync("hi")
    assert info.value.code is ErrorCode.INVALID_CONFIG
    assert "'plannr'" in info.value.message and "roles: coder" in info.value.message


async def test_string_and_function_instructions_are_the_system_message() -> None:
    model = ScriptedModel("a", "b")
    await Agent(model, instructions="Be brief.").run("hi")
    assert model.requests[0][0] == Message.system("Be brief.")

    async def personal(ctx: RunContext[Any]) -> str:
        return f"The user is {ctx.deps['user']}."

    agent = Agent(model, instructions=personal, deps_type=dict)
    result = await agent.run("hi", deps={"user": "Ada"})
    assert model.requests[1][0].text == "The user is Ada."
    assert [m.role for m in result.all_messages()] == ["user", "assistant"]  # not stored


async def test_wrong_deps_are_refused_with_the_expected_type() -> None:
    agent = Agent(ScriptedModel("x"), deps_type=dict)
    with pytest.raises(BelugaError, match="deps of type dict, got int"):
        await agent.run("hi", deps=3)


async def test_tools_see_the_deps_session_and_usage() -> None:
    tool = FnTool("who", lambda a, c: c.deps)
    model = ScriptedModel(call("who"), "done")
    await Agent(model, tools=[tool]).run("go", deps="ada", session_id="s9")
    ctx = tool.contexts[0]
    assert (ctx.deps, ctx.session_id, ctx.agent_name, ctx.tool_name) == (
        "ada",
        "s9",
        "agent",
        "who",
    )
    assert ctx.usage.input_tokens == 10 and ctx.run_id


async def test_multimodal_input_reaches_the_model_as_is() -> None:
    seen: list[Message] = []

    def look(messages: Sequence[Message], info: AgentInfo) -> str:
        seen.extend(messages)
        return "a cat"

    image = ImagePart(url="https://example.com/cat.png")
    prompt = Message.user([TextPart("what is this?"), image])
    result = await Agent(FunctionModel(look)).run(prompt)
    assert seen == [prompt] and seen[0].content[1] is image
    assert result.new_messages()[0] is prompt


class _Changing:
    """A toolset whose list grows by one tool per request (as an MCP server's may)."""

    def __init__(self) -> None:
        self.listed = 0

    async def list_tools(self, ctx: RunContext[Any]) -> Sequence[Tool]:
        self.listed += 1
        return [FnTool(f"t{i}", lambda a, c: "ok") for i in range(self.listed)]


async def test_a_toolset_is_listed_on_every_request() -> None:
    toolset = _Changing()
    model = ScriptedModel(call("t0"), call("t1"), "done")
    result = await Agent(model, tools=[toolset]).run("go")
    assert toolset.listed == 3
    assert not any(m.is_error for m in result.new_messages())


def test_bad_agent_settings_are_clear_errors() -> None:
    with pytest.raises(BelugaError, match="agent name"):
        Agent(_echo_model(), name="has space")
    with pytest.raises(BelugaError, match="two tools named 'add'"):
        Agent(_echo_model(), tools=[adder(), adder()])
    with pytest.raises(BelugaError, match="tools= takes"):
        Agent(_echo_model(), tools=[42])  # type: ignore[list-item]


async def test_a_run_is_an_invoke_agent_span_with_its_usage_and_children(
    telemetry: Telemetry,
) -> None:
    model = ScriptedModel(call("add", a=1, b=2), "3")
    await Agent(model, tools=[adder()], name="calc").run("1+2", session_id="s1")
    spans = {s.name: s for s in telemetry.finished_spans()}
    run = spans["invoke_agent calc"]
    assert run.attributes is not None
    assert run.attributes["gen_ai.agent.name"] == "calc"
    assert run.attributes["gen_ai.conversation.id"] == "s1"
    assert (
        run.attributes["gen_ai.usage.input_tokens"],
        run.attributes["gen_ai.usage.output_tokens"],
    ) == (20, 10)
    for child in ("chat scripted", "execute_tool add"):
        assert (
            spans[child].parent is not None and spans[child].parent.span_id == run.context.span_id
        )


async def test_a_failed_run_marks_its_span(telemetry: Telemetry) -> None:
    with pytest.raises(BelugaError):
        await Agent(ScriptedModel(), name="broken").run("x")
    (span,) = [s for s in telemetry.finished_spans() if s.name == "invoke_agent broken"]
    assert span.attributes is not None and span.attributes["error.type"] == "internal"


async def test_closing_the_agent_closes_the_model_it_resolved_only() -> None:
    named = Agent("test")
    await named.run("hi")
    resolved = named.chat_model()
    await named.aclose()
    assert getattr(resolved, "_closed", False) is True
    given = ScriptedModel("x")
    async with Agent(given) as agent:
        await agent.run("hi")
    assert given._closed is False


def test_agent_errors_survive_pickling_with_their_details() -> None:
    import pickle

    from beluga.agents import GuardrailTripped, UsageLimitExceeded

    limit = pickle.loads(pickle.dumps(UsageLimitExceeded("a", "max_steps", 3, 4)))
    assert (limit.limit, limit.value, limit.code) == ("max_steps", 3, ErrorCode.CAPACITY_EXCEEDED)
    trip = pickle.loads(pickle.dumps(GuardrailTripped("a", "g", "input", "why", None)))
    assert (trip.guardrail, trip.stage, trip.reason) == ("g", "input", "why")
