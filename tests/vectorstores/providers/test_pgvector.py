"""pgvector's own promises, against the real server at BELUGA_PG_DSN (a unique table per test):
the HNSW index is used, a selective filter still gets every match, a reopened table keeps its
size and metric, a dropped connection is replaced, and the DSN's password never shows."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator

import numpy as np
import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import Document
from beluga.vectorstores.providers.pgvector import PgVectorStore

PG = os.environ.get("BELUGA_PG_DSN")
pytestmark = pytest.mark.skipif(
    not PG, reason="BELUGA_PG_DSN is not set (make test starts PostgreSQL and sets it)"
)


def unit(seed: int, n: int, dim: int = 16) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture
async def table() -> AsyncIterator[str]:
    name = f"vs_{uuid.uuid4().hex[:16]}"
    yield name
    assert PG is not None
    async with PgVectorStore(PG, table=name) as store:
        await store.drop()


async def test_search_uses_the_hnsw_index(table: str) -> None:
    assert PG is not None
    vectors = unit(1, 2000)
    async with PgVectorStore(PG, table=table, dimensions=16) as store:
        await store.upsert([Document(f"d{i}", id=f"d{i}") for i in range(2000)], vectors)
        (hit,) = await store.search(vectors[42], k=1)
        assert hit.document.id == "d42"
        assert hit.score == pytest.approx(1.0, abs=1e-5)

        async def plan(conn: object) -> str:
            cur = await conn.execute(  # type: ignore[attr-defined]
                f"EXPLAIN SELECT id FROM {table} ORDER BY embedding <=> %s LIMIT 10",
                (vectors[0],),
            )
            return " ".join(row[0] for row in await cur.fetchall())

        assert f"{table}_hnsw" in await store._do(plan)


async def hnsw_indexes(store: PgVectorStore) -> list[str]:
    async def names(conn: object) -> list[str]:
        cur = await conn.execute(  # type: ignore[attr-defined]
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am am ON am.oid = c.relam WHERE i.indrelid = to_regclass(%s) "
            "AND am.amname = 'hnsw'",
            (store.table,),
        )
        return [row[0] for row in await cur.fetchall()]

    return await store._do(names)


async def test_bulk_builds_the_index_once_at_the_end(table: str) -> None:
    assert PG is not None
    vectors = unit(5, 1500)
    docs = [Document(f"d{i}", id=f"d{i}") for i in range(1500)]
    async with PgVectorStore(PG, table=table) as store:  # no table yet: made inside bulk
        async with store.bulk(memory="256MB"):
            for lo in range(0, 1500, 500):
                await store.upsert(docs[lo : lo + 500], vectors[lo : lo + 500])
            assert await hnsw_indexes(store) == []
            assert (await store.search(vectors[7], k=1))[0].document.id == "d7"  # exact scan
        assert await hnsw_indexes(store) == [f"{table}_hnsw"]
        async with store.bulk():  # an existing table: its index dropped, then rebuilt
            assert await hnsw_indexes(store) == []
            await store.upsert([Document("new", id="new")], unit(6, 1))
        assert await hnsw_indexes(store) == [f"{table}_hnsw"] and await store.count() == 1501
        with pytest.raises(BelugaError, match="memory must be like"):
            async with store.bulk(memory="1GB; DROP TABLE x"):
                pass


async def test_a_table_left_without_its_index_gets_it_back(table: str) -> None:
    assert PG is not None
    async with PgVectorStore(PG, table=table) as store:
        await store.upsert([Document("a", id="a")], unit(7, 1))
        await store._do(lambda conn: conn.execute(f"DROP INDEX {table}_hnsw"))  # a killed bulk
    async with PgVectorStore(PG, table=table) as store:
        assert await store.count() == 1
        assert await hnsw_indexes(store) == [f"{table}_hnsw"]


async def test_a_selective_filter_gets_every_match(table: str) -> None:
    assert PG is not None
    vectors = unit(2, 3000)
    docs = [Document(f"d{i}", id=f"d{i}", metadata={"rare": i % 1000 == 7}) for i in range(3000)]
    async with PgVectorStore(PG, table=table, dimensions=16, ef_search=10) as store:
        await store.upsert(docs, vectors)
        hits = await store.search(vectors[0], k=10, filter={"rare": True})
        assert sorted(h.document.id for h in hits) == ["d1007", "d2007", "d7"]
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)


async def test_a_reopened_table_keeps_its_size_and_metric(table: str) -> None:
    assert PG is not None
    async with PgVectorStore(PG, table=table, metric="dot") as store:
        assert await store.count() == 0  # no table yet: its size is unknown
        await store.upsert([Document("a", id="a")], unit(3, 1))
    async with PgVectorStore(PG, table=table, metric="dot") as store:
        assert await store.count() == 1
        assert store.dimensions == 16
    with pytest.raises(BelugaError) as excinfo:
        async with PgVectorStore(PG, table=table) as store:
            await store.count()
    assert excinfo.value.code is ErrorCode.INVALID_CONFIG
    assert "indexed for dot, not cosine" in excinfo.value.message
    with pytest.raises(BelugaError) as excinfo:
        async with PgVectorStore(PG, table=table, metric="dot", dimensions=8) as store:
            await store.count()
    assert "holds vectors of 16 floats, not 8" in excinfo.value.message


async def test_a_connection_the_server_dropped_is_replaced(table: str) -> None:
    assert PG is not None
    async with PgVectorStore(PG, table=table, dimensions=16) as store:
        await store.upsert([Document("a", id="a")], unit(4, 1))

        async def pid(conn: object) -> int:
            cur = await conn.execute("SELECT pg_backend_pid()")  # type: ignore[attr-defined]
            return int((await cur.fetchone())[0])

        backend = await store._do(pid)
        async with PgVectorStore(PG, table=table) as other:

            async def kill(conn: object) -> None:
                await conn.execute(  # type: ignore[attr-defined]
                    "SELECT pg_terminate_backend(%s)", (backend,)
                )

            await other._do(kill)
        assert await store.count() == 1
        assert await store._do(pid) != backend


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_server_is_named_without_the_password() -> None:
    secret = "pw-very-secret-123"
    dsn = f"postgresql://beluga:{secret}@127.0.0.1:{_closed_port()}/vectors"
    store = PgVectorStore(dsn, dimensions=4, timeout=2)
    assert secret not in repr(store)
    with pytest.raises(BelugaError) as excinfo:
        await store.count()
    assert excinfo.value.code is ErrorCode.PROVIDER_UNAVAILABLE
    assert "127.0.0.1" in str(excinfo.value)
    assert secret not in str(excinfo.value)
    assert secret not in repr(excinfo.value)


@pytest.mark.parametrize("name", ["x; DROP TABLE t", "1abc", "a-b", "a" * 60])
def test_table_names_are_checked(name: str) -> None:
    assert PG is not None
    with pytest.raises(BelugaError) as excinfo:
        PgVectorStore(PG, table=name)
    assert "invalid table name" in excinfo.value.message
