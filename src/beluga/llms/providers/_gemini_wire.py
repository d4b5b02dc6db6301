"""Gemini ``generateContent`` requests: our messages, tools and settings to the SDK's request
(plain dicts, which ``google-genai`` validates and serialises). Answers are read back to our
types by ``_gemini_reply``.

Kept apart from the connection (``gemini.py``) like the OpenAI adapter. Mapping choices:

- System messages, wherever they stand, become ``system_instruction`` (one part each): Gemini has
  no system role inside ``contents``.
- Consecutive tool results are merged into one ``user`` turn of ``functionResponse`` parts, as
  Gemini answers parallel calls. A tool result is sent as ``{"output": text}`` (or
  ``{"error": text}`` when ``is_error``), the keys the API documents; its ``name`` comes from the
  message or else from the call it answers in the history.
- A message without content is sent as one empty text part (the API rejects empty ``parts``).

Thoughts and thought signatures. Thought parts (``thought: true``) become
:class:`ReasoningPart` s; a ``thoughtSignature`` on a function call becomes
:attr:`ToolCall.signature`, one on any other part a reasoning part's ``signature`` (base64 text),
merged into the thought before it when there is one. Everything lives in the messages, so a
history stored and reloaded anywhere (another process, another user's server) goes back
whole: Gemini 3 rejects a history whose function calls lack the signatures it gave them (400
"missing thought_signature"). Sending back this provider's reasoning parts: their text as
thought parts, their signature on the part that follows them (a text, media or call part without
its own signature, else an empty text part), which is where Gemini put it. Other providers'
reasoning is left out. A turn's first call that comes without a signature (another provider's
call, or a history kept without them) gets the documented placeholder
``skip_thought_signature_validator``, for models that validate signatures (every model but the
1.x and 2.x ones, which ignore them, so that their own unsigned calls go back unchanged).
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.providers._wire import sampling, tool_choice
from beluga.schema import (
    ContentPart,
    Message,
    ProviderPart,
    ReasoningPart,
    TextPart,
    ToolDefinition,
)

if TYPE_CHECKING:
    from beluga.llms.base import ModelSettings

__all__ = ["SKIP_SIGNATURE", "build_config", "build_contents", "validates_signatures"]

SKIP_SIGNATURE = b"skip_thought_signature_validator"
# Models that ignore thought signatures (1.x, 2.x): no placeholder is needed for them.
_SAMPLING = {
    "temperature": "temperature",
    "top_p": "top_p",
    "max_tokens": "max_output_tokens",
    "stop": "stop_sequences",
    "seed": "seed",
}
_MODES = {
    "auto": lambda: {"mode": "AUTO"},
    "none": lambda: {"mode": "NONE"},
    "required": lambda: {"mode": "ANY"},
}
_NOT_SENT = (ReasoningPart, ProviderPart)  # in a user turn: nothing Gemini takes there
_UNSIGNED_MODELS = re.compile(r"^(?:models/)?gemini-[12]\.")


# --------------------------------------------------------------------------- signatures


def _signature_bytes(text: str, op: str) -> bytes:
    """A held signature back to bytes; either base64 alphabet, padded or not."""
    text = text.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error as exc:
        raise BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            f"a thought signature in the history is not base64 ({exc}); keep signatures as "
            "Gemini gave them, or drop the reasoning part or the call's signature",
        ) from exc


def validates_signatures(model: str) -> bool:
    """Whether ``model`` rejects function calls without thought signatures (Gemini 3 on)."""
    return _UNSIGNED_MODELS.match(model) is None


# --------------------------------------------------------------------------- request


def build_contents(
    messages: Sequence[Message], op: str, provider: str, *, placeholder: bool = True
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """``system_instruction`` and ``contents`` for ``messages``; ``provider`` names the
    reasoning to send back, ``placeholder`` whether an unsigned first call gets
    :data:`SKIP_SIGNATURE` (see :func:`validates_signatures`)."""
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
            names.update((c.id, c.name) for c in msg.tool_calls)
            parts = _model_parts(msg, op, provider, placeholder)
            contents.append({"role": "model", "parts": parts or [{"text": ""}]})
        else:
            parts = [_part(p, op) for p in msg.content if type(p) not in _NOT_SENT]
            contents.append({"role": "user", "parts": parts or [{"text": ""}]})
    return ({"parts": system} if system else None), contents


def _model_parts(msg: Message, op: str, provider: str, placeholder: bool) -> list[dict[str, Any]]:
    """The parts of a model turn: thoughts, text and media in order, then the calls; each
    reasoning signature goes on the part after its reasoning (see the module docstring)."""
    parts: list[dict[str, Any]] = []
    pending: bytes | None = None  # a signature waiting for the next part
    for item in msg.content:
        if type(item) is ProviderPart:
            continue  # a block of another vendor's own; Gemini has none to send back
        if type(item) is ReasoningPart:
            if item.provider != provider:
                continue  # another vendor's reasoning means nothing to Gemini
            if item.text:
                parts.append(_signed({"text": item.text, "thought": True}, pending))
                pending = None
            if item.signature:
                if pending is not None:  # two signatures in a row: each keeps its own part
                    parts.append({"text": "", "thought_signature": pending})
                pending = _signature_bytes(item.signature, op)
            continue
        parts.append(_signed(_part(item, op), pending))
        pending = None
    for i, call in enumerate(msg.tool_calls):
        signature = _signature_bytes(call.signature, op) if call.signature else None
        if pending is not None:
            if signature is None:
                signature, pending = pending, None
            else:
                parts.append({"text": "", "thought_signature": pending})
                pending = None
        if signature is None and i == 0 and placeholder:
            signature = SKIP_SIGNATURE  # Google's documented stand-in for a missing signature
        part: dict[str, Any] = {
            "function_call": {"id": call.id, "name": call.name, "args": call.args()}
        }
        parts.append(_signed(part, signature))
    if pending is not None:
        parts.append({"text": "", "thought_signature": pending})
    return parts


def _signed(part: dict[str, Any], signature: bytes | None) -> dict[str, Any]:
    if signature is not None:
        part["thought_signature"] = signature
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
    assert not isinstance(part, ReasoningPart | ProviderPart)  # callers handle these
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
    config.update(sampling(settings, _SAMPLING))
    if settings.output is not None:
        config["response_mime_type"] = "application/json"
        config["response_json_schema"] = settings.output.schema
    return config


def _tool_choice(choice: str, tools: Sequence[ToolDefinition], op: str) -> Any:
    return tool_choice(
        choice, tools, op, _MODES, lambda name: {"mode": "ANY", "allowed_function_names": [name]}
    )
