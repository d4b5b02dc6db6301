"""HTML files: readable text with paragraph breaks, scripts and styles dropped, title kept.

Parsing is selectolax's Lexbor engine (a maintained, spec-compliant HTML5 parser in C, a 1.5 MB
wheel; BeautifulSoup with lxml is slower and about four times larger, trafilatura brings a dozen
dependencies for boilerplate removal we leave to the caller's ``selector=``). The tree is walked
once: block elements (``p``, ``div``, ``h1``-``h6``, ``li``, ``tr``...) start new lines or
paragraphs, runs of whitespace collapse outside ``pre``, and ``script``, ``style``, ``noscript``,
``template``, ``svg`` and ``head`` contribute nothing. Headings are recorded with their offsets
in the text, as the Markdown loader records them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from beluga.core.registry import require
from beluga.documents.base import Source
from beluga.documents.loaders.text import read_text
from beluga.schema import Document

__all__ = ["HtmlLoader", "html_to_text"]

_DROP = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe", "object"})
_PARAGRAPH = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "footer", "nav", "aside", "blockquote",
        "pre", "table", "ul", "ol", "dl", "figure", "form", "fieldset", "address", "hr",
        "h1", "h2", "h3", "h4", "h5", "h6",
    }
)  # fmt: skip
_LINE = frozenset({"li", "tr", "dt", "dd", "br", "caption", "figcaption", "option"})
_CELL = frozenset({"td", "th"})
_SPACE = re.compile(r"\s+")


def html_to_text(root: Any) -> tuple[str, list[dict[str, Any]]]:
    """The text under a selectolax node, and its headings as ``{"level", "title", "offset"}``."""
    out: list[str] = []
    size = 0
    pending = 0  # newlines owed before the next text (0, 1 or 2)
    pre = 0
    found: list[dict[str, Any]] = []
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        tag = node.tag
        if closing:
            if tag == "pre":
                pre -= 1
            if tag in _PARAGRAPH:
                pending = 2
            elif tag in _LINE:
                pending = max(pending, 1)
            continue
        if tag == "-text":
            raw = node.text_content or ""
            chunk = raw if pre else _SPACE.sub(" ", raw)
            if not chunk or (not pre and chunk == " " and (pending or not out)):
                continue
            if pending and out:
                chunk = ("\n" * pending) + (chunk if pre else chunk.lstrip())
            elif not out and not pre:
                chunk = chunk.lstrip()
            pending = 0
            out.append(chunk)
            size += len(chunk)
            continue
        if tag in _DROP or tag == "-comment":
            continue
        if tag in _PARAGRAPH:
            pending = 2
        elif tag in _LINE:
            pending = max(pending, 1)
        elif tag in _CELL and out and not pending:
            out.append("\t")
            size += 1
        if tag == "pre":
            pre += 1
        if len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            title = _SPACE.sub(" ", node.text(deep=True, separator=" ")).strip()
            if title:
                found.append(
                    {"level": int(tag[1]), "title": title, "offset": size + (pending if out else 0)}
                )
        stack.append((node, True))
        children = []
        child = node.child
        while child is not None:
            children.append(child)
            child = child.next
        stack.extend((c, False) for c in reversed(children))
    text = "".join(out)
    stripped = text.rstrip()
    return stripped + ("\n" if stripped else ""), found


class HtmlLoader:
    """One document per HTML file; ``selector`` (CSS) keeps only the main content, if given."""

    name = "html"

    def __init__(self, *, encoding: str | None = None, selector: str | None = None) -> None:
        self.encoding = encoding
        self.selector = selector

    def load(self, source: Source) -> Iterator[Document]:
        lexbor: Any = require("selectolax.lexbor", extra="documents")
        markup, used = read_text(source.path, encoding=self.encoding)
        tree = lexbor.LexborHTMLParser(markup)
        title_node = tree.css_first("title")
        title = _SPACE.sub(" ", title_node.text()).strip() if title_node is not None else None
        root = tree.css_first(self.selector) if self.selector else (tree.body or tree.root)
        text, found = html_to_text(root) if root is not None else ("", [])
        lang = tree.root.attributes.get("lang") if tree.root is not None else None
        yield source.document(
            text, encoding=used, title=title or None, language=lang, headings=found
        )
