"""A safe calculator: arithmetic over Python's ``ast``, never ``eval``.

Only numbers, ``+ - * / // % **``, unary signs, parentheses, the constants ``pi``, ``e`` and
``tau`` and an allow-list of :mod:`math` functions are understood; anything else (names,
attributes, strings, comparisons, comprehensions, lambdas) is refused with a message naming what
was found. Work is bounded before it is done: the expression's length and depth, and the size of
every integer a ``*`` or ``**`` would make (``9**9**9`` is refused at once, not computed).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.tools.base import Tool, ToolRetry
from beluga.tools.function import FunctionTool

__all__ = ["calculator", "evaluate"]

_Number = int | float

MAX_LENGTH = 1000
"""Longest expression accepted, in characters."""
MAX_DEPTH = 50
"""Deepest nesting of operations accepted."""
MAX_BITS = 4096
"""Largest integer result or intermediate value, in bits (about 1,200 decimal digits)."""
MAX_FACTORIAL = 1000

_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}


def _factorial(n: _Number) -> int:
    if isinstance(n, float):
        if not n.is_integer():
            raise ValueError("factorial() takes a whole number")
        n = int(n)
    if n > MAX_FACTORIAL:
        raise ValueError(f"factorial() is limited to n <= {MAX_FACTORIAL}")
    return math.factorial(n)


_FUNCTIONS: dict[str, Callable[..., _Number]] = {
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
    "cbrt": math.cbrt,
    "exp": math.exp,
    "log": math.log,
    "log2": math.log2,
    "log10": math.log10,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "atan2": math.atan2,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "tanh": math.tanh,
    "degrees": math.degrees,
    "radians": math.radians,
    "hypot": math.hypot,
    "floor": math.floor,
    "ceil": math.ceil,
    "trunc": math.trunc,
    "fabs": math.fabs,
    "factorial": _factorial,
    "gcd": math.gcd,
}
_MAX_ARGUMENTS = 32

_BINARY: dict[type[ast.operator], Callable[[Any, Any], _Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//"}


def evaluate(expression: str) -> _Number:
    """The value of an arithmetic ``expression``; an INVALID_REQUEST :class:`BelugaError`
    says what is not allowed or cannot be computed."""
    if len(expression) > MAX_LENGTH:
        raise _refuse(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(_trimmed(expression), mode="eval")
    except SyntaxError as exc:
        raise _refuse(f"it is not a valid arithmetic expression ({exc.msg})") from None
    except (ValueError, RecursionError):
        raise _refuse("it is not a valid arithmetic expression") from None
    try:
        return _Evaluator().value(tree.body, 0)
    except ZeroDivisionError:
        raise _refuse("division by zero") from None
    except OverflowError:
        raise _refuse("a value is too large to compute") from None
    except (ValueError, TypeError) as exc:
        raise _refuse(f"math error: {exc}") from None


class _Evaluator:
    __slots__ = ()

    def value(self, node: ast.expr, depth: int) -> _Number:
        if depth > MAX_DEPTH:
            raise _refuse(f"the expression nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, ast.Constant):
            return _number(node.value)
        if isinstance(node, ast.BinOp):
            left = self.value(node.left, depth + 1)
            right = self.value(node.right, depth + 1)
            return _binary(node.op, left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
            operand = self.value(node.operand, depth + 1)
            return -operand if isinstance(node.op, ast.USub) else +operand
        if isinstance(node, ast.Name):
            if node.id in _CONSTANTS:
                return _CONSTANTS[node.id]
            raise _refuse(f"unknown name {node.id!r}; constants: {', '.join(_CONSTANTS)}")
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        raise _refuse(f"{type(node).__name__} is not arithmetic; {_ALLOWED}")

    def call(self, node: ast.Call, depth: int) -> _Number:
        if not isinstance(node.func, ast.Name):
            raise _refuse(f"only plain function names can be called ({', '.join(_FUNCTIONS)})")
        function = _FUNCTIONS.get(node.func.id)
        if function is None:
            raise _refuse(
                f"{node.func.id!r} is not an allowed function; allowed: {', '.join(_FUNCTIONS)}"
            )
        if node.keywords or len(node.args) > _MAX_ARGUMENTS:
            raise _refuse(f"{node.func.id}() takes up to {_MAX_ARGUMENTS} plain arguments")
        args = [self.value(arg, depth + 1) for arg in node.args]
        return _checked(function(*args))


def _number(value: object) -> _Number:
    if type(value) is int or type(value) is float:
        return _checked(value)
    raise _refuse(f"{type(value).__name__} values are not numbers; {_ALLOWED}")


def _binary(op: ast.operator, left: _Number, right: _Number) -> _Number:
    function = _BINARY.get(type(op))
    if function is None:
        raise _refuse(f"the operator {type(op).__name__} is not allowed; {_ALLOWED}")
    if isinstance(op, ast.Pow):
        _check_power(left, right)
    elif isinstance(op, ast.Mult):
        _check_product(left, right)
    return _checked(function(left, right))


def _check_product(left: _Number, right: _Number) -> None:
    """Refuse an integer product that would be huge, before computing it."""
    if not (isinstance(left, int) and isinstance(right, int)):
        return
    if left.bit_length() + right.bit_length() > MAX_BITS:
        raise _too_large()


def _check_power(base: _Number, exponent: _Number) -> None:
    """Refuse an integer ``base ** exponent`` before computing it when the result would be
    huge (float powers cost the same whatever the numbers, and overflow with an error)."""
    if not (isinstance(base, int) and isinstance(exponent, int)) or exponent <= 0:
        return
    if abs(base) > 1 and (abs(base).bit_length() - 1) * exponent > MAX_BITS:
        raise _too_large()


def _checked(value: object) -> _Number:
    """``value`` if it is a real number of bounded size (a negative number to a fractional
    power is complex in Python, and refused)."""
    if type(value) is float:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > MAX_BITS:
            raise _too_large()
        return value
    raise _refuse("the result is not a real number")


def _too_large() -> BelugaError:
    return _refuse(f"a value would exceed {MAX_BITS} bits (about 1,200 digits)")


_ALLOWED = "use numbers, + - * / // % **, parentheses and math functions"


def _refuse(reason: str) -> BelugaError:
    return BelugaError("tools.calculator", ErrorCode.INVALID_REQUEST, f"cannot calculate: {reason}")


_TRAILING = " \t\n,;.=?"
"""What models append to an expression ("2 * 3 =", "2 * 3,"): trimmed, never a tuple."""


def _trimmed(expression: str) -> str:
    return expression.strip().rstrip(_TRAILING)


def calculator(*, name: str = "calculator") -> Tool:
    """A tool that evaluates arithmetic safely (see the module docstring)."""

    def calculate(expression: str) -> str:
        """Evaluate an arithmetic expression and return the result.

        Args:
            expression: Numbers with + - * / // % ** and parentheses, the constants pi, e and
                tau, and math functions such as sqrt, log, sin, round, min, max.
        """
        try:
            return repr(evaluate(expression))
        except BelugaError as exc:
            raise ToolRetry(exc.message) from None

    return FunctionTool(calculate, name=name, in_thread=False)
