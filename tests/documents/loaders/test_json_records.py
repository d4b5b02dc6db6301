"""JSON and JSON Lines loading: path selection, metadata, streaming errors with line numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.documents import Source
from beluga.documents.loaders.json_records import JsonlLoader, JsonLoader, select


def _source(tmp_path: Path, text: str, name: str) -> Source:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return Source.from_path(path)


def test_select_paths() -> None:
    data = {"items": [{"t": "a", "n": [1, 2]}, {"t": "b"}, {"x": 1}]}
    assert list(select(data, ".items[].t")) == ["a", "b"]
    assert list(select(data, "items[0].n[1]")) == [2]
    assert list(select(data, ".items[-1].x")) == [1]
    assert list(select(data, ".missing[].t")) == []
    assert list(select([1, 2], ".[]")) == [1, 2]
    for bad in (".items[x]", ".items[-]"):
        with pytest.raises(BelugaError, match="invalid path"):
            list(select(data, bad))


def test_records_content_and_metadata(tmp_path: Path) -> None:
    payload = {
        "posts": [
            {"id": 1, "source": "blog", "body": "first", "tags": ["a"]},
            {"id": 2, "body": "second"},
        ]
    }
    source = _source(tmp_path, json.dumps(payload), "p.json")
    docs = list(JsonLoader(records=".posts[]", content=".body").load(source))
    assert [d.text for d in docs] == ["first", "second"]
    first = docs[0].metadata
    assert first["id"] == 1 and first["field.source"] == "blog" and first["record"] == 0
    assert "tags" not in first and "body" not in first
    assert first["source"] == source.name


def test_whole_records_as_json_by_default(tmp_path: Path) -> None:
    source = _source(tmp_path, '[{"a": 1}, "plain"]', "r.json")
    assert [d.text for d in JsonLoader().load(source)] == ['{"a": 1}', "plain"]


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(BelugaError) as info:
        list(JsonLoader().load(_source(tmp_path, '{\n  "a": ,\n}', "bad.json")))
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert "bad.json" in info.value.message and "line 2" in info.value.message


def test_jsonl_streams_with_line_numbers(tmp_path: Path) -> None:
    text = '{"text": "one", "lang": "en"}\n\n{"text": "two"}\n{"text": oops}\n'
    docs = JsonlLoader(content="text").load(_source(tmp_path, text, "d.jsonl"))
    first = next(docs)
    assert first.text == "one" and first.metadata["line"] == 1 and first.metadata["lang"] == "en"
    assert next(docs).metadata["line"] == 3, "blank lines are skipped, numbering is kept"
    with pytest.raises(BelugaError) as info:
        next(docs)
    assert "d.jsonl" in info.value.message and "line 4" in info.value.message
