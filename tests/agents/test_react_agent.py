"""ReActModel under the real Agent loop: the loop is unchanged, the model writes ReAct text."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from beluga.agents import Agent, FinalOutputEvent, ToolCallEvent, ToolResultEvent
from beluga.agents.react import ReActModel
from beluga.llms.testing import AgentInfo, FunctionModel
from beluga.schema import Message, StreamEvent, TextDelta


async def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def upper(s: str) -> str:
    """Upper-case a string."""
    return s.upper()


def observations(messages: Sequence[Message]) -> list[str]:
    """The Observation lines the wrapped model was sent last (what ReAct shows it)."""
    last = messages[-1]
    if last.role != "user" or not last.text.startswith("Observation:"):
        return []
    return [line.removeprefix("Observation: ") for line in last.text.splitlines()]


def react_writer(messages: Sequence[Message], info: AgentInfo) -> str:
    """A model without tool calling: two actions in one reply, then the answer from the
    observations; it never sees native tools."""
    assert info.tools == ()
    assert not any(m.role == "tool" or m.tool_calls for m in messages)
    seen = observations(messages)
    if not seen:
        return (
            "Thought: I need both tools.\n"
            "**Action:** add\n**Action Input:** ```json\n{'a': 2, 'b': 3,}\n```\n"
            "Action: upper\nAction Input: hi\n"
            "Observation: (the model imagines a result here)"
        )
    return "Thought: I have both.\nFinal Answer: " + " ".join(seen)


async def test_the_agent_runs_parallel_tools_through_react_text() -> None:
    agent = Agent(ReActModel(FunctionModel(react_writer)), tools=[add, upper])
    result = await agent.run("2 + 3, and 'hi' in capitals?")
    assert result.output == "5 HI"
    assert (result.tool_calls, result.requests) == (2, 2)
    calls = next(m for m in result.new_messages() if m.tool_calls).tool_calls
    assert [(c.name, c.args()) for c in calls] == [
        ("add", {"a": 2, "b": 3}),
        ("upper", {"s": "hi"}),
    ]


async def test_a_bad_input_comes_back_as_an_observation_the_model_corrects() -> None:
    sent: list[list[str]] = []

    def writer(messages: Sequence[Message], info: AgentInfo) -> str:
        seen = observations(messages)
        sent.append(seen)
        if len(sent) == 1:
            return "Action: add\nAction Input: two and three"  # not JSON: the tool rejects it
        if len(sent) == 2:
            return 'Action: add\nAction Input: {"a": 2, "b": 3}'
        return f"Final Answer: {seen[0]}"

    result = await Agent(ReActModel(FunctionModel(writer)), tools=[add]).run("2 + 3?")
    assert result.output == "5"
    assert sent[1] and sent[1][0].startswith("Error: ")
    assert sent[2] == ["5"]


async def test_an_unknown_tool_comes_back_as_an_observation_naming_the_tools() -> None:
    sent: list[list[str]] = []

    def writer(messages: Sequence[Message], info: AgentInfo) -> str:
        sent.append(observations(messages))
        if len(sent) == 1:
            return "Action: search\nAction Input: {}"
        return "Final Answer: sorry"

    result = await Agent(ReActModel(FunctionModel(writer)), tools=[add]).run("find it")
    assert result.output == "sorry"
    assert sent[1][0].startswith("Error: ") and "add" in sent[1][0]


async def test_the_agent_streams_a_react_answer_without_its_marker() -> None:
    async def stream(
        messages: Sequence[Message], info: AgentInfo
    ) -> AsyncIterator[str | StreamEvent]:
        if not observations(messages):
            for piece in ("Thought: sum\nAct", "ion: add\nAction Input: ", '{"a": 1, "b": 1}'):
                yield piece
            return
        for piece in ("Thought: done\nFinal", " Answer: ", "it is ", "2"):
            yield piece

    agent = Agent(ReActModel(FunctionModel(stream_function=stream)), tools=[add])
    events = [e async for e in agent.stream("1 + 1?")]
    assert [e.call.name for e in events if isinstance(e, ToolCallEvent)] == ["add"]
    assert [e.result.content[0].text for e in events if isinstance(e, ToolResultEvent)] == ["2"]  # type: ignore[union-attr]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "it is 2"
    final = events[-1]
    assert isinstance(final, FinalOutputEvent) and final.output == "it is 2"
