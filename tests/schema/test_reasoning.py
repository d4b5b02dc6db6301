"""Reasoning parts: where they live in a message, and how a stream builds them."""

from __future__ import annotations

import dataclasses

import pytest

import beluga.schema
from beluga.llms.testing import FunctionModel, events_of
from beluga.schema import (
    ChatResponse,
    FinishEvent,
    Message,
    ReasoningDelta,
    ReasoningPart,
    ResponseBuilder,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
)


def _build(*events: StreamEvent) -> ChatResponse:
    builder = ResponseBuilder()
    for event in events:
        builder.add(event)
    return builder.build()


def _reasoning(response: ChatResponse) -> list[ReasoningPart]:
    return [p for p in response.message.content if type(p) is ReasoningPart]


def test_reasoning_part_shape() -> None:
    part = ReasoningPart("Plan.", signature="sig", provider="anthropic")
    assert (part.kind, part.redacted, part.id) == ("reasoning", None, None)
    assert ReasoningPart().text == ""
    assert "ReasoningPart" in beluga.schema.__all__
    with pytest.raises(dataclasses.FrozenInstanceError):
        part.text = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ReasoningPart("Plan.", "sig")  # type: ignore[misc]  # everything but text by keyword


def test_message_text_skips_reasoning() -> None:
    msg = Message.assistant([ReasoningPart("Hidden thoughts."), TextPart("Hi "), TextPart("there")])
    assert msg.text == "Hi there"
    assert Message.assistant([ReasoningPart("Only thinking.")]).text == ""
    assert msg.is_text_only  # reasoning is not media


def test_tool_call_signature_is_keyword_only_and_kept() -> None:
    call = ToolCall("c1", "f", "{}", signature="c2ln")
    assert call.signature == "c2ln" and ToolCall("c1", "f").signature is None
    with pytest.raises(TypeError):
        ToolCall("c1", "f", "{}", "c2ln")  # type: ignore[misc]


def test_several_signed_blocks_keep_their_order_before_the_text() -> None:
    """Anthropic's shape: thinking (deltas, then its signature), redacted thinking, thinking
    again; each payload ends its part, and reasoning comes before the text in the message."""
    response = _build(
        ReasoningDelta("Fir", provider="anthropic"),
        ReasoningDelta("st.", provider="anthropic"),
        ReasoningDelta("", signature="sig-1", provider="anthropic"),
        ReasoningDelta("", redacted="opaque-2", provider="anthropic"),
        ReasoningDelta("Third.", provider="anthropic"),
        ReasoningDelta("", signature="sig-3", provider="anthropic"),
        TextDelta("Answer."),
        FinishEvent("stop"),
    )
    assert response.message.content == (
        ReasoningPart("First.", signature="sig-1", provider="anthropic"),
        ReasoningPart(redacted="opaque-2", provider="anthropic"),
        ReasoningPart("Third.", signature="sig-3", provider="anthropic"),
        TextPart("Answer."),
    )
    assert response.reasoning == "First.\n\nThird."
    assert response.text == "Answer."


def test_an_id_starts_a_part_and_other_output_ends_one() -> None:
    response = _build(
        ReasoningDelta("A", id="rs_1", provider="openai"),
        ReasoningDelta("a"),  # a part's provider is that of the delta starting it
        ReasoningDelta("B", id="rs_1"),  # a new summary part of the same item
        ReasoningDelta("", redacted="ENC", provider="openai"),
        ReasoningDelta("loose"),
        TextDelta("Text."),
        ReasoningDelta("after text"),
        ToolCallDelta(0, "c1", "f", "{}", signature="sig-c"),
        ReasoningDelta("after call"),
        ReasoningDelta(" goes on"),
    )
    assert _reasoning(response) == [
        ReasoningPart("Aa", id="rs_1", provider="openai"),
        ReasoningPart("B", redacted="ENC", id="rs_1"),
        ReasoningPart("loose"),
        ReasoningPart("after text"),
        ReasoningPart("after call goes on"),
    ]
    assert response.text == "Text."
    assert response.tool_calls == (ToolCall("c1", "f", "{}", signature="sig-c"),)
    assert response.reasoning == "Aa\n\nB\n\nloose\n\nafter text\n\nafter call goes on"


def test_build_can_be_called_twice() -> None:
    builder = ResponseBuilder()
    builder.add(ReasoningDelta("Open part", provider="x"))
    first = builder.build()
    builder.add(ReasoningDelta(" continues", provider="x"))
    assert _reasoning(first) == [ReasoningPart("Open part", provider="x")]
    assert _reasoning(builder.build()) == [ReasoningPart("Open part continues", provider="x")]


def test_reasoning_is_a_read_only_property() -> None:
    response = ChatResponse(Message.assistant([ReasoningPart("Why."), TextPart("Because.")]))
    assert response.reasoning == "Why." and response.text == "Because."
    with pytest.raises(AttributeError):
        response.reasoning = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ChatResponse(Message.assistant("x"), reasoning="old field")  # type: ignore[call-arg]


async def test_test_doubles_stream_what_they_generate() -> None:
    """``events_of`` (FunctionModel's stream) carries reasoning parts and call signatures."""
    message = Message.assistant(
        [
            ReasoningPart("Plan.", signature="sig", provider="p"),
            ReasoningPart(redacted="ENC", id="rs_1", provider="p"),
            TextPart("Calling."),
        ],
        tool_calls=[ToolCall("c1", "f", "{}", signature="csig")],
    )
    model = FunctionModel(lambda messages, info: message)
    whole = await model.generate("hi")
    streamed = _build(*[e async for e in model.stream("hi")])
    assert whole.message == streamed.message == message
    assert _build(*events_of(whole)).message == message
