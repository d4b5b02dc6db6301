"""The wire form: every schema type round-trips through JSON; bad input names its path."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beluga.core import BelugaError, ErrorCode
from beluga.schema import (
    AudioPart,
    ChatResponse,
    Document,
    FilePart,
    FinishEvent,
    ImagePart,
    Message,
    OutputSchema,
    ReasoningDelta,
    ReasoningPart,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolDefinition,
    Usage,
    UsageEvent,
    VideoPart,
)
from beluga.schema.wire import dumpb, dumps, from_json, loads, to_json

# --- strategies, one per type -----------------------------------------------------------------

texts = st.text(max_size=12)
maybe = st.none() | texts
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,10}", fullmatch=True)
counts = st.integers(min_value=0, max_value=2**40)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(texts, json_values, max_size=3)

text_parts = st.builds(TextPart, texts)
reasoning_parts = st.builds(
    ReasoningPart, texts, signature=maybe, redacted=maybe, provider=maybe, id=maybe
)


@st.composite
def media_parts(draw: st.DrawFn) -> Any:
    cls = draw(st.sampled_from([ImagePart, AudioPart, VideoPart, FilePart]))
    source = draw(st.sampled_from(["url", "data", "base64"]))
    fields: dict[str, Any] = {"name": draw(maybe)}
    if source == "url":
        fields["url"] = draw(texts)
        fields["media_type"] = draw(maybe)
    else:
        fields["media_type"] = draw(texts)
        fields[source] = draw(st.binary(max_size=40) if source == "data" else texts)
    if cls is ImagePart:
        fields["detail"] = draw(st.sampled_from([None, "auto", "low", "high"]))
    return cls(**fields)


content_parts = text_parts | reasoning_parts | media_parts()
contents = st.lists(content_parts, max_size=4)
tool_calls = st.builds(ToolCall, texts, texts, texts, signature=maybe)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    role = draw(st.sampled_from(["system", "user", "assistant", "tool"]))
    return Message(
        role,
        draw(contents),
        tool_calls=draw(st.lists(tool_calls, max_size=2)) if role == "assistant" else (),
        tool_call_id=draw(texts.filter(bool)) if role == "tool" else draw(maybe),
        name=draw(maybe),
        is_error=draw(st.booleans()),
    )


usages = st.builds(Usage, counts, counts, counts, counts, counts, counts)
documents = st.builds(
    Document,
    contents,
    id=texts.filter(bool),
    metadata=json_objects,
    embedding=st.none()
    | st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), max_size=4),
)
tool_definitions = st.builds(ToolDefinition, names, texts, json_objects, st.none() | st.booleans())
output_schemas = st.builds(OutputSchema, json_objects, names, st.booleans())
finish_reasons = st.sampled_from(["stop", "length", "tool_calls", "content_filter", "error"])
responses = st.builds(
    ChatResponse,
    messages(),
    usages,
    finish_reasons,
    maybe,
    maybe,
    maybe,
    st.none() | output_schemas,
)
events = (
    st.builds(TextDelta, texts)
    | st.builds(ReasoningDelta, texts, maybe, maybe, maybe, maybe)
    | st.builds(ToolCallDelta, st.integers(0, 64), maybe, maybe, texts, maybe)
    | st.builds(UsageEvent, usages)
    | st.builds(FinishEvent, finish_reasons, maybe, maybe, maybe)
)
wire_objects = (
    content_parts
    | tool_calls
    | messages()
    | usages
    | documents
    | tool_definitions
    | output_schemas
    | responses
    | events
)


# --- round trips ----------------------------------------------------------------------------


@settings(max_examples=400)
@given(wire_objects)
def test_every_type_round_trips(obj: Any) -> None:
    data = to_json(obj)
    assert from_json(data) == obj
    assert from_json(data, type(obj)) == obj
    assert loads(dumps(obj)) == obj
    assert loads(dumpb(obj)) == obj
    assert json.loads(dumps(obj)) == data  # to_json gives plain JSON values


@given(st.lists(messages(), max_size=5))
def test_histories_round_trip_as_arrays(history: list[Message]) -> None:
    data = to_json(history)
    assert isinstance(data, list)
    assert from_json(data) == history
    assert loads(dumps(tuple(history))) == history


def test_the_form_is_small_and_readable() -> None:
    message = Message.assistant(
        [
            ReasoningPart("think", signature="c2ln", provider="anthropic"),
            ImagePart(data=b"\x89PNG", media_type="image/png"),
            TextPart("hi"),
        ],
        tool_calls=[ToolCall("c1", "lookup", '{"q": 1}')],
    )
    assert to_json(message) == {
        "kind": "message",
        "role": "assistant",
        "content": [
            {"kind": "reasoning", "text": "think", "signature": "c2ln", "provider": "anthropic"},
            {"kind": "image", "data": "iVBORw==", "media_type": "image/png"},
            {"kind": "text", "text": "hi"},
        ],
        "tool_calls": [
            {"kind": "tool_call", "id": "c1", "name": "lookup", "arguments": '{"q": 1}'}
        ],
    }
    assert to_json(Usage(3, 4)) == {"kind": "usage", "input_tokens": 3, "output_tokens": 4}
    assert dumps(Message.user("hé")) == (
        '{"kind":"message","role":"user","content":[{"kind":"text","text":"hé"}]}'
    )


def test_a_tool_result_keeps_its_call_id_and_error_flag() -> None:
    result = Message.tool("call_1", "boom", name="lookup", is_error=True)
    assert to_json(result)["tool_call_id"] == "call_1"
    assert loads(dumps(result)) == result


def test_hand_written_input_may_leave_nested_kinds_out_and_give_text_as_a_string() -> None:
    data = {
        "kind": "response",
        "message": {"role": "assistant", "content": "hello"},
        "usage": {"input_tokens": 2},
    }
    response = from_json(data, ChatResponse)
    assert response.text == "hello" and response.usage == Usage(2, 0)


def test_lone_surrogates_survive_as_bytes() -> None:
    message = Message.user("bad \ud800 text")
    raw = dumpb(message)
    raw.decode("utf-8")  # valid UTF-8
    assert loads(raw) == message


def test_an_output_schema_keeps_its_json_schema_not_its_type() -> None:
    from pydantic import BaseModel

    class City(BaseModel):
        name: str

    back = loads(dumps(OutputSchema.of(City)), OutputSchema)
    assert back == OutputSchema.of(City) and back.output_type is None


# --- bad input ------------------------------------------------------------------------------


def _error(data: Any) -> str:
    with pytest.raises(BelugaError) as caught:
        from_json(data)
    assert caught.value.code is ErrorCode.INVALID_REQUEST
    return caught.value.message


def _message(*parts: Any) -> dict[str, Any]:
    return {"kind": "message", "role": "user", "content": list(parts)}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"kind": "hologram"}, "$.kind: unknown kind 'hologram' for an object; known kinds:"),
        ({"role": "user"}, "$.kind: unknown kind None"),
        (
            _message({"kind": "text", "text": "a"}, {"kind": "hologram"}),
            "$.content[1].kind: unknown kind 'hologram' for a content part",
        ),
        (_message({"kind": "message", "role": "user"}), "$.content[0].kind: unknown kind"),
        (_message({"kind": "text", "text": "a", "colour": 1}), "$.content[0].colour: unknown"),
        (_message({"kind": "text", "text": 5}), "$.content[0].text: expected str, got number"),
        (_message({"kind": "text"}), "$.content[0].text: is required"),
        (_message("a", "b"), "$.content[0]: expected a JSON object with a 'kind', got string"),
        (
            _message({"kind": "image", "data": "not base64!", "media_type": "image/png"}),
            "$.content[0].data: is not valid base64",
        ),
        (_message({"kind": "audio", "media_type": "audio/wav"}), "$.content[0]: AudioPart needs"),
        (_message({"kind": "image", "url": "u", "detail": "max"}), "$.content[0].detail:"),
        ({"kind": "message", "role": "robot"}, "$: unknown role 'robot'"),
        ({"kind": "message", "role": "tool"}, "$: a tool message needs tool_call_id="),
        (
            {"kind": "message", "role": "assistant", "tool_calls": [{"kind": "tool_call"}]},
            "$.tool_calls[0].id: is required",
        ),
        ({"kind": "usage", "input_tokens": True}, "$.input_tokens: expected int, got boolean"),
        ({"kind": "usage", "input_tokens": -1}, "$.input_tokens: a token count cannot be negative"),
        ({"kind": "finish", "reason": "bored"}, "$.reason: 'bored' is not one of"),
        (
            {"kind": "response", "message": {"kind": "usage"}},
            "$.message.kind: expected kind 'message', got 'usage'",
        ),
        ({"kind": "response"}, "$.message: expected a message object, got null"),
        ({"kind": "document", "id": "d", "embedding": ["x"]}, "$.embedding: expected an array"),
        ({"kind": "tool_definition", "name": "bad name"}, "$: tool name 'bad name'"),
        ([{"kind": "text", "text": "a"}, 3], "$[1]: expected a JSON object"),
    ],
)
def test_bad_input_is_one_error_naming_its_path(data: Any, expected: str) -> None:
    assert expected in _error(data)


def test_expecting_one_type_rejects_another() -> None:
    with pytest.raises(BelugaError, match=r"\$.kind: expected a Message, got Usage"):
        from_json({"kind": "usage"}, Message)
    with pytest.raises(BelugaError, match="expected one Message, got an array"):
        from_json([], Message)


def test_text_that_is_not_json_or_not_utf8_is_a_clear_error() -> None:
    with pytest.raises(BelugaError, match=r"\$: not valid JSON \(Expecting value at char 0\)"):
        loads("nope")
    with pytest.raises(BelugaError, match="not UTF-8 text"):
        loads(b'{"kind": "text", "text": "\xff"}')


def test_values_json_cannot_hold_are_a_clear_error() -> None:
    with pytest.raises(BelugaError, match="metadata, tool parameters and schemas may hold only"):
        dumps(Document("x", metadata={"when": object()}))
    with pytest.raises(BelugaError, match="may hold only JSON values"):
        dumps(Document("x", embedding=[float("nan")]))


def test_objects_outside_the_schema_cannot_be_encoded() -> None:
    with pytest.raises(BelugaError, match="cannot encode a dict"):
        to_json({"kind": "text"})  # type: ignore[arg-type]
