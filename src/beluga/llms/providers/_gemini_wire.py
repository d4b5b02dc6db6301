"""Gemini ``generateContent`` wire format: our messages, tools and settings to the SDK's request
(plain dicts, which ``google-genai`` validates and serialises), and its responses back to our types.

Kept apart from the connection (``gemini.py``) like the OpenAI adapter. Mapping choices:

- System messages, wherever they stand, become ``system_instruction`` (one part each): Gemini has
  no system role inside ``contents``.
- Consecutive tool results are merged into one ``user`` turn of ``functionResponse`` parts, as
  Gemini answers parallel calls. A tool result is sent as ``{"output": text}`` (or
  ``{"error": text}`` when ``is_error``), the keys the API documents; its ``name`` comes from the
  message or else from the call it answers in the history.
- A message without content is sent as one empty text part (the API rejects empty ``parts``).
- Reasoning ("thought" parts) of earlier turns is not sent back: :class:`Message` has no field
  for it.

Thought signatures. Gemini 3 rejects a history whose function calls lack the opaque
``thoughtSignature`` it attached to them (400 "missing thought_signature"). :class:`ToolCall` has
no place for provider data, so signatures are kept in a bounded, process-wide table keyed by the
call id (ids are unique: Gemini's own or ``new_id("call")``) and put back when the call is sent
again. A call we never saw (another provider's, or one older than the table) gets the documented
placeholder ``skip_thought_signature_validator`` on the first call of its turn, which is what
Google advises for injected or migrated calls. Signatures on text parts are optional for the API
and are dropped.
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
import threading
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.ids import new_id
from beluga.schema import (
    ChatResponse,
    ContentPart,
    FinishEvent,
    FinishReason,
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
)

if TYPE_CHECKING:
    from google.genai import types as gt

    from beluga.llms.base import ModelSettings

__all__ = ["SKIP_SIGNATURE", "build_config", "build_contents", "parse_response", "stream_events"]

SKIP_SIGNATURE = b"skip_thought_signature_validator"
_MAX_SIGNATURES = 4096
_signatures: OrderedDict[str, bytes] = OrderedDict()  # call id -> signature (b"": had none)
_signatures_lock = threading.Lock()

_CONTENT_FILTER = ("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "MODEL_ARMOR")
_IMAGE_FILTER = ("IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION")
# The model failed to produce a usable turn: an agent should retry rather than take it as final.
_FAILED = ("MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS")
_BROKEN = ("MISSING_THOUGHT_SIGNATURE", "MALFORMED_RESPONSE")
_FINISH: dict[str, FinishReason] = {
    "MAX_TOKENS": "length",
    "CONTINUATION": "length",  # automatic continuation is off: the answer is cut here
    **dict.fromkeys(_CONTENT_FILTER + _IMAGE_FILTER, "content_filter"),
    **dict.fromkeys(_FAILED + _BROKEN, "error"),
}


# --------------------------------------------------------------------------- signatures


def _remember(call_id: str, signature: bytes | None) -> None:
    with _signatures_lock:
        _signatures[call_id] = signature or b""
        _signatures.move_to_end(call_id)
        while len(_signatures) > _MAX_SIGNATURES:
            _signatures.popitem(last=False)


def _recall(call_id: str) -> bytes | None:
    """The signature Gemini gave the call (``b""`` if none), or None for a call we never saw."""
    with _signatures_lock:
        return _signatures.get(call_id)


# --------------------------------------------------------------------------- request


def build_contents(
    messages: Sequence[Message], op: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """``system_instruction`` and ``contents`` for ``messages``."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # call id -> tool name, for results that do not name their tool
    pending: list[dict[str, Any]] | None = None  # the open turn of tool results
    for msg in messages:
        role = msg.role
        if role == "tool":
            if pending is None:
                pending = []
                contents.append({"role": "user", "parts": pending})
            pending.append(_function_response(msg, names, op))
            continue
        pending = None
        if role == "system":
            if not msg.is_text_only:
                raise BelugaError(
                    op,
                    ErrorCode.INVALID_REQUEST,
                    "a system message can carry text only for Gemini; move media into a "
                    "user message",
                )
            system.append({"text": msg.text})
        elif role == "assistant":
            parts = [_part(p, op) for p in msg.content]
            first = True
            for call in msg.tool_calls:
                names[call.id] = call.name
                parts.append(_function_call(call, first))
                first = False
            contents.append({"role": "model", "parts": parts or [{"text": ""}]})
        else:
            parts = [_part(p, op) for p in msg.content]
            contents.append({"role": "user", "parts": parts or [{"text": ""}]})
    return ({"parts": system} if system else None), contents


