"""Bedrock Converse wire format: our messages, tools and settings to ``converse`` keyword
arguments, and the answer (whole, or as event-stream events) back to our types.

Kept apart from the connection (``bedrock.py``): these functions see only plain dicts, the shapes
botocore takes and returns, so they need no SDK to run or to test.

Mapping decisions, each forced by the Converse API:

* System messages go to ``system``; everything else alternates ``user``/``assistant``. Tool
  results travel as ``toolResult`` blocks of a *user* turn, and Converse rejects two turns of the
  same role in a row, so consecutive turns of one role are merged into one (tool results, then
  the user's next words, as Bedrock's own examples do).
* Media is sent as bytes or an ``s3://`` URI; ``_bedrock_media`` maps it.
* ``tool_choice="none"`` cannot be expressed: tools are left out -- unless the history holds tool
  calls, for which Converse requires ``toolConfig``; then the tools are sent without a choice.
* ``seed`` and ``parallel_tool_calls`` have no Converse field and are not sent; ``extra`` goes
  to ``additionalModelRequestFields`` (model-specific options such as ``top_k`` or Anthropic's
  ``thinking``). Structured output uses Converse's native ``outputConfig`` (JSON schema).
* Reasoning (``reasoningContent``) comes back as :class:`ReasoningPart` s: ``reasoningText``
  with its ``signature``, or ``redactedContent`` (bytes, kept as base64 text in ``redacted``).
  The parts this provider produced that carry a signature or redacted content are sent back in
  place in the assistant turn, as Anthropic models on Bedrock require for a continued tool call
  with extended thinking; unsigned reasoning and other providers' are left out.
* Usage: Bedrock counts cache reads and writes apart from ``inputTokens`` (``totalTokens`` is the
  sum of all four). Our :class:`Usage` follows the OpenAI convention, cached tokens being part of
  the input, so ``input_tokens = inputTokens + cacheReadInputTokens + cacheWriteInputTokens`` and
  ``cached_tokens = cacheReadInputTokens``; ``total_tokens`` then equals Bedrock's ``totalTokens``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.providers._bedrock_media import DocumentNames, media_block
from beluga.llms.providers._wire import sampling, tool_choice, with_total
from beluga.schema import (
    ChatResponse,
    ContentPart,
    FinishEvent,
    FinishReason,
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

__all__ = ["build_request", "finish_of", "parse_response", "stream_events", "usage_of"]

_SAMPLING = {
    "max_tokens": "maxTokens",
    "temperature": "temperature",
    "top_p": "topP",
    "stop": "stopSequences",
}
# "none" is not a Converse choice: the tools are then sent without one (see build_request).
_MODES: dict[str, Callable[[], Any]] = {
    "auto": lambda: {"auto": {}},
    "required": lambda: {"any": {}},
}
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

# --------------------------------------------------------------------------- request


def build_request(
    model: str,
    messages: Sequence[Message],
    tools: Sequence[ToolDefinition],
    settings: ModelSettings,
    op: str,
    provider: str,
) -> dict[str, Any]:
    """Keyword arguments for ``client.converse`` / ``client.converse_stream``; ``provider``
    names the reasoning parts to send back."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    docs = DocumentNames()
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
        role, blocks = _turn(msg, op, docs, provider)
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
    inference = sampling(settings, _SAMPLING)
    if inference:
        request["inferenceConfig"] = inference
    if tools and (settings.tool_choice != "none" or has_tool_blocks):
        config: dict[str, Any] = {"tools": [_tool(t) for t in tools]}
        if settings.tool_choice not in (None, "none"):
            config["toolChoice"] = tool_choice(settings.tool_choice, tools, op, _MODES, _named)
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


def _named(name: str) -> dict[str, Any]:
    return {"tool": {"name": name}}


def _turn(
    msg: Message, op: str, docs: DocumentNames, provider: str
) -> tuple[str, list[dict[str, Any]]]:
    if msg.role == "tool":
        result: dict[str, Any] = {
            "toolUseId": msg.tool_call_id,
            "content": _blocks(msg.content, op, docs) or [{"text": ""}],
        }
        if msg.is_error:
            result["status"] = "error"
        return "user", [{"toolResult": result}]
    blocks = _blocks(msg.content, op, docs, provider if msg.role == "assistant" else None)
    for call in msg.tool_calls:
        blocks.append({"toolUse": {"toolUseId": call.id, "name": call.name, "input": call.args()}})
    return msg.role, blocks


