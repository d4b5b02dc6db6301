"""ReActModel driven by FunctionModel writing ReAct text: prompt, history, calls, streams."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence

import pytest

from beluga.agents.react import ReActModel
from beluga.llms.base import ModelSettings
from beluga.llms.testing import AgentInfo, FunctionModel
from beluga.schema import (
    FinishEvent,
    ImagePart,
    Message,
    OutputSchema,
    ReasoningDelta,
    ReasoningPart,
    ResponseBuilder,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolDefinition,
    Usage,
    UsageEvent,
)

ADD = ToolDefinition(
    "add",
    "Add two integers.",
    {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}},
)
UPPER = ToolDefinition(
    "upper", "Upper-case a string.", {"type": "object", "properties": {"s": {"type": "string"}}}
)
TOOLS = [ADD, UPPER]


class Recorder:
    """A FunctionModel function answering ``replies`` in turn and keeping what it was sent."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.seen: list[tuple[Sequence[Message], AgentInfo]] = []

    def __call__(self, messages: Sequence[Message], info: AgentInfo) -> str:
        self.seen.append((messages, info))
        return self.replies.pop(0)


async def test_tools_go_into_the_system_prompt_and_never_to_the_model() -> None:
    fn = Recorder("Final Answer: hi")
    model = ReActModel(FunctionModel(fn))
    await model.generate([Message.system("Be brief."), Message.user("hi")], tools=TOOLS)
    messages, info = fn.seen[0]
    assert info.tools == ()
    assert messages[0].role == "system"
    system = messages[0].text
    assert system.startswith("Be brief.")
    for needle in (
        "Action Input:",
        "Final Answer:",
        "- add: Add two integers.",
        '"a": {"type": "integer"}',
    ):
        assert needle in system
    assert info.settings.stop == ("\nObservation",)
    assert [m.role for m in messages] == ["system", "user"]


async def test_a_reply_with_actions_becomes_parallel_tool_calls() -> None:
    fn = Recorder(
        'Thought: both\nAction: add\nAction Input: {"a": 2, "b": 3}\n'
        "Action: upper\nAction Input: hi\nObservation: 5"
    )
    response = await ReActModel(FunctionModel(fn)).generate("go", tools=TOOLS)
    assert response.finish_reason == "tool_calls"
    assert [(c.name, c.args()) for c in response.tool_calls] == [
        ("add", {"a": 2, "b": 3}),
        ("upper", {"s": "hi"}),
    ]
    assert len({c.id for c in response.tool_calls}) == 2
    assert response.text == ""
    assert response.reasoning == "both"


async def test_a_final_answer_is_the_text_without_its_marker() -> None:
    fn = Recorder("Thought: easy\nFinal Answer: Paris")
    response = await ReActModel(FunctionModel(fn)).generate("capital?", tools=TOOLS)
    assert (response.text, response.finish_reason, response.tool_calls) == ("Paris", "stop", ())
    assert response.reasoning == "easy"


async def test_the_history_is_written_back_as_actions_and_observations() -> None:
    fn = Recorder("Final Answer: 5 HI")
    history = [
        Message.user("go"),
        Message.assistant(
            [ReasoningPart("both", provider="react")],
            tool_calls=[
                ToolCall("c1", "add", '{"a": 2, "b": 3}'),
                ToolCall("c2", "upper", '{"s":"hi"}'),
            ],
        ),
        Message.tool("c1", "5", name="add"),
        Message.tool("c2", "bad input", name="upper", is_error=True),
    ]
    await ReActModel(FunctionModel(fn)).generate(history, tools=TOOLS)
    messages = fn.seen[0][0]
    assert [m.role for m in messages] == ["system", "user", "assistant", "user"]
    assert all(not m.tool_calls for m in messages)
    assert messages[2].text == (
        'Thought: both\nAction: add\nAction Input: {"a": 2, "b": 3}\n'
        'Action: upper\nAction Input: {"s": "hi"}'
    )
    observed = messages[3].text
    assert observed.startswith("Observation: 5\nObservation: Error: bad input")


