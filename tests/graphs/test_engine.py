"""The graph engine: typed state, edges, fan-out, joins, cycles, streaming, failures, durability."""

from __future__ import annotations

import asyncio
import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

import pytest
from pydantic import BaseModel

from beluga.core.errors import BelugaError, ErrorCode
from beluga.graphs import (
    END,
    START,
    GraphFinished,
    MemoryCheckpointer,
    NodeContext,
    NodeFinished,
    NodeStarted,
    Send,
    StateGraph,
    StepSaved,
)
from beluga.schema import Message


class Counter(TypedDict, total=False):
    n: int
    log: Annotated[list[str], operator.add]


async def inc(state: Counter) -> dict[str, Any]:
    return {"n": state["n"] + 1, "log": [f"inc{state['n']}"]}


def linear() -> StateGraph[Counter]:
    g: StateGraph[Counter] = StateGraph(Counter)
    g.add_node("a", inc).add_node("b", inc).add_node("c", inc)
    g.add_edge(START, "a").add_edge("a", "b").add_edge("b", "c").add_edge("c", END)
    return g


async def test_linear_graph_runs_nodes_in_order_through_reducers() -> None:
    result = await linear().compile().run({"n": 0, "log": []})
    assert result.status == "done"
    assert result.values == {"n": 3, "log": ["inc0", "inc1", "inc2"]}
    assert result.steps == 3
    assert result.checkpoint_id is None  # no checkpointer, nothing stored


async def test_sync_nodes_and_context_parameter() -> None:
    seen: list[tuple[str, str, int]] = []

    def plain(state: Counter, ctx: NodeContext) -> dict[str, Any]:
        seen.append((ctx.node, ctx.task_id, ctx.step))
        return {"n": state["n"] * 10}

    g: StateGraph[Counter] = StateGraph(Counter)
    g.add_node(plain).add_edge(START, "plain")
    result = await g.compile().run({"n": 4})
    assert result.values["n"] == 40
    assert seen == [("plain", "0.plain", 0)]


class Doc(BaseModel):
    title: str
    words: int = 0


class ModelState(BaseModel):
    docs: Annotated[list[Doc], operator.add] = []
    history: list[Message] = []
    note: str = "none"


async def test_pydantic_state_nodes_see_models_and_checkpoints_restore_types() -> None:
    async def add_doc(state: ModelState) -> dict[str, Any]:
        assert isinstance(state, ModelState)
        return {
            "docs": [Doc(title="t", words=len(state.docs) + 1)],
            "history": [*state.history, Message.user("hi")],
        }

    store = MemoryCheckpointer()
    g: StateGraph[ModelState] = StateGraph(ModelState)
    g.add_node("add", add_doc).add_edge(START, "add")
    graph = g.compile(checkpointer=store)
    result = await graph.run({"note": "x"})
    assert isinstance(result.state, ModelState)
    assert result.state.docs == [Doc(title="t", words=1)]
    stored = await graph.state(result.run_id)
    assert stored.values["docs"] == [Doc(title="t", words=1)]
    assert isinstance(stored.values["history"][0], Message)
    assert stored.values["history"][0].text == "hi"


@dataclass
class DataState:
    items: Annotated[list[int], operator.add] = field(default_factory=list)
    total: int = 0


async def test_dataclass_state_with_fan_out_and_fan_in() -> None:
    def spread(state: DataState) -> list[Send]:
        return [Send("square", x) for x in (1, 2, 3, 4)]

    async def square(x: int) -> dict[str, Any]:
        await asyncio.sleep(0.001 * (5 - x))  # finish out of order: merge stays in task order
        return {"items": [x * x]}

    def total(state: DataState) -> dict[str, Any]:
        assert isinstance(state, DataState)
        return {"total": sum(state.items)}

    g: StateGraph[DataState] = StateGraph(DataState)
    g.add_node("start", lambda s: None).add_node("square", square).add_node("total", total)
    g.add_edge(START, "start").add_conditional_edges("start", spread)
    g.add_edge("square", "total")
    result = await g.compile().run(DataState())
    assert result.values["items"] == [1, 4, 9, 16]
    assert result.values["total"] == 30
    assert result.steps == 3  # start, the four squares in one step, total once


