"""OpenAI Responses API wire format (``POST /responses``): our messages, tools and settings to
the request body, and the response (whole or as SSE events) back to our types.

Kept apart from the connection (``openai_responses.py``) so that Azure and any other server that
speaks the Responses API (OpenRouter, vLLM, Ollama) reuse one mapping.

Request choices, each for a reason:

- The first message, when it is a system message, becomes ``instructions``; any later system
  message stays in place as a ``system`` input item. Both reach the model the same way.
- ``store`` is ``false``: every call sends the whole history, so nothing needs to live on
  OpenAI's side (``extra={"store": True}`` turns it back on).
- A tool's ``strict`` is sent as ``false`` when :class:`ToolDefinition` leaves it ``None``:
  Responses would otherwise default to strict schemas and reject ordinary ones (optional
  properties), unlike Chat Completions; a tool behaves the same in both adapters.
- ``seed`` and ``stop`` do not exist in the Responses API; asking for them is an error rather than
  a silent no-op.
- A user message's ``name`` is not sent (Responses has no field for it). Audio and video input
  are rejected: Responses takes text, images and files.

Responses arrive as plain JSON dicts (the SDK's ``cast_to=object``); every field is read with
``.get`` since compatible servers omit or add fields freely. Reasoning is the text of reasoning
summaries (``reasoning.summary`` must be asked for, e.g. through ``extra``) and of raw reasoning
content (gpt-oss on OpenRouter or vLLM); separate parts are joined by a blank line, in ``generate``
and ``stream`` alike. Text is every ``output_text`` joined, as the SDK's ``output_text`` does.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Sequence
from typing import TYPE_CHECKING, Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.ids import new_id
from beluga.llms.providers.openai import _error_from_body
from beluga.schema import (
    ChatResponse,
    ContentPart,
    FilePart,
    FinishEvent,
    FinishReason,
    ImagePart,
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
    from beluga.llms.base import ModelSettings

__all__ = ["build_request", "parse_response", "stream_events"]

_INCOMPLETE: dict[str, FinishReason] = {
    "max_output_tokens": "length",
    "content_filter": "content_filter",
}
_SEPARATOR = "\n\n"  # between reasoning parts
# Error codes of a failed response that mean "fix the request", not "retry".
_BAD_INPUT = ("invalid_", "image_", "empty_image", "unsupported_", "failed_to_download")


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
    """The JSON body for ``POST /responses``, and ``settings.extra`` to merge over it (last, so
    that it can add any Responses option -- ``reasoning``, ``include``, ``text.verbosity`` --
    or override one set here)."""
    if settings.seed is not None or settings.stop is not None:
        which = "seed" if settings.seed is not None else "stop"
        raise BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            f"the OpenAI Responses API has no {which!r} option; remove {which}= from the "
            "settings, or use the Chat Completions adapter (provider 'openai') which has it",
        )
    body: dict[str, Any] = {"model": model}
    start = 0
    if messages and messages[0].role == "system":
        body["instructions"] = _plain_text(messages[0], op)
        start = 1
    body["input"] = _input(messages, start, op)
    if tools:
        body["tools"] = [_tool(t) for t in tools]
        if settings.tool_choice is not None:
            body["tool_choice"] = _tool_choice(settings.tool_choice, tools, op)
        if settings.parallel_tool_calls is not None:
            body["parallel_tool_calls"] = settings.parallel_tool_calls
    if settings.temperature is not None:
        body["temperature"] = settings.temperature
    if settings.top_p is not None:
        body["top_p"] = settings.top_p
    if settings.max_tokens is not None:
        body["max_output_tokens"] = settings.max_tokens
    if settings.output is not None:
        out = settings.output
        body["text"] = {
            "format": {
                "type": "json_schema",
                "name": out.name,
                "schema": out.schema,
                "strict": out.strict,
            }
        }
    body["store"] = False
    body["stream"] = stream
    return body, (dict(settings.extra) if settings.extra else None)


def _tool(tool: ToolDefinition) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "function",
        "name": tool.name,
        "parameters": tool.parameters,
        "strict": bool(tool.strict),
    }
    if tool.description:
        out["description"] = tool.description
    return out


def _tool_choice(choice: str, tools: Sequence[ToolDefinition], op: str) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    if not any(t.name == choice for t in tools):
        names = ", ".join(t.name for t in tools)
        raise BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            f"tool_choice={choice!r} names no tool of this call; use auto, none, "
            f"required or one of: {names}",
        )
    return {"type": "function", "name": choice}


def _input(messages: Sequence[Message], start: int, op: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    append = items.append
    for i in range(start, len(messages)):
        msg = messages[i]
        role = msg.role
        if role == "user":
            append({"role": "user", "content": _content(msg.content, op)})
        elif role == "assistant":
            text = _plain_text(msg, op)
            if text or not msg.tool_calls:
                append({"role": "assistant", "content": text})
            for call in msg.tool_calls:
                append(
                    {
                        "type": "function_call",
                        "call_id": call.id,
                        "name": call.name,
                        "arguments": call.arguments,
                    }
                )
        elif role == "tool":
            output: Any = msg.text if msg.is_text_only else _content(msg.content, op)
            append({"type": "function_call_output", "call_id": msg.tool_call_id, "output": output})
        else:
            append({"role": "system", "content": _plain_text(msg, op)})
    return items


def _plain_text(msg: Message, op: str) -> str:
    if not msg.is_text_only:
        raise BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            f"a {msg.role} message can carry text only in the Responses API; move images "
            "and files into a user message (or a tool result)",
        )
    return msg.text


def _content(parts: tuple[ContentPart, ...], op: str) -> str | list[dict[str, Any]]:
    if not parts:
        return ""
    if len(parts) == 1 and type(parts[0]) is TextPart:
        return parts[0].text
    out: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            out.append({"type": "input_text", "text": part.text})
        elif isinstance(part, ImagePart):
            out.append(
                {
                    "type": "input_image",
                    "image_url": part.as_data_url(),
                    "detail": part.detail or "auto",
                }
            )
        elif isinstance(part, FilePart):
            if part.url is not None:
                out.append({"type": "input_file", "file_url": part.url})
            else:
                subtype = (part.media_type or "application/octet-stream").rsplit("/", 1)[-1]
                out.append(
                    {
                        "type": "input_file",
                        "file_data": part.as_data_url(),
                        "filename": part.name or f"file.{subtype}",
                    }
                )
        else:
            raise BelugaError(
                op,
                ErrorCode.INVALID_REQUEST,
                f"the Responses API does not accept {type(part).__name__} input; send text, "
                "images or files (the Chat Completions adapter takes wav/mp3 audio)",
            )
    return out


# --------------------------------------------------------------------------- response


def _usage_of(raw: Any) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    given = raw.get("input_tokens_details") or {}
    made = raw.get("output_tokens_details") or {}
    return Usage(
        raw.get("input_tokens") or 0,
        raw.get("output_tokens") or 0,
        given.get("cached_tokens") or 0,
        made.get("reasoning_tokens") or 0,
    )


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


def parse_response(data: Any, op: str, where: str) -> ChatResponse:
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
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[ToolCall] = []
    refused = False
    for item in output:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "message":
            for part in item.get("content") or ():
                if not isinstance(part, dict):
                    continue
                if part.get("type") == "output_text":
                    text.append(part.get("text") or "")
                elif part.get("type") == "refusal":
                    refused = True
                    text.append(part.get("refusal") or "")
        elif kind == "function_call":
            calls.append(
                ToolCall(
                    item.get("call_id") or item.get("id") or new_id("call"),
                    item.get("name") or "",
                    item.get("arguments") or "{}",
                )
            )
        elif kind == "reasoning":
            for part in (*(item.get("summary") or ()), *(item.get("content") or ())):
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    reasoning.append(part["text"])
    finish, raw = _finish_of(status, data.get("incomplete_details"), bool(calls), refused)
    return ChatResponse(
        Message.assistant("".join(text) or None, tool_calls=calls),
        _usage_of(data.get("usage")),
        finish,
        data.get("model"),
        data.get("id"),
        raw,
        _SEPARATOR.join(reasoning),
    )


async def stream_events(
    stream: AsyncIterable[Any],
    op: str,
    where: str,
) -> AsyncGenerator[StreamEvent, None]:
    """Our events from the SDK's stream of SSE data dicts: deltas as they come, then one
    :class:`UsageEvent` and one :class:`FinishEvent` from ``response.completed`` (or
    ``response.incomplete``). ``response.failed`` and ``error`` events raise."""
    calls: dict[Any, list[Any]] = {}  # output_index (or item id) -> [our index, arguments seen]
    last_reasoning: Any = None
    refused = False
    final: dict[str, Any] | None = None
    async for event in stream:
        if type(event) is not dict:
            continue
        kind = event.get("type")
        if kind == "response.output_text.delta":
            delta = event.get("delta")
            if delta:
                yield TextDelta(delta)
        elif kind == "response.function_call_arguments.delta":
            delta = event.get("delta")
            call = calls.get(event.get("output_index", event.get("item_id")))
            if delta and call is not None:
                call[1] = True
                yield ToolCallDelta(call[0], None, None, delta)
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            delta = event.get("delta")
            if delta:
                get = event.get
                key = (kind, get("output_index"), get("summary_index"), get("content_index"))
                if last_reasoning is not None and key != last_reasoning:
                    delta = _SEPARATOR + delta
                last_reasoning = key
                yield ReasoningDelta(delta)
        elif kind == "response.output_item.added" or kind == "response.output_item.done":
            item = event.get("item")
            if isinstance(item, dict) and item.get("type") == "function_call":
                position = event.get("output_index", item.get("id"))
                tool_delta = _call_item(calls, position, item, kind)
                if tool_delta is not None:
                    yield tool_delta
        elif kind == "response.refusal.delta":
            delta = event.get("delta")
            if delta:
                refused = True
                yield TextDelta(delta)
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
