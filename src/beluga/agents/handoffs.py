"""Agents working with agents: a handoff tool, and an agent used as another's tool.

``Agent(..., handoffs=[billing])`` offers the model a ``transfer_to_billing`` tool; calling it
hands the conversation to ``billing`` (its own model or role, instructions and tools) for the
rest of the run. :meth:`Agent.as_tool <beluga.agents.Agent.as_tool>` wraps an agent as a tool
taking one ``input`` string: the inner run starts afresh with that input and the same deps, its
output is the tool's result and its usage is added to the calling run's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import asdict, is_dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from beluga.schema import ToolDefinition, Usage
from beluga.tools.base import RunContext, ToolResult, ToolRetry

if TYPE_CHECKING:
    from beluga.agents.agent import Agent

__all__ = ["AgentTool", "HandoffTool", "usage_sink"]

usage_sink: ContextVar[Callable[[Usage], None] | None] = ContextVar(
    "beluga_agent_usage_sink", default=None
)
"""Where a tool running inside a run adds usage it spent (set around each tool call)."""

_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"input": {"type": "string", "description": "What to ask the agent."}},
    "required": ["input"],
    "additionalProperties": False,
}


class HandoffTool:
    """The ``transfer_to_<name>`` tool: the run continues with ``agent``."""

    __slots__ = ("agent", "definition")

    requires_approval = False
    timeout: float | None = None
    max_retries = 0

    def __init__(self, agent: Agent[Any, Any]) -> None:
        self.agent = agent
        about = agent.description or f"the {agent.name} agent"
        self.definition = ToolDefinition(
            f"transfer_to_{agent.name}",
            f"Hand the conversation over to {about}; it answers from here on.",
            {"type": "object", "properties": {}, "additionalProperties": False},
        )

    async def call(self, arguments: dict[str, Any], ctx: RunContext[Any]) -> ToolResult:
        return ToolResult.text(f"transferred to {self.agent.name}")


class AgentTool:
    """An agent as a tool: runs it on the ``input`` string and returns its output."""

    __slots__ = ("agent", "definition", "max_retries", "requires_approval", "timeout")

    def __init__(
        self,
        agent: Agent[Any, Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
        max_retries: int = 1,
        requires_approval: bool = False,
    ) -> None:
        self.agent = agent
        self.timeout = timeout
        self.max_retries = max_retries
        self.requires_approval = requires_approval
        self.definition = ToolDefinition(
            name or agent.name,
            description or agent.description or f"Ask the {agent.name} agent.",
            _INPUT_SCHEMA,
        )

    async def call(self, arguments: dict[str, Any], ctx: RunContext[Any]) -> ToolResult:
        prompt = arguments.get("input")
        if not isinstance(prompt, str) or not prompt:
            raise ToolRetry("pass the question as a non-empty string argument 'input'")
        result = await self.agent.run(prompt, deps=ctx.deps)
        sink = usage_sink.get()
        if sink is not None:
            sink(result.usage)
        if result.paused:
            names = ", ".join(c.name for c in result.pending)
            return ToolResult.text(
                f"the {self.agent.name} agent needs approval for {names}, which it cannot get "
                "when used as a tool",
                is_error=True,
            )
        return ToolResult.text(_as_text(result.output))


def _as_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, BaseModel):
        return output.model_dump_json()
    if is_dataclass(output) and not isinstance(output, type):
        return json.dumps(asdict(output), default=str)
    return json.dumps(output, default=str)