def _function_call(call: ToolCall, first: bool) -> dict[str, Any]:
    part: dict[str, Any] = {
        "function_call": {"id": call.id, "name": call.name, "args": call.args()}
    }
    signature = _recall(call.id)
    if signature:
        part["thought_signature"] = signature
    elif signature is None and first:
        part["thought_signature"] = SKIP_SIGNATURE
    return part


def _function_response(msg: Message, names: dict[str, str], op: str) -> dict[str, Any]:
    call_id = msg.tool_call_id or ""
    name = msg.name or names.get(call_id)
    if not name:
        raise BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            f"the tool result for call {call_id!r} names no tool and the history has no call "
            "with that id; Gemini needs the tool name: pass Message.tool(call_id, content, "
            "name=...)",
        )
    if not msg.is_text_only:
        raise BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            "a tool result can carry text only for Gemini; send images or files in a user "
            "message after it",
        )
    key = "error" if msg.is_error else "output"
    return {"function_response": {"id": call_id, "name": name, "response": {key: msg.text}}}


def _part(part: ContentPart, op: str) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"text": part.text}
    url = part.url
    if url is None:
        return {"inline_data": {"data": part.as_bytes(), "mime_type": part.media_type}}
    if url.startswith("data:"):
        head, _, data = url.partition(",")
        media_type = part.media_type or head[5:].split(";", 1)[0] or None
        try:
            raw = base64.b64decode(data, validate=True)
        except binascii.Error as exc:
            raise BelugaError(
                op, ErrorCode.INVALID_REQUEST, f"a data: URL in a {part.kind} part is not base64"
            ) from exc
        return {"inline_data": {"data": raw, "mime_type": media_type}}
    file_data: dict[str, Any] = {"file_uri": url}
    media_type = part.media_type or mimetypes.guess_type(url.split("?", 1)[0])[0]
    if media_type:
        file_data["mime_type"] = media_type
    return {"file_data": file_data}


def build_config(
    tools: Sequence[ToolDefinition], settings: ModelSettings, op: str
) -> dict[str, Any]:
    """``GenerateContentConfig`` fields for ``tools`` and ``settings`` (``extra`` excepted).

    ``parallel_tool_calls`` has no Gemini equivalent and is ignored; ``OutputSchema.name`` and
    ``strict`` neither (the schema is always enforced).
    """
    config: dict[str, Any] = {}
    if tools:
        config["tools"] = [
            {
                "function_declarations": [
                    {
                        "name": t.name,
                        "description": t.description,
                        "parameters_json_schema": t.parameters,
                    }
                    for t in tools
                ]
            }
        ]
        if settings.tool_choice is not None:
            config["tool_config"] = {
                "function_calling_config": _tool_choice(settings.tool_choice, tools, op)
            }
    if settings.temperature is not None:
        config["temperature"] = settings.temperature
    if settings.top_p is not None:
        config["top_p"] = settings.top_p
    if settings.max_tokens is not None:
        config["max_output_tokens"] = settings.max_tokens
    if settings.stop is not None:
        config["stop_sequences"] = list(settings.stop)
    if settings.seed is not None:
        config["seed"] = settings.seed
    if settings.output is not None:
        config["response_mime_type"] = "application/json"
        config["response_json_schema"] = settings.output.schema
    return config


def _tool_choice(choice: str, tools: Sequence[ToolDefinition], op: str) -> dict[str, Any]:
    if choice == "auto":
        return {"mode": "AUTO"}
    if choice == "none":
        return {"mode": "NONE"}
    if choice == "required":
        return {"mode": "ANY"}
    if not any(t.name == choice for t in tools):
        names = ", ".join(t.name for t in tools)
        raise BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            f"tool_choice={choice!r} names no tool of this call; use auto, none, required "
            f"or one of: {names}",
        )
    return {"mode": "ANY", "allowed_function_names": [choice]}


# --------------------------------------------------------------------------- response


def _usage_of(raw: gt.GenerateContentResponseUsageMetadata) -> Usage:
    """Our usage from Gemini's: thoughts count as (reasoning) output; tool-use prompt tokens
    (results of built-in tools) as input, since they are billed as such."""
    thoughts = raw.thoughts_token_count or 0
    return Usage(
        (raw.prompt_token_count or 0) + (raw.tool_use_prompt_token_count or 0),
        (raw.candidates_token_count or 0) + thoughts,
        raw.cached_content_token_count or 0,
        thoughts,
        _audio(raw.prompt_tokens_details),
        _audio(raw.candidates_tokens_details),
    )


