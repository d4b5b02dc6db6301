"""Decoders of the wire form (see :mod:`beluga.schema.wire`): one function per kind, each
checking the fields it reads and naming the path of what is wrong."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema._wire_encode import USAGE_FIELDS
from beluga.schema.content import (
    AudioPart,
    FilePart,
    ImagePart,
    MediaPart,
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

__all__ = ["READERS", "json_type", "read", "wire_error"]

_T = TypeVar("_T")
_FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "error"})


def wire_error(path: str, message: str, cause: BaseException | None = None) -> BelugaError:
    """The one error of bad wire input: what is wrong, at which path."""
    return BelugaError("schema.wire", ErrorCode.INVALID_REQUEST, f"{path}: {message}", cause=cause)


class _Fields:
    """Typed reads of one JSON object, each error naming the field's path."""

    __slots__ = ("data", "path")

    def __init__(self, data: Any, path: str, allowed: frozenset[str]) -> None:
        if type(data) is not dict and not isinstance(data, Mapping):
            raise wire_error(path, f"expected a JSON object, got {json_type(data)}")
        if not allowed.issuperset(data):
            raise wire_error(
                f"{path}.{sorted(map(str, data.keys() - allowed))[0]}",
                f"unknown field for kind {data.get('kind')!r}; known fields: "
                f"{', '.join(sorted(allowed))}",
            )
        self.data, self.path = data, path

    def get(self, key: str, kind: type, default: Any = ...) -> Any:
        """The value at ``key``, of type ``kind`` (a bool is no int), or ``default``."""
        value = self.data.get(key, default)
        if type(value) is kind or (value is default and default is not ...):
            return value
        if value is ...:
            raise wire_error(f"{self.path}.{key}", "is required")
        if isinstance(value, kind) and not isinstance(value, bool):
            return value
        raise wire_error(f"{self.path}.{key}", f"expected {kind.__name__}, got {json_type(value)}")

    def text(self, key: str) -> str:
        return self.get(key, str)  # type: ignore[no-any-return]

    def opt_text(self, key: str) -> str | None:
        return self.get(key, str, None)  # type: ignore[no-any-return]

    def b64(self, key: str) -> bytes | None:
        text = self.opt_text(key)
        if text is None:
            return None
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise wire_error(f"{self.path}.{key}", "is not valid base64", exc) from exc

    def array(self, key: str) -> list[Any]:
        return self.get(key, list, [])  # type: ignore[no-any-return]


def json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number" if isinstance(value, int | float) else "object")


