"""The chat-model protocol, its settings, and the base class providers build on.

Consumers depend on :class:`ChatModel` only (a protocol: an agent, a router or a test double fits
it too). Providers subclass :class:`BaseChatModel` and implement ``_generate``/``_stream``; the base
normalizes and checks the prompt, merges settings, enforces the call's deadline and records the
GenAI span and metrics once, so no provider does any of it itself.

Settings are checked when they are built, on the client: a bad value is one clear error where it
was written, never a provider's 400 (tried on every provider of a route and cooling them all
down) nor a silent misreading (``max_tokens=0`` read as "no limit").

The deadline covers a whole call: a ``generate``, or a stream from its first event to its last
(the time a consumer spends between events does not count, so a slow reader is never cut off).
A server that drips one chunk just inside every read timeout cannot keep a call alive past it.
``DEFAULT_TIMEOUT`` applies when a model was given none: 300 s, long enough for a long reasoning
answer, short enough that a stalled call fails in minutes rather than the SDKs' 10.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import wraps
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.streams import aclose
from beluga.llms._deadline import Deadline
from beluga.llms._settings import EMPTY_EXTRA, ReadOnlyDict, check_settings
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

__all__ = ["DEFAULT_TIMEOUT", "BaseChatModel", "ChatModel", "ModelSettings", "ToolChoice"]

DEFAULT_TIMEOUT = 300.0
"""Seconds a whole call (a generate, or a stream to its end) may take when none was given."""

ToolChoice: TypeAlias = Literal["auto", "none", "required"] | str
"""``auto``, ``none``, ``required``, or the name of the one tool the model must call."""


@dataclass(slots=True, frozen=True, kw_only=True)
class ModelSettings:
    """Per-call options; ``None`` means "the provider's default". ``extra`` goes to the
    provider's request body as is, for options we do not model; it is read-only (a copy of the
    mapping given), so settings shared between calls cannot change behind anyone's back.

    Every option is checked here: ``temperature`` from 0 to 2, ``top_p`` above 0 up to 1,
    ``max_tokens`` at least 1, ``seed`` an int, ``stop`` a string or a list of strings (one
    string is one stop sequence). A bad value raises ``INVALID_REQUEST``.
    """

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: tuple[str, ...] | None = None
    seed: int | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    output: OutputSchema | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: EMPTY_EXTRA)

    def __post_init__(self) -> None:
        changes = check_settings(self)
        if changes is not None:
            for name, value in changes.items():
                object.__setattr__(self, name, value)

    def merged(self, override: ModelSettings | None) -> ModelSettings:
        """These settings with every option ``override`` sets taking precedence (both are
        checked already, so the result is built without checking again: it is on every
        call's path)."""
        if override is None or override is self:
            return self
        values: dict[str, Any] | None = None
        for name in _OPTIONS:
            value = getattr(override, name)
            if value is not None:
                if values is None:
                    values = {n: getattr(self, n) for n in _FIELDS}
                values[name] = value
        if override.extra:
            if values is None:
                values = {n: getattr(self, n) for n in _FIELDS}
            values["extra"] = ReadOnlyDict({**self.extra, **override.extra})
        if values is None:
            return self
        merged = object.__new__(ModelSettings)
        for name, value in values.items():
            object.__setattr__(merged, name, value)
        return merged


_FIELDS = tuple(f.name for f in fields(ModelSettings))
_OPTIONS = tuple(name for name in _FIELDS if name != "extra")
_NO_SETTINGS = ModelSettings()


@runtime_checkable
class ChatModel(Protocol):
    """Anything that answers a conversation: a provider, a router, an agent, a test double."""

    @property
    def model_name(self) -> str: ...

    @property
    def provider(self) -> str:
        """The ``gen_ai.provider.name`` of its calls (``openai``, ``anthropic``, ...), which
        spans and metrics are keyed by; a wrapper gives the one of the model it wraps."""
        ...

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


class BaseChatModel(AsyncClosing, ABC):
    """Base of every provider: prompt checks, settings merge, deadline, tracing and metrics.

    Subclasses set ``provider`` (the ``gen_ai.provider.name``) and implement ``_generate`` and
    ``_stream``; they may override ``aclose`` to release clients. ``timeout`` (seconds, or
    ``None`` for :data:`DEFAULT_TIMEOUT`) bounds each whole call; passing it is a retryable
    ``TIMEOUT`` error, so a router falls back. A call on a model whose client was closed is a
    clear ``INVALID_REQUEST`` (models that reopen their client on use simply work).
    """

    provider: str
    """The `gen_ai.provider.name` of the calls it makes; an instance may refine it."""

    timeout: float | None = None
    """The overall deadline of one call in seconds; ``None`` means :data:`DEFAULT_TIMEOUT`."""

    _closed: bool = False  # set by aclose(), cleared by a call that works (a reopened client)

    def __init__(
        self,
        model: str,
        *,
        settings: ModelSettings | None = None,
        timeout: float | None = None,
    ) -> None:
        self._model = model
        self.settings = settings or _NO_SETTINGS
        self.timeout = _checked_timeout(timeout, type(self).__name__)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        close = cls.__dict__.get("aclose")
        if close is not None and not getattr(close, "_marks_closed", False):
            setattr(cls, "aclose", _marking_closed(close))  # noqa: B010 - mypy rejects method-assign

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
        """Answer ``prompt`` in one response, within the model's ``timeout``."""
        messages = as_messages(prompt)
        merged = self.settings.merged(settings)
        with self._operation(merged) as op, op.activated():
            deadline = Deadline(self._seconds())
            deadline.begin()
            try:
                response = await self._generate(messages, tools or (), merged)
            except BaseException as exc:
                if (error := self._failure(exc, deadline)) is not None:
                    raise error from exc
                raise
            finally:
                deadline.close()
            if deadline.end():  # the adapter swallowed the cancellation
                raise self._timed_out(None)
            if self._closed:
                self._closed = False
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
        """Answer ``prompt`` as a stream of events ending with a :class:`FinishEvent`; the
        provider must deliver the whole stream within the model's ``timeout``."""
        messages = as_messages(prompt)
        merged = self.settings.merged(settings)
        op = self._operation(merged)
        usage: Usage | None = None
        finish: FinishEvent | None = None
        inner = self._stream(messages, tools or (), merged)
        deadline = Deadline(self._seconds())
        try:
            while True:
                deadline.begin()
                try:
                    event = await anext(inner)
                except StopAsyncIteration:
                    deadline.end()
                    break
                except BaseException as exc:
                    if (error := self._failure(exc, deadline)) is not None:
                        raise error from exc
                    raise
                if deadline.end():
                    raise self._timed_out(None)
                if op.first_chunk_at is None:
                    op.first_chunk()
                    if self._closed:
                        self._closed = False
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
            deadline.close()
            await aclose(inner)
            if finish is not None:
                _record_response(op, usage, finish.reason, finish.model, finish.response_id)
            op.end()

    def _seconds(self) -> float:
        return DEFAULT_TIMEOUT if self.timeout is None else self.timeout

    def _failure(self, exc: BaseException, deadline: Deadline) -> BelugaError | None:
        """The clear error a failed wait stands for (our deadline passed, or the client was
        closed), or None to let ``exc`` go up unchanged."""
        if deadline.end():
            return self._timed_out(exc)
        if not isinstance(exc, Exception):
            return None
        if self._closed and _from_closed_client(exc):
            return BelugaError(
                f"llms.{self.provider}.call",
                ErrorCode.INVALID_REQUEST,
                f"{self.provider} model {self._model!r} was closed (aclose() or the end of its "
                "'async with') before this call; create a new model, or close it only when "
                "you are done with it",
                retryable=False,
                cause=exc,
            )
        return None

    def _timed_out(self, exc: BaseException | None) -> BelugaError:
        return BelugaError(
            f"llms.{self.provider}.call",
            ErrorCode.TIMEOUT,
            f"{self.provider} model {self._model!r} gave no complete answer within "
            f"{self._seconds():g}s (its overall deadline); raise timeout= or ask for a "
            "shorter answer (max_tokens)",
            retryable=True,
            cause=exc,
        )

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

    async def aclose(self) -> None:
        """Release what the model holds (HTTP clients, loaded weights)."""
        self._closed = True

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self._model!r})"


