"""Tools a model can call: typed functions, MCP servers, built-ins (see :mod:`.base`)."""

from beluga.tools.base import RunContext, Tool, ToolResult, ToolRetry, Toolset
from beluga.tools.execute import run_tool
from beluga.tools.function import FunctionTool, as_tool, tool

__all__ = [
    "FunctionTool",
    "RunContext",
    "Tool",
    "ToolResult",
    "ToolRetry",
    "Toolset",
    "as_tool",
    "run_tool",
    "tool",
]
