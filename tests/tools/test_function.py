from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from beluga.core import BelugaError, ErrorCode
from beluga.schema import FilePart, ImagePart, TextPart
from beluga.tools import RunContext, Tool, ToolResult, ToolRetry
from beluga.tools.function import FunctionTool, as_tool, tool


class Location(BaseModel):
    lat: float
    lon: float


@dataclasses.dataclass
class Window:
    start: int
    end: int = 10


class Filters(TypedDict):
    tag: str
    limit: int


@dataclasses.dataclass
class Deps:
    user: str


class Opaque:
    """Not something pydantic can validate."""


def _ctx(deps: Any = None) -> RunContext[Any]:
    return RunContext(deps)


def _text(result: ToolResult) -> str:
    (part,) = result.content
    assert isinstance(part, TextPart)
    return part.text


# -- schema --------------------------------------------------------------------------------


def test_required_defaults_and_types_in_schema() -> None:
    @tool
    def search(query: str, limit: int = 5, exact: bool = False, score: float | None = None) -> str:
        return query

    params = search.definition.parameters
    assert params["type"] == "object"
    assert params["required"] == ["query"]
    assert params["additionalProperties"] is False
    props = params["properties"]
    assert props["query"] == {"type": "string"}
    assert props["limit"] == {"type": "integer", "default": 5}
    assert props["exact"] == {"type": "boolean", "default": False}
    assert props["score"] == {"anyOf": [{"type": "number"}, {"type": "null"}], "default": None}
    assert "title" not in params


def test_literal_list_and_untyped_parameters() -> None:
    @tool
    def convert(values: list[int], unit: Literal["c", "f"], note=None):  # type: ignore[no-untyped-def]
        return values

    props = convert.definition.parameters["properties"]
    assert props["values"] == {"type": "array", "items": {"type": "integer"}}
    assert props["unit"] == {"type": "string", "enum": ["c", "f"]}
    assert props["note"] == {"default": None}  # untyped: any JSON value


def test_nested_model_dataclass_and_typeddict_parameters() -> None:
    @tool
    def plan(where: Location, window: Window, filters: Filters) -> str:
        return "ok"

    params = plan.definition.parameters
    defs = params["$defs"]
    assert params["properties"]["where"] == {"$ref": "#/$defs/Location"}
    assert defs["Location"]["required"] == ["lat", "lon"]
    assert defs["Window"]["properties"]["end"]["default"] == 10
    assert set(defs["Filters"]["required"]) == {"tag", "limit"}


async def test_nested_values_are_validated_into_their_types() -> None:
    seen: dict[str, Any] = {}

    @tool
    async def plan(where: Location, window: Window) -> str:
        seen.update(where=where, window=window)
        return "ok"

    await plan.call({"where": {"lat": 1, "lon": "2.5"}, "window": {"start": 3}}, _ctx())
    assert seen["where"] == Location(lat=1.0, lon=2.5)
    assert seen["window"] == Window(3, 10)


def test_names_pydantic_reserves_are_plain_arguments() -> None:
    @tool
    def odd(json: str, schema: int, _private: str = "x") -> str:
        return json

    assert set(odd.definition.parameters["properties"]) == {"json", "schema", "_private"}


def test_google_docstring() -> None:
    @tool
    def weather(city: str, days: int = 1) -> str:
        """Forecast for a city.

        Uses the national service.

        Args:
            city: Name of the city.
            days: How many days ahead.
        """
        return city

    d = weather.definition
    assert d.description == "Forecast for a city.\n\nUses the national service."
    assert d.parameters["properties"]["city"]["description"] == "Name of the city."
    assert d.parameters["properties"]["days"]["description"] == "How many days ahead."


def test_numpy_docstring() -> None:
    @tool
    def weather(city: str) -> str:
        """Forecast for a city.

        Parameters
        ----------
        city : str
            Name of the city.
        """
        return city

    assert weather.definition.description == "Forecast for a city."
    props = weather.definition.parameters["properties"]
    assert props["city"]["description"] == "Name of the city."


