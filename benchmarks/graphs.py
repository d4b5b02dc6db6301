"""Graph orchestration overhead next to LangGraph: per-node cost, and SQLite checkpoint cost.

Both frameworks run the same graph in the same process: a linear chain of ``NODES`` async
nodes over a TypedDict state (``n`` incremented by each node, ``log`` appended to through an
``operator.add`` reducer), and a fan-out of ``FAN`` parallel branches (``Send``) merged by a
reducer. The nodes do nothing else, so what is measured is each engine: scheduling, state
merging, edges, events, tracing hooks (no OpenTelemetry SDK configured for either).

Checkpoint cost: the same chain with each framework's SQLite checkpointer on a fresh file
(Beluga's ``SqliteCheckpointer``; LangGraph's ``AsyncSqliteSaver`` from
``langgraph-checkpoint-sqlite``), both with ``durability="sync"`` (each step's checkpoint
written before the next step starts), a fresh run/thread id per run. Reported per node: the
time per node with the checkpointer, and that minus the time without it.

Rounds are interleaved and rotated (``_harness.interleaved``); figures are medians, ratios are
medians of per-round ratios (LangGraph / Beluga: above 1 means LangGraph is slower). Run with
``python -m benchmarks.graphs`` from the bench venv (``make bench`` installs LangGraph there).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import itertools
import json
import operator
import os
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypedDict

from benchmarks._harness import interleaved, ratio_median

os.environ.setdefault("LANGSMITH_TRACING", "false")
os.environ.setdefault("LANGCHAIN_TRACING_V2", "false")

NODES = 10
FAN = 10


class State(TypedDict, total=False):
    n: int
    log: Annotated[list[int], operator.add]


async def step(state: State) -> dict[str, Any]:
    return {"n": state["n"] + 1, "log": [state["n"]]}


async def branch(arg: dict[str, int]) -> dict[str, Any]:
    return {"log": [arg["i"]]}


def _noop(state: State) -> None:
    return None


# -- Beluga ------------------------------------------------------------------------------------


def beluga_chain(checkpointer: Any = None) -> Any:
    from beluga.graphs import END, START, StateGraph

    g: StateGraph[State] = StateGraph(State)
    names = [f"n{i}" for i in range(NODES)]
    for name in names:
        g.add_node(name, step)
    g.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        g.add_edge(a, b)
    g.add_edge(names[-1], END)
    return g.compile(checkpointer=checkpointer, step_limit=NODES + 5)


def beluga_fan() -> Any:
    from beluga.graphs import END, START, Send, StateGraph

    g: StateGraph[State] = StateGraph(State)
    g.add_node("split", _noop).add_node("branch", branch).add_node("join", _noop)
    g.add_edge(START, "split")
    g.add_conditional_edges("split", lambda s: [Send("branch", {"i": i}) for i in range(FAN)])
    g.add_edge("branch", "join").add_edge("join", END)
    return g.compile()


# -- LangGraph ---------------------------------------------------------------------------------


def langgraph_chain(checkpointer: Any = None) -> Any:
    from langgraph.graph import END, START, StateGraph

    g = StateGraph(State)
    names = [f"n{i}" for i in range(NODES)]
    for name in names:
        g.add_node(name, step)
    g.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        g.add_edge(a, b)
    g.add_edge(names[-1], END)
    return g.compile(checkpointer=checkpointer)


def langgraph_fan() -> Any:
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Send

    g = StateGraph(State)
    g.add_node("split", _noop)
    g.add_node("branch", branch)
    g.add_node("join", _noop)
    g.add_edge(START, "split")
    g.add_conditional_edges("split", lambda s: [Send("branch", {"i": i}) for i in range(FAN)])
    g.add_edge("branch", "join")
    g.add_edge("join", END)
    return g.compile()


# -- timing ------------------------------------------------------------------------------------


async def _check(run: Callable[[], Awaitable[Any]], expected: Any, name: str) -> None:
    got = await run()
    if got != expected:
        raise AssertionError(f"{name} computed {got!r}, expected {expected!r}")


async def measure(calls: int, rounds: int) -> dict[str, Any]:
    has_langgraph = importlib.util.find_spec("langgraph") is not None
    has_lg_sqlite = (
        has_langgraph and importlib.util.find_spec("langgraph.checkpoint.sqlite") is not None
    )
    first: State = {"n": 0, "log": []}
    chain_expected = {"n": NODES, "log": list(range(NODES))}
    fan_expected = sorted(range(FAN))
    out: dict[str, Any] = {"nodes": NODES, "fan": FAN, "langgraph": has_langgraph}

    b_chain, b_fan = beluga_chain(), beluga_fan()

    async def b_chain_run() -> Any:
        return (await b_chain.run(first)).values

    async def b_fan_run() -> Any:
        return sorted((await b_fan.run(first)).values["log"])

    plain: dict[str, Callable[[], Awaitable[Any]]] = {"beluga": b_chain_run}
    fan: dict[str, Callable[[], Awaitable[Any]]] = {"beluga": b_fan_run}
    if has_langgraph:
        l_chain, l_fan = langgraph_chain(), langgraph_fan()

        async def l_chain_run() -> Any:
            return await l_chain.ainvoke(first)

        async def l_fan_run() -> Any:
            return sorted((await l_fan.ainvoke(first))["log"])

        plain["langgraph"] = l_chain_run
        fan["langgraph"] = l_fan_run
    for name, run in plain.items():
        await _check(run, chain_expected, name)
    for name, run in fan.items():
        await _check(run, fan_expected, name)
    chain_t = await interleaved(plain, calls=calls, rounds=rounds, warmup=20)
    fan_t = await interleaved(fan, calls=calls, rounds=rounds, warmup=20)
    out["per_node_us"] = {k: t.median / NODES * 1e6 for k, t in chain_t.items()}
    out["fan_run_us"] = {k: t.median * 1e6 for k, t in fan_t.items()}
    if has_langgraph:
        out["per_node_ratio"] = ratio_median(chain_t["langgraph"], chain_t["beluga"])
        out["fan_ratio"] = ratio_median(fan_t["langgraph"], fan_t["beluga"])

    with tempfile.TemporaryDirectory() as tmp:
        out.update(await _checkpoints(Path(tmp), calls, rounds, chain_expected, has_lg_sqlite))
    out["per_node_checkpoint_cost_us"] = {
        k: out["per_node_checkpointed_us"][k] - out["per_node_us"][k]
        for k in out["per_node_checkpointed_us"]
    }
    return out


async def _checkpoints(
    tmp: Path, calls: int, rounds: int, expected: Any, has_lg_sqlite: bool
) -> dict[str, Any]:
    from beluga.graphs import SqliteCheckpointer

    first: State = {"n": 0, "log": []}
    store = SqliteCheckpointer(tmp / "beluga.db")
    b_graph = beluga_chain(store)

    async def b_run() -> Any:
        return (await b_graph.run(first, run_id=uuid.uuid4().hex)).values

    contenders: dict[str, Callable[[], Awaitable[Any]]] = {"beluga": b_run}
    saver_cm: Any = None
    if has_lg_sqlite:
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        saver_cm = AsyncSqliteSaver.from_conn_string(str(tmp / "langgraph.db"))
        saver = await saver_cm.__aenter__()
        l_graph = langgraph_chain(saver)

        async def l_run() -> Any:
            config = {"configurable": {"thread_id": uuid.uuid4().hex}}
            return await l_graph.ainvoke(first, config, durability="sync")

        contenders["langgraph"] = l_run
    try:
        for name, run in contenders.items():
            await _check(run, expected, name)
        times = await interleaved(contenders, calls=max(calls // 4, 5), rounds=rounds, warmup=5)
    finally:
        await store.aclose()
        if saver_cm is not None:
            await saver_cm.__aexit__(None, None, None)
    out: dict[str, Any] = {
        "per_node_checkpointed_us": {k: t.median / NODES * 1e6 for k, t in times.items()}
    }
    if "langgraph" in times:
        out["checkpointed_ratio"] = ratio_median(times["langgraph"], times["beluga"])
    return out


def run(calls: int = 100, rounds: int = 9) -> dict[str, Any]:
    return asyncio.run(measure(calls, rounds))


def report(r: dict[str, Any]) -> None:
    nodes = r["nodes"]
    print(f"Graphs: a {nodes}-node chain and a {r['fan']}-branch fan-out (medians)")
    for name, us in r["per_node_us"].items():
        print(f"  per node, no checkpointer   {name:10} {us:8.2f} us")
    if "per_node_ratio" in r:
        print(f"  ratio LangGraph / Beluga: {r['per_node_ratio']:.2f}x")
    for name, us in r["fan_run_us"].items():
        print(f"  fan-out run                 {name:10} {us:8.1f} us")
    if "fan_ratio" in r:
        print(f"  ratio LangGraph / Beluga: {r['fan_ratio']:.2f}x")
    for name, us in r["per_node_checkpointed_us"].items():
        cost = r["per_node_checkpoint_cost_us"][name]
        print(
            f"  per node, SQLite sync       {name:10} {us:8.2f} us "
            f"(checkpoint cost {cost:.2f} us per node)"
        )
    if "checkpointed_ratio" in r:
        print(f"  ratio LangGraph / Beluga: {r['checkpointed_ratio']:.2f}x")
    if not r["langgraph"]:
        print("  (LangGraph not installed: run from the bench venv, `make bench`)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=100, help="graph runs per round")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    results = run(args.calls, args.rounds)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)


if __name__ == "__main__":
    main()