async def test_an_earlier_answer_is_written_with_its_marker_and_media_results_are_kept() -> None:
    fn = Recorder("Final Answer: ok")
    image = ImagePart(url="https://example.invalid/cat.png")
    history = [
        Message.user("q1"),
        Message.assistant("a1"),
        Message.user("q2"),
        Message.assistant(tool_calls=[ToolCall("c1", "upper", "{}")]),
        Message.tool("c1", [image]),
    ]
    await ReActModel(FunctionModel(fn)).generate(history, tools=TOOLS)
    messages = fn.seen[0][0]
    assert messages[2].text == "Final Answer: a1"
    assert messages[-1].role == "user" and image in messages[-1].content
    assert messages[-1].text == "Observation: (no output)"


async def test_a_full_loop_through_two_steps() -> None:
    fn = Recorder('Action: add\nAction Input: {"a": 1, "b": 2}', "Final Answer: 3")
    model = ReActModel(FunctionModel(fn))
    history: list[Message] = [Message.user("1+2?")]
    first = await model.generate(history, tools=TOOLS)
    history += [first.message, Message.tool(first.tool_calls[0].id, "3")]
    second = await model.generate(history, tools=TOOLS)
    assert second.text == "3"
    sent = fn.seen[1][0]
    assert sent[-2].text == 'Action: add\nAction Input: {"a": 1, "b": 2}'
    assert sent[-1].text == "Observation: 3"


async def test_without_tools_the_reply_is_the_answer_and_no_format_is_asked() -> None:
    fn = Recorder("Action: add\nAction Input: {}")
    response = await ReActModel(FunctionModel(fn)).generate("hi")
    assert response.tool_calls == () and response.text == "Action: add\nAction Input: {}"
    messages, info = fn.seen[0]
    assert [m.role for m in messages] == ["user"] and info.settings.stop is None


async def test_tool_choice_none_offers_nothing_and_reads_only_an_answer() -> None:
    fn = Recorder("Action: add\nFinal Answer: 4")
    settings = ModelSettings(tool_choice="none", parallel_tool_calls=True)
    response = await ReActModel(FunctionModel(fn)).generate("x", tools=TOOLS, settings=settings)
    assert (response.tool_calls, response.text) == ((), "4")
    sent = fn.seen[0][1].settings
    assert (sent.tool_choice, sent.parallel_tool_calls) == (None, None)


async def test_a_named_tool_choice_offers_only_that_tool_and_asks_for_it() -> None:
    fn = Recorder("Action: upper\nAction Input: x")
    settings = ModelSettings(tool_choice="upper")
    await ReActModel(FunctionModel(fn)).generate("x", tools=TOOLS, settings=settings)
    system = fn.seen[0][0][0].text
    assert "- upper:" in system and "- add:" not in system
    assert "Use the tool upper in your next reply" in system


async def test_parallel_calls_off_keeps_the_first_action() -> None:
    fn = Recorder("Action: add\nAction: upper")
    settings = ModelSettings(parallel_tool_calls=False)
    response = await ReActModel(FunctionModel(fn)).generate("x", tools=TOOLS, settings=settings)
    assert [c.name for c in response.tool_calls] == ["add"]
    assert "Use one tool per reply." in fn.seen[0][0][0].text


async def test_structured_output_goes_into_the_prompt_and_parses_from_the_answer() -> None:
    fn = Recorder('Final Answer: {"city": "Paris"}')
    schema = OutputSchema({"type": "object", "properties": {"city": {"type": "string"}}})
    settings = ModelSettings(output=schema, stop=("END",))
    response = await ReActModel(FunctionModel(fn)).generate("x", tools=TOOLS, settings=settings)
    assert response.output == {"city": "Paris"}
    sent = fn.seen[0][1].settings
    assert sent.output is None and sent.stop == ("END", "\nObservation")
    assert '"city"' in fn.seen[0][0][0].text


async def test_stop_at_observation_can_be_turned_off() -> None:
    fn = Recorder("Final Answer: x")
    await ReActModel(FunctionModel(fn), stop_at_observation=False).generate("x", tools=TOOLS)
    assert fn.seen[0][1].settings.stop is None


