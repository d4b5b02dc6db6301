"""Markdown files: YAML front matter into metadata, the headings recorded with their offsets.

The document's text is the body after the front matter (``source_offset`` says where it starts),
so a split never cuts through the YAML block; the front matter's keys go into metadata, except
those that would overwrite the loader's own keys (``source``, ``sha256``...), kept under
``front_matter``. ``headings`` lists ``{"level", "title", "offset"}`` with offsets in the text.
"""

from __future__ import annotations

from collections.abc import Iterator

from beluga.documents._markdown import headings, split_front_matter
from beluga.documents.base import Source
from beluga.documents.loaders.text import read_text
from beluga.schema import Document

__all__ = ["MarkdownLoader"]

_RESERVED = frozenset(
    {"source", "mtime", "file_sha256", "sha256", "source_offset", "headings", "encoding"}
)


class MarkdownLoader:
    """One document per Markdown file (CommonMark headings, YAML front matter)."""

    name = "markdown"

    def __init__(self, *, encoding: str | None = None, front_matter: bool = True) -> None:
        self.encoding = encoding
        self.front_matter = front_matter

    def load(self, source: Source) -> Iterator[Document]:
        text, used = read_text(source.path, encoding=self.encoding)
        meta, body_at = split_front_matter(text, source.path) if self.front_matter else ({}, 0)
        body = text[body_at:]
        found = [{"level": h.level, "title": h.title, "offset": h.start} for h in headings(body)]
        extra = {k: v for k, v in meta.items() if k not in _RESERVED}
        clashing = {k: v for k, v in meta.items() if k in _RESERVED}
        if clashing:
            extra["front_matter"] = clashing
        title = meta.get("title") or next((h["title"] for h in found if h["level"] == 1), None)
        extra["title"] = title
        yield source.document(body, encoding=used, source_offset=body_at, headings=found, **extra)
