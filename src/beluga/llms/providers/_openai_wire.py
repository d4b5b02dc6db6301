"""Chat Completions wire format: our messages, tools and settings to the request body, and the
response (whole or streamed) back to our types.

Kept apart from the connection (``openai.py``) so that every OpenAI-compatible server -- vLLM,
Ollama ``/v1``, Groq, Mistral, Cerebras, LM Studio, Together -- reuses one mapping.

Tolerances for compatible servers: ``reasoning_content`` or ``reasoning`` fields on the message or
delta (DeepSeek, vLLM, Groq, Ollama, Cerebras); message content as a list of ``text``/``thinking``
parts (Mistral's Magistral); usage only in the chunk that carries the finish reason (Mistral) or
under ``x_groq.usage`` (Groq streams); missing tool-call ids; a whole tool call per chunk, with or
without an index. A refusal (``message.refusal``) becomes the text, with finish reason
``content_filter`` and raw reason ``"refusal"``.

Reasoning (those fields and parts) comes back as one :class:`ReasoningPart` of the provider, but
is never sent back: Chat Completions has no input field for it and servers differ on extensions
(DeepSeek's reasoner documents a 400 for its own ``reasoning_content`` in a history), so
reasoning parts in a history are left out.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterable, Sequence
from typing import TYPE_CHECKING, Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.ids import new_id
from beluga.llms.providers._wire import sampling, tool_choice, with_total
from beluga.schema import (
    AudioPart,
    ChatResponse,
    ContentPart,
    FilePart,
    FinishEvent,
    FinishReason,
    ImagePart,
    Message,
    ProviderPart,
    ReasoningDelta,
    ReasoningPart,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolDefinition,
    Usage,
    UsageEvent,
)

if TYPE_CHECKING:
    from beluga.llms.base import ModelSettings

__all__ = ["build_request", "parse_completion", "stream_events"]

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}
_SAMPLING = {
    "temperature": "temperature",
    "max_tokens": "max_completion_tokens",
    "top_p": "top_p",
    "stop": "stop",
    "seed": "seed",
}
_MODES = {"auto": lambda: "auto", "none": lambda: "none", "required": lambda: "required"}
_AUDIO_FORMATS = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
}


# --------------------------------------------------------------------------- request


def build_request(
    model: str,
    messages: Sequence[Message],
    tools: Sequence[ToolDefinition],
    settings: ModelSettings,
    op: str,
    *,
    stream: bool,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The JSON body for ``POST /chat/completions``, and ``settings.extra`` to merge over it.

    ``max_tokens`` is sent as ``max_completion_tokens``, which current OpenAI models require
    (reasoning models reject ``max_tokens``); a server that only knows ``max_tokens`` can get it
    through ``extra``. ``extra`` is merged last by the SDK (``extra_json``), so it can also
    override anything set here. Streams always ask for usage (``stream_options``).
    """
    body: dict[str, Any] = {"model": model, "messages": [_message(m, op) for m in messages]}
    if tools:
        body["tools"] = [_tool(t) for t in tools]
        if settings.tool_choice is not None:
            body["tool_choice"] = tool_choice(settings.tool_choice, tools, op, _MODES, _named)
        if settings.parallel_tool_calls is not None:
            body["parallel_tool_calls"] = settings.parallel_tool_calls
    body.update(sampling(settings, _SAMPLING))
    if settings.output is not None:
        out = settings.output
        schema, strict = out.request_schema()  # the strict form, or non-strict without one
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": out.name, "schema": schema, "strict": strict},
        }
    body["stream"] = stream
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body, (dict(settings.extra) if settings.extra else None)


def _tool(tool: ToolDefinition) -> dict[str, Any]:
    """A tool as Chat Completions takes it: a strict one in the strict form, or not strict when
    its schema has no strict form."""
    parameters, strict = tool.request_parameters()
    function: dict[str, Any] = {
        "name": tool.name,
        "description": tool.description,
        "parameters": parameters,
    }
    if strict is not None:
        function["strict"] = strict
    return {"type": "function", "function": function}


def _named(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


def _message(msg: Message, op: str) -> dict[str, Any]:
    role = msg.role
    if role == "user":
        out: dict[str, Any] = {"role": "user", "content": _user_content(msg, op)}
        if msg.name:
            out["name"] = msg.name
        return out
    if role == "assistant":
        out = {"role": "assistant"}
        text = msg.text
        if text or not msg.tool_calls:
            out["content"] = text
        if msg.tool_calls:
            out["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in msg.tool_calls
            ]
        return out
    if not msg.is_text_only:
        raise BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            f"a {role} message can carry text only in Chat Completions; move "
            "images, audio and files into a user message",
        )
    if role == "tool":
        return {"role": "tool", "tool_call_id": msg.tool_call_id, "content": msg.text}
    return {"role": "system", "content": msg.text}


