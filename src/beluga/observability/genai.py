"""OpenTelemetry GenAI spans and metrics, on ``opentelemetry-api`` alone.

With no SDK configured the API hands out non-recording spans and no-op instruments; we check
``is_recording()`` before building any attribute, so an unobserved call costs a few microseconds.
Every area records its operations through :func:`start_operation` (chat, embeddings,
execute_tool, invoke_agent, ...), so naming, error typing and redaction are done once.
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
    """One traced and metered operation. Call :meth:`end` exactly once (or use ``with``)."""

    __slots__ = ("_error", "_metric_attrs", "_start", "first_chunk_at", "span")

    def __init__(self, span: Span, metric_attrs: dict[str, Any]) -> None:
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
            _first_chunk.record(self.first_chunk_at - self._start, self._metric_attrs)

    def tokens(self, input_tokens: int, output_tokens: int) -> None:
        attrs = self._metric_attrs
        _tokens.record(input_tokens, {**attrs, "gen_ai.token.type": "input"})
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


def start_operation(
    operation: str,
    target: str | None,
    *,
    provider: str,
    attributes: Mapping[str, Any] | None = None,
    kind: SpanKind = SpanKind.CLIENT,
) -> Operation:
    """Start the span ``"{operation} {target}"`` with GenAI attributes, as a child of the
    current span. ``target`` is the model, tool or agent name."""
    metric_attrs: dict[str, Any] = {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": provider,
    }
    if target:
        metric_attrs["gen_ai.request.model"] = target
    span = _tracer.start_span(f"{operation} {target}" if target else operation, kind=kind)
    if span.is_recording():
        span.set_attributes(metric_attrs)
        if attributes:
            span.set_attributes({k: v for k, v in attributes.items() if v is not None})
    return Operation(span, metric_attrs)
