"""The contract every checkpoint store keeps, and a graph run on each of them."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from beluga.graphs import START, Send, StateGraph, interrupt
from beluga.graphs.checkpoints import Checkpoint, Checkpointer


def _cp(run_id: str, seq: int, status: str = "running") -> Checkpoint:
    return Checkpoint(
        run_id=run_id,
        checkpoint_id=f"{seq:08d}",
        step=seq,
        values={"n": seq, "text": "ünïcode ✓", "nested": {"a": [1, 2]}},
        next=[{"id": f"{seq}.a", "node": "a"}, {"id": f"{seq}.b#1", "node": "b", "arg": 3}],
        status=status,  # type: ignore[arg-type]
    )


async def test_put_get_replace_writes_and_history(store: Any) -> None:
    assert isinstance(store, Checkpointer)
    assert await store.get("run/1") is None
    for seq in range(3):
        await store.put(_cp("run/1", seq))
    await store.put(_cp("run/1", 2, "interrupted"))  # same id: replaced
    await store.put(_cp("run/2", 0, "done"))
    await store.put_writes("run/1", "00000002", "2.b#1", {"update": {"n": 1}})
    await store.put_writes("run/1", "00000002", "2.b#1", {"update": {"n": 2}})
    latest = await store.get("run/1")
    assert latest.checkpoint_id == "00000002" and latest.status == "interrupted"
    assert latest.values == {"n": 2, "text": "ünïcode ✓", "nested": {"a": [1, 2]}}
    assert latest.next[1] == {"id": "2.b#1", "node": "b", "arg": 3}
    assert latest.writes == {"2.b#1": {"update": {"n": 2}}}
    first = await store.get("run/1", "00000000")
    assert first.step == 0 and first.writes == {}
    assert await store.get("run/1", "00000009") is None
    history = await store.history("run/1")
    assert [(m.checkpoint_id, m.next) for m in history] == [
        (f"0000000{i}", ("a", "b")) for i in range(3)
    ]
    assert [(m.run_id, m.status) for m in await store.runs()] == [
        ("run/1", "interrupted"),
        ("run/2", "done"),
    ]


class S(TypedDict, total=False):
    items: Annotated[list[str], operator.add]


async def test_a_graph_with_fan_out_and_an_interrupt_resumes_on_each_store(store: Any) -> None:
    runs: dict[str, int] = {}

    def work(item: str) -> dict[str, Any]:
        runs[item] = runs.get(item, 0) + 1
        if item == "ask":
            return {"items": [f"ask={interrupt('ok?')}"]}
        return {"items": [item]}

    g: StateGraph[S] = StateGraph(S)
    g.add_node("fan", lambda s: None).add_node("work", work).add_edge(START, "fan")
    g.add_conditional_edges("fan", lambda s: [Send("work", x) for x in ("a", "ask", "b")])
    graph = g.compile(checkpointer=store)
    paused = await graph.run({"items": []})
    done = await graph.resume(paused.run_id, "yes")
    assert done.values["items"] == ["a", "ask=yes", "b"]
    assert runs == {"a": 1, "ask": 2, "b": 1}
    assert [m.status for m in await graph.history(paused.run_id)][-1] == "done"
