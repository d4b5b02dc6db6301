"""Logging that carries trace and span ids and never prints a credential."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from opentelemetry import trace

from beluga.core.redaction import redact

__all__ = ["RedactingFilter", "TraceContextFilter", "configure_logging", "get_logger"]

_FORMAT = "%(asctime)s %(levelname)s %(name)s [trace=%(trace_id)s span=%(span_id)s] %(message)s"


class TraceContextFilter(logging.Filter):
    """Adds ``trace_id`` and ``span_id`` of the current span to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            record.trace_id = format(ctx.trace_id, "032x")
            record.span_id = format(ctx.span_id, "016x")
        else:
            record.trace_id = record.span_id = "-"
        return True


class RedactingFilter(logging.Filter):
    """Renders the message with its arguments, then masks every secret in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks carry exception text: render it now, redacted, so no handler shows
            # the raw one.
            clean = redact(message + "\n" + logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = clean, None
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": getattr(record, "trace_id", "-"),
            "span_id": getattr(record, "span_id", "-"),
        }
        return json.dumps(out, ensure_ascii=False)


def get_logger(name: str) -> logging.Logger:
    """A logger under ``beluga``; its records are redacted and carry trace ids, whatever
    handler receives them."""
    logger = logging.getLogger(name if name.startswith("beluga") else f"beluga.{name}")
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(TraceContextFilter())
        logger.addFilter(RedactingFilter())
    return logger


def configure_logging(level: str | int = "WARNING", *, json_format: bool = False) -> None:
    """Send ``beluga`` logs to stderr at ``level``, as text or JSON lines. Idempotent."""
    root = logging.getLogger("beluga")
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for handler in list(root.handlers):
        if getattr(handler, "_beluga", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._beluga = True  # type: ignore[attr-defined]
    handler.addFilter(TraceContextFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(_JsonFormatter() if json_format else logging.Formatter(_FORMAT))
    root.addHandler(handler)
