"""Ready-made nodes: sub-graphs (with interrupts inside) and agents (tokens, tool approval)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from beluga.agents import Agent
from beluga.agents.testing import ScriptedModel, call
from beluga.graphs import (
    END,
    START,
    MemoryCheckpointer,
    NodeOutput,
    StateGraph,
    agent_node,
    interrupt,
)
from beluga.schema import TextDelta
from beluga.tools import tool


class Parent(TypedDict, total=False):
    topic: str
    log: Annotated[list[str], operator.add]
    verdict: str
    extra: int


class Child(TypedDict, total=False):
    topic: str
    log: Annotated[list[str], operator.add]
    verdict: str


def child_graph(runs: dict[str, int]) -> StateGraph[Child]:
    def node(name: str, ask: bool = False) -> Any:
        def fn(state: Child) -> dict[str, Any]:
            runs[name] = runs.get(name, 0) + 1
            if ask:
                return {"verdict": interrupt(f"approve {state['topic']}?"), "log": [name]}
            return {"log": [name]}

        return fn

    g: StateGraph[Child] = StateGraph(Child, name="review")
    g.add_node("c1", node("c1")).add_node("c2", node("c2", ask=True)).add_node("c3", node("c3"))
    g.add_edge(START, "c1").add_edge("c1", "c2").add_edge("c2", "c3").add_edge("c3", END)
    return g


def parent_graph(runs: dict[str, int]) -> StateGraph[Parent]:
    def before(state: Parent) -> dict[str, Any]:
        runs["before"] = runs.get("before", 0) + 1
        return {"log": ["before"], "extra": 1}

    def after(state: Parent) -> dict[str, Any]:
        runs["after"] = runs.get("after", 0) + 1
        return {"log": ["after"]}

    g: StateGraph[Parent] = StateGraph(Parent, name="parent")
    g.add_node("before", before).add_node("review", child_graph(runs).compile())
    g.add_node("after", after)
    g.add_edge(START, "before").add_edge("before", "review").add_edge("review", "after")
    return g


async def test_interrupt_inside_a_subgraph_resumes_only_the_interrupted_child_node() -> None:
    runs: dict[str, int] = {}
    store = MemoryCheckpointer()
    graph = parent_graph(runs).compile(checkpointer=store)
    paused = await graph.run({"topic": "graphs", "log": []}, run_id="p")
    (question,) = paused.interrupts
    assert question.value == "approve graphs?" and question.node == "c2"
    assert question.run_id == "p/1.review"  # the child's own run, in the same store
    assert runs == {"before": 1, "c1": 1, "c2": 1}
    child_history = await graph.history("p/1.review")
    assert child_history[-1].status == "interrupted"

    done = await graph.resume("p", "ship it")
    assert done.values["verdict"] == "ship it"
    # the child's appended items arrive once each, not the child's whole list again
    assert done.values["log"] == ["before", "c1", "c2", "c3", "after"]
    assert runs == {"before": 1, "c1": 1, "c2": 2, "c3": 1, "after": 1}


async def test_subgraph_without_interrupts_shares_fields_by_name() -> None:
    runs: dict[str, int] = {}

    def plain(name: str) -> Any:
        return lambda s: {"log": [name]}

    child: StateGraph[Child] = StateGraph(Child, name="inner")
    child.add_node("x", plain("x")).add_node("y", plain("y"))
    child.add_edge(START, "x").add_edge("x", "y")
    g: StateGraph[Parent] = StateGraph(Parent)
    g.add_node("inner", child).add_edge(START, "inner")  # a StateGraph is compiled for you
    result = await g.compile().run({"topic": "t", "log": ["seed"], "extra": 5})
    assert result.values == {"topic": "t", "log": ["seed", "x", "y"], "extra": 5}
    assert runs == {}


class Ask(TypedDict, total=False):
    question: str
    answer: str


async def test_agent_node_streams_the_agents_tokens() -> None:
    agent: Agent[Any, str] = Agent(ScriptedModel("the answer is 42"), name="helper")
    g: StateGraph[Ask] = StateGraph(Ask)
    g.add_node("helper", agent_node(agent, prompt="question", output="answer"))
    g.add_edge(START, "helper")
    events = [e async for e in g.compile().stream({"question": "what?"})]
    deltas = [
        e.event.text for e in events if isinstance(e, NodeOutput) and isinstance(e.event, TextDelta)
    ]
    assert "".join(deltas) == "the answer is 42"
    assert all(e.node == "helper" for e in events if isinstance(e, NodeOutput))
    assert events[-1].result.values["answer"] == "the answer is 42"  # type: ignore[union-attr]


async def test_an_agent_added_directly_reads_input_and_writes_output() -> None:
    class IO(TypedDict, total=False):
        input: str
        output: str

    g: StateGraph[IO] = StateGraph(IO)
    g.add_node("bot", Agent(ScriptedModel("hello"), name="bot")).add_edge(START, "bot")
    assert (await g.compile().run({"input": "hi"})).values["output"] == "hello"


async def test_agent_tool_approval_goes_through_interrupt_and_does_not_ask_the_model_twice() -> (
    None
):
    refunds: list[int] = []

    @tool(requires_approval=True)
    def refund(amount: int) -> str:
        """Refund an amount."""
        refunds.append(amount)
        return f"refunded {amount}"

    model = ScriptedModel(call("refund", amount=30), "refund done")
    agent: Agent[Any, str] = Agent(model, tools=[refund], name="support")
    g: StateGraph[Ask] = StateGraph(Ask)
    g.add_node("support", agent_node(agent, prompt="question", output="answer"))
    g.add_edge(START, "support")
    graph = g.compile(checkpointer=MemoryCheckpointer())
    paused = await graph.run({"question": "refund me"})
    (question,) = paused.interrupts
    assert question.value["kind"] == "approval" and question.value["agent"] == "support"
    assert [c["name"] for c in question.value["calls"]] == ["refund"]
    assert refunds == [] and len(model.requests) == 1
    done = await graph.resume(paused.run_id, True)
    assert done.values["answer"] == "refund done"
    assert refunds == [30]
    assert len(model.requests) == 2  # the paused run went on; it did not start over


async def test_agent_tool_denial_by_call_id() -> None:
    @tool(requires_approval=True)
    def delete(path: str) -> str:
        """Delete a file."""
        raise AssertionError("must not run")

    model = ScriptedModel(call("delete", path="/"), "I did not delete it")
    agent: Agent[Any, str] = Agent(model, tools=[delete], name="ops")
    g: StateGraph[Ask] = StateGraph(Ask)
    g.add_node("ops", agent_node(agent, prompt="question", output="answer"))
    g.add_edge(START, "ops")
    graph = g.compile(checkpointer=MemoryCheckpointer())
    paused = await graph.run({"question": "clean up"})
    call_id = paused.interrupts[0].value["calls"][0]["id"]
    done = await graph.resume(paused.run_id, {call_id: "too dangerous"})
    assert done.values["answer"] == "I did not delete it"
    assert "denied: too dangerous" in model.requests[1][-1].text
