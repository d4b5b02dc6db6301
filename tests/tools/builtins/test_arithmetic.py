from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beluga.core import BelugaError, ErrorCode
from beluga.schema import ToolCall
from beluga.tools import RunContext, ToolResult, ToolRetry
from beluga.tools.builtins import calculator
from beluga.tools.builtins.arithmetic import MAX_BITS, evaluate
from beluga.tools.execute import run_tool


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("-7 // 2", -4),
        ("7 % 3", 1),
        ("2 ** 10", 1024),
        ("2 ** -1", 0.5),
        ("-(3)", -3),
        ("+4", 4),
        ("1.5e3 + 0.5", 1500.5),
        ("sqrt(16) + abs(-2)", 6.0),
        ("round(pi, 2)", 3.14),
        ("max(1, 5, 3) - min(4, 2)", 3),
        ("log(e)", 1.0),
        ("factorial(5)", 120),
        ("hypot(3, 4)", 5.0),
        ("2 ** 4000 // 2 ** 3999", 2),
    ],
)
def test_arithmetic(expression: str, expected: float) -> None:
    assert evaluate(expression) == expected


@pytest.mark.parametrize(
    ("expression", "match"),
    [
        ("__import__('os').system('true')", "only plain function names"),
        ("__import__('os')", "'__import__' is not an allowed function"),
        ("open('/etc/passwd')", "not an allowed function"),
        ("math.sqrt(2)", "only plain function names"),
        ("(1).__class__", "Attribute is not arithmetic"),
        ("x + 1", "unknown name 'x'"),
        ("'a' * 3", "str values are not numbers"),
        ("True + 1", "bool values are not numbers"),
        ("1j * 2", "complex values are not numbers"),
        ("[1, 2]", "List is not arithmetic"),
        ("1 < 2", "Compare is not arithmetic"),
        ("1 << 4", "LShift is not allowed"),
        ("1 & 3", "BitAnd is not allowed"),
        ("lambda: 1", "Lambda is not arithmetic"),
        ("sqrt(x=4)", "plain arguments"),
        ("1 +", "not a valid arithmetic expression"),
        ("1 / 0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("sqrt(-1)", "math error"),
        ("factorial(10 ** 6)", "limited to n <= 1000"),
        ("10.0 ** 400", "too large"),
        ("(-8) ** (1 / 3)", "not a real number"),
        ("2 ** 4000 / 3", "too large"),
    ],
)
def test_refusals(expression: str, match: str) -> None:
    with pytest.raises(BelugaError, match=match) as info:
        evaluate(expression)
    assert info.value.code is ErrorCode.INVALID_REQUEST


@pytest.mark.parametrize(
    "expression",
    ["9 ** 9 ** 9", "10 ** 5000", "(2 ** 4000) * (2 ** 4000)", "2 ** 4097", "factorial(1000)"],
)
def test_huge_values_are_refused_before_they_are_computed(expression: str) -> None:
    with pytest.raises(BelugaError, match=f"exceed {MAX_BITS} bits"):
        evaluate(expression)


def test_limits_on_length_and_depth() -> None:
    with pytest.raises(BelugaError, match="longer than"):
        evaluate("1+" * 600 + "1")
    with pytest.raises(BelugaError, match="deeper than"):
        evaluate("-" * 200 + "1")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_gives_a_number_or_a_clear_error(text: str) -> None:
    outcome: object
    try:
        outcome = evaluate(text)
    except BelugaError as exc:
        outcome = exc.code
    assert outcome is ErrorCode.INVALID_REQUEST or isinstance(outcome, int | float)


@settings(max_examples=200, deadline=None)
@given(st.integers(-(10**6), 10**6), st.integers(-(10**6), 10**6))
def test_matches_python_on_integers(a: int, b: int) -> None:
    assert evaluate(f"({a}) + ({b}) * 3 - ({a})") == a + b * 3 - a
    if b:
        assert evaluate(f"({a}) // ({b})") == a // b
        assert evaluate(f"({a}) % ({b})") == a % b
    assert math.isclose(evaluate(f"({a}) / 7"), a / 7)


async def test_the_tool() -> None:
    tool = calculator()
    assert tool.definition.name == "calculator"
    assert list(tool.definition.parameters["properties"]) == ["expression"]
    ctx = RunContext(None)
    assert await tool.call({"expression": "6 * 7"}, ctx) == ToolResult.text("42")
    with pytest.raises(ToolRetry, match="unknown name 'y'"):
        await tool.call({"expression": "y"}, ctx)
    result = await run_tool(tool, ToolCall("c", "calculator", '{"expression": "9**9**9"}'), ctx)
    assert result.is_error and "exceed" in result.content[0].text  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text", ["1234 * 5678,", "1234 * 5678 =", "1234 * 5678.", " 1234 * 5678 ?\n"]
)
def test_what_models_append_to_an_expression_is_trimmed(text: str) -> None:
    assert evaluate(text) == 7006652
