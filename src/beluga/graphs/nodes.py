"""Ready-made nodes: an agent in a graph, and a graph inside another.

An agent node reads its prompt from a state field, writes the answer to another and, when a
tool call needs approval (``requires_approval``), pauses the graph with :func:`interrupt`: the
question is ``{"kind": "approval", "agent": ..., "calls": [...]}`` and the answer maps each call
id to True, False or a denial reason (or is one bool for all of them). On resume the node does
not run the agent again from the start: it resumes the agent's paused run (kept in the
interrupt) with the answer, so the model is not asked twice. When the graph is streamed, the
agent streams too and its text deltas and tool events come out as
:class:`~beluga.graphs.NodeOutput` events.

A sub-graph node runs the child graph as a run of its own, ``{parent run}/{task id}``, in the
parent's checkpoint store: its input is the parent's state restricted to the child's fields, its
update is what the child changed in the fields the parent has. A field the parent reduces and
the child extended (a list it appended to) contributes only the new items. An interrupt inside
the child pauses the parent too; on resume the child continues from its own checkpoint, so only
the interrupted node inside it runs again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.graphs.context import GraphInterrupt, NodeContext, interrupt

if TYPE_CHECKING:
    from beluga.agents import Agent, RunResult
    from beluga.graphs.engine import CompiledGraph

__all__ = ["agent_node", "subgraph_node"]


def agent_node(
    agent: Agent[Any, Any],
    *,
    prompt: str | Callable[[Any], Any] = "input",
    output: str = "output",
    messages: str | None = None,
) -> Callable[[Any, NodeContext], Any]:
    """A node running ``agent`` on the state field ``prompt`` (or ``prompt(state)``), writing
    its output to ``output`` and, with ``messages``, the run's new messages to that field."""

    async def node(state: Any, ctx: NodeContext) -> dict[str, Any]:
        result = await _resumed(agent, ctx)
        if result is None:
            question = prompt(state) if callable(prompt) else _field(state, prompt, agent.name)
            result = await _run(agent, question, ctx)
        while result.paused:
            assert result.state is not None
            answer = interrupt(
                {
                    "kind": "approval",
                    "agent": result.agent_name,
                    "calls": [
                        {"id": c.id, "name": c.name, "arguments": c.arguments}
                        for c in result.pending
                    ],
                    "state": result.state,
                }
            )
            result = await _resume(agent, result.state, _approvals(answer, result), ctx)
        update: dict[str, Any] = {output: result.output}
        if messages is not None:
            update[messages] = result.new_messages()
        return update

    node.__name__ = agent.name
    return node


async def _resumed(agent: Agent[Any, Any], ctx: NodeContext) -> RunResult[Any] | None:
    """The agent run this task paused, resumed with the answer it got (None: not paused)."""
    index = 0
    while ctx.interrupt_id(index) in ctx.answers:
        index += 1
    if index == 0:
        return None
    key = ctx.interrupt_id(index - 1)
    asked = ctx.pending.get(key)
    if not isinstance(asked, Mapping) or "state" not in asked:
        return None
    ctx._asked = index
    from beluga.graphs._state import decode_value

    answer = decode_value(ctx.answers[key])
    state = asked["state"]
    calls = [c["id"] for c in asked.get("calls", [])]
    return await _resume(agent, state, _approvals_for(answer, calls), ctx)


async def _run(agent: Agent[Any, Any], question: Any, ctx: NodeContext) -> RunResult[Any]:
    if ctx.emit is None:
        return await agent.run(question, deps=ctx.deps)
    return await _streamed(agent.stream(question, deps=ctx.deps), ctx)


async def _resume(
    agent: Agent[Any, Any], state: Any, approvals: dict[str, bool | str], ctx: NodeContext
) -> RunResult[Any]:
    if ctx.emit is None:
        return await agent.resume(state, approvals, deps=ctx.deps)
    return await _streamed(agent.resume_stream(state, approvals, deps=ctx.deps), ctx)


