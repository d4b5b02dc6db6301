from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.documents import RecursiveCharacterSplitter
from beluga.embeddings.testing import HashingEmbedder
from beluga.retrievers.ingest import IngestEvent, IngestReport, default_manifest, ingest
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
    again = await ingest(file, store, HashingEmbedder(64), manifest=tmp_path / "m.db")
    assert (again.unchanged, again.chunks_written) == (1, 0)


async def test_small_files_share_embedding_batches(tmp_path: Path) -> None:
    docs = tmp_path / "notes"
    docs.mkdir()
    for i in range(10):
        (docs / f"n{i}.txt").write_text(f"note number {i}")
    embedder = HashingEmbedder(64)
    report = await ingest(docs, InMemoryVectorStore(), embedder, manifest=tmp_path / "m.db",
                          batch_size=4)  # fmt: skip
    assert report.added == 10 and embedder.calls == 3  # 4 + 4 + 2 chunks


async def test_incremental_ingest_into_pgvector(tmp_path: Path) -> None:
    """The same run, changed file and deleted file against the real PostgreSQL server."""
    import os
    import uuid

    dsn = os.environ.get("BELUGA_PG_DSN")
    if not dsn:
        pytest.skip("BELUGA_PG_DSN is not set (make test starts PostgreSQL and sets it)")
    pytest.importorskip("psycopg")
    from beluga.vectorstores.providers.pgvector import PgVectorStore

    docs = tmp_path / "docs"
    write_docs(docs)
    store = PgVectorStore(dsn, table=f"ingest_{uuid.uuid4().hex[:12]}", dimensions=64, pool_size=2)
    try:
        embedder = HashingEmbedder(64)
        first = await run(docs, store, embedder)
        assert first.added == 2 and await store.count() == first.chunks_written
        (docs / "a.md").write_text("# Alpha\n\nShorter now.\n")
        (docs / "guide" / "b.txt").unlink()
        second = await run(docs, store, embedder)
        assert (second.updated, second.removed) == (1, 1)
        assert await store.count() == 1
    finally:
        await store.drop()
        await store.aclose()


def test_manifest_lives_next_to_a_file_store_or_under_home(tmp_path: Path) -> None:
    class FileStore:
        path = tmp_path / "v.db"
        collection = "docs"

    assert default_manifest("x", FileStore()) == tmp_path / "v.db.docs.ingest.db"
    assert default_manifest("shared", object()).name == "shared.db"
