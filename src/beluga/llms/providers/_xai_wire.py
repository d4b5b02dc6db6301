"""xAI's gRPC chat API (``xai_api.Chat``): our messages, tools and settings to a
``GetCompletionsRequest``, and its answers (whole or streamed) back to our types.

Every protobuf class comes from the official ``xai-sdk`` (``xai_sdk.proto``); nothing here encodes
protobuf by hand. The SDK ships no type information, so its messages are ``Any`` here.

Mapping notes, checked against the recordings:

- An assistant turn is sent as the SDK sends a replayed response: exactly one text part (empty when
  the turn only called tools) and its calls as client-side tool calls with status ``COMPLETED``.
- Reasoning: a message's ``reasoning_content`` and ``encrypted_content`` (returned when
  ``use_encrypted_content`` is set, e.g. through ``extra``) come back as one
  :class:`ReasoningPart` (text and ``redacted``), and this provider's parts go back in the same two
  fields of the assistant turn, as the SDK replays a response; other providers' are left out.
- Tool schemas and structured-output schemas travel as JSON text (``json.dumps`` of the dict).
  ``OutputSchema.name`` and ``strict`` have no field in xAI's ``ResponseFormat`` and are dropped.
- A tool result's ``is_error`` has no field in xAI's API: the result's text tells the model.
- ``settings.extra`` is merged last into the request with ``json_format.ParseDict``, in the proto's
  JSON form, e.g. ``{"reasoning_effort": "EFFORT_LOW", "use_encrypted_content": True}``; it can
  override anything set here.
- Usage: xAI counts reasoning apart from completion tokens (``total_tokens = prompt_tokens +
  completion_tokens + reasoning_tokens`` in every recording), while our :class:`Usage` counts
  reasoning inside the output. So ``output_tokens = completion_tokens + reasoning_tokens``,
  ``input_tokens = prompt_tokens`` (text and image tokens) and ``cached_tokens =
  cached_prompt_text_tokens`` (part of the prompt). Streams repeat a running total in every chunk;
  the last one counts.
- Finish reasons: ``REASON_STOP`` -> stop, ``REASON_MAX_LEN`` -> length, ``REASON_TOOL_CALLS`` ->
  tool_calls; ``REASON_MAX_CONTEXT`` and ``REASON_TIME_LIMIT`` cut the answer short, so they are
  ``length`` too; any other value is ``stop``. The raw name is always kept.
- Server-side tools (web search, code execution, MCP, ...) run inside xAI: their calls and outputs
  (``ROLE_TOOL`` outputs, non client-side call types) are not returned as our tool calls.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.ids import new_id
from beluga.core.registry import require
from beluga.llms.providers._wire import SAMPLING_FIELDS, sampling, tool_choice, with_total
from beluga.schema import (
    ChatResponse,
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
    from beluga.schema import ContentPart

__all__ = ["Protos", "build_request", "load_protos", "parse_response", "stream_events"]

_FINISH: dict[str, FinishReason] = {
    "REASON_STOP": "stop",
    "REASON_MAX_LEN": "length",
    "REASON_TOOL_CALLS": "tool_calls",
    "REASON_MAX_CONTEXT": "length",
    "REASON_TIME_LIMIT": "length",
}
_SAMPLING = {name: name for name in SAMPLING_FIELDS}  # the proto's fields bear our names
_MODES = {"auto": "TOOL_MODE_AUTO", "none": "TOOL_MODE_NONE", "required": "TOOL_MODE_REQUIRED"}
_NOT_SENT = (ReasoningPart, ProviderPart)  # outside an assistant turn: nothing xAI takes
_DETAIL = {"auto": "DETAIL_AUTO", "low": "DETAIL_LOW", "high": "DETAIL_HIGH"}


@dataclass(frozen=True, slots=True)
class Protos:
    """The SDK's generated modules this adapter needs, imported once per model."""

    chat: Any  # xai_sdk.proto chat_pb2
    image: Any  # image_pb2
    sample: Any  # sample_pb2 (FinishReason)
    stub: Any  # chat_pb2_grpc.ChatStub
    json_format: Any  # google.protobuf.json_format
    version: str  # xai-sdk version, sent as the SDK does


def load_protos() -> Protos:
    """Import the SDK's protobuf modules, or fail naming the ``xai`` extra."""
    sdk: Any = require("xai_sdk", extra="xai")
    proto: Any = require("xai_sdk.proto", extra="xai")
    json_format: Any = require("google.protobuf.json_format", extra="xai")
    return Protos(
        proto.chat_pb2,
        proto.image_pb2,
        proto.sample_pb2,
        proto.chat_pb2_grpc.ChatStub,
        json_format,
        str(getattr(sdk, "__version__", "unknown")),
    )


