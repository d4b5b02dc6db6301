"""The one template engine of prompts: Jinja2, sandboxed, strict and bounded.

Why Jinja2 and only Jinja2: one syntax everywhere (``{{ var }}``, ``{% for %}``, filters), and the
single braces of JSON inside a prompt need no escaping (``str.format``-style ``{var}`` would make
every literal ``{`` an error or an escape). There is no second, ``{var}`` style.

The environment is Jinja's :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment`:

- attributes that start with ``_`` and the internals of functions, frames, generators and code
  (``__class__``, ``__globals__``, ``mro``, ``gi_frame``...) are refused, as are calls that
  change a list, dict or set passed in by the caller; a refusal is one ``INVALID_REQUEST``
  ``BelugaError`` naming the template;
- undefined values are strict (:class:`_Missing`): a missing variable is an error naming it;
- autoescape is off (a prompt is not HTML), ``trim_blocks`` and ``lstrip_blocks`` are on so a
  ``{% tag %}`` on its own line leaves no blank line, and ``lipsum`` is removed;
- there is no loader, so ``include``/``import``/``extends`` fail: compose templates with
  variables and ``partial()`` instead.

How a render is bounded (:class:`RenderLimits`): each template is compiled once, after a pass
over its syntax tree that routes every ``for`` loop's items, every filter's result and every
``~`` concatenation through the checks below; the sandbox adds its own for calls and operators.

- *steps*: every loop iteration and every call (functions, methods, macros, ``loop()``) counts
  one step; past ``max_steps`` the render stops. ``range()`` also keeps Jinja's own cap of
  100,000 items.
- *size*: an operation whose result size is known from its operands is refused *before* it runs
  when the result would be longer than ``max_chars`` (``'x' * n``, ``a + b``, ``2 ** n``, a
  ``%``/``format`` width, ``center``/``ljust``/``rjust``/``zfill``/``indent`` widths,
  ``replace``); every string, list or tuple that a filter, call, ``~`` or operator returns is
  checked after it; and the output is counted as it is produced, chunk by chunk.
- deep recursion (a macro calling itself) is the same clear error, not a ``RecursionError``.

A cut is one ``CAPACITY_EXCEEDED`` ``BelugaError`` naming the template and the limit, and how to
raise it (``RenderLimits(max_steps=..., max_chars=...)``).
"""

from __future__ import annotations

import contextvars
import difflib
import functools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateRuntimeError, UndefinedError
from jinja2.ext import Extension
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing
from jinja2.visitor import NodeTransformer

from beluga.core.errors import BelugaError, ErrorCode

__all__ = ["Compiled", "RenderLimits", "compile_template", "render"]

_OP = "prompts.render"
_MAX_INT_BITS = 1 << 16
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\d*)(?:\.(\d+))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*?:([^{}]*)\}")
_DIGITS = re.compile(r"\d+")


@dataclass(slots=True, frozen=True)
class RenderLimits:
    """Bounds of one render (see the module docstring for what counts)."""

    max_steps: int = 100_000
    """Loop iterations plus calls."""
    max_chars: int = 1_000_000
    """Longest output, and longest string, list or tuple built on the way."""


DEFAULT_LIMITS = RenderLimits()


class _Budget:
    """What one render has spent so far."""

    __slots__ = ("label", "limits", "steps")

    def __init__(self, limits: RenderLimits, label: str) -> None:
        self.limits = limits
        self.label = label
        self.steps = 0


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "beluga_prompt_budget", default=None
)


class _Exceeded(Exception):
    """Raised inside the template; turned into a BelugaError outside it."""


def _cut(what: str) -> NoReturn:
    raise _Exceeded(what)


def _step() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.steps += 1
        if budget.steps > budget.limits.max_steps:
            _cut(f"more than {budget.limits.max_steps:,} steps (loop iterations and calls)")


def _max_chars() -> int:
    budget = _BUDGET.get()
    return budget.limits.max_chars if budget is not None else DEFAULT_LIMITS.max_chars


def _refuse_size(size: int) -> None:
    limit = _max_chars()
    if size > limit:
        _cut(f"a value of {size:,} characters or items (the limit is {limit:,})")


def _sized(value: Any) -> Any:
    if isinstance(value, str | bytes | list | tuple):
        _refuse_size(len(value))
    return value


def _check_widths(fmt: Any) -> None:
    """A ``%`` or ``format`` width or precision above the size limit is refused before use."""
    if isinstance(fmt, str) and ("%" in fmt or "{" in fmt):
        limit = _max_chars()
        numbers = [n for pair in _PERCENT_SPEC.findall(fmt) for n in pair if n]
        numbers += [n for spec in _BRACE_SPEC.findall(fmt) for n in _DIGITS.findall(spec)]
        for number in numbers:
            if len(number) > 12 or int(number) > limit:
                _cut(f"a format width of {number} characters (the limit is {limit:,})")


