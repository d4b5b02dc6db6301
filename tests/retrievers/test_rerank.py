from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from beluga.core.errors import BelugaError
from beluga.embeddings.testing import HashingEmbedder
from beluga.llms.testing import AgentInfo, FunctionModel
from beluga.retrievers import (
    EmbeddingReranker,
    LLMReranker,
    Reranker,
    RerankingRetriever,
)
from beluga.retrievers.rerank import parse_grade
from beluga.retrievers.testing import OverlapReranker, StaticRetriever
from beluga.schema import Document, Message
from tests.conftest import Telemetry

DOCS = [
    Document("the weather is sunny", id="weather"),
    Document("ingest files into the vector store", id="ingest"),
    Document("the vector store keeps embeddings", id="store"),
]


async def test_embedding_reranker_orders_by_cosine() -> None:
    reranker = EmbeddingReranker(HashingEmbedder(512))
    assert isinstance(reranker, Reranker)
    ranked = await reranker.rerank("ingest files into the store", DOCS, top_n=2)
    assert [r.document.id for r in ranked] == ["ingest", "store"]
    assert ranked[0].score > ranked[1].score
    assert await reranker.rerank("q", []) == []
    assert len(await reranker.rerank("q", DOCS, top_n=10)) == 3


async def test_llm_reranker_grades_each_candidate() -> None:
    asked: list[str] = []

    def grade(messages: Sequence[Message], info: AgentInfo) -> str:
        assert info.settings.output is not None and info.settings.output.name == "grade"
        passage = messages[-1].text
        asked.append(passage)
        return json.dumps({"grade": 9 if "embeddings" in passage.split("Passage:")[1] else 2})

    reranker = LLMReranker(FunctionModel(grade), concurrency=2)
    ranked = await reranker.rerank("where are embeddings kept?", DOCS)
    assert ranked[0].document.id == "store" and ranked[0].score == 9.0
    assert len(asked) == 3 and all(p.startswith("Question: where") for p in asked)


def test_parse_grade_is_lenient_and_clamped() -> None:
    assert parse_grade('{"grade": 7}') == 7.0
    assert parse_grade("I would say 8 out of 10") == 8.0
    assert parse_grade('{"grade": 42}') == 10.0
    assert parse_grade("no idea") == 0.0
    assert parse_grade("[1, 2]") == 0.0


async def test_reranking_retriever_widens_then_narrows(telemetry: Telemetry) -> None:
    base = StaticRetriever(DOCS, k=1)
    reranker = OverlapReranker()
    retriever = RerankingRetriever(base, reranker, k=1, fetch_k=3)
    hits = await retriever.retrieve("vector store embeddings")
    assert [h.document.id for h in hits] == ["store"]
    assert reranker.calls == 1
    names = [s.name for s in telemetry.finished_spans()]
    assert "rerank overlap" in names and "retrieval rerank" in names
    (span,) = [s for s in telemetry.finished_spans() if s.name == "rerank overlap"]
    assert span.attributes is not None and span.attributes["beluga.rerank.candidates"] == 3
    assert "vector store" not in str(dict(span.attributes))


async def test_reranker_checks_top_n() -> None:
    with pytest.raises(BelugaError, match="k must be"):
        await OverlapReranker().rerank("q", DOCS, top_n=0)
    with pytest.raises(BelugaError, match="query is empty"):
        await OverlapReranker().rerank("", DOCS)
