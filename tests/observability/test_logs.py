from __future__ import annotations

import io
import json
import logging

import pytest
from opentelemetry import trace

from beluga.core import register_secret
from beluga.observability import configure_logging, get_logger
from tests.conftest import Telemetry

KEY = "sk-test-PLANTED0123456789abcdef"


@pytest.fixture
def captured() -> io.StringIO:
    stream = io.StringIO()
    configure_logging("DEBUG", json_format=True)
    handler = logging.getLogger("beluga").handlers[-1]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    return stream


def test_logs_never_contain_a_secret(captured: io.StringIO) -> None:
    register_secret(KEY)
    log = get_logger("llms.test")
    log.warning("calling with key %s", KEY)
    log.info("header Authorization: Bearer %s", "abcdefghijklmnopqrstuvwx")
    try:
        raise ValueError(f"provider echoed {KEY}")
    except ValueError:
        log.exception("failed")
    text = captured.getvalue()
    assert KEY not in text
    assert "abcdefghijklmnopqrstuvwx" not in text
    assert text.count("[REDACTED]") >= 3


def test_logs_carry_trace_and_span_ids(captured: io.StringIO, telemetry: Telemetry) -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("outer") as span:
        get_logger("beluga.test").warning("inside")
    get_logger("beluga.test").warning("outside")
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    ctx = span.get_span_context()
    assert lines[0]["trace_id"] == format(ctx.trace_id, "032x")
    assert lines[0]["span_id"] == format(ctx.span_id, "016x")
    assert lines[1]["trace_id"] == "-"


def test_any_handler_gets_redacted_records() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    register_secret(KEY)
    log = get_logger("custom.handler")
    keep = Keep()
    log.addHandler(keep)
    try:
        log.error("key=%s", KEY)
    finally:
        log.removeHandler(keep)
    assert KEY not in records[0].getMessage()