async def test_identity_is_forwarded_and_closing_closes_the_model() -> None:
    inner = FunctionModel(Recorder(), model="tiny-local")
    async with ReActModel(inner) as model:
        assert (model.model_name, model.provider) == ("tiny-local", "function")
    assert inner._closed


# -- streaming --------------------------------------------------------------------------------


def streaming(*pieces: str) -> FunctionModel:
    async def stream(
        messages: Sequence[Message], info: AgentInfo
    ) -> AsyncIterator[str | StreamEvent]:
        for piece in pieces:
            yield piece
        yield UsageEvent(Usage(10, 4))
        yield FinishEvent("stop", model="m")

    return FunctionModel(stream_function=stream)


async def collect(model: ReActModel, **kwargs: object) -> list[StreamEvent]:
    return [e async for e in model.stream("go", tools=TOOLS, **kwargs)]  # type: ignore[arg-type]


async def test_a_streamed_final_answer_streams_without_its_marker() -> None:
    events = await collect(
        ReActModel(streaming("Thought: I kn", "ow\nFinal An", "swer:", " ", "Par", "is", "!"))
    )
    texts = [e.text for e in events if isinstance(e, TextDelta)]
    assert texts == ["Par", "is", "!"]  # streamed piece by piece once the marker was seen
    assert [e.text for e in events if isinstance(e, ReasoningDelta)] == ["I know"]
    assert isinstance(events[-1], FinishEvent) and events[-1].reason == "stop"


async def test_a_streamed_action_is_held_back_and_delivered_as_tool_calls() -> None:
    events = await collect(
        ReActModel(
            streaming(
                "Thought: sum\nAct",
                'ion: add\nAction Input: {"a": 1,',
                ' "b": 2}\n',
                "Observation: 3",
            )
        )
    )
    assert not [e for e in events if isinstance(e, TextDelta)]
    calls = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [(c.index, c.name, json.loads(c.arguments)) for c in calls] == [
        (0, "add", {"a": 1, "b": 2})
    ]
    finish = events[-1]
    assert isinstance(finish, FinishEvent) and (finish.reason, finish.model) == ("tool_calls", "m")
    assert any(isinstance(e, UsageEvent) for e in events)


async def test_a_marker_split_after_a_long_text_full_of_colons_is_found() -> None:
    prefix = [f"note {i}: nothing yet. " for i in range(40)]
    events = await collect(
        ReActModel(streaming(*prefix, "Final A", "nswer", ":", "\n", "  ", "yes"))
    )
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["yes"]
    assert [e.text for e in events if isinstance(e, ReasoningDelta)] == ["".join(prefix).strip()]


async def test_a_streamed_reply_with_no_label_is_delivered_whole_at_the_end() -> None:
    events = await collect(ReActModel(streaming("Paris ", "is the capital.")))
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Paris is the capital."]


@pytest.mark.parametrize(
    "reply",
    [
        "Thought: a\nFinal Answer: **bold** answer\n",
        'Thought: b\nAction: add\nAction Input: {"a": 1, "b": 2}\nAction: upper\nAction Input: q',
        "plain words",
        "Action: Final Answer\nAction Input: done",
    ],
)
async def test_stream_and_generate_agree(reply: str) -> None:
    generated = await ReActModel(FunctionModel(Recorder(reply))).generate("go", tools=TOOLS)
    pieces = [reply[i : i + 3] for i in range(0, len(reply), 3)]
    builder = ResponseBuilder()
    for event in await collect(ReActModel(streaming(*pieces))):
        builder.add(event)
    streamed = builder.build()
    assert streamed.text == generated.text
    assert streamed.reasoning == generated.reasoning
    assert [(c.name, c.arguments) for c in streamed.tool_calls] == [
        (c.name, c.arguments) for c in generated.tool_calls
    ]
    assert streamed.finish_reason == generated.finish_reason


async def test_parallel_calls_off_keeps_the_first_streamed_action() -> None:
    events = await collect(
        ReActModel(streaming("Action: add\nAction: upper\n")),
        settings=ModelSettings(parallel_tool_calls=False),
    )
    assert [e.name for e in events if isinstance(e, ToolCallDelta)] == ["add"]
