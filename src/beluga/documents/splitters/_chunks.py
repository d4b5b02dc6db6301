"""Turning ``(start, text)`` spans of a document into chunk documents with their metadata.

Every splitter ends here, so every chunk carries the same keys: its document's metadata (minus
the whole-document ``headings`` and ``page_offsets``), ``parent_id``, ``chunk_index``,
``start_offset`` (in the document's text), ``source_offset`` (in the file, when the document
knows its own), ``heading_path`` (when the document's headings are known), ``page`` (for a
joined PDF) and ``sha256`` of the chunk's text. Chunk ids are ``{document id}:{index}``, stable
across runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from beluga.documents.base import sha256_text
from beluga.documents.loaders.pdf import page_of
from beluga.schema import Document

__all__ = ["HeadingPaths", "make_chunks"]

_WHOLE_DOCUMENT = ("headings", "page_offsets")


class HeadingPaths:
    """The path of headings in force at increasing offsets (``["Guide", "Install"]``)."""

    def __init__(self, headings: Sequence[tuple[int, int, str]]) -> None:
        self._headings = sorted(headings)
        self._next = 0
        self._stack: list[tuple[int, str]] = []

    def at(self, offset: int) -> list[str]:
        """Headings enclosing ``offset``; offsets must not decrease between calls."""
        while self._next < len(self._headings) and self._headings[self._next][0] <= offset:
            _, level, title = self._headings[self._next]
            while self._stack and self._stack[-1][0] >= level:
                self._stack.pop()
            self._stack.append((level, title))
            self._next += 1
        return [title for _, title in self._stack]


def _known_headings(document: Document) -> list[tuple[int, int, str]] | None:
    raw = document.metadata.get("headings")
    if not isinstance(raw, list):
        return None
    found: list[tuple[int, int, str]] = []
    for h in raw:
        if isinstance(h, dict) and isinstance(h.get("offset"), int):
            found.append((h["offset"], int(h.get("level", 1)), str(h.get("title", ""))))
    return found


def make_chunks(
    document: Document,
    spans: Sequence[tuple[int, str]],
    *,
    headings: Sequence[tuple[int, int, str]] | None = None,
) -> list[Document]:
    """Chunk documents of ``document`` from its ``(start, text)`` spans (sorted by start)."""
    base = {k: v for k, v in document.metadata.items() if k not in _WHOLE_DOCUMENT}
    known = list(headings) if headings is not None else _known_headings(document)
    paths = HeadingPaths(known) if known is not None else None
    pages = document.metadata.get("page_offsets")
    source_offset = document.metadata.get("source_offset")
    chunks: list[Document] = []
    for index, (start, text) in enumerate(spans):
        meta: dict[str, Any] = {
            **base,
            "parent_id": document.id,
            "chunk_index": index,
            "start_offset": start,
            "sha256": sha256_text(text),
        }
        if isinstance(source_offset, int):
            meta["source_offset"] = source_offset + start
        if paths is not None:
            meta["heading_path"] = paths.at(start)
        if isinstance(pages, list) and pages:
            meta["page"] = page_of(start, pages)
        chunks.append(Document(text, id=f"{document.id}:{index}", metadata=meta))
    return chunks
