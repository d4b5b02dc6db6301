"""OpenAI Responses API requests (``POST /responses``): our messages, tools and settings to the
request body.

Kept apart from the connection (``openai_responses.py``) so that Azure and any other server that
speaks the Responses API (OpenRouter, vLLM, Ollama) reuse one mapping.

Request choices, each for a reason:

- The first message, when it is a system message, becomes ``instructions``; any later system
  message stays in place as a ``system`` input item. Both reach the model the same way.
- ``store`` is ``false``: every call sends the whole history, so nothing needs to live on
  OpenAI's side (``extra={"store": True}`` turns it back on).
- A tool's ``strict`` is sent as ``false`` when :class:`ToolDefinition` leaves it ``None``:
  Responses would otherwise default to strict schemas and reject ordinary ones (optional
  properties), unlike Chat Completions; a tool behaves the same in both adapters. A strict tool
  goes in the strict form of its schema, or not strict when it has none
  (:meth:`ToolDefinition.request_parameters`).
- ``seed`` and ``stop`` do not exist in the Responses API; asking for them is an error rather than
  a silent no-op.
- A user message's ``name`` is not sent (Responses has no field for it). Audio and video input
  are rejected: Responses takes text, images and files.

Answers are read back to our types by ``_responses_reply``.

Reasoning. Each ``reasoning`` item becomes :class:`ReasoningPart` s carrying its ``id``: one per
summary part (``reasoning.summary`` must be asked for, e.g. through ``extra``) or raw reasoning
content part (gpt-oss on OpenRouter or vLLM), or one empty part when it shows none; the last
holds its ``encrypted_content`` as ``redacted``. Since ``store`` is false, reasoning can only go
back encrypted, so ``include: ["reasoning.encrypted_content"]`` is asked for whenever the model
reasons (o-series, gpt-5 and codex models but ``-chat`` ones, or ``reasoning`` given in
``extra``; other models reject the option). This provider's parts go back as reasoning input
items, one per id, before the turn's text and calls: with their encrypted content, or by id alone
when ``extra`` turns ``store`` on. (An id-less item, from a compatible server, stays one part,
summaries joined by a blank line, and is not sent back.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.providers._wire import sampling, tool_choice
from beluga.schema import (
    ContentPart,
    FilePart,
    ImagePart,
    Message,
    ProviderPart,
    ReasoningPart,
    TextPart,
    ToolDefinition,
)

if TYPE_CHECKING:
    from beluga.llms.base import ModelSettings

__all__ = ["build_request"]

_ENCRYPTED = "reasoning.encrypted_content"
_SAMPLING = {"temperature": "temperature", "top_p": "top_p", "max_tokens": "max_output_tokens"}
_MODES = {"auto": lambda: "auto", "none": lambda: "none", "required": lambda: "required"}
_REASONING_MODEL = re.compile(r"^(?:o\d|gpt-5|codex)")  # OpenAI's reasoning models


# --------------------------------------------------------------------------- request


def build_request(
    model: str,
    messages: Sequence[Message],
    tools: Sequence[ToolDefinition],
    settings: ModelSettings,
    op: str,
    *,
    stream: bool,
    provider: str,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The JSON body for ``POST /responses``, and ``settings.extra`` to merge over it (last, so
    that it can add any Responses option -- ``reasoning``, ``include``, ``text.verbosity`` --
    or override one set here). ``provider`` names the reasoning parts to send back."""
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
    stored = settings.extra.get("store") is True
    body["input"] = _input(messages, start, op, provider, stored)
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
        body["text"] = {
            "format": {"type": "json_schema", "name": out.name, "schema": schema, "strict": strict}
        }
    body["store"] = False
    if not stored and _reasons(model, settings):
        body["include"] = [_ENCRYPTED]  # encrypted reasoning: the only way to send it back
    body["stream"] = stream
    return body, (dict(settings.extra) if settings.extra else None)


def _reasons(model: str, settings: ModelSettings) -> bool:
    if "reasoning" in settings.extra:
        return True
    return _REASONING_MODEL.match(model) is not None and "-chat" not in model


def _tool(tool: ToolDefinition) -> dict[str, Any]:
    """A tool as Responses takes it: a strict one in the strict form, or not strict when its
    schema has no strict form."""
    parameters, strict = tool.request_parameters()
    out: dict[str, Any] = {
        "type": "function",
        "name": tool.name,
        "parameters": parameters,
        "strict": bool(strict),
    }
    if tool.description:
        out["description"] = tool.description
    return out


def _named(name: str) -> dict[str, Any]:
    return {"type": "function", "name": name}


def _input(
    messages: Sequence[Message], start: int, op: str, provider: str, stored: bool
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    append = items.append
    for i in range(start, len(messages)):
        msg = messages[i]
        role = msg.role
        if role == "user":
            append({"role": "user", "content": _content(msg.content, op)})
        elif role == "assistant":
            items.extend(_reasoning_items(msg, provider, stored))
            phased = _phased_items(msg, op)
            if phased:
                items.extend(phased)
            else:
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


def _phased_items(msg: Message, op: str) -> list[dict[str, Any]]:
    """An assistant turn whose text came with phases, as the message items it came as: one per
    run of text, with its ``phase`` (which newer models want back, commentary included). Empty
    when no text part has a phase: the turn is then sent as plain assistant text."""
    if not any(type(p) is TextPart and p.phase is not None for p in msg.content):
        return []
    _plain_text(msg, op)  # refuses media in an assistant turn
    items: list[dict[str, Any]] = []
    for part in msg.content:
        if type(part) is not TextPart or not part.text:
            continue
        item: dict[str, Any] = {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": part.text}],
        }
        if part.phase is not None:
            item["phase"] = part.phase
        items.append(item)
    return items


def _reasoning_items(msg: Message, provider: str, stored: bool) -> Iterator[dict[str, Any]]:
    """Reasoning input items for this provider's parts of ``msg``, one per id, that can go
    back: encrypted, or stored on the server (``stored``)."""
    item: dict[str, Any] | None = None
    for part in msg.content:
        if type(part) is not ReasoningPart or part.provider != provider or part.id is None:
            continue
        if item is None or item["id"] != part.id:
            if item is not None and ("encrypted_content" in item or stored):
                yield item
            item = {"type": "reasoning", "id": part.id, "summary": []}
        if part.text:
            item["summary"].append({"type": "summary_text", "text": part.text})
        if part.redacted is not None:
            item["encrypted_content"] = part.redacted
    if item is not None and ("encrypted_content" in item or stored):
        yield item


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
        elif isinstance(part, ReasoningPart | ProviderPart):
            continue  # reasoning goes back as items of assistant turns only; no vendor blocks
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
