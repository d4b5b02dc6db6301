"""Recursive character splitting, the splitter most RAG pipelines start with.

Like LangChain's ``RecursiveCharacterTextSplitter`` and LlamaIndex's ``SentenceSplitter``, text
is cut at the first separator of ``separators`` that occurs (paragraphs, then lines, then
words, then characters), and a piece still longer than ``chunk_size`` is cut again with the
next separators. Unlike them, the pieces are kept as ``(start, end)`` offsets into the original
text and never stripped, so every chunk is exactly ``text[start:start + len(chunk)]``, chunks
cover the text with no gap, and joining them with the overlaps removed gives the text back
(property-tested). Separators stay attached to the piece they end (``keep_separator="end"``,
the default: a chunk ends with its paragraph break) or begin (``"start"``).

Within one level, consecutive pieces that fit are merged greedily into chunks of at most
``chunk_size`` units; a piece too long ends the run and is cut at the next level, so chunk
boundaries fall on the coarsest separator that works (LangChain's behaviour). Size is measured
by ``length`` (characters by default; :class:`~beluga.documents.splitters.tokens.TokenSplitter`
counts tokens). Each new chunk starts with the last pieces of the previous one, as many as fit
in ``chunk_overlap`` units. One unit is never split: with ``""`` among the separators that is a
character; without it, a piece longer than ``chunk_size`` that no separator can cut (a long
URL) becomes one chunk of its own, longer than ``chunk_size``.

When ``length`` is not additive (token counts of joined text can differ from the sum of the
parts), each chunk is measured whole before it is emitted and shortened by whole pieces if it
exceeds ``chunk_size``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Literal

from beluga.core.errors import BelugaError, ErrorCode
from beluga.documents.splitters._chunks import make_chunks
from beluga.observability import start_operation
from beluga.schema import Document, TextPart

__all__ = ["DEFAULT_SEPARATORS", "RecursiveCharacterSplitter"]

DEFAULT_SEPARATORS: tuple[str, ...] = ("\n\n", "\n", ". ", " ", "")

_Piece = tuple[int, int, int]  # start, end, length


class RecursiveCharacterSplitter:
    """Split text at the coarsest separator that works, into chunks of ``chunk_size``."""

    name = "recursive"

    def __init__(
        self,
        *,
        chunk_size: int = 1000,
        chunk_overlap: int = 200,
        separators: Sequence[str] = DEFAULT_SEPARATORS,
        keep_separator: Literal["end", "start"] = "end",
        length: Callable[[str], int] | None = None,
    ) -> None:
        if chunk_size < 1:
            raise _bad(f"chunk_size must be at least 1, got {chunk_size}")
        if not 0 <= chunk_overlap < chunk_size:
            raise _bad(
                f"chunk_overlap must be >= 0 and smaller than chunk_size ({chunk_size}), "
                f"got {chunk_overlap}"
            )
        if keep_separator not in ("end", "start"):
            raise _bad(f"keep_separator must be 'end' or 'start', got {keep_separator!r}")
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.separators = tuple(separators)
        self.keep_separator = keep_separator
        self._length = length or len
        self._chars = length is None

    def split_text(self, text: str) -> list[tuple[int, str]]:
        """``(start, chunk)`` pairs covering ``text``, with each chunk ``text[start:...]``."""
        if not text:
            return []
        return [(a, text[a:b]) for a, b in self._split(text, 0, len(text), 0)]

    def split_documents(self, documents: Iterable[Document]) -> list[Document]:
        """Chunks of each document (see :func:`~beluga.documents.splitters._chunks.make_chunks`).

        A document with non-text parts (images, audio) is passed through whole: its media has
        no place in text offsets.
        """
        with start_operation("split_documents", self.name) as op:
            op.set("beluga.documents.chunk_size", self.chunk_size)
            chunks: list[Document] = []
            count = 0
            for document in documents:
                count += 1
                if any(not isinstance(p, TextPart) for p in document.content):
                    chunks.append(document)
                    continue
                chunks.extend(self._split_document(document))
            op.set("beluga.documents.documents", count)
            op.set("beluga.documents.chunks", len(chunks))
            return chunks

    def _split_document(self, document: Document) -> list[Document]:
        return make_chunks(document, self.split_text(document.text))

    def _split(self, text: str, start: int, end: int, level: int) -> list[tuple[int, int]]:
        """Chunks of ``text[start:end]`` cut at ``separators[level:]``.

        Runs of pieces that fit are merged; a piece too long is flushed on its own and cut
        again with the next separators, so chunk boundaries fall on the coarsest separator.
        """
        separators = self.separators
        while (
            level < len(separators)
            and separators[level]
            and text.find(separators[level], start, end) == -1
        ):
            level += 1
        if level == len(separators):
            return [(start, end)]
        separator = separators[level]
        if not separator:
            return self._merge(text, self._characters(text, start, end))
        width = len(separator)
        size = self.chunk_size
        find = text.find
        at_end = self.keep_separator == "end"
        spans: list[tuple[int, int]] = []
        fitting: list[_Piece] = []
        position = start
        while position < end:
            skip = 0 if at_end or not text.startswith(separator, position) else width
            found = find(separator, position + skip, end)
            cut = end if found == -1 else found + width if at_end else found
            if cut > position:
                length = self._measure(text, position, cut)
                if length <= size:
                    fitting.append((position, cut, length))
                else:
                    if fitting:
                        spans.extend(self._merge(text, fitting))
                        fitting = []
                    spans.extend(self._split(text, position, cut, level + 1))
            position = cut
        if fitting:
            spans.extend(self._merge(text, fitting))
        return spans

    def _characters(self, text: str, start: int, end: int) -> list[_Piece]:
        if self._chars:
            step = max(1, self.chunk_size - self.chunk_overlap)
            return [(a, min(a + step, end), min(step, end - a)) for a in range(start, end, step)]
        return [(a, a + 1, self._length(text[a])) for a in range(start, end)]

    def _measure(self, text: str, start: int, end: int) -> int:
        return end - start if self._chars else self._length(text[start:end])

    def _merge(self, text: str, pieces: list[_Piece]) -> list[tuple[int, int]]:
        """Greedy merge of consecutive pieces into ``(start, end)`` chunks, with overlap."""
        size, overlap = self.chunk_size, self.chunk_overlap
        spans: list[tuple[int, int]] = []
        first = 0  # first piece of the chunk being built
        total = 0
        i = 0
        n = len(pieces)
        while i < n:
            length = pieces[i][2]
            if total + length <= size or i == first:
                total += length
                i += 1
                continue
            last = i
            if not self._chars:
                while (
                    last - first > 1
                    and self._length(text[pieces[first][0] : pieces[last - 1][1]]) > size
                ):
                    last -= 1
                total = sum(p[2] for p in pieces[first:last])
            spans.append((pieces[first][0], pieces[last - 1][1]))
            following = pieces[last][2]
            while first < last and (total > overlap or total + following > size):
                total -= pieces[first][2]
                first += 1
            i = last
        if first < n:
            spans.append((pieces[first][0], pieces[n - 1][1]))
        return spans


def _bad(message: str) -> BelugaError:
    return BelugaError("documents.split", ErrorCode.INVALID_REQUEST, message)
