"""Small tools and a memory for the agent tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from beluga.schema import Message, ToolDefinition
from beluga.tools.base import RunContext, ToolResult, ToolRetry


class FnTool:
    """A tool whose call is ``fn(arguments, ctx)`` (sync or async); counts its calls."""

    def __init__(
        self,
        name: str,
        fn: Callable[[dict[str, Any], RunContext[Any]], Any],
        *,
        requires_approval: bool = False,
        max_retries: int = 1,
        timeout: float | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        self.definition = ToolDefinition(
            name, f"the {name} tool", parameters or {"type": "object", "properties": {}}
        )
        self.requires_approval = requires_approval
        self.max_retries = max_retries
        self.timeout = timeout
        self.fn = fn
        self.calls: list[dict[str, Any]] = []
        self.contexts: list[RunContext[Any]] = []

    async def call(self, arguments: dict[str, Any], ctx: RunContext[Any]) -> ToolResult:
        self.calls.append(arguments)
        self.contexts.append(ctx)
        value = self.fn(arguments, ctx)
        if isinstance(value, Awaitable):
            value = await value
        return value if isinstance(value, ToolResult) else ToolResult.text(str(value))


def adder() -> FnTool:
    def add(args: dict[str, Any], ctx: RunContext[Any]) -> int:
        if not isinstance(args.get("a"), int) or not isinstance(args.get("b"), int):
            raise ToolRetry("a and b must be integers")
        return int(args["a"]) + int(args["b"])

    schema = {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    }
    return FnTool("add", add, parameters=schema)


class DictMemory:
    """A Memory keeping each session's messages in a dict."""

    def __init__(self) -> None:
        self.sessions: dict[str, list[Message]] = {}
        self.saves = 0

    async def load(self, session_id: str, *, query: Sequence[Message] = ()) -> list[Message]:
        return list(self.sessions.get(session_id, []))

    async def save(self, session_id: str, messages: Sequence[Message]) -> None:
        self.saves += 1
        self.sessions.setdefault(session_id, []).extend(messages)

    async def clear(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)


def tool_messages(messages: Sequence[Message]) -> list[Message]:
    return [m for m in messages if m.role == "tool"]
