"""Markdown structure shared by the Markdown loader and the header splitter.

Headings come from markdown-it-py's CommonMark block parser (inline parsing switched off: only
block structure is needed), so a ``#`` inside a fenced code block is not a heading and setext
headings (``Title`` over ``===``) are. Positions are character offsets into the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from beluga.core.registry import require
from beluga.documents.base import invalid

__all__ = ["Heading", "headings", "split_front_matter"]

_FRONT_MATTER = re.compile(
    r"\A---[ \t]*\r?\n(.*?)(?:\r?\n)?^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S | re.M
)


@dataclass(slots=True, frozen=True)
class Heading:
    """A heading: its level (1-6), its text, and where its line starts and the next line begins."""

    level: int
    title: str
    start: int
    end: int


def split_front_matter(text: str, path: Path | str) -> tuple[dict[str, Any], int]:
    """``(front matter, offset of the body)``; YAML is read with ``safe_load`` only."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, 0
    try:
        data = yaml.safe_load(match.group(1)) if match.group(1).strip() else {}
    except yaml.YAMLError as exc:
        raise invalid(
            path, f"has invalid YAML front matter ({exc}); fix it or remove the block"
        ) from exc
    if not isinstance(data, dict):
        raise invalid(path, "has front matter that is not a mapping of keys to values")
    return {str(k): v for k, v in data.items()}, match.end()


def headings(text: str) -> list[Heading]:
    """The ATX and setext headings of ``text``, in order."""
    markdown_it: Any = require("markdown_it", extra="documents")
    parser = markdown_it.MarkdownIt("commonmark").disable("inline")
    line_starts = [0]
    find = text.find
    pos = find("\n")
    while pos != -1:
        line_starts.append(pos + 1)
        pos = find("\n", pos + 1)
    line_starts.append(len(text))
    tokens = parser.parse(text)
    found: list[Heading] = []
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.map is not None:
            first, last = token.map
            title = tokens[i + 1].content.strip() if i + 1 < len(tokens) else ""
            found.append(
                Heading(
                    int(token.tag[1:]),
                    title,
                    line_starts[first],
                    line_starts[min(last, len(line_starts) - 1)],
                )
            )
    return found
