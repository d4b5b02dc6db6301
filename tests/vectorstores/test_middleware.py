"""``traced``: one database span and duration point per call, and no text, value or vector."""

from __future__ import annotations

import pytest

from beluga.core.errors import BelugaError
from beluga.schema import Document
from beluga.vectorstores import VectorStore
from beluga.vectorstores.middleware import traced
from beluga.vectorstores.registry import create
from beluga.vectorstores.testing import FailingVectorStore, InMemoryVectorStore
from tests.conftest import Telemetry

SECRET_TEXT = "the launch code is 0000"


async def test_each_call_is_a_db_span_without_document_text(telemetry: Telemetry) -> None:
    store = traced(InMemoryVectorStore(collection="notes"))
    assert isinstance(store, VectorStore)
    assert traced(store) is store
    await store.upsert(
        [Document(SECRET_TEXT, id="a", metadata={"owner": "alice-secret"})], [[1.0, 0.5]]
    )
    hits = await store.search([1.0, 0.5], k=3, filter={"owner": "alice-secret"})
    assert len(hits) == 1
    await store.get(["a"])
    assert await store.count() == 1
    await store.delete(["a"])
    assert store.dimensions == 2  # other attributes are the wrapped store's
    spans = {span.name: span for span in telemetry.finished_spans()}
    assert set(spans) >= {
        "upsert notes",
        "search notes",
        "get notes",
        "count notes",
        "delete notes",
    }
    search = spans["search notes"].attributes or {}
    assert search["db.system.name"] == "memory"
    assert search["db.operation.name"] == "search"
    assert search["db.collection.name"] == "notes"
    assert search["db.response.returned_rows"] == 1
    assert search["beluga.vectorstores.k"] == 3
    assert search["beluga.vectorstores.filtered"] is True
    assert (spans["upsert notes"].attributes or {})["db.operation.batch.size"] == 1
    for span in telemetry.finished_spans():
        text = repr(dict(span.attributes or {})) + repr(span.events)
        assert SECRET_TEXT not in text and "alice-secret" not in text and "0.5" not in text
    points = telemetry.metric_points("db.client.operation.duration")
    assert any(p.attributes.get("db.operation.name") == "search" for p in points)


async def test_a_failed_call_records_its_error_type(telemetry: Telemetry) -> None:
    store = traced(FailingVectorStore(), collection="c")
    with pytest.raises(BelugaError):
        await store.count()
    (span,) = [s for s in telemetry.finished_spans() if s.name == "count c"]
    assert (span.attributes or {})["error.type"] == "provider_unavailable"


def test_the_registry_creates_traced_stores() -> None:
    store = create("memory", dimensions=3)
    assert repr(store).startswith("traced(InMemoryVectorStore(")
    assert store.provider == "memory"  # type: ignore[attr-defined]
