"""Gemini ``generateContent`` answers, whole or streamed, back to our types.

The request side is ``_gemini_wire`` (its docstring tells how thoughts and thought signatures
map to :class:`ReasoningPart` and :attr:`ToolCall.signature`). A whole answer is read through
the events a stream of the same parts gives, so ``generate`` and ``stream`` agree part for part.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.ids import new_id
from beluga.llms.providers._wire import with_total
from beluga.schema import (
    ChatResponse,
    FinishEvent,
    FinishReason,
    ReasoningDelta,
    ResponseBuilder,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
    UsageEvent,
)

if TYPE_CHECKING:
    from google.genai import types as gt

__all__ = ["parse_response", "stream_events"]

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


def _signature_text(raw: bytes | None) -> str | None:
    """A signature as the base64 text our types hold."""
    return base64.b64encode(raw).decode("ascii") if raw else None


def _usage_of(raw: gt.GenerateContentResponseUsageMetadata) -> Usage:
    """Our usage from Gemini's: thoughts count as (reasoning) output; tool-use prompt tokens
    (results of built-in tools) as input, since they are billed as such."""
    thoughts = raw.thoughts_token_count or 0
    usage = Usage(
        (raw.prompt_token_count or 0) + (raw.tool_use_prompt_token_count or 0),
        (raw.candidates_token_count or 0) + thoughts,
        raw.cached_content_token_count or 0,
        thoughts,
        _audio(raw.prompt_tokens_details),
        _audio(raw.candidates_tokens_details),
    )
    return with_total(usage, raw.total_token_count)


def _audio(details: list[gt.ModalityTokenCount] | None) -> int:
    if not details:
        return 0
    return sum(d.token_count or 0 for d in details if _value(d.modality) == "AUDIO")


def _value(enum: Any) -> str | None:
    return None if enum is None else str(getattr(enum, "value", enum))


def _finish(raw: str | None, has_calls: bool) -> FinishReason:
    reason = _FINISH.get(raw or "STOP", "stop")
    return "tool_calls" if reason == "stop" and has_calls else reason


def _part_events(
    part: gt.Part, calls: int, provider: str
) -> Iterator[TextDelta | ReasoningDelta | ToolCallDelta]:
    """Our events for one part of an answer; ``calls`` is the number of calls before it.

    A signature on a text or media part comes first, as a reasoning delta of its own, so that
    it ends (and belongs to) the reasoning before it, or stands alone."""
    signature = _signature_text(part.thought_signature)
    call = part.function_call
    if call is not None:
        args = call.args
        yield ToolCallDelta(
            calls,
            call.id or new_id("call"),
            call.name or "",
            json.dumps(args, ensure_ascii=False) if args else "{}",
            signature,
        )
    elif part.thought:
        if part.text or signature:
            yield ReasoningDelta(part.text or "", signature, provider=provider)
    else:
        if signature:
            yield ReasoningDelta("", signature, provider=provider)
        if part.text:
            yield TextDelta(part.text)


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


def parse_response(
    response: gt.GenerateContentResponse, op: str, where: str, provider: str
) -> ChatResponse:
    """Our :class:`ChatResponse` from a whole ``generateContent`` answer (first candidate),
    built from the events a stream of the same parts gives, so that both agree."""
    candidates = response.candidates
    if not candidates:
        raise _blocked(response, op, where)
    candidate = candidates[0]
    builder = ResponseBuilder()
    calls = 0
    content = candidate.content
    for part in (content.parts if content is not None else None) or ():
        for event in _part_events(part, calls, provider):
            builder.add(event)
        calls += part.function_call is not None
    raw = _value(candidate.finish_reason)
    usage = response.usage_metadata
    message = builder.build().message
    return ChatResponse(
        message,
        _usage_of(usage) if usage is not None else Usage(),
        _finish(raw, bool(calls)),
        response.model_version,
        response.response_id,
        raw,
    )


async def stream_events(
    chunks: AsyncIterable[gt.GenerateContentResponse], op: str, where: str, provider: str
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
                for event in _part_events(part, calls, provider):
                    yield event
                calls += part.function_call is not None
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