def test_sphinx_docstring() -> None:
    @tool
    def weather(city: str) -> str:
        """Forecast for a city.

        :param city: Name of the city.
        :returns: the forecast.
        """
        return city

    assert weather.definition.description == "Forecast for a city."
    props = weather.definition.parameters["properties"]
    assert props["city"]["description"] == "Name of the city."


def test_annotated_field_description_is_kept() -> None:
    @tool
    def pick(n: Annotated[int, Field(description="how many", ge=1)]) -> int:
        return n

    prop = pick.definition.parameters["properties"]["n"]
    assert prop == {"type": "integer", "description": "how many", "minimum": 1}


def test_options_of_the_decorator() -> None:
    @tool(name="lookup", description="Find it.", requires_approval=True, timeout=2.5, max_retries=4)
    def find(key: str) -> str:
        """Ignored docstring."""
        return key

    assert isinstance(find, Tool)
    assert find.definition.name == "lookup"
    assert find.definition.description == "Find it."
    assert (find.requires_approval, find.timeout, find.max_retries) == (True, 2.5, 4)
    assert find.definition.strict is None


def test_no_docstring_no_description() -> None:
    @tool
    def bare(x: int) -> int:
        return x

    assert bare.definition.description == ""
    assert bare.definition.parameters["properties"]["x"] == {"type": "integer"}


# -- run context ---------------------------------------------------------------------------


async def test_run_context_is_injected_and_left_out_of_the_schema() -> None:
    seen: list[RunContext[Deps]] = []

    @tool
    async def whoami(ctx: RunContext[Deps], greeting: str) -> str:
        seen.append(ctx)
        return f"{greeting} {ctx.deps.user}"

    assert list(whoami.definition.parameters["properties"]) == ["greeting"]
    ctx = _ctx(Deps("ada"))
    assert _text(await whoami.call({"greeting": "hi"}, ctx)) == "hi ada"
    assert seen == [ctx]


async def test_bare_run_context_annotation_in_a_sync_tool() -> None:
    @tool
    def session(ctx: RunContext, suffix: str = "") -> str:  # type: ignore[type-arg]
        return f"{ctx.session_id}{suffix}"

    assert session.definition.parameters["properties"] == {
        "suffix": {"type": "string", "default": ""}
    }
    ctx = RunContext(None, session_id="s-1")
    assert _text(await session.call({"suffix": "!"}, ctx)) == "s-1!"


def test_run_context_not_first_is_refused() -> None:
    def late(x: int, ctx: RunContext[Any]) -> int:
        return x

    with pytest.raises(BelugaError, match="must be the first") as info:
        tool(late)
    assert info.value.code is ErrorCode.INVALID_REQUEST


# -- refused signatures --------------------------------------------------------------------


def test_var_positional_is_refused() -> None:
    def many(*items: int) -> int:
        return sum(items)

    with pytest.raises(BelugaError, match=r"\*items") as info:
        tool(many)
    assert info.value.code is ErrorCode.INVALID_REQUEST


def test_var_keyword_is_refused() -> None:
    def loose(**options: str) -> str:
        return ""

    with pytest.raises(BelugaError, match=r"\*\*options"):
        tool(loose)


def test_type_pydantic_cannot_validate_is_refused() -> None:
    def takes(thing: Opaque) -> str:
        return ""

    with pytest.raises(BelugaError, match="cannot be validated") as info:
        tool(takes)
    assert "'takes'" in str(info.value)


def test_unresolvable_annotation_is_refused() -> None:
    def takes(thing: NoSuchType) -> str:  # type: ignore[name-defined]  # noqa: F821
        return ""

    with pytest.raises(BelugaError, match="cannot be resolved"):
        tool(takes)


def test_lambda_needs_a_name() -> None:
    with pytest.raises(BelugaError, match="name="):
        tool(lambda x: x)
    named = FunctionTool(lambda x: x, name="identity")
    assert named.definition.name == "identity"


@pytest.mark.parametrize(("timeout", "retries"), [(0, 1), (-1.0, 1), (None, -1), (None, True)])
def test_bad_limits_are_refused(timeout: float | None, retries: Any) -> None:
    def f(x: int) -> int:
        return x

    with pytest.raises(BelugaError) as info:
        FunctionTool(f, timeout=timeout, max_retries=retries)
    assert info.value.code is ErrorCode.INVALID_REQUEST


