"""The FAISS store's own promises: deletes by masking (never returned, counted out, remembered
across a reopen from SQLite alone), the index rebuilt once a quarter of it is masked, and exact
scores straight from the index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from beluga.schema import Document
from beluga.vectorstores.providers.faiss import FaissVectorStore


def unit(seed: int, n: int, dim: int = 16) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def docs(n: int, start: int = 0) -> list[Document]:
    return [Document(f"doc {i}", id=f"d{i}") for i in range(start, start + n)]


async def test_deleted_and_replaced_vectors_are_never_found(tmp_path: Path) -> None:
    vectors = unit(1, 400)
    async with FaissVectorStore(tmp_path / "v.db") as store:
        await store.upsert(docs(400), vectors)
        await store.delete(["d5"])
        await store.upsert([Document("moved", id="d6")], vectors[7:8])  # d6 now sits on d7
        hits = await store.search(vectors[5], k=10)
        assert "d5" not in {h.document.id for h in hits} and len(hits) == 10
        top = await store.search(vectors[7], k=2)
        assert {h.document.id for h in top} == {"d6", "d7"}
        assert [h.score for h in top] == pytest.approx([1.0, 1.0], abs=1e-5)
        assert store._index is not None and len(store._index) == 399


async def test_masks_survive_a_reopen_and_compaction_rebuilds(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    vectors = unit(2, 400)
    async with FaissVectorStore(path) as store:
        await store.upsert(docs(400), vectors)
        await store.delete([f"d{i}" for i in range(50)])  # masked, under a quarter
        index = store._index
        assert index is not None and index.index.ntotal == 400  # type: ignore[attr-defined]
    async with FaissVectorStore(path) as store:
        assert await store.count() == 350
        assert store._saved == store._generation  # the saved index was loaded, masks and all
        (hit,) = await store.search(vectors[3], k=1)
        assert hit.document.id != "d3"
        await store.delete([f"d{i}" for i in range(50, 150)])  # now past a quarter: rebuilt
        index = store._index
        assert index is not None and index.index.ntotal == 250  # type: ignore[attr-defined]
        (hit,) = await store.search(vectors[200], k=1)
        assert hit.document.id == "d200" and hit.score == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("metric", ["dot", "euclidean"])
async def test_scores_come_exact_from_the_index(tmp_path: Path, metric: str) -> None:
    vectors = unit(3, 50) * 3.0
    query = unit(4, 1)[0]
    async with FaissVectorStore(tmp_path / "v.db", metric=metric) as store:
        await store.upsert(docs(50), vectors)
        hits = await store.search(query, k=5)
    truth = vectors @ query if metric == "dot" else -np.linalg.norm(vectors - query, axis=1)
    best = np.argsort(-truth)[:5]
    assert [h.document.id for h in hits] == [f"d{i}" for i in best]
    assert [h.score for h in hits] == pytest.approx(truth[best].tolist(), abs=1e-4)
