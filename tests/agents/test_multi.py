"""Multi-agent: handoffs through transfer_to_<name>, and an agent used as a tool."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from beluga.agents import Agent, FinalOutputEvent, HandoffEvent, ToolCallEvent, ToolResultEvent
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


async def test_of_two_handoffs_in_one_response_the_first_wins_and_the_model_is_told() -> None:
    a = Agent(ScriptedModel("a answers"), name="a")
    b = Agent(ScriptedModel("b answers"), name="b")
    triage = Agent(ScriptedModel([call("transfer_to_a"), call("transfer_to_b")]), handoffs=[a, b])
    result = await triage.run("who?")
    assert result.output == "a answers" and result.agent_name == "a"
    texts = [m.text for m in tool_messages(result.new_messages())]
    assert texts == ["transferred to a", "not transferred: a answers now"]


async def test_a_run_paused_after_a_handoff_resumes_in_the_agent_it_reached() -> None:
    def billing(model: ScriptedModel) -> Agent[Any, str]:
        refund = FnTool("refund", lambda a, c: "refunded", requires_approval=True)
        return Agent(model, tools=[refund], name="billing")

    refund_call = call("refund")
    first = Agent(
        ScriptedModel(call("transfer_to_billing")),
        handoffs=[billing(ScriptedModel(refund_call))],
        name="triage",
    )
    paused = await first.run("refund please")
    assert paused.paused and paused.agent_name == "billing"

    fresh = Agent(ScriptedModel(), handoffs=[billing(ScriptedModel("done"))], name="triage")
    events = [e async for e in fresh.resume_stream(paused.state or {}, {refund_call.id: True})]
    results = [e for e in events if isinstance(e, ToolResultEvent)]
    assert [r.result.content[0].text for r in results] == ["refunded"]  # type: ignore[union-attr]
    final = events[-1]
    assert isinstance(final, FinalOutputEvent) and final.output == "done"
    assert final.result.agent_name == "billing"
