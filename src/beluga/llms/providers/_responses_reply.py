"""OpenAI Responses API answers (``POST /responses``), whole or as SSE events, back to our types.

The request side is ``_responses_wire`` (its docstring tells how reasoning items map to
:class:`ReasoningPart`). Responses arrive as plain JSON dicts (the SDK's ``cast_to=object``);
every field is read with ``.get`` since compatible servers omit or add fields freely. Text is
every ``output_text`` joined, as the SDK's ``output_text`` does, but for the text of message
items of phase ``commentary`` (narration between tool calls): each item's text keeps its phase
(:class:`TextPart`), so ``text`` is the final answer and the commentary stays in the parts. A
whole response is read through the events its stream would give (``_Reasoning`` and
:class:`ResponseBuilder`), so ``generate`` and ``stream`` agree part for part.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable
from typing import Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.ids import new_id
from beluga.llms.providers._wire import with_total
from beluga.llms.providers.openai import _error_from_body
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

__all__ = ["parse_response", "stream_events"]

_INCOMPLETE: dict[str, FinishReason] = {
    "max_output_tokens": "length",
    "content_filter": "content_filter",
}
_SEPARATOR = "\n\n"  # between reasoning parts of an item without id
# Error codes of a failed response that mean "fix the request", not "retry".
_BAD_INPUT = ("invalid_", "image_", "empty_image", "unsupported_", "failed_to_download")


def _usage_of(raw: Any) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    given = raw.get("input_tokens_details") or {}
    made = raw.get("output_tokens_details") or {}
    usage = Usage(
        raw.get("input_tokens") or 0,
        raw.get("output_tokens") or 0,
        given.get("cached_tokens") or 0,
        made.get("reasoning_tokens") or 0,
    )
    return with_total(usage, raw.get("total_tokens"))


def _phase(item: Any) -> str | None:
    """A message item's ``phase`` (``commentary`` or ``final_answer``), if it has one."""
    phase = item.get("phase") if isinstance(item, dict) else None
    return phase if isinstance(phase, str) and phase else None


def _finish_of(
    status: Any, details: Any, has_calls: bool, refused: bool
) -> tuple[FinishReason, str | None]:
    """Our finish reason and the provider's own word: the status, or why it is incomplete."""
    if status == "incomplete":
        reason = details.get("reason") if isinstance(details, dict) else None
        return _INCOMPLETE.get(reason or "", "length"), reason or "incomplete"
    if refused:
        return "content_filter", "refusal"
    return ("tool_calls" if has_calls else "stop"), status if isinstance(status, str) else None


def _failure(body: Any, op: str, where: str, context: str) -> BelugaError:
    """The error of a failed response (``status: failed``, ``response.failed``, ``error``)."""
    error = dict(body) if isinstance(body, dict) else {"message": str(body or "no details")}
    code = str(error.get("code") or "")
    if "content_policy" in code or code == "content_filter":
        error["code"] = "content_filter"
    elif code.startswith(_BAD_INPUT) or code == "vector_store_not_found":
        error.setdefault("type", "invalid_request_error")
    return _error_from_body(error, op, where, context)


def parse_response(data: Any, op: str, where: str, provider: str) -> ChatResponse:
    """Our :class:`ChatResponse` from a (non-streamed) response object."""
    output = data.get("output") if isinstance(data, dict) else None
    if not isinstance(output, list):
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            raise _failure(data["error"], op, where, "an error in a 200 response")
        shape = "a JSON object without output" if isinstance(data, dict) else "plain text"
        raise BelugaError(
            op,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"{where} answered with {shape} instead of a Responses API response; check that "
            "base_url points at an endpoint that serves /responses",
            retryable=False,
        )
    assert isinstance(data, dict)
    status = data.get("status")
    if status == "failed":
        raise _failure(data.get("error"), op, where, "a failed response")
    if status in ("queued", "in_progress"):
        raise BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            f"{where} answered with a response still {status}: background mode is not "
            "supported by this adapter; remove 'background' from the settings' extra",
        )
    builder = ResponseBuilder()
    add = builder.add
    reasoning = _Reasoning(provider)
    calls = 0
    refused = False
    for index, item in enumerate(output):
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "message":
            reasoning.key = None
            phase = _phase(item)
            for part in item.get("content") or ():
                if not isinstance(part, dict):
                    continue
                if part.get("type") == "output_text":
                    add(TextDelta(part.get("text") or "", phase))
                elif part.get("type") == "refusal":
                    refused = True
                    add(TextDelta(part.get("refusal") or "", phase))
        elif kind == "function_call":
            reasoning.key = None
            call_id = item.get("call_id") or item.get("id") or new_id("call")
            add(ToolCallDelta(calls, call_id, item.get("name") or "", item.get("arguments") or ""))
            calls += 1
        elif kind == "reasoning":
            for delta in reasoning.done(item, index):
                add(delta)
    finish, raw = _finish_of(status, data.get("incomplete_details"), bool(calls), refused)
    return ChatResponse(
        builder.build().message,
        _usage_of(data.get("usage")),
        finish,
        data.get("model"),
        data.get("id"),
        raw,
    )


