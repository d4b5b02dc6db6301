"""WeaviateVectorStore through the official v4 client against a loopback Weaviate (REST schema
API and gRPC data API from the client's own protobuf definitions, tests.support.weaviate_server):
what it declares and sends, errors on both protocols, retries, secrets, existing collections.

The contract suite runs the shared tests on it; this file checks what is Weaviate's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import Document
from beluga.vectorstores.providers._records import KEYS, field
from beluga.vectorstores.providers.weaviate import WeaviateVectorStore
from tests.conftest import Telemetry
from tests.support.replay_server import unused_port
from tests.support.weaviate_server import WeaviateServer, weaviate_error

KEY = "wv-PLANTED-weaviate-secret-77"


@pytest.fixture
async def server() -> AsyncIterator[WeaviateServer]:
    async with WeaviateServer(api_key=KEY) as weaviate:
        yield weaviate
        assert not weaviate.failures, weaviate.failures[0]


def store_at(server: WeaviateServer, **options: object) -> WeaviateVectorStore:
    return WeaviateVectorStore(
        "docs",
        url=server.url,
        grpc_port=server.grpc_port,
        api_key=KEY,
        **options,  # type: ignore[arg-type]
    )


async def test_schema_is_declared_before_the_data_that_uses_it(server: WeaviateServer) -> None:
    async with store_at(server, dimensions=3) as store:
        await store.upsert([Document("hi", id="a", metadata={"tag": "x"})], [[1.0, 0.0, 0.0]])
        (hit,) = await store.search([1.0, 0.0, 0.0], k=1, filter={"tag": "x"})
    assert hit.document.id == "a" and hit.score == pytest.approx(1.0)
    assert store.collection == "Docs"  # Weaviate class names start with a capital
    schema = server.classes["Docs"].schema
    props = {p["name"]: p for p in schema["properties"]}
    assert props[KEYS]["dataType"] == ["text[]"] and props[KEYS]["tokenization"] == "field"
    assert props["beluga_document"]["indexFilterable"] is False
    assert props[field("tag", "s")]["tokenization"] == "field"  # Equal is exact, not by word
    vector = schema["vectorConfig"]["default"]
    assert vector["vectorIndexConfig"]["distance"] == "cosine"
    rest = [(r.method, r.path) for r in server.requests]
    assert rest[0] == ("GET", "/v1/meta")
    assert ("POST", "/v1/schema") in rest and ("POST", "/v1/schema/Docs/properties") in rest
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in server.requests)
    assert server.grpc_calls == ["BatchObjects", "Search"]


async def test_start_up_checks_that_call_pypi_are_off(server: WeaviateServer) -> None:
    async with store_at(server) as store:
        await store.count()
        assert store._client._connection._skip_init_checks is True


async def test_a_filter_on_a_key_no_document_has_matches_nothing(server: WeaviateServer) -> None:
    async with store_at(server, dimensions=2) as store:
        await store.upsert([Document("a", id="a", metadata={"n": 1})], [[1.0, 0.0]])
        assert await store.search([1.0, 0.0], filter={"missing": "x"}) == []
        assert await store.count({"n": {"$gt": 0}}) == 1
        assert await store.count({"missing": {"$ne": 1}}) == 0
        assert await store.count({"n": {"$ne": "1"}}) == 1  # another type: a different value


async def test_a_property_another_writer_added_is_seen(server: WeaviateServer) -> None:
    async with store_at(server, dimensions=2) as reader, store_at(server) as writer:
        await reader.upsert([Document("a", id="a")], [[1.0, 0.0]])
        assert await reader.count({"lang": "en"}) == 0
        await writer.upsert([Document("b", id="b", metadata={"lang": "en"})], [[0.0, 1.0]])
        assert await reader.count({"lang": "en"}) == 1


async def test_a_delete_larger_than_the_servers_page_is_repeated(
    server: WeaviateServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from beluga.vectorstores.providers import weaviate as module

    monkeypatch.setattr(module, "_DELETE_PAGE", 2)
    server.max_results = 2
    docs = [Document(str(i), id=str(i), metadata={"t": "x"}) for i in range(5)]
    async with store_at(server, dimensions=2) as store:
        await store.upsert(docs, [[1.0, float(i)] for i in range(5)])
        await store.delete(filter={"t": "x"})
        assert await store.count() == 0
    assert server.grpc_calls.count("BatchDelete") == 3


async def test_a_wrong_key_is_auth_failed_and_never_shown(
    server: WeaviateServer, telemetry: Telemetry
) -> None:
    server.api_key = "another-key"
    async with store_at(server) as store:
        with pytest.raises(BelugaError) as excinfo:
            await store.count()
        assert KEY not in repr(store)
    error = excinfo.value
    assert error.code is ErrorCode.AUTH_FAILED and not error.retryable
    assert "401" in error.message
    assert KEY not in str(error) and KEY not in repr(error)
    for span in telemetry.finished_spans():
        assert KEY not in str(span.attributes) and KEY not in str(span.events)


async def test_grpc_unavailable_is_retried_by_the_client_itself(server: WeaviateServer) -> None:
    # weaviate-client retries UNAVAILABLE with its own backoff (1 s, 2 s, ...) and has no
    # setting to turn that off: one fault costs a second, not an error, even with retries=1.
    async with store_at(server, dimensions=2, retries=1) as store:
        await store.upsert([Document("a", id="a")], [[1.0, 0.0]])
        server.grpc_faults.append(grpc.StatusCode.UNAVAILABLE)
        assert [h.document.id for h in await store.search([1.0, 0.0])] == ["a"]
    assert server.grpc_calls.count("Search") == 2


async def test_grpc_resource_exhausted_is_rate_limited_and_retried_by_us(
    server: WeaviateServer,
) -> None:
    async with store_at(server, dimensions=2, retries=2) as store:
        await store.upsert([Document("a", id="a")], [[1.0, 0.0]])
        server.grpc_faults.append(grpc.StatusCode.RESOURCE_EXHAUSTED)
        assert await store.count() == 1
        server.grpc_faults.extend([grpc.StatusCode.RESOURCE_EXHAUSTED] * 2)
        with pytest.raises(BelugaError) as excinfo:
            await store.count()
    assert excinfo.value.code is ErrorCode.RATE_LIMITED and excinfo.value.retryable


async def test_grpc_invalid_argument_is_not_retried(server: WeaviateServer) -> None:
    async with store_at(server, dimensions=2, retries=3) as store:
        await store.upsert([Document("a", id="a")], [[1.0, 0.0]])
        server.grpc_faults.append(grpc.StatusCode.INVALID_ARGUMENT)
        with pytest.raises(BelugaError) as excinfo:
            await store.search([1.0, 0.0])
    assert excinfo.value.code is ErrorCode.INVALID_REQUEST and not excinfo.value.retryable
    assert server.grpc_calls.count("Search") == 1


async def test_a_rest_server_error_is_retryable(server: WeaviateServer) -> None:
    async with store_at(server, dimensions=2, retries=2) as store:
        server.enqueue(weaviate_error(500, "internal error"))
        await store.upsert([Document("a", id="a")], [[1.0, 0.0]])
        assert await store.count() == 1


async def test_an_unreachable_server_is_retryable_unavailable() -> None:
    store = WeaviateVectorStore(
        url=f"http://127.0.0.1:{unused_port()}", grpc_port=unused_port() + 1, retries=1
    )
    async with store:
        with pytest.raises(BelugaError) as excinfo:
            await store.count()
    assert excinfo.value.code is ErrorCode.PROVIDER_UNAVAILABLE and excinfo.value.retryable


async def test_an_existing_collection_is_checked(server: WeaviateServer) -> None:
    async with store_at(server, dimensions=2) as store:
        await store.upsert([Document("a", id="a")], [[1.0, 0.0]])
    async with store_at(server, metric="dot") as dot:
        with pytest.raises(BelugaError, match="measures cosine") as excinfo:
            await dot.count()
    assert excinfo.value.code is ErrorCode.INVALID_CONFIG
    vectors = server.classes["Docs"].schema["vectorConfig"]
    server.add_class({"class": "Other", "properties": [], "vectorConfig": vectors})
    async with WeaviateVectorStore(
        "Other", url=server.url, grpc_port=server.grpc_port, api_key=KEY
    ) as foreign:
        with pytest.raises(BelugaError, match="not written by Beluga"):
            await foreign.count()


def test_rest_and_grpc_on_one_port_is_a_config_error() -> None:
    with pytest.raises(BelugaError, match="different ports") as excinfo:
        WeaviateVectorStore(url="http://127.0.0.1:8080", grpc_port=8080)
    assert excinfo.value.code is ErrorCode.INVALID_CONFIG


def test_a_bad_collection_name_is_a_config_error() -> None:
    with pytest.raises(BelugaError, match="not a Weaviate collection name") as excinfo:
        WeaviateVectorStore("my-docs")
    assert excinfo.value.code is ErrorCode.INVALID_CONFIG
    with pytest.raises(BelugaError, match="user info"):
        WeaviateVectorStore("Docs", url="http://user:secret-pw@127.0.0.1:8080")


async def test_operations_are_traced(server: WeaviateServer, telemetry: Telemetry) -> None:
    async with store_at(server, dimensions=2) as store:
        await store.upsert([Document("a", id="a")], [[1.0, 0.0]])
    spans = {s.name: s for s in telemetry.finished_spans()}
    assert spans["insert_many Docs"].attributes["db.system.name"] == "weaviate"  # type: ignore[index]