def _check_int(value: Any) -> None:
    if isinstance(value, int) and value > _max_chars():
        _refuse_size(value)


def _check_replace(text: Any, old: Any, new: Any, count: Any = -1) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        hits = text.count(old) if old else len(text) + 1
        if isinstance(count, int) and count >= 0:
            hits = min(hits, count)
        _refuse_size(len(text) + hits * (len(new) - len(old)))


def _check_call(func: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Size-taking ``str`` methods: their result size is known from their arguments."""
    owner = getattr(func, "__self__", None)
    if not isinstance(owner, str):
        return
    name = getattr(func, "__name__", "")
    if name in {"center", "ljust", "rjust", "zfill"} and args:
        _check_int(args[0])
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(size, int):
            _refuse_size(len(owner) + owner.count("\t") * size)
    elif name == "replace" and len(args) >= 2:
        _check_replace(owner, args[0], args[1], args[2] if len(args) > 2 else -1)
    elif name in {"format", "format_map"}:
        _check_widths(owner)


def _check_binop(operator: str, left: Any, right: Any) -> None:
    sequence = (str, bytes, list, tuple)
    if operator == "*":
        if isinstance(left, sequence) and isinstance(right, int):
            _refuse_size(len(left) * right)
        elif isinstance(right, sequence) and isinstance(left, int):
            _refuse_size(len(right) * left)
        elif (
            isinstance(left, int)
            and isinstance(right, int)
            and left.bit_length() + right.bit_length() > _MAX_INT_BITS
        ):
            _cut(f"an integer of more than {_MAX_INT_BITS:,} bits")
    elif operator == "**":
        if (
            isinstance(left, int)
            and isinstance(right, int)
            and right > 0
            and abs(left) > 1
            and left.bit_length() * right > _MAX_INT_BITS
        ):
            _cut(f"an integer of more than {_MAX_INT_BITS:,} bits")
    elif operator == "+":
        if isinstance(left, sequence) and isinstance(right, sequence):
            _refuse_size(len(left) + len(right))
    elif operator == "%" and isinstance(left, str):
        _check_widths(left)


class _Counted:
    """A loop's items, one step each."""

    __slots__ = ("_items", "_source")

    def __init__(self, source: Any) -> None:
        self._source = source
        self._items = iter(source)

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        item = next(self._items)
        _step()
        return item

    def __len__(self) -> int:
        return len(self._source)


class _Bounds(Extension):
    """The hooks the rewritten syntax tree calls (by ``environment.extensions[...]``)."""

    identifier = "beluga.prompts.bounds"

    def loop(self, items: Any) -> Any:
        return _Counted(items)

    def sized(self, value: Any) -> Any:
        return _sized(value)


class _Rewrite(NodeTransformer):
    """Route loop items, filter results and ``~`` through :class:`_Bounds`."""

    def _hook(self, name: str, node: nodes.Node) -> nodes.Expr:
        attr = nodes.ExtensionAttribute(_Bounds.identifier, name, lineno=node.lineno)
        return nodes.Call(attr, [node], [], None, None, lineno=node.lineno)

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = self._hook("loop", node.iter)
        return node

    def visit_Filter(self, node: nodes.Filter) -> nodes.Node:
        self.generic_visit(node)
        return node if node.node is None else self._hook("sized", node)

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return self._hook("sized", node)


class _MissingError(UndefinedError):
    """An undefined value was used; keeps its name for the error."""

    def __init__(self, message: str, *, name: str | None, top_level: bool) -> None:
        super().__init__(message)
        self.name = name
        self.top_level = top_level


class _Missing(StrictUndefined):
    """Strict undefined whose error keeps the name of what was missing."""

    __slots__ = ()

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = missing,
        name: str | None = None,
        exc: type[TemplateRuntimeError] = UndefinedError,
    ) -> None:
        super().__init__(hint, obj, name, exc)
        if exc is UndefinedError:
            self._undefined_exception = functools.partial(  # type: ignore[assignment]
                _MissingError, name=name, top_level=obj is missing
            )


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        return _sized(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _step()
        _check_call(__obj, args, kwargs)
        return _sized(super().call(__context, __obj, *args, **kwargs))


def _bounded_filters(env: _Sandbox) -> None:
    """Filters whose result size is set by an argument, checked before they run."""
    center, indent = env.filters["center"], env.filters["indent"]
    replace, fmt = env.filters["replace"], env.filters["format"]

    def checked_center(value: Any, width: int = 80) -> str:
        _check_int(width)
        return str(center(value, width))

    def checked_indent(value: Any, width: int | str = 4, *args: Any, **kwargs: Any) -> str:
        lines = str(value).count("\n") + 1
        _refuse_size(len(str(value)) + lines * (width if isinstance(width, int) else len(width)))
        return str(indent(value, width, *args, **kwargs))

    def checked_replace(ctx: Any, value: Any, old: Any, new: Any, count: Any = None) -> Any:
        _check_replace(str(value), str(old), str(new), -1 if count is None else count)
        return replace(ctx, value, old, new, count)

    def checked_format(value: Any, *args: Any, **kwargs: Any) -> str:
        _check_widths(value)
        return str(fmt(value, *args, **kwargs))

    checked_replace.jinja_pass_arg = replace.jinja_pass_arg  # type: ignore[attr-defined]
    env.filters.update(
        center=checked_center, indent=checked_indent, replace=checked_replace, format=checked_format
    )


def _environment() -> _Sandbox:
    env = _Sandbox(
        undefined=_Missing,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[_Bounds],
    )
    env.globals.pop("lipsum", None)
    _bounded_filters(env)
    return env


_ENV = _environment()
_GLOBALS = frozenset(_ENV.globals)


@dataclass(slots=True, frozen=True)
class Compiled:
    """A template compiled once: its source, its variables and its render function."""

    source: str
    variables: frozenset[str]
    render: Callable[[Mapping[str, Any]], Iterator[str]]


def compile_template(source: str, label: str) -> Compiled:
    """Parse, rewrite and compile ``source``; a syntax error names ``label`` and the line."""
    if not isinstance(source, str):
        raise BelugaError(
            "prompts.template",
            ErrorCode.INVALID_REQUEST,
            f"{label}: a template must be text, not {type(source).__name__}",
        )
    try:
        tree = _ENV.parse(source)
        variables = frozenset(meta.find_undeclared_variables(tree)) - _GLOBALS
        template = _ENV.from_string(_Rewrite().visit(tree))
    except TemplateSyntaxError as exc:
        raise BelugaError(
            "prompts.template",
            ErrorCode.INVALID_REQUEST,
            f"{label} has a template syntax error at line {exc.lineno}: {exc.message}; "
            "see https://jinja.palletsprojects.com/en/stable/templates/",
            cause=exc,
        ) from None
    return Compiled(source, variables, template.generate)


def render(compiled: Compiled, values: Mapping[str, Any], limits: RenderLimits, label: str) -> str:
    """Render within ``limits``; every failure is one BelugaError naming ``label``."""
    budget = _Budget(limits, label)
    token = _BUDGET.set(budget)
    chunks: list[str] = []
    size = 0
    try:
        for chunk in compiled.render(values):
            size += len(chunk)
            if size > limits.max_chars:
                _cut(f"an output longer than {limits.max_chars:,} characters")
            chunks.append(chunk)
    except _MissingError as exc:
        raise _missing(exc, compiled, values, label) from None
    except _Exceeded as exc:
        raise _exceeded(label, str(exc)) from None
    except RecursionError:
        raise _exceeded(label, "recursion deeper than Python allows") from None
    except SecurityError as exc:
        raise BelugaError(
            _OP,
            ErrorCode.INVALID_REQUEST,
            f"{label}: the template sandbox refused it: {str(exc).rstrip('.')}; templates "
            "may not reach Python internals (names starting with '_') or change the values "
            "passed in",
        ) from None
    except TemplateError as exc:
        raise BelugaError(
            _OP, ErrorCode.INVALID_REQUEST, f"{label}: the template failed: {exc}", cause=exc
        ) from None
    except (TypeError, ValueError, LookupError, ArithmeticError) as exc:
        raise BelugaError(
            _OP,
            ErrorCode.INVALID_REQUEST,
            f"{label}: the template failed: {type(exc).__name__}: {exc}",
            cause=exc,
        ) from None
    finally:
        _BUDGET.reset(token)
    return "".join(chunks)


def _exceeded(label: str, what: str) -> BelugaError:
    return BelugaError(
        _OP,
        ErrorCode.CAPACITY_EXCEEDED,
        f"{label}: rendering was cut: {what}; simplify the template or raise the bound with "
        "RenderLimits(max_steps=..., max_chars=...)",
        retryable=False,
    )


def _missing(
    exc: _MissingError, compiled: Compiled, values: Mapping[str, Any], label: str
) -> BelugaError:
    if not exc.top_level or exc.name is None:
        return BelugaError(_OP, ErrorCode.INVALID_REQUEST, f"{label}: {exc.message}")
    absent = sorted(v for v in compiled.variables if v not in values and v != exc.name)
    also = f" (also missing: {', '.join(absent)})" if absent else ""
    guess = difflib.get_close_matches(exc.name, [k for k in values if isinstance(k, str)], n=1)
    hint = f"; you passed {guess[0]!r}: a typo?" if guess else ""
    return BelugaError(
        _OP,
        ErrorCode.INVALID_REQUEST,
        f"{label} needs the variable {exc.name!r}, which was not given{also}{hint}; pass it "
        "to render(), bind it with partial(), or give it a default",
    )
