"""Typed graph state: fields, their reducers, and the JSON form checkpoints store.

A state schema is a TypedDict, a dataclass or a pydantic model. A field annotated
``Annotated[T, reducer]`` merges a node's update into the current value with
``reducer(current, update)`` (``operator.add`` appends lists); any other field is replaced by the
last update. Inside the engine the state is a plain dict of field values, the cheapest thing to
copy and merge once per step; nodes see it as the schema's type (a dict for a TypedDict, an
instance for a dataclass or a model, built without re-validation).

The stored form is JSON, never pickle: plain JSON values as they are, schema objects (messages,
tool calls, documents, ...) through :mod:`beluga.schema.wire` under a ``{"$wire": ...}`` tag,
pydantic models and dataclasses as their fields; decoding validates a field back into its
annotated type with pydantic, so a model comes back a model.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, NotRequired, Required, get_args, get_origin, get_type_hints

from pydantic import BaseModel, TypeAdapter, ValidationError
from typing_extensions import ReadOnly, is_typeddict

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import wire

__all__ = ["Reducer", "StateSpec", "decode_value", "encode_value"]

Reducer = Callable[[Any, Any], Any]
_OP = "graphs.state"
_WIRE = "$wire"
_JSON_SCALARS = (str, int, float, bool, type(None))
_WIRE_TYPES = tuple(t for t in typing.get_args(wire.WireObject))


@dataclasses.dataclass(slots=True)
class _Field:
    name: str
    annotation: Any
    reducer: Reducer | None
    adapter: TypeAdapter[Any] | None


class StateSpec:
    """The fields of a state schema and how updates merge into them."""

    __slots__ = ("fields", "kind", "reducers", "schema")

    def __init__(self, schema: type[Any] | None) -> None:
        self.schema = schema
        self.fields: dict[str, _Field] = {}
        if schema is None or schema is dict:
            self.kind = "dict"
        elif is_typeddict(schema):
            self.kind = "typeddict"
        elif isinstance(schema, type) and issubclass(schema, BaseModel):
            self.kind = "pydantic"
        elif dataclasses.is_dataclass(schema):
            self.kind = "dataclass"
        else:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"a graph state is a TypedDict, a dataclass or a pydantic model, got {schema!r}",
            )
        if self.kind != "dict":
            assert schema is not None
            for name, hint in get_type_hints(schema, include_extras=True).items():
                if name.startswith("_"):
                    continue
                base, reducer = _split(hint)
                self.fields[name] = _Field(name, base, reducer, _adapter(base))
        self.reducers = {n: f.reducer for n, f in self.fields.items() if f.reducer is not None}

    @property
    def typed(self) -> bool:
        return self.kind != "dict"

    def initial(self, data: Mapping[str, Any] | Any) -> dict[str, Any]:
        """The first values of a run, validated by the schema (its defaults filled in)."""
        if self.kind == "pydantic" and isinstance(data, self.schema):  # type: ignore[arg-type]
            return {name: getattr(data, name) for name in self.fields}
        if dataclasses.is_dataclass(data) and not isinstance(data, type):
            data = {f.name: getattr(data, f.name) for f in dataclasses.fields(data)}
        if not isinstance(data, Mapping):
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_REQUEST,
                f"a graph's input is a mapping of its state fields, got {type(data).__name__}",
            )
        self.check_keys(data, "input")
        if self.kind == "pydantic":
            assert self.schema is not None
            try:
                model = self.schema.model_validate(dict(data))
            except ValidationError as exc:
                raise BelugaError(
                    _OP, ErrorCode.INVALID_REQUEST, f"invalid graph input: {exc}", cause=exc
                ) from exc
            return {name: getattr(model, name) for name in self.fields}
        if self.kind == "dataclass":
            assert self.schema is not None
            try:
                obj = self.schema(**data)
            except TypeError as exc:
                raise BelugaError(
                    _OP, ErrorCode.INVALID_REQUEST, f"invalid graph input: {exc}", cause=exc
                ) from exc
            return {name: getattr(obj, name) for name in self.fields}
        return dict(data)

    def check_keys(self, data: Mapping[str, Any], what: str) -> None:
        if not self.fields:
            return
        for key in data:
            if key not in self.fields:
                raise BelugaError(
                    _OP,
                    ErrorCode.INVALID_REQUEST,
                    f"{what} sets {key!r}, which is not a field of the state "
                    f"{getattr(self.schema, '__name__', 'schema')}; its fields are "
                    f"{', '.join(self.fields)}",
                )

    def view(self, values: dict[str, Any]) -> Any:
        """The state as nodes and edges see it."""
        kind = self.kind
        if kind == "typeddict" or kind == "dict":
            return dict(values)
        assert self.schema is not None
        if kind == "pydantic":
            return self.schema.model_construct(**values)
        obj = object.__new__(self.schema)
        for name, value in values.items():
            object.__setattr__(obj, name, value)
        return obj

    def apply(self, values: dict[str, Any], update: Mapping[str, Any]) -> None:
        """Merge one node's ``update`` into ``values`` in place, through the reducers."""
        reducers = self.reducers
        for key, value in update.items():
            reducer = reducers.get(key)
            if reducer is not None and key in values:
                values[key] = reducer(values[key], value)
            else:
                values[key] = value

    # -- stored form --------------------------------------------------------------------

    def encode(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {key: encode_value(value, key) for key, value in values.items()}

    def decode(self, data: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, raw in data.items():
            value = decode_value(raw)
            spec = self.fields.get(key)
            if spec is not None and spec.adapter is not None:
                try:
                    value = spec.adapter.validate_python(value)
                except ValidationError as exc:
                    raise BelugaError(
                        _OP,
                        ErrorCode.INVALID_REQUEST,
                        f"a stored value of state field {key!r} does not fit its type: {exc}",
                        cause=exc,
                    ) from exc
            out[key] = value
        return out


def encode_value(value: Any, where: str = "value") -> Any:
    """``value`` as JSON values (see the module docstring)."""
    if isinstance(value, _JSON_SCALARS):
        return value
    if isinstance(value, list | tuple):
        return [encode_value(v, where) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise _unstorable(where, f"a dict key {k!r} that is not a string")
            out[k] = encode_value(v, where)
        return out
    if isinstance(value, _WIRE_TYPES):
        return {_WIRE: wire.to_json(value)}
    if isinstance(value, BaseModel):
        return encode_value(value.model_dump(mode="json"), where)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode_value({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    raise _unstorable(where, f"a {type(value).__name__}")


def decode_value(data: Any) -> Any:
    """The inverse of :func:`encode_value` up to types: models come back as dicts here."""
    if isinstance(data, list):
        return [decode_value(v) for v in data]
    if isinstance(data, dict):
        if len(data) == 1 and _WIRE in data:
            return wire.from_json(data[_WIRE])
        return {k: decode_value(v) for k, v in data.items()}
    return data


def _unstorable(where: str, what: str) -> BelugaError:
    return BelugaError(
        _OP,
        ErrorCode.INVALID_REQUEST,
        f"state field {where!r} holds {what}, which a checkpoint cannot store: keep JSON values, "
        "schema objects (Message, Document, ...), pydantic models and dataclasses in the state",
    )


def _split(hint: Any) -> tuple[Any, Reducer | None]:
    """``Annotated[T, reducer]`` into ``(T, reducer)``; ``NotRequired``/``Required`` unwrapped."""
    origin = get_origin(hint)
    if origin in (NotRequired, Required, ReadOnly):
        return _split(get_args(hint)[0])
    if origin is Annotated:
        base, *meta = get_args(hint)
        reducer = next((m for m in meta if callable(m)), None)
        return _split(base)[0], reducer
    return hint, None


def _adapter(annotation: Any) -> TypeAdapter[Any] | None:
    """A validator for fields whose stored form is not already the value (models, dataclasses)."""
    if not _needs_adapter(annotation):
        return None
    try:
        return TypeAdapter(annotation)
    except Exception:  # an annotation pydantic cannot build (a bare Protocol): keep as decoded
        return None


def _needs_adapter(annotation: Any, depth: int = 0) -> bool:
    if depth > 5:
        return False
    if isinstance(annotation, type):
        if issubclass(annotation, _WIRE_TYPES):
            return False
        return issubclass(annotation, BaseModel) or dataclasses.is_dataclass(annotation)
    return any(_needs_adapter(arg, depth + 1) for arg in get_args(annotation))
