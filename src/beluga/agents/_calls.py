"""One step's tool calls: which run, which wait for approval, and running them concurrently.

The calls of one response run at once: the first in the run's own task, the others each in a
task of a task group, so that a cancelled run cancels them all and none outlives it. Results
keep the order of the calls, whatever order they finish in.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from beluga.agents._state import PausedRun
from beluga.schema import TextPart, ToolCall
from beluga.tools.base import RunContext, Tool, ToolResult

if TYPE_CHECKING:
    from beluga.agents.agent import Agent

__all__ = ["apply_approvals", "decide", "denied", "execute", "is_denial", "text_of"]

NOT_APPROVED = "the user did not approve this call"
_Results = list[ToolResult | None]


async def decide(
    agent: Agent[Any, Any],
    context: Callable[[], RunContext[Any]],
    calls: Sequence[ToolCall],
    tools: Mapping[str, Tool],
    decided: Mapping[str, ToolResult],
    approved: frozenset[str],
) -> tuple[_Results, list[ToolCall]]:
    """Each call's result where it is known without running it (an unknown tool, a denial, an
    earlier decision), None where it is to run; and the calls that wait for approval."""
    results: _Results = [None] * len(calls)
    pending: list[ToolCall] = []
    for i, call in enumerate(calls):
        known = decided.get(call.id)
        if known is not None:
            results[i] = known
            continue
        tool = tools.get(call.name)
        if tool is None:
            results[i] = _unknown(call.name, tools)
        elif tool.requires_approval and call.id not in approved:
            if agent.approve is None:
                pending.append(call)
            else:
                ok, reason = await _ask(agent, context(), call)
                if not ok:
                    results[i] = denied(reason)
    return results, pending


async def execute(
    run_call: Callable[[Tool, ToolCall], Coroutine[Any, Any, ToolResult]],
    calls: Sequence[ToolCall],
    tools: Mapping[str, Tool],
    results: _Results,
) -> None:
    """Fill in the results still None by running their calls, concurrently."""
    todo = [i for i, r in enumerate(results) if r is None]
    if len(todo) == 1:
        i = todo[0]
        results[i] = await run_call(tools[calls[i].name], calls[i])
    elif todo:
        first = todo[0]
        try:
            async with asyncio.TaskGroup() as group:
                tasks: list[tuple[int, asyncio.Task[ToolResult]]] = [
                    (i, group.create_task(run_call(tools[calls[i].name], calls[i])))
                    for i in todo[1:]
                ]
                results[first] = await run_call(tools[calls[first].name], calls[first])
        except BaseExceptionGroup as failed:  # run_tool turns failures into results:
            raise failed.exceptions[0] from None  # this is a bug, shown as itself
        for i, task in tasks:
            results[i] = task.result()


def apply_approvals(
    paused: PausedRun, approvals: Mapping[str, Any]
) -> tuple[dict[str, ToolResult], frozenset[str]]:
    """The paused step's decided results with the denials added, and the approved call ids."""
    decided = {cid: ToolResult(m.content, m.is_error) for cid, m in paused.decided.items()}
    approved: set[str] = set()
    for call in paused.pending:
        verdict = approvals[call.id]
        if verdict is True:
            approved.add(call.id)
        else:
            decided[call.id] = denied(
                verdict if isinstance(verdict, str) and verdict else NOT_APPROVED
            )
    return decided, frozenset(approved)


class _Denied(ToolResult):
    """The error result of a call that was not approved."""

    __slots__ = ()


def denied(reason: str) -> ToolResult:
    return _Denied((TextPart(f"denied: {reason}"),), True)


def is_denial(result: ToolResult) -> bool:
    return type(result) is _Denied


def text_of(result: ToolResult) -> str:
    return "".join(getattr(p, "text", "") for p in result.content)


async def _ask(agent: Agent[Any, Any], ctx: RunContext[Any], call: ToolCall) -> tuple[bool, str]:
    assert agent.approve is not None
    verdict = agent.approve(ctx, call)
    if inspect.isawaitable(verdict):
        verdict = await verdict
    if isinstance(verdict, tuple):
        ok, reason = verdict
        return bool(ok), str(reason) if reason else NOT_APPROVED
    return bool(verdict), NOT_APPROVED


def _unknown(name: str, tools: Mapping[str, Tool]) -> ToolResult:
    offered = ", ".join(sorted(tools)) or "none"
    return ToolResult.text(f"unknown tool {name!r}; the tools are: {offered}", is_error=True)
