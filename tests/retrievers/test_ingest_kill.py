"""``kill -9`` a real ingestion process mid-file, resume, and find the store exactly right.

The child ingests 12 files of 4 chunks each into the embedded default store (SQLite + usearch)
with an embedder that takes 0.1 s per chunk, printing each finished file and each embed call.
When file 6 starts embedding its second chunk the parent sends SIGKILL: the child is then inside
file 6, its manifest row ``pending`` and its first chunk in the store. The resumed run must
remove that chunk, skip the 5 finished files unread, write the other 7, and leave exactly the
expected chunk ids in the store.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("usearch")

from beluga.documents import RecursiveCharacterSplitter, load_sync
from beluga.embeddings.testing import HashingEmbedder
from beluga.retrievers.ingest import ingest
from beluga.vectorstores.providers.usearch import USearchVectorStore

FILES, PARAGRAPH = 12, "Paragraph {i} of file {n} talks about topic number {i}{n}.\n\n"

CHILD = textwrap.dedent(
    """
    import asyncio, sys, time
    from beluga.documents import RecursiveCharacterSplitter
    from beluga.embeddings.testing import HashingEmbedder
    from beluga.retrievers.ingest import ingest
    from beluga.vectorstores.providers.usearch import USearchVectorStore

    class Slow(HashingEmbedder):
        async def embed(self, inputs):
            print("embed", flush=True)
            await asyncio.sleep(0.1 * len(inputs))
            return await super().embed(inputs)

    def show(event):
        if event.kind == "file":
            print("done", event.path, event.status, flush=True)

    async def main():
        folder, db, manifest = sys.argv[1:4]
        store = USearchVectorStore(db, dimensions=64)
        splitter = RecursiveCharacterSplitter(chunk_size=70, chunk_overlap=0)
        await ingest(folder, store, Slow(64), manifest=manifest, splitter=splitter,
                     batch_size=1, progress=show)
        await store.aclose()

    asyncio.run(main())
    """
)


def make_files(folder: Path) -> None:
    folder.mkdir()
    for n in range(FILES):
        text = "".join(PARAGRAPH.format(i=i, n=n) for i in range(4))
        (folder / f"f{n:02}.txt").write_text(text)


@pytest.mark.slow
def test_kill_nine_mid_ingest_then_resume(tmp_path: Path) -> None:
    folder, db, manifest = tmp_path / "docs", tmp_path / "store.db", tmp_path / "manifest.db"
    make_files(folder)
    splitter = RecursiveCharacterSplitter(chunk_size=70, chunk_overlap=0)
    expected = {c.id for c in splitter.split_documents(load_sync(folder))}
    assert len(expected) == FILES * 4

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(folder), str(db), str(manifest)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert child.stdout is not None
    finished, embeds_after = 0, 0
    while embeds_after < 2:  # the second chunk of file 6: its first chunk is in the store
        line = child.stdout.readline()
        assert line, f"the child ended early (exit {child.wait()})"
        if line.startswith("done"):
            finished += 1
        elif finished == 5:
            embeds_after += 1
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL

    asyncio.run(resume(folder, db, manifest, splitter, expected))


async def resume(
    folder: Path, db: Path, manifest: Path, splitter: RecursiveCharacterSplitter, expected: set[str]
) -> None:
    store = USearchVectorStore(db, dimensions=64)
    try:
        assert await store.count() == 5 * 4 + 1  # file 6 was half-written when the kill came
        report = await ingest(
            folder, store, HashingEmbedder(64), manifest=manifest, splitter=splitter
        )
        assert report.recovered == 1
        assert report.unchanged == 5 and report.added == FILES - 5
        assert report.chunks_written == (FILES - 5) * 4
        assert await store.count() == len(expected)
        assert {d.id for d in await store.get(sorted(expected))} == expected
        again = await ingest(
            folder, store, HashingEmbedder(64), manifest=manifest, splitter=splitter
        )
        assert (again.unchanged, again.chunks_written, again.recovered) == (FILES, 0, 0)
    finally:
        await store.aclose()
