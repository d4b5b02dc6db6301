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


@pytest.mark.parametrize(
    ("prompt", "said"),
    [
        (123, "cannot be an int (123)"),
        (b"hi", "bytes (decode them"),
        (bytearray(b"hi"), "bytes (decode them"),
        (None, "cannot be None"),
        ([1, 2], "prompt message 0 is an int"),
        (["a", "b"], "prompt message 0 is a bare str"),
        ([Message.user("ok"), 5], "prompt message 1 is an int"),
        ({"content": "no role"}, "role None"),
        ({"role": "wizard", "content": "x"}, "role 'wizard'"),
        ({"role": "user", "content": "x", "temperature": 1}, "'temperature'"),
        ({"role": "user", "content": 5}, "content must be a string or a list"),
        ({"role": "user", "content": [{"type": "video", "x": 1}]}, "content part 0"),
        ({"role": "tool", "content": "42"}, "needs tool_call_id"),
        ({"role": "assistant", "tool_calls": [{"id": "c"}]}, "tool call 0 must look like"),
        ({"role": "user", "content": "x", "name": 5}, "name must be a string"),
    ],
)
def test_what_is_not_a_prompt_is_one_clear_invalid_request(prompt: object, said: str) -> None:
    with pytest.raises(BelugaError) as info:
        as_messages(prompt)  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_REQUEST and not info.value.retryable
    assert info.value.op == "schema.prompt"
    assert said in info.value.message


def test_openai_style_message_dicts_become_messages() -> None:
    history = as_messages(
        [
            {"role": "developer", "content": "be brief"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "https://x/a.png", "detail": "low"}},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}},
                    {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "refusal": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                    {"id": "c2", "type": "function", "function": {"name": "g", "arguments": {}}},
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "42"},
            Message.tool("c2", "43"),
            {"role": "user", "content": "thanks", "name": "ann"},
        ]
    )
    assert history[0] == Message.system("be brief")
    assert history[1].text == "what is this?"
    assert history[1].content[1] == ImagePart(url="https://x/a.png", detail="low")
    assert history[1].content[2] == ImagePart(base64="AAAA", media_type="image/jpeg")
    assert history[1].content[3] == AudioPart(base64="UklG", media_type="audio/wav")
    assert history[2].tool_calls == (ToolCall("c1", "f", "{}"), ToolCall("c2", "g", "{}"))
    assert history[3] == Message.tool("c1", "42")
    assert history[5] == Message.user("thanks", name="ann")
    assert as_messages({"role": "user", "content": "hi"}) == (Message.user("hi"),)


def test_a_list_of_messages_is_passed_through_as_is() -> None:
    history = [Message.user("a"), Message.assistant("b")]
    assert as_messages(history) is history


@pytest.mark.parametrize(
    ("prompt", "where"),
    [
        ("bad \udc80", "the prompt"),
        ([Message.user("ok"), Message.user("x\ud83d")], "prompt message 1"),
        ([{"role": "user", "content": [{"type": "text", "text": "\udfff"}]}], "prompt message 0"),
        ([Message.assistant(tool_calls=[ToolCall("c", "f", '{"a": "\ud800"}')])], "tool call 'f'"),
    ],
)
def test_a_lone_surrogate_is_an_invalid_request_naming_the_message(
    prompt: object, where: str
) -> None:
    with pytest.raises(BelugaError) as info:
        as_messages(prompt)  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert where in info.value.message and "surrogate" in info.value.message


def test_text_beyond_ascii_is_fine() -> None:
    assert as_messages("héllo 😀 世界")[0].text == "héllo 😀 世界"
