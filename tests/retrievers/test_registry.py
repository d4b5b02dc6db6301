from __future__ import annotations

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.retrievers import BM25Retriever, create_reranker, rerankers, retrievers


def test_builtins_are_registered() -> None:
    assert {"vector", "bm25", "hybrid", "mmr", "multi_query", "parent_document", "rerank"} <= set(
        retrievers.names()
    )
    assert {"cohere", "voyage", "jina", "embedding", "llm"} <= set(rerankers.names())
    assert retrievers.get("bm25") is BM25Retriever


def test_unknown_names_suggest() -> None:
    with pytest.raises(BelugaError, match="Did you mean 'cohere'") as info:
        create_reranker("cohre:rerank-v3.5")
    assert info.value.code is ErrorCode.NOT_FOUND
    with pytest.raises(BelugaError, match="Did you mean 'hybrid'"):
        retrievers.get("hybird")
