"""What every loader and splitter shares: the protocols, the file being read, and its metadata.

A loader turns one file into :class:`~beluga.schema.Document` objects; a splitter turns documents
into smaller documents (chunks). Loaders parse synchronously (the parsers are blocking C or pure
Python code) and :func:`beluga.documents.load` runs them in a worker thread, so the protocol stays
one plain method that is easy to write and to test.

Every document a loader makes carries the same metadata keys, which ingestion relies on:
``source`` (the path), ``mtime`` (seconds since the epoch), ``file_sha256`` (the file's bytes:
unchanged file, nothing to re-ingest), ``sha256`` (this document's text), ``source_offset`` (the
character offset of the text in the decoded file, where it has one) and the loader's own keys
(``page``, ``row``, ``line``, ``headings``, ``title``...). Ids are derived from the path and the
part of the file (page, row, line), so re-loading a changed file replaces its documents by id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import Document

__all__ = [
    "Loader",
    "Source",
    "Splitter",
    "document_id",
    "invalid",
    "sha256_text",
]


@dataclass(slots=True)
class Source:
    """One file to load: its path, the name documents record as ``source``, and base metadata."""

    path: Path
    name: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_path(cls, path: str | Path, *, name: str | None = None) -> Source:
        """Stat and hash ``path`` (streamed, so large files are fine)."""
        p = Path(path)
        try:
            stat = p.stat()
            with p.open("rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
        except FileNotFoundError as exc:
            raise BelugaError(
                "documents.load",
                ErrorCode.NOT_FOUND,
                f"{p}: no such file; check the path (relative paths start at {Path.cwd()})",
                cause=exc,
            ) from exc
        except OSError as exc:
            problem = f"cannot be read ({exc.strerror or exc}); check its permissions"
            raise invalid(p, problem) from exc
        shown = name or p.as_posix()
        meta = {"source": shown, "mtime": stat.st_mtime, "file_sha256": digest}
        return cls(p, shown, meta)

    def document(self, text: str, part: str = "", /, **metadata: Any) -> Document:
        """A document of this file: a deterministic id, the base metadata and ``metadata``."""
        meta = {**self.metadata, **{k: v for k, v in metadata.items() if v is not None}}
        meta["sha256"] = sha256_text(text)
        return Document(text, id=document_id(self.name, part), metadata=meta)


def document_id(source: str, part: str = "") -> str:
    """A stable id for ``part`` (``"page=3"``, ``"row=12"``) of ``source``."""
    key = f"{source}#{part}" if part else source
    return "doc_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def sha256_text(text: str) -> str:
    """The content hash ingestion compares to skip unchanged text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def invalid(path: Path | str, problem: str, *, op: str = "documents.load") -> BelugaError:
    """An INVALID_REQUEST error naming the file and what to do."""
    return BelugaError(op, ErrorCode.INVALID_REQUEST, f"{Path(path).as_posix()}: {problem}")


@runtime_checkable
class Loader(Protocol):
    """Parses one file into documents. ``name`` is its registry name (``"pdf"``)."""

    name: str

    def load(self, source: Source) -> Iterator[Document]:
        """Yield the documents of ``source`` (blocking; run in a thread by the async API)."""
        ...


@runtime_checkable
class Splitter(Protocol):
    """Cuts documents into chunks that carry their document's metadata and their position."""

    def split_text(self, text: str) -> list[tuple[int, str]]:
        """``(start_offset, chunk)`` pairs for ``text``; each chunk is ``text[start:start+len]``."""
        ...

    def split_documents(self, documents: Iterable[Document]) -> list[Document]:
        """Chunks of every document, with ``chunk_index``, ``start_offset`` and the parent id."""
        ...
