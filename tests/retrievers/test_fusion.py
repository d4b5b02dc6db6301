from __future__ import annotations

import pytest

from beluga.core.errors import BelugaError
from beluga.embeddings.testing import HashingEmbedder
from beluga.retrievers import (
    BM25Retriever,
    HybridRetriever,
    VectorRetriever,
    reciprocal_rank_fusion,
)
from beluga.retrievers.testing import StaticRetriever
from beluga.schema import Document
from beluga.vectorstores.base import ScoredDocument
from beluga.vectorstores.testing import InMemoryVectorStore


def ranking(*ids: str) -> list[ScoredDocument]:
    return [ScoredDocument(Document(i, id=i), 1.0) for i in ids]


def test_rrf_scores_and_order() -> None:
    fused = reciprocal_rank_fusion([ranking("a", "b", "c"), ranking("b", "d")])
    assert [h.document.id for h in fused] == ["b", "a", "d", "c"]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert fused[1].score == pytest.approx(1 / 61)


def test_rrf_weights() -> None:
    fused = reciprocal_rank_fusion([ranking("a"), ranking("b")], weights=[1.0, 2.0])
    assert [h.document.id for h in fused] == ["b", "a"]
    with pytest.raises(BelugaError, match="one weight per retriever"):
        reciprocal_rank_fusion([ranking("a")], weights=[1.0, 2.0])


async def test_hybrid_joins_bm25_and_vector(
    documents: list[Document], store: InMemoryVectorStore, embedder: HashingEmbedder
) -> None:
    hybrid = HybridRetriever(
        [BM25Retriever(documents), VectorRetriever(store, embedder)], k=3, name="docs"
    )
    hits = await hybrid.retrieve("reciprocal rank fusion of BM25")
    assert hits[0].document.id == "hybrid"
    assert len({h.document.id for h in hits}) == len(hits) == 3


async def test_hybrid_passes_filter_and_fetch_k() -> None:
    docs = [Document(str(i), id=str(i), metadata={"even": i % 2 == 0}) for i in range(10)]
    first, second = StaticRetriever(docs), StaticRetriever(list(reversed(docs)))
    hybrid = HybridRetriever([first, second], k=2, fetch_k=3)
    hits = await hybrid.retrieve("q", filter={"even": True})
    assert all(h.document.metadata["even"] for h in hits)
    assert first.queries == second.queries == ["q"]


def test_hybrid_needs_retrievers_and_valid_weights() -> None:
    with pytest.raises(BelugaError, match="at least one"):
        HybridRetriever([])
    with pytest.raises(BelugaError, match="weights"):
        HybridRetriever([StaticRetriever([])], weights=[-1.0])
