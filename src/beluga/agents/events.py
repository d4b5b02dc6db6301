"""What :meth:`Agent.stream <beluga.agents.Agent.stream>` yields, in order.

Text and reasoning come as the model's own :class:`~beluga.schema.TextDelta` and
:class:`~beluga.schema.ReasoningDelta`, passed through untouched (a consumer written for a
model's stream, such as a voice session, reads an agent's stream the same way); the run's own
events are the small slotted dataclasses below, built without validation since a run yields one
per delta, call and result. A stream ends with one :class:`FinalOutputEvent` or, when a tool
call waits for approval, one :class:`RunPausedEvent`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from beluga.schema import ReasoningDelta, TextDelta, ToolCall, Usage
from beluga.tools.base import ToolResult

if TYPE_CHECKING:
    from beluga.agents.result import RunResult

__all__ = [
    "AgentEvent",
    "ApprovalRequiredEvent",
    "FinalOutputEvent",
    "HandoffEvent",
    "RunPausedEvent",
    "ToolCallEvent",
    "ToolResultEvent",
    "UsageUpdateEvent",
]


@dataclass(slots=True, frozen=True)
class ToolCallEvent:
    """The model asked for ``call``; it runs next (concurrently with its siblings)."""

    call: ToolCall
    agent: str


@dataclass(slots=True, frozen=True)
class ToolResultEvent:
    """``call`` finished with ``result`` (results come in the order of the calls)."""

    call: ToolCall
    result: ToolResult
    agent: str


@dataclass(slots=True, frozen=True)
class ApprovalRequiredEvent:
    """``call`` needs approval and no ``approve`` callback was given: the run pauses."""

    call: ToolCall
    agent: str


@dataclass(slots=True, frozen=True)
class HandoffEvent:
    """The conversation passed from agent ``source`` to agent ``target``."""

    source: str
    target: str


@dataclass(slots=True, frozen=True)
class UsageUpdateEvent:
    """After each model response: that response's usage and the run's total so far."""

    request: Usage
    total: Usage


@dataclass(slots=True, frozen=True)
class FinalOutputEvent:
    """The run finished: its output (typed when the agent has an ``output_type``)."""

    output: Any
    result: RunResult[Any]


@dataclass(slots=True, frozen=True)
class RunPausedEvent:
    """The run stopped to wait for approvals; ``result.state`` resumes it."""

    result: RunResult[Any]


AgentEvent: TypeAlias = (
    TextDelta
    | ReasoningDelta
    | ToolCallEvent
    | ToolResultEvent
    | ApprovalRequiredEvent
    | HandoffEvent
    | UsageUpdateEvent
    | FinalOutputEvent
    | RunPausedEvent
)
