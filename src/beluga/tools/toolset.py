"""Groups of tools: :class:`Tools` (a fixed list) and views of any :class:`Toolset`.

:func:`filtered` and :func:`prefixed` take any toolset, an MCP server's too, and are toolsets
themselves, so they compose (``prefixed(filtered(server, ...), "gh")``). They ask the wrapped
toolset for its tools on every :meth:`list_tools`, so a list that changes (an MCP server's) is
followed. A wrapped toolset that holds a connection is opened and closed through the view
(``async with prefixed(server, "gh") as tools:``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any, Self

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import ToolDefinition
from beluga.tools.base import RunContext, Tool, Toolset
from beluga.tools.function import as_tool
from beluga.tools.middleware import ToolWrapper

__all__ = [
    "FilteredToolset",
    "PrefixedTool",
    "PrefixedToolset",
    "ToolPredicate",
    "Tools",
    "ToolsetView",
    "filtered",
    "prefixed",
]

ToolPredicate = Callable[[RunContext[Any], Tool], bool]
"""Decides, for a run, whether a tool is offered: ``predicate(ctx, tool) -> bool``."""


class Tools:
    """A fixed toolset of tools and typed functions (each function made a tool by
    :func:`~beluga.tools.function.as_tool`). Two tools of one name are refused."""

    __slots__ = ("_tools",)

    def __init__(self, *tools: Tool | Callable[..., Any]) -> None:
        made = tuple(as_tool(t) for t in tools)
        _check_unique(made)
        self._tools = made

    @property
    def tools(self) -> tuple[Tool, ...]:
        return self._tools

    async def list_tools(self, ctx: RunContext[Any]) -> Sequence[Tool]:
        return self._tools

    def filtered(self, predicate: ToolPredicate) -> FilteredToolset:
        """The tools ``predicate`` accepts (see :func:`filtered`)."""
        return filtered(self, predicate)

    def prefixed(self, prefix: str) -> PrefixedToolset:
        """These tools named ``{prefix}_{name}`` (see :func:`prefixed`)."""
        return prefixed(self, prefix)

    def __len__(self) -> int:
        return len(self._tools)

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools)

    def __repr__(self) -> str:
        return f"Tools({', '.join(t.definition.name for t in self._tools)})"


def filtered(toolset: Toolset, predicate: ToolPredicate) -> FilteredToolset:
    """The tools of ``toolset`` for which ``predicate(ctx, tool)`` is true, decided anew on
    each :meth:`list_tools` (so it may depend on the run's dependencies)."""
    return FilteredToolset(toolset, predicate)


def prefixed(toolset: Toolset, prefix: str) -> PrefixedToolset:
    """The tools of ``toolset`` named ``{prefix}_{name}``: the model sees the new names, and a
    call still runs the original tool (two servers may both have a ``search``)."""
    if not prefix or not prefix.replace("-", "_").isidentifier():
        raise BelugaError(
            "tools.prefixed",
            ErrorCode.INVALID_REQUEST,
            f"tool prefix {prefix!r} must be letters, digits, '_' or '-' (it becomes part of "
            "each tool name)",
        )
    return PrefixedToolset(toolset, prefix)


class ToolsetView:
    """Base of the views of a toolset: opening and closing reach the wrapped one."""

    def __init__(self, inner: Toolset) -> None:
        self.inner = inner

    async def __aenter__(self) -> Self:
        enter = getattr(self.inner, "__aenter__", None)
        if enter is not None:
            await enter()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        leave = getattr(self.inner, "__aexit__", None)
        if leave is not None:
            await leave(exc_type, exc, tb)

    async def aclose(self) -> None:
        close = getattr(self.inner, "aclose", None)
        if close is not None:
            await close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"


class FilteredToolset(ToolsetView):
    """See :func:`filtered`."""

    def __init__(self, inner: Toolset, predicate: ToolPredicate) -> None:
        super().__init__(inner)
        self.predicate = predicate

    async def list_tools(self, ctx: RunContext[Any]) -> Sequence[Tool]:
        return [t for t in await self.inner.list_tools(ctx) if self.predicate(ctx, t)]


class PrefixedToolset(ToolsetView):
    """See :func:`prefixed`."""

    def __init__(self, inner: Toolset, prefix: str) -> None:
        super().__init__(inner)
        self.prefix = prefix
        self._renamed: dict[int, PrefixedTool] = {}

    async def list_tools(self, ctx: RunContext[Any]) -> Sequence[Tool]:
        tools = await self.inner.list_tools(ctx)
        known = self._renamed
        renamed = {
            id(t): known.get(id(t)) or PrefixedTool(t, self.prefix)
            for t in tools  # the same tool object keeps its wrapper
        }
        self._renamed = renamed
        return [renamed[id(t)] for t in tools]


class PrefixedTool(ToolWrapper):
    """``inner`` under the name ``{prefix}_{name}``, with its flags; calls run ``inner``."""

    def __init__(self, inner: Tool, prefix: str) -> None:
        super().__init__(inner)
        self._definition = replace(inner.definition, name=f"{prefix}_{inner.definition.name}")

    @property
    def definition(self) -> ToolDefinition:
        return self._definition

    def __repr__(self) -> str:
        return f"PrefixedTool({self.definition.name!r}, {self.inner!r})"


def _check_unique(tools: Sequence[Tool]) -> None:
    seen: dict[str, Tool] = {}
    for t in tools:
        name = t.definition.name
        first = seen.get(name)
        if first is not None:
            raise BelugaError(
                "tools.toolset",
                ErrorCode.INVALID_REQUEST,
                f"two tools are named {name!r}: {first!r} and {t!r}; rename one (name=...) or "
                "group them with prefixed(...)",
            )
        seen[name] = t
