"""The same graph on a local Ray cluster: function nodes run as Ray tasks in worker processes,
checkpoints stay durable in SQLite, interrupts and resume work across the cluster."""

from __future__ import annotations

import operator
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

from beluga.graphs import START, Send, SqliteCheckpointer, StateGraph, interrupt

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'beluga-ai[ray]')")

from beluga.graphs.ray import RayExecutor  # noqa: E402


class S(TypedDict, total=False):
    items: list[int]
    results: Annotated[list[dict[str, int]], operator.add]
    approved: str


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    root = str(Path(__file__).resolve().parents[2])
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": root}},
    )
    try:
        yield
    finally:
        ray.shutdown()


def split(state: S) -> list[Send]:
    return [Send("square", {"x": x}) for x in state["items"]]


async def square(arg: dict[str, int]) -> dict[str, Any]:
    return {"results": [{"x": arg["x"], "y": arg["x"] ** 2, "pid": os.getpid()}]}


def approve(state: S) -> dict[str, Any]:
    return {"approved": f"{interrupt('ship?')}@{os.getpid()}"}


def build(store: SqliteCheckpointer, executor: RayExecutor) -> Any:
    g: StateGraph[S] = StateGraph(S, name="ray")
    g.add_node("start", lambda s: None).add_node("square", square).add_node("approve", approve)
    g.add_edge(START, "start").add_conditional_edges("start", split)
    g.add_edge("square", "approve")
    return g.compile(checkpointer=store, executor=executor)


async def test_without_ray_init_the_error_says_what_to_do(tmp_path: Path) -> None:
    # runs before the module's cluster fixture starts Ray (tests run in file order)
    assert not ray.is_initialized()
    from beluga.core.errors import BelugaError

    async with SqliteCheckpointer(tmp_path / "x.db") as store:
        with pytest.raises(BelugaError, match=r"ray\.init\(\)"):
            await build(store, RayExecutor()).run({"items": [1], "results": []})


async def test_nodes_run_as_ray_tasks_with_durable_checkpoints(
    cluster: None, tmp_path: Path
) -> None:
    executor = RayExecutor(options={"num_cpus": 1})
    async with SqliteCheckpointer(tmp_path / "ray.db") as store:
        graph = build(store, executor)
        paused = await graph.run({"items": [1, 2, 3, 4], "results": []}, run_id="r")
        assert paused.interrupted and paused.interrupts[0].value == "ship?"
        results = paused.values["results"]
        assert [(r["x"], r["y"]) for r in results] == [(1, 1), (2, 4), (3, 9), (4, 16)]
        assert os.getpid() not in {r["pid"] for r in results}  # they ran in Ray workers
        assert executor.tasks == 6  # start, the four branches, the first run of approve
        history = [m.status for m in await graph.history("r")]
        assert history[-1] == "interrupted"

    # a new process would do this: another store object over the same file, a new executor
    async with SqliteCheckpointer(tmp_path / "ray.db") as again:
        resumed_executor = RayExecutor()
        done = await build(again, resumed_executor).resume("r", "yes")
        assert done.status == "done"
        answer, pid = done.values["approved"].split("@")
        assert answer == "yes" and int(pid) != os.getpid()
        assert resumed_executor.tasks == 1  # only the interrupted node ran again
