"""Typed stream events and the response they add up to.

Events are slotted dataclasses: a stream may carry thousands of them per call, so they cost no
validation. :class:`ResponseBuilder` folds a stream back into the :class:`ChatResponse` that
``generate`` would have returned, which is how stream and generate are kept equivalent: reasoning
included, as the :class:`~beluga.schema.ReasoningPart` s (signatures, encrypted payloads) that an
adapter sends back on later turns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema.content import ContentPart, ProviderPart, ReasoningPart, TextPart
from beluga.schema.messages import Message, ToolCall
from beluga.schema.tools import OutputSchema
from beluga.schema.usage import Usage

__all__ = [
    "ChatResponse",
    "FinishEvent",
    "FinishReason",
    "ItemEvent",
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
    """A piece of text; ``phase`` as in :class:`~beluga.schema.TextPart` (a change of phase
    starts a new part)."""

    text: str
    phase: str | None = None


@dataclass(slots=True, frozen=True)
class ItemEvent:
    """A whole block of a provider's own (:class:`~beluga.schema.ProviderPart`), once it is
    complete; it takes its place among the reasoning parts, in order."""

    part: ProviderPart


@dataclass(slots=True, frozen=True)
class ReasoningDelta:
    """A piece of reasoning ("thinking"), where a provider exposes it.

    Reasoning is kept as parts (:class:`~beluga.schema.ReasoningPart`) so that it can be sent
    back: ``text`` adds to the current part; a delta carrying an ``id`` starts a new part (the
    provider's id of it); a delta carrying a ``signature`` or a ``redacted`` payload ends the
    current part with it, so the next delta starts another. Any other event between two
    reasoning deltas ends the part too. ``provider`` is the ``gen_ai.provider.name`` of the
    reasoning; a part takes the one of the delta that starts it (adapters set it on every delta).
    """

    text: str
    signature: str | None = None
    redacted: str | None = None
    id: str | None = None
    provider: str | None = None


@dataclass(slots=True, frozen=True)
class ToolCallDelta:
    """A piece of tool call number ``index``; ``id`` and ``name`` come with its first piece,
    ``signature`` (the provider's token for the call, see :class:`ToolCall`) with any."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""
    signature: str | None = None


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


StreamEvent: TypeAlias = (
    TextDelta | ReasoningDelta | ToolCallDelta | ItemEvent | UsageEvent | FinishEvent
)


@dataclass(slots=True)
class ChatResponse:
    """A model's complete answer to one call.

    ``output_schema`` is the structured output that was asked for (the chat model's base sets
    it); :attr:`output` is the answer parsed into it.
    """

    message: Message
    usage: Usage = field(default_factory=Usage)
    finish_reason: FinishReason = "stop"
    model: str | None = None
    response_id: str | None = None
    raw_finish_reason: str | None = None
    output_schema: OutputSchema | None = None
    _output: tuple[Any] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def output(self) -> Any:
        """The structured output: an instance of the type the :class:`OutputSchema` was made
        from (a pydantic model, a dataclass, a TypedDict), or the parsed JSON for a schema given
        as a dict. Parsed once, on first access; an answer that does not match the schema is an
        INVALID_REQUEST error saying so."""
        if self._output is None:  # a 1-tuple once parsed: the output itself may be None
            schema = self.output_schema
            if schema is None:
                raise BelugaError(
                    "schema.output",
                    ErrorCode.INVALID_REQUEST,
                    "this response has no structured output: none was asked for; pass "
                    "settings=ModelSettings(output=OutputSchema.of(MyModel)) to generate()",
                )
            self._output = (schema.parse(self.text, finish_reason=self.finish_reason),)
        return self._output[0]

    @property
    def text(self) -> str:
        return self.message.text

    @property
    def reasoning(self) -> str:
        """The text of the reasoning parts; separate parts are joined by a blank line."""
        return "\n\n".join(
            p.text for p in self.message.content if type(p) is ReasoningPart and p.text
        )

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return self.message.tool_calls


class _Open:
    """The reasoning part being built: its text so far, and where the other output stood."""

    __slots__ = ("calls_at", "id", "provider", "texts", "texts_at")

    def __init__(self, texts_at: int, calls_at: int, id: str | None, provider: str | None) -> None:
        self.texts_at = texts_at
        self.calls_at = calls_at
        self.id = id
        self.provider = provider
        self.texts: list[str] = []

    def part(self, signature: str | None = None, redacted: str | None = None) -> ReasoningPart:
        return ReasoningPart(
            "".join(self.texts),
            signature=signature,
            redacted=redacted,
            provider=self.provider,
            id=self.id,
        )


class ResponseBuilder:
    """Accumulates stream events into a :class:`ChatResponse`.

    Reasoning becomes :class:`~beluga.schema.ReasoningPart` s at the head of the message, one per
    block of reasoning (see :class:`ReasoningDelta`), in order. Text and tool-call events cost
    what they did before reasoning was kept: whether other output came between two reasoning
    deltas is read from the lengths of the text and call lists when the next reasoning delta
    arrives. ``output`` is the structured output the stream was asked for, given to the response.
    """

    __slots__ = (
        "_calls",
        "_finish",
        "_open",
        "_parts",
        "_phase",
        "_phases",
        "_text",
        "output",
        "usage",
    )

    def __init__(self, output: OutputSchema | None = None) -> None:
        self.output = output
        self._text: list[str] = []
        self._phase: str | None = None  # the phase of the text now
        self._phases: list[tuple[int, str | None]] = []  # (index in _text, phase) at each change
        self._parts: list[ReasoningPart | ProviderPart] = []
        self._open: _Open | None = None
        self._calls: dict[int, list[Any]] = {}  # index -> [id, name, arguments, signature]
        self._finish: FinishEvent | None = None
        self.usage = Usage()

    def add(self, event: StreamEvent) -> None:
        kind = type(event)
        if kind is TextDelta:
            if event.phase != self._phase:  # type: ignore[union-attr]
                self._phase = event.phase  # type: ignore[union-attr]
                self._phases.append((len(self._text), self._phase))
            self._text.append(event.text)  # type: ignore[union-attr]
        elif kind is ToolCallDelta:
            call = self._calls.get(event.index)  # type: ignore[union-attr]
            if call is None:
                call = self._calls[event.index] = ["", "", "", None]  # type: ignore[union-attr]
            if event.id:  # type: ignore[union-attr]
                call[0] = event.id  # type: ignore[union-attr]
            if event.name:  # type: ignore[union-attr]
                call[1] += event.name  # type: ignore[union-attr]
            call[2] += event.arguments  # type: ignore[union-attr]
            if event.signature is not None:  # type: ignore[union-attr]
                call[3] = event.signature  # type: ignore[union-attr]
        elif kind is ReasoningDelta:
            current = self._open
            if (  # the common case: more text for the open part
                current is not None
                and current.texts_at == len(self._text)
                and current.calls_at == len(self._calls)
                and event.id is None  # type: ignore[union-attr]
                and event.signature is None  # type: ignore[union-attr]
                and event.redacted is None  # type: ignore[union-attr]
            ):
                current.texts.append(event.text)  # type: ignore[union-attr]
            else:
                self._reason(event)  # type: ignore[arg-type]
        elif kind is ItemEvent:
            if self._open is not None:
                self._parts.append(self._open.part())
                self._open = None
            self._parts.append(event.part)  # type: ignore[union-attr]
        elif kind is UsageEvent:
            self.usage = self.usage + event.usage  # type: ignore[union-attr]
        elif kind is FinishEvent:
            self._finish = event  # type: ignore[assignment]

    def _reason(self, event: ReasoningDelta) -> None:
        current = self._open
        texts_at, calls_at = len(self._text), len(self._calls)
        if (
            current is None
            or event.id is not None
            or current.texts_at != texts_at
            or current.calls_at != calls_at
        ):
            if current is not None:
                self._parts.append(current.part())
            current = self._open = _Open(texts_at, calls_at, event.id, event.provider)
        if event.text:
            current.texts.append(event.text)
        if event.signature is not None or event.redacted is not None:
            self._parts.append(current.part(event.signature, event.redacted))
            self._open = None

    @property
    def text(self) -> str:
        return "".join(self._text)

    def _text_parts(self) -> list[TextPart]:
        """One part per run of text of one phase (just one when no phase was given)."""
        if not self._phases:
            text = self.text
            return [TextPart(text)] if text else []
        texts = self._text
        marks = [(0, None), *self._phases] if self._phases[0][0] else self._phases
        out: list[TextPart] = []
        for i, (start, phase) in enumerate(marks):
            end = marks[i + 1][0] if i + 1 < len(marks) else len(texts)
            text = "".join(texts[start:end])
            if text:
                out.append(TextPart(text, phase=phase))
        return out

    def build(self) -> ChatResponse:
        content: list[ContentPart] = list(self._parts)
        if self._open is not None:
            content.append(self._open.part())
        content.extend(self._text_parts())
        calls = tuple(
            ToolCall(cid or "", name or "", args or "{}", signature=signature)
            for cid, name, args, signature in (self._calls[i] for i in sorted(self._calls))
        )
        finish = self._finish or FinishEvent("stop")
        return ChatResponse(
            Message.assistant(content, tool_calls=calls),
            self.usage,
            finish.reason,
            finish.model,
            finish.response_id,
            finish.raw_reason,
            self.output,
        )
