"""interrupt(): pause, persist, resume with the answer; what runs again and what does not."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.graphs import (
    END,
    START,
    GraphInterrupted,
    MemoryCheckpointer,
    Send,
    SqliteCheckpointer,
    StateGraph,
    current_context,
    interrupt,
)


class S(TypedDict, total=False):
    topic: str
    answers: Annotated[list[str], operator.add]
    log: Annotated[list[str], operator.add]


def counting() -> tuple[dict[str, int], Any]:
    runs: dict[str, int] = {}

    def count(name: str) -> None:
        runs[name] = runs.get(name, 0) + 1

    return runs, count


async def test_interrupt_pauses_persists_and_resumes_the_node_from_its_start(
    tmp_path: Any,
) -> None:
    runs, count = counting()

    async def draft(state: S) -> dict[str, Any]:
        count("draft")
        return {"log": ["draft"]}

    async def review(state: S) -> dict[str, Any]:
        count("review-before")
        verdict = interrupt({"question": "publish?", "topic": state["topic"]})
        count("review-after")
        return {"answers": [verdict]}

    g: StateGraph[S] = StateGraph(S)
    g.add_node("draft", draft).add_node("review", review)
    g.add_edge(START, "draft").add_edge("draft", "review").add_edge("review", END)
    store = SqliteCheckpointer(tmp_path / "hitl.db")
    graph = g.compile(checkpointer=store)
    paused = await graph.run({"topic": "graphs", "answers": [], "log": []})
    assert paused.interrupted and paused.status == "interrupted"
    (question,) = paused.interrupts
    assert question.node == "review"
    assert question.value == {"question": "publish?", "topic": "graphs"}
    assert runs == {"draft": 1, "review-before": 1}

    # another graph object over the same file: what a new process would do
    again = g.compile(checkpointer=SqliteCheckpointer(tmp_path / "hitl.db"))
    stored = await again.state(paused.run_id)
    assert stored.status == "interrupted" and stored.interrupts == paused.interrupts
    done = await again.resume(paused.run_id, "yes")
    assert done.status == "done" and done.values["answers"] == ["yes"]
    assert runs == {"draft": 1, "review-before": 2, "review-after": 1}
    await store.aclose()


async def test_two_interrupts_in_one_node_take_one_resume_each() -> None:
    runs, count = counting()

    def form(state: S) -> dict[str, Any]:
        count("form")
        name = interrupt("name?")
        city = interrupt("city?")
        return {"answers": [name, city]}

    g: StateGraph[S] = StateGraph(S)
    g.add_node("form", form).add_edge(START, "form")
    graph = g.compile(checkpointer=MemoryCheckpointer())
    first = await graph.run({"answers": []})
    assert first.interrupts[0].value == "name?"
    second = await graph.resume(first.run_id, "Ada")
    assert second.interrupts[0].value == "city?"
    assert second.interrupts[0].id != first.interrupts[0].id
    done = await graph.resume(first.run_id, "London")
    assert done.values["answers"] == ["Ada", "London"]
    assert runs["form"] == 3


async def test_interrupt_in_a_parallel_branch_keeps_the_other_branches() -> None:
    runs, count = counting()

    async def branch(item: str) -> dict[str, Any]:
        count(item)
        if item == "risky":
            ok = interrupt(f"allow {item}?")
            return {"log": [f"{item}:{ok}"]}
        return {"log": [item]}

    g: StateGraph[S] = StateGraph(S)
    g.add_node("fan", lambda s: None).add_node("branch", branch)
    g.add_edge(START, "fan")
    g.add_conditional_edges("fan", lambda s: [Send("branch", x) for x in ("a", "risky", "b")])
    graph = g.compile(checkpointer=MemoryCheckpointer())
    paused = await graph.run({"log": []})
    assert [i.value for i in paused.interrupts] == ["allow risky?"]
    assert paused.values["log"] == []  # the step has not merged yet
    done = await graph.resume(paused.run_id, answers={paused.interrupts[0].id: "yes"})
    assert done.values["log"] == ["a", "risky:yes", "b"]
    assert runs == {"a": 1, "risky": 2, "b": 1}


async def test_two_parallel_interrupts_need_answers_by_id() -> None:
    def ask(item: str) -> dict[str, Any]:
        return {"answers": [f"{item}={interrupt(item)}"]}

    g: StateGraph[S] = StateGraph(S)
    g.add_node("fan", lambda s: None).add_node("ask", ask)
    g.add_edge(START, "fan")
    g.add_conditional_edges("fan", lambda s: [Send("ask", "x"), Send("ask", "y")])
    graph = g.compile(checkpointer=MemoryCheckpointer())
    paused = await graph.run({"answers": []})
    ids = [i.id for i in paused.interrupts]
    assert len(ids) == 2
    with pytest.raises(BelugaError, match="waits for 2 answers"):
        await graph.resume(paused.run_id, "one")
    with pytest.raises(BelugaError, match="no interrupt 'bogus'"):
        await graph.resume(paused.run_id, answers={"bogus": 1})
    partial = await graph.resume(paused.run_id, answers={ids[0]: 1})
    assert [i.id for i in partial.interrupts] == [ids[1]]
    done = await graph.resume(paused.run_id, answers={ids[1]: 2})
    assert done.values["answers"] == ["x=1", "y=2"]


async def test_stream_ends_with_the_interrupt() -> None:
    g: StateGraph[S] = StateGraph(S)
    g.add_node("ask", lambda s: {"answers": [interrupt("?")]}).add_edge(START, "ask")
    graph = g.compile(checkpointer=MemoryCheckpointer())
    events = [e async for e in graph.stream({"answers": []})]
    last = events[-1]
    assert isinstance(last, GraphInterrupted) and last.result.interrupts[0].value == "?"
    resumed = [e async for e in graph.resume_stream(last.result.run_id, "ok")]
    assert resumed[-1].result.values["answers"] == ["ok"]  # type: ignore[union-attr]


async def test_interrupt_needs_a_node_and_a_checkpointer() -> None:
    with pytest.raises(BelugaError, match="only inside a node"):
        interrupt("x")
    with pytest.raises(BelugaError, match="only inside a node"):
        current_context()
    g: StateGraph[S] = StateGraph(S)
    g.add_node("ask", lambda s: {"answers": [interrupt("?")]}).add_edge(START, "ask")
    with pytest.raises(BelugaError) as info:
        await g.compile().run({"answers": []})
    assert info.value.code is ErrorCode.INVALID_CONFIG
    assert "no checkpointer" in info.value.message
