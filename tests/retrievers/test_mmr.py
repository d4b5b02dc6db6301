from __future__ import annotations

import pytest

from beluga.core.errors import BelugaError
from beluga.embeddings.testing import HashingEmbedder
from beluga.retrievers import MMRRetriever, mmr_select
from beluga.retrievers.testing import StaticRetriever
from beluga.schema import Document


def test_mmr_prefers_diverse_picks() -> None:
    query = [1.0, 0.0, 0.0]
    candidates = [[1.0, 0.1, 0.0], [1.0, 0.11, 0.0], [0.7, 0.0, 0.7]]
    assert [i for i, _ in mmr_select(query, candidates, k=2, lambda_mult=1.0)] == [0, 1]
    assert [i for i, _ in mmr_select(query, candidates, k=2, lambda_mult=0.5)] == [0, 2]
    assert len(mmr_select(query, candidates, k=10)) == 3


async def test_mmr_retriever_skips_near_duplicates() -> None:
    docs = [
        Document("vector stores keep embeddings", id="a"),
        Document("vector stores keep embeddings too", id="a2"),
        Document("BM25 ranks by words", id="b"),
    ]
    base = StaticRetriever(docs, k=3)
    retriever = MMRRetriever(base, HashingEmbedder(512), k=2, fetch_k=3, lambda_mult=0.3)
    hits = await retriever.retrieve("vector stores keep embeddings")
    assert [h.document.id for h in hits] == ["a", "b"]


def test_lambda_must_be_in_range() -> None:
    with pytest.raises(BelugaError, match="lambda_mult"):
        MMRRetriever(StaticRetriever([]), HashingEmbedder(), lambda_mult=1.5)
