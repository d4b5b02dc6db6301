"""Chat messages, tool calls and tool results.

A message is immutable, so a history shared between turns or sessions cannot be changed behind
anyone's back. Text-only stays as simple as a string: ``Message.user("hi")`` or
``Message("user", "hi")``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Literal, TypeAlias

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema.content import ContentPart, ProviderPart, ReasoningPart, TextPart

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


Prompt: TypeAlias = str | Message | Sequence[Message]
"""What a chat model accepts: a plain string (one user message), a message or a history."""


def as_messages(prompt: Prompt) -> Sequence[Message]:
    """Normalize a :data:`Prompt` to a sequence of messages."""
    if isinstance(prompt, str):
        return (Message("user", prompt),)
    if isinstance(prompt, Message):
        return (prompt,)
    if not prompt:
        raise BelugaError(
            "schema.prompt",
            ErrorCode.INVALID_REQUEST,
            "the prompt is empty; pass a string or at least one Message",
        )
    return prompt
