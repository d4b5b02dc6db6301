"""PDF files through pypdf: one document per page (default) or one for the whole file.

Per page, metadata has ``page`` (1-based) and ``page_count``; joined (``per_page=False``), the
pages are separated by a blank line and ``page_offsets`` gives the character offset where each
page starts, so a chunk can still be traced to its page. The title and author of the PDF's
information dictionary are kept when present. An encrypted file opens with ``password=`` (the
empty password is tried, as viewers do); a corrupt or encrypted one fails with an error naming
the file and what to do. Pages without extractable text (scans) yield no document unless
``keep_empty=True``: OCR is out of scope here.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Any

from beluga.core.registry import require
from beluga.documents.base import Source, invalid
from beluga.schema import Document

__all__ = ["PdfLoader", "page_of"]

_SEPARATOR = "\n\n"


def page_of(offset: int, page_offsets: list[int]) -> int:
    """The 1-based page holding character ``offset`` of a joined PDF document."""
    return max(1, bisect.bisect_right(page_offsets, offset))


class PdfLoader:
    """Text of PDF pages (pypdf); ``password`` opens encrypted files."""

    name = "pdf"

    def __init__(
        self, *, per_page: bool = True, password: str | None = None, keep_empty: bool = False
    ) -> None:
        self.per_page = per_page
        self.password = password
        self.keep_empty = keep_empty

    def load(self, source: Source) -> Iterator[Document]:
        pypdf: Any = require("pypdf", extra="documents")
        errors = (pypdf.errors.PyPdfError, ValueError, KeyError, TypeError, OSError)
        try:
            reader = pypdf.PdfReader(str(source.path))
            if reader.is_encrypted and not reader.decrypt(self.password or ""):
                hint = "the password is wrong" if self.password else "pass password='...'"
                raise invalid(source.path, f"is an encrypted PDF: {hint} (PdfLoader(password=))")
            pages = [page.extract_text() or "" for page in reader.pages]
            info = reader.metadata
        except errors as exc:
            raise invalid(
                source.path,
                f"is not a readable PDF ({type(exc).__name__}: {exc}); it may be corrupt or "
                "truncated: re-export it, or exclude it from the load",
            ) from exc
        extra = {
            "page_count": len(pages),
            "title": _info(info, "title"),
            "author": _info(info, "author"),
        }
        if self.per_page:
            for number, text in enumerate(pages, start=1):
                if text.strip() or self.keep_empty:
                    yield source.document(text, f"page={number}", page=number, **extra)
            return
        offsets: list[int] = []
        position = 0
        for text in pages:
            offsets.append(position)
            position += len(text) + len(_SEPARATOR)
        joined = _SEPARATOR.join(pages)
        if joined.strip() or self.keep_empty:
            yield source.document(joined, page_offsets=offsets, source_offset=0, **extra)


def _info(info: Any, key: str) -> str | None:
    value = getattr(info, key, None) if info is not None else None
    return str(value) if value else None
