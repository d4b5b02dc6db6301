"""The usearch store's own promises: its dtypes (bf16 by default, i8 with more candidates) and
the import order that keeps onnxruntime alive beside it (the shared ones: test_embedded.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from beluga.core.errors import BelugaError
from beluga.schema import Document
from beluga.vectorstores.providers.usearch import USearchVectorStore


def unit(seed: int, n: int, dim: int = 16) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def docs(n: int, start: int = 0) -> list[Document]:
    return [
        Document(f"doc {i}", id=f"d{i}", metadata={"even": i % 2 == 0})
        for i in range(start, start + n)
    ]


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
        assert store._index is not None and "I8" in str(store._index.index.dtype)  # type: ignore[attr-defined]
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


def test_the_local_embedders_runtime_loads_after_the_store() -> None:
    """onnxruntime 1.32 segfaults when it loads after usearch; the store module orders them."""
    pytest.importorskip("onnxruntime")
    code = "import beluga.vectorstores.providers.usearch; import onnxruntime; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"
