"""The chat-model protocol, its settings, and the base class providers build on.

Consumers depend on :class:`ChatModel` only (a protocol: an agent, a router or a test double fits
it too). Providers subclass :class:`BaseChatModel` and implement ``_generate``/``_stream``; the base
normalizes the prompt, merges settings and records the GenAI span and metrics once, so no
provider instruments itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, fields, replace
from types import TracebackType
from typing import Any, Literal, Protocol, Self, TypeAlias, runtime_checkable

from beluga.core.streams import aclose
from beluga.observability.genai import Operation, start_operation
from beluga.schema import (
    ChatResponse,
    FinishEvent,
    Message,
    OutputSchema,
    Prompt,
    StreamEvent,
    ToolDefinition,
    Usage,
    UsageEvent,
    as_messages,
)

__all__ = ["BaseChatModel", "ChatModel", "ModelSettings", "ToolChoice"]

ToolChoice: TypeAlias = Literal["auto", "none", "required"] | str
"""``auto``, ``none``, ``required``, or the name of the one tool the model must call."""


@dataclass(slots=True, frozen=True, kw_only=True)
class ModelSettings:
    """Per-call options; ``None`` means "the provider's default". ``extra`` goes to the
    provider's request body as is, for options we do not model."""

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: tuple[str, ...] | None = None
    seed: int | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    output: OutputSchema | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def merged(self, override: ModelSettings | None) -> ModelSettings:
        """These settings with every option ``override`` sets taking precedence."""
        if override is None or override is self:
            return self
        changes = {
            f.name: getattr(override, f.name)
            for f in fields(override)
            if f.name != "extra" and getattr(override, f.name) is not None
        }
        if override.extra:
            changes["extra"] = {**self.extra, **override.extra}
        return replace(self, **changes) if changes else self


_NO_SETTINGS = ModelSettings()


@runtime_checkable
class ChatModel(Protocol):
    """Anything that answers a conversation: a provider, a router, an agent, a test double."""

    @property
    def model_name(self) -> str: ...

    async def generate(
        self,
        prompt: Prompt,
        *,
        tools: Sequence[ToolDefinition] | None = None,
        settings: ModelSettings | None = None,
    ) -> ChatResponse: ...

    def stream(
        self,
        prompt: Prompt,
        *,
        tools: Sequence[ToolDefinition] | None = None,
        settings: ModelSettings | None = None,
    ) -> AsyncIterator[StreamEvent]: ...

    async def aclose(self) -> None: ...


class BaseChatModel(ABC):
    """Base of every provider: prompt normalization, settings merge, tracing and metrics.

    Subclasses set ``provider`` (the ``gen_ai.provider.name``) and implement ``_generate`` and
    ``_stream``; they may override ``aclose`` to release clients.
    """

    provider: str
    """The `gen_ai.provider.name` of the calls it makes; an instance may refine it."""

    def __init__(self, model: str, *, settings: ModelSettings | None = None) -> None:
        self._model = model
        self.settings = settings or _NO_SETTINGS

    @property
    def model_name(self) -> str:
        return self._model

    @abstractmethod
    async def _generate(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
    ) -> ChatResponse: ...

    @abstractmethod
    def _stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
    ) -> AsyncIterator[StreamEvent]: ...

    async def generate(
        self,
        prompt: Prompt,
        *,
        tools: Sequence[ToolDefinition] | None = None,
        settings: ModelSettings | None = None,
    ) -> ChatResponse:
        """Answer ``prompt`` in one response."""
        merged = self.settings.merged(settings)
        with self._operation(merged) as op, op.activated():
            response = await self._generate(as_messages(prompt), tools or (), merged)
            if merged.output is not None:  # so that response.output can parse the answer
                response.output_schema = merged.output
            _record_response(
                op, response.usage, response.finish_reason, response.model, response.response_id
            )
        return response

    async def stream(
        self,
        prompt: Prompt,
        *,
        tools: Sequence[ToolDefinition] | None = None,
        settings: ModelSettings | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Answer ``prompt`` as a stream of events ending with a :class:`FinishEvent`."""
        merged = self.settings.merged(settings)
        messages = as_messages(prompt)
        op = self._operation(merged)
        usage: Usage | None = None
        finish: FinishEvent | None = None
        inner = self._stream(messages, tools or (), merged)
        try:
            async for event in inner:
                if op.first_chunk_at is None:
                    op.first_chunk()
                kind = type(event)
                if kind is UsageEvent:
                    usage = event.usage if usage is None else usage + event.usage  # type: ignore[union-attr]
                elif kind is FinishEvent:
                    finish = event  # type: ignore[assignment]
                yield event
        except GeneratorExit:  # the consumer stopped reading: not a failure
            raise
        except BaseException as exc:
            op.fail(exc)
            raise
        finally:
            await aclose(inner)
            if finish is not None:
                _record_response(op, usage, finish.reason, finish.model, finish.response_id)
            op.end()

    def _operation(self, settings: ModelSettings) -> Operation:
        attrs: dict[str, Any] | None = None
        if settings is not _NO_SETTINGS:
            attrs = {
                "gen_ai.request.temperature": settings.temperature,
                "gen_ai.request.max_tokens": settings.max_tokens,
                "gen_ai.request.top_p": settings.top_p,
                "gen_ai.request.seed": settings.seed,
            }
        return start_operation("chat", self._model, provider=self.provider, attributes=attrs)

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to release here
        """Release what the model holds (HTTP clients, loaded weights)."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self._model!r})"


def _record_response(
    op: Operation,
    usage: Usage | None,
    finish_reason: str,
    model: str | None,
    response_id: str | None,
) -> None:
    if usage is not None:
        op.tokens(usage.input_tokens, usage.output_tokens)
    if op.recording:
        op.set("gen_ai.response.finish_reasons", (finish_reason,))
        op.set("gen_ai.response.model", model)
        op.set("gen_ai.response.id", response_id)
        if usage is not None:
            op.set("gen_ai.usage.input_tokens", usage.input_tokens)
            op.set("gen_ai.usage.output_tokens", usage.output_tokens)
            if usage.cached_tokens:
                op.set("gen_ai.usage.cache_read.input_tokens", usage.cached_tokens)
            if usage.reasoning_tokens:
                op.set("gen_ai.usage.reasoning.output_tokens", usage.reasoning_tokens)
