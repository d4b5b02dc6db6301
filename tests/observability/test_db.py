"""Database spans and the db.client.operation.duration histogram."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from beluga.core.errors import BelugaError, ErrorCode
from beluga.observability.db import start_db_operation
from tests.conftest import Telemetry


def test_a_db_operation_is_a_client_span_with_db_attributes(telemetry: Telemetry) -> None:
    with start_db_operation("search", "docs", system="postgresql") as op:
        op.set("db.response.returned_rows", 3)
        op.set("ignored", None)
    (span,) = telemetry.finished_spans()
    assert span.name == "search docs"
    assert span.kind is SpanKind.CLIENT
    assert dict(span.attributes or {}) == {
        "db.system.name": "postgresql",
        "db.operation.name": "search",
        "db.collection.name": "docs",
        "db.response.returned_rows": 3,
    }
    points = telemetry.metric_points("db.client.operation.duration")
    assert any(p.attributes.get("db.collection.name") == "docs" for p in points)


def test_a_failure_sets_error_type_and_status(telemetry: Telemetry) -> None:
    error = BelugaError("x", ErrorCode.TIMEOUT, "took too long")
    with pytest.raises(BelugaError), start_db_operation("count", None, system="usearch"):
        raise error
    (span,) = telemetry.finished_spans()
    assert span.name == "count"
    assert (span.attributes or {})["error.type"] == "timeout"
    assert span.status.status_code is StatusCode.ERROR
