"""Memory: history loaded before a run, the new messages saved after it completes."""

from __future__ import annotations

import pytest

from beluga.agents import Agent
from beluga.agents.testing import ScriptedModel, call
from beluga.core.errors import BelugaError

from ._support import DictMemory, FnTool


async def test_a_session_remembers_across_runs_and_keeps_tool_calls_as_such() -> None:
    memory = DictMemory()
    tool = FnTool("lookup", lambda a, c: "Ada")
    model = ScriptedModel(call("lookup"), "your name is Ada", "you asked who you are")
    agent = Agent(model, tools=[tool], memory=memory)

    await agent.run("who am I?", session_id="s1")
    stored = memory.sessions["s1"]
    assert [m.role for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert (
        stored[1].tool_calls[0].name == "lookup"
        and stored[2].tool_call_id == stored[1].tool_calls[0].id
    )

    second = await agent.run("what did I ask?", session_id="s1")
    assert [m.text for m in model.requests[2][:1]] == ["who am I?"]
    assert len(model.requests[2]) == 5
    assert [m.role for m in second.new_messages()] == ["user", "assistant"]
    assert len(memory.sessions["s1"]) == 6
    assert "s2" not in memory.sessions


async def test_sessions_do_not_see_each_other() -> None:
    memory = DictMemory()
    model = ScriptedModel("a", "b")
    agent = Agent(model, memory=memory)
    await agent.run("one", session_id="s1")
    await agent.run("two", session_id="s2")
    assert [m.text for m in model.requests[1]] == ["two"]


async def test_a_failed_run_saves_nothing() -> None:
    memory = DictMemory()
    agent = Agent(ScriptedModel(), memory=memory)  # no turns: the request fails
    with pytest.raises(BelugaError):
        await agent.run("x", session_id="s1")
    assert memory.saves == 0


async def test_message_history_continues_a_conversation_without_memory() -> None:
    model = ScriptedModel("first", "second")
    agent = Agent(model)
    first = await agent.run("hi")
    second = await agent.run("again", message_history=first.all_messages())
    assert [m.text for m in model.requests[1]] == ["hi", "first", "again"]
    assert [m.text for m in second.new_messages()] == ["again", "second"]
