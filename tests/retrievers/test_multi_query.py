from __future__ import annotations

from collections.abc import Sequence

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.testing import AgentInfo, FunctionModel
from beluga.retrievers import MultiQueryRetriever
from beluga.retrievers.multi_query import parse_queries
from beluga.retrievers.testing import StaticRetriever
from beluga.schema import Document, Message


def test_parse_strips_numbering_and_dedupes() -> None:
    text = '1. how to ingest\n- "How to  ingest"\n\n2) ingestion of files\n* third\nfourth'
    assert parse_queries(text, limit=3) == ["how to ingest", "ingestion of files", "third"]


async def test_rewrites_are_searched_and_fused() -> None:
    seen: list[str] = []

    def rewrite(messages: Sequence[Message], info: AgentInfo) -> str:
        seen.append(messages[-1].text)
        assert "3 different" in messages[0].text
        return "load files into a store\nHow do I ingest?\nindex documents"

    docs = [Document(f"d{i}", id=f"d{i}") for i in range(5)]
    base = StaticRetriever(docs)
    retriever = MultiQueryRetriever(base, FunctionModel(rewrite), n=3, k=3)
    hits = await retriever.retrieve("How do I ingest?")
    assert seen == ["How do I ingest?"]
    assert base.queries == ["How do I ingest?", "load files into a store", "index documents"]
    assert [h.document.id for h in hits] == ["d0", "d1", "d2"]  # each document once


async def test_model_failure_falls_back_to_the_question() -> None:
    def broken(messages: Sequence[Message], info: AgentInfo) -> str:
        raise BelugaError("llms.test", ErrorCode.PROVIDER_UNAVAILABLE, "down")

    base = StaticRetriever([Document("x", id="x")])
    hits = await MultiQueryRetriever(base, FunctionModel(broken)).retrieve("question")
    assert [h.document.id for h in hits] == ["x"]
    assert base.queries == ["question"]
