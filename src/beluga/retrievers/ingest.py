"""Ingestion: files into a vector store, incremental and resumable (``beluga ingest``).

:func:`ingest` walks a folder (or reads one file) with the loaders of :mod:`beluga.documents`,
splits each file (recursive character splitter by default: Markdown files keep their heading
path), embeds the chunks in batches and upserts them into the store. Chunk ids are stable
(``{document id}:{index}``, the document id derived from the file's path), so re-ingesting
replaces rather than duplicates.

Incremental: the manifest (:mod:`._manifest`, SQLite, by default next to the store) records
each file's SHA-256 and chunk ids; an unchanged file is skipped without being parsed, a changed
one has its old chunks removed (those the new version does not overwrite), and a file gone from
the folder has its chunks deleted. Resumable: every file is committed to the manifest before
and after it is written to the store, so a run killed at any point (``kill -9`` included)
resumes where it stopped, and the half-written file's chunks are removed and written afresh.
Files no loader reads, and binary files, are skipped; a file that fails to parse is reported
and keeps what the store had of it. Small files share embedding batches: chunks are queued
(their files marked ``pending``) until ``batch_size`` of them are ready, so a folder of short
notes embeds in full batches rather than one short batch per file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.documents import RecursiveCharacterSplitter, Source, loader_for, walk
from beluga.documents.base import Splitter
from beluga.embeddings.base import Embedder
from beluga.observability import start_operation
from beluga.retrievers._manifest import Manifest
from beluga.schema import Document
from beluga.vectorstores.base import VectorStore

__all__ = ["IngestEvent", "IngestReport", "default_manifest", "ingest"]

_BINARY_OK = frozenset({"pdf"})


@dataclass(slots=True)
class IngestReport:
    """What a run did; ``failed`` lists ``(path, message)`` of files that could not be read."""

    files: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: int = 0
    recovered: int = 0
    chunks_written: int = 0
    chunks_deleted: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "skipped": self.skipped,
            "recovered": self.recovered,
            "chunks_written": self.chunks_written,
            "chunks_deleted": self.chunks_deleted,
            "failed": [{"path": p, "error": e} for p, e in self.failed],
        }


@dataclass(slots=True, frozen=True)
class IngestEvent:
    """Progress: ``kind`` is ``start`` (``total`` files found), ``read`` (a file parsed and
    queued for embedding), ``file`` (one file done, with what happened to it) or ``end``."""

    kind: str
    path: str = ""
    status: str = ""
    chunks: int = 0
    total: int = 0


def default_manifest(name: str, store: object) -> Path:
    """Next to the store's file when it has one, else under ``~/.beluga/ingest``."""
    path = getattr(store, "path", None)
    if isinstance(path, Path):
        collection = getattr(store, "collection", None) or "default"
        return path.with_name(f"{path.name}.{collection}.ingest.db")
    return Path("~/.beluga/ingest").expanduser() / f"{name}.db"


async def ingest(
    path: str | Path,
    store: VectorStore,
    embedder: Embedder,
    *,
    manifest: str | Path,
    splitter: Splitter | None = None,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    loader_options: Mapping[str, Mapping[str, Any]] | None = None,
    batch_size: int = 64,
    progress: Callable[[IngestEvent], None] | None = None,
) -> IngestReport:
    """Bring ``store`` up to date with the files under ``path`` (see the module docstring)."""
    root = Path(path)
    plan = await asyncio.to_thread(_plan, root, include, exclude)
    run = _Run(
        store,
        embedder,
        Manifest(manifest),
        splitter or RecursiveCharacterSplitter(chunk_size=1000, chunk_overlap=150),
        loader_options,
        max(1, batch_size),
        progress or (lambda _event: None),
    )
    with start_operation("ingest", root.name or root.as_posix()) as op:
        try:
            report = await run.go(root, plan)
        finally:
            run.manifest.close()
        for key, value in report.as_dict().items():
            if isinstance(value, int):
                op.set(f"beluga.ingest.{key}", value)
        return report


