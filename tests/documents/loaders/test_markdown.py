"""Markdown loading: front matter into metadata (safe YAML), headings with offsets."""

from __future__ import annotations

from pathlib import Path

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.documents import Source
from beluga.documents.loaders.markdown import MarkdownLoader

PAGE = """---
title: The Guide
tags: [a, b]
source: evil
---
# Heading One

Text.

```
# code, not a heading
```

Second
------
"""


def test_front_matter_and_headings(tmp_path: Path) -> None:
    path = tmp_path / "g.md"
    path.write_text(PAGE, encoding="utf-8")
    [doc] = MarkdownLoader().load(Source.from_path(path))
    body_at = PAGE.index("# Heading One")
    assert doc.text == PAGE[body_at:]
    meta = doc.metadata
    assert meta["title"] == "The Guide" and meta["tags"] == ["a", "b"]
    assert meta["source"] == path.as_posix(), "front matter must not overwrite loader keys"
    assert meta["front_matter"] == {"source": "evil"}
    assert meta["source_offset"] == body_at
    assert meta["headings"] == [
        {"level": 1, "title": "Heading One", "offset": 0},
        {"level": 2, "title": "Second", "offset": doc.text.index("Second")},
    ]


def test_title_falls_back_to_first_h1(tmp_path: Path) -> None:
    path = tmp_path / "n.md"
    path.write_text("intro\n\n# Real Title\n", encoding="utf-8")
    [doc] = MarkdownLoader().load(Source.from_path(path))
    assert doc.metadata["title"] == "Real Title" and doc.metadata["source_offset"] == 0


def test_unsafe_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.md"
    path.write_text("---\nx: !!python/object/apply:os.system ['echo hi']\n---\nbody\n")
    with pytest.raises(BelugaError) as info:
        list(MarkdownLoader().load(Source.from_path(path)))
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert "bad.md" in info.value.message and "front matter" in info.value.message