def _blocks(
    parts: Sequence[ContentPart], op: str, docs: DocumentNames, provider: str | None = None
) -> list[dict[str, Any]]:
    """Converse blocks for ``parts``; reasoning parts of ``provider`` only (None: none)."""
    out: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            if part.text:  # Converse rejects blank text blocks
                out.append({"text": part.text})
            continue
        if isinstance(part, ReasoningPart):
            if provider is not None and part.provider == provider:
                if part.redacted is not None:
                    redacted = _unb64(part.redacted, op)
                    out.append({"reasoningContent": {"redactedContent": redacted}})
                elif part.signature is not None:
                    signed = {"text": part.text, "signature": part.signature}
                    out.append({"reasoningContent": {"reasoningText": signed}})
            continue
        if isinstance(part, ProviderPart):
            continue  # a block of another vendor's own (Anthropic's compaction); none here
        out.append(media_block(part, op, docs))
    return out


# --------------------------------------------------------------------------- response


def usage_of(raw: Any) -> Usage:
    """Our usage from Converse ``usage`` (see the module docstring for the cache convention)."""
    if not isinstance(raw, dict):
        return Usage()
    cache_read = raw.get("cacheReadInputTokens") or 0
    cache_write = raw.get("cacheWriteInputTokens") or 0
    usage = Usage(
        (raw.get("inputTokens") or 0) + cache_read + cache_write,
        raw.get("outputTokens") or 0,
        cache_read,
    )
    return with_total(usage, raw.get("totalTokens"))


def finish_of(raw: str | None) -> FinishReason:
    return _FINISH.get(raw or "", "stop")


def _arguments(value: Any) -> str:
    return json.dumps(value if value is not None else {}, ensure_ascii=False)


def parse_response(
    data: Any, op: str, where: str, model: str, response_id: str | None, provider: str
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
    thoughts: list[ContentPart] = []
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in message.get("content") or ():
        if not isinstance(block, dict):
            continue
        if isinstance(text := block.get("text"), str):
            texts.append(text)
        elif isinstance(use := block.get("toolUse"), dict):
            calls.append(
                ToolCall(
                    str(use.get("toolUseId") or ""),
                    use.get("name") or "",
                    _arguments(use.get("input")),
                )
            )
        elif isinstance(thought := block.get("reasoningContent"), dict):
            thoughts.append(_reasoning_part(thought, provider))
    if text := "".join(texts):
        thoughts.append(TextPart(text))
    raw_finish = data.get("stopReason")
    return ChatResponse(
        Message.assistant(thoughts, tool_calls=calls),
        usage_of(data.get("usage")),
        finish_of(raw_finish),
        model,
        response_id,
        raw_finish,
    )


def _reasoning_part(block: dict[str, Any], provider: str) -> ReasoningPart:
    """Our part for a ``reasoningContent`` block (``reasoningText`` or ``redactedContent``)."""
    redacted = block.get("redactedContent")
    if isinstance(redacted, bytes | str):
        return ReasoningPart(redacted=_b64(redacted), provider=provider)
    signed = block.get("reasoningText") or {}
    return ReasoningPart(
        signed.get("text") or "", signature=signed.get("signature") or None, provider=provider
    )


def _unb64(text: str, op: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            f"redacted reasoning in the history is not base64 ({exc}); keep it as Bedrock "
            "gave it, or drop that reasoning part",
        ) from exc


def _b64(data: bytes | str) -> str:
    """Bytes as base64 text (botocore gives blobs as bytes; a raw dict may hold base64)."""
    return data if isinstance(data, str) else base64.b64encode(data).decode("ascii")


async def stream_events(
    stream: AsyncIterable[Any],
    op: str,
    where: str,
    model: str,
    response_id: str | None,
    provider: str,
) -> AsyncGenerator[StreamEvent, None]:
    """Our events from botocore's decoded ``converse_stream`` events. The one
    :class:`FinishEvent` comes last, after the ``metadata`` event's usage. A reasoning block's
    ``signature`` delta ends its part; ``redactedContent`` is a part of its own."""
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
            elif (thought := delta.get("reasoningContent")) is not None:
                if text := thought.get("text"):
                    yield ReasoningDelta(text, provider=provider)
                if signature := thought.get("signature"):
                    yield ReasoningDelta("", signature, provider=provider)
                if (redacted := thought.get("redactedContent")) is not None:
                    yield ReasoningDelta("", redacted=_b64(redacted), provider=provider)
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
