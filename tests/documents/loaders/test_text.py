"""Text loading: UTF-8 first, BOMs, detected legacy encodings, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.documents import Source, document_id, sha256_text
from beluga.documents.loaders.text import TextLoader, decode


def _load(path: Path, **kwargs: str) -> list:  # type: ignore[type-arg]
    return list(TextLoader(**kwargs).load(Source.from_path(path)))


def test_utf8_document_metadata(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("héllo wörld\n", encoding="utf-8")
    [doc] = _load(path)
    assert doc.text == "héllo wörld\n"
    meta = doc.metadata
    assert meta["source"] == path.as_posix() and meta["encoding"] == "utf-8"
    assert meta["sha256"] == sha256_text(doc.text)
    assert len(meta["file_sha256"]) == 64 and meta["mtime"] == path.stat().st_mtime
    assert meta["source_offset"] == 0
    assert doc.id == document_id(path.as_posix())


def test_boms_are_honoured() -> None:
    assert decode("\ufeffhi".encode("utf-8"), "x") == ("hi", "utf-8-sig")
    assert decode("hi there".encode("utf-16"), "x") == ("hi there", "utf-16")


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Le café était très agréable, déjà vu à la fenêtre. " * 4, "cp1252"),
        ("これは日本語のテキストです。文字コードの検出を確認します。" * 4, "shift_jis"),
    ],
)
def test_legacy_encoding_is_detected(text: str, encoding: str) -> None:
    decoded, used = decode(text.encode(encoding), "x.txt")
    assert decoded == text
    assert used != "utf-8"


def test_explicit_wrong_encoding_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "b.txt"
    path.write_bytes(b"\xff\xfe\xfd")
    with pytest.raises(BelugaError) as info:
        _load(path, encoding="ascii")
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert "b.txt" in info.value.message and "encoding=" in info.value.message


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(BelugaError) as info:
        Source.from_path(tmp_path / "nope.txt")
    assert info.value.code is ErrorCode.NOT_FOUND and "nope.txt" in info.value.message
