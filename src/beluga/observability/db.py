"""OpenTelemetry database spans and metrics (DB semantic conventions), on the API alone.

Vector stores record every call here: the span ``"{db.operation.name} {db.collection.name}"``
(``search docs``) of kind CLIENT with ``db.system.name``, ``db.operation.name`` and
``db.collection.name``, and the ``db.client.operation.duration`` histogram labelled the same
way (plus ``error.type`` on failure). Callers add counts (``db.response.returned_rows``,
``db.operation.batch.size``); nothing here takes a query's text or values, so a document's
text, its metadata values or a vector never reach a span. As in :mod:`.genai`, nothing is
built unless the span records.
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from beluga.core.errors import BelugaError
from beluga.core.redaction import redact

__all__ = ["DbOperation", "start_db_operation"]

_tracer = trace.get_tracer("beluga")
_meter = metrics.get_meter("beluga")
_duration = _meter.create_histogram(
    "db.client.operation.duration",
    unit="s",
    description="Duration of database client operations",
    explicit_bucket_boundaries_advisory=[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
)


class DbOperation:
    """One traced and metered database call; use ``with`` (or call :meth:`end` once)."""

    __slots__ = ("_attrs", "_error", "_start", "span")

    def __init__(self, span: Span, attrs: dict[str, Any]) -> None:
        self.span = span
        self._attrs = attrs
        self._start = time.perf_counter()
        self._error: str | None = None

    def set(self, key: str, value: int | float | bool | None) -> None:
        """Set a numeric span attribute (counts and sizes only: no text goes in)."""
        if value is not None and self.span.is_recording():
            self.span.set_attribute(key, value)

    def fail(self, exc: BaseException) -> None:
        self._error = exc.code.value if isinstance(exc, BelugaError) else type(exc).__qualname__
        if self.span.is_recording():
            message = redact(str(exc))
            self.span.set_attribute("error.type", self._error)
            self.span.set_status(Status(StatusCode.ERROR, message))

    def end(self) -> None:
        attrs = self._attrs if self._error is None else {**self._attrs, "error.type": self._error}
        _duration.record(time.perf_counter() - self._start, attrs)
        self.span.end()

    def __enter__(self) -> DbOperation:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc is not None:
            self.fail(exc)
        self.end()


def start_db_operation(operation: str, collection: str | None, *, system: str) -> DbOperation:
    """Start the CLIENT span ``"{operation} {collection}"`` as a child of the current span."""
    attrs: dict[str, Any] = {"db.system.name": system, "db.operation.name": operation}
    if collection:
        attrs["db.collection.name"] = collection
    name = f"{operation} {collection}" if collection else operation
    span = _tracer.start_span(name, kind=SpanKind.CLIENT)
    if span.is_recording():
        span.set_attributes(attrs)
    return DbOperation(span, attrs)
