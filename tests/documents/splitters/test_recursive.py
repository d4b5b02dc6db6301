"""Recursive splitting: nothing lost, chunks within size, overlap within bounds (property tests)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beluga.core.errors import BelugaError, ErrorCode
from beluga.documents import RecursiveCharacterSplitter, estimate_tokens
from beluga.schema import Document, ImagePart, TextPart

_ALPHABET = st.sampled_from(list("ab c.\n\n\té字"))
_TEXTS = st.text(alphabet=_ALPHABET, max_size=400)


def rejoin(chunks: list[tuple[int, str]]) -> str:
    """The text back from chunks, each chunk's overlap with the previous one removed."""
    out = ""
    for start, chunk in chunks:
        assert start <= len(out), "a gap between chunks: text was lost"
        out += chunk[len(out) - start :]
    return out


def check(
    splitter: RecursiveCharacterSplitter,
    text: str,
    length: Callable[[str], int] = len,
    *,
    unbreakable: Callable[[str], bool] = lambda c: False,
) -> list[tuple[int, str]]:
    chunks = splitter.split_text(text)
    assert rejoin(chunks) == text
    for start, chunk in chunks:
        assert text[start : start + len(chunk)] == chunk
        assert chunk
        assert length(chunk) <= splitter.chunk_size or unbreakable(chunk)
    for (a, prev), (b, _) in itertools.pairwise(chunks):
        assert b > a, "chunks must advance"
        shared = text[b : a + len(prev)]
        assert length(shared) <= splitter.chunk_overlap or not shared
    return chunks


@settings(max_examples=300, deadline=None)
@given(
    text=_TEXTS,
    size=st.integers(1, 60),
    overlap_ratio=st.floats(0, 0.9),
    keep=st.sampled_from(["end", "start"]),
)
def test_characters_property(text: str, size: int, overlap_ratio: float, keep: str) -> None:
    overlap = min(size - 1, int(size * overlap_ratio))
    splitter = RecursiveCharacterSplitter(
        chunk_size=size,
        chunk_overlap=overlap,
        keep_separator=keep,  # type: ignore[arg-type]
    )
    check(splitter, text)


@settings(max_examples=200, deadline=None)
@given(text=_TEXTS, size=st.integers(1, 30), overlap=st.integers(0, 5))
def test_custom_length_property(text: str, size: int, overlap: int) -> None:
    splitter = RecursiveCharacterSplitter(
        chunk_size=size, chunk_overlap=min(overlap, size - 1), length=estimate_tokens
    )
    check(splitter, text, estimate_tokens)


@settings(max_examples=200, deadline=None)
@given(text=_TEXTS, size=st.integers(1, 30))
def test_without_a_character_separator_unbreakable_pieces_stand_alone(text: str, size: int) -> None:
    """With no ``""`` separator, a run with no space or newline longer than chunk_size is one
    chunk of its own (documented); everything else respects the size."""
    splitter = RecursiveCharacterSplitter(chunk_size=size, chunk_overlap=0, separators=["\n", " "])
    check(splitter, text, unbreakable=lambda c: " " not in c.rstrip(" ") and "\n" not in c[:-1])


def test_prefers_paragraphs_then_lines_then_words() -> None:
    text = "one two three\n\nfour five\nsix seven eight nine"
    chunks = RecursiveCharacterSplitter(chunk_size=15, chunk_overlap=0).split_text(text)
    assert [c for _, c in chunks] == [
        "one two three\n\n",
        "four five\n",
        "six seven ",
        "eight nine",
    ]


def test_overlap_repeats_the_last_words() -> None:
    text = "alpha beta gamma delta epsilon zeta eta theta"
    chunks = RecursiveCharacterSplitter(chunk_size=18, chunk_overlap=6).split_text(text)
    texts = [c for _, c in chunks]
    assert texts[0] == "alpha beta gamma "
    assert texts[1].startswith("gamma ")
    assert rejoin(chunks) == text


def test_keep_separator_start_begins_pieces_with_it() -> None:
    text = "a b\n\nc d\n\ne f"
    chunks = RecursiveCharacterSplitter(
        chunk_size=5, chunk_overlap=0, keep_separator="start"
    ).split_text(text)
    assert [c for _, c in chunks] == ["a b", "\n\nc d", "\n\ne f"]


def test_documents_get_positions_and_stable_ids() -> None:
    doc = Document("first part here. second part there.", id="d1", metadata={"source": "x.txt"})
    splitter = RecursiveCharacterSplitter(chunk_size=20, chunk_overlap=0)
    chunks = splitter.split_documents([doc])
    again = splitter.split_documents([doc])
    assert [c.id for c in chunks] == ["d1:0", "d1:1"] == [c.id for c in again]
    assert [c.metadata["start_offset"] for c in chunks] == [0, 17]
    assert all(c.metadata["source"] == "x.txt" and c.metadata["parent_id"] == "d1" for c in chunks)
    assert chunks[1].metadata["chunk_index"] == 1
    assert chunks[0].metadata["sha256"] != chunks[1].metadata["sha256"]


def test_source_offset_pages_and_heading_path_follow_the_document() -> None:
    text = "page one text\n\npage two text"
    doc = Document(
        text,
        id="p",
        metadata={
            "source_offset": 100,
            "page_offsets": [0, 15],
            "headings": [{"level": 1, "title": "T", "offset": 0}],
        },
    )
    chunks = RecursiveCharacterSplitter(chunk_size=15, chunk_overlap=0).split_documents([doc])
    assert [c.metadata["page"] for c in chunks] == [1, 2]
    assert [c.metadata["source_offset"] for c in chunks] == [100, 115]
    assert chunks[1].metadata["heading_path"] == ["T"]
    assert "page_offsets" not in chunks[0].metadata and "headings" not in chunks[0].metadata


def test_media_documents_pass_through() -> None:
    doc = Document([TextPart("caption"), ImagePart(url="https://example.com/x.png")], id="m")
    assert RecursiveCharacterSplitter(chunk_size=3, chunk_overlap=0).split_documents([doc]) == [doc]


def test_split_is_traced_without_contents(telemetry: object) -> None:
    splitter = RecursiveCharacterSplitter(chunk_size=10, chunk_overlap=0)
    splitter.split_documents([Document("secret words in the text body", id="s")])
    finished = telemetry.finished_spans()  # type: ignore[attr-defined]
    spans = [s for s in finished if s.name == "split_documents recursive"]
    assert len(spans) == 1
    attrs = dict(spans[0].attributes or {})
    assert attrs["beluga.documents.chunks"] == 4  # "secret ", "words in ", "the text ", "body"
    assert not any("secret" in str(v) for v in attrs.values())


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"chunk_size": 0}, "chunk_size"),
        ({"chunk_size": 10, "chunk_overlap": 10}, "chunk_overlap"),
        ({"keep_separator": "both"}, "keep_separator"),
    ],
)
def test_bad_settings_are_invalid_requests(kwargs: dict[str, object], needle: str) -> None:
    with pytest.raises(BelugaError) as info:
        RecursiveCharacterSplitter(**kwargs)  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_REQUEST and needle in info.value.message