def _user_content(msg: Message, op: str) -> str | list[dict[str, Any]]:
    parts = msg.content
    if len(parts) == 1 and type(parts[0]) is TextPart:
        return parts[0].text
    out: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            out.append({"type": "text", "text": part.text})
        elif isinstance(part, ReasoningPart | ProviderPart):
            continue  # no input field for reasoning, nor for another vendor's blocks
        elif isinstance(part, ImagePart):
            image: dict[str, Any] = {"url": part.as_data_url()}
            if part.detail:
                image["detail"] = part.detail
            out.append({"type": "image_url", "image_url": image})
        elif isinstance(part, AudioPart):
            fmt = _AUDIO_FORMATS.get((part.media_type or "").lower())
            if part.url is not None or fmt is None:
                raise BelugaError(
                    op,
                    ErrorCode.INVALID_REQUEST,
                    "Chat Completions takes audio input as wav or mp3 bytes; pass "
                    "AudioPart(data=..., media_type='audio/wav' or 'audio/mpeg') "
                    f"(got {'a URL' if part.url else part.media_type})",
                )
            out.append(
                {"type": "input_audio", "input_audio": {"data": part.as_base64(), "format": fmt}}
            )
        elif isinstance(part, FilePart):
            if part.url is not None:
                raise BelugaError(
                    op,
                    ErrorCode.INVALID_REQUEST,
                    "Chat Completions cannot fetch files by URL; download the file "
                    "and pass FilePart(data=..., media_type=...)",
                )
            subtype = (part.media_type or "application/octet-stream").rsplit("/", 1)[-1]
            out.append(
                {
                    "type": "file",
                    "file": {
                        "file_data": part.as_data_url(),
                        "filename": part.name or f"file.{subtype}",
                    },
                }
            )
        else:
            raise BelugaError(
                op,
                ErrorCode.INVALID_REQUEST,
                f"Chat Completions does not accept {type(part).__name__} input; "
                "send text, images, wav/mp3 audio or files",
            )
    return out


# --------------------------------------------------------------------------- response
# Responses arrive as plain JSON dicts (the SDK's ``cast_to=object``): building the SDK's typed
# models costs ~70 us per streamed chunk, five times the rest of the path. Every field is read
# with ``.get`` since compatible servers omit or add fields freely.


def _usage_of(raw: dict[str, Any]) -> Usage:
    prompt = raw.get("prompt_tokens_details") or {}
    completion = raw.get("completion_tokens_details") or {}
    usage = Usage(
        raw.get("prompt_tokens") or 0,
        raw.get("completion_tokens") or 0,
        prompt.get("cached_tokens") or 0,
        completion.get("reasoning_tokens") or 0,
        prompt.get("audio_tokens") or 0,
        completion.get("audio_tokens") or 0,
    )
    return with_total(usage, raw.get("total_tokens"))


def _finish_of(raw: str | None) -> FinishReason:
    return _FINISH.get(raw or "stop", "stop")


def _split_parts(parts: list[Any]) -> tuple[str, str]:
    """Text and reasoning of a content list (``text`` and Mistral ``thinking`` parts)."""
    text: list[str] = []
    thinking: list[str] = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            text.append(part["text"])
        elif kind == "thinking":
            inner = part.get("thinking")
            if isinstance(inner, str):
                thinking.append(inner)
            elif isinstance(inner, list):
                thinking.extend(p.get("text", "") for p in inner if isinstance(p, dict))
    return "".join(text), "".join(thinking)


