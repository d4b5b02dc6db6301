"""Tools that require approval: decided inline, or paused and resumed from a stored state."""

from __future__ import annotations

import json
from typing import Any

import pytest

from beluga.agents import Agent, ApprovalRequiredEvent, RunPausedEvent, ToolCallEvent
from beluga.agents.testing import ScriptedModel, call
from beluga.core.errors import BelugaError
from beluga.schema import ToolCall
from beluga.tools.base import RunContext

from ._support import DictMemory, FnTool, tool_messages


def _refund() -> FnTool:
    return FnTool("refund", lambda a, c: f"refunded {a['amount']}", requires_approval=True)


def _agent(model: ScriptedModel, tool: FnTool, **options: Any) -> Agent[Any, str]:
    lookup = FnTool("lookup", lambda a, c: "order 7: 30 EUR")
    return Agent(model, tools=[tool, lookup], name="support", **options)


async def test_an_approve_callback_grants_inline() -> None:
    seen: list[tuple[str, str]] = []

    async def approve(ctx: RunContext[Any], tool_call: ToolCall) -> bool:
        seen.append((ctx.agent_name or "", tool_call.name))
        return True

    tool = _refund()
    model = ScriptedModel(call("refund", amount=30), "done")
    result = await _agent(model, tool, approve=approve).run("refund me")
    assert seen == [("support", "refund")]
    assert tool.calls == [{"amount": 30}]
    assert result.output == "done" and not result.paused


async def test_an_approve_callback_denies_with_a_reason_the_model_sees() -> None:
    tool = _refund()
    model = ScriptedModel(call("refund", amount=30), "sorry")
    agent = _agent(model, tool, approve=lambda ctx, c: (False, "over the limit"))
    result = await agent.run("refund me")
    denial = tool_messages(result.new_messages())[0]
    assert denial.is_error and denial.text == "denied: over the limit"
    assert tool.calls == []


async def test_without_a_callback_the_run_pauses_and_resumes_in_a_fresh_agent() -> None:
    first_tool = _refund()
    refund, lookup = call("refund", amount=30), call("lookup", order=7)
    model = ScriptedModel([refund, lookup], "refunded, order 7")
    memory = DictMemory()
    paused = await _agent(model, first_tool, memory=memory).run("refund", session_id="s1")
    assert paused.paused and paused.output is None
    assert [c.id for c in paused.pending] == [refund.id]
    assert first_tool.calls == [] and memory.saves == 0  # nothing ran, nothing saved
    stored = json.dumps(paused.state)  # stored somewhere, e.g. a database

    tool = _refund()
    fresh_model = ScriptedModel("refunded, order 7")
    fresh = _agent(fresh_model, tool, memory=memory)
    result = await fresh.resume(json.loads(stored), {refund.id: True})
    assert result.output == "refunded, order 7"
    assert tool.calls == [{"amount": 30}]
    results = tool_messages(result.new_messages())
    assert [(m.tool_call_id, m.text) for m in results] == [
        (refund.id, "refunded 30"),
        (lookup.id, "order 7: 30 EUR"),
    ]
    assert result.requests == 2 and result.steps == 1
    assert [m.role for m in memory.sessions["s1"]] == [
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
    ]


async def test_resume_denied_sends_the_reason_to_the_model() -> None:
    refund = call("refund", amount=30)
    paused = await _agent(ScriptedModel(refund), _refund()).run("refund")
    tool = _refund()
    result = await _agent(ScriptedModel("no refund then"), tool).resume(
        paused.state or {}, {refund.id: "amount needs a manager"}
    )
    assert tool.calls == []
    assert tool_messages(result.new_messages())[0].text == "denied: amount needs a manager"
    result = await _agent(ScriptedModel("no"), _refund()).resume(
        paused.state or {}, {refund.id: False}
    )
    assert "denied: the user did not approve" in tool_messages(result.new_messages())[0].text


async def test_resume_needs_every_pending_call_decided_and_the_right_agent() -> None:
    refund = call("refund", amount=30)
    paused = await _agent(ScriptedModel(refund), _refund()).run("refund")
    with pytest.raises(BelugaError, match=refund.id):
        await _agent(ScriptedModel("x"), _refund()).resume(paused.state or {}, {})
    other = Agent(ScriptedModel("x"), name="other")
    with pytest.raises(BelugaError, match="agent 'support', not 'other'"):
        await other.resume(paused.state or {}, {refund.id: True})
    with pytest.raises(BelugaError, match="not the state of a paused agent run"):
        await other.resume({"kind": "something"}, {})
    with pytest.raises(BelugaError, match="version"):
        await other.resume({**(paused.state or {}), "version": 99}, {})


async def test_a_paused_stream_says_which_calls_wait() -> None:
    refund = call("refund", amount=5)
    events = [e async for e in _agent(ScriptedModel(refund), _refund()).stream("refund")]
    assert [type(e) for e in events[-3:]] == [ToolCallEvent, ApprovalRequiredEvent, RunPausedEvent]
    last = events[-1]
    assert isinstance(last, RunPausedEvent) and last.result.pending == (refund,)
