"""Tools from typed Python functions: ``@tool``, :class:`FunctionTool` and :func:`as_tool`.

The JSON schema of the arguments comes from the signature (pydantic) and the descriptions from
the docstring (Google, NumPy or Sphinx style, read by ``docstring_parser``), both once, when the
tool is defined. On each call the arguments are validated by the prebuilt pydantic validator
first: invalid ones raise :class:`~beluga.tools.base.ToolRetry` listing each bad field and what
it expected, so the model can correct its call.

A first parameter annotated ``RunContext`` (or ``RunContext[Deps]``) is not an argument: it
receives the run's context (dependencies, session id, usage so far).

Async functions are awaited on the event loop. **Sync functions run in a worker thread**
(``asyncio.to_thread``, which carries the context variables, so spans nest) and never block the
loop; a sync function that is only a few microseconds of pure computation may pass
``in_thread=False`` to skip the thread hop. A thread cannot be stopped: when a sync tool times
out, the model gets its error at once, and the thread runs on to its end in the background.

The decorated object stays callable as the original function, so it can be tested directly.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar, overload

from pydantic import ValidationError

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import ToolDefinition, strict_json_schema
from beluga.schema._strict import drop_added_nulls
from beluga.tools._results import to_result
from beluga.tools._signature import read_signature
from beluga.tools.base import RunContext, Tool, ToolResult, ToolRetry, Toolset

__all__ = ["FunctionTool", "as_tool", "tool"]

P = ParamSpec("P")
R = TypeVar("R")

_MAX_PROBLEMS = 8
_MAX_MESSAGE = 200
_JSON_TYPES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "dict": "object",
    "list": "array",
    "NoneType": "null",
}


class FunctionTool(Generic[P, R]):
    """A :class:`~beluga.tools.base.Tool` that calls ``function`` with validated arguments.

    ``name`` defaults to the function's name and ``description`` to its docstring. ``strict``
    asks providers for strict argument decoding: the schema is sent in strict form (every field
    required, optional ones nullable) and the ``null`` s it adds are dropped before validation.
    """

    def __init__(
        self,
        function: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
        requires_approval: bool = False,
        timeout: float | None = None,
        max_retries: int = 1,
        strict: bool | None = None,
        in_thread: bool = True,
    ) -> None:
        tool_name = name or _name_of(function)
        _check_limits(tool_name, timeout, max_retries)
        if inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
            raise _invalid(tool_name, "a generator cannot be a tool; return the whole result")
        signature = read_signature(function, tool_name)
        parameters = signature.schema
        if strict:
            strict_form = strict_json_schema(parameters)
            if strict_form is None:
                raise _invalid(
                    tool_name,
                    "its arguments have no strict JSON schema form (free-form objects, tuples, "
                    "...); pass strict=None or simplify the parameter types",
                )
            parameters = strict_form
        self.function = function
        self._call: Callable[..., Any] = function
        self.definition = ToolDefinition(
            tool_name,
            signature.description if description is None else description,
            parameters,
            strict,
        )
        self.requires_approval = requires_approval
        self.timeout = timeout
        self.max_retries = max_retries
        self._schema = signature.schema if strict else None
        self._validate = signature.model.__pydantic_validator__.validate_python
        self._fields = signature.fields
        self._positional = signature.positional
        self._takes_ctx = signature.takes_ctx
        self._is_async = _is_async(function)
        self._in_thread = in_thread

    @property
    def name(self) -> str:
        return self.definition.name

    async def call(self, arguments: dict[str, Any], ctx: RunContext[Any]) -> ToolResult:
        """Validate ``arguments``, call the function (``ctx`` first if it takes one) and
        convert what it returns; invalid arguments raise :class:`ToolRetry`. (A strict tool
        removes from ``arguments``, in place, the ``null`` s its strict schema added.)"""
        if self._schema is not None:
            arguments = drop_added_nulls(arguments, self._schema)[0]
        try:
            values = self._validate(arguments).__dict__
        except ValidationError as exc:
            raise ToolRetry(_explain(ctx.tool_name or self.definition.name, exc)) from None
        kwargs = {param: values[field] for field, param in self._fields}
        args: list[Any] = [values[field] for field in self._positional]
        if self._takes_ctx:
            args.insert(0, ctx)
        function = self._call
        if self._is_async:
            result = await function(*args, **kwargs)
        elif self._in_thread:
            result = await asyncio.to_thread(function, *args, **kwargs)
        else:
            result = function(*args, **kwargs)
        if not self._is_async and inspect.isawaitable(result):
            result = await result  # a sync wrapper around a coroutine function
        return to_result(result)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call the original function directly (no validation, no thread)."""
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"FunctionTool({self.definition.name!r})"