# --------------------------------------------------------------------------- request


def build_request(
    pb: Protos,
    model: str,
    messages: Sequence[Message],
    tools: Sequence[ToolDefinition],
    settings: ModelSettings,
    op: str,
    provider: str,
) -> Any:
    """The ``GetCompletionsRequest`` for one call; ``provider`` names the reasoning to send
    back."""
    chat = pb.chat
    request = chat.GetCompletionsRequest(
        model=model, messages=[_message(pb, m, op, provider) for m in messages]
    )
    if tools:
        request.tools.extend(_tool(chat, t) for t in tools)
        if settings.tool_choice is not None:
            request.tool_choice.CopyFrom(_tool_choice(chat, settings.tool_choice, tools, op))
        if settings.parallel_tool_calls is not None:
            request.parallel_tool_calls = settings.parallel_tool_calls
    for key, value in sampling(settings, _SAMPLING).items():
        if key == "stop":
            request.stop.extend(value)  # a repeated field takes no assignment
        else:
            setattr(request, key, value)
    if settings.output is not None:
        request.response_format.CopyFrom(
            chat.ResponseFormat(
                format_type=chat.FORMAT_TYPE_JSON_SCHEMA, schema=json.dumps(settings.output.schema)
            )
        )
    if settings.extra:
        try:
            pb.json_format.ParseDict(settings.extra, request)
        except (pb.json_format.ParseError, TypeError, ValueError) as exc:
            raise BelugaError(
                op,
                ErrorCode.INVALID_REQUEST,
                f"settings.extra does not fit xAI's GetCompletionsRequest ({exc}); use its "
                "fields in proto JSON form, e.g. {'reasoning_effort': 'EFFORT_LOW', "
                "'use_encrypted_content': True}",
                cause=exc,
            ) from exc
    return request


def _tool(chat: Any, tool: ToolDefinition) -> Any:
    function = chat.Function(
        name=tool.name, description=tool.description, parameters=json.dumps(tool.parameters)
    )
    if tool.strict is not None:
        function.strict = tool.strict
    return chat.Tool(function=function)


def _tool_choice(chat: Any, choice: str, tools: Sequence[ToolDefinition], op: str) -> Any:
    modes = {ours: (lambda mode=mode: chat.ToolChoice(mode=mode)) for ours, mode in _MODES.items()}
    return tool_choice(choice, tools, op, modes, lambda name: chat.ToolChoice(function_name=name))


def _message(pb: Protos, msg: Message, op: str, provider: str) -> Any:
    chat = pb.chat
    if msg.role == "assistant":
        texts: list[str] = []
        encrypted = ""
        for part in msg.content:
            if type(part) is ReasoningPart and part.provider == provider:
                texts.append(part.text)
                encrypted = part.redacted or encrypted
        calls = [
            chat.ToolCall(
                id=c.id,
                type=chat.TOOL_CALL_TYPE_CLIENT_SIDE_TOOL,
                status=chat.TOOL_CALL_STATUS_COMPLETED,
                function=chat.FunctionCall(name=c.name, arguments=c.arguments),
            )
            for c in msg.tool_calls
        ]
        message = chat.Message(
            role=chat.ROLE_ASSISTANT, content=[chat.Content(text=msg.text)], tool_calls=calls
        )
        if texts and (thought := "".join(texts)):  # an optional field: set only when given
            message.reasoning_content = thought
        if encrypted:
            message.encrypted_content = encrypted
        return message
    content = [_part(pb, p, op) for p in msg.content if type(p) not in _NOT_SENT]
    if msg.role == "tool":
        return chat.Message(role=chat.ROLE_TOOL, content=content, tool_call_id=msg.tool_call_id)
    role = chat.ROLE_USER if msg.role == "user" else chat.ROLE_SYSTEM
    return chat.Message(role=role, content=content, name=msg.name or "")


def _part(pb: Protos, part: ContentPart, op: str) -> Any:
    chat = pb.chat
    if isinstance(part, TextPart):
        return chat.Content(text=part.text)
    if isinstance(part, ImagePart):
        detail = _DETAIL[part.detail or "auto"]
        return chat.Content(
            image_url=pb.image.ImageUrlContent(image_url=part.as_data_url(), detail=detail)
        )
    if isinstance(part, FilePart):
        file = chat.FileContent(filename=part.name or "", mime_type=part.media_type or "")
        if part.url is not None:
            file.url = part.url
        else:
            file.data = part.as_bytes()
        return chat.Content(file=file)
    raise BelugaError(
        op,
        ErrorCode.INVALID_REQUEST,
        f"xAI's chat API does not accept {type(part).__name__} input; send text, images "
        "(URL or data) or files",
    )


