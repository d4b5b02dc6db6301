"""A function's signature and docstring as a validated argument model and a JSON schema.

Everything here runs once, when a tool is defined: pydantic builds one argument model per tool
(its validator and JSON schema are reused on every call) and ``docstring_parser`` reads the
description of the tool and of each parameter from a Google, NumPy or Sphinx docstring.

Each parameter becomes a model field named ``p<i>`` with the parameter's name as its alias, so
any name a function may use (``json``, ``schema``, ``_hidden``) is a valid argument, and the
model sees exactly the parameter names. Extra arguments are refused: a model that invents one
hears so and can correct its call.
"""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass
from typing import Any, get_origin

import docstring_parser
from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.errors import PydanticSchemaGenerationError, PydanticUserError
from pydantic.json_schema import GenerateJsonSchema

from beluga.core.errors import BelugaError, ErrorCode
from beluga.tools.base import RunContext

__all__ = ["Signature", "read_signature"]

_OP = "tools.function"
_ARGUMENTS_CONFIG = ConfigDict(extra="forbid")


class _NoFieldTitles(GenerateJsonSchema):
    """JSON schema without the ``title`` pydantic derives from each field name: the model
    already sees the name, and every token of a tool definition is paid for on each request."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


@dataclass(slots=True, frozen=True)
class Signature:
    """What a tool needs to know of its function, read once."""

    model: type[BaseModel]
    fields: tuple[tuple[str, str], ...]
    """``(field name, parameter name)`` of the keyword parameters, in order."""
    positional: tuple[str, ...]
    """Field names of the positional-only parameters, passed by position."""
    takes_ctx: bool
    schema: dict[str, Any]
    description: str


def read_signature(function: Any, name: str) -> Signature:
    """The argument model, schema and description of ``function`` (tool ``name``).

    Raises an INVALID_REQUEST :class:`BelugaError` for what cannot be a tool argument:
    ``*args``/``**kwargs``, a run context anywhere but first, a type pydantic cannot validate.
    """
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError) as exc:
        raise _invalid(name, f"its signature cannot be read ({exc})") from exc
    hints = _type_hints(function, name)
    params = list(signature.parameters.values())
    takes_ctx = bool(params) and _is_context(_annotation(params[0], hints))
    if takes_ctx:
        if params[0].kind is inspect.Parameter.KEYWORD_ONLY:
            raise _invalid(name, "its RunContext parameter must come first and be positional")
        params = params[1:]
    docs = _Docstring(inspect.getdoc(function) or "")
    definitions: dict[str, Any] = {}
    fields: list[tuple[str, str]] = []
    positional: list[str] = []
    for index, param in enumerate(params):
        field_name = f"p{index}"
        definitions[field_name] = _field(param, _annotation(param, hints), docs, name)
        if param.kind is inspect.Parameter.POSITIONAL_ONLY:
            positional.append(field_name)
        else:
            fields.append((field_name, param.name))
    model = _model(name, definitions)
    schema = _json_schema(model, name)
    return Signature(model, tuple(fields), tuple(positional), takes_ctx, schema, docs.description)


def _type_hints(function: Any, name: str) -> dict[str, Any]:
    """Resolved annotations (string annotations too) of a function, method, partial or
    callable object."""
    target = function
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = getattr(target, "func", None) or type(function).__call__
    try:
        return typing.get_type_hints(target, include_extras=True)
    except NameError as exc:
        raise _invalid(
            name,
            f"a type in its annotations cannot be resolved ({exc}); define the type at module "
            "level, or import it in the module that defines the function",
        ) from exc
    except TypeError:
        return {}


def _annotation(param: inspect.Parameter, hints: dict[str, Any]) -> Any:
    if param.annotation is inspect.Parameter.empty:
        return Any  # an untyped parameter takes any JSON value
    return hints.get(param.name, param.annotation)


def _is_context(annotation: Any) -> bool:
    return annotation is RunContext or get_origin(annotation) is RunContext


def _field(param: inspect.Parameter, annotation: Any, docs: _Docstring, name: str) -> Any:
    if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
        star = "*" if param.kind is inspect.Parameter.VAR_POSITIONAL else "**"
        raise _invalid(
            name,
            f"its parameter {star}{param.name} cannot be described to a model; list each "
            "argument as a named, typed parameter",
        )
    if _is_context(annotation):
        raise _invalid(name, f"its RunContext parameter {param.name!r} must be the first one")
    default = ... if param.default is inspect.Parameter.empty else param.default
    description = docs.params.get(param.name)
    if description is None:  # an ``Annotated[..., Field(description=...)]`` one stays
        return (annotation, Field(default, alias=param.name))
    return (annotation, Field(default, alias=param.name, description=description))


def _model(name: str, definitions: dict[str, Any]) -> type[BaseModel]:
    try:
        return create_model(f"{name}_arguments", __config__=_ARGUMENTS_CONFIG, **definitions)
    except (PydanticSchemaGenerationError, PydanticUserError, TypeError) as exc:
        raise _invalid(
            name,
            f"a parameter type cannot be validated ({str(exc).splitlines()[0]}); use JSON-like "
            "types: str, int, float, bool, Literal, lists, dicts, pydantic models, dataclasses, "
            "TypedDicts",
        ) from exc


def _json_schema(model: type[BaseModel], name: str) -> dict[str, Any]:
    try:
        schema = model.model_json_schema(schema_generator=_NoFieldTitles)
    except (PydanticSchemaGenerationError, PydanticUserError) as exc:
        raise _invalid(
            name, f"its arguments have no JSON schema ({str(exc).splitlines()[0]})"
        ) from exc
    schema.pop("title", None)
    return schema


class _Docstring:
    """The description and per-parameter descriptions of a docstring in any common style."""

    __slots__ = ("description", "params")

    def __init__(self, text: str) -> None:
        self.params: dict[str, str] = {}
        if not text:
            self.description = ""
            return
        try:
            parsed = docstring_parser.parse(text)
        except docstring_parser.ParseError:
            self.description = text
            return
        parts = (parsed.short_description, parsed.long_description)
        self.description = "\n\n".join(p.strip() for p in parts if p and p.strip())
        for param in parsed.params:
            if param.description:
                self.params[param.arg_name.lstrip("*")] = param.description.strip()


def _invalid(name: str, reason: str) -> BelugaError:
    return BelugaError(_OP, ErrorCode.INVALID_REQUEST, f"tool {name!r}: {reason}")