class _Run:
    def __init__(
        self,
        store: VectorStore,
        embedder: Embedder,
        manifest: Manifest,
        splitter: Splitter,
        loader_options: Mapping[str, Mapping[str, Any]] | None,
        batch_size: int,
        progress: Callable[[IngestEvent], None],
    ) -> None:
        self.store, self.embedder, self.manifest = store, embedder, manifest
        self.splitter, self.options, self.batch = splitter, loader_options, batch_size
        self.progress = progress
        self.report = IngestReport()
        # Files parsed and marked pending, waiting for one embedding batch to fill up.
        self._queue: list[tuple[str, str, str, str, list[Document], bool]] = []

    async def go(self, root: Path, plan: _Plan) -> IngestReport:
        self.manifest.check_embedder(self.embedder.model_name, self.embedder.dimensions)
        await self._recover()
        key, is_dir, files = plan
        known = self.manifest.rows(key)
        self.progress(IngestEvent("start", total=len(files)))
        seen: set[str] = set()
        for file, relative in files:
            seen.add(relative)
            status, chunks = await self._file(key, root, file, relative, known.get(relative))
            kind = "read" if status == "queued" else "file"  # a queued file is done at the flush
            self.progress(IngestEvent(kind, relative or root.name, status, chunks))
            if sum(len(q[4]) for q in self._queue) >= self.batch:
                await self._flush()
        await self._flush()
        if is_dir:
            for relative, (_, _, chunk_ids, _) in known.items():
                if relative not in seen:
                    await self._delete(chunk_ids)
                    self.manifest.forget(key, relative)
                    self.report.removed += 1
                    self.progress(IngestEvent("file", relative, "removed"))
        self.progress(IngestEvent("end"))
        return self.report

    async def _recover(self) -> None:
        """Undo what a killed run left half-written (the next walk writes it again)."""
        for root, path, chunk_ids in self.manifest.pending():
            await self._delete(chunk_ids)
            self.manifest.forget(root, path)
            self.report.recovered += 1

    async def _file(
        self, key: str, root: Path, file: Path, relative: str, known: Any
    ) -> tuple[str, int]:
        source = await asyncio.to_thread(Source.from_path, file, name=_display(root, relative))
        digest = str(source.metadata["file_sha256"])
        if known is not None and known[1] == digest and known[3] == "done":
            self.report.unchanged += 1
            return "unchanged", len(known[2])
        loader = loader_for(file, options=self.options)
        if loader is None or (
            loader.name not in _BINARY_OK and await asyncio.to_thread(_looks_binary, file)
        ):
            self.report.skipped += 1
            return "skipped", 0
        self.report.files += 1
        try:
            documents = await asyncio.to_thread(lambda: list(loader.load(source)))
            chunks = [c for c in self.splitter.split_documents(documents) if c.text.strip()]
        except BelugaError as exc:
            self.report.failed.append((relative or root.name, exc.message))
            return "failed", 0
        old = list(known[2]) if known is not None else []
        new = [c.id for c in chunks]
        self.manifest.mark(key, relative, digest, sorted({*old, *new}), "pending")
        await self._delete(sorted(set(old) - set(new)))
        shown = relative or root.name
        self._queue.append((key, relative, shown, digest, chunks, known is None))
        return "queued", len(chunks)

    async def _flush(self) -> None:
        """Embed and store the queued files' chunks in full batches (small files share one),
        then mark each file done: only then is it safe from a kill."""
        queued, self._queue = self._queue, []
        chunks = [c for q in queued for c in q[4]]
        for i in range(0, len(chunks), self.batch):
            batch = chunks[i : i + self.batch]
            vectors = await self.embedder.embed([c.content for c in batch])
            await self.store.upsert(batch, vectors)
            self.report.chunks_written += len(batch)
        for key, relative, shown, digest, file_chunks, new_file in queued:
            self.manifest.mark(key, relative, digest, [c.id for c in file_chunks], "done")
            if new_file:
                self.report.added += 1
            else:
                self.report.updated += 1
            status = "added" if new_file else "updated"
            self.progress(IngestEvent("file", shown, status, len(file_chunks)))

    async def _delete(self, chunk_ids: list[str]) -> None:
        if chunk_ids:
            await self.store.delete(chunk_ids)
            self.report.chunks_deleted += len(chunk_ids)


_Plan = tuple[str, bool, list[tuple[Path, str]]]


def _plan(root: Path, include: Sequence[str] | None, exclude: Sequence[str] | None) -> _Plan:
    """The manifest key of ``root``, whether it is a folder, and its files with their paths
    relative to it (blocking: run in a thread)."""
    if not root.exists():
        raise BelugaError(
            "retrievers.ingest",
            ErrorCode.NOT_FOUND,
            f"{root.as_posix()}: no such file or directory (relative to {Path.cwd()})",
        )
    key = root.resolve().as_posix()
    if not root.is_dir():
        return key, False, [(root, "")]
    files = walk(root, include=include, exclude=exclude)
    return key, True, [(p, p.relative_to(root).as_posix()) for p in files]


def _display(root: Path, relative: str) -> str:
    """The ``source`` chunks record: the path as the user named the folder, plus the file."""
    return (root / relative).as_posix() if relative else root.as_posix()


def _looks_binary(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(8192)
    return b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff"))
