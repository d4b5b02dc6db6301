from __future__ import annotations

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.embeddings.testing import HashingEmbedder
from beluga.retrievers import Retriever, VectorRetriever
from beluga.vectorstores.testing import InMemoryVectorStore
from tests.conftest import Telemetry


async def test_top_k_closest_first(store: InMemoryVectorStore, embedder: HashingEmbedder) -> None:
    retriever = VectorRetriever(store, embedder, k=2)
    assert isinstance(retriever, Retriever)
    hits = await retriever.retrieve("how does beluga ingest a folder of files")
    assert [h.document.id for h in hits] == ["ingest", hits[1].document.id]
    assert len(hits) == 2 and hits[0].score >= hits[1].score
    assert len(await retriever.retrieve("memory", k=5)) == 5


async def test_score_threshold_drops_unrelated(
    store: InMemoryVectorStore, embedder: HashingEmbedder
) -> None:
    retriever = VectorRetriever(store, embedder, k=6, score_threshold=0.3)
    hits = await retriever.retrieve("the voice pipeline runs VAD")
    assert [h.document.id for h in hits] == ["voice"]
    assert all(h.score >= 0.3 for h in hits)


async def test_filters_combine_and_cannot_widen(
    store: InMemoryVectorStore, embedder: HashingEmbedder
) -> None:
    bound = VectorRetriever(store, embedder, k=6, filter={"topic": "memory"})
    assert [h.document.id for h in await bound.retrieve("anything at all")] == ["memory"]
    assert await bound.retrieve("anything", filter={"topic": "voice"}) == []
    same = await bound.retrieve("anything", filter={"topic": "memory"})
    assert [h.document.id for h in same] == ["memory"]


async def test_bad_query_and_k_are_one_clear_error(
    store: InMemoryVectorStore, embedder: HashingEmbedder
) -> None:
    retriever = VectorRetriever(store, embedder)
    with pytest.raises(BelugaError, match="query is empty") as info:
        await retriever.retrieve("   ")
    assert info.value.code is ErrorCode.INVALID_REQUEST
    with pytest.raises(BelugaError, match="k must be"):
        await retriever.retrieve("x", k=0)
    with pytest.raises(BelugaError, match="must be a string"):
        await retriever.retrieve(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(BelugaError, match="k must be"):
        VectorRetriever(store, embedder, k=True)


async def test_retrieval_span_has_ids_never_text(
    store: InMemoryVectorStore, embedder: HashingEmbedder, telemetry: Telemetry
) -> None:
    retriever = VectorRetriever(store, embedder, k=2, name="docs")
    await retriever.retrieve("secret question about ingest")
    (span,) = [s for s in telemetry.finished_spans() if s.name == "retrieval docs"]
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "retrieval"
    assert attrs["gen_ai.data_source.id"] == "docs"
    assert attrs["gen_ai.retrieval.top_k"] == 2
    assert attrs["beluga.retrieval.documents.count"] == 2
    assert "ingest" in attrs["beluga.retrieval.document_ids"]  # type: ignore[operator]
    assert "secret" not in str(attrs)
    points = telemetry.metric_points("gen_ai.client.operation.duration")
    assert any(p.attributes.get("gen_ai.data_source.id") == "docs" for p in points)