class _Reasoning:
    """Reasoning deltas for a stream (and a whole response, read as one): a part per summary or
    content part of an item with an id, the item's encrypted content ending its last part; an
    item without id is one part, its pieces joined by a blank line (as is a run of them)."""

    __slots__ = ("key", "provider", "seen")

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.key: Any = None  # the piece the last delta belonged to; None after other output
        self.seen: set[Any] = set()  # items that sent deltas

    def delta(self, event: dict[str, Any], kind: str) -> ReasoningDelta | None:
        text = event.get("delta")
        if not text:
            return None
        get = event.get
        key = (kind, get("output_index"), get("summary_index"), get("content_index"))
        self.seen.add(get("output_index", get("item_id")))
        if key == self.key:
            return ReasoningDelta(text, provider=self.provider)
        previous, self.key = self.key, key
        if item_id := get("item_id"):
            return ReasoningDelta(text, id=item_id, provider=self.provider)
        text = text if previous is None else _SEPARATOR + text
        return ReasoningDelta(text, provider=self.provider)

    def done(self, item: dict[str, Any], position: Any) -> list[ReasoningDelta]:
        """The deltas a finished item adds: its encrypted content when its text came as deltas,
        else all of it (a whole response, or a server that sends no reasoning deltas)."""
        encrypted = item.get("encrypted_content") or None
        provider = self.provider
        if position in self.seen:
            if encrypted is None:
                return []
            self.key = None
            return [ReasoningDelta("", redacted=encrypted, provider=provider)]
        texts = [
            p["text"]
            for p in (*(item.get("summary") or ()), *(item.get("content") or ()))
            if isinstance(p, dict) and isinstance(p.get("text"), str)
        ]
        item_id = item.get("id") or None
        if item_id is not None:
            out = [ReasoningDelta(t, id=item_id, provider=provider) for t in texts]
            out = out or [ReasoningDelta("", id=item_id, provider=provider)]
            if encrypted is not None:
                last = out[-1]
                out[-1] = ReasoningDelta(last.text, None, encrypted, item_id, provider)
        else:
            text = _SEPARATOR.join(texts)
            if text and self.key is not None:
                text = _SEPARATOR + text
            out = (
                [ReasoningDelta(text, None, encrypted, None, provider)] if text or encrypted else []
            )
        self.key = None if encrypted is not None else ("item", position)
        return out


async def stream_events(
    stream: AsyncIterable[Any],
    op: str,
    where: str,
    provider: str,
) -> AsyncGenerator[StreamEvent, None]:
    """Our events from the SDK's stream of SSE data dicts: deltas as they come, then one
    :class:`UsageEvent` and one :class:`FinishEvent` from ``response.completed`` (or
    ``response.incomplete``). ``response.failed`` and ``error`` events raise."""
    calls: dict[Any, list[Any]] = {}  # output_index (or item id) -> [our index, arguments seen]
    reasoning = _Reasoning(provider)
    phases: dict[Any, str] = {}  # output_index -> phase of the message item there
    refused = False
    final: dict[str, Any] | None = None
    async for event in stream:
        if type(event) is not dict:
            continue
        kind = event.get("type")
        if kind == "response.output_text.delta":
            delta = event.get("delta")
            if delta:
                reasoning.key = None
                yield TextDelta(delta, phases.get(event.get("output_index")) if phases else None)
        elif kind == "response.function_call_arguments.delta":
            delta = event.get("delta")
            call = calls.get(event.get("output_index", event.get("item_id")))
            if delta and call is not None:
                call[1] = True
                reasoning.key = None
                yield ToolCallDelta(call[0], None, None, delta)
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            thought = reasoning.delta(event, kind)
            if thought is not None:
                yield thought
        elif kind == "response.output_item.added" or kind == "response.output_item.done":
            item = event.get("item")
            itype = item.get("type") if isinstance(item, dict) else None
            if itype == "message" and (phase := _phase(item)) is not None:
                phases[event.get("output_index")] = phase
            elif itype == "function_call":
                position = event.get("output_index", item.get("id"))  # type: ignore[union-attr]
                tool_delta = _call_item(calls, position, item, kind)  # type: ignore[arg-type]
                if tool_delta is not None:
                    reasoning.key = None
                    yield tool_delta
            elif itype == "reasoning" and kind == "response.output_item.done":
                position = event.get("output_index", item.get("id"))  # type: ignore[union-attr]
                for thought in reasoning.done(item, position):  # type: ignore[arg-type]
                    yield thought
        elif kind == "response.refusal.delta":
            delta = event.get("delta")
            if delta:
                refused = True
                reasoning.key = None
                yield TextDelta(delta, phases.get(event.get("output_index")) if phases else None)
        elif kind == "response.completed" or kind == "response.incomplete":
            response = event.get("response")
            final = response if isinstance(response, dict) else {}
        elif kind == "response.failed":
            response = event.get("response")
            detail = response.get("error") if isinstance(response, dict) else None
            raise _failure(detail, op, where, "a failed response mid-stream")
        elif kind == "error":
            raise _failure(event, op, where, "an error mid-stream")
    if final is None:
        raise BelugaError(
            op,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"the stream from {where} ended before the model finished (no response.completed "
            "event); retrying may help",
            retryable=True,
        )
    if final.get("usage") is not None:
        yield UsageEvent(_usage_of(final.get("usage")))
    finish, raw = _finish_of(
        final.get("status"), final.get("incomplete_details"), bool(calls), refused
    )
    yield FinishEvent(finish, raw, final.get("model"), final.get("id"))


def _call_item(
    calls: dict[Any, list[Any]], position: Any, item: dict[str, Any], kind: str
) -> ToolCallDelta | None:
    """A function call announced (``output_item.added``) or finished (``output_item.done``).

    Servers that skip the argument deltas still deliver the arguments with ``done``."""
    call = calls.get(position)
    if call is None:
        call = calls[position] = [len(calls), False]
        arguments = item.get("arguments") or ""
        call[1] = bool(arguments)
        return ToolCallDelta(
            call[0], item.get("call_id") or new_id("call"), item.get("name") or "", arguments
        )
    if kind == "response.output_item.done" and not call[1] and item.get("arguments"):
        call[1] = True
        return ToolCallDelta(call[0], None, None, item["arguments"])
    return None
