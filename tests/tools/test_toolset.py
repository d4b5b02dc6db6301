from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import pytest

from beluga.core import BelugaError, ErrorCode
from beluga.schema import ToolCall
from beluga.tools import RunContext, Tool, ToolResult, Toolset
from beluga.tools.execute import run_tool
from beluga.tools.function import FunctionTool, tool
from beluga.tools.toolset import PrefixedTool, Tools, filtered, prefixed


@tool
def search(query: str) -> str:
    """Search the web."""
    return f"web:{query}"


@tool(requires_approval=True, timeout=3.0, max_retries=5)
def delete(path: str) -> str:
    return f"deleted {path}"


def ctx(deps: Any = None) -> RunContext[Any]:
    return RunContext(deps)


class Changing:
    """A toolset whose list changes between calls (as an MCP server's may), and that holds a
    connection."""

    def __init__(self, *tools: Tool) -> None:
        self.tools: list[Tool] = list(tools)
        self.events: list[str] = []

    async def list_tools(self, ctx: RunContext[Any]) -> Sequence[Tool]:
        return list(self.tools)

    async def __aenter__(self) -> Self:
        self.events.append("enter")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.events.append("exit")

    async def aclose(self) -> None:
        self.events.append("close")


def names(tools: Sequence[Tool]) -> list[str]:
    return [t.definition.name for t in tools]


async def test_tools_lists_tools_and_functions() -> None:
    def echo(text: str) -> str:
        return text

    group = Tools(search, echo)
    assert isinstance(group, Toolset)
    listed = await group.list_tools(ctx())
    assert names(listed) == ["search", "echo"]
    assert listed[0] is search
    assert isinstance(listed[1], FunctionTool)
    assert len(group) == 2 and list(group) == list(listed)


def test_duplicate_names_are_refused_naming_both() -> None:
    other = FunctionTool(lambda query: query, name="search")
    with pytest.raises(BelugaError) as info:
        Tools(search, delete, other)
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert "'search'" in info.value.message
    assert "FunctionTool('search')" in info.value.message
    assert info.value.message.count("FunctionTool('search')") == 2


def test_the_same_tool_twice_is_refused() -> None:
    with pytest.raises(BelugaError, match="two tools are named 'search'"):
        Tools(search, search)


async def test_filtered_by_predicate_and_context() -> None:
    group = Tools(search, delete)
    safe = group.filtered(lambda c, t: not t.requires_approval or c.deps == "admin")
    assert names(await safe.list_tools(ctx())) == ["search"]
    assert names(await safe.list_tools(ctx("admin"))) == ["search", "delete"]


async def test_prefixed_renames_and_still_calls_the_original() -> None:
    group = Tools(search, delete).prefixed("web")
    listed = await group.list_tools(ctx())
    assert names(listed) == ["web_search", "web_delete"]
    renamed = listed[1]
    assert isinstance(renamed, PrefixedTool)
    assert renamed.definition.parameters == delete.definition.parameters
    assert renamed.definition.description == delete.definition.description
    assert (renamed.requires_approval, renamed.timeout, renamed.max_retries) == (True, 3.0, 5)
    result = await run_tool(listed[0], ToolCall("c", "web_search", '{"query": "q"}'), ctx())
    assert result == ToolResult.text("web:q")


async def test_prefixed_keeps_wrappers_of_unchanged_tools() -> None:
    view = prefixed(Tools(search), "x")
    first = await view.list_tools(ctx())
    second = await view.list_tools(ctx())
    assert first[0] is second[0]


async def test_views_follow_a_changing_toolset() -> None:
    source = Changing(search)
    view = prefixed(filtered(source, lambda c, t: t.definition.name != "delete"), "a")
    assert names(await view.list_tools(ctx())) == ["a_search"]
    extra = FunctionTool(lambda: "x", name="fresh")
    source.tools += [delete, extra]
    assert names(await view.list_tools(ctx())) == ["a_search", "a_fresh"]
    source.tools = []
    assert names(await view.list_tools(ctx())) == []


async def test_views_open_and_close_the_wrapped_toolset() -> None:
    source = Changing(search)
    async with prefixed(filtered(source, lambda c, t: True), "a") as view:
        assert names(await view.list_tools(ctx())) == ["a_search"]
    assert source.events == ["enter", "exit"]
    await filtered(source, lambda c, t: True).aclose()
    assert source.events[-1] == "close"


async def test_a_view_of_a_plain_toolset_opens_and_closes() -> None:
    async with prefixed(Tools(search), "p") as view:  # Tools holds nothing to open
        assert names(await view.list_tools(ctx())) == ["p_search"]


@pytest.mark.parametrize("bad", ["", "has space", "a.b"])
def test_bad_prefix_is_refused(bad: str) -> None:
    with pytest.raises(BelugaError, match="prefix"):
        prefixed(Tools(search), bad)


async def test_errors_of_a_prefixed_tool_use_the_name_the_model_sees() -> None:
    (renamed,) = await prefixed(Tools(search), "web").list_tools(ctx())
    result = await run_tool(renamed, ToolCall("c", "web_search", "{}"), ctx())
    assert result.is_error
    assert "Invalid arguments for tool 'web_search'" in result.content[0].text  # type: ignore[union-attr]
