from __future__ import annotations

from beluga.documents import RecursiveCharacterSplitter
from beluga.embeddings.testing import HashingEmbedder
from beluga.retrievers import ParentDocumentRetriever
from beluga.schema import Document
from beluga.vectorstores.testing import InMemoryVectorStore

GUIDE = (
    "Installing. Run pip install beluga-ai to get the core package.\n\n"
    "Embedding. The local embedder runs all-MiniLM offline on ONNX Runtime.\n\n"
    "Voice. The voice stack chains VAD, speech to text and text to speech."
)
OTHER = "Routing. The router falls back to the next provider when one fails."


async def test_chunks_are_searched_parents_returned_once() -> None:
    store = InMemoryVectorStore()
    retriever = ParentDocumentRetriever(
        store,
        HashingEmbedder(512),
        RecursiveCharacterSplitter(chunk_size=80, chunk_overlap=0),
        k=2,
    )
    chunks = await retriever.add(
        [Document(GUIDE, id="guide", metadata={"kind": "doc"}), Document(OTHER, id="other")]
    )
    assert chunks == len(store) >= 4
    hits = await retriever.retrieve("local embedder ONNX offline")
    assert hits[0].document.id == "guide" and hits[0].document.text == GUIDE
    assert len({h.document.id for h in hits}) == len(hits)
    filtered = await retriever.retrieve("router provider", filter={"kind": "doc"})
    assert [h.document.id for h in filtered] == ["guide"]


async def test_re_adding_replaces_chunks_and_delete_removes_them() -> None:
    store = InMemoryVectorStore()
    splitter = RecursiveCharacterSplitter(chunk_size=80, chunk_overlap=0)
    retriever = ParentDocumentRetriever(store, HashingEmbedder(512), splitter)
    await retriever.add([Document(GUIDE, id="guide")])
    await retriever.add([Document(OTHER, id="guide")])
    assert len(store) == 1
    assert (await retriever.retrieve("router"))[0].document.text == OTHER
    await retriever.delete(["guide"])
    assert len(store) == 0 and await retriever.retrieve("router") == []
