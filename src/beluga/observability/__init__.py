"""OpenTelemetry traces, metrics and logs for every public operation (GenAI conventions)."""

from beluga.observability.genai import Operation, start_operation
from beluga.observability.logs import (
    RedactingFilter,
    TraceContextFilter,
    configure_logging,
    get_logger,
)

__all__ = [
    "Operation",
    "RedactingFilter",
    "TraceContextFilter",
    "configure_logging",
    "get_logger",
    "start_operation",
]