async def test_join_waits_for_every_source() -> None:
    class J(TypedDict, total=False):
        log: Annotated[list[str], operator.add]

    def node(name: str) -> Any:
        return lambda s: {"log": [name]}

    g: StateGraph[J] = StateGraph(J)
    for name in ("a", "b", "b2", "c"):
        g.add_node(name, node(name))
    g.add_edge(START, "a").add_edge(START, "b").add_edge("b", "b2")
    g.add_edge(["a", "b2"], "c")
    result = await g.compile().run({"log": []})
    assert result.values["log"] == ["a", "b", "b2", "c"]  # c after the longer branch only


async def test_conditional_edges_with_named_targets_and_cycle() -> None:
    def route(state: Counter) -> str:
        return "again" if state["n"] < 5 else "stop"

    g: StateGraph[Counter] = StateGraph(Counter)
    g.add_node("inc", inc).add_edge(START, "inc")
    g.add_conditional_edges("inc", route, {"again": "inc", "stop": END})
    result = await g.compile().run({"n": 0, "log": []})
    assert result.values["n"] == 5
    assert len(result.values["log"]) == 5


async def test_cycle_without_end_fails_naming_the_step_limit() -> None:
    g: StateGraph[Counter] = StateGraph(Counter)
    g.add_node("inc", inc).add_edge(START, "inc").add_edge("inc", "inc")
    with pytest.raises(BelugaError) as info:
        await g.compile(step_limit=7).run({"n": 0, "log": []})
    assert info.value.code is ErrorCode.CAPACITY_EXCEEDED
    assert "step_limit=7" in info.value.message and "inc" in info.value.message
    with pytest.raises(BelugaError, match="step_limit=3"):
        await g.compile(step_limit=7).run({"n": 0, "log": []}, step_limit=3)


async def test_route_to_unknown_node_and_bad_updates_are_clear_errors() -> None:
    g: StateGraph[Counter] = StateGraph(Counter)
    g.add_node("inc", inc).add_edge(START, "inc").add_conditional_edges("inc", lambda s: "nope")
    with pytest.raises(BelugaError, match="'nope', which is not a node"):
        await g.compile().run({"n": 0})

    g2: StateGraph[Counter] = StateGraph(Counter)
    g2.add_node("bad", lambda s: {"unknown": 1}).add_edge(START, "bad")
    with pytest.raises(BelugaError, match="'unknown', which is not a field"):
        await g2.compile().run({"n": 0})

    g3: StateGraph[Counter] = StateGraph(Counter)
    g3.add_node("bad", lambda s: 42).add_edge(START, "bad")
    with pytest.raises(BelugaError, match="returned a int"):
        await g3.compile().run({"n": 0})


def test_build_errors_name_the_problem() -> None:
    g: StateGraph[Counter] = StateGraph(Counter)
    g.add_node("a", inc)
    with pytest.raises(BelugaError, match="has no entry"):
        g.compile()
    g.add_edge(START, "a").add_edge("a", "ghost")
    with pytest.raises(BelugaError, match="a -> ghost"):
        g.compile()
    with pytest.raises(BelugaError, match="already has a node 'a'"):
        g.add_node("a", inc)
    with pytest.raises(BelugaError, match="a node is a function"):
        g.add_node("x", 3)
    with pytest.raises(BelugaError, match="must take the state"):
        g.add_node("y", lambda: None)
    with pytest.raises(BelugaError, match="durability"):
        linear().compile(durability="sometimes")  # type: ignore[arg-type]
    with pytest.raises(BelugaError, match="TypedDict, a dataclass or a pydantic"):
        StateGraph(int)


async def test_stream_yields_node_and_step_events_in_order() -> None:
    graph = linear().compile(checkpointer=MemoryCheckpointer())
    events = [e async for e in graph.stream({"n": 0, "log": []})]
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["NodeStarted", "NodeFinished", "StepSaved"] * 3 + ["GraphFinished"]
    assert [e.node for e in events if isinstance(e, NodeStarted)] == ["a", "b", "c"]
    finished = [e for e in events if isinstance(e, NodeFinished)]
    assert finished[0].update == {"n": 1, "log": ["inc0"]}
    assert [e.checkpoint_id for e in events if isinstance(e, StepSaved)] == [
        "00000001",
        "00000002",
        "00000003",
    ]
    last = events[-1]
    assert isinstance(last, GraphFinished) and last.result.values["n"] == 3