# --------------------------------------------------------------------------- response


def _usage(raw: Any) -> Usage:
    reasoning: int = raw.reasoning_tokens
    usage = Usage(
        raw.prompt_tokens,
        raw.completion_tokens + reasoning,
        raw.cached_prompt_text_tokens,
        reasoning,
    )
    return with_total(usage, raw.total_tokens)


def _finish(pb: Protos, value: int) -> tuple[FinishReason, str | None]:
    if not value:
        return "stop", None
    try:
        name: str = pb.sample.FinishReason.Name(value)
    except ValueError:  # a reason newer than the SDK's protos
        name = str(value)
    return _FINISH.get(name, "stop"), name


def _client_calls(chat: Any, calls: Any) -> list[Any]:
    """The calls the caller must run: client-side ones (or untyped, from older servers)."""
    client = (chat.TOOL_CALL_TYPE_CLIENT_SIDE_TOOL, chat.TOOL_CALL_TYPE_INVALID)
    return [c for c in calls if c.type in client]


def parse_response(pb: Protos, response: Any, op: str, where: str, provider: str) -> ChatResponse:
    """Our :class:`ChatResponse` from a ``GetChatCompletionResponse``: the last assistant output
    (server-side tools add outputs of their own before it)."""
    chat = pb.chat
    answers = [
        o for o in response.outputs if o.message.role in (chat.ROLE_ASSISTANT, chat.INVALID_ROLE)
    ]
    if not answers:
        raise BelugaError(
            op,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"{where} answered without an assistant output; retrying may help",
            retryable=True,
        )
    output = answers[-1]
    message = output.message
    calls = [
        ToolCall(c.id or new_id("call"), c.function.name, c.function.arguments or "{}")
        for c in _client_calls(chat, message.tool_calls)
    ]
    reason, raw = _finish(pb, output.finish_reason)
    parts: list[ContentPart] = []
    thought, encrypted = message.reasoning_content, message.encrypted_content or None
    if thought or encrypted:
        parts.append(ReasoningPart(thought, redacted=encrypted, provider=provider))
    if message.content:
        parts.append(TextPart(message.content))
    return ChatResponse(
        Message.assistant(parts, tool_calls=calls),
        _usage(response.usage),
        reason,
        response.model or None,
        response.id or None,
        raw,
    )


async def stream_events(
    pb: Protos, chunks: AsyncIterable[Any], op: str, where: str, provider: str
) -> AsyncGenerator[StreamEvent, None]:
    """Our events from a stream of ``GetChatCompletionChunk``: deltas as they come, then one
    :class:`UsageEvent` (the last running total) and one :class:`FinishEvent`.

    xAI sends each tool call whole, in one delta; its index is the call's ordinal in the answer.
    """
    chat = pb.chat
    tool_role = chat.ROLE_TOOL
    model: str | None = None
    response_id: str | None = None
    usage: Any = None
    raw_finish = 0
    seen: dict[str, int] = {}
    async for chunk in chunks:
        if response_id is None and chunk.id:
            response_id = chunk.id
        if model is None and chunk.model:
            model = chunk.model
        if chunk.HasField("usage"):
            u = chunk.usage
            if u.prompt_tokens or u.completion_tokens or u.reasoning_tokens:
                usage = u
        for output in chunk.outputs:
            delta = output.delta
            if output.finish_reason:
                raw_finish = output.finish_reason
            if delta.role == tool_role:  # a server-side tool's output
                continue
            if delta.reasoning_content:
                yield ReasoningDelta(delta.reasoning_content, provider=provider)
            if delta.encrypted_content:  # ends the reasoning part
                yield ReasoningDelta("", redacted=delta.encrypted_content, provider=provider)
            if delta.content:
                yield TextDelta(delta.content)
            if delta.tool_calls:
                for call in _client_calls(chat, delta.tool_calls):
                    key = call.id or f"#{len(seen)}"
                    if key in seen:  # the same call again (a status update): sent already
                        continue
                    seen[key] = index = len(seen)
                    yield ToolCallDelta(
                        index,
                        call.id or new_id("call"),
                        call.function.name,
                        call.function.arguments or "{}",
                    )
    if not raw_finish:
        raise BelugaError(
            op,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"the stream from {where} ended before the model finished (no finish reason); "
            "retrying may help",
            retryable=True,
        )
    if usage is not None:
        yield UsageEvent(_usage(usage))
    reason, raw = _finish(pb, raw_finish)
    yield FinishEvent(reason, raw, model, response_id)
