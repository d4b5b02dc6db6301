"""The graph test doubles, and what a run does when its store fails mid-run."""

from __future__ import annotations

from typing import Any, TypedDict

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.graphs import START, MemoryCheckpointer, Send, StateGraph
from beluga.graphs.testing import FlakyCheckpointer, Recorder


class S(TypedDict, total=False):
    n: int


def chain(rec: Recorder) -> StateGraph[S]:
    g: StateGraph[S] = StateGraph(S)
    g.add_node("a", rec.node("a", {"n": 1})).add_node("b", rec.node("b", {"n": 2}))
    g.add_node("c", rec.node("c", lambda s: {"n": s["n"] + 10}))
    g.add_edge(START, "a").add_edge("a", "b").add_edge("b", "c")
    return g


async def test_a_failed_checkpoint_write_fails_the_run_and_resume_picks_up() -> None:
    rec = Recorder()
    inner = MemoryCheckpointer()
    store = FlakyCheckpointer(inner, fail_puts={3})  # the checkpoint after "b"
    graph = chain(rec).compile(checkpointer=store)
    with pytest.raises(BelugaError) as info:
        await graph.run({"n": 0}, run_id="r")
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE
    assert [n for n, _ in rec.runs] == ["a", "b"]
    assert store.calls == ["put r 00000000", "put r 00000001"]
    done = await chain(rec).compile(checkpointer=inner).resume("r")
    assert done.values == {"n": 12}
    assert [n for n, _ in rec.runs] == ["a", "b", "b", "c"]  # b's checkpoint was lost: b again


async def test_a_failed_pending_write_leaves_the_branch_to_run_again() -> None:
    rec = Recorder()
    g: StateGraph[S] = StateGraph(S)
    g.add_node("fan", rec.node("fan")).add_node("w", rec.node("w"))
    g.add_edge(START, "fan").add_conditional_edges("fan", lambda s: [Send("w", i) for i in (1, 2)])
    store = FlakyCheckpointer(fail_writes={2})
    with pytest.raises(BelugaError, match="put_writes number 2"):
        await g.compile(checkpointer=store).run({}, run_id="r")
    assert store.calls[-1] == "write r 00000001 1.w#0"
    await g.compile(checkpointer=store).resume("r")
    assert rec.count("w") == 3  # the branch whose write failed ran again, the other did not
    assert rec.runs[-1] == ("w", 2)


def test_recorder_counts() -> None:
    rec = Recorder()
    node: Any = rec.node("x", {"n": 1})
    assert node({"n": 0}) == {"n": 1} and rec.count("x") == 1 and node.__name__ == "x"
