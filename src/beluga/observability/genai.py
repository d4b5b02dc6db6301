"""OpenTelemetry GenAI spans and metrics, on ``opentelemetry-api`` alone.

With no SDK configured the API hands out non-recording spans and no-op instruments; we check
``is_recording()`` before building any attribute, so an unobserved call costs a few microseconds.
Every area records its operations through :func:`start_operation` (chat, embeddings,
execute_tool, invoke_agent, ...), so naming, error typing and redaction are done once, and
each operation kind labels its target with its own attribute (a model, a tool, an agent).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from beluga.core.errors import BelugaError
from beluga.core.redaction import redact

__all__ = ["Operation", "start_operation"]

_tracer = trace.get_tracer("beluga")
_meter = metrics.get_meter("beluga")

# Bucket boundaries advised by the GenAI semantic conventions.
_DURATION_BUCKETS = [
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
]
_TOKEN_BUCKETS = [
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
]

_duration = _meter.create_histogram(
    "gen_ai.client.operation.duration",
    unit="s",
    description="GenAI operation duration",
    explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
)
_tokens = _meter.create_histogram(
    "gen_ai.client.token.usage",
    unit="{token}",
    description="Tokens used by GenAI operations",
    explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
)
_first_chunk = _meter.create_histogram(
    "gen_ai.client.operation.time_to_first_chunk",
    unit="s",
    description="Time until the first chunk of a streamed GenAI response",
    explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
)


_NO_CONTEXT = nullcontext()


class Operation:
    """One traced and metered operation. Call :meth:`end` exactly once (or use ``with``).

    ``metric_attrs`` is ``None`` for an operation that is traced but not metered.
    """

    __slots__ = ("_error", "_metric_attrs", "_start", "first_chunk_at", "span")

    def __init__(self, span: Span, metric_attrs: dict[str, Any] | None) -> None:
        self.span = span
        self._metric_attrs = metric_attrs
        self._start = time.perf_counter()
        self._error: str | None = None
        self.first_chunk_at: float | None = None

    @property
    def recording(self) -> bool:
        return self.span.is_recording()

    def set(self, key: str, value: Any) -> None:
        """Set a span attribute; strings are redacted."""
        if value is not None and self.span.is_recording():
            self.span.set_attribute(key, redact(value) if isinstance(value, str) else value)

    def event(self, name: str, attributes: Mapping[str, Any]) -> None:
        """Add a span event (e.g. a routing decision)."""
        if self.span.is_recording():
            self.span.add_event(name, {k: v for k, v in attributes.items() if v is not None})

    def activated(self) -> AbstractContextManager[object]:
        """Make this span the current one, so operations inside become its children.

        A span that records nothing has no children worth linking: skip the context switch.
        """
        if not self.span.is_recording():
            return _NO_CONTEXT
        return trace.use_span(
            self.span, end_on_exit=False, record_exception=False, set_status_on_exception=False
        )

    def first_chunk(self) -> None:
        """Mark the arrival of the first streamed chunk (time to first token)."""
        if self.first_chunk_at is None:
            self.first_chunk_at = time.perf_counter()
            if self._metric_attrs is not None:
                _first_chunk.record(self.first_chunk_at - self._start, self._metric_attrs)

    def tokens(self, input_tokens: int, output_tokens: int | None) -> None:
        """Record token usage; ``None`` output for operations that produce no tokens
        (``embeddings``), so no zero output point skews the histogram."""
        attrs = self._metric_attrs
        if attrs is None:
            return
        _tokens.record(input_tokens, {**attrs, "gen_ai.token.type": "input"})
        if output_tokens is not None:
            _tokens.record(output_tokens, {**attrs, "gen_ai.token.type": "output"})

    def fail(self, exc: BaseException) -> None:
        """Record ``exc`` as the operation's error (its text redacted)."""
        if isinstance(exc, BelugaError):
            self._error = exc.code.value
        else:
            self._error = type(exc).__qualname__
        if self.span.is_recording():
            message = redact(str(exc))
            self.span.set_attribute("error.type", self._error)
            self.span.add_event(
                "exception",
                {"exception.type": type(exc).__qualname__, "exception.message": message},
            )
            self.span.set_status(Status(StatusCode.ERROR, message))

    def end(self) -> float:
        """Close the span and record the duration; returns the duration in seconds."""
        elapsed = time.perf_counter() - self._start
        attrs = self._metric_attrs
        if attrs is not None:
            if self._error is not None:
                attrs = {**attrs, "error.type": self._error}
            _duration.record(elapsed, attrs)
        self.span.end()
        return elapsed

    def __enter__(self) -> Operation:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc is not None:
            self.fail(exc)
        self.end()


# What the target of each GenAI operation is (OpenTelemetry GenAI semantic conventions): a model
# for model calls, a tool for ``execute_tool``, an agent for the agent operations.
_TARGET_ATTRIBUTES: dict[str, str] = {
    "chat": "gen_ai.request.model",
    "text_completion": "gen_ai.request.model",
    "generate_content": "gen_ai.request.model",
    "embeddings": "gen_ai.request.model",
    "rerank": "gen_ai.request.model",
    "retrieval": "gen_ai.data_source.id",
    "execute_tool": "gen_ai.tool.name",
    "invoke_agent": "gen_ai.agent.name",
    "create_agent": "gen_ai.agent.name",
}
# Span kinds the conventions give when the caller names none: model and agent-service calls
# leave the process; a tool, an in-process agent and a retrieval (a framework pipeline, which
# the conventions make INTERNAL) run inside it.
_INTERNAL = frozenset({"execute_tool", "invoke_agent", "retrieval"})


def start_operation(
    operation: str,
    target: str | None,
    *,
    provider: str | None = None,
    attributes: Mapping[str, Any] | None = None,
    kind: SpanKind | None = None,
    tool_call_id: str | None = None,
) -> Operation:
    """Start the span ``"{operation} {target}"`` as a child of the current span.

    ``target`` is what the operation acts on, and each GenAI operation labels it with its own
    attribute: the model of ``chat``/``text_completion``/``generate_content``/``embeddings``
    (``gen_ai.request.model``), the tool of ``execute_tool`` (``gen_ai.tool.name``, with
    ``gen_ai.tool.call.id`` from ``tool_call_id``), the agent of ``invoke_agent``/
    ``create_agent`` (``gen_ai.agent.name``). Those operations feed the ``gen_ai.client.*``
    metrics, labelled the same way. Any other operation (Beluga's own, such as ``route``) is a
    span only: its target is in the span name, its attributes come from ``attributes``, and it
    records no GenAI metric, which would count its inner model calls twice.
    """
    target_key = _TARGET_ATTRIBUTES.get(operation)
    metric_attrs: dict[str, Any] = {"gen_ai.operation.name": operation}
    if provider:
        metric_attrs["gen_ai.provider.name"] = provider
    if target and target_key is not None:
        metric_attrs[target_key] = target
    if kind is None:
        remote = target_key is not None and operation not in _INTERNAL
        kind = SpanKind.CLIENT if remote else SpanKind.INTERNAL
    span = _tracer.start_span(f"{operation} {target}" if target else operation, kind=kind)
    if span.is_recording():
        span.set_attributes(metric_attrs)
        if tool_call_id:
            span.set_attribute("gen_ai.tool.call.id", tool_call_id)
        if attributes:
            span.set_attributes({k: v for k, v in attributes.items() if v is not None})
    return Operation(span, metric_attrs if target_key is not None else None)