# -- validation ----------------------------------------------------------------------------


async def test_invalid_arguments_raise_tool_retry_naming_each_field() -> None:
    called = False

    @tool
    def book(city: str, nights: int, kind: Literal["hotel", "hostel"] = "hotel") -> str:
        nonlocal called
        called = True
        return "booked"

    with pytest.raises(ToolRetry) as info:
        await book.call({"nights": "many", "kind": "tent", "pets": 2}, _ctx())
    message = info.value.message
    assert not called
    assert "'book'" in message
    assert "- city: Field required" in message
    assert "- nights: Input should be a valid integer" in message
    assert "(got string)" in message
    assert "- kind: Input should be 'hotel' or 'hostel'" in message
    assert "- pets: Extra inputs are not permitted" in message


async def test_validation_message_never_echoes_the_input() -> None:
    @tool
    def count(n: int) -> int:
        return n

    huge = "x" * 100_000
    with pytest.raises(ToolRetry) as info:
        await count.call({"n": huge}, _ctx())
    assert "xxxxxxxx" not in info.value.message
    assert len(info.value.message) < 500


async def test_many_errors_are_summarised() -> None:
    @tool
    def many(values: list[int]) -> int:
        return 0

    with pytest.raises(ToolRetry) as info:
        await many.call({"values": ["a"] * 20}, _ctx())
    assert "and 12 more" in info.value.message
    assert info.value.message.count("\n- ") == 9


async def test_defaults_apply_and_values_are_coerced() -> None:
    @tool
    async def area(width: float, height: float = 2.0) -> float:
        return width * height

    assert _text(await area.call({"width": 3}, _ctx())) == "6.0"


async def test_positional_only_parameters() -> None:
    @tool
    def power(base: int, /, exponent: int = 2) -> int:
        return int(base**exponent)

    assert list(power.definition.parameters["properties"]) == ["base", "exponent"]
    assert _text(await power.call({"base": 3, "exponent": 3}, _ctx())) == "27"


async def test_strict_schema_and_added_nulls_dropped() -> None:
    @tool(strict=True)
    def greet(name: str, punctuation: str = "!") -> str:
        return name + punctuation

    d = greet.definition
    assert d.strict is True
    assert sorted(d.parameters["required"]) == ["name", "punctuation"]
    assert _text(await greet.call({"name": "Ada", "punctuation": None}, _ctx())) == "Ada!"


def test_strict_refused_for_a_schema_without_strict_form() -> None:
    def free(data: dict[str, Any]) -> str:
        return ""

    with pytest.raises(BelugaError, match="strict"):
        tool(strict=True)(free)


# -- running -------------------------------------------------------------------------------


async def test_sync_functions_run_in_a_worker_thread() -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []

    @tool
    def work(n: int) -> int:
        threads.append(threading.get_ident())
        return n

    @tool(in_thread=False)
    def quick(n: int) -> int:
        threads.append(threading.get_ident())
        return n

    await work.call({"n": 1}, _ctx())
    await quick.call({"n": 1}, _ctx())
    assert threads[0] != loop_thread
    assert threads[1] == loop_thread


async def test_a_blocking_sync_tool_does_not_block_the_loop() -> None:
    release = threading.Event()

    @tool
    def blocking() -> str:
        release.wait(5)
        return "done"

    task = asyncio.create_task(blocking.call({}, _ctx()))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert not task.done()  # the loop keeps running while the thread waits
    release.set()
    assert _text(await task) == "done"


async def test_async_callable_object() -> None:
    class Adder:
        async def __call__(self, a: int, b: int) -> int:
            return a + b

    adder = FunctionTool(Adder(), name="add")
    assert set(adder.definition.parameters["properties"]) == {"a", "b"}
    assert _text(await adder.call({"a": 1, "b": 2}, _ctx())) == "3"


def test_decorated_function_stays_callable() -> None:
    @tool
    def double(x: int) -> int:
        return 2 * x

    assert double(4) == 8