def _audio(details: list[gt.ModalityTokenCount] | None) -> int:
    if not details:
        return 0
    return sum(d.token_count or 0 for d in details if _value(d.modality) == "AUDIO")


def _value(enum: Any) -> str | None:
    return None if enum is None else str(getattr(enum, "value", enum))


def _finish(raw: str | None, has_calls: bool) -> FinishReason:
    reason = _FINISH.get(raw or "STOP", "stop")
    return "tool_calls" if reason == "stop" and has_calls else reason


def _tool_call(call: gt.FunctionCall, signature: bytes | None) -> ToolCall:
    call_id = call.id or new_id("call")
    _remember(call_id, signature)
    args = call.args
    return ToolCall(
        call_id, call.name or "", json.dumps(args, ensure_ascii=False) if args else "{}"
    )


def _blocked(response: gt.GenerateContentResponse, op: str, where: str) -> BelugaError:
    feedback = response.prompt_feedback
    reason = _value(feedback.block_reason) if feedback is not None else None
    if feedback is not None and reason is not None:
        said = feedback.block_reason_message or "no details given"
        return BelugaError(
            op,
            ErrorCode.CONTENT_FILTERED,
            f"{where} blocked the prompt ({reason}: {said}); rephrase the request or adjust "
            "safety_settings through settings.extra",
            retryable=False,
        )
    return BelugaError(
        op,
        ErrorCode.PROVIDER_UNAVAILABLE,
        f"{where} answered without any candidate; check that base_url points at the Gemini "
        "API (generativelanguage.googleapis.com)",
        retryable=False,
    )


def parse_response(response: gt.GenerateContentResponse, op: str, where: str) -> ChatResponse:
    """Our :class:`ChatResponse` from a whole ``generateContent`` answer (first candidate)."""
    candidates = response.candidates
    if not candidates:
        raise _blocked(response, op, where)
    candidate = candidates[0]
    text: list[str] = []
    thoughts: list[str] = []
    calls: list[ToolCall] = []
    content = candidate.content
    for part in (content.parts if content is not None else None) or ():
        if part.function_call is not None:
            calls.append(_tool_call(part.function_call, part.thought_signature))
        elif part.text:
            (thoughts if part.thought else text).append(part.text)
    raw = _value(candidate.finish_reason)
    usage = response.usage_metadata
    return ChatResponse(
        Message.assistant("".join(text) or None, tool_calls=calls),
        _usage_of(usage) if usage is not None else Usage(),
        _finish(raw, bool(calls)),
        response.model_version,
        response.response_id,
        raw,
        "".join(thoughts),
    )


async def stream_events(
    chunks: AsyncIterable[gt.GenerateContentResponse], op: str, where: str
) -> AsyncIterator[StreamEvent]:
    """Our events from the SDK's stream of chunks.

    Gemini sends each function call whole, so each becomes one :class:`ToolCallDelta`. Usage is
    cumulative in every chunk: only the last is reported, once, before the :class:`FinishEvent`.
    """
    usage: gt.GenerateContentResponseUsageMetadata | None = None
    raw: str | None = None
    model: str | None = None
    response_id: str | None = None
    calls = 0
    async for chunk in chunks:
        if response_id is None:
            response_id = chunk.response_id
            model = chunk.model_version
        if chunk.usage_metadata is not None:
            usage = chunk.usage_metadata
        candidates = chunk.candidates
        if not candidates:
            if chunk.prompt_feedback is not None and chunk.prompt_feedback.block_reason:
                raise _blocked(chunk, op, where)
            continue
        candidate = candidates[0]
        content = candidate.content
        if content is not None and content.parts:
            for part in content.parts:
                if part.function_call is not None:
                    call = _tool_call(part.function_call, part.thought_signature)
                    yield ToolCallDelta(calls, call.id, call.name, call.arguments)
                    calls += 1
                elif part.text:
                    yield ReasoningDelta(part.text) if part.thought else TextDelta(part.text)
        if candidate.finish_reason is not None:
            raw = _value(candidate.finish_reason)
    if raw is None:
        raise BelugaError(
            op,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"the stream from {where} ended before the model finished (no finish reason); "
            "retrying may help",
            retryable=True,
        )
    if usage is not None:
        yield UsageEvent(_usage_of(usage))
    yield FinishEvent(_finish(raw, calls > 0), raw, model, response_id)
