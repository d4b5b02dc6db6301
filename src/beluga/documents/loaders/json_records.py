"""JSON and JSON Lines files: records selected by a small jq-like path, one document each.

Paths are the subset of jq people use for this: ``.items[].body`` — keys separated by dots,
``[]`` to iterate over an array, ``[2]`` or ``[-1]`` for one element (a leading dot is
optional). ``records`` picks the records in a JSON file (default: the top-level array's
elements, or the top-level value); ``content`` picks the text inside a record (default: the
whole record, as JSON unless it is a string). The record's other top-level keys with scalar
values become metadata (``metadata_keys`` restricts them). JSON Lines files are read line by
line, never whole, and an error names the line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.documents.base import Source, invalid
from beluga.schema import Document

__all__ = ["JsonLoader", "JsonlLoader", "select"]

_STEP = re.compile(r"\.?([^.\[\]]+)|\[(-?\d+)?\]")
_RESERVED = frozenset({"source", "mtime", "file_sha256", "sha256", "line", "record", "path"})
_SCALAR = (str, int, float, bool)


def _parse(path: str) -> list[str | int | None]:
    """Steps of ``path``: a key, an index, or ``None`` for ``[]``."""
    steps: list[str | int | None] = []
    position = 1 if path.startswith(".") and (len(path) == 1 or path[1] == "[") else 0
    while position < len(path):
        match = _STEP.match(path, position)
        if match is None:
            raise BelugaError(
                "documents.json",
                ErrorCode.INVALID_REQUEST,
                f"invalid path {path!r} at character {position}: use keys, '.', '[]' or '[n]' "
                "(e.g. '.items[].text')",
            )
        key, index = match.groups()
        steps.append(key if key is not None else (int(index) if index else None))
        position = match.end()
    return steps


def select(value: Any, path: str) -> Iterator[Any]:
    """Every value ``path`` reaches in ``value`` (missing keys reach nothing)."""
    current: list[Any] = [value]
    for step in _parse(path):
        following: list[Any] = []
        for item in current:
            if step is None and isinstance(item, list):
                following.extend(item)
            elif isinstance(step, int) and isinstance(item, list):
                if -len(item) <= step < len(item):
                    following.append(item[step])
            elif isinstance(step, str) and isinstance(item, dict) and step in item:
                following.append(item[step])
        current = following
    yield from current


class _Records:
    """What JSON and JSON Lines share: turning one record into a document."""

    def __init__(self, content: str | None, metadata_keys: Sequence[str] | None) -> None:
        self.content = content
        self.metadata_keys = list(metadata_keys) if metadata_keys is not None else None
        if content:
            _parse(content)

    def _document(self, source: Source, record: Any, part: str, where: dict[str, int]) -> Document:
        if self.content:
            found = list(select(record, self.content))
            values = [v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in found]
            text = "\n".join(values)
        else:
            text = record if isinstance(record, str) else json.dumps(record, ensure_ascii=False)
        meta: dict[str, Any] = {}
        if isinstance(record, dict):
            top = self.content.lstrip(".").split(".")[0].split("[")[0] if self.content else None
            keys = self.metadata_keys if self.metadata_keys is not None else list(record)
            for key in keys:
                value = record.get(key)
                if key != top and (isinstance(value, _SCALAR) or value is None):
                    meta[f"field.{key}" if key in _RESERVED else key] = value
        return source.document(text, part, **{**meta, **where})


class JsonLoader(_Records):
    """Records of a JSON file (``records`` path) as documents (``content`` path for the text)."""

    name = "json"

    def __init__(
        self,
        *,
        records: str | None = None,
        content: str | None = None,
        metadata_keys: Sequence[str] | None = None,
    ) -> None:
        super().__init__(content, metadata_keys)
        self.records = records
        if records:
            _parse(records)

    def load(self, source: Source) -> Iterator[Document]:
        try:
            with source.path.open(encoding="utf-8-sig") as f:
                data = json.load(f)
        except UnicodeDecodeError as exc:
            raise invalid(source.path, "is not UTF-8, as JSON must be (RFC 8259)") from exc
        except json.JSONDecodeError as exc:
            raise invalid(
                source.path,
                f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            ) from exc
        if self.records:
            items = list(select(data, self.records))
        else:
            items = data if isinstance(data, list) else [data]
        for number, record in enumerate(items):
            yield self._document(source, record, f"record={number}", {"record": number})


class JsonlLoader(_Records):
    """One document per line of a JSON Lines file, streamed; blank lines are skipped."""

    name = "jsonl"

    def __init__(
        self, *, content: str | None = None, metadata_keys: Sequence[str] | None = None
    ) -> None:
        super().__init__(content, metadata_keys)

    def load(self, source: Source) -> Iterator[Document]:
        number = 0
        try:
            with source.path.open(encoding="utf-8-sig") as f:
                for number, line in enumerate(f, start=1):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise invalid(
                            source.path,
                            f"line {number}: not valid JSON ({exc.msg} at column {exc.colno}); "
                            "each line of a .jsonl file must be one JSON value",
                        ) from exc
                    yield self._document(source, record, f"line={number}", {"line": number})
        except UnicodeDecodeError as exc:
            raise invalid(source.path, f"line {number + 1}: not UTF-8, as JSON must be") from exc
