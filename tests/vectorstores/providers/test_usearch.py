"""The embedded default's own promises: persistence, a kill loses no committed write, another
process's writes are seen, a reopened collection keeps its metric and dimensions."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import Document
from beluga.vectorstores.providers.usearch import USearchVectorStore, default_vectors_path


def unit(seed: int, n: int, dim: int = 16) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def docs(n: int, start: int = 0) -> list[Document]:
    return [
        Document(f"doc {i}", id=f"d{i}", metadata={"even": i % 2 == 0})
        for i in range(start, start + n)
    ]


async def test_a_closed_store_reopens_with_its_documents_and_saved_index(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    vectors = unit(1, 300)
    async with USearchVectorStore(path) as store:
        await store.upsert(docs(300), vectors)
        before = await store.search(vectors[7], k=5)
    assert store.index_path.exists()
    reopened = USearchVectorStore(path)
    async with reopened:
        assert reopened.dimensions is None
        assert await reopened.count() == 300
        assert reopened.dimensions == 16
        assert reopened._saved == reopened._generation  # loaded, not rebuilt
        after = await reopened.search(vectors[7], k=5)
        assert [h.document.id for h in after] == [h.document.id for h in before]
        assert after[0].document.id == "d7"


def test_a_killed_process_loses_no_committed_write(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    script = textwrap.dedent(
        f"""
        import asyncio, os
        import numpy as np
        from beluga.schema import Document
        from beluga.vectorstores.providers.usearch import USearchVectorStore

        async def main():
            store = USearchVectorStore({str(path)!r})
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
        async with USearchVectorStore(path) as store:
            assert await store.count() == 2
            eye = np.eye(8, dtype=np.float32)
            (hit,) = await store.search(eye[2], k=1)
            assert hit.document.id == "c"
            assert hit.document.metadata == {"late": True}
            assert {h.document.id for h in await store.search(eye[0], k=5)} == {"b", "c"}

    import asyncio

    asyncio.run(check())


async def test_a_write_by_another_store_on_the_same_file_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    vectors = unit(2, 20)
    async with USearchVectorStore(path) as first, USearchVectorStore(path) as second:
        await first.upsert(docs(10), vectors[:10])
        assert await second.count() == 10
        await second.upsert(docs(10, start=10), vectors[10:])
        (hit,) = await first.search(vectors[15], k=1)
        assert hit.document.id == "d15"
        await second.delete(filter={"even": True})
        hits = await first.search(vectors[0], k=20)
        assert {h.document.id for h in hits} == {f"d{i}" for i in range(1, 20, 2)}


async def test_reopening_with_another_metric_or_size_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    async with USearchVectorStore(path, dimensions=16) as store:
        await store.upsert(docs(2), unit(3, 2))
    with pytest.raises(BelugaError) as excinfo:
        async with USearchVectorStore(path, metric="dot") as other:
            await other.count()
    assert excinfo.value.code is ErrorCode.INVALID_CONFIG
    assert "holds cosine vectors" in excinfo.value.message
    with pytest.raises(BelugaError) as excinfo:
        async with USearchVectorStore(path, dimensions=32) as other:
            await other.count()
    assert "holds vectors of 16 floats, not 32" in excinfo.value.message
    async with USearchVectorStore(path, collection="other", metric="dot") as other:
        assert await other.count() == 0


async def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, not sqlite " * 100)
    with pytest.raises(BelugaError) as excinfo:
        async with USearchVectorStore(path) as store:
            await store.count()
    assert excinfo.value.code is ErrorCode.INVALID_CONFIG
    assert "is not a SQLite database" in excinfo.value.message


@pytest.mark.parametrize("name", ["", "a-b", "x; DROP TABLE t", "é", "a" * 49])
def test_collection_names_are_checked(tmp_path: Path, name: str) -> None:
    with pytest.raises(BelugaError) as excinfo:
        USearchVectorStore(tmp_path / "v.db", collection=name)
    assert "letters, digits or underscores" in excinfo.value.message


