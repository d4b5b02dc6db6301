"""The embedded stores' shared promises (FAISS and usearch, one SQLite design): persistence, a
kill loses no committed write, another process's writes are seen, a reopened collection keeps its
metric and dimensions."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import Document
from beluga.vectorstores.providers._embedded import IndexedSqliteStore, default_vectors_path
from beluga.vectorstores.providers.faiss import FaissVectorStore
from beluga.vectorstores.providers.usearch import USearchVectorStore


@pytest.fixture(params=[FaissVectorStore, USearchVectorStore], ids=["faiss", "usearch"])
def Store(request: pytest.FixtureRequest) -> type[IndexedSqliteStore]:
    store: type[IndexedSqliteStore] = request.param
    return store


def unit(seed: int, n: int, dim: int = 16) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def docs(n: int, start: int = 0) -> list[Document]:
    return [
        Document(f"doc {i}", id=f"d{i}", metadata={"even": i % 2 == 0})
        for i in range(start, start + n)
    ]


async def test_a_closed_store_reopens_with_its_documents_and_saved_index(
    Store: type[IndexedSqliteStore], tmp_path: Path
) -> None:
    path = tmp_path / "v.db"
    vectors = unit(1, 300)
    async with Store(path) as store:
        await store.upsert(docs(300), vectors)
        before = await store.search(vectors[7], k=5)
    assert store.index_path.exists()
    reopened = Store(path)
    async with reopened:
        assert reopened.dimensions is None
        assert await reopened.count() == 300
        assert reopened.dimensions == 16
        assert reopened._saved == reopened._generation  # loaded, not rebuilt
        after = await reopened.search(vectors[7], k=5)
        assert [h.document.id for h in after] == [h.document.id for h in before]
        assert after[0].document.id == "d7"


def test_a_killed_process_loses_no_committed_write(
    Store: type[IndexedSqliteStore], tmp_path: Path
) -> None:
    path = tmp_path / "v.db"
    script = textwrap.dedent(
        f"""
        import asyncio, os
        import numpy as np
        from beluga.schema import Document
        from {Store.__module__} import {Store.__name__} as Store

        async def main():
            store = Store({str(path)!r})
            rows = np.eye(8, dtype=np.float32)
            await store.upsert([Document("a", id="a"), Document("b", id="b")], rows[:2])
            await store.flush()
            await store.upsert([Document("c", id="c", metadata={{"late": True}})], rows[2:3])
            await store.delete(["a"])
            os._exit(0)  # killed: no aclose, the index file is one write behind

        asyncio.run(main())
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)

    async def check() -> None:
        async with Store(path) as store:
            assert await store.count() == 2
            eye = np.eye(8, dtype=np.float32)
            (hit,) = await store.search(eye[2], k=1)
            assert hit.document.id == "c"
            assert hit.document.metadata == {"late": True}
            assert {h.document.id for h in await store.search(eye[0], k=5)} == {"b", "c"}

    import asyncio

    asyncio.run(check())


async def test_a_write_by_another_store_on_the_same_file_is_seen(
    Store: type[IndexedSqliteStore], tmp_path: Path
) -> None:
    path = tmp_path / "v.db"
    vectors = unit(2, 20)
    async with Store(path) as first, Store(path) as second:
        await first.upsert(docs(10), vectors[:10])
        assert await second.count() == 10
        await second.upsert(docs(10, start=10), vectors[10:])
        (hit,) = await first.search(vectors[15], k=1)
        assert hit.document.id == "d15"
        await second.delete(filter={"even": True})
        hits = await first.search(vectors[0], k=20)
        assert {h.document.id for h in hits} == {f"d{i}" for i in range(1, 20, 2)}


async def test_reopening_with_another_metric_or_size_is_a_config_error(
    Store: type[IndexedSqliteStore], tmp_path: Path
) -> None:
    path = tmp_path / "v.db"
    async with Store(path, dimensions=16) as store:
        await store.upsert(docs(2), unit(3, 2))
    with pytest.raises(BelugaError) as excinfo:
        async with Store(path, metric="dot") as other:
            await other.count()
    assert excinfo.value.code is ErrorCode.INVALID_CONFIG
    assert "holds cosine vectors" in excinfo.value.message
    with pytest.raises(BelugaError) as excinfo:
        async with Store(path, dimensions=32) as other:
            await other.count()
    assert "holds vectors of 16 floats, not 32" in excinfo.value.message
    async with Store(path, collection="other", metric="dot") as other:
        assert await other.count() == 0


async def test_a_file_that_is_not_a_database_is_named(
    Store: type[IndexedSqliteStore], tmp_path: Path
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, not sqlite " * 100)
    with pytest.raises(BelugaError) as excinfo:
        async with Store(path) as store:
            await store.count()
    assert excinfo.value.code is ErrorCode.INVALID_CONFIG
    assert "is not a SQLite database" in excinfo.value.message


@pytest.mark.parametrize("name", ["", "a-b", "x; DROP TABLE t", "é", "a" * 49])
def test_collection_names_are_checked(
    Store: type[IndexedSqliteStore], tmp_path: Path, name: str
) -> None:
    with pytest.raises(BelugaError) as excinfo:
        Store(tmp_path / "v.db", collection=name)
    assert "letters, digits or underscores" in excinfo.value.message


async def test_a_corrupt_index_file_is_rebuilt_from_the_database(
    Store: type[IndexedSqliteStore], tmp_path: Path
) -> None:
    path = tmp_path / "v.db"
    vectors = unit(4, 50)
    async with Store(path) as store:
        await store.upsert(docs(50), vectors)
    store.index_path.write_bytes(b"garbage")
    async with Store(path) as store:
        (hit,) = await store.search(vectors[3], k=1)
        assert hit.document.id == "d3"


async def test_filtered_search_past_exact_below_uses_the_index(
    Store: type[IndexedSqliteStore], tmp_path: Path
) -> None:
    vectors = unit(5, 400)
    async with Store(tmp_path / "v.db", exact_below=10) as store:
        await store.upsert(docs(400), vectors)
        hits = await store.search(vectors[8], k=5, filter={"even": True})
        assert hits[0].document.id == "d8"
        assert len(hits) == 5
        assert all(h.document.metadata["even"] for h in hits)


async def test_a_closed_store_refuses_calls(
    Store: type[IndexedSqliteStore], tmp_path: Path
) -> None:
    store = Store(tmp_path / "v.db")
    await store.aclose()
    await store.aclose()
    with pytest.raises(BelugaError) as excinfo:
        await store.count()
    assert "is closed" in excinfo.value.message


def test_the_default_path_follows_the_environment(
    Store: type[IndexedSqliteStore], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BELUGA_VECTORS_DB", str(tmp_path / "x.db"))
    assert default_vectors_path() == tmp_path / "x.db"
    monkeypatch.delenv("BELUGA_VECTORS_DB")
    assert default_vectors_path() == Path.home() / ".beluga" / "vectors.db"
