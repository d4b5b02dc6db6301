"""PineconeVectorStore through the official SDK against a loopback Pinecone data plane
(tests.support.pinecone_server): bodies and headers, errors and retries (ours, not the SDK's),
the metadata limit, index checks, paging, secrets and spans.

The contract suite runs the shared tests on it; this file checks what is Pinecone's own.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import Document, ImagePart
from beluga.vectorstores.providers import pinecone as pinecone_module
from beluga.vectorstores.providers._records import KEYS, field, token
from beluga.vectorstores.providers.pinecone import PineconeVectorStore
from tests.conftest import Telemetry
from tests.support.pinecone_server import PineconeServer, pinecone_error
from tests.support.replay_server import Reply, unused_port

KEY = "pcsk_PLANTED_pinecone_secret_42"


@pytest.fixture
async def server() -> AsyncIterator[PineconeServer]:
    async with PineconeServer(dimension=3, api_key=KEY) as pinecone:
        yield pinecone
        assert not pinecone.failures, pinecone.failures[0]


def store_at(server: PineconeServer, **options: object) -> PineconeVectorStore:
    return PineconeVectorStore(
        "idx",
        host=server.url,
        api_key=KEY,
        namespace="ns1",
        **options,  # type: ignore[arg-type]
    )


async def test_wire_bodies_headers_and_namespace(server: PineconeServer) -> None:
    async with store_at(server) as store:
        await store.upsert([Document("hi", id="a", metadata={"tag": "x", "n": 2})], [[1, 0, 0]])
        hits = await store.search([1.0, 0.0, 0.0], k=2, filter={"tag": "x"})
        assert [d.id for d in await store.get(["a", "zz"])] == ["a"]
    paths = [(r.method, r.path.split("?")[0]) for r in server.requests]
    assert paths == [
        ("POST", "/describe_index_stats"),
        ("POST", "/vectors/upsert"),
        ("POST", "/query"),
        ("GET", "/vectors/fetch"),
    ]
    for request in server.requests:
        assert request.headers["api-key"] == KEY
        assert request.headers["x-pinecone-api-version"]
    (record,) = server.requests[1].json()["vectors"]
    assert server.requests[1].json()["namespace"] == "ns1"
    assert record["id"] == "a" and record["values"] == [1.0, 0.0, 0.0]
    assert json.loads(record["metadata"]["beluga_document"])["metadata"] == {"tag": "x", "n": 2}
    assert record["metadata"][field("n", "n")] == 2.0
    assert token("tag") in record["metadata"][KEYS]
    query = server.requests[2].json()
    assert query["topK"] == 2 and query["includeMetadata"] is True
    assert query["filter"] == {field("tag", "s"): {"$eq": "x"}}
    assert hits[0].document.id == "a" and hits[0].score == pytest.approx(1.0)


async def test_a_wrong_key_is_auth_failed_and_the_key_is_never_shown(
    server: PineconeServer, telemetry: Telemetry
) -> None:
    server.api_key = "another"
    async with store_at(server) as store:
        with pytest.raises(BelugaError) as excinfo:
            await store.count()
        assert KEY not in repr(store)
    error = excinfo.value
    assert error.code is ErrorCode.AUTH_FAILED and not error.retryable
    assert "Invalid API Key" in error.message
    assert KEY not in str(error) and KEY not in repr(error)
    for span in telemetry.finished_spans():
        assert KEY not in str(span.attributes) and KEY not in str(span.events)


async def test_rate_limit_is_ours_to_retry_not_the_sdks(server: PineconeServer) -> None:
    server.enqueue(pinecone_error(429, "Too many requests", {"retry-after": "9"}))
    async with store_at(server, retries=1) as store:
        with pytest.raises(BelugaError) as excinfo:
            await store.count()
    assert excinfo.value.code is ErrorCode.RATE_LIMITED and excinfo.value.retry_after == 9.0
    assert len(server.requests) == 1  # the SDK did not retry behind our back


async def test_an_outage_and_a_dropped_connection_are_retried(server: PineconeServer) -> None:
    server.enqueue(pinecone_error(503, "Service Unavailable"), Reply(reset=True))
    async with store_at(server, retries=3) as store:
        assert await store.count() == 0
    assert len(server.requests) == 3


async def test_a_refused_request_is_invalid_and_not_retried(server: PineconeServer) -> None:
    async with store_at(server, retries=3) as store:
        await store.count()
        server.enqueue(pinecone_error(400, "Vector dimension 3 does not match the dimension"))
        with pytest.raises(BelugaError) as excinfo:
            await store.upsert([Document("x", id="x")], [[1.0, 0.0, 0.0]])
    assert excinfo.value.code is ErrorCode.INVALID_REQUEST and not excinfo.value.retryable
    assert "does not match" in excinfo.value.message
    assert len(server.requests) == 2


async def test_an_unreachable_host_is_retryable_unavailable() -> None:
    store = PineconeVectorStore(host=f"http://127.0.0.1:{unused_port()}", api_key=KEY, retries=1)
    async with store:
        with pytest.raises(BelugaError) as excinfo:
            await store.count()
    assert excinfo.value.code is ErrorCode.PROVIDER_UNAVAILABLE and excinfo.value.retryable


async def test_metadata_over_pineconess_limit_is_refused_before_sending(
    server: PineconeServer,
) -> None:
    big = Document([ImagePart(data=b"\x89PNG" + bytes(40_000), media_type="image/png")], id="big")
    async with store_at(server) as store:
        with pytest.raises(BelugaError, match="40960-byte limit") as excinfo:
            await store.upsert([big], [[1.0, 0.0, 0.0]])
    assert excinfo.value.code is ErrorCode.INVALID_REQUEST
    assert not any(r.path.startswith("/vectors/upsert") for r in server.requests)


async def test_an_index_of_another_size_or_metric_is_a_config_error(
    server: PineconeServer,
) -> None:
    async with store_at(server, dimensions=4) as wider:
        with pytest.raises(BelugaError, match="set dimensions=3") as excinfo:
            await wider.search([1.0, 0.0, 0.0, 0.0])
        assert excinfo.value.code is ErrorCode.INVALID_CONFIG
    async with store_at(server, metric="dot") as dot:
        with pytest.raises(BelugaError, match="measures cosine"):
            await dot.upsert([Document("x", id="x")], [[1.0, 0.0, 0.0]])
    async with store_at(server) as adopts:
        await adopts.count()
        await adopts.upsert([Document("x", id="x")], [[1.0, 0.0, 0.0]])
        assert adopts.dimensions == 3


async def test_counting_with_a_filter_pages_through_fetch_by_metadata(
    server: PineconeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pinecone_module, "_PAGE", 2)
    docs = [Document(str(i), id=f"d{i}", metadata={"even": i % 2 == 0}) for i in range(7)]
    async with store_at(server) as store:
        await store.upsert(docs, [[1.0, float(i), 0.0] for i in range(7)])
        assert await store.count({"even": True}) == 4
        assert await store.count() == 7
    pages = [r for r in server.requests if r.path == "/vectors/fetch_by_metadata"]
    assert len(pages) == 2 and pages[1].json()["paginationToken"] == "2"


async def test_delete_ids_matching_a_filter_checks_the_filter_on_fetched_records(
    server: PineconeServer,
) -> None:
    docs = [Document("a", id="a", metadata={"t": 1}), Document("b", id="b", metadata={"t": 2})]
    async with store_at(server) as store:
        await store.upsert(docs, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        await store.delete(["a", "b"], filter={"t": 2})
        assert [d.id for d in await store.get(["a", "b"])] == ["a"]
        await store.delete(filter={})
        assert await store.count() == 0
    assert server.requests[-2].json() == {"namespace": "ns1", "deleteAll": True}


def test_host_and_key_are_required_with_the_fix() -> None:
    with pytest.raises(BelugaError, match="PINECONE_HOST") as excinfo:
        PineconeVectorStore(api_key=KEY)
    assert excinfo.value.code is ErrorCode.INVALID_CONFIG
    with pytest.raises(BelugaError, match="PINECONE_API_KEY"):
        PineconeVectorStore(host="https://idx-abc.svc.pinecone.io")


async def test_operations_are_traced(server: PineconeServer, telemetry: Telemetry) -> None:
    async with store_at(server) as store:
        await store.search([1.0, 0.0, 0.0])
    spans = {s.name: s for s in telemetry.finished_spans()}
    assert spans["query idx"].attributes["db.system.name"] == "pinecone"  # type: ignore[index]
