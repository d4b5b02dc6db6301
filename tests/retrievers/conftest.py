"""A small corpus, embedded with the hashing embedder into the in-memory store."""

from __future__ import annotations

import pytest

from beluga.embeddings.testing import HashingEmbedder
from beluga.schema import Document
from beluga.vectorstores.testing import InMemoryVectorStore

TEXTS = {
    "ingest": "beluga ingest walks a folder, splits files into chunks and embeds them",
    "bm25": "BM25 ranks documents by the words they share with the query",
    "voice": "the voice pipeline runs VAD, speech to text, the agent and text to speech",
    "memory": "conversation memory keeps the messages of each session in SQLite or Redis",
    "router": "the router picks a model by role and falls back when a provider fails",
    "hybrid": "hybrid search fuses BM25 and vector rankings by reciprocal rank",
}


def corpus() -> list[Document]:
    return [
        Document(text, id=key, metadata={"source": f"docs/{key}.md", "topic": key})
        for key, text in TEXTS.items()
    ]


@pytest.fixture
def documents() -> list[Document]:
    return corpus()


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder(256)


@pytest.fixture
async def store(documents: list[Document], embedder: HashingEmbedder) -> InMemoryVectorStore:
    store = InMemoryVectorStore()
    await store.upsert(documents, await embedder.embed([d.text for d in documents]))
    return store
