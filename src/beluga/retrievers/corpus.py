"""Where a sparse retriever's documents come from when they live in a vector store.

A BM25 index needs the texts themselves, which a vector store cannot list. ``beluga ingest``
records in its manifest which chunks it wrote for which file (and the file's SHA-256), so
:class:`IngestedCorpus` reads the store's chunks by those ids: the BM25 retriever of a
``mode: bm25`` or ``hybrid`` entry in ``beluga.yaml`` covers what was ingested, and follows
later ingests (the manifest's ``data_version`` moves) by reading only the files that changed.
Chunks a program upserted itself are not in the manifest; hand those to
:class:`~beluga.retrievers.bm25.BM25Retriever` directly.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.retrievers._manifest import Manifest
from beluga.schema import Document
from beluga.vectorstores.base import VectorStore

__all__ = ["Corpus", "IngestedCorpus"]

_OP = "retrievers.corpus"
_BATCH = 500  # ids per store.get


@runtime_checkable
class Corpus(Protocol):
    """A changing set of documents."""

    async def documents(self) -> Sequence[Document] | None:
        """All of them when they changed since the last call (the first call: always), else
        ``None``."""
        ...


class IngestedCorpus(AsyncClosing):
    """The chunks ``beluga ingest`` put into ``store``, as the manifest at ``manifest`` lists
    them (see the module docstring). A manifest that does not exist yet is an empty corpus."""

    def __init__(self, store: VectorStore, manifest: str | Path) -> None:
        self.store = store
        self.manifest_path = Path(manifest).expanduser()
        self._manifest: Manifest | None = None
        self._version: int | None = None
        self._files: dict[tuple[str, str], tuple[str, list[Document]]] = {}  # -> sha, chunks
        self._lock = asyncio.Lock()

    async def documents(self) -> Sequence[Document] | None:
        async with self._lock:
            manifest = self._open()
            if manifest is None:
                return None if self._version == -1 else self._set_empty()
            try:
                version = manifest.version()
                if version == self._version:
                    return None
                files = manifest.done()
            except sqlite3.Error as exc:
                raise self._error(exc) from exc
            self._files = await self._read(files)
            self._version = version
            return [doc for _sha, docs in self._files.values() for doc in docs]

    async def aclose(self) -> None:
        manifest, self._manifest = self._manifest, None
        if manifest is not None:
            manifest.close()

    def _set_empty(self) -> list[Document]:
        self._version, self._files = -1, {}
        return []

    def _open(self) -> Manifest | None:
        """The manifest, opened on first use (on the loop's thread, which then uses it)."""
        if self._manifest is None and self.manifest_path.is_file():
            self._manifest = Manifest(self.manifest_path)
        return self._manifest

    async def _read(
        self, files: list[tuple[str, str, str, list[str]]]
    ) -> dict[tuple[str, str], tuple[str, list[Document]]]:
        """The chunks of ``files``: those of unchanged files kept, the others read from the
        store (a chunk the store no longer has is left out)."""
        kept: dict[tuple[str, str], tuple[str, list[Document]]] = {}
        wanted: list[str] = []
        for root, path, sha, ids in files:
            held = self._files.get((root, path))
            if held is not None and held[0] == sha:
                kept[(root, path)] = held
            else:
                wanted.extend(ids)
        found: dict[str, Document] = {}
        for start in range(0, len(wanted), _BATCH):
            for doc in await self.store.get(wanted[start : start + _BATCH]):
                found[doc.id] = doc
        return {
            (root, path): kept.get((root, path)) or (sha, [found[i] for i in ids if i in found])
            for root, path, sha, ids in files
        }

    def _error(self, exc: sqlite3.Error) -> BelugaError:
        return BelugaError(
            _OP,
            ErrorCode.INVALID_CONFIG,
            f"cannot read the ingestion manifest {self.manifest_path} ({exc}): point the "
            "retriever's manifest at the file `beluga ingest` wrote, or ingest again",
            cause=exc,
        )

    def __repr__(self) -> str:
        return f"IngestedCorpus({self.store!r}, manifest={str(self.manifest_path)!r})"