async def test_failed_parallel_step_keeps_the_finished_branches() -> None:
    calls: dict[str, int] = {}
    broken = {"on": True}

    async def work(x: str) -> dict[str, Any]:
        calls[x] = calls.get(x, 0) + 1
        if x == "bad" and broken["on"]:
            await asyncio.sleep(0.01)
            raise RuntimeError("flaky")
        return {"log": [x]}

    g: StateGraph[Counter] = StateGraph(Counter)
    g.add_node("split", lambda s: None).add_node("work", work)
    g.add_edge(START, "split")
    g.add_conditional_edges("split", lambda s: [Send("work", x) for x in ("a", "bad", "c")])
    graph = g.compile(checkpointer=MemoryCheckpointer())
    with pytest.raises(RuntimeError, match="flaky"):
        await graph.run({"log": []}, run_id="r1")
    broken["on"] = False
    result = await graph.resume("r1")
    assert result.values["log"] == ["a", "bad", "c"]
    assert calls == {"a": 1, "bad": 2, "c": 1}  # only the failed branch ran again


@pytest.mark.parametrize("mode", ["sync", "async", "exit"])
async def test_durability_modes_store_what_they_promise(mode: str) -> None:
    store = MemoryCheckpointer()
    graph = linear().compile(checkpointer=store, durability=mode)  # type: ignore[arg-type]
    result = await graph.run({"n": 0, "log": []})
    history = await graph.history(result.run_id)
    if mode == "exit":
        assert [h.checkpoint_id for h in history] == ["00000003"]
    else:
        assert [h.checkpoint_id for h in history] == [f"0000000{i}" for i in range(4)]
    assert history[-1].status == "done"
    assert (await graph.state(result.run_id)).values["n"] == 3


async def test_exit_durability_stores_the_failed_step_for_resume() -> None:
    fail = {"on": True}

    def boom(state: Counter) -> dict[str, Any]:
        if fail["on"]:
            raise ValueError("boom")
        return {"n": 100}

    g: StateGraph[Counter] = StateGraph(Counter)
    g.add_node("a", inc).add_node("boom", boom).add_edge(START, "a").add_edge("a", "boom")
    graph = g.compile(checkpointer=MemoryCheckpointer(), durability="exit")
    with pytest.raises(ValueError, match="boom"):
        await graph.run({"n": 0, "log": []}, run_id="x")
    fail["on"] = False
    assert (await graph.resume("x")).values == {"n": 100, "log": ["inc0"]}


async def test_history_and_fork_travel_back_in_time() -> None:
    graph = linear().compile(checkpointer=MemoryCheckpointer())
    first = await graph.run({"n": 0, "log": []}, run_id="orig")
    history = await graph.history("orig")
    assert [h.next for h in history] == [("a",), ("b",), ("c",), ()]
    forked = await graph.fork("orig", history[1].checkpoint_id, update={"n": 50})
    result = await graph.resume(forked)
    assert result.values["n"] == 52  # b and c ran again from the fork with n=50
    assert result.values["log"] == ["inc0", "inc50", "inc51"]
    assert (await graph.state("orig")).values == first.values  # the original is untouched
    with pytest.raises(BelugaError, match="has finished"):
        await graph.resume("orig")
    with pytest.raises(BelugaError, match="already exists"):
        await graph.run({"n": 0}, run_id="orig")
    with pytest.raises(BelugaError) as info:
        await graph.state("missing")
    assert info.value.code is ErrorCode.NOT_FOUND


async def test_resume_without_checkpointer_is_a_config_error() -> None:
    with pytest.raises(BelugaError, match="has no checkpointer"):
        await linear().compile().resume("r")


async def test_concurrent_runs_do_not_share_state() -> None:
    graph = linear().compile(checkpointer=MemoryCheckpointer())
    results = await asyncio.gather(*(graph.run({"n": i * 100, "log": []}) for i in range(10)))
    assert [r.values["n"] for r in results] == [i * 100 + 3 for i in range(10)]
    assert len({r.run_id for r in results}) == 10


async def test_spans_name_graph_and_nodes(telemetry: Any) -> None:
    await linear().compile().run({"n": 0, "log": []})
    names = [s.name for s in telemetry.finished_spans()]
    assert "invoke_graph graph" in names
    assert names.count("graph_node a") == 1 and "graph_node c" in names
