"""Plain text files, and the decoding every text-based loader uses.

Decoding tries, in order: the encoding the caller names; a byte-order mark (UTF-8/16/32); strict
UTF-8 (nearly every file today); then charset-normalizer's detection, a maintained library that
recognises legacy code pages (cp1252, Shift-JIS...); on short Western text its candidates
often tie, and a near-tie goes to cp1252, the commonest of them. Detection is a guess on short
Cyrillic text (cp1251 vs mac_cyrillic): pass ``encoding=`` when you know it. A file none of
these can read fails with an error naming the file and the ``encoding=`` option.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from beluga.core.registry import require
from beluga.documents.base import Source, invalid
from beluga.schema import Document

__all__ = ["TextLoader", "decode", "read_text"]

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


_TIE = 0.15


def decode(data: bytes, path: Path | str, *, encoding: str | None = None) -> tuple[str, str]:
    """``(text, encoding used)`` for the bytes of ``path``; raises INVALID_REQUEST if unreadable."""
    if encoding is not None:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            problem = f"is not valid {encoding} ({exc}); pass the right encoding="
            raise invalid(path, problem) from exc
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(name), name
            except UnicodeDecodeError:
                break
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    detector: Any = require("charset_normalizer", extra="documents")
    candidates = list(detector.from_bytes(data))
    best = candidates[0] if candidates else None
    if best is not None:
        # Short Western text is often a near-tie between code pages; the commonest wins it.
        near = [c for c in candidates if c.chaos <= best.chaos + _TIE and c.encoding == "cp1252"]
        best = near[0] if near else best
    if best is None or best.encoding is None:
        raise invalid(
            path,
            f"is not UTF-8 (byte {utf8_error.start} is invalid) and its encoding could not be "
            "detected; if it is text, pass encoding='...' (e.g. 'latin-1'), otherwise exclude it",
        )
    return str(best), str(best.encoding)


def read_text(path: Path, *, encoding: str | None = None) -> tuple[str, str]:
    """Read and decode ``path`` (see :func:`decode`)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        problem = f"cannot be read ({exc.strerror or exc}); check its permissions"
        raise invalid(path, problem) from exc
    return decode(data, path, encoding=encoding)


class TextLoader:
    """One document per text file, with the detected encoding in its metadata."""

    name = "text"

    def __init__(self, *, encoding: str | None = None) -> None:
        self.encoding = encoding

    def load(self, source: Source) -> Iterator[Document]:
        text, used = read_text(source.path, encoding=self.encoding)
        yield source.document(text, encoding=used, source_offset=0)