# -- results -------------------------------------------------------------------------------


IMAGE = ImagePart(data=b"\x89PNG", media_type="image/png")
FILE = FilePart(data=b"%PDF", media_type="application/pdf", name="a.pdf")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (IMAGE, (IMAGE,)),
        ([IMAGE, FILE], (IMAGE, FILE)),
        (("a chart:", IMAGE), (TextPart("a chart:"), IMAGE)),
        ("plain", (TextPart("plain"),)),
        (ToolResult((FILE,)), (FILE,)),
    ],
)
async def test_content_results_pass_as_parts(value: Any, expected: tuple[Any, ...]) -> None:
    @tool
    async def produce() -> Any:
        return value

    result = await produce.call({}, _ctx())
    assert result.content == expected
    assert not result.is_error


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Location(lat=1, lon=2), {"lat": 1.0, "lon": 2.0}),
        (Window(1, 2), {"start": 1, "end": 2}),
        ({"a": [1, 2]}, {"a": [1, 2]}),
        ([1, "two"], [1, "two"]),
        (3.5, 3.5),
        (None, None),
        (True, True),
    ],
)
async def test_other_results_are_json_text(value: Any, expected: Any) -> None:
    @tool
    def produce() -> Any:
        return value

    assert json.loads(_text(await produce.call({}, _ctx()))) == expected


async def test_a_tool_result_is_returned_as_is() -> None:
    made = ToolResult.text("bad input", is_error=True)

    @tool
    def produce() -> ToolResult:
        return made

    assert await produce.call({}, _ctx()) is made


# -- as_tool -------------------------------------------------------------------------------


class _StaticTool:
    definition = FunctionTool(lambda: None, name="static").definition
    requires_approval = False
    timeout = None
    max_retries = 1

    async def call(self, arguments: dict[str, Any], ctx: RunContext[Any]) -> ToolResult:
        return ToolResult.text("static")


class _Set:
    async def list_tools(self, ctx: RunContext[Any]) -> list[Tool]:
        return []


def test_as_tool_wraps_functions_and_keeps_tools() -> None:
    def echo(text: str) -> str:
        return text

    made = as_tool(echo)
    assert isinstance(made, FunctionTool)
    assert made.definition.name == "echo"
    assert as_tool(made) is made
    custom = _StaticTool()
    assert as_tool(custom) is custom


def test_as_tool_refuses_toolsets_and_non_callables() -> None:
    with pytest.raises(BelugaError, match="Toolset"):
        as_tool(_Set())  # type: ignore[arg-type]
    with pytest.raises(BelugaError, match="'int'") as info:
        as_tool(3)  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_REQUEST


def test_as_tool_refuses_a_tool_class() -> None:
    with pytest.raises(BelugaError, match="_StaticTool is a class"):
        as_tool(_StaticTool)  # type: ignore[arg-type]


class _Greeter:
    def __init__(self, greeting: str) -> None:
        self.greeting = greeting

    def greet(self, name: str) -> str:
        """Greet someone."""
        return f"{self.greeting} {name}"


async def test_a_bound_method_is_a_tool_without_self() -> None:
    greet = as_tool(_Greeter("hello").greet)
    assert greet.definition.name == "greet"
    assert list(greet.definition.parameters["properties"]) == ["name"]
    assert _text(await greet.call({"name": "ada"}, _ctx())) == "hello ada"


async def test_a_partial_keeps_only_the_open_parameters() -> None:
    import functools

    def scale(factor: int, value: int) -> int:
        return factor * value

    triple = FunctionTool(functools.partial(scale, 3), name="triple")
    assert list(triple.definition.parameters["properties"]) == ["value"]
    assert _text(await triple.call({"value": 5}, _ctx())) == "15"
    assert FunctionTool(functools.partial(scale, 3)).definition.name == "scale"


def test_generators_are_refused() -> None:
    def numbers(n: int) -> Any:
        yield from range(n)

    async def stream(n: int) -> Any:
        yield n

    for function in (numbers, stream):
        with pytest.raises(BelugaError, match="generator cannot be a tool"):
            tool(function)
