from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.documents import RecursiveCharacterSplitter
from beluga.embeddings.testing import HashingEmbedder
from beluga.retrievers import BM25Retriever, IngestedCorpus
from beluga.retrievers.ingest import ingest
from beluga.schema import Document
from beluga.vectorstores.testing import InMemoryVectorStore

SPLITTER = RecursiveCharacterSplitter(chunk_size=200, chunk_overlap=0)


class CountingStore(InMemoryVectorStore):
    """Counts the ids asked for by ``get``."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    async def get(self, ids: Sequence[str]) -> list[Document]:
        self.asked.extend(ids)
        return await super().get(ids)


async def load(folder: Path, store: InMemoryVectorStore, manifest: Path) -> None:
    await ingest(folder, store, HashingEmbedder(32), manifest=manifest, splitter=SPLITTER)


def texts(docs: Sequence[Document] | None) -> list[str]:
    assert docs is not None
    return sorted(d.text for d in docs)


async def test_follows_ingests_and_rereads_only_changed_files(tmp_path: Path) -> None:
    folder, manifest = tmp_path / "docs", tmp_path / "manifest.db"
    folder.mkdir()
    (folder / "a.txt").write_text("Alpha is the first letter.")
    (folder / "b.txt").write_text("Bravo is the second letter.")
    store = CountingStore()
    corpus = IngestedCorpus(store, manifest)
    assert await corpus.documents() == []  # no manifest yet: empty, and not created
    assert await corpus.documents() is None and not manifest.exists()

    await load(folder, store, manifest)
    assert texts(await corpus.documents()) == [
        "Alpha is the first letter.",
        "Bravo is the second letter.",
    ]
    assert await corpus.documents() is None  # unchanged: nothing read
    store.asked.clear()

    (folder / "b.txt").write_text("Bravo changed: now the last letter.")  # same chunk ids
    (folder / "a.txt").unlink()
    await load(folder, store, manifest)
    assert texts(await corpus.documents()) == ["Bravo changed: now the last letter."]
    assert len(store.asked) == 1  # only the changed file's chunk was read again
    (folder / "c.txt").write_text("Charlie is the third letter.")
    store.asked.clear()
    await load(folder, store, manifest)
    assert len(texts(await corpus.documents())) == 2 and len(store.asked) == 1
    await corpus.aclose()


async def test_bm25_over_an_ingested_corpus_sees_reingested_text(tmp_path: Path) -> None:
    pytest.importorskip("bm25s")
    folder, manifest = tmp_path / "docs", tmp_path / "manifest.db"
    folder.mkdir()
    (folder / "notes.md").write_text("The gateway retries idempotent calls.")
    (folder / "other.md").write_text("Voice sessions stream audio frames.")
    store = InMemoryVectorStore()
    await load(folder, store, manifest)
    async with IngestedCorpus(store, manifest) as corpus:
        bm25 = BM25Retriever(corpus=corpus, k=1)
        assert (await bm25.retrieve("retries"))[0].document.text.startswith("The gateway")
        (folder / "notes.md").write_text("The gateway sheds load under pressure.")
        await load(folder, store, manifest)
        assert await bm25.retrieve("retries") == []
        assert "sheds" in (await bm25.retrieve("shedding load"))[0].document.text


async def test_a_manifest_that_is_no_database_is_a_config_error(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.db"
    manifest.write_bytes(b"this is not SQLite" * 100)
    corpus = IngestedCorpus(InMemoryVectorStore(), manifest)
    with pytest.raises(BelugaError) as caught:
        await corpus.documents()
    assert caught.value.code is ErrorCode.INVALID_CONFIG
    assert str(manifest) in caught.value.message
    await corpus.aclose()
