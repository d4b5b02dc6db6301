"""The tool protocol every tool fits: typed functions, MCP tools, built-ins, agents as tools.

A tool is described to the model by its :class:`~beluga.schema.ToolDefinition` and run with the
arguments the model sent plus a :class:`RunContext`. Whatever a tool returns is turned into
content parts once (:class:`ToolResult`), so the executor never inspects Python values.

A tool that wants the model to try again (bad arguments, a value out of range, a transient
failure the model can work around) raises :class:`ToolRetry` with a message for the model; the
executor sends it back as an error tool result, up to the tool's ``max_retries``. Any other
exception from a tool is fed back the same way; none reaches the user unless retries run out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from beluga.schema import ContentPart, TextPart, ToolDefinition, Usage

__all__ = ["DepsT", "RunContext", "Tool", "ToolResult", "ToolRetry", "Toolset"]

DepsT = TypeVar("DepsT")


@dataclass(slots=True)
class RunContext(Generic[DepsT]):
    """What a tool may know of the run calling it: the agent's typed dependencies, the
    conversation's session id, the usage so far, and which call and attempt this is."""

    deps: DepsT
    session_id: str | None = None
    run_id: str = ""
    agent_name: str | None = None
    usage: Usage = field(default_factory=Usage)
    tool_call_id: str | None = None
    tool_name: str | None = None
    retry: int = 0
    """How many times this tool has already been sent back an error in this run."""


@dataclass(slots=True, frozen=True)
class ToolResult:
    """A tool's output as message content (text, image, file parts), and whether it is an
    error the model should correct."""

    content: tuple[ContentPart, ...]
    is_error: bool = False

    @classmethod
    def text(cls, text: str, *, is_error: bool = False) -> ToolResult:
        return cls((TextPart(text),), is_error)


class ToolRetry(Exception):
    """Raised by a tool to send ``message`` back to the model as an error it can correct."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@runtime_checkable
class Tool(Protocol):
    """Something a model can call. ``definition`` is what the model sees; ``call`` validates
    ``arguments`` (the JSON object the model sent, parsed) and runs the tool.

    ``requires_approval`` pauses a run until the call is approved; ``timeout`` (seconds, or
    None for no limit) bounds one call; ``max_retries`` is how many error results the model may
    get back from this tool in one run before the run stops.
    """

    @property
    def definition(self) -> ToolDefinition: ...

    @property
    def requires_approval(self) -> bool: ...

    @property
    def timeout(self) -> float | None: ...

    @property
    def max_retries(self) -> int: ...

    async def call(self, arguments: dict[str, Any], ctx: RunContext[Any]) -> ToolResult: ...


@runtime_checkable
class Toolset(Protocol):
    """A group of tools that may change between model requests (an MCP server's list)."""

    async def list_tools(self, ctx: RunContext[Any]) -> Sequence[Tool]: ...
