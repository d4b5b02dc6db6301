"""Tools a model can call: typed functions, MCP servers, built-ins (see :mod:`.base`).

``@tool`` makes a tool of a typed function (:mod:`.function`), :func:`run_tool` is the one
executor (:mod:`.execute`), :class:`Tools` groups tools and :func:`filtered`/:func:`prefixed`
view any toolset (:mod:`.toolset`), :func:`load_tool` resolves a name or an import path
(:mod:`.registry`). The built-ins are in :mod:`beluga.tools.builtins`, the middleware in
:mod:`.middleware` and the test doubles in :mod:`.testing`.
"""

from beluga.tools.base import RunContext, Tool, ToolResult, ToolRetry, Toolset
from beluga.tools.execute import run_tool
from beluga.tools.function import FunctionTool, as_tool, tool
from beluga.tools.registry import load_tool
from beluga.tools.toolset import Tools, filtered, prefixed

__all__ = [
    "FunctionTool",
    "RunContext",
    "Tool",
    "ToolResult",
    "ToolRetry",
    "Tools",
    "Toolset",
    "as_tool",
    "filtered",
    "load_tool",
    "prefixed",
    "run_tool",
    "tool",
]
