from __future__ import annotations

from beluga.retrievers import BM25Retriever
from beluga.schema import Document


async def test_ranks_by_shared_words_and_stems(documents: list[Document]) -> None:
    retriever = BM25Retriever(documents, k=3)
    hits = await retriever.retrieve("ingesting folders")
    assert hits[0].document.id == "ingest"  # "ingesting" and "folders" stem to ingest/folder
    assert all(h.score > 0 for h in hits)
    hits = await retriever.retrieve("BM25 reciprocal rank")
    assert [h.document.id for h in hits[:2]] == ["hybrid", "bm25"]


async def test_no_shared_word_no_result(documents: list[Document]) -> None:
    retriever = BM25Retriever(documents)
    assert await retriever.retrieve("zebra quantum") == []
    assert await retriever.retrieve("the and of") == []  # stop words only
    assert await BM25Retriever().retrieve("anything") == []


async def test_filter_masks_documents(documents: list[Document]) -> None:
    retriever = BM25Retriever(documents, k=6)
    hits = await retriever.retrieve("BM25", filter={"topic": "hybrid"})
    assert [h.document.id for h in hits] == ["hybrid"]
    assert await retriever.retrieve("BM25", filter={"topic": "nope"}) == []


async def test_add_and_delete_rebuild_the_index(documents: list[Document]) -> None:
    retriever = BM25Retriever(documents)
    assert await retriever.retrieve("zebra") == []
    retriever.add([Document("a zebra crossing", id="zebra")])
    assert [h.document.id for h in await retriever.retrieve("zebra")] == ["zebra"]
    retriever.add([Document("no stripes here", id="zebra")])  # same id replaces
    assert await retriever.retrieve("zebra") == []
    assert len(retriever) == 7
    retriever.delete(["zebra", "unknown"])
    assert len(retriever) == 6


async def test_k_larger_than_corpus(documents: list[Document]) -> None:
    hits = await BM25Retriever(documents[:2]).retrieve("documents query ingest", k=50)
    assert {h.document.id for h in hits} <= {"ingest", "bm25"}


async def test_filter_language_operators(documents: list[Document]) -> None:
    retriever = BM25Retriever(documents, k=6)
    hits = await retriever.retrieve("BM25", filter={"topic": {"$in": ["bm25", "voice"]}})
    assert [h.document.id for h in hits] == ["bm25"]
    hits = await retriever.retrieve("BM25", filter={"topic": {"$ne": "bm25"}})
    assert [h.document.id for h in hits] == ["hybrid"]
