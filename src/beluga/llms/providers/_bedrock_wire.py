"""Bedrock Converse wire format: our messages, tools and settings to ``converse`` keyword
arguments, and the answer (whole, or as event-stream events) back to our types.

Kept apart from the connection (``bedrock.py``): these functions see only plain dicts, the shapes
botocore takes and returns, so they need no SDK to run or to test.

Mapping decisions, each forced by the Converse API:

* System messages go to ``system``; everything else alternates ``user``/``assistant``. Tool
  results travel as ``toolResult`` blocks of a *user* turn, and Converse rejects two turns of the
  same role in a row, so consecutive turns of one role are merged into one (tool results, then
  the user's next words, as Bedrock's own examples do).
* Media is sent as bytes; a URL is accepted only as an ``s3://`` URI (``s3Location``), since
  Bedrock fetches nothing from the web. Documents need a name of letters, digits, spaces,
  hyphens, parentheses and brackets: other characters are replaced, a missing name becomes
  ``Document N``.
* ``tool_choice="none"`` cannot be expressed: tools are left out -- unless the history holds tool
  calls, for which Converse requires ``toolConfig``; then the tools are sent without a choice.
* ``seed`` and ``parallel_tool_calls`` have no Converse field and are not sent; ``extra`` goes
  to ``additionalModelRequestFields`` (model-specific options such as ``top_k`` or Anthropic's
  ``thinking``). Structured output uses Converse's native ``outputConfig`` (JSON schema).
* Usage: Bedrock counts cache reads and writes apart from ``inputTokens`` (``totalTokens`` is the
  sum of all four). Our :class:`Usage` follows the OpenAI convention, cached tokens being part of
  the input, so ``input_tokens = inputTokens + cacheReadInputTokens + cacheWriteInputTokens`` and
  ``cached_tokens = cacheReadInputTokens``; ``total_tokens`` then equals Bedrock's ``totalTokens``.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import AsyncGenerator, AsyncIterable, Sequence
from typing import TYPE_CHECKING, Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import (
    AudioPart,
    ChatResponse,
    ContentPart,
    FilePart,
    FinishEvent,
    FinishReason,
    ImagePart,
    MediaPart,
    Message,
    ReasoningDelta,
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

if TYPE_CHECKING:
    from beluga.llms.base import ModelSettings

__all__ = ["build_request", "finish_of", "parse_response", "stream_events", "usage_of"]

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
    "malformed_model_output": "error",
    "malformed_tool_use": "error",
}

# Per block kind: the Converse format names, then aliases (media subtype=format); a subtype that
# already is a format name (png, pdf, mp4, ...) needs no alias.
_FORMAT_NAMES = {
    "image": ("png jpeg gif webp", "jpg=jpeg"),
    "document": (
        "pdf csv doc docx xls xlsx html txt md",
        "plain=txt markdown=md x-markdown=md msword=doc vnd.ms-excel=xls "
        "vnd.openxmlformats-officedocument.wordprocessingml.document=docx "
        "vnd.openxmlformats-officedocument.spreadsheetml.sheet=xlsx",
    ),
    "video": (
        "mkv mov mp4 webm flv mpeg mpg wmv three_gp",
        "quicktime=mov x-matroska=mkv x-flv=flv x-ms-wmv=wmv 3gpp=three_gp",
    ),
    "audio": (
        "mp3 opus wav aac flac mp4 ogg mkv mka x-aac m4a mpeg mpga pcm webm",
        "mpeg=mp3 x-wav=wav wave=wav vnd.wave=wav x-flac=flac x-m4a=m4a x-matroska=mka l16=pcm",
    ),
}
_FORMATS = {
    kind: (frozenset(names.split()), dict(a.split("=") for a in aliases.split()))
    for kind, (names, aliases) in _FORMAT_NAMES.items()
}
_MEDIA_KIND: dict[type[ContentPart], str] = {
    ImagePart: "image",
    FilePart: "document",
    VideoPart: "video",
    AudioPart: "audio",
}
_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9\s\-()\[\]]+")


# --------------------------------------------------------------------------- request


def build_request(
    model: str,
    messages: Sequence[Message],
    tools: Sequence[ToolDefinition],
    settings: ModelSettings,
    op: str,
) -> dict[str, Any]:
    """Keyword arguments for ``client.converse`` / ``client.converse_stream``."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    docs = _Counter()
    has_tool_blocks = False
    for msg in messages:
        if msg.role == "system":
            if not msg.is_text_only:
                raise BelugaError(
                    op,
                    ErrorCode.INVALID_REQUEST,
                    "a system message can carry text only on Bedrock; move media into a "
                    "user message",
                )
            if msg.text:
                system.append({"text": msg.text})
            continue
        role, blocks = _turn(msg, op, docs)
        has_tool_blocks = has_tool_blocks or msg.role == "tool" or bool(msg.tool_calls)
        if not blocks:
            continue  # e.g. an assistant turn that said nothing: Converse rejects empty turns
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    request: dict[str, Any] = {"modelId": model, "messages": turns}
    if system:
        request["system"] = system
    inference: dict[str, Any] = {}
    if settings.max_tokens is not None:
        inference["maxTokens"] = settings.max_tokens
    if settings.temperature is not None:
        inference["temperature"] = settings.temperature
    if settings.top_p is not None:
        inference["topP"] = settings.top_p
    if settings.stop is not None:
        inference["stopSequences"] = list(settings.stop)
    if inference:
        request["inferenceConfig"] = inference
    if tools and (settings.tool_choice != "none" or has_tool_blocks):
        config: dict[str, Any] = {"tools": [_tool(t) for t in tools]}
        if settings.tool_choice not in (None, "none"):
            config["toolChoice"] = _tool_choice(settings.tool_choice, tools, op)
        request["toolConfig"] = config
    if settings.extra:
        request["additionalModelRequestFields"] = dict(settings.extra)
    if settings.output is not None:
        out = settings.output
        request["outputConfig"] = {
            "textFormat": {
                "type": "json_schema",
                "structure": {
                    "jsonSchema": {
                        "name": out.name,
                        "schema": json.dumps(out.schema, separators=(",", ":")),
                    }
                },
            }
        }
    return request


