"""A graph run in a subprocess that the crash tests kill with SIGKILL, then resume.

``python -m tests.graphs._crash_graph STORE TARGET RUN_ID LOG run|resume``: STORE is sqlite,
postgres or redis, TARGET its path, ``DSN|table`` or ``URL|prefix``. Every node appends
``start NAME`` and ``done NAME`` to LOG (flushed and fsynced), so the test can count what ran.
In ``run`` mode the ``slow`` branch of the parallel step blocks until the process is killed.
"""

from __future__ import annotations

import asyncio
import operator
import os
import sys
from typing import Annotated, Any, TypedDict

from beluga.graphs import END, START, Send, StateGraph
from beluga.graphs.checkpoints import Checkpointer


class State(TypedDict, total=False):
    n: int
    parts: Annotated[list[str], operator.add]
    final: str


def log(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


def build(store: Checkpointer, logfile: str, block: bool) -> Any:
    def step(name: str) -> Any:
        async def node(state: State) -> dict[str, Any]:
            log(logfile, f"start {name}")
            log(logfile, f"done {name}")
            return {"n": state["n"] + 1}

        return node

    async def part(name: str) -> dict[str, Any]:
        log(logfile, f"start {name}")
        if name == "slow" and block:
            await asyncio.sleep(600)
        log(logfile, f"done {name}")
        return {"parts": [name]}

    async def final(state: State) -> dict[str, Any]:
        log(logfile, "start final")
        log(logfile, "done final")
        return {"final": "+".join(state["parts"]) + f"@{state['n']}"}

    g: StateGraph[State] = StateGraph(State, name="crash")
    g.add_node("a", step("a")).add_node("b", step("b"))
    g.add_node("part", part).add_node("final", final)
    g.add_edge(START, "a").add_edge("a", "b")
    g.add_conditional_edges("b", lambda s: [Send("part", x) for x in ("p1", "slow", "p2")])
    g.add_edge("part", "final").add_edge("final", END)
    return g.compile(checkpointer=store)


def make_store(kind: str, target: str) -> Checkpointer:
    from beluga.graphs.checkpoints import checkpointers

    factory: Any = checkpointers.get(kind)
    if kind == "sqlite":
        return factory(target)  # type: ignore[no-any-return]
    where, name = target.split("|")
    return factory(where, prefix=name)  # type: ignore[no-any-return]


async def main(kind: str, target: str, run_id: str, logfile: str, mode: str) -> None:
    store = make_store(kind, target)
    graph = build(store, logfile, block=mode == "run")
    if mode == "run":
        result = await graph.run({"n": 0, "parts": []}, run_id=run_id)
    else:
        result = await graph.resume(run_id)
    log(logfile, f"result {result.values['final']}")
    await store.aclose()  # type: ignore[attr-defined]


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
