"""Anthropic Messages wire format: our messages, tools and settings to the request body, and the
response (whole or streamed) back to our types.

Request mapping, checked against recorded traffic:

* ``system`` messages, wherever they are in the history, become the top-level ``system`` (a
  string for one message, text blocks for several, so that their boundaries survive).
* user and assistant content is always a list of blocks; empty text parts are left out (the API
  rejects empty text blocks) and a message left with no block at all is dropped.
* each run of ``tool`` messages becomes one user message of ``tool_result`` blocks, with
  ``is_error`` always stated; text-only results are sent as a string, results with media as blocks.
* assistant ``tool_calls`` become ``tool_use`` blocks whose ``input`` is the parsed JSON object.
* images by URL become ``{"type": "url"}`` sources (``data:`` URLs are unpacked to base64), by
  bytes/base64 ``{"type": "base64", "media_type": ...}``; files become ``document`` blocks (PDF
  by URL or base64, ``text/*`` as a plain-text source). Audio and video are refused: the API has
  no audio or video input.
* ``max_tokens`` is required by the API, so the model's ``max_tokens_default`` fills it in.
  ``seed`` has no Anthropic equivalent and is not sent.
* Structured output (``settings.output``) is sent as ``output_config.format`` with
  ``{"type": "json_schema", "schema": ...}``: that is what the recordings show for native output
  (pydantic-ai's ``test_anthropic_native_output_*``), and the JSON comes back as the text of the
  answer, like every other provider's structured output. Anthropic's structured output is always
  strict and unnamed, so ``OutputSchema.name``/``strict`` are not sent. (A forced tool call, the
  other way, stays available: pass a tool and ``tool_choice=<its name>``.)
* ``settings.extra`` is merged over the body last; where both hold an object (``output_config``,
  ``metadata``, ...) the two are merged one level deep, so ``extra={"output_config": {"effort":
  "low"}}`` coexists with structured output. This is also how ``thinking``, ``top_k``,
  ``metadata`` and top-level ``cache_control`` reach the wire.

Thinking comes back as :class:`ReasoningPart` s, one per ``thinking`` block (its text and
``signature``) or ``redacted_thinking`` block (its ``data`` as ``redacted``), in order, and is sent
back the same way before the turn's text and ``tool_use`` blocks: the API requires the signed
thinking of the turn that a tool result continues. Only parts this provider produced and that
carry a signature or redacted data are sent; others' reasoning (and unsigned text) is dropped.
Responses are read as plain dicts (the SDK's ``cast_to=object``), which keeps the per-event cost
of a stream to a few dict lookups.

Compaction (``context_management`` with a ``compact_*`` edit, through ``extra``; it needs the
``compact-*`` beta header, given with the model's ``headers``): the ``compaction`` block the
answer starts with is kept whole as a :class:`ProviderPart` of this provider (streamed: the
``content_block_start`` block, completed by its ``compaction_delta``, delivered as one
:class:`ItemEvent` when the block stops), and sent back in place as it came, which is how the
API knows what the earlier turns were summarized into. The compaction pass is billed apart: its
``usage.iterations`` entry (left out of the top-level counts) is added to the usage.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncGenerator, AsyncIterable, Sequence
from typing import TYPE_CHECKING, Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.ids import new_id
from beluga.llms.providers._wire import sampling, tool_choice
from beluga.schema import (
    AudioPart,
    ChatResponse,
    ContentPart,
    FilePart,
    FinishEvent,
    FinishReason,
    ImagePart,
    ItemEvent,
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
    VideoPart,
)

if TYPE_CHECKING:
    from beluga.llms.base import ModelSettings

__all__ = ["build_request", "finish_of", "parse_message", "stream_events", "usage_of"]

# max_tokens is always sent (the API requires it) and seed has no field: neither is in the table.
_SAMPLING = {"temperature": "temperature", "top_p": "top_p", "stop": "stop_sequences"}
_MODES = {
    "auto": lambda: {"type": "auto"},
    "required": lambda: {"type": "any"},
    "any": lambda: {"type": "any"},
}
# Response blocks kept whole in the message and sent back as they came (ProviderPart).
_KEPT = frozenset({"compaction"})
_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "compaction": "stop",  # paused after compaction (pause_after_compaction)
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
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
    max_tokens_default: int,
    provider: str,
) -> dict[str, Any]:
    """The JSON body for ``POST /v1/messages`` (``settings.extra`` already merged in);
    ``provider`` names the reasoning parts to send back."""
    system: list[str] = []
    out: list[dict[str, Any]] = []
    results: list[dict[str, Any]] | None = None  # the tool_result blocks of the current run
    for msg in messages:
        role = msg.role
        if role == "tool":
            if results is None:
                results = []
                out.append({"role": "user", "content": results})
            results.append(_tool_result(msg, op))
        elif role == "system":  # hoisted: does not end a run of tool results
            if not msg.is_text_only:
                raise _refuse(
                    op, "a system message can carry text only; move media into a user message"
                )
            system.append(msg.text)
        else:
            results = None
            user = role == "user"
            blocks = _user_blocks(msg.content, op) if user else _assistant_blocks(msg, op, provider)
            if blocks:
                out.append({"role": role, "content": blocks})
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": settings.max_tokens or max_tokens_default,
        "messages": out,
    }
    if system:
        body["system"] = (
            system[0] if len(system) == 1 else [{"type": "text", "text": s} for s in system]
        )
    if tools:
        body["tools"] = [_tool(t) for t in tools]
        choice = _tool_choice(settings, tools, op)
        if choice is not None:
            body["tool_choice"] = choice
    body.update(sampling(settings, _SAMPLING))
    if settings.output is not None:
        body["output_config"] = {
            "format": {"type": "json_schema", "schema": settings.output.schema}
        }
    body["stream"] = stream
    for key, value in settings.extra.items():
        held = body.get(key)
        if isinstance(held, dict) and isinstance(value, dict):
            body[key] = {**held, **value}
        else:
            body[key] = value
    return body


def _refuse(op: str, text: str) -> BelugaError:
    return BelugaError(op, ErrorCode.INVALID_REQUEST, text)


def _tool(tool: ToolDefinition) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": tool.name,
        "description": tool.description,
        "input_schema": tool.parameters,
    }
    if tool.strict is not None:
        out["strict"] = tool.strict
    return out


def _tool_choice(
    settings: ModelSettings, tools: Sequence[ToolDefinition], op: str
) -> dict[str, Any] | None:
    choice = settings.tool_choice
    if choice == "none":
        return {"type": "none"}  # takes no disable_parallel_tool_use
    out = None if choice is None else tool_choice(choice, tools, op, _MODES, _named)
    if settings.parallel_tool_calls is False:
        out = {**(out or {"type": "auto"}), "disable_parallel_tool_use": True}
    return out


def _named(name: str) -> dict[str, Any]:
    return {"type": "tool", "name": name}


def _user_blocks(parts: Sequence[ContentPart], op: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in parts:
        if type(part) is TextPart:
            if part.text:
                blocks.append({"type": "text", "text": part.text})
        elif type(part) not in (ReasoningPart, ProviderPart):
            blocks.append(_media_block(part, op))
    return blocks


def _media_block(part: ContentPart, op: str) -> dict[str, Any]:
    if isinstance(part, ImagePart):
        return {"type": "image", "source": _source(part)}
    if isinstance(part, FilePart):
        return _document(part, op)
    if isinstance(part, AudioPart | VideoPart):
        kind = "audio" if isinstance(part, AudioPart) else "video"
        raise _refuse(
            op,
            f"the Anthropic Messages API takes no {kind} input ({type(part).__name__}); "
            f"transcribe it first (beluga.voice STT) or use a provider with {kind} input",
        )
    raise _refuse(op, f"Anthropic does not accept {type(part).__name__} input")


def _source(part: ImagePart | FilePart) -> dict[str, Any]:
    url = part.url
    if url is None:
        return {"type": "base64", "media_type": part.media_type, "data": part.as_base64()}
    if url.startswith("data:"):
        media, data = _unpack(url)
        return {"type": "base64", "media_type": media, "data": data}
    return {"type": "url", "url": url}


def _unpack(url: str) -> tuple[str, str]:
    """Media type and base64 data of a ``data:`` URL."""
    head, _, data = url.partition(",")
    return head[5:].removesuffix(";base64"), data


def _document(part: FilePart, op: str) -> dict[str, Any]:
    url = part.url
    if url is not None and not url.startswith("data:"):
        source: dict[str, Any] = {"type": "url", "url": url}
    else:
        media, data = _unpack(url) if url else ((part.media_type or ""), part.as_base64())
        media = media.lower()
        if media == "application/pdf":
            source = {"type": "base64", "media_type": media, "data": data}
        elif media.startswith("text/"):
            try:
                text = base64.b64decode(data).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise _refuse(
                    op, f"FilePart {part.name or ''} ({media}) is not UTF-8 text"
                ) from exc
            source = {"type": "text", "media_type": "text/plain", "data": text}
        else:
            raise _refuse(
                op,
                f"Anthropic documents are PDF or plain text, not {media or 'unknown'}; convert "
                "the file, or send images as ImagePart",
            )
    block: dict[str, Any] = {"type": "document", "source": source}
    if part.name:
        block["title"] = part.name
    return block


def _assistant_blocks(msg: Message, op: str, provider: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in msg.content:
        if type(part) is ProviderPart:
            if part.provider == provider:
                blocks.append(part.value())  # a compaction block goes back as it came
            continue
        if type(part) is ReasoningPart:
            if part.provider != provider:
                continue  # another vendor's reasoning means nothing here
            if part.redacted is not None:
                blocks.append({"type": "redacted_thinking", "data": part.redacted})
            elif part.signature is not None:
                blocks.append(
                    {"type": "thinking", "thinking": part.text, "signature": part.signature}
                )
            continue  # unsigned thinking is refused by the API
        if type(part) is not TextPart:
            raise _refuse(op, "an assistant message can carry text and tool calls only")
        if part.text:
            blocks.append({"type": "text", "text": part.text})
    for call in msg.tool_calls:
        try:
            args = json.loads(call.arguments or "{}")
        except json.JSONDecodeError:
            args = None
        if not isinstance(args, dict):
            raise _refuse(
                op,
                f"the history has a call to {call.name!r} (id {call.id}) whose arguments are not "
                "a JSON object; Anthropic needs them as an object, so repair or drop that call",
            )
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": args})
    return blocks


def _tool_result(msg: Message, op: str) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": msg.tool_call_id}
    if msg.is_text_only:
        text = msg.text
        if text:
            block["content"] = text
    else:
        block["content"] = _user_blocks(msg.content, op)
    block["is_error"] = msg.is_error
    return block


# --------------------------------------------------------------------------- response


def usage_of(raw: dict[str, Any]) -> Usage:
    """Our usage from Anthropic's: cache reads and writes are added to ``input_tokens`` (Anthropic
    counts them apart; we follow the OpenAI convention that cached tokens are part of the input)."""
    cache_read = raw.get("cache_read_input_tokens") or 0
    details = raw.get("output_tokens_details")
    usage = Usage(
        (raw.get("input_tokens") or 0) + cache_read + (raw.get("cache_creation_input_tokens") or 0),
        raw.get("output_tokens") or 0,
        cache_read,
        (details.get("thinking_tokens") or 0) if isinstance(details, dict) else 0,
    )
    for step in raw.get("iterations") or ():
        # A compaction pass is billed but, unlike the sampling iterations, left out of the
        # top-level counts (the API's documented rule): add it.
        if isinstance(step, dict) and step.get("type") == "compaction":
            usage = usage + usage_of({k: v for k, v in step.items() if k != "iterations"})
    return usage


def _kept(block: dict[str, Any], provider: str) -> ProviderPart:
    return ProviderPart(json.dumps(block, ensure_ascii=False), provider=provider)


def finish_of(raw: str | None) -> FinishReason:
    return _FINISH.get(raw or "end_turn", "stop")


def parse_message(data: Any, op: str, where: str, provider: str) -> ChatResponse:
    """Our :class:`ChatResponse` from a (non-streamed) Messages API answer."""
    content = data.get("content") if isinstance(data, dict) else None
    if not isinstance(content, list):
        kind = "a JSON object that is not a message" if isinstance(data, dict) else "plain text"
        raise BelugaError(
            op,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"{where} answered with {kind}; check that base_url points at the Anthropic API "
            "(without /v1)",
            retryable=False,
        )
    thoughts: list[ContentPart] = []
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in content:
        btype = block.get("type") if isinstance(block, dict) else None
        if btype == "text":
            texts.append(block.get("text") or "")
        elif btype == "tool_use":
            calls.append(
                ToolCall(
                    block.get("id") or new_id("toolu"),
                    block.get("name") or "",
                    json.dumps(block.get("input") or {}, ensure_ascii=False),
                )
            )
        elif btype == "thinking":
            signature = block.get("signature")
            thoughts.append(
                ReasoningPart(
                    block.get("thinking") or "",
                    signature=signature if isinstance(signature, str) and signature else None,
                    provider=provider,
                )
            )
        elif btype == "redacted_thinking":
            thoughts.append(ReasoningPart(redacted=block.get("data") or "", provider=provider))
        elif btype in _KEPT:
            thoughts.append(_kept(block, provider))
        # server tool blocks are not modelled
    text = "".join(texts)
    if text:
        thoughts.append(TextPart(text))
    raw_finish = data.get("stop_reason")
    usage = data.get("usage")
    return ChatResponse(
        Message.assistant(thoughts, tool_calls=calls),
        usage_of(usage) if isinstance(usage, dict) else Usage(),
        finish_of(raw_finish),
        data.get("model"),
        data.get("id"),
        raw_finish,
    )


async def stream_events(
    stream: AsyncIterable[Any], op: str, where: str, provider: str
) -> AsyncGenerator[StreamEvent, None]:
    """Our events from the SDK's stream of event dicts: deltas as they come, then one
    :class:`UsageEvent` and one :class:`FinishEvent`.

    Usage comes in ``message_start`` and is updated by ``message_delta`` (whose counts are
    cumulative), so the last value of each field wins. Tool calls are numbered in order of
    appearance; ``index`` in Anthropic's events is the content block, which text and thinking
    blocks share. A thinking block ends with its ``signature_delta``, which ends the reasoning
    part; a ``redacted_thinking`` block is one delta carrying its data.
    """
    model: str | None = None
    response_id: str | None = None
    raw_finish: str | None = None
    usage: dict[str, Any] = {}
    calls: dict[int, int] = {}  # content block index -> tool-call ordinal
    kept: dict[int, dict[str, Any]] = {}  # content block index -> a block kept whole (_KEPT)
    stopped = False
    async for event in stream:
        kind = event.get("type")
        if kind == "content_block_delta":
            delta = event["delta"]
            dtype = delta.get("type")
            if dtype == "text_delta":
                yield TextDelta(delta["text"])
            elif dtype == "input_json_delta":
                ordinal = calls.get(event["index"])
                if ordinal is not None and delta["partial_json"]:
                    yield ToolCallDelta(ordinal, None, None, delta["partial_json"])
            elif dtype == "thinking_delta" and delta["thinking"]:
                yield ReasoningDelta(delta["thinking"], provider=provider)
            elif dtype == "signature_delta":
                if (held := kept.get(event["index"])) is not None:
                    held["signature"] = delta["signature"]
                else:
                    yield ReasoningDelta("", signature=delta["signature"], provider=provider)
            elif dtype == "compaction_delta" and (held := kept.get(event["index"])) is not None:
                held.update((k, v) for k, v in delta.items() if k != "type")  # whole values
            # citations_delta carries nothing we model
        elif kind == "content_block_start":
            block = event["content_block"]
            btype = block.get("type")
            if btype == "tool_use":
                ordinal = calls[event["index"]] = len(calls)
                start = block.get("input")
                yield ToolCallDelta(
                    ordinal, block.get("id"), block.get("name"), json.dumps(start) if start else ""
                )
            elif btype == "text" and block.get("text"):
                yield TextDelta(block["text"])
            elif btype == "thinking" and (block.get("thinking") or block.get("signature")):
                yield ReasoningDelta(
                    block.get("thinking") or "", block.get("signature") or None, provider=provider
                )
            elif btype == "redacted_thinking":
                yield ReasoningDelta("", redacted=block.get("data") or "", provider=provider)
            elif btype in _KEPT:
                kept[event["index"]] = dict(block)
        elif kind == "content_block_stop" and kept:
            if (held := kept.pop(event.get("index"), None)) is not None:
                yield ItemEvent(_kept(held, provider))
        elif kind == "message_delta":
            raw_finish = event.get("delta", {}).get("stop_reason") or raw_finish
            if more := event.get("usage"):
                usage.update((k, v) for k, v in more.items() if v is not None)
        elif kind == "message_start":
            message = event.get("message") or {}
            model, response_id = message.get("model"), message.get("id")
            usage.update(message.get("usage") or {})
        elif kind == "message_stop":
            stopped = True
    if not stopped:
        raise BelugaError(
            op,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"the stream from {where} ended before the model finished (no message_stop); "
            "retrying may help",
            retryable=True,
        )
    yield UsageEvent(usage_of(usage))
    yield FinishEvent(finish_of(raw_finish), raw_finish, model, response_id)
