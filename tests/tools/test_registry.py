from __future__ import annotations

from pathlib import Path

import pytest

from beluga.core import BelugaError, ErrorCode
from beluga.tools import FunctionTool, RunContext, ToolResult
from beluga.tools.registry import create_tool, load_tool, registry
from beluga.tools.toolset import Tools
from tests.tools import _sample_tools


def test_builtins_are_registered() -> None:
    assert {"calculator", "http_fetch", "read_file"} <= set(registry.names())


async def test_create_a_builtin_with_options(tmp_path: Path) -> None:
    calc = create_tool("calculator")
    assert await calc.call({"expression": "1+1"}, RunContext(None)) == ToolResult.text("2")
    fetch = load_tool("http_fetch", allowed_hosts=["example.com"], max_bytes=10)
    assert isinstance(fetch, FunctionTool) and fetch.definition.name == "http_fetch"
    reader = load_tool("read_file", root=tmp_path)
    assert isinstance(reader, FunctionTool) and reader.definition.name == "read_file"


def test_unknown_builtin_suggests_the_closest() -> None:
    with pytest.raises(BelugaError, match="Did you mean 'calculator'") as info:
        load_tool("calculater")
    assert info.value.code is ErrorCode.NOT_FOUND


def test_wrong_options_name_the_tool() -> None:
    with pytest.raises(BelugaError, match="tool 'http_fetch' does not take") as info:
        create_tool("http_fetch", allowed_hosts=["a.com"], colour="red")
    assert info.value.code is ErrorCode.INVALID_CONFIG


async def test_a_function_by_import_path() -> None:
    loaded = load_tool("tests.tools._sample_tools:shout")
    assert isinstance(loaded, FunctionTool)
    assert loaded.definition.name == "shout"
    assert await loaded.call({"text": "hi"}, RunContext(None)) == ToolResult.text("HI")


def test_a_tool_and_a_toolset_by_import_path_are_returned_as_they_are() -> None:
    assert load_tool("tests.tools._sample_tools:quiet") is _sample_tools.quiet
    group = load_tool("tests.tools._sample_tools:group")
    assert isinstance(group, Tools) and group is _sample_tools.group


def test_a_dotted_attribute() -> None:
    with pytest.raises(BelugaError, match="is a int"):
        load_tool("tests.tools._sample_tools:Helper.value")


@pytest.mark.parametrize(
    ("spec", "match", "code"),
    [
        ("tests.tools.no_such_module:f", "no module 'tests.tools.no_such_module'", "not_found"),
        ("no_such_package.tools:f", "no module 'no_such_package.tools'", "not_found"),
        (
            "tests.tools._broken_tools:f",
            "needs the module 'beluga_no_such_dependency'",
            "invalid_config",
        ),
        ("tests.tools._sample_tools:missing", "has no attribute 'missing'", "not_found"),
        ("tests.tools._sample_tools:not_a_tool", "is a int, not a tool", "invalid_config"),
        ("tests.tools._sample_tools:Helper", "is a class", "invalid_config"),
        ("tests.tools._sample_tools:", "not an import path", "invalid_config"),
        (":shout", "not an import path", "invalid_config"),
    ],
)
def test_import_path_errors(spec: str, match: str, code: str) -> None:
    with pytest.raises(BelugaError, match=match) as info:
        load_tool(spec)
    assert info.value.code.value == code


def test_options_are_refused_for_import_paths() -> None:
    with pytest.raises(BelugaError, match="options are only for registered tools"):
        load_tool("tests.tools._sample_tools:shout", timeout=3)
