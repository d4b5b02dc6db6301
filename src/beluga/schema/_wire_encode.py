"""Encoders of the wire form (see :mod:`beluga.schema.wire`): one function per type."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

from beluga.schema.content import (
    AudioPart,
    FilePart,
    ImagePart,
    MediaPart,
    ReasoningPart,
    TextPart,
    VideoPart,
)
from beluga.schema.documents import Document
from beluga.schema.events import (
    ChatResponse,
    FinishEvent,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    UsageEvent,
)
from beluga.schema.messages import Message, ToolCall
from beluga.schema.tools import OutputSchema, ToolDefinition
from beluga.schema.usage import Usage

__all__ = ["ENCODERS", "USAGE_FIELDS"]


def _put(out: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        out[key] = value


def _text(part: TextPart) -> dict[str, Any]:
    return {"kind": "text", "text": part.text}


def _reasoning(part: ReasoningPart) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "reasoning"}
    if part.text:
        out["text"] = part.text
    _put(out, "signature", part.signature)
    _put(out, "redacted", part.redacted)
    _put(out, "provider", part.provider)
    _put(out, "id", part.id)
    return out


def _media(part: MediaPart) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": part.kind}  # type: ignore[attr-defined]
    _put(out, "url", part.url)
    if part.data is not None:
        out["data"] = base64.b64encode(part.data).decode("ascii")
    _put(out, "base64", part.base64)
    _put(out, "media_type", part.media_type)
    _put(out, "name", part.name)
    if isinstance(part, ImagePart):
        _put(out, "detail", part.detail)
    return out


def _tool_call(call: ToolCall) -> dict[str, Any]:
    out = {"kind": "tool_call", "id": call.id, "name": call.name, "arguments": call.arguments}
    _put(out, "signature", call.signature)
    return out


def _parts(parts: Sequence[Any]) -> list[dict[str, Any]]:
    return [ENCODERS[type(p)](p) for p in parts]


def _message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "message", "role": message.role}
    if message.content:
        out["content"] = _parts(message.content)
    if message.tool_calls:
        out["tool_calls"] = [_tool_call(c) for c in message.tool_calls]
    _put(out, "tool_call_id", message.tool_call_id)
    _put(out, "name", message.name)
    if message.is_error:
        out["is_error"] = True
    return out


USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "audio_input_tokens",
    "audio_output_tokens",
)


def _usage(usage: Usage) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "usage"}
    for name in USAGE_FIELDS:
        value = getattr(usage, name)
        if value:
            out[name] = value
    return out


def _document(doc: Document) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "document", "id": doc.id, "content": _parts(doc.content)}
    if doc.metadata:
        out["metadata"] = dict(doc.metadata)
    if doc.embedding is not None:
        out["embedding"] = [float(x) for x in doc.embedding]
    return out


def _tool_definition(tool: ToolDefinition) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "tool_definition", "name": tool.name}
    if tool.description:
        out["description"] = tool.description
    out["parameters"] = dict(tool.parameters)
    _put(out, "strict", tool.strict)
    return out


def _output_schema(schema: OutputSchema) -> dict[str, Any]:
    return {
        "kind": "output_schema",
        "schema": dict(schema.schema),
        "name": schema.name,
        "strict": schema.strict,
    }


def _response(response: ChatResponse) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "response",
        "message": _message(response.message),
        "usage": _usage(response.usage),
        "finish_reason": response.finish_reason,
    }
    _put(out, "model", response.model)
    _put(out, "response_id", response.response_id)
    _put(out, "raw_finish_reason", response.raw_finish_reason)
    if response.output_schema is not None:
        out["output_schema"] = _output_schema(response.output_schema)
    return out


def _text_delta(event: TextDelta) -> dict[str, Any]:
    return {"kind": "text_delta", "text": event.text}


def _reasoning_delta(event: ReasoningDelta) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "reasoning_delta", "text": event.text}
    _put(out, "signature", event.signature)
    _put(out, "redacted", event.redacted)
    _put(out, "id", event.id)
    _put(out, "provider", event.provider)
    return out


def _tool_call_delta(event: ToolCallDelta) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "tool_call_delta", "index": event.index}
    _put(out, "id", event.id)
    _put(out, "name", event.name)
    if event.arguments:
        out["arguments"] = event.arguments
    _put(out, "signature", event.signature)
    return out


def _usage_event(event: UsageEvent) -> dict[str, Any]:
    return {"kind": "usage_event", "usage": _usage(event.usage)}


def _finish(event: FinishEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "finish", "reason": event.reason}
    _put(out, "raw_reason", event.raw_reason)
    _put(out, "model", event.model)
    _put(out, "response_id", event.response_id)
    return out


ENCODERS: dict[type, Callable[[Any], dict[str, Any]]] = {
    TextPart: _text,
    ReasoningPart: _reasoning,
    ImagePart: _media,
    AudioPart: _media,
    VideoPart: _media,
    FilePart: _media,
    ToolCall: _tool_call,
    Message: _message,
    Usage: _usage,
    Document: _document,
    ToolDefinition: _tool_definition,
    OutputSchema: _output_schema,
    ChatResponse: _response,
    TextDelta: _text_delta,
    ReasoningDelta: _reasoning_delta,
    ToolCallDelta: _tool_call_delta,
    UsageEvent: _usage_event,
    FinishEvent: _finish,
}
