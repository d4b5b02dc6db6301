"""Bedrock Converse media blocks: images, documents, video and audio of our content parts.

Split from ``_bedrock_wire`` (the rest of the request and response mapping). Media is sent as
bytes; a URL is accepted only as an ``s3://`` URI (``s3Location``), since Bedrock fetches nothing
from the web. Documents need a name of letters, digits, spaces, hyphens, parentheses and brackets:
other characters are replaced, a missing name becomes ``Document N``.
"""

from __future__ import annotations

import mimetypes
import re
from typing import Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import AudioPart, ContentPart, FilePart, ImagePart, MediaPart, VideoPart

__all__ = ["DocumentNames", "media_block"]

# Per block kind: the Converse format names, then aliases (media subtype=format); a subtype that
# already is a format name (png, pdf, mp4, ...) needs no alias.
_FORMAT_NAMES = {
    "image": ("png jpeg gif webp", "jpg=jpeg"),
    "document": (
        "pdf csv doc docx xls xlsx html txt md",
        "plain=txt markdown=md x-markdown=md msword=doc vnd.ms-excel=xls "
        "vnd.openxmlformats-officedocument.wordprocessingml.document=docx "
        "vnd.openxmlformats-officedocument.spreadsheetml.sheet=xlsx",
    ),
    "video": (
        "mkv mov mp4 webm flv mpeg mpg wmv three_gp",
        "quicktime=mov x-matroska=mkv x-flv=flv x-ms-wmv=wmv 3gpp=three_gp",
    ),
    "audio": (
        "mp3 opus wav aac flac mp4 ogg mkv mka x-aac m4a mpeg mpga pcm webm",
        "mpeg=mp3 x-wav=wav wave=wav vnd.wave=wav x-flac=flac x-m4a=m4a x-matroska=mka l16=pcm",
    ),
}
_FORMATS = {
    kind: (frozenset(names.split()), dict(a.split("=") for a in aliases.split()))
    for kind, (names, aliases) in _FORMAT_NAMES.items()
}
_MEDIA_KIND: dict[type[ContentPart], str] = {
    ImagePart: "image",
    FilePart: "document",
    VideoPart: "video",
    AudioPart: "audio",
}
_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9\s\-()\[\]]+")


class DocumentNames:
    """Numbers unnamed documents across the request (``Document 1``, ``Document 2``, ...)."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0

    def name(self, given: str | None) -> str:
        self.n += 1
        if given:
            clean = " ".join(_BAD_NAME_CHARS.sub("-", given).split())
            if clean.strip("-"):
                return clean
        return f"Document {self.n}"


def media_block(part: ContentPart, op: str, docs: DocumentNames) -> dict[str, Any]:
    """The Converse block (``{"image": ...}``, ``{"document": ...}``, ...) for a media part."""
    kind = _MEDIA_KIND[type(part)]
    assert isinstance(part, MediaPart)
    block: dict[str, Any] = {"format": _format(kind, part, op), "source": _source(part, op)}
    if kind == "document":
        block["name"] = docs.name(part.name)
    return {kind: block}


def _format(kind: str, part: MediaPart, op: str) -> str:
    media_type = part.media_type or (mimetypes.guess_type(part.url)[0] if part.url else None)
    allowed, aliases = _FORMATS[kind]
    subtype = (media_type or "").lower().split(";")[0].rsplit("/", 1)[-1].strip()
    fmt = aliases.get(subtype, subtype)
    if fmt not in allowed:
        raise BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            f"Bedrock does not take {kind} of type {media_type or 'unknown'!r} "
            f"({type(part).__name__}); use one of: {', '.join(sorted(allowed))}",
        )
    return fmt


def _source(part: MediaPart, op: str) -> dict[str, Any]:
    if part.url is None:
        return {"bytes": part.as_bytes()}
    if part.url.startswith("s3://"):
        return {"s3Location": {"uri": part.url}}
    raise BelugaError(
        op,
        ErrorCode.INVALID_REQUEST,
        f"Bedrock cannot fetch {type(part).__name__} URLs; download it and pass "
        "data=... (with media_type=), or give an s3:// URI",
    )
