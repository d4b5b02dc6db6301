"""OllamaChatModel against Ollama's native ``/api/chat`` wire format.

There are no recordings of the native API in the shared fixtures (their ``ollama/`` folder holds
OpenAI-compatible ``/v1`` traffic, replayed by ``test_openai.py``), so the payloads served here
are the examples of Ollama's own API documentation, copied into ``data/ollama/`` with the source
named in each file: the request the docs send and the response they show. Each documented request
is rebuilt from our types and the body we send must equal it (differences are stated where we
make them); each documented response must parse to what it says. Hand-made payloads cover what
the docs do not show (errors, cut streams, several tool calls), in the same shapes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from beluga.config import ConfigError, parse_config
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import redact
from beluga.llms import ModelSettings, create, from_config
from beluga.llms.providers.ollama import OllamaChatModel
from beluga.schema import (
    AudioPart,
    FilePart,
    FinishEvent,
    ImagePart,
    Message,
    OutputSchema,
    ReasoningDelta,
    ReasoningPart,
    ResponseBuilder,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolDefinition,
    Usage,
    UsageEvent,
)
from tests.conftest import Telemetry
from tests.support.replay_server import ReplayServer, Reply, unused_port

DATA = Path(__file__).parent / "data" / "ollama"
PLANTED = "ollama-PLANTED0123456789abcdef"
NDJSON = "application/x-ndjson"


@pytest.fixture(autouse=True)
def _no_ollama_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OLLAMA_HOST", "OLLAMA_API_KEY"):
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------- helpers


def documented(name: str) -> tuple[dict[str, Any], Reply]:
    """The documented request of ``data/ollama/<name>.json`` and a reply serving its response
    (or the NDJSON stream of ``<name>.ndjson``, one line per chunk, comment lines dropped)."""
    data = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    stream = DATA / f"{name}.ndjson"
    if stream.exists():
        lines = [
            line
            for line in stream.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("//")
        ]
        return data["request"], ndjson(lines)
    return data["request"], Reply.json(data["response"])


def documented_response(name: str) -> dict[str, Any]:
    response: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text("utf-8"))["response"]
    return response


def ndjson(lines: Sequence[str | dict[str, Any]], *, cut_after: int | None = None) -> Reply:
    """A streamed answer: one chunk (and flush) per line, as Ollama writes them."""
    chunks = [(ln if isinstance(ln, str) else json.dumps(ln)).encode() + b"\n" for ln in lines]
    return Reply(200, [("content-type", NDJSON)], chunks=chunks, cut_after=cut_after)


def chunk(content: str = "", **extra: Any) -> dict[str, Any]:
    message = {"role": "assistant", "content": content, **extra.pop("message", {})}
    return {"model": "llama3.2", "created_at": "2025-07-07T20:22:19Z", "message": message, **extra}


def done(content: str = "", **extra: Any) -> dict[str, Any]:
    final = {"done": True, "done_reason": "stop", "prompt_eval_count": 10, "eval_count": 5}
    return chunk(content, **(final | extra))


def tools_of(request: dict[str, Any]) -> list[ToolDefinition]:
    return [
        ToolDefinition(
            t["function"]["name"], t["function"]["description"], t["function"]["parameters"]
        )
        for t in request.get("tools") or ()
    ]


def _model(server: ReplayServer, name: str = "llama3.2", **options: Any) -> OllamaChatModel:
    return OllamaChatModel(name, base_url=server.url, **options)


async def _collect(model: OllamaChatModel, *args: Any, **kwargs: Any) -> list[StreamEvent]:
    return [event async for event in model.stream(*args, **kwargs)]


def _built(events: list[StreamEvent]) -> Any:
    builder = ResponseBuilder()
    for event in events:
        builder.add(event)
    return builder.build()


def _sent(server: ReplayServer) -> dict[str, Any]:
    assert len(server.requests) == 1 and not server.unexpected
    request = server.requests[0]
    assert (request.method, request.path) == ("POST", "/api/chat")
    assert request.headers["content-type"] == "application/json"
    body: dict[str, Any] = request.json()
    return body


def _assert_no_key(err: BaseException) -> None:
    for text in (str(err), repr(err), getattr(err, "message", "")):
        assert PLANTED not in text
    if err.__cause__ is not None:
        assert PLANTED not in str(err.__cause__)


# --------------------------------------------------------------------------- documented payloads


async def test_chat_no_streaming(server: ReplayServer) -> None:
    request, reply = documented("chat")
    server.enqueue(reply)
    async with _model(server) as model:
        result = await model.generate(request["messages"][0]["content"])
    assert _sent(server) == request  # {"model", "messages", "stream": false}, nothing else
    assert result.text == "Hello! How are you today?"
    assert result.usage == Usage(26, 298)
    assert (result.finish_reason, result.raw_finish_reason) == ("stop", None)  # no done_reason
    assert (result.model, result.response_id, result.reasoning) == ("llama3.2", None, "")
    assert result.tool_calls == ()


async def test_chat_streaming(server: ReplayServer) -> None:
    request, reply = documented("chat_stream")
    server.enqueue(reply)
    async with _model(server) as model:
        events = await _collect(model, [Message.user(request["messages"][0]["content"])])
    assert _sent(server) == {**request, "stream": True}  # Ollama streams by default; we say so
    assert events == [
        TextDelta("The"),
        UsageEvent(Usage(26, 282)),
        FinishEvent("stop", None, "llama3.2"),
    ]


async def test_tool_call(server: ReplayServer) -> None:
    request, reply = documented("tool_call")
    server.enqueue(reply)
    async with _model(server) as model:
        result = await model.generate(request["messages"][0]["content"], tools=tools_of(request))
    assert _sent(server) == request
    (call,) = result.tool_calls
    assert call.name == "get_current_weather"
    assert call.id.startswith("call_") and len(call.id) > len("call_")
    # Arguments come as an object; we keep its order and characters as JSON text.
    assert call.arguments == '{"format": "celsius", "location": "Paris, FR"}'
    assert call.args() == {"format": "celsius", "location": "Paris, FR"}
    assert (result.finish_reason, result.raw_finish_reason) == ("tool_calls", "stop")
    assert result.usage == Usage(122, 33) and result.text == ""


async def test_tool_call_streaming(server: ReplayServer) -> None:
    request, reply = documented("tool_call_stream")
    server.enqueue(reply)
    async with _model(server) as model:
        events = await _collect(model, request["messages"][0]["content"], tools=tools_of(request))
    assert _sent(server) == request  # this documented request sets "stream": true itself
    first = events[0]
    assert isinstance(first, ToolCallDelta) and first.id and first.id.startswith("call_")
    assert events == [
        ToolCallDelta(0, first.id, "get_weather", '{"city": "Tokyo"}'),
        UsageEvent(Usage(169, 15)),
        FinishEvent("tool_calls", "stop", "llama3.2"),
    ]
    assert _built(events).tool_calls == (ToolCall(first.id, "get_weather", '{"city": "Tokyo"}'),)


async def test_structured_output(server: ReplayServer) -> None:
    request, reply = documented("structured")
    server.enqueue(reply)
    settings = ModelSettings(
        temperature=request["options"]["temperature"], output=OutputSchema(request["format"])
    )
    async with _model(server, request["model"]) as model:
        result = await model.generate(request["messages"][0]["content"], settings=settings)
    assert _sent(server) == request  # format = the JSON schema, options.temperature = 0
    assert json.loads(result.text) == {"age": 22, "available": False}
    assert (result.model, result.usage) == ("llama3.1", Usage(34, 12))


async def test_history_with_tool_call_and_result(server: ReplayServer) -> None:
    request, reply = documented("tool_history")
    server.enqueue(reply)
    messages = [
        Message.user("what is the weather in Toronto?"),
        Message.assistant(tool_calls=[ToolCall("call_1", "get_weather", '{"city": "Toronto"}')]),
        Message.tool("call_1", "11 degrees celsius"),  # no name: found from the call
    ]
    async with _model(server) as model:
        result = await model.generate(messages, tools=tools_of(request))
    expected = json.loads(json.dumps(request))
    # We also send the call's id and the result's tool_call_id (Ollama >= 0.12.10 matches on
    # them; older servers ignore unknown fields).
    expected["messages"][1]["tool_calls"][0]["id"] = "call_1"
    expected["messages"][2]["tool_call_id"] = "call_1"
    assert _sent(server) == expected
    assert result.text == "The current temperature in Toronto is 11°C."
    assert result.usage == Usage(94, 11)


@pytest.mark.parametrize("source", ["base64", "data", "data-url"])
async def test_images_go_inline_as_base64(server: ReplayServer, source: str) -> None:
    request, reply = documented("images")
    server.enqueue(reply)
    encoded = request["messages"][0]["images"][0]
    image = {
        "base64": ImagePart(base64=encoded, media_type="image/png"),
        "data": ImagePart(data=base64.b64decode(encoded), media_type="image/png"),
        "data-url": ImagePart(url=f"data:image/png;base64,{encoded}"),
    }[source]
    async with _model(server, request["model"]) as model:
        result = await model.generate(
            [Message.user([TextPart(request["messages"][0]["content"]), image])]
        )
    assert _sent(server) == {**request, "stream": False}
    assert result.text.startswith(" The image features a cute, little pig")


async def test_thinking(server: ReplayServer) -> None:
    request, reply = documented("thinking")
    server.enqueue(reply)
    async with _model(server, "gpt-oss") as model:
        result = await model.generate(
            "What is 1+1?", settings=ModelSettings(extra={"think": request["think"]})
        )
    assert _sent(server) == request  # think: "low" goes through `extra` as is
    assert result.reasoning == "The user asks a simple arithmetic question. 1 + 1 equals 2."
    assert result.text == "1 + 1 = 2."
    assert result.usage == Usage(71, 29)


async def test_thinking_streaming(server: ReplayServer) -> None:
    request, reply = documented("thinking_stream")
    server.enqueue(reply)
    async with _model(server, "gpt-oss") as model:
        events = await _collect(
            model, "What is 1+1?", settings=ModelSettings(extra={"think": "low"})
        )
    assert _sent(server) == {**request, "stream": True}
    assert events == [
        ReasoningDelta("The user asks", provider="ollama"),
        ReasoningDelta(" a simple arithmetic question.", provider="ollama"),
        ReasoningDelta(" 1 + 1 equals 2.", provider="ollama"),
        TextDelta("1 + 1"),
        TextDelta(" = 2."),
        UsageEvent(Usage(71, 29)),
        FinishEvent("stop", "stop", "gpt-oss"),
    ]
    built = _built(events)
    generated = documented_response("thinking")["message"]
    assert (built.text, built.reasoning) == (generated["content"], generated["thinking"])
    assert built.message.content == (
        ReasoningPart(generated["thinking"], provider="ollama"),
        TextPart(generated["content"]),
    )


async def test_reasoning_in_history_is_dropped(server: ReplayServer) -> None:
    """Reasoning parts, Ollama's own or another provider's, are not sent back, without error."""
    server.enqueue(Reply.json(done()))
    thinking = [
        ReasoningPart("Plan.", signature="sig", provider="anthropic"),
        ReasoningPart("Mine.", provider="ollama"),
    ]
    history = [
        Message.user([thinking[0], TextPart("hi")]),
        Message.assistant([*thinking, TextPart("Hello.")]),
        Message.user("more"),
    ]
    async with _model(server) as model:
        await model.generate(history)
    sent = _sent(server)["messages"]
    assert sent == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "more"},
    ]


# --------------------------------------------------------------------------- request mapping


async def test_request_maps_every_setting_and_message(server: ReplayServer) -> None:
    server.enqueue(Reply.json(done()))
    schema = {
        "type": "object",
        "properties": {
            "q": {"anyOf": [{"type": "string"}, {"type": "null"}], "minimum": 1},
            "filter": {"type": "object", "properties": {"tag": {"type": "string"}}},
        },
        "required": ["q"],
        "additionalProperties": False,
    }
    messages = [
        Message.system("Be brief."),
        Message.user([TextPart("Look: "), TextPart("there.")]),
        Message.assistant("Checking.", tool_calls=[ToolCall("call_7", "lookup", '{"q": "x"}')]),
        Message.tool("call_7", "found", name="lookup"),
    ]
    settings = ModelSettings(
        temperature=0.2,
        top_p=0.9,
        max_tokens=50,
        stop=("END",),
        seed=7,
        tool_choice="lookup",
        extra={"think": True, "keep_alive": "1m", "options": {"num_ctx": 8192, "seed": 8}},
    )
    tools = [ToolDefinition("lookup", "Look up.", schema), ToolDefinition("other")]
    async with _model(server, keep_alive=300) as model:
        await model.generate(messages, tools=tools, settings=settings)
    assert _sent(server) == {
        "model": "llama3.2",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Look: there."},
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    {"id": "call_7", "function": {"name": "lookup", "arguments": {"q": "x"}}}
                ],
            },
            {"role": "tool", "content": "found", "tool_name": "lookup", "tool_call_id": "call_7"},
        ],
        "stream": False,
        # tool_choice names one tool: only that tool is offered. Its schema goes through whole
        # (the SDK's typed Tool would drop anyOf, minimum, nested properties and
        # additionalProperties).
        "tools": [
            {
                "type": "function",
                "function": {"name": "lookup", "description": "Look up.", "parameters": schema},
            }
        ],
        # extra["options"] is merged into options (and wins); other extra keys go top-level.
        "options": {
            "temperature": 0.2,
            "top_p": 0.9,
            "num_predict": 50,
            "stop": ["END"],
            "seed": 8,
            "num_ctx": 8192,
        },
        "think": True,
        "keep_alive": "1m",  # extra overrides the model's keep_alive=300
    }


async def test_keep_alive_and_default_settings(server: ReplayServer) -> None:
    server.enqueue(Reply.json(done()))
    async with _model(server, keep_alive=-1, settings=ModelSettings(temperature=0.5)) as model:
        await model.generate("hi", tools=[ToolDefinition("a")], settings=ModelSettings(seed=2))
    sent = _sent(server)
    assert sent["keep_alive"] == -1
    assert sent["options"] == {"temperature": 0.5, "seed": 2}
    assert [t["function"]["name"] for t in sent["tools"]] == ["a"]
    assert "format" not in sent and "think" not in sent


async def test_tool_choice_none_leaves_the_tools_out(server: ReplayServer) -> None:
    server.enqueue(Reply.json(done()))
    async with _model(server) as model:
        await model.generate(
            "hi", tools=[ToolDefinition("a")], settings=ModelSettings(tool_choice="none")
        )
    assert "tools" not in _sent(server)


@pytest.mark.parametrize(
    ("message", "settings", "match"),
    [
        (Message.user([ImagePart(url="https://example.com/a.png")]), None, "cannot fetch a URL"),
        (Message.user([AudioPart(data=b"RIFF", media_type="audio/wav")]), None, "AudioPart"),
        (Message.user([FilePart(data=b"%PDF", media_type="application/pdf")]), None, "FilePart"),
        (Message.user("hi"), ModelSettings(tool_choice="required"), "cannot force"),
        (Message.user("hi"), ModelSettings(tool_choice="b"), "names no tool"),
    ],
)
async def test_unsupported_input_is_rejected_before_sending(
    server: ReplayServer, message: Message, settings: ModelSettings | None, match: str
) -> None:
    async with _model(server) as model:
        with pytest.raises(BelugaError, match=match) as info:
            await model.generate([message], tools=[ToolDefinition("a")], settings=settings)
    assert info.value.code is ErrorCode.INVALID_REQUEST and not info.value.retryable
    assert server.requests == []


# --------------------------------------------------------------------------- response parsing


@pytest.mark.parametrize(
    ("raw", "reason"), [("length", "length"), ("stop", "stop"), ("load", "stop"), (None, "stop")]
)
async def test_finish_reasons(server: ReplayServer, raw: str | None, reason: str) -> None:
    server.enqueue(Reply.json(done(done_reason=raw)))
    async with _model(server) as model:
        result = await model.generate("hi")
    assert (result.finish_reason, result.raw_finish_reason) == (reason, raw)


async def test_stream_numbers_tool_calls_and_keeps_server_ids(server: ReplayServer) -> None:
    two = [
        {"id": "call_srv1", "function": {"index": 0, "name": "a", "arguments": {"x": 1}}},
        {"function": {"index": 1, "name": "b", "arguments": {}}},
    ]
    server.enqueue(
        ndjson(
            [
                chunk("Calling"),
                chunk(message={"tool_calls": two}),
                chunk(
                    message={"tool_calls": [{"function": {"name": "c", "arguments": {"é": "ü"}}}]}
                ),
                chunk(" and done.", done=True, done_reason="stop", eval_count=9),  # no prompt count
            ]
        )
    )
    async with _model(server) as model:
        events = await _collect(model, "hi", tools=[ToolDefinition(n) for n in "abc"])
    calls = [e for e in events if type(e) is ToolCallDelta]
    assert [(c.index, c.name, c.arguments) for c in calls] == [
        (0, "a", '{"x": 1}'),
        (1, "b", "{}"),
        (2, "c", '{"é": "ü"}'),
    ]
    assert calls[0].id == "call_srv1"
    assert calls[1].id != calls[2].id and all(c.id and c.id.startswith("call_") for c in calls)
    assert events[-2:] == [UsageEvent(Usage(0, 9)), FinishEvent("tool_calls", "stop", "llama3.2")]
    built = _built(events)
    assert built.text == "Calling and done."  # the done line may carry text too
    assert [c.name for c in built.tool_calls] == ["a", "b", "c"]


async def test_generated_ids_are_unique_across_calls(server: ReplayServer) -> None:
    response = documented_response("tool_call")
    server.enqueue(Reply.json(response), Reply.json(response))
    async with _model(server) as model:
        first = await model.generate("hi", tools=[ToolDefinition("get_current_weather")])
        second = await model.generate("hi", tools=[ToolDefinition("get_current_weather")])
    assert first.tool_calls[0].id != second.tool_calls[0].id


async def test_stream_closed_early_releases_the_connection(server: ReplayServer) -> None:
    server.enqueue(
        ndjson([chunk(str(i)) for i in range(50)] + [done()]),
        Reply.json(documented_response("chat")),
    )
    async with _model(server) as model:
        async for event in model.stream("hi"):
            assert event == TextDelta("0")
            break
        result = await model.generate("again")
    assert result.text == "Hello! How are you today?"


# --------------------------------------------------------------------------- errors

# Ollama's own error bodies (server/routes.go, ChatHandler and handleScheduleError).
MODEL_NOT_FOUND = {"error": "model 'llama3.2' not found"}


@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_model_not_found_says_to_pull_it(server: ReplayServer, streaming: bool) -> None:
    server.enqueue(Reply.json(MODEL_NOT_FOUND, status=404))
    async with _model(server) as model:
        with pytest.raises(BelugaError) as info:
            await (_collect(model, "hi") if streaming else model.generate("hi"))
    err = info.value
    assert (err.code, err.retryable) == (ErrorCode.NOT_FOUND, False)
    assert "model 'llama3.2' not found" in err.message
    assert "run `ollama pull llama3.2`" in err.message


async def test_404_without_ollama_body_points_at_base_url(server: ReplayServer) -> None:
    server.enqueue(Reply.text("404 page not found", status=404))
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="server root") as info:
            await model.generate("hi")
    assert info.value.code is ErrorCode.NOT_FOUND and "ollama pull" not in info.value.message


@pytest.mark.parametrize(
    ("status", "body", "headers", "code", "retryable", "retry_after"),
    [
        (
            500,
            {"error": "llama runner process has terminated"},
            {},
            ErrorCode.PROVIDER_UNAVAILABLE,
            True,
            None,
        ),
        (
            503,
            {"error": "server busy, please try again.  maximum pending requests exceeded"},
            {"retry-after": "2"},
            ErrorCode.PROVIDER_UNAVAILABLE,
            True,
            2.0,
        ),
        (
            429,
            {"error": "too many requests"},
            {"retry-after": "7"},
            ErrorCode.RATE_LIMITED,
            True,
            7.0,
        ),
        (
            400,
            {"error": '"gemma:2b" does not support tools'},
            {},
            ErrorCode.INVALID_REQUEST,
            False,
            None,
        ),
        (401, {"error": "unauthorized"}, {}, ErrorCode.AUTH_FAILED, False, None),
        (502, {"error": "cloud model unreachable"}, {}, ErrorCode.PROVIDER_UNAVAILABLE, True, None),
    ],
)
@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_http_errors(
    server: ReplayServer,
    status: int,
    body: dict[str, Any],
    headers: dict[str, str],
    code: ErrorCode,
    retryable: bool,
    retry_after: float | None,
    streaming: bool,
) -> None:
    server.enqueue(Reply.json(body, status=status, headers=headers))
    async with _model(server) as model:
        with pytest.raises(BelugaError) as info:
            await (_collect(model, "hi") if streaming else model.generate("hi"))
    err = info.value
    assert (err.code, err.retryable, err.retry_after) == (code, retryable, retry_after)
    assert f"HTTP {status}" in err.message and body["error"] in err.message
    assert len(server.requests) == 1


async def test_error_line_mid_stream(server: ReplayServer) -> None:
    # The error line of docs/api/errors.mdx ("Errors that occur while streaming"), after chunks.
    server.enqueue(
        ndjson(
            [
                chunk("Yes"),
                chunk("."),
                '{"error":"an error was encountered while running the model"}',
            ]
        )
    )
    events: list[StreamEvent] = []
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="mid-stream") as info:
            async for event in model.stream("hi"):
                events.append(event)
    assert events == [TextDelta("Yes"), TextDelta(".")]
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)
    assert "an error was encountered while running the model" in info.value.message


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [(400, ErrorCode.INVALID_REQUEST, False), (500, ErrorCode.PROVIDER_UNAVAILABLE, True)],
)
async def test_error_line_with_status_is_classified_by_it(
    server: ReplayServer, status: int, code: ErrorCode, retryable: bool
) -> None:
    # server/routes.go sends {"error": ..., "status": ...} when the failure had a status.
    server.enqueue(ndjson([chunk("a"), {"error": "failed", "status": status}]))
    async with _model(server) as model:
        with pytest.raises(BelugaError) as info:
            await _collect(model, "hi")
    assert (info.value.code, info.value.retryable) == (code, retryable)


async def test_malformed_json_line(server: ReplayServer) -> None:
    server.enqueue(ndjson([chunk("Hel"), '{"model":"llama3.2","message":{"content":"lo"', done()]))
    events: list[StreamEvent] = []
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="not JSON") as info:
            async for event in model.stream("hi"):
                events.append(event)
    assert events == [TextDelta("Hel")]
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)


@pytest.mark.parametrize(
    ("reply", "retryable", "match"),
    [
        (Reply.text("{not json", content_type="application/json"), True, "not JSON"),
        (Reply.json({"status": "ok"}), False, "server root"),
        (Reply.json({"error": "unexpected EOF"}), True, "in its answer"),
    ],
    ids=["malformed-json", "not-a-chat-response", "error-in-200"],
)
async def test_bad_generate_bodies(
    server: ReplayServer, reply: Reply, retryable: bool, match: str
) -> None:
    server.enqueue(reply)
    async with _model(server) as model:
        with pytest.raises(BelugaError, match=match) as info:
            await model.generate("hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, retryable)


async def test_stream_cut_midway(server: ReplayServer) -> None:
    first = json.dumps(chunk("Hel")).encode() + b"\n"
    reply = ndjson([chunk("Hel"), chunk("lo"), done()])
    reply.cut_after = len(f"{len(first):x}\r\n".encode() + first + b"\r\n") + 20
    server.enqueue(reply)
    events: list[StreamEvent] = []
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="cut") as info:
            async for event in model.stream("hi"):
                events.append(event)
    assert events == [TextDelta("Hel")]
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)


async def test_stream_that_ends_without_a_done_line(server: ReplayServer) -> None:
    server.enqueue(ndjson([chunk("Hel")]))
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="ended before") as info:
            await _collect(model, "hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)


@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_connection_refused(streaming: bool) -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    async with OllamaChatModel(base_url=url, api_key=PLANTED) as model:
        with pytest.raises(BelugaError) as info:
            await (_collect(model, "hi") if streaming else model.generate("hi"))
    err = info.value
    assert (err.code, err.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)
    assert f"is `ollama serve` running at {url}?" in err.message
    _assert_no_key(err)


async def test_timeout(server: ReplayServer) -> None:
    reply = Reply.json(documented_response("chat"))
    reply.delay = 5
    server.enqueue(reply)
    async with _model(server, timeout=0.2) as model:
        with pytest.raises(BelugaError, match=r"did not answer in time|deadline") as info:
            await model.generate("hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.TIMEOUT, True)


# --------------------------------------------------------------------------- secrets & setup


async def test_api_key_is_sent_and_never_shown(server: ReplayServer) -> None:
    server.enqueue(
        Reply.json({"error": f"invalid key {PLANTED}"}, status=401),
        Reply.text(f"proxy: Authorization={PLANTED}", status=502),
    )
    async with _model(server, api_key=PLANTED) as model:
        for _ in range(2):
            with pytest.raises(BelugaError) as info:
                await model.generate("hi")
            _assert_no_key(info.value)
        assert PLANTED not in repr(model) and PLANTED not in str(model)
    assert all(r.headers["authorization"] == f"Bearer {PLANTED}" for r in server.requests)


@pytest.mark.parametrize("source", ["keyword", "environment", "injected-client"])
def test_the_key_is_registered_as_a_secret(source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The redactor's registry is process-wide, so PLANTED (registered by other tests) cannot
    # show whether *this* path registers the key: a fresh one per case can.
    import ollama

    key = f"ollama-fresh{uuid.uuid4().hex}"
    assert redact(f"said {key}") == f"said {key}"  # an unknown key looks like any other text
    if source == "keyword":
        model = OllamaChatModel(api_key=key)
    elif source == "environment":
        monkeypatch.setenv("OLLAMA_API_KEY", key)
        model = OllamaChatModel()
    else:
        model = OllamaChatModel(
            client=ollama.AsyncClient(headers={"Authorization": f"Bearer {key}"})
        )
    assert model._http.headers["authorization"] == f"Bearer {key}"
    assert key not in redact(f"said {key}")
    assert key not in repr(model)
    asyncio.run(model._http.aclose())


async def test_host_and_key_come_from_the_environment(
    server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # OLLAMA_HOST is often written without a scheme, as the Ollama CLI accepts it.
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{server.port}")
    monkeypatch.setenv("OLLAMA_API_KEY", PLANTED)
    server.enqueue(Reply.json(documented_response("chat")))
    model = create("ollama:qwen3")
    assert isinstance(model, OllamaChatModel)
    async with model:
        await model.generate("hi")
    assert model.base_url == server.url and model.model_name == "qwen3"
    assert server.requests[0].headers["authorization"] == f"Bearer {PLANTED}"
    assert server.requests[0].json()["model"] == "qwen3"
    assert PLANTED not in repr(model)


async def test_beluga_yaml_keys_are_the_keywords(server: ReplayServer) -> None:
    config = parse_config(
        {
            "llm": {
                "default": "local",
                "providers": {
                    "local": {
                        "type": "ollama",
                        "model": "qwen3",
                        "base_url": server.url,
                        "timeout": 30,
                        "keep_alive": "10m",
                        "settings": {"temperature": 0.1, "extra": {"think": False}},
                    }
                },
            }
        }
    )
    server.enqueue(Reply.json(documented_response("chat")))
    model = from_config(config)
    assert isinstance(model, OllamaChatModel)
    async with model:
        await model.generate("hi")
    sent = _sent(server)
    assert (sent["model"], sent["keep_alive"], sent["think"]) == ("qwen3", "10m", False)
    assert sent["options"] == {"temperature": 0.1}
    bad = parse_config(
        {"llm": {"default": "o", "providers": {"o": {"type": "ollama", "host": "x"}}}}
    )
    with pytest.raises(ConfigError, match="host"):
        from_config(bad)


def test_default_host_and_model() -> None:
    model = OllamaChatModel()
    assert (model.model_name, model.base_url) == ("llama3.2", "http://localhost:11434")
    assert "authorization" not in model._http.headers
    asyncio.run(model.aclose())
    # Credentials in the URL never reach messages or reprs (nor the wire: the SDK drops them).
    odd = OllamaChatModel(base_url="http://user:hunter2-pw@ollama.lan:8080/proxy/?token=abc")
    assert odd.base_url == "http://ollama.lan:8080/proxy"
    assert "hunter2" not in repr(odd) and "abc" not in repr(odd)
    asyncio.run(odd.aclose())


async def test_injected_client_is_used_and_left_open(server: ReplayServer) -> None:
    import ollama

    client = ollama.AsyncClient(host=server.url)
    server.enqueue(Reply.json(documented_response("chat")), Reply.json(documented_response("chat")))
    async with OllamaChatModel(client=client) as model:
        assert (await model.generate("hi")).text == "Hello! How are you today?"
    response = await client.chat(model="llama3.2", messages=[{"role": "user", "content": "x"}])
    assert response.message.content == "Hello! How are you today?"
    await client.close()  # type: ignore[no-untyped-call]


async def test_aclose_closes_the_client_it_created(server: ReplayServer) -> None:
    model = _model(server)
    assert not model._http.is_closed
    await model.aclose()
    assert model._http.is_closed


def test_a_client_without_an_httpx_client_is_a_config_error() -> None:
    with pytest.raises(BelugaError, match=r"AsyncClient\._client") as info:
        OllamaChatModel(client=object())  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_CONFIG


def test_import_does_not_load_the_sdk() -> None:
    code = "import sys, beluga.llms.providers.ollama; print('ollama' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- tracing


async def test_generate_records_one_genai_span(server: ReplayServer, telemetry: Telemetry) -> None:
    server.enqueue(Reply.json(documented_response("tool_call")))
    async with _model(server) as model:
        await model.generate("weather?", tools=[ToolDefinition("get_current_weather")])
    chat = [s for s in telemetry.finished_spans() if s.name.startswith("chat ")]
    assert [s.name for s in chat] == ["chat llama3.2"]
    attrs = dict(chat[0].attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "ollama"
    assert attrs["gen_ai.request.model"] == "llama3.2"
    assert attrs["gen_ai.response.model"] == "llama3.2"
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (122, 33)


async def test_stream_span_and_failed_span(server: ReplayServer, telemetry: Telemetry) -> None:
    _, reply = documented("thinking_stream")
    server.enqueue(reply, Reply.json({"error": f"bad key {PLANTED}"}, status=401))
    async with _model(server, "gpt-oss", api_key=PLANTED) as model:
        await _collect(model, "What is 1+1?")
        with pytest.raises(BelugaError):
            await _collect(model, "again")
    ok, failed = [s for s in telemetry.finished_spans() if s.name == "chat gpt-oss"]
    assert (ok.attributes or {})["gen_ai.response.finish_reasons"] == ("stop",)
    assert (ok.attributes or {})["gen_ai.usage.output_tokens"] == 29
    assert (failed.attributes or {})["error.type"] == "auth_failed"
    texts = [repr(dict(failed.attributes or {})), str(failed.status.description)]
    texts += [repr(dict(e.attributes or {})) for e in failed.events]
    assert all(PLANTED not in t for t in texts)
