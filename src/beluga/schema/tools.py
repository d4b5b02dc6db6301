"""What a model is told about a tool, and how structured output is asked for."""

from __future__ import annotations

import json
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic.errors import PydanticSchemaGenerationError, PydanticUserError

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema._strict import drop_added_nulls, strict_json_schema

__all__ = ["OutputSchema", "ToolDefinition"]


@dataclass(slots=True, frozen=True)
class ToolDefinition:
    """A tool offered to a model: its name, what it is for, and a JSON schema of its arguments."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None
    _request: tuple[dict[str, Any], bool | None] | None = field(
        default=None, init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "_").isidentifier():
            raise BelugaError(
                "schema.tool",
                ErrorCode.INVALID_REQUEST,
                f"tool name {self.name!r} must be letters, digits, '_' or '-' (providers reject "
                "other characters)",
            )

    def request_parameters(self) -> tuple[dict[str, Any], bool | None]:
        """The parameters schema to send and the ``strict`` flag to send with it (computed once).

        ``strict=True`` gives the strict form of ``parameters`` (every object closed, every
        property required, see :func:`~beluga.schema.strict_json_schema`), or ``parameters`` as
        is with strict off when it has none: OpenAI rejects a strict tool whose schema is not in
        that form. ``False`` and ``None`` send ``parameters`` unchanged.
        """
        if self.strict is not True:
            return self.parameters, self.strict
        if self._request is None:
            form = strict_json_schema(self.parameters)
            object.__setattr__(
                self, "_request", (self.parameters, False) if form is None else (form, True)
            )
        return self._request  # type: ignore[return-value]


@dataclass(slots=True, frozen=True)
class OutputSchema:
    """Ask the model for JSON matching ``schema`` (structured output).

    ``strict`` asks for strict mode where the provider has it: :meth:`request_schema` gives the
    schema in strict form, or the schema as is with strict off when it has no strict form.
    ``output_type`` is the Python type the schema was made from (:meth:`of`); :meth:`parse`
    validates an answer into it, or returns plain JSON without one.
    """

    schema: dict[str, Any]
    name: str = "output"
    strict: bool = True
    _: KW_ONLY
    output_type: Any = field(default=None, compare=False, repr=False)
    _adapter: Any = field(default=None, init=False, compare=False, repr=False)
    _request: tuple[dict[str, Any], bool] | None = field(
        default=None, init=False, compare=False, repr=False
    )

    @classmethod
    def of(
        cls, model: type[Any] | dict[str, Any], *, name: str | None = None, strict: bool = True
    ) -> OutputSchema:
        """From a JSON schema dict, or from a type pydantic can validate: a pydantic model, a
        dataclass, a TypedDict (or any other, such as ``list[Item]``)."""
        if isinstance(model, dict):
            return cls(model, name or str(model.get("title", "output")), strict)
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(model)
            schema = adapter.json_schema()
        except (PydanticUserError, PydanticSchemaGenerationError, TypeError) as exc:
            raise BelugaError(
                "schema.output",
                ErrorCode.INVALID_REQUEST,
                f"cannot make a JSON schema from {model!r} ({str(exc).splitlines()[0]}); pass a "
                "pydantic model, a "
                "dataclass, a TypedDict or a JSON schema dict",
                cause=exc,
            ) from exc
        out = cls(schema, name or _name_of(model), strict, output_type=model)
        object.__setattr__(out, "_adapter", adapter)
        return out

    def request_schema(self) -> tuple[dict[str, Any], bool]:
        """The schema to send and whether to ask for strict mode (computed once)."""
        if not self.strict:
            return self.schema, False
        if self._request is None:
            form = strict_json_schema(self.schema)
            object.__setattr__(
                self, "_request", (self.schema, False) if form is None else (form, True)
            )
        return self._request  # type: ignore[return-value]

    def parse(self, text: str, *, finish_reason: str | None = None) -> Any:
        """The model's answer ``text`` as ``output_type`` (or as JSON without one).

        A ``null`` the strict form allowed for an optional field is taken as "left out". An
        answer that is not JSON or does not validate is an INVALID_REQUEST error saying so;
        ``finish_reason`` (the response's) explains a cut or filtered answer.
        """
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self._mismatch(
                f"it is not JSON ({exc.msg} at char {exc.pos})", finish_reason, exc
            ) from exc
        value, dropped = drop_added_nulls(value, self.schema)
        if self.output_type is None:
            return value
        adapter = self._adapter
        if adapter is None:
            adapter = TypeAdapter(self.output_type)
            object.__setattr__(self, "_adapter", adapter)
        try:
            return adapter.validate_json(json.dumps(value) if dropped else text)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
                for e in exc.errors(include_url=False, include_input=False)[:3]
            )
            raise self._mismatch(problems, finish_reason, exc) from exc

    def _mismatch(
        self, reason: str, finish_reason: str | None, cause: BaseException
    ) -> BelugaError:
        hint = _HINTS.get(finish_reason or "", _HINTS[""])
        return BelugaError(
            "schema.output",
            ErrorCode.INVALID_REQUEST,
            f"the model's answer did not match the output schema {self.name!r}: {reason}; {hint}",
            cause=cause,
        )


_HINTS = {
    "length": "the answer was cut off at max_tokens: raise max_tokens",
    "content_filter": "the provider's content filter cut the answer",
    "tool_calls": "the model called tools instead of answering: run them and ask again",
    "": "ask again, or feed this error back to the model so that it can correct its answer",
}


def _name_of(model: Any) -> str:
    """A name for the schema as providers accept it (letters, digits, ``_``, ``-``)."""
    name = getattr(model, "__name__", "") or "output"
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in name)[:64]
