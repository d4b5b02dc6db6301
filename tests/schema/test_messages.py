from __future__ import annotations

import base64

import pytest

from beluga.core import BelugaError, ErrorCode
from beluga.schema import (
    AudioPart,
    FilePart,
    ImagePart,
    Message,
    TextPart,
    ToolCall,
    VideoPart,
    as_messages,
)


def test_plain_string_makes_a_text_message() -> None:
    msg = Message.user("hello")
    assert msg.content == (TextPart("hello"),)
    assert msg.text == "hello"
    assert msg.is_text_only
    assert Message("user", "hello") == msg


def test_prompt_normalization() -> None:
    assert as_messages("hi") == (Message.user("hi"),)
    sys = Message.system("be brief")
    assert as_messages(sys) == (sys,)
    history = [sys, Message.user("q")]
    assert as_messages(history) is history
    with pytest.raises(BelugaError, match="prompt is empty"):
        as_messages([])


def test_multimodal_message_keeps_parts_in_order() -> None:
    parts = [
        TextPart("what is this?"),
        ImagePart(url="https://example.com/cat.png", detail="low"),
        AudioPart(data=b"RIFF....", media_type="audio/wav"),
    ]
    msg = Message.user(parts)
    assert msg.content == tuple(parts)
    assert msg.text == "what is this?"
    assert not msg.is_text_only


def test_messages_are_immutable() -> None:
    msg = Message.user("x")
    with pytest.raises(AttributeError):
        msg.role = "system"  # type: ignore[misc]


def test_unknown_role_and_tool_without_call_id() -> None:
    with pytest.raises(BelugaError, match="unknown role"):
        Message("robot", "x")  # type: ignore[arg-type]
    with pytest.raises(BelugaError, match="tool_call_id"):
        Message("tool", "x")


def test_tool_round_trip() -> None:
    call = ToolCall("call_1", "get_weather", '{"city": "Paris"}')
    assistant = Message.assistant(tool_calls=[call])
    assert assistant.tool_calls == (call,)
    assert call.args() == {"city": "Paris"}
    result = Message.tool("call_1", "18C", name="get_weather")
    assert (result.role, result.tool_call_id, result.text) == ("tool", "call_1", "18C")
    failed = Message.tool("call_1", "city not found", is_error=True)
    assert failed.is_error


@pytest.mark.parametrize("raw", ["{bad json", "[1, 2]"])
def test_bad_tool_arguments_are_clear_errors(raw: str) -> None:
    with pytest.raises(BelugaError) as info:
        ToolCall("c", "lookup", raw).args()
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert "lookup" in info.value.message


@pytest.mark.parametrize("cls", [ImagePart, AudioPart, VideoPart, FilePart])
def test_media_by_bytes_base64_and_url(cls: type[ImagePart]) -> None:
    raw = b"\x00\x01binary\xff"
    b64 = base64.b64encode(raw).decode()
    by_bytes = cls(data=raw, media_type="application/octet-stream")
    by_b64 = cls(base64=b64, media_type="application/octet-stream")
    assert by_bytes.as_base64() == b64
    assert by_b64.as_bytes() == raw
    assert by_b64.as_data_url() == f"data:application/octet-stream;base64,{b64}"
    url = cls(url="https://example.com/x")
    assert url.as_data_url() == "https://example.com/x"
    with pytest.raises(BelugaError, match="holds a URL"):
        url.as_bytes()


def test_media_needs_exactly_one_source_and_a_type() -> None:
    with pytest.raises(BelugaError, match="exactly one"):
        ImagePart()
    with pytest.raises(BelugaError, match="exactly one"):
        ImagePart(url="https://x", data=b"x")
    with pytest.raises(BelugaError, match="media_type"):
        AudioPart(data=b"x")
    with pytest.raises(BelugaError, match="not valid base64"):
        ImagePart(base64="***", media_type="image/png").as_bytes()
