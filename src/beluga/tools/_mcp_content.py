"""What an MCP server sends, as Beluga values: tool names providers accept, and tool results as
content parts.

Blocks are read by their ``type`` field (the wire discriminator), so this module needs no import
of the ``mcp`` SDK and stays cheap to import.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from beluga.schema import AudioPart, ContentPart, FilePart, ImagePart, TextPart
from beluga.tools.base import ToolResult

__all__ = ["exposed_names", "sanitize_name", "to_tool_result"]

_MAX_NAME = 64
"""Longest tool name the major providers accept (OpenAI, Anthropic, Gemini: 64)."""
_INVALID = re.compile(r"[^A-Za-z0-9_-]+")


def sanitize_name(name: str) -> str:
    """``name`` as providers accept it: letters, digits, ``_`` and ``-``, not starting with a
    digit or ``-``, at most 64 characters (a long name keeps a hash of the whole, so two long
    names that share a start stay distinct)."""
    clean = _INVALID.sub("_", name)
    if not clean.strip("_-"):
        clean = "tool"
    if not (clean[0].isalpha() or clean[0] == "_"):
        clean = f"_{clean}"
    if len(clean) > _MAX_NAME:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        clean = f"{clean[: _MAX_NAME - 9]}_{digest}"
    return clean


def exposed_names(names: Iterable[str], prefix: str | None) -> dict[str, str]:
    """The name each server tool gets (``{exposed: original}``): prefixed, sanitized, and
    made unique when two originals sanitize alike (``a.b`` and ``a_b``)."""
    out: dict[str, str] = {}
    for original in names:
        base = sanitize_name(f"{prefix}_{original}" if prefix else original)
        name, n = base, 2
        while name in out:
            suffix = f"_{n}"
            name, n = f"{base[: _MAX_NAME - len(suffix)]}{suffix}", n + 1
        out[name] = original
    return out


def to_tool_result(content: Sequence[Any], structured: Any, is_error: bool) -> ToolResult:
    """An MCP ``CallToolResult`` (its ``content`` blocks, ``structuredContent`` and
    ``isError``) as a :class:`ToolResult`. Structured content is used only when there are no
    blocks: servers that send both put the same data in the text (the spec asks them to)."""
    parts = [part for block in content if (part := _part(block)) is not None]
    if not parts and structured is not None:
        parts.append(TextPart(json.dumps(structured, ensure_ascii=False, default=str)))
    return ToolResult(tuple(parts), is_error)


def _part(block: Any) -> ContentPart | None:
    kind = getattr(block, "type", None)
    if kind == "text":
        return TextPart(block.text)
    if kind == "image":
        return ImagePart(base64=block.data, media_type=block.mime_type)
    if kind == "audio":
        return AudioPart(base64=block.data, media_type=block.mime_type)
    if kind == "resource":
        return _resource(block.resource)
    if kind == "resource_link":
        return TextPart(_link(block))
    return None  # a block type of a later protocol revision: nothing a model could read


def _resource(resource: Any) -> ContentPart:
    """An embedded resource: its text as text, its bytes as a file part named by its URI."""
    uri = str(resource.uri)
    text = getattr(resource, "text", None)
    if text is not None:
        return TextPart(text)
    media_type = resource.mime_type or "application/octet-stream"
    return FilePart(base64=resource.blob, media_type=media_type, name=uri.rsplit("/", 1)[-1] or uri)


def _link(link: Any) -> str:
    """A resource link as a line the model can cite: ``[resource: name](uri) — description``."""
    line = f"[resource: {link.name}]({link.uri})"
    if link.mime_type:
        line += f" ({link.mime_type})"
    if link.description:
        line += f" — {link.description}"
    return line
