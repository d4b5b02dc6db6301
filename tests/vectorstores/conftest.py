"""The stores the shared contract suite (test_contract.py) runs on.

Adding a store is one line in ``FACTORIES``: ``StoreFactory("name", opener)``, where
``opener(dimensions, metric, tmp_path)`` is an async context manager yielding a fresh, empty store
(its own table, collection or prefix) and removing what it created on exit; ``metrics=`` lists
the metrics it supports (the others' tests skip). An opener that needs a server calls
``pytest.skip`` when the server's environment variable is absent, and fails loudly when it is set
but the server is broken. Openers import their store inside, so a missing client library breaks
only that store's tests.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from beluga.vectorstores import METRICS, Metric, VectorStore
from beluga.vectorstores.providers.memory import InMemoryVectorStore

PG = os.environ.get("BELUGA_PG_DSN")

Opener = Callable[[int, Metric, Path], AbstractAsyncContextManager[VectorStore]]


@dataclass(frozen=True, slots=True)
class StoreFactory:
    """A store of the contract suite: its name, how to open a fresh one, its metrics."""

    name: str
    open: Opener
    metrics: tuple[Metric, ...] = METRICS


@asynccontextmanager
async def memory_store(
    dimensions: int, metric: Metric, tmp_path: Path
) -> AsyncIterator[VectorStore]:
    async with InMemoryVectorStore(dimensions=dimensions, metric=metric) as store:
        yield store


@asynccontextmanager
async def usearch_store(
    dimensions: int, metric: Metric, tmp_path: Path
) -> AsyncIterator[VectorStore]:
    from beluga.vectorstores.providers.usearch import USearchVectorStore

    async with USearchVectorStore(
        tmp_path / "vectors.db", dimensions=dimensions, metric=metric, exact_below=4
    ) as store:
        yield store


@asynccontextmanager
async def pgvector_store(
    dimensions: int, metric: Metric, tmp_path: Path
) -> AsyncIterator[VectorStore]:
    if not PG:
        pytest.skip("BELUGA_PG_DSN is not set (make test starts PostgreSQL and sets it)")
    from beluga.vectorstores.providers.pgvector import PgVectorStore

    store = PgVectorStore(
        PG, table=f"vs_{uuid.uuid4().hex[:16]}", dimensions=dimensions, metric=metric, pool_size=2
    )
    try:
        yield store
    finally:
        await store.drop()
        await store.aclose()


@asynccontextmanager
async def faiss_store(
    dimensions: int, metric: Metric, tmp_path: Path
) -> AsyncIterator[VectorStore]:
    from beluga.vectorstores.providers.faiss import FaissVectorStore

    async with FaissVectorStore(
        tmp_path / "vectors.db", dimensions=dimensions, metric=metric, exact_below=4
    ) as store:
        yield store


FACTORIES: list[StoreFactory] = [
    StoreFactory("memory", memory_store),
    StoreFactory("faiss", faiss_store),
    StoreFactory("usearch", usearch_store),
    StoreFactory("pgvector", pgvector_store),
]

# --- h-vcloud: Qdrant, Chroma, Pinecone, Weaviate (each against its local engine or server) ---


@asynccontextmanager
async def qdrant_local_store(
    dimensions: int, metric: Metric, tmp_path: Path
) -> AsyncIterator[VectorStore]:
    from beluga.vectorstores.providers.qdrant import QdrantVectorStore

    async with QdrantVectorStore(
        "contract", location=":memory:", dimensions=dimensions, metric=metric
    ) as store:
        yield store


@asynccontextmanager
async def qdrant_http_store(
    dimensions: int, metric: Metric, tmp_path: Path
) -> AsyncIterator[VectorStore]:
    from beluga.vectorstores.providers.qdrant import QdrantVectorStore
    from tests.support.qdrant_server import QdrantServer

    async with QdrantServer(api_key="qdrant-test-key") as server:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # an API key over plain http
            store = QdrantVectorStore(
                "contract",
                url=server.url,
                api_key="qdrant-test-key",
                dimensions=dimensions,
                metric=metric,
            )
        async with store:
            yield store
        assert not server.failures, server.failures[0]


@asynccontextmanager
async def chroma_store(
    dimensions: int, metric: Metric, tmp_path: Path
) -> AsyncIterator[VectorStore]:
    from beluga.vectorstores.providers.chroma import ChromaVectorStore

    async with ChromaVectorStore(
        "contract", path=str(tmp_path / "chroma"), dimensions=dimensions, metric=metric
    ) as store:
        yield store


_PINECONE_METRIC = {"cosine": "cosine", "dot": "dotproduct", "euclidean": "euclidean"}


@asynccontextmanager
async def pinecone_store(
    dimensions: int, metric: Metric, tmp_path: Path
) -> AsyncIterator[VectorStore]:
    from beluga.vectorstores.providers.pinecone import PineconeVectorStore
    from tests.support.pinecone_server import PineconeServer

    key = "pinecone-test-key"
    server = PineconeServer(dimension=dimensions, metric=_PINECONE_METRIC[metric], api_key=key)
    async with server:
        store = PineconeVectorStore(
            "contract", host=server.url, api_key=key, dimensions=dimensions, metric=metric
        )
        async with store:
            yield store
        assert not server.failures, server.failures[0]


@asynccontextmanager
async def weaviate_store(
    dimensions: int, metric: Metric, tmp_path: Path
) -> AsyncIterator[VectorStore]:
    from beluga.vectorstores.providers.weaviate import WeaviateVectorStore
    from tests.support.weaviate_server import WeaviateServer

    key = "weaviate-test-key"
    async with WeaviateServer(api_key=key) as server:
        store = WeaviateVectorStore(
            "Contract",
            url=server.url,
            grpc_port=server.grpc_port,
            api_key=key,
            dimensions=dimensions,
            metric=metric,
        )
        async with store:
            yield store
        assert not server.failures, server.failures[0]


FACTORIES += [
    StoreFactory("qdrant-local", qdrant_local_store),
    StoreFactory("qdrant-http", qdrant_http_store),
    StoreFactory("chroma", chroma_store),
    StoreFactory("pinecone", pinecone_store),
    StoreFactory("weaviate", weaviate_store),
]

StoreMaker = Callable[..., Awaitable[VectorStore]]


@pytest.fixture(params=FACTORIES, ids=lambda factory: factory.name)
def factory(request: pytest.FixtureRequest) -> StoreFactory:
    result: StoreFactory = request.param
    return result


@pytest.fixture
async def open_store(factory: StoreFactory, tmp_path: Path) -> AsyncIterator[StoreMaker]:
    """``await open_store(dimensions=8, metric="cosine")``: a fresh store, closed after the test."""
    async with AsyncExitStack() as stack:
        opened = 0

        async def make(dimensions: int = 8, metric: Metric = "cosine") -> VectorStore:
            nonlocal opened
            if metric not in factory.metrics:
                pytest.skip(f"{factory.name} has no {metric} metric")
            opened += 1
            where = tmp_path / f"store{opened}"
            where.mkdir()
            return await stack.enter_async_context(factory.open(dimensions, metric, where))

        yield make
