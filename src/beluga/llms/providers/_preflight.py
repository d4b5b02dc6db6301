"""Refuse, before anything is sent, a request that no provider could receive.

A lone surrogate (``"\\ud800"``, what a bad decode leaves in a string) cannot be encoded as
UTF-8, and NaN or infinity is not JSON. Left to the SDKs, some fail while encoding (raising a
``ValueError`` that reads like a broken server) and some send the request anyway (Gemini and
Bedrock escape the surrogate and write ``NaN``), so the provider rejects it or, worse, accepts it.
Either way the error is the caller's, the same on every provider: one INVALID_REQUEST, never
retryable, that says where the bad value is. The scan is cheap: ASCII strings (``str.isascii``
is O(1) in CPython) and bytes are skipped.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.base import ModelSettings
from beluga.schema import Message, TextPart, ToolDefinition

__all__ = ["check_sendable", "unsendable"]

_SURROGATE = re.compile("[\ud800-\udfff]")
_FIELDS: dict[type, tuple[str, ...]] = {}
_SCALARS = frozenset({type(None), bool, int, bytes, bytearray, memoryview})


def check_sendable(
    messages: Sequence[Message],
    tools: Sequence[ToolDefinition],
    settings: ModelSettings,
    op: str,
) -> None:
    """Raise INVALID_REQUEST (not retryable) if the request holds a value no provider can take."""
    problem = unsendable(messages, tools, settings)
    if problem is not None:
        raise BelugaError(op, ErrorCode.INVALID_REQUEST, problem, retryable=False)


def unsendable(
    messages: Sequence[Message], tools: Sequence[ToolDefinition], settings: ModelSettings
) -> str | None:
    """What makes the request impossible to encode, and how to fix it; ``None`` if nothing.

    A quick check first (text parts directly, everything else through the C JSON encoder);
    the slower walk that finds the bad value's place runs only when that check fails."""
    for number, message in enumerate(messages, 1):
        if not _message_ok(message):
            found = _find(message, "")
            if found is not None:
                return _say(found, f"message {number} ({message.role}) of the prompt")
    if not all(_fields_ok(tool) for tool in tools):
        for tool in tools:
            found = _find(tool, "")
            if found is not None:
                return _say(found, f"tool {tool.name!r}")
    if not _fields_ok(settings):
        for name in _field_names(type(settings)):
            found = _find(getattr(settings, name), "")
            if found is not None:
                return _say(found, f"settings.{name}")
    return None


def _message_ok(message: Message) -> bool:
    for part in message.content:
        if not (_text_ok(part.text) if type(part) is TextPart else _json_ok(part)):
            return False
    for call in message.tool_calls:
        if not _fields_ok(call):
            return False
    return _text_ok(message.name) and _text_ok(message.tool_call_id)


def _fields_ok(value: Any) -> bool:
    """Whether every field of the dataclass ``value`` encodes (scalars checked inline)."""
    for name in _field_names(type(value)):
        item = getattr(value, name)
        kind = type(item)
        if kind in _SCALARS:
            continue
        if kind is float:
            if not math.isfinite(item):
                return False
        elif kind is str:
            if not _text_ok(item):
                return False
        elif not _json_ok(item):
            return False
    return True


def _text_ok(text: str | None) -> bool:
    return text is None or text.isascii() or _SURROGATE.search(text) is None


def _json_ok(value: Any) -> bool:
    """Whether ``value`` encodes as strict JSON in UTF-8 (dataclasses as their fields, bytes
    and unknown objects skipped: they are not what this check is about)."""
    try:
        _ENCODER.encode(value).encode("utf-8")
    except ValueError:  # NaN/infinity, or UnicodeEncodeError for a lone surrogate
        return False
    except TypeError:  # a key JSON cannot have: walk it instead
        return _find(value, "") is None
    return True


def _plain(value: Any) -> Any:
    names = _field_names(type(value))
    return [getattr(value, name) for name in names] if names else None


def _say(found: tuple[str, str], where: str) -> str:
    kind, path = found
    place = f"{where} (at {path})" if path else where
    if kind == "surrogate":
        return (
            f"{place} contains a lone surrogate, which cannot be encoded as UTF-8; remove it, "
            "or decode the source text with errors='replace'"
        )
    return f"{place} is {kind}, which JSON cannot carry; use a finite number"


def _find(value: Any, path: str) -> tuple[str, str] | None:
    """The first unencodable value under ``value``: (``"surrogate"`` or the number, its path).

    Dispatches on the exact type first (the common case), then on base classes."""
    kind = type(value)
    if kind in _SCALARS:
        return None
    if kind is str or isinstance(value, str):
        if not value.isascii() and _SURROGATE.search(value):
            return "surrogate", path
        return None
    if kind is float or isinstance(value, float):
        return None if math.isfinite(value) else (repr(value), path)
    if kind is dict or isinstance(value, Mapping):
        for key, item in value.items():
            found = _find(key, path) or _find(item, f"{path}[{key!r}]")
            if found is not None:
                return found
        return None
    if kind is list or kind is tuple or isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _find(item, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    for name in _field_names(kind):
        found = _find(getattr(value, name), f"{path}.{name}" if path else name)
        if found is not None:
            return found
    return None


def _field_names(cls: type) -> tuple[str, ...]:
    """The fields of a dataclass, cached per class (none for any other type)."""
    names = _FIELDS.get(cls)
    if names is None:
        fields = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ()
        names = _FIELDS[cls] = tuple(f.name for f in fields)
    return names


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=_plain)