def _checked_timeout(timeout: object, owner: str) -> float | None:
    """``timeout`` as seconds, or None; anything but a positive finite number is an error."""
    if timeout is None:
        return None
    if (
        isinstance(timeout, int | float)
        and not isinstance(timeout, bool)
        and math.isfinite(timeout)
        and timeout > 0
    ):
        return float(timeout)
    raise BelugaError(
        "llms.model.init",
        ErrorCode.INVALID_CONFIG,
        f"{owner} timeout={timeout!r} is not valid; use a positive number of seconds "
        f"(or leave it unset for {DEFAULT_TIMEOUT:g}s)",
    )


_Close = Callable[[Any], Coroutine[Any, Any, None]]


def _marking_closed(close: _Close) -> _Close:
    """A subclass's ``aclose`` that first marks the model closed, whether or not it calls
    ``super().aclose()``."""

    @wraps(close)
    async def aclose(self: BaseChatModel) -> None:
        self._closed = True
        await close(self)

    aclose._marks_closed = True  # type: ignore[attr-defined]
    return aclose


def _from_closed_client(exc: BaseException) -> bool:
    """Whether ``exc`` comes from a closed client: a ``RuntimeError`` (httpx's "client has been
    closed"), raised as is or wrapped by an SDK or an adapter's error mapping."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, RuntimeError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


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