@overload
def tool(function: Callable[P, R], /) -> FunctionTool[P, R]: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    requires_approval: bool = False,
    timeout: float | None = None,
    max_retries: int = 1,
    strict: bool | None = None,
    in_thread: bool = True,
) -> Callable[[Callable[P, R]], FunctionTool[P, R]]: ...


def tool(
    function: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    requires_approval: bool = False,
    timeout: float | None = None,
    max_retries: int = 1,
    strict: bool | None = None,
    in_thread: bool = True,
) -> FunctionTool[P, R] | Callable[[Callable[P, R]], FunctionTool[P, R]]:
    """Make a tool of a typed function: ``@tool`` or ``@tool(name=..., timeout=...)``.

    See :class:`FunctionTool` for the options."""

    def make(fn: Callable[P, R]) -> FunctionTool[P, R]:
        return FunctionTool(
            fn,
            name=name,
            description=description,
            requires_approval=requires_approval,
            timeout=timeout,
            max_retries=max_retries,
            strict=strict,
            in_thread=in_thread,
        )

    return make if function is None else make(function)


def as_tool(obj: Tool | Callable[..., Any]) -> Tool:
    """``obj`` if it is a :class:`Tool`, else a :class:`FunctionTool` of the function ``obj``.

    Agents call this on everything given as ``tools=``."""
    if isinstance(obj, FunctionTool):
        return obj
    if isinstance(obj, type):
        raise BelugaError(
            "tools.as_tool",
            ErrorCode.INVALID_REQUEST,
            f"{obj.__name__} is a class; pass an instance of it (a Tool) or a function",
        )
    if isinstance(obj, Tool):
        return obj
    if isinstance(obj, Toolset):
        raise BelugaError(
            "tools.as_tool",
            ErrorCode.INVALID_REQUEST,
            f"{obj!r} is a Toolset (a group of tools), not a tool; pass it where toolsets are "
            "accepted",
        )
    if callable(obj):
        return FunctionTool(obj)
    raise BelugaError(
        "tools.as_tool",
        ErrorCode.INVALID_REQUEST,
        f"cannot make a tool of {type(obj).__name__!r}: pass a typed function or a Tool",
    )


def _name_of(function: Any) -> str:
    name = getattr(function, "__name__", None) or getattr(
        getattr(function, "func", None), "__name__", None
    )
    if not isinstance(name, str) or not name.isidentifier():
        raise BelugaError(
            "tools.function",
            ErrorCode.INVALID_REQUEST,
            f"cannot name a tool after {function!r}: pass name='...' (letters, digits, '_', '-')",
        )
    return name


def _check_limits(name: str, timeout: float | None, max_retries: int) -> None:
    if timeout is not None and not timeout > 0:
        raise _invalid(name, f"timeout must be a positive number of seconds or None, not {timeout}")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise _invalid(name, f"max_retries must be an integer >= 0, not {max_retries!r}")


def _is_async(function: Any) -> bool:
    """An async function, or a callable object whose ``__call__`` is one."""
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
        type(function).__call__
    )


def _explain(name: str, exc: ValidationError) -> str:
    """Each invalid field and what it expected, in words a model can act on; never the
    values themselves (they may be large)."""
    lines = [f"Invalid arguments for tool {name!r}:"]
    for error in exc.errors(include_url=False, include_context=False)[:_MAX_PROBLEMS]:
        where = ".".join(str(p) for p in error["loc"]) or "(the arguments)"
        message = error["msg"][:_MAX_MESSAGE]
        if error["type"] not in ("missing", "extra_forbidden"):
            got = type(error.get("input")).__name__
            message = f"{message} (got {_JSON_TYPES.get(got, got)})"
        lines.append(f"- {where}: {message}")
    if exc.error_count() > _MAX_PROBLEMS:
        lines.append(f"- and {exc.error_count() - _MAX_PROBLEMS} more")
    lines.append("Fix the arguments and call the tool again.")
    return "\n".join(lines)


def _invalid(name: str, reason: str) -> BelugaError:
    return BelugaError("tools.function", ErrorCode.INVALID_REQUEST, f"tool {name!r}: {reason}")
