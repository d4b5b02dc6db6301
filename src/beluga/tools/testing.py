"""Test doubles for tools: :class:`FakeTool` answers with fixed outcomes and records its calls.

It proves what an executor did without timing anything: which arguments and context each call
got (:attr:`FakeTool.calls`), how many ran at once (:attr:`FakeTool.max_active`, so parallel
calls are shown concurrent by a count, not a clock), and it can hold every call at a gate until
the test opens it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from beluga.schema import ToolDefinition
from beluga.tools._results import to_result
from beluga.tools.base import RunContext, ToolResult

__all__ = ["FakeCall", "FakeTool"]


@dataclass(slots=True, frozen=True)
class FakeCall:
    """One call a :class:`FakeTool` received."""

    arguments: dict[str, Any]
    ctx: RunContext[Any]


class FakeTool:
    """A tool that returns (or raises) ``outcomes`` in turn, the last one for every later call.

    An outcome that is an exception instance is raised (``ToolRetry``, ``ValueError``, ...);
    anything else is the result, converted as a function tool's would be (a string becomes
    text). ``delay`` seconds are slept before answering; ``gate``, when given, is awaited
    first, so a test can hold calls in flight. ``parameters`` is the JSON schema shown to the
    model (no validation is done).
    """

    def __init__(
        self,
        name: str = "fake",
        *outcomes: Any,
        description: str = "",
        parameters: dict[str, Any] | None = None,
        requires_approval: bool = False,
        timeout: float | None = None,
        max_retries: int = 1,
        delay: float = 0.0,
        gate: asyncio.Event | None = None,
    ) -> None:
        if parameters is None:
            self.definition = ToolDefinition(name, description)
        else:
            self.definition = ToolDefinition(name, description, parameters)
        self.outcomes: Sequence[Any] = outcomes or ("ok",)
        self.requires_approval = requires_approval
        self.timeout = timeout
        self.max_retries = max_retries
        self.delay = delay
        self.gate = gate
        self.calls: list[FakeCall] = []
        self.active = 0
        self.max_active = 0
        self.completed = 0

    @property
    def name(self) -> str:
        return self.definition.name

    async def call(self, arguments: dict[str, Any], ctx: RunContext[Any]) -> ToolResult:
        outcome = self.outcomes[min(len(self.calls), len(self.outcomes) - 1)]
        self.calls.append(FakeCall(arguments, ctx))
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.active -= 1
        self.completed += 1
        if isinstance(outcome, BaseException):
            raise outcome
        return to_result(outcome)

    def __repr__(self) -> str:
        return f"FakeTool({self.definition.name!r})"
