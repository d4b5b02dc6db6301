"""OpenAIChatModel against recorded Chat Completions traffic and hand-made failures.

Every interaction of every cassette in ``openai/``, ``groq/``, ``mistral/`` and ``ollama/`` (all
OpenAI-compatible servers) becomes one case: the inputs are rebuilt from the recorded request, the
recorded response is served from a local server, and both the body our adapter sent and our
parsed result are compared with the recording. Interactions we cannot replay are skipped with the
reason kept in :data:`SKIPPED`, never dropped.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms import ModelSettings, create
from beluga.llms.providers.openai import OpenAIChatModel
from beluga.schema import (
    AudioPart,
    ContentPart,
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
    VideoPart,
)
from tests.conftest import Telemetry
from tests.support.cassettes import (
    Cassette,
    Interaction,
    Unexpressible,
    Unreplayable,
    assert_accounted_for,
    assert_recorded_error,
    assert_same_calls,
    assert_usage_total,
    expressible,
    first_replayable,
    in_use,
    replay_cases,
    replayable,
    with_request_body,
    without_nulls,
)
from tests.support.replay_server import ReplayServer, Reply, unused_port

PLANTED = "sk-test-PLANTED0123456789abcdef"
PROVIDERS = ("openai", "groq", "mistral", "ollama")  # servers that speak Chat Completions

FINISH = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}
STATUS_CODES = {
    400: ErrorCode.INVALID_REQUEST,
    401: ErrorCode.AUTH_FAILED,
    403: ErrorCode.AUTH_FAILED,
    404: ErrorCode.NOT_FOUND,
    422: ErrorCode.INVALID_REQUEST,
    429: ErrorCode.RATE_LIMITED,
    500: ErrorCode.PROVIDER_UNAVAILABLE,
    503: ErrorCode.PROVIDER_UNAVAILABLE,
}

# Request keys of features this adapter does not offer; a recorded request using one is skipped.
UNSUPPORTED_KEYS = {
    "web_search_options": "uses the web search tool (web_search_options), not supported",
    "logprobs": "asks for logprobs, not supported",
    "top_logprobs": "asks for logprobs, not supported",
    "audio": "asks for audio output, not supported",
    "modalities": "asks for audio output (modalities), not supported",
    "functions": "uses legacy `functions` instead of tools, not supported",
}
# Options our ModelSettings models; everything else in a recorded body goes through `extra`.
MODELED = frozenset(
    {
        "model",
        "messages",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "temperature",
        "max_completion_tokens",
        "top_p",
        "stop",
        "seed",
        "stream",
        "stream_options",
        "n",
    }
)


# --------------------------------------------------------------------------- cases

WHAT = "Chat Completions"


@dataclass(frozen=True)
class Case:
    cassette: Cassette
    interaction: Interaction

    @property
    def id(self) -> str:
        return f"{self.cassette.id}#{self.interaction.index}"

    @property
    def skip_reason(self) -> str | None:
        req, resp = self.interaction.request, self.interaction.response
        path = req.path
        if path.endswith("/responses"):
            return "OpenAI Responses API (/responses); this adapter speaks Chat Completions"
        if ":generateContent" in path:
            return "a Gemini generateContent call recorded in the same test, not Chat Completions"
        if not path.endswith("/chat/completions"):
            host = urlsplit(req.uri).netloc
            return f"not a model call ({req.method} {host}{path}: the recorder fetched a document)"
        body = req.body
        if not isinstance(body, dict):
            return "the recorded request has no JSON body"
        for key, reason in UNSUPPORTED_KEYS.items():
            if in_use(body.get(key)):
                return reason
        if (body.get("n") or 1) != 1:
            return "asks for several choices (n > 1), not supported"
        roles = {m.get("role") for m in body.get("messages", ())}
        if roles - {"system", "user", "assistant", "tool"}:
            return (
                f"uses message roles {sorted(roles - {'system', 'user', 'assistant', 'tool'})}"
                "; beluga sends instructions as 'system', so the request cannot be rebuilt"
            )
        if not (resp.is_json or resp.is_event_stream):
            return (
                f"the recorded response is not a chat completion ({resp.content_type} body "
                f"{(resp.body or '')[:60]!r})"
            )
        return None


CASES = replay_cases(PROVIDERS, Case)


# --------------------------------------------------------------------------- rebuild inputs


def _data_url(url: str) -> tuple[str, str]:
    head, _, data = url.partition(",")
    return head.removeprefix("data:").removesuffix(";base64"), data


def _parts(content: list[dict[str, Any]]) -> list[ContentPart]:
    parts: list[ContentPart] = []
    for p in content:
        kind = p["type"]
        if kind == "text":
            parts.append(TextPart(p["text"]))
        elif kind == "image_url":
            url, detail = p["image_url"]["url"], p["image_url"].get("detail")
            if url.startswith("data:"):
                media, data = _data_url(url)
                parts.append(ImagePart(base64=data, media_type=media, detail=detail))
            else:
                parts.append(ImagePart(url=url, detail=detail))
        elif kind == "file":
            media, data = _data_url(p["file"]["file_data"])
            parts.append(FilePart(base64=data, media_type=media, name=p["file"].get("filename")))
        elif kind == "input_audio":
            fmt = p["input_audio"]["format"]
            parts.append(
                AudioPart(
                    base64=p["input_audio"]["data"],
                    media_type="audio/wav" if fmt == "wav" else "audio/mpeg",
                )
            )
        else:
            raise Unexpressible(f"unknown content part {kind!r} in a recorded request")
    return parts


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content if p.get("type") == "text")


def _message(m: dict[str, Any]) -> Message:
    role, content = m["role"], m.get("content")
    if role == "system":
        return Message.system(_text(content))
    if role == "tool":
        return Message.tool(m["tool_call_id"], _text(content))
    if role == "assistant":
        calls = [
            ToolCall(c["id"], c["function"]["name"], c["function"]["arguments"])
            for c in m.get("tool_calls") or ()
        ]
        text = _text(content)
        # Reasoning the recorder sent back (Ollama /v1) is in our history as a reasoning part;
        # Chat Completions has no input field for it, so the adapter must leave it out.
        thought = m.get("reasoning") or m.get("reasoning_content")
        parts = [ReasoningPart(thought, provider="openai")] if thought else []
        return Message.assistant([*parts, *([TextPart(text)] if text else [])], tool_calls=calls)
    if isinstance(content, str):
        return Message.user(content, name=m.get("name"))
    return Message.user(_parts(content), name=m.get("name"))


def rebuild(body: dict[str, Any]) -> tuple[list[Message], list[ToolDefinition], ModelSettings]:
    """Our inputs that should produce ``body``."""
    messages = [_message(m) for m in body["messages"]]
    tools = [
        ToolDefinition(
            t["function"]["name"],
            t["function"].get("description", ""),
            t["function"].get("parameters") or {"type": "object", "properties": {}},
            t["function"].get("strict"),
        )
        for t in body.get("tools") or ()
    ]
    options: dict[str, Any] = {
        k: body[k]
        for k in ("temperature", "top_p", "seed", "parallel_tool_calls")
        if body.get(k) is not None
    }
    if body.get("max_completion_tokens") is not None:
        options["max_tokens"] = body["max_completion_tokens"]
    if body.get("stop") is not None:
        stop = body["stop"]
        options["stop"] = (stop,) if isinstance(stop, str) else tuple(stop)
    choice = body.get("tool_choice")
    if choice is not None:
        options["tool_choice"] = choice if isinstance(choice, str) else choice["function"]["name"]
    extra = {k: v for k, v in body.items() if k not in MODELED and v is not None}
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = fmt["json_schema"]
        options["output"] = OutputSchema(
            schema["schema"], schema["name"], schema.get("strict", False)
        )
        del extra["response_format"]
    return messages, tools, ModelSettings(**options, extra=extra)


def expected_body(body: dict[str, Any]) -> dict[str, Any]:
    """The recorded body with the differences we accept, each for a stated reason."""
    # Mistral's SDK sends unset options as null; we leave them out.
    out = {k: v for k, v in body.items() if v is not None}
    # pydantic-ai sent n=1, the server default; we never send n.
    if out.get("n") == 1:
        del out["n"]
    if isinstance(out.get("stop"), str):  # we always send stop as a list
        out["stop"] = [out["stop"]]
    fmt = out.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = dict(fmt["json_schema"])
        schema.pop("description", None)  # OutputSchema has no description (yet)
        schema.setdefault("strict", False)  # we always state strict; absent means false
        out["response_format"] = {**fmt, "json_schema": schema}
    if out.get("stream") and "stream_options" not in out:
        out["stream_options"] = {"include_usage": True}  # we always ask for usage in streams
    out["messages"] = [_expected_message(m) for m in out["messages"]]
    return out


def _expected_message(m: dict[str, Any]) -> dict[str, Any]:
    if m["role"] != "assistant":
        return m
    m = dict(m)
    m.pop("reasoning", None)  # Ollama history: reasoning has no input field (see _message)
    m.pop("prefix", None)  # Mistral's prefix flag (false) is not modelled
    if m.get("tool_calls") == []:
        del m["tool_calls"]  # Mistral's SDK sends an empty list
    if isinstance(m.get("content"), list):
        m["content"] = _text(m["content"])  # Mistral's SDK sends assistant text as parts
    return m


# --------------------------------------------------------------------------- expected results


def _usage(raw: dict[str, Any] | None) -> Usage:
    if not raw:
        return Usage()
    prompt = raw.get("prompt_tokens_details") or {}
    completion = raw.get("completion_tokens_details") or {}
    return Usage(
        raw.get("prompt_tokens") or 0,
        raw.get("completion_tokens") or 0,
        prompt.get("cached_tokens") or 0,
        completion.get("reasoning_tokens") or 0,
        prompt.get("audio_tokens") or 0,
        completion.get("audio_tokens") or 0,
    )


def _thinking(content: Any) -> str:
    if not isinstance(content, list):
        return ""
    return "".join(
        q.get("text", "") for p in content if p.get("type") == "thinking" for q in p["thinking"]
    )


def _model(server: ReplayServer, name: str = "gpt-4o", **options: Any) -> OpenAIChatModel:
    return OpenAIChatModel(name, api_key=PLANTED, base_url=f"{server.url}/v1", **options)


async def _collect(model: OpenAIChatModel, *args: Any, **kwargs: Any) -> list[StreamEvent]:
    return [event async for event in model.stream(*args, **kwargs)]


def _assert_no_key(err: BaseException) -> None:
    for text in (str(err), repr(err), getattr(err, "message", "")):
        assert PLANTED not in text
    if err.__cause__ is not None:
        assert PLANTED not in str(err.__cause__)


# --------------------------------------------------------------------------- replay


@pytest.mark.parametrize("slot", CASES, ids=[c.id for c in CASES])
async def test_replay_cassette(slot: Case | Unreplayable, server: ReplayServer) -> None:
    case = replayable(slot)
    request, response = case.interaction.request, case.interaction.response
    body = without_nulls(request.body)
    with expressible(case.id):
        messages, tools, settings = rebuild(body)
    server.replay(case.interaction)
    streaming = bool(body.get("stream"))
    result: Any = None
    error: BelugaError | None = None
    async with _model(server, body["model"]) as model:
        try:
            if streaming:
                result = await _collect(model, messages, tools=tools, settings=settings)
            else:
                result = await model.generate(messages, tools=tools, settings=settings)
        except BelugaError as exc:
            error = exc

    # What we sent has the recorded shape.
    assert len(server.requests) == 1 and not server.unexpected
    sent = server.requests[0]
    assert sent.method == "POST"
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {PLANTED}"
    assert sent.json() == expected_body(body)

    if response.status >= 400:
        assert_recorded_error(error, response, STATUS_CODES, case.id, [PLANTED])
        return
    assert error is None, f"unexpected {error!r}"
    if streaming:
        _assert_stream_matches(result, response.body or "")
    else:
        _assert_completion_matches(result, response.parsed_body)


def _assert_completion_matches(result: Any, recorded: dict[str, Any]) -> None:
    choice = recorded["choices"][0]
    message = choice["message"]
    assert result.text == _text(message.get("content"))
    expected_calls = [
        (c["id"], c["function"]["name"], c["function"]["arguments"])
        for c in message.get("tool_calls") or ()
    ]
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == expected_calls
    assert result.usage == _usage(recorded.get("usage"))
    assert_usage_total(result.usage, recorded.get("usage"))
    assert result.finish_reason == FINISH.get(choice["finish_reason"], "stop")
    assert result.raw_finish_reason == choice["finish_reason"]
    assert result.model == recorded["model"]
    assert result.response_id == recorded["id"]
    reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
    assert result.reasoning == (reasoning or _thinking(message.get("content")))


def _assert_stream_matches(events: list[StreamEvent], recorded: str) -> None:
    chunks = [
        json.loads(line.removeprefix("data: "))
        for line in recorded.splitlines()
        if line.startswith("data: ") and line != "data: [DONE]"
    ]
    pieces: list[str] = []
    reasoning: list[str] = []
    usage: dict[str, Any] | None = None
    finish: str | None = None
    calls: dict[int, list[Any]] = {}  # index -> [id, name, concatenated arguments]
    for chunk in chunks:
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            for piece in delta.get("tool_calls") or ():
                call = calls.setdefault(piece.get("index", len(calls)), [None, "", ""])
                function = piece.get("function") or {}
                call[0] = piece.get("id") or call[0]
                call[1] += function.get("name") or ""
                call[2] += function.get("arguments") or ""
            if text := _text(delta.get("content")):
                pieces.append(text)
            reasoning.append(_thinking(delta.get("content")))
            reasoning.append(delta.get("reasoning_content") or delta.get("reasoning") or "")
            finish = choice.get("finish_reason") or finish
    # One text delta per recorded content chunk: nothing is buffered or merged.
    assert [e.text for e in events if type(e) is TextDelta] == pieces
    finishes = [e for e in events if type(e) is FinishEvent]
    assert len(finishes) == 1 and events[-1] is finishes[0]
    builder = ResponseBuilder()
    for event in events:
        builder.add(event)
    built = builder.build()
    assert built.text == "".join(pieces)
    assert built.reasoning == "".join(reasoning)
    assert built.usage == _usage(usage)
    assert_usage_total(built.usage, usage)
    assert_same_calls(built.tool_calls, [tuple(calls[i]) for i in sorted(calls)])
    assert built.raw_finish_reason == finish
    assert built.finish_reason == FINISH.get(finish or "", "stop")
    assert built.model == chunks[0]["model"]
    assert built.response_id == chunks[0]["id"]


def test_every_cassette_is_accounted_for() -> None:
    """Each interaction is either replayed or skipped with a reason (listed by pytest -ra), and
    at least one is replayed: a set where every recording is skipped proves nothing."""
    assert_accounted_for(CASES, WHAT)


NULLS = dict.fromkeys(
    [
        "tools",
        "tool_choice",
        "stream_options",
        "response_format",
        "web_search_options",
        "logprobs",
        "top_logprobs",
        "audio",
        "modalities",
        "functions",
        "n",
        "stop",
    ]
)


async def test_options_recorded_as_null_are_not_features_in_use(server: ReplayServer) -> None:
    """A recording whose SDK wrote unset options out as ``null`` replays like one without them:
    skip rules test values, not the presence of keys, and no null is expected on the wire."""
    case = first_replayable(CASES, lambda c: c.interaction.response.status == 200)
    body = {**case.interaction.request.body, **NULLS}
    nulled = Case(case.cassette, with_request_body(case.interaction, body))
    assert nulled.skip_reason is None
    await test_replay_cassette(nulled, server)


# --------------------------------------------------------------------------- hand-made payloads


def _completion(content: str | None = "Paris.", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1752720361,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content, "refusal": None},
            }
        ],
        "usage": {
            "prompt_tokens": 14,
            "completion_tokens": 7,
            "total_tokens": 21,
            "prompt_tokens_details": {"cached_tokens": 4, "audio_tokens": 1},
            "completion_tokens_details": {"reasoning_tokens": 2, "audio_tokens": 3},
        },
    }
    body.update(overrides)
    return body


def _chunk(
    delta: dict[str, Any] | None = None,
    finish: str | None = None,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": "chatcmpl-s",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-2024-08-06",
        "choices": choices,
        "usage": usage,
    }


_ANSWER = {"type": "object", "properties": {"city": {"type": "string"}}}
_CLOSED = {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
_STRICT_ANSWER = {
    "type": "object",
    "properties": {"city": {"type": ["string", "null"]}},
    "required": ["city"],
    "additionalProperties": False,
}


async def test_request_maps_every_setting_and_part(server: ReplayServer) -> None:
    server.enqueue(Reply.json(_completion()))
    png = b"\x89PNG\r\n\x1a\nfake"
    messages = [
        Message.system("Be brief."),
        Message.user(
            [
                TextPart("Look:"),
                ImagePart(data=png, media_type="image/png", detail="low"),
                ImagePart(url="https://example.com/a.jpg"),
                AudioPart(data=b"RIFFfake", media_type="audio/wav"),
                FilePart(data=b"%PDF-1.4", media_type="application/pdf", name="doc.pdf"),
                FilePart(base64="aGk=", media_type="text/plain"),
            ],
            name="ann",
        ),
        Message.assistant("Checking.", tool_calls=[ToolCall("call_1", "lookup", '{"q":"x"}')]),
        Message.tool("call_1", "found"),
    ]
    tools = [ToolDefinition("lookup", "Look up.", {"type": "object", "properties": {}}, True)]
    settings = ModelSettings(
        temperature=0.2,
        max_tokens=50,
        top_p=0.9,
        stop=("END",),
        seed=7,
        tool_choice="lookup",
        parallel_tool_calls=False,
        output=OutputSchema(_ANSWER, "answer"),
        extra={"user": "u-1", "temperature": 0.3},
    )
    async with _model(server) as model:
        await model.generate(messages, tools=tools, settings=settings)
    sent = server.requests[0].json()
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "name": "ann",
            "content": [
                {"type": "text", "text": "Look:"},
                {
                    "type": "image_url",
                    "image_url": {
                        "url": "data:image/png;base64," + base64.b64encode(png).decode(),
                        "detail": "low",
                    },
                },
                {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
                {
                    "type": "input_audio",
                    "input_audio": {
                        "data": base64.b64encode(b"RIFFfake").decode(),
                        "format": "wav",
                    },
                },
                {
                    "type": "file",
                    "file": {
                        "file_data": "data:application/pdf;base64,"
                        + base64.b64encode(b"%PDF-1.4").decode(),
                        "filename": "doc.pdf",
                    },
                },
                {
                    "type": "file",
                    "file": {"file_data": "data:text/plain;base64,aGk=", "filename": "file.plain"},
                },
            ],
        },
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"q":"x"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "found"},
    ]
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "description": "Look up.",
                "parameters": _CLOSED,  # a strict tool goes in the strict form
                "strict": True,
            },
        }
    ]
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}
    assert sent["parallel_tool_calls"] is False
    assert sent["max_completion_tokens"] == 50 and "max_tokens" not in sent
    assert (sent["top_p"], sent["stop"], sent["seed"]) == (0.9, ["END"], 7)
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": _STRICT_ANSWER, "strict": True},
    }
    assert sent["user"] == "u-1"
    assert sent["temperature"] == 0.3  # extra is merged last and wins
    assert sent["stream"] is False


async def test_default_settings_are_merged_with_call_settings(server: ReplayServer) -> None:
    server.enqueue(Reply.json(_completion()))
    async with _model(server, settings=ModelSettings(temperature=0.5, seed=1)) as model:
        await model.generate("hi", settings=ModelSettings(seed=2))
    sent = server.requests[0].json()
    assert (sent["temperature"], sent["seed"]) == (0.5, 2)
    assert "tools" not in sent and "tool_choice" not in sent


@pytest.mark.parametrize(
    ("message", "match"),
    [
        (Message.user([VideoPart(url="https://example.com/v.mp4")]), "VideoPart"),
        (Message.user([AudioPart(url="https://example.com/a.wav")]), "wav or mp3"),
        (Message.user([AudioPart(data=b"x", media_type="audio/ogg")]), "audio/ogg"),
        (Message.user([FilePart(url="https://example.com/a.pdf")]), "by URL"),
        (Message.system([ImagePart(url="https://example.com/a.png")]), "text only"),
    ],
)
async def test_unsupported_input_is_rejected_before_sending(
    server: ReplayServer, message: Message, match: str
) -> None:
    async with _model(server) as model:
        with pytest.raises(BelugaError, match=match) as info:
            await model.generate([message])
    assert info.value.code is ErrorCode.INVALID_REQUEST and not info.value.retryable
    assert server.requests == []


async def test_tool_choice_must_name_an_offered_tool(server: ReplayServer) -> None:
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="names no tool") as info:
            await model.generate(
                "hi", tools=[ToolDefinition("a")], settings=ModelSettings(tool_choice="b")
            )
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert server.requests == []


async def test_parses_usage_details_reasoning_and_tool_calls(server: ReplayServer) -> None:
    message = {
        "role": "assistant",
        "content": None,
        "reasoning_content": "Think.",
        "tool_calls": [
            {"id": "call_9", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}
        ],
    }
    server.enqueue(
        Reply.json(
            _completion(
                choices=[{"index": 0, "finish_reason": "function_call", "message": message}]
            )
        )
    )
    async with _model(server) as model:
        result = await model.generate("hi")
    assert result.tool_calls == (ToolCall("call_9", "f", '{"a": 1}'),)
    assert result.text == "" and result.reasoning == "Think."
    assert result.usage == Usage(14, 7, 4, 2, 1, 3)
    assert (result.finish_reason, result.raw_finish_reason) == ("tool_calls", "function_call")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("length", "length"), ("content_filter", "content_filter"), ("eos", "stop")],
)
async def test_finish_reasons(server: ReplayServer, raw: str, reason: str) -> None:
    server.enqueue(
        Reply.json(
            _completion(
                choices=[
                    {
                        "index": 0,
                        "finish_reason": raw,
                        "message": {"role": "assistant", "content": "x"},
                    }
                ]
            )
        )
    )
    async with _model(server) as model:
        result = await model.generate("hi")
    assert (result.finish_reason, result.raw_finish_reason) == (reason, raw)


async def test_refusal_is_a_content_filter_finish(server: ReplayServer) -> None:
    server.enqueue(
        Reply.json(
            _completion(
                choices=[
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {
                            "role": "assistant",
                            "content": None,
                            "refusal": "I can't help.",
                        },
                    }
                ]
            )
        )
    )
    async with _model(server) as model:
        result = await model.generate("hi")
    assert (result.text, result.finish_reason) == ("I can't help.", "content_filter")


# --------------------------------------------------------------------------- streaming


async def test_reasoning_in_history_is_dropped(server: ReplayServer) -> None:
    """Chat Completions has no input field for reasoning: parts from any provider (this one's
    included) are left out of the history, without error, wherever they stand."""
    server.enqueue(Reply.json(_completion()))
    thinking = [
        ReasoningPart("Plan.", signature="sig", provider="anthropic"),
        ReasoningPart("Mine.", provider="openai"),
    ]
    history = [
        Message.user("hi"),
        Message.assistant([*thinking, TextPart("Calling.")], tool_calls=[ToolCall("c1", "f")]),
        Message.tool("c1", [*thinking, TextPart("ok")]),
        Message.user([thinking[0], TextPart("more")]),
    ]
    async with _model(server) as model:
        await model.generate(history, tools=[ToolDefinition("f")])
    sent = server.requests[0].json()["messages"]
    assert sent[1]["content"] == "Calling."
    assert sent[2] == {"role": "tool", "tool_call_id": "c1", "content": "ok"}
    assert sent[3]["content"] == [{"type": "text", "text": "more"}]
    assert "Plan." not in json.dumps(sent) and "sig" not in json.dumps(sent)


async def test_stream_tool_calls_reasoning_and_usage(server: ReplayServer) -> None:
    server.enqueue(
        Reply.sse(
            [
                _chunk({"role": "assistant", "content": "", "reasoning_content": "Plan"}),
                _chunk({"content": "Calling"}),
                _chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_a",
                                "type": "function",
                                "function": {"name": "get", "arguments": ""},
                            }
                        ]
                    }
                ),
                _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"x":'}}]}),
                _chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 1,
                                "id": "call_b",
                                "type": "function",
                                "function": {"name": "put", "arguments": "{}"},
                            }
                        ]
                    }
                ),
                _chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
                _chunk({}, finish="tool_calls"),
                _chunk(
                    None,
                    usage={
                        "prompt_tokens": 9,
                        "completion_tokens": 5,
                        "total_tokens": 14,
                        "prompt_tokens_details": {"cached_tokens": 3},
                        "completion_tokens_details": {"reasoning_tokens": 2},
                    },
                ),
            ]
        )
    )
    async with _model(server) as model:
        events = await _collect(model, "hi", tools=[ToolDefinition("get"), ToolDefinition("put")])
    sent = server.requests[0].json()
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert events[0] == ReasoningDelta("Plan", provider="openai")
    assert [e for e in events if type(e) is ToolCallDelta] == [
        ToolCallDelta(0, "call_a", "get", ""),
        ToolCallDelta(0, None, None, '{"x":'),
        ToolCallDelta(1, "call_b", "put", "{}"),
        ToolCallDelta(0, None, None, "1}"),
    ]
    assert events[-2:] == [
        UsageEvent(Usage(9, 5, 3, 2)),
        FinishEvent("tool_calls", "tool_calls", "gpt-4o-2024-08-06", "chatcmpl-s"),
    ]
    builder = ResponseBuilder()
    for event in events:
        builder.add(event)
    built = builder.build()
    assert built.tool_calls == (ToolCall("call_a", "get", '{"x":1}'), ToolCall("call_b", "put"))
    assert (built.text, built.reasoning) == ("Calling", "Plan")


async def test_stream_tolerates_reused_or_missing_tool_indexes(server: ReplayServer) -> None:
    # Some compatible servers send each whole call at index 0, or with no index at all.
    server.enqueue(
        Reply.sse(
            [
                _chunk(
                    {
                        "tool_calls": [
                            {"index": 0, "id": "c1", "function": {"name": "a", "arguments": "{}"}}
                        ]
                    }
                ),
                _chunk(
                    {
                        "tool_calls": [
                            {"index": 0, "id": "c2", "function": {"name": "b", "arguments": "{}"}}
                        ]
                    }
                ),
                _chunk(
                    {"tool_calls": [{"id": "c3", "function": {"name": "c", "arguments": "{}"}}]}
                ),
                _chunk({}, finish="tool_calls"),
            ]
        )
    )
    async with _model(server) as model:
        events = await _collect(model, "hi", tools=[ToolDefinition(n) for n in "abc"])
    builder = ResponseBuilder()
    for event in events:
        builder.add(event)
    assert [(c.id, c.name) for c in builder.build().tool_calls] == [
        ("c1", "a"),
        ("c2", "b"),
        ("c3", "c"),
    ]


async def test_stream_closed_early_releases_the_connection(server: ReplayServer) -> None:
    server.enqueue(
        Reply.sse([_chunk({"content": str(i)}) for i in range(50)] + [_chunk({}, "stop")]),
        Reply.json(_completion()),
    )
    async with _model(server) as model:
        async for event in model.stream("hi"):
            assert event == TextDelta("0")
            break
        result = await model.generate("again")
    assert result.text == "Paris."


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "body", "headers", "code", "retryable", "retry_after"),
    [
        (
            401,
            {
                "error": {
                    "message": f"Incorrect API key provided: {PLANTED}.",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            },
            {},
            ErrorCode.AUTH_FAILED,
            False,
            None,
        ),
        (403, {"error": {"message": "no access"}}, {}, ErrorCode.AUTH_FAILED, False, None),
        (404, {"error": {"message": "no such model"}}, {}, ErrorCode.NOT_FOUND, False, None),
        (
            400,
            {"error": {"message": "bad", "type": "invalid_request_error"}},
            {},
            ErrorCode.INVALID_REQUEST,
            False,
            None,
        ),
        (
            400,
            {"error": {"message": "flagged", "code": "content_policy_violation"}},
            {},
            ErrorCode.CONTENT_FILTERED,
            False,
            None,
        ),
        (408, {"error": {"message": "slow"}}, {}, ErrorCode.TIMEOUT, True, None),
        (409, {"error": {"message": "conflict"}}, {}, ErrorCode.PROVIDER_UNAVAILABLE, True, None),
        (
            429,
            {"error": {"message": "slow down", "type": "requests"}},
            {"retry-after": "7"},
            ErrorCode.RATE_LIMITED,
            True,
            7.0,
        ),
        (
            429,
            {"error": {"message": "slow down"}},
            {"retry-after-ms": "1500", "retry-after": "9"},
            ErrorCode.RATE_LIMITED,
            True,
            1.5,
        ),
        (
            429,
            {
                "error": {
                    "message": "You exceeded your current quota",
                    "type": "insufficient_quota",
                    "code": "insufficient_quota",
                }
            },
            {"retry-after": "1"},
            ErrorCode.CAPACITY_EXCEEDED,
            False,
            None,
        ),
        (
            500,
            {"error": {"message": "oops", "type": "server_error"}},
            {},
            ErrorCode.PROVIDER_UNAVAILABLE,
            True,
            None,
        ),
        (
            503,
            {"error": {"message": "overloaded"}},
            {"retry-after": "2"},
            ErrorCode.PROVIDER_UNAVAILABLE,
            True,
            2.0,
        ),
        (529, {"error": {"message": "overloaded"}}, {}, ErrorCode.PROVIDER_UNAVAILABLE, True, None),
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
            if streaming:
                await _collect(model, "hi")
            else:
                await model.generate("hi")
    err = info.value
    assert (err.code, err.retryable, err.retry_after) == (code, retryable, retry_after)
    assert f"HTTP {status}" in err.message
    _assert_no_key(err)
    assert len(server.requests) == 1  # the SDK's own retries are off


async def test_retry_after_http_date(server: ReplayServer) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    server.enqueue(Reply.json({"error": {"message": "later"}}, 429, {"retry-after": when}))
    async with _model(server) as model:
        with pytest.raises(BelugaError) as info:
            await model.generate("hi")
    assert info.value.retry_after is not None and 25 <= info.value.retry_after <= 30


async def test_key_is_redacted_even_when_the_server_echoes_it(server: ReplayServer) -> None:
    server.enqueue(Reply.text(f"upstream said: Bearer {PLANTED}", status=502))
    async with _model(server) as model:
        with pytest.raises(BelugaError) as info:
            await model.generate("hi")
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE
    _assert_no_key(info.value)
    assert PLANTED not in repr(model)


@pytest.mark.parametrize(
    ("reply", "code", "retryable", "match"),
    [
        (
            Reply.text("{not json", content_type="application/json"),
            ErrorCode.PROVIDER_UNAVAILABLE,
            True,
            "not valid JSON",
        ),
        (
            Reply.text("method=POST pathname=/bin/chat/completions"),
            ErrorCode.PROVIDER_UNAVAILABLE,
            False,
            "instead of a chat completion",
        ),
        (
            Reply.json({"error": {"message": "quota", "code": "insufficient_quota"}}),
            ErrorCode.CAPACITY_EXCEEDED,
            False,
            "quota",
        ),
    ],
    ids=["malformed-json", "text-plain", "error-in-200"],
)
async def test_bad_bodies(
    server: ReplayServer, reply: Reply, code: ErrorCode, retryable: bool, match: str
) -> None:
    server.enqueue(reply)
    async with _model(server) as model:
        with pytest.raises(BelugaError, match=match) as info:
            await model.generate("hi")
    assert (info.value.code, info.value.retryable) == (code, retryable)


@pytest.mark.parametrize(
    ("error", "code", "retryable"),
    [
        (
            {"message": "The server had an error", "type": "server_error", "code": None},
            ErrorCode.PROVIDER_UNAVAILABLE,
            True,
        ),
        (
            {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"},
            ErrorCode.RATE_LIMITED,
            True,
        ),
        (
            {"message": f"bad key {PLANTED}", "type": "invalid_request_error"},
            ErrorCode.INVALID_REQUEST,
            False,
        ),
    ],
)
async def test_error_event_inside_a_stream(
    server: ReplayServer, error: dict[str, Any], code: ErrorCode, retryable: bool
) -> None:
    server.enqueue(Reply.sse([_chunk({"content": "Hel"}), {"error": error}]))
    events: list[StreamEvent] = []
    async with _model(server) as model:
        with pytest.raises(BelugaError) as info:
            async for event in model.stream("hi"):
                events.append(event)
    assert events == [TextDelta("Hel")]
    assert (info.value.code, info.value.retryable) == (code, retryable)
    assert "mid-stream" in info.value.message
    _assert_no_key(info.value)


async def test_stream_cut_midway(server: ReplayServer) -> None:
    first = f"data: {json.dumps(_chunk({'content': 'Hel'}))}\n\n".encode()
    reply = Reply.sse([_chunk({"content": "Hel"}), _chunk({"content": "lo"}), _chunk({}, "stop")])
    reply.cut_after = len(f"{len(first):x}\r\n".encode() + first + b"\r\n") + 20
    server.enqueue(reply)
    events: list[StreamEvent] = []
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="cut") as info:
            async for event in model.stream("hi"):
                events.append(event)
    assert events == [TextDelta("Hel")]
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)


async def test_stream_that_ends_without_finishing(server: ReplayServer) -> None:
    server.enqueue(Reply.sse([_chunk({"content": "Hel"})], done=False))
    async with _model(server) as model:
        with pytest.raises(BelugaError, match="ended before") as info:
            await _collect(model, "hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)


@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_connection_refused(streaming: bool) -> None:
    url = f"http://127.0.0.1:{unused_port()}/v1"
    async with OpenAIChatModel("gpt-4o", api_key=PLANTED, base_url=url) as model:
        with pytest.raises(BelugaError, match="could not reach") as info:
            if streaming:
                await _collect(model, "hi")
            else:
                await model.generate("hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)
    _assert_no_key(info.value)


async def test_timeout(server: ReplayServer) -> None:
    reply = Reply.json(_completion())
    reply.delay = 5
    server.enqueue(reply)
    async with _model(server, timeout=0.2) as model:
        with pytest.raises(BelugaError) as info:
            await model.generate("hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.TIMEOUT, True)


# --------------------------------------------------------------------------- construction


def test_missing_key_is_a_config_error() -> None:
    with pytest.raises(BelugaError, match="OPENAI_API_KEY") as info:
        OpenAIChatModel("gpt-4o")
    assert info.value.code is ErrorCode.INVALID_CONFIG


async def test_local_server_needs_no_key(server: ReplayServer) -> None:
    server.enqueue(Reply.json(_completion()))
    async with OpenAIChatModel("qwen3:0.6b", base_url=f"{server.url}/v1") as model:
        assert (await model.generate("hi")).text == "Paris."


async def test_key_and_base_url_come_from_the_environment(
    server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{server.url}/v1")
    server.enqueue(Reply.json(_completion()))
    model = create("openai:gpt-4o", default_headers={"X-Trace": "1"})
    assert isinstance(model, OpenAIChatModel)
    async with model:
        await model.generate("hi")
    headers = server.requests[0].headers
    assert headers["authorization"] == f"Bearer {PLANTED}" and headers["x-trace"] == "1"
    assert PLANTED not in repr(model) and server.url in repr(model)


async def test_injected_client_is_used_and_left_open(server: ReplayServer) -> None:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key=PLANTED, base_url=f"{server.url}/v1", max_retries=0)
    server.enqueue(Reply.json(_completion()), Reply.json(_completion("Again.")))
    async with OpenAIChatModel("gpt-4o", client=client) as model:
        assert (await model.generate("hi")).text == "Paris."
    assert not client.is_closed()
    assert (await client.chat.completions.create(model="m", messages=[])).choices[
        0
    ].message.content == "Again."
    await client.close()


async def test_aclose_closes_the_client_it_created(server: ReplayServer) -> None:
    model = _model(server)
    client = model._client
    assert not client.is_closed()
    await model.aclose()
    assert client.is_closed()


def test_import_does_not_load_the_sdk() -> None:
    code = (
        "import sys, beluga.llms.providers.openai;"
        "print('openai' in sys.modules, 'httpx2' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------- tracing


async def test_generate_records_one_genai_span(server: ReplayServer, telemetry: Telemetry) -> None:
    server.enqueue(Reply.json(_completion()))
    async with _model(server) as model:
        await model.generate("What is the capital of France?")
    chat = [s for s in telemetry.finished_spans() if s.name.startswith("chat ")]
    assert [s.name for s in chat] == ["chat gpt-4o"]
    attrs = dict(chat[0].attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o"
    assert attrs["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert attrs["gen_ai.response.id"] == "chatcmpl-test"
    assert tuple(attrs["gen_ai.response.finish_reasons"]) == ("stop",)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (14, 7)
    assert PLANTED not in repr(attrs) and PLANTED not in chat[0].name


async def test_failed_stream_span_carries_the_error_type(
    server: ReplayServer, telemetry: Telemetry
) -> None:
    server.enqueue(Reply.json({"error": {"message": f"key {PLANTED} is wrong"}}, status=401))
    async with _model(server) as model:
        with pytest.raises(BelugaError):
            await _collect(model, "hi")
    (span,) = [s for s in telemetry.finished_spans() if s.name == "chat gpt-4o"]
    assert (span.attributes or {})["error.type"] == "auth_failed"
    texts = [repr(dict(span.attributes or {})), str(span.status.description)]
    texts += [repr(dict(e.attributes or {})) for e in span.events]
    assert all(PLANTED not in t for t in texts)