async def test_a_corrupt_index_file_is_rebuilt_from_the_database(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    vectors = unit(4, 50)
    async with USearchVectorStore(path) as store:
        await store.upsert(docs(50), vectors)
    store.index_path.write_bytes(b"garbage")
    async with USearchVectorStore(path) as store:
        (hit,) = await store.search(vectors[3], k=1)
        assert hit.document.id == "d3"


async def test_filtered_search_past_exact_below_uses_the_index(tmp_path: Path) -> None:
    vectors = unit(5, 400)
    async with USearchVectorStore(tmp_path / "v.db", exact_below=10) as store:
        await store.upsert(docs(400), vectors)
        hits = await store.search(vectors[8], k=5, filter={"even": True})
        assert hits[0].document.id == "d8"
        assert len(hits) == 5
        assert all(h.document.metadata["even"] for h in hits)


async def test_an_i8_index_proposes_more_candidates_and_scores_them_exactly(
    tmp_path: Path,
) -> None:
    vectors, queries = unit(6, 3000, 64), unit(7, 50, 64)
    truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :5]
    found = 0
    async with USearchVectorStore(tmp_path / "v.db", dtype="i8") as store:
        await store.upsert(docs(3000), vectors)
        for query, best in zip(queries, truth, strict=True):
            hits = await store.search(query, k=5)
            assert len(hits) == 5
            for hit in hits:  # the float32 score, not the 8-bit one
                exact = float(vectors[int(hit.document.id[1:])] @ query)
                assert hit.score == pytest.approx(exact, abs=1e-5)
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
            found += len({f"d{i}" for i in best} & {h.document.id for h in hits})
    assert found / truth.size >= 0.9


async def test_reopening_with_another_dtype_rebuilds_the_index_in_it(tmp_path: Path) -> None:
    async with USearchVectorStore(tmp_path / "v.db") as store:
        await store.upsert(docs(50), unit(8, 50))
    async with USearchVectorStore(tmp_path / "v.db", dtype="i8") as store:
        assert (await store.search(unit(8, 50)[3], k=1))[0].document.id == "d3"
        assert store._index is not None and "I8" in str(store._index.dtype)
    async with USearchVectorStore(tmp_path / "v.db", dtype="i8") as store:
        await store.count()  # the rebuilt index was saved on close: loaded, not rebuilt
        assert store._saved == store._generation


async def test_the_default_index_keeps_vectors_beyond_half_precision_range(tmp_path: Path) -> None:
    # bf16 has float32's range: an f16 index turns these components into infinities and finds
    # about 5 % of the true top 5
    rng = np.random.default_rng(3)
    vectors = (rng.standard_normal((200, 8)) * 1e5).astype(np.float32)
    found = 0
    async with USearchVectorStore(tmp_path / "v.db", metric="dot") as store:
        await store.upsert(docs(200), vectors)
        for query in rng.standard_normal((20, 8)).astype(np.float32):
            best = {f"d{i}" for i in np.argsort(-(vectors @ query))[:5]}
            found += len(best & {h.document.id for h in await store.search(query, k=5)})
    assert found / 100 >= 0.9


def test_i8_needs_the_cosine_metric(tmp_path: Path) -> None:
    with pytest.raises(BelugaError, match="needs metric 'cosine'"):
        USearchVectorStore(tmp_path / "v.db", metric="dot", dtype="i8")


async def test_a_closed_store_refuses_calls(tmp_path: Path) -> None:
    store = USearchVectorStore(tmp_path / "v.db")
    await store.aclose()
    await store.aclose()
    with pytest.raises(BelugaError) as excinfo:
        await store.count()
    assert "is closed" in excinfo.value.message


def test_the_default_path_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BELUGA_VECTORS_DB", str(tmp_path / "x.db"))
    assert default_vectors_path() == tmp_path / "x.db"
    monkeypatch.delenv("BELUGA_VECTORS_DB")
    assert default_vectors_path() == Path.home() / ".beluga" / "vectors.db"


def test_the_local_embedders_runtime_loads_after_the_store() -> None:
    """onnxruntime 1.32 segfaults when it loads after usearch; the store module orders them."""
    pytest.importorskip("onnxruntime")
    code = "import beluga.vectorstores.providers.usearch; import onnxruntime; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"
