"""Image and file slots of a chat template: a variable's value becomes a media part, not text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import FilePart, ImagePart, MediaPart

__all__ = ["FileSlot", "ImageSlot", "media_part"]

_DATA_URL = re.compile(r"data:(?P<type>[\w.+-]+/[\w.+-]+)(?:;[\w=.+-]+)*;base64,(?P<data>.*)", re.S)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)


@dataclass(slots=True, frozen=True)
class ImageSlot:
    """An image taken from the variable ``variable``: an :class:`~beluga.schema.ImagePart`, a
    URL, a ``data:`` URL, or raw bytes (PNG, JPEG, GIF and WebP are recognised; give
    ``media_type`` for anything else)."""

    variable: str
    media_type: str | None = None
    detail: Literal["auto", "low", "high"] | None = None


@dataclass(slots=True, frozen=True)
class FileSlot:
    """A file (a PDF, say) taken from the variable ``variable``: a
    :class:`~beluga.schema.FilePart`, a URL, a ``data:`` URL or raw bytes (PDF is recognised;
    give ``media_type`` for anything else)."""

    variable: str
    media_type: str | None = None
    name: str | None = None


def _sniff(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in _MAGIC if data.startswith(magic)), None)


def media_part(slot: ImageSlot | FileSlot, value: Any, label: str) -> MediaPart:
    """The part ``value`` stands for in ``slot``; anything else is one clear error."""
    cls: type[ImagePart] | type[FilePart] = ImagePart if isinstance(slot, ImageSlot) else FilePart
    extra: dict[str, Any] = (
        {"detail": slot.detail} if isinstance(slot, ImageSlot) else {"name": slot.name}
    )
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        if match := _DATA_URL.fullmatch(value):
            return cls(base64=match["data"], media_type=match["type"], **extra)
        if _URL.fullmatch(value):
            return cls(url=value, media_type=slot.media_type, **extra)
    elif isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        media_type = slot.media_type or _sniff(data)
        if media_type is None:
            raise BelugaError(
                "prompts.render",
                ErrorCode.INVALID_REQUEST,
                f"{label}: the bytes of {slot.variable!r} are of an unknown type; give the slot "
                "a media_type (e.g. ImageSlot(..., media_type='image/png'))",
            )
        return cls(data=data, media_type=media_type, **extra)
    what = "image" if cls is ImagePart else "file"
    shown = "text that is not a URL" if isinstance(value, str) else type(value).__name__
    raise BelugaError(
        "prompts.render",
        ErrorCode.INVALID_REQUEST,
        f"{label}: the {what} {slot.variable!r} is {shown}; pass a URL, a data: URL, bytes or "
        f"a {cls.__name__}",
    )
