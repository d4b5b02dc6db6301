"""CSV files (stdlib ``csv``): one document per row.

By default every column goes into the content as ``column: value`` lines (what an embedder
should see) and the row number into metadata. ``content_columns`` picks the columns that form
the content, ``metadata_columns`` those copied into metadata (all the others, by default, when
``content_columns`` is given), under their own names (``column.<name>`` for a name the
loader uses itself, such as ``source``). A header is required unless ``fieldnames`` is
passed; a row with more cells than the header fails, naming the file and the line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence

from beluga.documents.base import Source, invalid
from beluga.documents.loaders.text import read_text
from beluga.schema import Document

__all__ = ["CsvLoader"]

# Metadata the loader sets itself: a column of that name is stored as ``column.<name>``.
_RESERVED = frozenset({"source", "mtime", "file_sha256", "sha256", "row", "encoding"})


class CsvLoader:
    """Rows of a CSV file as documents; columns as content or metadata (configurable)."""

    name = "csv"

    def __init__(
        self,
        *,
        content_columns: Sequence[str] | None = None,
        metadata_columns: Sequence[str] | None = None,
        fieldnames: Sequence[str] | None = None,
        delimiter: str = ",",
        encoding: str | None = None,
    ) -> None:
        self.content_columns = list(content_columns) if content_columns else None
        self.metadata_columns = list(metadata_columns) if metadata_columns is not None else None
        self.fieldnames = list(fieldnames) if fieldnames else None
        self.delimiter = delimiter
        self.encoding = encoding

    def load(self, source: Source) -> Iterator[Document]:
        text, used = read_text(source.path, encoding=self.encoding)
        reader = csv.DictReader(
            io.StringIO(text, newline=""), fieldnames=self.fieldnames, delimiter=self.delimiter
        )
        try:
            header = list(reader.fieldnames or [])
        except csv.Error as exc:
            raise invalid(source.path, f"is not valid CSV ({exc})") from exc
        if not header:
            return
        content = self.content_columns or header
        missing = [c for c in [*content, *(self.metadata_columns or [])] if c not in header]
        if missing:
            raise invalid(
                source.path,
                f"has no column(s) {missing}; its columns are {header}: fix content_columns/"
                "metadata_columns",
            )
        if self.metadata_columns is not None:
            meta_columns = self.metadata_columns
        else:
            meta_columns = [c for c in header if c not in content] if self.content_columns else []
        try:
            for row_number, row in enumerate(reader, start=1):
                if None in row:
                    raise invalid(
                        source.path,
                        f"line {reader.line_num}: more cells than the {len(header)} columns "
                        "of the header; quote cells that contain the delimiter",
                    )
                body = "\n".join(f"{c}: {row.get(c) or ''}" for c in content)
                columns = {
                    (f"column.{c}" if c in _RESERVED else c): row.get(c) for c in meta_columns
                }
                yield source.document(
                    body, f"row={row_number}", **columns, row=row_number, encoding=used
                )
        except csv.Error as exc:
            raise invalid(source.path, f"line {reader.line_num}: invalid CSV ({exc})") from exc
