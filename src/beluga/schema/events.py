"""Typed stream events and the response they add up to.

Events are slotted dataclasses: a stream may carry thousands of them per call, so they cost no
validation. :class:`ResponseBuilder` folds a stream back into the :class:`ChatResponse` that
``generate`` would have returned, which is how stream and generate are kept equivalent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from beluga.schema.messages import Message, ToolCall
from beluga.schema.usage import Usage

__all__ = [
    "ChatResponse",
    "FinishEvent",
    "FinishReason",
    "ReasoningDelta",
    "ResponseBuilder",
    "StreamEvent",
    "TextDelta",
    "ToolCallDelta",
    "UsageEvent",
]

FinishReason: TypeAlias = Literal["stop", "length", "tool_calls", "content_filter", "error"]


@dataclass(slots=True, frozen=True)
class TextDelta:
    text: str


@dataclass(slots=True, frozen=True)
class ReasoningDelta:
    """Visible reasoning ("thinking") text, where a provider exposes it."""

    text: str


@dataclass(slots=True, frozen=True)
class ToolCallDelta:
    """A piece of tool call number ``index``; ``id`` and ``name`` come with its first piece."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(slots=True, frozen=True)
class UsageEvent:
    usage: Usage


@dataclass(slots=True, frozen=True)
class FinishEvent:
    """The last event: why the model stopped, and the provider's own word for it."""

    reason: FinishReason
    raw_reason: str | None = None
    model: str | None = None
    response_id: str | None = None


StreamEvent: TypeAlias = TextDelta | ReasoningDelta | ToolCallDelta | UsageEvent | FinishEvent


@dataclass(slots=True)
class ChatResponse:
    """A model's complete answer to one call."""

    message: Message
    usage: Usage = field(default_factory=Usage)
    finish_reason: FinishReason = "stop"
    model: str | None = None
    response_id: str | None = None
    raw_finish_reason: str | None = None
    reasoning: str = ""

    @property
    def text(self) -> str:
        return self.message.text

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return self.message.tool_calls


class ResponseBuilder:
    """Accumulates stream events into a :class:`ChatResponse`."""

    __slots__ = ("_calls", "_finish", "_reasoning", "_text", "usage")

    def __init__(self) -> None:
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, list[str]] = {}
        self._finish: FinishEvent | None = None
        self.usage = Usage()

    def add(self, event: StreamEvent) -> None:
        if type(event) is TextDelta:
            self._text.append(event.text)
        elif type(event) is ToolCallDelta:
            call = self._calls.setdefault(event.index, ["", "", ""])
            if event.id:
                call[0] = event.id
            if event.name:
                call[1] += event.name
            call[2] += event.arguments
        elif type(event) is UsageEvent:
            self.usage = self.usage + event.usage
        elif type(event) is FinishEvent:
            self._finish = event
        elif type(event) is ReasoningDelta:
            self._reasoning.append(event.text)

    @property
    def text(self) -> str:
        return "".join(self._text)

    def build(self) -> ChatResponse:
        calls = tuple(
            ToolCall(cid, name, args or "{}")
            for cid, name, args in (self._calls[i] for i in sorted(self._calls))
        )
        finish = self._finish or FinishEvent("stop")
        return ChatResponse(
            Message.assistant(self.text, tool_calls=calls),
            self.usage,
            finish.reason,
            finish.model,
            finish.response_id,
            finish.raw_reason,
            "".join(self._reasoning),
        )