async def _streamed(events: Any, ctx: NodeContext) -> RunResult[Any]:
    from beluga.agents import FinalOutputEvent, RunPausedEvent

    result: RunResult[Any] | None = None
    async with aclosing(events) as stream:
        async for event in stream:
            if isinstance(event, FinalOutputEvent | RunPausedEvent):
                result = event.result
            else:
                ctx.send(event)
    if result is None:
        raise BelugaError("graphs.agent", ErrorCode.INTERNAL, "the agent ended without a result")
    return result


def _approvals(answer: Any, result: RunResult[Any]) -> dict[str, bool | str]:
    return _approvals_for(answer, [c.id for c in result.pending])


def _approvals_for(answer: Any, calls: list[str]) -> dict[str, bool | str]:
    if isinstance(answer, bool | str):
        return dict.fromkeys(calls, answer)
    if isinstance(answer, Mapping):
        missing = [c for c in calls if c not in answer]
        if missing:
            raise BelugaError(
                "graphs.agent",
                ErrorCode.INVALID_REQUEST,
                f"the approval answer has no decision for call {missing[0]!r}: answer with "
                "{call_id: true | false | 'reason'} for every call, or one true/false",
            )
        return {c: answer[c] for c in calls}
    raise BelugaError(
        "graphs.agent",
        ErrorCode.INVALID_REQUEST,
        f"an approval answer is true, false, a denial reason or {{call_id: ...}}, got "
        f"{type(answer).__name__}",
    )


def _field(state: Any, name: str, agent: str) -> Any:
    value = state.get(name) if isinstance(state, Mapping) else getattr(state, name, None)
    if value is None:
        raise BelugaError(
            "graphs.agent",
            ErrorCode.INVALID_REQUEST,
            f"agent node {agent!r} reads its prompt from state field {name!r}, which is empty: "
            f"set it, or pass agent_node(agent, prompt='field' or a function of the state)",
        )
    return value


def subgraph_node(child: CompiledGraph[Any]) -> Callable[[Any, NodeContext], Any]:
    """``child`` as a node (see the module docstring)."""

    async def node(state: Any, ctx: NodeContext) -> dict[str, Any] | None:
        values = _as_dict(state)
        fields = child.spec.fields
        given = {k: v for k, v in values.items() if not fields or k in fields}
        store = child.checkpointer or ctx.checkpointer
        run_id = f"{ctx.run_id}/{ctx.task_id}"
        existing = await store.get(run_id) if store is not None else None
        if existing is not None and existing.status == "done":
            final = child.spec.decode(existing.values)
        else:
            if existing is not None:
                from beluga.graphs.engine import NO_ANSWER

                run = await child._resumed(
                    run_id,
                    NO_ANSWER,
                    None,
                    None,
                    None,
                    None,
                    ctx.emit,
                    parent=ctx,
                    checkpointer=store,
                )
            else:
                run = await child._start(
                    given, run_id, None, None, None, ctx.emit, parent=ctx, checkpointer=store
                )
            result = await run.execute()
            ctx.providers.extend(p for ps in result.providers.values() for p in ps)
            if result.interrupted:
                raise GraphInterrupt(result.interrupts)
            final = result.values
        return _changes(given, final, ctx)

    node.__name__ = child.name
    return node


_NONE: Any = object()


def _changes(before: dict[str, Any], after: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
    update: dict[str, Any] = {}
    for key, value in after.items():
        old = before.get(key, _NONE)
        if old is _NONE:
            update[key] = value
        elif old != value:
            if isinstance(old, list) and isinstance(value, list) and value[: len(old)] == old:
                update[key] = value[len(old) :] if _reduced(ctx, key) else value
            else:
                update[key] = value
    return update


def _reduced(ctx: NodeContext, key: str) -> bool:
    return key in ctx.reducers


def _as_dict(state: Any) -> dict[str, Any]:
    if isinstance(state, Mapping):
        return dict(state)
    if hasattr(state, "model_dump"):
        return {k: getattr(state, k) for k in type(state).model_fields}
    if hasattr(state, "__dataclass_fields__"):
        return {k: getattr(state, k) for k in state.__dataclass_fields__}
    raise BelugaError(
        "graphs.subgraph",
        ErrorCode.INVALID_REQUEST,
        f"a sub-graph takes a mapping or a state object, got {type(state).__name__}",
    )