def _build(path: str, factory: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """Construct a schema object; its own validation error is reported at ``path``."""
    try:
        return factory(*args, **kwargs)
    except BelugaError as exc:
        raise wire_error(path, exc.message, exc) from exc


def _keys(*names: str) -> frozenset[str]:
    return frozenset(("kind", *names))


_TEXT_KEYS = _keys("text")
_REASONING_KEYS = _keys("text", "signature", "redacted", "provider", "id")
_MEDIA_KEYS = _keys("url", "data", "base64", "media_type", "name")
_IMAGE_KEYS = _MEDIA_KEYS | {"detail"}
_MEDIA_TYPES: dict[str, type[MediaPart]] = {
    "image": ImagePart,
    "audio": AudioPart,
    "video": VideoPart,
    "file": FilePart,
}


def _read_text(data: Any, path: str) -> TextPart:
    return TextPart(_Fields(data, path, _TEXT_KEYS).text("text"))


def _read_reasoning(data: Any, path: str) -> ReasoningPart:
    f = _Fields(data, path, _REASONING_KEYS)
    return ReasoningPart(
        f.get("text", str, ""),
        signature=f.opt_text("signature"),
        redacted=f.opt_text("redacted"),
        provider=f.opt_text("provider"),
        id=f.opt_text("id"),
    )


def _read_media(data: Any, path: str) -> MediaPart:
    kind = data["kind"]
    image = kind == "image"
    f = _Fields(data, path, _IMAGE_KEYS if image else _MEDIA_KEYS)
    fields: dict[str, Any] = {
        "url": f.opt_text("url"),
        "data": f.b64("data"),
        "base64": f.opt_text("base64"),
        "media_type": f.opt_text("media_type"),
        "name": f.opt_text("name"),
    }
    if image:
        detail = f.opt_text("detail")
        if detail not in (None, "auto", "low", "high"):
            raise wire_error(f"{path}.detail", f"{detail!r} is not one of auto, low, high")
        fields["detail"] = detail
    return _build(path, _MEDIA_TYPES[kind], **fields)


_PART_READERS: dict[str, Callable[[Any, str], Any]] = {
    "text": _read_text,
    "reasoning": _read_reasoning,
    **dict.fromkeys(_MEDIA_TYPES, _read_media),
}


def _read_parts(values: Any, path: str) -> tuple[Any, ...]:
    if isinstance(values, str):  # hand-written shorthand: one text part
        return (TextPart(values),) if values else ()
    if not isinstance(values, list):
        raise wire_error(path, f"expected an array of content parts, got {json_type(values)}")
    return tuple(read(item, f"{path}[{i}]", _PART_READERS) for i, item in enumerate(values))


def _read_tool_call(data: Any, path: str) -> ToolCall:
    f = _Fields(data, path, _keys("id", "name", "arguments", "signature"))
    return ToolCall(
        f.text("id"),
        f.text("name"),
        f.get("arguments", str, "{}"),
        signature=f.opt_text("signature"),
    )


_MESSAGE_KEYS = _keys("role", "content", "tool_calls", "tool_call_id", "name", "is_error")


def _read_message(data: Any, path: str) -> Message:
    f = _Fields(data, path, _MESSAGE_KEYS)
    calls = f.array("tool_calls")
    return _build(
        path,
        Message,
        f.text("role"),
        _read_parts(data.get("content", []), f"{path}.content"),
        tool_calls=[
            _nested(c, f"{path}.tool_calls[{i}]", "tool_call") for i, c in enumerate(calls)
        ],
        tool_call_id=f.opt_text("tool_call_id"),
        name=f.opt_text("name"),
        is_error=f.get("is_error", bool, False),
    )


def _read_usage(data: Any, path: str) -> Usage:
    f = _Fields(data, path, _keys(*USAGE_FIELDS))
    counts = [f.get(name, int, 0) for name in USAGE_FIELDS]
    for name, value in zip(USAGE_FIELDS, counts, strict=True):
        if value < 0:
            raise wire_error(f"{path}.{name}", f"a token count cannot be negative, got {value}")
    return Usage(*counts)


def _read_document(data: Any, path: str) -> Document:
    f = _Fields(data, path, _keys("id", "content", "metadata", "embedding"))
    embedding = f.get("embedding", list, None)
    if embedding is not None and not all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in embedding
    ):
        raise wire_error(f"{path}.embedding", "expected an array of numbers")
    return Document(
        _read_parts(data.get("content", []), f"{path}.content"),
        id=f.text("id"),
        metadata=f.get("metadata", dict, None),
        embedding=None if embedding is None else [float(x) for x in embedding],
    )


def _read_tool_definition(data: Any, path: str) -> ToolDefinition:
    f = _Fields(data, path, _keys("name", "description", "parameters", "strict"))
    params = f.get("parameters", dict, None)
    return _build(
        path,
        ToolDefinition,
        f.text("name"),
        f.get("description", str, ""),
        *(() if params is None else (dict(params),)),
        strict=f.get("strict", bool, None),
    )


def _read_output_schema(data: Any, path: str) -> OutputSchema:
    f = _Fields(data, path, _keys("schema", "name", "strict"))
    return OutputSchema(
        dict(f.get("schema", dict)), f.get("name", str, "output"), f.get("strict", bool, True)
    )


def _finish_reason(value: str, path: str) -> Any:
    if value not in _FINISH_REASONS:
        raise wire_error(path, f"{value!r} is not one of {', '.join(sorted(_FINISH_REASONS))}")
    return value


