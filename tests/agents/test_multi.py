"""Multi-agent: handoffs through transfer_to_<name>, and an agent used as a tool."""

from __future__ import annotations

from pydantic import BaseModel

from beluga.agents import Agent, FinalOutputEvent, HandoffEvent, ToolCallEvent
from beluga.agents.testing import ScriptedModel, call
from beluga.llms.testing import TestModel
from beluga.schema import Usage

from ._support import FnTool, tool_messages


async def test_a_handoff_gives_the_rest_of_the_run_to_the_other_agent() -> None:
    billing_tool = FnTool("invoice", lambda a, c: "invoice 12: paid")
    billing_model = ScriptedModel(call("invoice"), "your invoice 12 is paid")
    billing = Agent(
        billing_model, tools=[billing_tool], instructions="You do billing.", name="billing"
    )
    triage_model = ScriptedModel(call("transfer_to_billing"))
    triage = Agent(triage_model, instructions="You route.", handoffs=[billing], name="triage")

    result = await triage.run("was my invoice paid?")
    assert result.output == "your invoice 12 is paid"
    assert result.agent_name == "billing"
    assert len(triage_model.requests) == 1 and len(billing_model.requests) == 2
    shown = billing_model.requests[0]
    assert shown[0].text == "You do billing." and shown[1].text == "was my invoice paid?"
    assert tool_messages(shown)[0].text == "transferred to billing"
    assert billing_tool.calls == [{}]


async def test_the_handoff_tool_is_offered_and_streamed_as_an_event() -> None:
    billing = Agent(
        ScriptedModel("hi from billing"), name="billing", description="billing questions"
    )
    triage = Agent(ScriptedModel(call("transfer_to_billing")), handoffs=[billing], name="triage")
    (definition,) = triage.static_box[1] if triage.static_box else ()
    assert (
        definition.name == "transfer_to_billing" and "billing questions" in definition.description
    )
    events = [e async for e in triage.stream("bill?")]
    kinds = [type(e) for e in events]
    assert kinds.index(ToolCallEvent) < kinds.index(HandoffEvent) < kinds.index(FinalOutputEvent)
    handoff = next(e for e in events if isinstance(e, HandoffEvent))
    assert (handoff.source, handoff.target) == ("triage", "billing")


class Weather(BaseModel):
    city: str
    degrees: int


async def test_an_agent_as_a_tool_answers_and_its_usage_joins_the_parent_run() -> None:
    inner_model = ScriptedModel('{"city": "Oslo", "degrees": 3}', usage=Usage(7, 3))
    weather = Agent(inner_model, output_type=Weather, name="weather")
    outer_model = ScriptedModel(
        call("weather", input="weather in Oslo?"), "3 degrees", usage=Usage(10, 5)
    )
    outer = Agent(outer_model, tools=[weather.as_tool(description="Knows the weather.")])

    result = await outer.run("how cold is Oslo?")
    assert result.output == "3 degrees"
    assert inner_model.requests[0][-1].text == "weather in Oslo?"
    assert tool_messages(result.new_messages())[0].text == '{"city":"Oslo","degrees":3}'
    assert result.usage == Usage(27, 13)


async def test_an_agent_in_tools_becomes_a_tool_and_agents_use_their_own_models() -> None:
    helper = Agent(TestModel(text="helped"), name="helper")
    boss = Agent(ScriptedModel(call("helper", input="help"), "done"), tools=[helper])
    result = await boss.run("go")
    assert tool_messages(result.new_messages())[0].text == "helped"
