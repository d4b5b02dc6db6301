"""The one JSON form of the schema, for everything that is stored or sent.

Memory, checkpoints, the server and voice sessions all write messages, parts, tool calls,
documents, usage and events through this codec and never their own. Every object is a JSON object
whose ``kind`` names its type (``"message"``, ``"text"``, ``"image"``, ``"tool_call"``, ...);
raw bytes are base64 text; a field at its default is left out, so the form stays small and a
later version can add optional fields without breaking stored data. There is no version number:
an additive change adds an optional field, a breaking one would take a new ``kind``. Decoding is
strict, since this is also what the server reads from clients: an unknown kind, an unknown field
or a value of the wrong type is one ``INVALID_REQUEST`` error naming its path (``$.content[2]``),
never a half-read object. An older reader therefore refuses data that a newer one wrote with a
new field rather than silently dropping it (a reasoning signature, say).

Plain dicts and functions, no pydantic: the schema types are slotted dataclasses, and a history
of a thousand messages is decoded on every turn of a stored conversation.

``to_json``/``from_json`` convert to and from JSON-ready Python values (dicts and lists);
``dumps``/``dumpb``/``loads`` to and from JSON text and UTF-8 bytes. A :class:`OutputSchema`
keeps its JSON schema, not the Python type it was made from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeAlias, TypeVar, overload

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema._wire_decode import READERS, read, wire_error
from beluga.schema._wire_encode import ENCODERS
from beluga.schema.content import (
    AudioPart,
    FilePart,
    ImagePart,
    ReasoningPart,
    TextPart,
    VideoPart,
)
from beluga.schema.documents import Document
from beluga.schema.events import (
    ChatResponse,
    FinishEvent,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    UsageEvent,
)
from beluga.schema.messages import Message, ToolCall
from beluga.schema.tools import OutputSchema, ToolDefinition
from beluga.schema.usage import Usage

__all__ = ["WireObject", "dumpb", "dumps", "from_json", "loads", "to_json"]

WireObject: TypeAlias = (
    TextPart
    | ReasoningPart
    | ImagePart
    | AudioPart
    | VideoPart
    | FilePart
    | ToolCall
    | Message
    | Usage
    | Document
    | ToolDefinition
    | OutputSchema
    | ChatResponse
    | TextDelta
    | ReasoningDelta
    | ToolCallDelta
    | UsageEvent
    | FinishEvent
)
"""Every type the wire form carries."""

_T = TypeVar("_T")
_OP = "schema.wire"


def to_json(obj: WireObject | Sequence[WireObject]) -> Any:
    """``obj`` (or a list of them, such as a history) as JSON-ready dicts and lists."""
    if isinstance(obj, list | tuple):
        return [to_json(item) for item in obj]
    encode = ENCODERS.get(type(obj))
    if encode is None:
        encode = next((e for t, e in ENCODERS.items() if isinstance(obj, t)), None)
    if encode is None:
        raise BelugaError(
            _OP,
            ErrorCode.INVALID_REQUEST,
            f"cannot encode a {type(obj).__name__}: the wire form carries messages, content "
            "parts, tool calls, tool definitions, output schemas, documents, usage, responses "
            "and stream events",
        )
    return encode(obj)


def dumps(obj: WireObject | Sequence[WireObject]) -> str:
    """``obj`` as compact JSON text (standard JSON: no NaN or infinity)."""
    return _dump(to_json(obj), ascii_only=False)


def dumpb(obj: WireObject | Sequence[WireObject]) -> bytes:
    """``obj`` as UTF-8 JSON bytes; text that UTF-8 cannot hold (a lone surrogate) is escaped."""
    data = to_json(obj)
    try:
        return _dump(data, ascii_only=False).encode("utf-8")
    except UnicodeEncodeError:
        return _dump(data, ascii_only=True).encode("ascii")


def _dump(data: Any, *, ascii_only: bool) -> str:
    try:
        return json.dumps(data, ensure_ascii=ascii_only, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise BelugaError(
            _OP,
            ErrorCode.INVALID_REQUEST,
            f"cannot write JSON: {exc}; metadata, tool parameters and schemas may hold only "
            "JSON values (str, int, float, bool, None, lists and dicts with str keys)",
            cause=exc,
        ) from exc


@overload
def from_json(data: Any) -> Any: ...
@overload
def from_json(data: Any, expect: type[_T]) -> _T: ...
def from_json(data: Any, expect: type[Any] | None = None) -> Any:
    """The schema object that ``data`` (from :func:`to_json` or parsed JSON) describes.

    A list gives a list. With ``expect``, ``data`` must be one object of that type.
    """
    if isinstance(data, list):
        if expect is not None:
            raise wire_error("$", f"expected one {expect.__name__}, got an array")
        return [read(item, f"$[{i}]", READERS) for i, item in enumerate(data)]
    obj = read(data, "$", READERS)
    if expect is not None and not isinstance(obj, expect):
        raise wire_error("$.kind", f"expected a {expect.__name__}, got {type(obj).__name__}")
    return obj


@overload
def loads(text: str | bytes | bytearray) -> Any: ...
@overload
def loads(text: str | bytes | bytearray, expect: type[_T]) -> _T: ...
def loads(text: str | bytes | bytearray, expect: type[Any] | None = None) -> Any:
    """Parse JSON text or UTF-8 bytes from :func:`dumps`/:func:`dumpb` (see :func:`from_json`)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise wire_error("$", f"not valid JSON ({exc.msg} at char {exc.pos})", exc) from exc
    except UnicodeDecodeError as exc:
        raise wire_error("$", f"not UTF-8 text ({exc.reason} at byte {exc.start})", exc) from exc
    return from_json(data) if expect is None else from_json(data, expect)
