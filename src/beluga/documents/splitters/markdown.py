"""Markdown-aware splitting: sections at headings first, then the recursive splitter inside.

Like LangChain's ``MarkdownHeaderTextSplitter`` followed by a recursive splitter, but in one
pass and with offsets: a chunk never spans two sections (a section runs from a heading of level
``max_level`` or above to the next one), the heading line stays in its section's first chunk,
so the text is still recovered exactly from the chunks, and every chunk's ``heading_path``
lists the headings it sits under (``["Guide", "Install", "Linux"]``). Headings come from the
CommonMark parser (see :mod:`beluga.documents._markdown`): ``#`` lines inside code blocks are
not headings.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Literal

from beluga.documents._markdown import headings
from beluga.documents.splitters._chunks import make_chunks
from beluga.documents.splitters.recursive import DEFAULT_SEPARATORS, RecursiveCharacterSplitter
from beluga.schema import Document

__all__ = ["MarkdownHeaderSplitter"]


class MarkdownHeaderSplitter(RecursiveCharacterSplitter):
    """Split Markdown at headings up to ``max_level``, then recursively within sections."""

    name = "markdown"

    def __init__(
        self,
        *,
        chunk_size: int = 1000,
        chunk_overlap: int = 200,
        max_level: int = 6,
        separators: Sequence[str] = DEFAULT_SEPARATORS,
        keep_separator: Literal["end", "start"] = "end",
        length: Callable[[str], int] | None = None,
    ) -> None:
        super().__init__(
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            separators=separators,
            keep_separator=keep_separator,
            length=length,
        )
        self.max_level = max_level

    def split_text(self, text: str) -> list[tuple[int, str]]:
        """``(start, chunk)`` pairs; no chunk crosses a heading of ``max_level`` or above."""
        return self._split_sections(text, self._headings(text))

    def _headings(self, text: str) -> list[tuple[int, int, str]]:
        return [(h.start, h.level, h.title) for h in headings(text)]

    def _split_sections(
        self, text: str, found: list[tuple[int, int, str]]
    ) -> list[tuple[int, str]]:
        bounds = sorted({0, *(start for start, level, _ in found if level <= self.max_level)})
        bounds.append(len(text))
        spans: list[tuple[int, str]] = []
        for start, end in itertools.pairwise(bounds):
            if end > start:
                section = super().split_text(text[start:end])
                spans.extend((start + offset, chunk) for offset, chunk in section)
        return spans

    def _split_document(self, document: Document) -> list[Document]:
        found = self._headings(document.text)
        return make_chunks(document, self._split_sections(document.text, found), headings=found)