def parse_completion(data: Any, op: str, where: str, provider: str) -> ChatResponse:
    """Our :class:`ChatResponse` from a (non-streamed) chat completion body."""
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        kind = "a JSON object without choices" if isinstance(data, dict) else "plain text"
        raise BelugaError(
            op,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"{where} answered with {kind} instead of a chat completion; "
            "check that base_url points at an OpenAI-compatible /v1 endpoint",
            retryable=False,
        )
    choice = choices[0]
    message = choice.get("message") or {}
    content = message.get("content")
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if not isinstance(reasoning, str):
        reasoning = ""
    if isinstance(content, list):
        content, thinking = _split_parts(content)
        reasoning = reasoning or thinking
    elif not isinstance(content, str):
        content = ""
    raw_finish = choice.get("finish_reason")
    finish = _finish_of(raw_finish)
    refusal = message.get("refusal")
    if not content and isinstance(refusal, str) and refusal:
        content, finish, raw_finish = refusal, "content_filter", "refusal"
    calls = [_tool_call(c) for c in message.get("tool_calls") or () if isinstance(c, dict)]
    legacy = message.get("function_call")
    if isinstance(legacy, dict) and not calls:
        calls.append(_tool_call({"function": legacy}))
    usage = data.get("usage")
    parts: list[ContentPart] = [ReasoningPart(reasoning, provider=provider)] if reasoning else []
    if content:
        parts.append(TextPart(content))
    return ChatResponse(
        Message.assistant(parts, tool_calls=calls),
        _usage_of(usage) if isinstance(usage, dict) else Usage(),
        finish,
        data.get("model"),
        data.get("id"),
        raw_finish,
    )


def _tool_call(call: dict[str, Any]) -> ToolCall:
    function = call.get("function")
    if not isinstance(function, dict):  # a custom (free-form) tool call: {"input": ...}
        custom = call.get("custom") or {}
        function = {
            "name": custom.get("name"),
            "arguments": json.dumps({"input": custom.get("input") or ""}),
        }
    return ToolCall(
        call.get("id") or new_id("call"),
        function.get("name") or "",
        function.get("arguments") or "{}",
    )


async def stream_events(
    stream: AsyncIterable[Any],
    op: str,
    where: str,
    provider: str,
) -> AsyncGenerator[StreamEvent, None]:
    """Our events from the SDK's stream of chunk dicts; one :class:`UsageEvent` (the last usage
    reported, as some servers repeat a running total) then one :class:`FinishEvent`."""
    model: str | None = None
    response_id: str | None = None
    raw_finish: str | None = None
    usage: Any = None
    refused = False
    slots = _ToolSlots()
    async for chunk in stream:
        if type(chunk) is not dict:
            continue
        if response_id is None:
            response_id = chunk.get("id")
            model = chunk.get("model")
        if (u := chunk.get("usage")) is not None:
            usage = u
        elif (groq := chunk.get("x_groq")) is not None and isinstance(groq, dict):
            usage = groq.get("usage") or usage
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta")
            if delta:
                content = delta.get("content")
                if content:
                    if type(content) is str:
                        yield TextDelta(content)
                    elif isinstance(content, list):
                        text, thinking = _split_parts(content)
                        if thinking:
                            yield ReasoningDelta(thinking, provider=provider)
                        if text:
                            yield TextDelta(text)
                reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                if reasoning and type(reasoning) is str:
                    yield ReasoningDelta(reasoning, provider=provider)
                calls = delta.get("tool_calls")
                if calls:
                    for call in calls:
                        yield slots.delta(call)
                refusal = delta.get("refusal")
                if refusal and type(refusal) is str:
                    refused = True
                    yield TextDelta(refusal)
            finish = choice.get("finish_reason")
            if finish:
                raw_finish = finish
    if raw_finish is None:
        raise BelugaError(
            op,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"the stream from {where} ended before the model finished (no finish "
            "reason); retrying may help",
            retryable=True,
        )
    if isinstance(usage, dict):
        yield UsageEvent(_usage_of(usage))
    if refused:
        yield FinishEvent("content_filter", "refusal", model, response_id)
    else:
        yield FinishEvent(_finish_of(raw_finish), raw_finish, model, response_id)


class _ToolSlots:
    """Numbers streamed tool calls; tolerant of servers that omit ``index``, reuse one index
    for several calls (a new ``id`` there starts a new call) or repeat the name."""

    __slots__ = ("_count", "_ids", "_named", "_slots")

    def __init__(self) -> None:
        self._count = 0
        self._slots: dict[int, int] = {}  # the server's index -> ours
        self._ids: dict[int, str] = {}  # the server's index -> id of the call it holds now
        self._named: set[int] = set()

    def delta(self, call: dict[str, Any]) -> ToolCallDelta:
        raw = call.get("index")
        call_id = call.get("id") or None
        if type(raw) is not int:
            raw = -1 - self._count  # no index: every piece is a whole call
        index = self._slots.get(raw)
        held = self._ids.get(raw)
        if index is None or (call_id and held and call_id != held):
            index = self._slots[raw] = self._count
            self._count += 1
        if call_id:
            self._ids[raw] = call_id
        function = call.get("function") or {}
        name = function.get("name") or None
        if name:
            if index in self._named:
                name = None
            else:
                self._named.add(index)
        return ToolCallDelta(index, call_id, name, function.get("arguments") or "")
