"""Tools a model can call: typed functions, MCP servers, built-ins (see :mod:`.base`)."""

from beluga.tools.base import RunContext, Tool, ToolResult, ToolRetry, Toolset

__all__ = ["RunContext", "Tool", "ToolResult", "ToolRetry", "Toolset"]
