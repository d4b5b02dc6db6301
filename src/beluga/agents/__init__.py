"""Agents: a model, tools, instructions and memory in a tool-calling loop.

``Agent(model, tools=..., instructions=..., output_type=...)`` runs with ``await agent.run()``,
``agent.run_sync()`` or ``agent.stream()``; see ``docs/readme/agents.md``.
"""

from beluga.agents.agent import Agent, Approver, Instructions, ToolLike
from beluga.agents.events import (
    AgentEvent,
    ApprovalRequiredEvent,
    FinalOutputEvent,
    HandoffEvent,
    RunPausedEvent,
    ToolCallEvent,
    ToolResultEvent,
    UsageUpdateEvent,
)
from beluga.agents.guardrails import GuardrailTripped, InputGuardrail, OutputGuardrail
from beluga.agents.handoffs import AgentTool, HandoffTool
from beluga.agents.limits import UsageLimitExceeded, UsageLimits
from beluga.agents.result import RunResult

__all__ = [
    "Agent",
    "AgentEvent",
    "AgentTool",
    "ApprovalRequiredEvent",
    "Approver",
    "FinalOutputEvent",
    "GuardrailTripped",
    "HandoffEvent",
    "HandoffTool",
    "InputGuardrail",
    "Instructions",
    "OutputGuardrail",
    "RunPausedEvent",
    "RunResult",
    "ToolCallEvent",
    "ToolLike",
    "ToolResultEvent",
    "UsageLimitExceeded",
    "UsageLimits",
    "UsageUpdateEvent",
]
