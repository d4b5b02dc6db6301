"""CSV loading: a document per row, columns as content or metadata, errors with line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.documents import Source, loader_for
from beluga.documents.loaders.csv_rows import CsvLoader


def _source(tmp_path: Path, text: str, name: str = "t.csv") -> Source:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return Source.from_path(path)


def test_all_columns_as_content_by_default(tmp_path: Path) -> None:
    docs = list(CsvLoader().load(_source(tmp_path, 'name,note\nada,"hello, world"\nbob,\n')))
    assert [d.text for d in docs] == ["name: ada\nnote: hello, world", "name: bob\nnote: "]
    assert [d.metadata["row"] for d in docs] == [1, 2]
    assert docs[0].id != docs[1].id


def test_content_and_metadata_columns(tmp_path: Path) -> None:
    source = _source(tmp_path, "id,source,body\n7,web,the text\n")
    [doc] = CsvLoader(content_columns=["body"]).load(source)
    assert doc.text == "body: the text"
    assert doc.metadata["id"] == "7" and doc.metadata["column.source"] == "web"
    assert doc.metadata["source"] == source.name
    [only] = CsvLoader(content_columns=["body"], metadata_columns=["id"]).load(source)
    assert "column.source" not in only.metadata and only.metadata["id"] == "7"


def test_unknown_column_lists_the_real_ones(tmp_path: Path) -> None:
    with pytest.raises(BelugaError) as info:
        list(CsvLoader(content_columns=["text"]).load(_source(tmp_path, "a,b\n1,2\n")))
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert "['text']" in info.value.message and "['a', 'b']" in info.value.message


def test_extra_cells_name_the_line(tmp_path: Path) -> None:
    with pytest.raises(BelugaError, match="line 3: more cells"):
        list(CsvLoader().load(_source(tmp_path, "a,b\n1,2\n1,2,3\n")))


def test_tsv_uses_tabs(tmp_path: Path) -> None:
    source = _source(tmp_path, "a\tb\nx\ty\n", "t.tsv")
    loader = loader_for(source.path)
    assert loader is not None
    assert [d.text for d in loader.load(source)] == ["a: x\nb: y"]
