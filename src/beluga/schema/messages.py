"""Chat messages, tool calls and tool results.

A message is immutable, so a history shared between turns or sessions cannot be changed behind
anyone's back. Text-only stays as simple as a string: ``Message.user("hi")`` or
``Message("user", "hi")``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Literal, TypeAlias, cast

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema.content import (
    AudioPart,
    ContentPart,
    ImagePart,
    MediaPart,
    ProviderPart,
    ReasoningPart,
    TextPart,
)

__all__ = ["Message", "Prompt", "Role", "ToolCall", "as_messages"]

Role: TypeAlias = Literal["system", "user", "assistant", "tool"]
_COMMENTARY = "commentary"
_ROLES = frozenset({"system", "user", "assistant", "tool"})


@dataclass(slots=True, frozen=True)
class ToolCall:
    """A model's request to run a tool. ``arguments`` is the JSON text exactly as produced;
    ``signature`` is an opaque token the provider attached to the call and wants back with it
    (Gemini's thought signature, as base64 text)."""

    id: str
    name: str
    arguments: str = "{}"
    _: KW_ONLY
    signature: str | None = None

    def args(self) -> dict[str, Any]:
        """The arguments as a dict; malformed JSON is an INVALID_REQUEST error naming the tool."""
        try:
            value = json.loads(self.arguments or "{}")
        except json.JSONDecodeError as exc:
            raise BelugaError(
                "schema.tool_call",
                ErrorCode.INVALID_REQUEST,
                f"tool call {self.name!r} has arguments that are not valid JSON ({exc.msg} at "
                f"char {exc.pos}); feed the error back to the model so it can try again",
                cause=exc,
            ) from exc
        if not isinstance(value, dict):
            raise BelugaError(
                "schema.tool_call",
                ErrorCode.INVALID_REQUEST,
                f"tool call {self.name!r} arguments must be a JSON object, got "
                f"{type(value).__name__}",
            )
        return value


def _normalize(content: str | Iterable[ContentPart] | None) -> tuple[ContentPart, ...]:
    if content is None:
        return ()
    if isinstance(content, str):
        return (TextPart(content),) if content else ()
    return tuple(content)


@dataclass(slots=True, frozen=True, init=False)
class Message:
    """One turn of a conversation.

    ``content`` holds text and media parts; an assistant message's starts with the model's
    reasoning (:class:`ReasoningPart`) when it gave any. An assistant message may carry
    ``tool_calls``; a ``tool`` message answers one call, named by ``tool_call_id``, and sets
    ``is_error`` when the tool failed so that the model can recover.
    """

    role: Role
    content: tuple[ContentPart, ...]
    tool_calls: tuple[ToolCall, ...] = field(default=())
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False

    def __init__(
        self,
        role: Role,
        content: str | Iterable[ContentPart] | None = None,
        *,
        tool_calls: Sequence[ToolCall] = (),
        tool_call_id: str | None = None,
        name: str | None = None,
        is_error: bool = False,
    ) -> None:
        if role not in _ROLES:
            raise BelugaError(
                "schema.message",
                ErrorCode.INVALID_REQUEST,
                f"unknown role {role!r}; use one of system, user, assistant, tool",
            )
        if role == "tool" and not tool_call_id:
            raise BelugaError(
                "schema.message",
                ErrorCode.INVALID_REQUEST,
                "a tool message needs tool_call_id= (the id of the call it answers); "
                "use Message.tool(call_id, content)",
            )
        setter = object.__setattr__
        setter(self, "role", role)
        setter(self, "content", _normalize(content))
        setter(self, "tool_calls", tuple(tool_calls))
        setter(self, "tool_call_id", tool_call_id)
        setter(self, "name", name)
        setter(self, "is_error", is_error)

    @classmethod
    def system(cls, content: str | Iterable[ContentPart]) -> Message:
        return cls("system", content)

    @classmethod
    def user(cls, content: str | Iterable[ContentPart], *, name: str | None = None) -> Message:
        return cls("user", content, name=name)

    @classmethod
    def assistant(
        cls,
        content: str | Iterable[ContentPart] | None = None,
        *,
        tool_calls: Sequence[ToolCall] = (),
    ) -> Message:
        return cls("assistant", content, tool_calls=tool_calls)

    @classmethod
    def tool(
        cls,
        call_id: str,
        content: str | Iterable[ContentPart],
        *,
        name: str | None = None,
        is_error: bool = False,
    ) -> Message:
        """The result of running the tool call ``call_id``."""
        return cls("tool", content, tool_call_id=call_id, name=name, is_error=is_error)

    @property
    def text(self) -> str:
        """All text parts joined; reasoning, provider, media parts and commentary (a text part
        of phase ``"commentary"``) are skipped: this is the answer."""
        parts = self.content
        if len(parts) == 1 and isinstance(parts[0], TextPart) and parts[0].phase is None:
            return parts[0].text
        return "".join(p.text for p in parts if isinstance(p, TextPart) and p.phase != _COMMENTARY)

    @property
    def is_text_only(self) -> bool:
        """Whether the message has no media part (reasoning and provider parts count as
        text)."""
        return all(isinstance(p, TextPart | ReasoningPart | ProviderPart) for p in self.content)


Prompt: TypeAlias = str | Message | Mapping[str, Any] | Sequence[Message | Mapping[str, Any]]
"""What a chat model accepts: a string (one user message), a :class:`Message`, an OpenAI-style
message dict (``{"role": "user", "content": "hi"}``), or a history of messages and such dicts."""

_ACCEPTED = (
    "pass a string, a Message, an OpenAI-style message dict such as "
    "{'role': 'user', 'content': 'hi'}, or a list of Messages and such dicts"
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def as_messages(prompt: Prompt) -> Sequence[Message]:
    """Normalize a :data:`Prompt` to a sequence of messages.

    Anything else, and text no provider can encode (a lone surrogate, as left by decoding bytes
    with ``errors="surrogateescape"``), is one ``INVALID_REQUEST`` saying what to pass instead.
    """
    if isinstance(prompt, str):
        if not prompt.isascii():
            _check_text(prompt, None)
        return (Message("user", prompt),)
    kind = type(prompt)
    if kind is Message:
        messages: Sequence[Message] = (prompt,)  # type: ignore[assignment]
    elif kind is list or kind is tuple or _is_history(prompt):
        if not prompt:
            raise _invalid(f"the prompt is empty; {_ACCEPTED}")
        messages = cast("Sequence[Message]", prompt)
    elif isinstance(prompt, Message):
        messages = (prompt,)
    elif isinstance(prompt, Mapping):
        messages = (_from_dict(prompt, "the prompt"),)
    else:
        raise _invalid(f"a prompt cannot be {_kind(prompt)}; {_ACCEPTED}")
    for index, message in enumerate(messages):
        if type(message) is not Message:  # a dict or something else: convert them all
            messages = _from_items(messages)
            message = messages[index]
        for part in message.content:
            part_kind = type(part)
            if (part_kind is TextPart or part_kind is ReasoningPart) and not part.text.isascii():  # type: ignore[union-attr]
                _check_text(part.text, index)  # type: ignore[union-attr]
        for call in message.tool_calls:
            if not call.arguments.isascii():
                _check_text(call.arguments, index, call.name)
    return messages


def _is_history(prompt: object) -> bool:
    """A sequence of messages (a Message subclass counts as one message, bytes as none)."""
    if isinstance(prompt, Message | Mapping | bytes | bytearray | memoryview):
        return False
    return isinstance(prompt, Sequence)


def _from_items(items: Sequence[object]) -> tuple[Message, ...]:
    out: list[Message] = []
    for index, item in enumerate(items):
        if isinstance(item, Message):
            out.append(item)
        elif isinstance(item, Mapping):
            out.append(_from_dict(item, f"prompt message {index}"))
        else:
            raise _invalid(f"prompt message {index} is {_kind(item)}; {_ACCEPTED}")
    return tuple(out)


def _kind(value: object) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return "bytes (decode them to a str first)"
    if isinstance(value, str):
        return "a bare str (say whose it is: Message.user('...') or {'role': 'user', ...})"
    if value is None:
        return "None"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiouAEIOU' else 'a'} {name} ({value!r:.40})"


def _invalid(message: str) -> BelugaError:
    return BelugaError("schema.prompt", ErrorCode.INVALID_REQUEST, message)


def _check_text(text: str, index: int | None, tool: str | None = None) -> None:
    """Refuse a lone surrogate (callers skip ASCII text, which is O(1) to tell)."""
    found = _SURROGATE.search(text)
    if found is not None:
        where = "the prompt" if index is None else f"prompt message {index}"
        if tool is not None:
            where += f" (tool call {tool!r})"
        raise _invalid(
            f"{where} holds a lone surrogate ({found.group()!r} at character {found.start()}), "
            "which no provider can encode as UTF-8; fix the text (bytes decoded with "
            "errors='surrogateescape' leave these: decode with errors='replace' instead)"
        )


# -- OpenAI-style message dicts --------------------------------------------------------------------

_DICT_ROLES = {"system": "system", "developer": "system", "user": "user"}
_DICT_ROLES |= {"assistant": "assistant", "tool": "tool"}
_DICT_KEYS = frozenset({"role", "content", "name", "tool_calls", "tool_call_id"})
_UNSET_OK = frozenset({"refusal", "audio", "function_call", "annotations"})  # None/empty in replies


def _from_dict(item: Mapping[str, Any], where: str) -> Message:
    """One OpenAI Chat Completions message dict as a :class:`Message`."""
    role = _DICT_ROLES.get(item.get("role"))  # type: ignore[arg-type]
    if role is None:
        raise _invalid(
            f"{where} has role {item.get('role')!r}; use one of system, developer, user, "
            "assistant or tool"
        )
    unknown = sorted(
        str(k) for k in item if k not in _DICT_KEYS and not (k in _UNSET_OK and not item[k])
    )
    if unknown:
        raise _invalid(
            f"{where} has {unknown[0]!r}, which is not supported in a message dict; use "
            "role, content, name, tool_calls and tool_call_id (or build a Message)"
        )
    content = item.get("content")
    if content is None and isinstance(item.get("refusal"), str):
        content = item["refusal"]
    calls = item.get("tool_calls") or ()
    if not isinstance(calls, list | tuple):
        raise _invalid(f"{where}: tool_calls must be a list of tool-call dicts")
    try:
        return Message(
            role,  # type: ignore[arg-type]
            _content(content, where),
            tool_calls=[_tool_call(c, f"{where}, tool call {i}") for i, c in enumerate(calls)],
            tool_call_id=_optional_str(item.get("tool_call_id"), f"{where}: tool_call_id"),
            name=_optional_str(item.get("name"), f"{where}: name"),
        )
    except BelugaError as exc:
        if exc.op == "schema.prompt":
            raise
        raise _invalid(f"{where}: {exc.message}") from exc


def _content(content: object, where: str) -> str | tuple[ContentPart, ...] | None:
    if content is None or isinstance(content, str):
        return content
    if not isinstance(content, list | tuple):
        raise _invalid(f"{where}: content must be a string or a list of content parts")
    return tuple(_part(p, f"{where}, content part {i}") for i, p in enumerate(content))


def _part(part: object, where: str) -> ContentPart:
    if isinstance(part, TextPart | ReasoningPart | MediaPart):
        return part  # type: ignore[return-value]
    kind = part.get("type") if isinstance(part, Mapping) else None
    if kind == "text" and isinstance(part, Mapping) and isinstance(part.get("text"), str):
        return TextPart(part["text"])
    if kind == "image_url" and isinstance(part, Mapping):
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        detail = image.get("detail") if isinstance(image, Mapping) else None
        if isinstance(url, str) and url and detail in (None, "auto", "low", "high"):
            return _image(url, detail)
    if kind == "input_audio" and isinstance(part, Mapping):
        audio = part.get("input_audio")
        data = audio.get("data") if isinstance(audio, Mapping) else None
        fmt = audio.get("format") if isinstance(audio, Mapping) else None
        if isinstance(data, str) and isinstance(fmt, str) and fmt:
            return AudioPart(base64=data, media_type=f"audio/{fmt}")
    raise _invalid(
        f"{where} is not a content part we read; use {{'type': 'text', 'text': ...}}, "
        "{'type': 'image_url', 'image_url': {'url': ...}}, {'type': 'input_audio', "
        "'input_audio': {'data': ..., 'format': 'wav'}} or a beluga.schema part"
    )


def _image(url: str, detail: Any) -> ImagePart:
    """An image by URL; a ``data:`` URL becomes base64 content, which every provider takes."""
    head, sep, payload = url.partition(",")
    if url.startswith("data:") and sep and head.endswith(";base64"):
        return ImagePart(base64=payload, media_type=head[5:-7] or "image/png", detail=detail)
    return ImagePart(url=url, detail=detail)


def _tool_call(call: object, where: str) -> ToolCall:
    if isinstance(call, ToolCall):
        return call
    function = call.get("function") if isinstance(call, Mapping) else None
    if isinstance(call, Mapping) and isinstance(function, Mapping):
        call_id, name, args = call.get("id"), function.get("name"), function.get("arguments")
        if isinstance(args, Mapping):
            args = json.dumps(args)
        if isinstance(call_id, str) and isinstance(name, str) and isinstance(args, str | None):
            return ToolCall(call_id, name, args or "{}")
    raise _invalid(
        f"{where} must look like {{'id': ..., 'type': 'function', 'function': "
        "{'name': ..., 'arguments': '<json text>'}}"
    )


def _optional_str(value: object, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise _invalid(f"{where} must be a string, not {type(value).__name__}")
