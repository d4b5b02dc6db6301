"""PDF loading: pages and page numbers, joined offsets, encrypted and corrupt files."""

from __future__ import annotations

from pathlib import Path

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.documents import RecursiveCharacterSplitter, Source
from beluga.documents.loaders.pdf import PdfLoader
from tests.documents.loaders.pdfs import encrypt, make_pdf


def _write(tmp_path: Path, data: bytes, name: str = "f.pdf") -> Source:
    path = tmp_path / name
    path.write_bytes(data)
    return Source.from_path(path)


def test_one_document_per_page(tmp_path: Path) -> None:
    source = _write(tmp_path, make_pdf(["Page one text", "", "Page three"]))
    docs = list(PdfLoader().load(source))
    assert [d.text for d in docs] == ["Page one text", "Page three"], "empty pages are skipped"
    assert [d.metadata["page"] for d in docs] == [1, 3]
    assert docs[0].metadata["page_count"] == 3
    assert len({d.id for d in docs}) == 2
    assert len(list(PdfLoader(keep_empty=True).load(source))) == 3


def test_joined_with_page_offsets_gives_chunk_pages(tmp_path: Path) -> None:
    source = _write(tmp_path, make_pdf(["alpha beta", "gamma delta"]))
    [doc] = PdfLoader(per_page=False).load(source)
    assert doc.text == "alpha beta\n\ngamma delta"
    assert doc.metadata["page_offsets"] == [0, 12]
    chunks = RecursiveCharacterSplitter(chunk_size=12, chunk_overlap=0).split_documents([doc])
    assert [(c.text, c.metadata["page"]) for c in chunks] == [
        ("alpha beta\n\n", 1),
        ("gamma delta", 2),
    ]


def test_encrypted_needs_the_password(tmp_path: Path) -> None:
    source = _write(tmp_path, encrypt(make_pdf(["secret page"]), "pw"), "locked.pdf")
    with pytest.raises(BelugaError) as info:
        list(PdfLoader().load(source))
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert "locked.pdf" in info.value.message and "password=" in info.value.message
    with pytest.raises(BelugaError, match="password is wrong"):
        list(PdfLoader(password="nope").load(source))
    assert [d.text for d in PdfLoader(password="pw").load(source)] == ["secret page"]


def test_corrupt_file_says_so(tmp_path: Path) -> None:
    source = _write(tmp_path, b"%PDF-1.4\nthis is not really a pdf", "broken.pdf")
    with pytest.raises(BelugaError) as info:
        list(PdfLoader().load(source))
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert "broken.pdf" in info.value.message and "corrupt" in info.value.message
