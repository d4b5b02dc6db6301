"""A tool's Python return value as a :class:`ToolResult`, converted once, where it is made.

Text stays text; content parts (an image a tool drew, a file it read) go to the model as they
are, so results may be multimodal; anything else (pydantic models, dataclasses, dicts, lists,
numbers, ``None``) becomes JSON text through pydantic's serializer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic_core import to_json

from beluga.schema import AudioPart, FilePart, ImagePart, TextPart, VideoPart
from beluga.tools.base import ToolResult

__all__ = ["error_result", "to_result"]

_PARTS = (TextPart, ImagePart, AudioPart, VideoPart, FilePart)
_PARTS_OR_TEXT = (*_PARTS, str)
_MAX_ERROR_CHARS = 1000
"""Longest error text sent back to a model: enough to correct a call, never a dump."""


def to_result(value: Any) -> ToolResult:
    """``value`` as a tool result (see the module docstring for the rules)."""
    kind = type(value)
    if kind is str:
        return ToolResult((TextPart(value),))
    if kind is ToolResult:
        return value  # type: ignore[no-any-return]
    if isinstance(value, _PARTS):
        return ToolResult((value,))
    if isinstance(value, list | tuple) and _is_content(value):
        return ToolResult(tuple(TextPart(v) if isinstance(v, str) else v for v in value))
    return ToolResult((TextPart(to_json(value, fallback=str, bytes_mode="base64").decode()),))


def _is_content(values: Sequence[Any]) -> bool:
    """A sequence of content parts (strings among them taken as text), at least one a part."""
    return any(isinstance(v, _PARTS) for v in values) and all(
        isinstance(v, _PARTS_OR_TEXT) for v in values
    )


def error_result(message: str) -> ToolResult:
    """An error result carrying ``message`` (cut to a size a model can use)."""
    if len(message) > _MAX_ERROR_CHARS:
        message = message[: _MAX_ERROR_CHARS - 1] + "…"
    return ToolResult.text(message, is_error=True)
