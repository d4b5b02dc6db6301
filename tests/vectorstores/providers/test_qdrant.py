"""QdrantVectorStore over Qdrant's REST API (a loopback server, tests.support.qdrant_server)
and in local mode: the bodies it sends, errors, retries, secrets, spans, existing collections.

The contract suite (tests/vectorstores/test_contract.py) runs both modes through every shared
test; this file checks what is Qdrant's own.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import Document
from beluga.vectorstores.providers._records import field, token
from beluga.vectorstores.providers.qdrant import QdrantVectorStore, qdrant_filter
from beluga.vectorstores.registry import create
from tests.conftest import Telemetry
from tests.support.qdrant_server import QdrantServer, qdrant_error
from tests.support.replay_server import Reply, unused_port

KEY = "qdrant-PLANTED-secret-key-1234"


@pytest.fixture
async def server() -> AsyncIterator[QdrantServer]:
    async with QdrantServer(api_key=KEY) as qdrant:
        yield qdrant
        assert not qdrant.failures, qdrant.failures[0]


def store_at(server: QdrantServer, **options: object) -> QdrantVectorStore:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Api key is used with an insecure ..."
        return QdrantVectorStore(
            "docs",
            url=server.url,
            api_key=KEY,
            dimensions=3,
            **options,  # type: ignore[arg-type]
        )


async def test_wire_bodies_ids_payload_and_key_header(server: QdrantServer) -> None:
    async with store_at(server) as store:
        await store.upsert(
            [Document("hello", id="doc-1", metadata={"lang": "en", "n": 2})], [[1.0, 0.0, 0.0]]
        )
        hits = await store.search([1.0, 0.1, 0.0], k=2, filter={"lang": "en"})
    methods = [(r.method, r.path.split("?")[0]) for r in server.requests]
    assert methods == [
        ("GET", "/collections/docs/exists"),
        ("PUT", "/collections/docs"),
        ("PUT", "/collections/docs/points"),
        ("POST", "/collections/docs/points/query"),
    ]
    assert all(r.headers["api-key"] == KEY for r in server.requests)
    assert server.requests[1].json()["vectors"] == {"size": 3, "distance": "Cosine"}
    batch = server.requests[2].json()["batch"]
    assert batch["vectors"] == [[1.0, 0.0, 0.0]]
    point = {"id": batch["ids"][0], "payload": batch["payloads"][0]}
    assert uuid.UUID(point["id"])  # Qdrant ids are UUIDs; the document id is in the payload
    assert point["payload"]["document"] == {
        "kind": "document",
        "id": "doc-1",
        "content": [{"kind": "text", "text": "hello"}],
        "metadata": {"lang": "en", "n": 2},
    }
    assert point["payload"][field("lang", "s")] == "en"
    assert point["payload"][field("n", "n")] == 2.0
    query = server.requests[3].json()
    assert query["limit"] == 2
    assert query["filter"] == {"must": [{"key": field("lang", "s"), "match": {"value": "en"}}]}
    assert [h.document.id for h in hits] == ["doc-1"]


def test_filter_translation_uses_shadow_fields_only() -> None:
    from beluga.vectorstores.filters import parse

    native = qdrant_filter(parse({"a.b": {"$ne": 1}, "$or": [{"x": True}, {"y": {"$gt": 2}}]}))
    assert native == {
        "must": [
            {
                "must": [{"key": "beluga_keys", "match": {"value": token("a.b")}}],
                "must_not": [{"key": field("a.b", "n"), "range": {"gte": 1.0, "lte": 1.0}}],
            },
            {
                "should": [
                    {"key": field("x", "b"), "match": {"value": True}},
                    {"key": field("y", "n"), "range": {"gt": 2.0}},
                ]
            },
        ]
    }
    assert qdrant_filter(parse({})) is None


async def test_a_wrong_key_is_auth_failed_and_never_shown(
    server: QdrantServer, telemetry: Telemetry
) -> None:
    server.api_key = "another-key"
    async with store_at(server) as store:
        with pytest.raises(BelugaError) as excinfo:
            await store.count()
        assert KEY not in repr(store)
    error = excinfo.value
    assert error.code is ErrorCode.AUTH_FAILED and not error.retryable
    assert "401" in error.message and "API key" in error.message
    assert KEY not in str(error) and KEY not in repr(error)
    for span in telemetry.finished_spans():
        assert KEY not in str(span.attributes) and KEY not in str(span.events)


async def test_server_errors_are_retried_then_succeed(server: QdrantServer) -> None:
    server.enqueue(qdrant_error(503, "Service Unavailable"), Reply(reset=True))
    async with store_at(server, retries=3) as store:
        assert await store.count() == 0
    assert len(server.requests) == 3


async def test_rate_limit_carries_the_retry_after_hint(server: QdrantServer) -> None:
    limited = qdrant_error(429, "Too many requests", {"retry-after": "7"})
    server.enqueue(limited)
    async with store_at(server, retries=1) as store:
        with pytest.raises(BelugaError) as excinfo:
            await store.count()
    assert excinfo.value.code is ErrorCode.RATE_LIMITED
    assert excinfo.value.retryable and excinfo.value.retry_after == 7.0


async def test_a_refused_request_is_invalid_and_not_retried(server: QdrantServer) -> None:
    async with store_at(server, retries=3) as store:
        await store.upsert([Document("x", id="x")], [[1.0, 0.0, 0.0]])
        server.enqueue(qdrant_error(400, "Wrong input: Vector dimension error: expected dim: 3"))
        before = len(server.requests)
        with pytest.raises(BelugaError) as excinfo:
            await store.upsert([Document("y", id="y")], [[0.0, 1.0, 0.0]])
    assert excinfo.value.code is ErrorCode.INVALID_REQUEST and not excinfo.value.retryable
    assert "Vector dimension error" in excinfo.value.message
    assert len(server.requests) == before + 1


async def test_an_unreachable_server_is_retryable_unavailable() -> None:
    store = QdrantVectorStore("docs", url=f"http://127.0.0.1:{unused_port()}", retries=1)
    async with store:
        with pytest.raises(BelugaError) as excinfo:
            await store.search([1.0, 0.0], k=1)
    assert excinfo.value.code is ErrorCode.PROVIDER_UNAVAILABLE and excinfo.value.retryable
    assert "check url" in excinfo.value.message


async def test_an_existing_collection_is_checked_against_size_and_metric(
    server: QdrantServer,
) -> None:
    async with store_at(server) as store:
        await store.upsert([Document("x", id="x")], [[1.0, 0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        other = QdrantVectorStore("docs", url=server.url, api_key=KEY, dimensions=4)
        dot = QdrantVectorStore("docs", url=server.url, api_key=KEY, metric="dot")
        adopts = QdrantVectorStore("docs", url=server.url, api_key=KEY)
    async with other, dot, adopts:
        with pytest.raises(BelugaError, match="set dimensions=3") as excinfo:
            await other.count()
        assert excinfo.value.code is ErrorCode.INVALID_CONFIG
        with pytest.raises(BelugaError, match="measures cosine"):
            await dot.count()
        assert await adopts.count() == 1
        assert adopts.dimensions == 3


async def test_a_foreign_collection_record_is_a_clear_error(server: QdrantServer) -> None:
    from qdrant_client import models

    server.engine.create_collection("docs", models.VectorParams(size=3, distance="Cosine"))
    server.engine.upsert("docs", [models.PointStruct(id=1, vector=[1, 0, 0], payload={"t": 1})])
    async with store_at(server) as store:
        with pytest.raises(BelugaError, match="not a Beluga document"):
            await store.search([1.0, 0.0, 0.0])


async def test_registry_store_is_traced_with_one_span_per_qdrant_call(
    server: QdrantServer, telemetry: Telemetry
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        store = create("qdrant", collection="docs", url=server.url, api_key=KEY, dimensions=3)
    async with store:
        await store.upsert([Document("x", id="x")], [[1.0, 0.0, 0.0]])
        server.enqueue(qdrant_error(503, "Service Unavailable"))
        await store.search([1.0, 0.0, 0.0])
    spans = telemetry.finished_spans()
    names = [s.name for s in spans]
    assert "search docs" in names  # the protocol operation (traced wrapper)
    assert names.count("query_points docs") == 2  # one per attempt: a 503, then the answer
    failed, answered = [s for s in spans if s.name == "query_points docs"]
    assert (
        failed.attributes is not None and failed.attributes["error.type"] == "provider_unavailable"
    )
    assert answered.attributes is not None and answered.attributes["db.system.name"] == "qdrant"
    assert answered.attributes["db.collection.name"] == "docs"
    upsert = next(
        s
        for s in spans
        if s.name == "upsert docs" and s.attributes and "db.operation.batch.size" in s.attributes
    )
    assert upsert.attributes["db.operation.batch.size"] == 1  # type: ignore[index]
    assert telemetry.metric_points("db.client.operation.duration")


async def test_local_mode_on_disk_persists_across_reopening(tmp_path: Path) -> None:
    where = str(tmp_path / "qdrant")
    async with QdrantVectorStore("docs", path=where, dimensions=2) as store:
        await store.upsert([Document("kept", id="k", metadata={"t": "a"})], [[0.6, 0.8]])
    async with QdrantVectorStore("docs", path=where) as reopened:
        (doc,) = await reopened.get(["k"])
        assert doc.text == "kept" and doc.metadata == {"t": "a"}
        assert reopened.dimensions == 2


def test_conflicting_locations_and_bad_retries_are_config_errors() -> None:
    with pytest.raises(BelugaError, match="not several") as excinfo:
        QdrantVectorStore(url="http://127.0.0.1:1", path="/tmp/x")
    assert excinfo.value.code is ErrorCode.INVALID_CONFIG
    with pytest.raises(BelugaError, match="retries"):
        QdrantVectorStore(location=":memory:", retries=0)
