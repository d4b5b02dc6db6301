"""What a run returns: its output, the conversation, and what it used."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic

from typing_extensions import TypeVar

from beluga.schema import Message, ToolCall, Usage

__all__ = ["OutputT", "RunResult"]

OutputT = TypeVar("OutputT", default=str)


@dataclass(slots=True)
class RunResult(Generic[OutputT]):
    """The end of a run (or its pause).

    ``output`` is the final answer, an instance of the agent's ``output_type`` when it has one,
    else the text (``None`` while paused). :meth:`new_messages` is what this run added (the
    user input, the model's replies, the tool calls and their results), which is what continues
    the conversation: pass :meth:`all_messages` as the next run's ``message_history``.
    ``paused`` is true when tool calls wait for approval: ``pending`` lists them and ``state``
    (a JSON-ready dict) resumes the run with :meth:`Agent.resume <beluga.agents.Agent.resume>`.
    """

    output: OutputT | None
    messages: list[Message]
    new_from: int
    usage: Usage = field(default_factory=Usage)
    steps: int = 0
    requests: int = 0
    tool_calls: int = 0
    agent_name: str = "agent"
    """The agent that gave the answer (the last one a handoff reached)."""
    paused: bool = False
    pending: tuple[ToolCall, ...] = ()
    state: dict[str, Any] | None = None

    def new_messages(self) -> list[Message]:
        return self.messages[self.new_from :]

    def all_messages(self) -> list[Message]:
        return list(self.messages)