def _tool(tool: ToolDefinition) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": tool.name, "inputSchema": {"json": tool.parameters}}
    if tool.description:
        spec["description"] = tool.description
    if tool.strict is not None:
        spec["strict"] = tool.strict
    return {"toolSpec": spec}


def _tool_choice(choice: str, tools: Sequence[ToolDefinition], op: str) -> dict[str, Any]:
    if choice == "auto":
        return {"auto": {}}
    if choice == "required":
        return {"any": {}}
    if not any(t.name == choice for t in tools):
        names = ", ".join(t.name for t in tools)
        raise BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            f"tool_choice={choice!r} names no tool of this call; use auto, none, required "
            f"or one of: {names}",
        )
    return {"tool": {"name": choice}}


class _Counter:
    """Numbers unnamed documents across the request (``Document 1``, ``Document 2``, ...)."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0

    def name(self, given: str | None) -> str:
        self.n += 1
        if given:
            clean = " ".join(_BAD_NAME_CHARS.sub("-", given).split())
            if clean.strip("-"):
                return clean
        return f"Document {self.n}"


def _turn(msg: Message, op: str, docs: _Counter) -> tuple[str, list[dict[str, Any]]]:
    if msg.role == "tool":
        result: dict[str, Any] = {
            "toolUseId": msg.tool_call_id,
            "content": _blocks(msg.content, op, docs) or [{"text": ""}],
        }
        if msg.is_error:
            result["status"] = "error"
        return "user", [{"toolResult": result}]
    blocks = _blocks(msg.content, op, docs)
    for call in msg.tool_calls:
        blocks.append({"toolUse": {"toolUseId": call.id, "name": call.name, "input": call.args()}})
    return msg.role, blocks


def _blocks(parts: Sequence[ContentPart], op: str, docs: _Counter) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            if part.text:  # Converse rejects blank text blocks
                out.append({"text": part.text})
            continue
        kind = _MEDIA_KIND[type(part)]
        source = _source(part, op)
        block: dict[str, Any] = {"format": _format(kind, part, op), "source": source}
        if kind == "document":
            block["name"] = docs.name(part.name)
        out.append({kind: block})
    return out


def _format(kind: str, part: MediaPart, op: str) -> str:
    media_type = part.media_type or (mimetypes.guess_type(part.url)[0] if part.url else None)
    allowed, aliases = _FORMATS[kind]
    subtype = (media_type or "").lower().split(";")[0].rsplit("/", 1)[-1].strip()
    fmt = aliases.get(subtype, subtype)
    if fmt not in allowed:
        raise BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            f"Bedrock does not take {kind} of type {media_type or 'unknown'!r} "
            f"({type(part).__name__}); use one of: {', '.join(sorted(allowed))}",
        )
    return fmt


def _source(part: MediaPart, op: str) -> dict[str, Any]:
    if part.url is None:
        return {"bytes": part.as_bytes()}
    if part.url.startswith("s3://"):
        return {"s3Location": {"uri": part.url}}
    raise BelugaError(
        op,
        ErrorCode.INVALID_REQUEST,
        f"Bedrock cannot fetch {type(part).__name__} URLs; download it and pass "
        "data=... (with media_type=), or give an s3:// URI",
    )


# --------------------------------------------------------------------------- response


def usage_of(raw: Any) -> Usage:
    """Our usage from Converse ``usage`` (see the module docstring for the cache convention)."""
    if not isinstance(raw, dict):
        return Usage()
    cache_read = raw.get("cacheReadInputTokens") or 0
    cache_write = raw.get("cacheWriteInputTokens") or 0
    return Usage(
        (raw.get("inputTokens") or 0) + cache_read + cache_write,
        raw.get("outputTokens") or 0,
        cache_read,
    )


def finish_of(raw: str | None) -> FinishReason:
    return _FINISH.get(raw or "", "stop")


def _arguments(value: Any) -> str:
    return json.dumps(value if value is not None else {}, ensure_ascii=False)


def parse_response(
    data: Any, op: str, where: str, model: str, response_id: str | None
) -> ChatResponse:
    """Our :class:`ChatResponse` from the dict ``client.converse`` returned."""
    output = data.get("output") if isinstance(data, dict) else None
    message = output.get("message") if isinstance(output, dict) else None
    if not isinstance(message, dict):
        raise BelugaError(
            op,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"{where} answered without output.message (not a Converse response, or a "
            "malformed body); check base_url, then retry",
            retryable=True,
        )
    parts: list[TextPart] = []
    calls: list[ToolCall] = []
    reasoning: list[str] = []
    for block in message.get("content") or ():
        if not isinstance(block, dict):
            continue
        if isinstance(text := block.get("text"), str):
            if text:
                parts.append(TextPart(text))
        elif isinstance(use := block.get("toolUse"), dict):
            calls.append(
                ToolCall(
                    str(use.get("toolUseId") or ""),
                    use.get("name") or "",
                    _arguments(use.get("input")),
                )
            )
        elif isinstance(thought := block.get("reasoningContent"), dict):
            text = (thought.get("reasoningText") or {}).get("text")
            if isinstance(text, str):
                reasoning.append(text)
    raw_finish = data.get("stopReason")
    return ChatResponse(
        Message.assistant(parts, tool_calls=calls),
        usage_of(data.get("usage")),
        finish_of(raw_finish),
        model,
        response_id,
        raw_finish,
        "".join(reasoning),
    )


async def stream_events(
    stream: AsyncIterable[Any], op: str, where: str, model: str, response_id: str | None
) -> AsyncGenerator[StreamEvent, None]:
    """Our events from botocore's decoded ``converse_stream`` events. The one
    :class:`FinishEvent` comes last, after the ``metadata`` event's usage."""
    raw_finish: str | None = None
    tools: dict[int, int] = {}  # contentBlockIndex -> tool ordinal
    async for event in stream:
        if not isinstance(event, dict):
            continue
        if (delta_event := event.get("contentBlockDelta")) is not None:
            delta = delta_event.get("delta") or {}
            if text := delta.get("text"):
                yield TextDelta(text)
            elif (use := delta.get("toolUse")) is not None:
                block = delta_event.get("contentBlockIndex", 0)
                index = tools.setdefault(block, len(tools))
                yield ToolCallDelta(index, arguments=use.get("input") or "")
            elif (thought := delta.get("reasoningContent")) and (text := thought.get("text")):
                yield ReasoningDelta(text)
        elif (start := event.get("contentBlockStart")) is not None:
            use = (start.get("start") or {}).get("toolUse")
            if isinstance(use, dict):
                block = start.get("contentBlockIndex", 0)
                index = tools.setdefault(block, len(tools))
                yield ToolCallDelta(index, use.get("toolUseId"), use.get("name"))
        elif (stop := event.get("messageStop")) is not None:
            raw_finish = stop.get("stopReason") or "end_turn"
        elif (meta := event.get("metadata")) is not None and isinstance(meta.get("usage"), dict):
            yield UsageEvent(usage_of(meta["usage"]))
    if raw_finish is None:
        raise BelugaError(
            op,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"the stream from {where} ended before the model finished (no messageStop); "
            "retrying may help",
            retryable=True,
        )
    yield FinishEvent(finish_of(raw_finish), raw_finish, model, response_id)
