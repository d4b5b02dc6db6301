from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.documents import RecursiveCharacterSplitter
from beluga.embeddings.testing import HashingEmbedder
from beluga.retrievers.ingest import IngestEvent, IngestReport, ingest
from beluga.schema import Document
from beluga.vectorstores.testing import InMemoryVectorStore

SPLITTER = RecursiveCharacterSplitter(chunk_size=60, chunk_overlap=0)


def write_docs(folder: Path) -> None:
    (folder / "guide").mkdir(parents=True)
    (folder / "a.md").write_text(
        "# Alpha\n\nAlpha is the first letter of the Greek alphabet.\n\nIt starts many words.\n"
    )
    (folder / "guide" / "b.txt").write_text("Bravo is the second letter of the alphabet.\n")
    (folder / "image.bin").write_bytes(b"\x00\x01binary")


async def run(
    folder: Path, store: InMemoryVectorStore, embedder: HashingEmbedder, **kw: Any
) -> IngestReport:
    return await ingest(
        folder, store, embedder, manifest=folder.parent / "manifest.db", splitter=SPLITTER, **kw
    )


async def test_first_run_then_unchanged_then_changed_then_deleted(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs)
    store, embedder = InMemoryVectorStore(), HashingEmbedder(64)
    events: list[IngestEvent] = []
    report = await run(docs, store, embedder, progress=events.append)
    assert (report.added, report.skipped, report.unchanged) == (2, 1, 0)
    assert report.chunks_written == await store.count() >= 3
    assert events[0] == IngestEvent("start", total=3) and events[-1].kind == "end"
    hits = await store.search((await embedder.embed(["second letter bravo"]))[0], k=1)
    assert hits[0].document.metadata["source"] == f"{docs.as_posix()}/guide/b.txt"

    calls = embedder.calls
    again = await run(docs, store, embedder)
    assert (again.unchanged, again.added, again.chunks_written) == (2, 0, 0)
    assert embedder.calls == calls  # nothing re-embedded

    (docs / "a.md").write_text("# Alpha\n\nShorter now.\n")
    changed = await run(docs, store, embedder)
    assert (changed.updated, changed.unchanged) == (1, 1)
    assert await store.count(filter={"source": f"{docs.as_posix()}/a.md"}) == 1

    (docs / "guide" / "b.txt").unlink()
    removed = await run(docs, store, embedder)
    assert removed.removed == 1
    assert await store.count() == 1


class FlakyStore(InMemoryVectorStore):
    """Fails the n-th upsert, like a process killed while writing."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.upserts = 0
        self.fail_at = fail_at

    async def upsert(
        self, documents: Sequence[Document], vectors: Sequence[Sequence[float]]
    ) -> None:
        self.upserts += 1
        if self.upserts == self.fail_at:
            await super().upsert(documents[:1], vectors[:1])  # half of the batch got in
            raise BelugaError("test", ErrorCode.PROVIDER_UNAVAILABLE, "store went away")
        await super().upsert(documents, vectors)


async def test_interrupted_file_is_cleaned_and_redone(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs)
    store, embedder = FlakyStore(fail_at=1), HashingEmbedder(64)
    with pytest.raises(BelugaError, match="went away"):
        await run(docs, store, embedder, batch_size=1)
    assert await store.count() == 1  # the stray chunk of the interrupted file
    store.fail_at = 0
    report = await run(docs, store, embedder)
    assert report.recovered == 1 and report.added == 2
    assert await store.count() == report.chunks_written


async def test_other_embedder_is_refused(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs)
    await run(docs, InMemoryVectorStore(), HashingEmbedder(64))
    with pytest.raises(BelugaError, match="cannot be compared") as info:
        await run(docs, InMemoryVectorStore(), HashingEmbedder(32))
    assert info.value.code is ErrorCode.INVALID_CONFIG


async def test_missing_path_and_parse_failure(tmp_path: Path) -> None:
    with pytest.raises(BelugaError, match="no such file") as info:
        await run(tmp_path / "nope", InMemoryVectorStore(), HashingEmbedder(64))
    assert info.value.code is ErrorCode.NOT_FOUND
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "bad.json").write_text("{not json")
    (docs / "ok.txt").write_text("fine text")
    report = await run(docs, InMemoryVectorStore(), HashingEmbedder(64))
    assert report.added == 1 and [p for p, _ in report.failed] == ["bad.json"]


async def test_a_single_file(tmp_path: Path) -> None:
    file = tmp_path / "one.txt"
    file.write_text("just one file of text")
    store = InMemoryVectorStore()
    report = await ingest(file, store, HashingEmbedder(64), manifest=tmp_path / "m.db")
    assert report.added == 1
    (doc,) = await store.get([d.document.id for d in await store.search([1.0] * 64, k=1)])
    assert doc.metadata["source"] == file.as_posix()