def _read_response(data: Any, path: str) -> ChatResponse:
    keys = _keys("message", "usage", "finish_reason", "model", "response_id", "raw_finish_reason")
    f = _Fields(data, path, keys | {"output_schema"})
    schema = data.get("output_schema")
    return ChatResponse(
        _nested(data.get("message"), f"{path}.message", "message"),
        _nested(data.get("usage", {}), f"{path}.usage", "usage"),
        _finish_reason(f.get("finish_reason", str, "stop"), f"{path}.finish_reason"),
        f.opt_text("model"),
        f.opt_text("response_id"),
        f.opt_text("raw_finish_reason"),
        None if schema is None else _nested(schema, f"{path}.output_schema", "output_schema"),
    )


def _read_text_delta(data: Any, path: str) -> TextDelta:
    return TextDelta(_Fields(data, path, _TEXT_KEYS).text("text"))


def _read_reasoning_delta(data: Any, path: str) -> ReasoningDelta:
    f = _Fields(data, path, _REASONING_KEYS)
    return ReasoningDelta(
        f.get("text", str, ""),
        f.opt_text("signature"),
        f.opt_text("redacted"),
        f.opt_text("id"),
        f.opt_text("provider"),
    )


def _read_tool_call_delta(data: Any, path: str) -> ToolCallDelta:
    f = _Fields(data, path, _keys("index", "id", "name", "arguments", "signature"))
    return ToolCallDelta(
        f.get("index", int),
        f.opt_text("id"),
        f.opt_text("name"),
        f.get("arguments", str, ""),
        f.opt_text("signature"),
    )


def _read_usage_event(data: Any, path: str) -> UsageEvent:
    _Fields(data, path, _keys("usage"))
    return UsageEvent(_nested(data.get("usage", {}), f"{path}.usage", "usage"))


def _read_finish(data: Any, path: str) -> FinishEvent:
    f = _Fields(data, path, _keys("reason", "raw_reason", "model", "response_id"))
    return FinishEvent(
        _finish_reason(f.text("reason"), f"{path}.reason"),
        f.opt_text("raw_reason"),
        f.opt_text("model"),
        f.opt_text("response_id"),
    )


READERS: dict[str, Callable[[Any, str], Any]] = {
    **_PART_READERS,
    "tool_call": _read_tool_call,
    "message": _read_message,
    "usage": _read_usage,
    "document": _read_document,
    "tool_definition": _read_tool_definition,
    "output_schema": _read_output_schema,
    "response": _read_response,
    "text_delta": _read_text_delta,
    "reasoning_delta": _read_reasoning_delta,
    "tool_call_delta": _read_tool_call_delta,
    "usage_event": _read_usage_event,
    "finish": _read_finish,
}


def read(data: Any, path: str, readers: Mapping[str, Callable[[Any, str], Any]]) -> Any:
    if type(data) is not dict and not isinstance(data, Mapping):
        raise wire_error(path, f"expected a JSON object with a 'kind', got {json_type(data)}")
    kind = data.get("kind")
    reader = readers.get(kind) if isinstance(kind, str) else None
    if reader is None:
        what = "a content part" if readers is _PART_READERS else "an object"
        raise wire_error(
            f"{path}.kind",
            f"unknown kind {kind!r} for {what}; known kinds: {', '.join(sorted(readers))}",
        )
    return reader(data, path)


def _nested(data: Any, path: str, kind: str) -> Any:
    """A field of one fixed type: its ``kind`` may be left out, but must not be another."""
    if isinstance(data, Mapping) and data.get("kind", kind) == kind:
        return READERS[kind]({**data, "kind": kind} if "kind" not in data else data, path)
    if isinstance(data, Mapping):
        raise wire_error(f"{path}.kind", f"expected kind {kind!r}, got {data.get('kind')!r}")
    raise wire_error(path, f"expected a {kind} object, got {json_type(data)}")
