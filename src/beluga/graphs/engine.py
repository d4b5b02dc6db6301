"""Running a compiled graph: steps, checkpoints, interrupts, resume, history and forks.

A run goes in steps. Each step runs its tasks (the nodes the previous step's edges chose, one
per :class:`~beluga.graphs.Send`) concurrently on the same state; when all are done their
updates merge through the reducers in task order, the edges pick the next tasks from the merged
state, and the step's checkpoint is written. The run ends when no task is left.

Durability (``compile(durability=...)`` or per run):

- ``sync`` (default): each checkpoint, and each pending write of a step of several tasks, is
  stored before the run goes on. A crash (even ``kill -9``) loses at most the tasks running at
  that moment; resume re-runs only those.
- ``async``: stores are written in order by a background task while the next step runs; the
  run waits for them before it returns. A crash may also lose the last steps' checkpoints, which
  then run again.
- ``exit``: only the final checkpoint (done, interrupted, or the step that failed with its
  pending writes) is stored, when the call returns or fails; a crash loses the whole call.

A task that fails fails the step: the other tasks of the step finish and keep their updates as
pending writes, and the error propagates; ``resume(run_id)`` runs only the tasks without a
stored update.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.sync import run_sync
from beluga.graphs._run import MISSING, Run, Task, answers_for, drain, interrupt_of
from beluga.graphs._state import StateSpec, decode_value
from beluga.graphs.checkpoints.base import Checkpoint, Checkpointer, CheckpointMeta, check_run_id
from beluga.graphs.context import NodeContext
from beluga.graphs.types import START, GraphEvent, GraphResult
from beluga.observability.logs import get_logger

if TYPE_CHECKING:
    from beluga.graphs.graph import Branch, Durability, NodeSpec, StateGraph
    from beluga.llms.router import Router

__all__ = ["NO_ANSWER", "CompiledGraph", "Executor"]

S = TypeVar("S")
_OP = "graphs.run"
_log = get_logger("beluga.graphs")
NO_ANSWER: Any = MISSING
"""``resume``'s ``answer`` when none is given (a run that crashed resumes without one)."""


class Executor(Protocol):
    """Runs one node call; the default awaits it in this process (see ``beluga.graphs.ray``)."""

    async def call(self, spec: NodeSpec, arg: Any, ctx: NodeContext) -> Any: ...


class CompiledGraph(Generic[S]):
    """A checked graph, ready to run (made by :meth:`StateGraph.compile`)."""

    def __init__(
        self,
        graph: StateGraph[S],
        *,
        checkpointer: Checkpointer | None,
        router: Router | None,
        step_limit: int,
        durability: Durability,
        executor: Executor | None,
    ) -> None:
        self.name = graph.name
        self.spec: StateSpec = graph.spec
        self.nodes: dict[str, NodeSpec] = dict(graph.nodes)
        self.edges = {k: tuple(v) for k, v in graph.edges.items()}
        self.branches: dict[str, tuple[Branch, ...]] = {
            k: tuple(v) for k, v in graph.branches.items()
        }
        self.joins = tuple(graph.joins)
        self._joins_of: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for sources, target in self.joins:
            for source in sources:
                self._joins_of.setdefault(source, []).append((sources, target))
        self.checkpointer = checkpointer
        self.router = router
        self.step_limit = step_limit
        self.durability = durability
        self.executor = executor

    # -- public API ---------------------------------------------------------------------

    async def run(
        self,
        input: Mapping[str, Any] | Any,
        *,
        run_id: str | None = None,
        deps: Any = None,
        step_limit: int | None = None,
        durability: Durability | None = None,
    ) -> GraphResult[S]:
        """Run from ``input`` (the first state) to the end or to an interrupt."""
        run = await self._start(input, run_id, deps, step_limit, durability, None)
        return await run.execute()

    def run_sync(self, input: Mapping[str, Any] | Any, **options: Any) -> GraphResult[S]:
        """:meth:`run` from sync code (scripts, notebooks, the CLI)."""
        return run_sync(self.run(input, **options))

    async def stream(
        self,
        input: Mapping[str, Any] | Any,
        *,
        run_id: str | None = None,
        deps: Any = None,
        step_limit: int | None = None,
        durability: Durability | None = None,
    ) -> AsyncIterator[GraphEvent]:
        """:meth:`run`, yielding node, token and checkpoint events (see ``beluga.graphs.types``)."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        run = await self._start(input, run_id, deps, step_limit, durability, queue.put_nowait)
        async with aclosing(drain(run, queue)) as events:
            async for event in events:
                yield event

    async def resume(
        self,
        run_id: str,
        answer: Any = MISSING,
        *,
        answers: Mapping[str, Any] | None = None,
        deps: Any = None,
        step_limit: int | None = None,
        durability: Durability | None = None,
    ) -> GraphResult[S]:
        """Go on with run ``run_id`` from its last checkpoint.

        ``answer`` answers the one pending interrupt; ``answers`` maps interrupt ids to answers
        when several wait. A run that crashed or failed resumes with no answer.
        """
        run = await self._resumed(run_id, answer, answers, deps, step_limit, durability, None)
        return await run.execute()

    async def resume_stream(
        self,
        run_id: str,
        answer: Any = MISSING,
        *,
        answers: Mapping[str, Any] | None = None,
        deps: Any = None,
        step_limit: int | None = None,
        durability: Durability | None = None,
    ) -> AsyncIterator[GraphEvent]:
        """:meth:`resume`, yielding events as :meth:`stream` does."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        run = await self._resumed(
            run_id, answer, answers, deps, step_limit, durability, queue.put_nowait
        )
        async with aclosing(drain(run, queue)) as events:
            async for event in events:
                yield event

    async def history(self, run_id: str) -> list[CheckpointMeta]:
        """The checkpoints of ``run_id``, oldest first (time travel: fork any of them)."""
        return list(await self._store().history(check_run_id(_OP, run_id)))

    async def state(self, run_id: str, checkpoint_id: str | None = None) -> GraphResult[S]:
        """The state stored at a checkpoint (the latest by default), without running."""
        cp = await self._load(run_id, checkpoint_id)
        values = self.spec.decode(cp.values)
        return GraphResult(
            cp.run_id,
            self.spec.view(values),
            values,
            cp.status,
            cp.step,
            cp.checkpoint_id,
            tuple(interrupt_of(i) for i in cp.interrupts),
        )

    async def fork(
        self,
        run_id: str,
        checkpoint_id: str,
        *,
        update: Mapping[str, Any] | None = None,
        new_run_id: str | None = None,
    ) -> str:
        """Copy checkpoint ``checkpoint_id`` of ``run_id`` into a new run (optionally with
        ``update`` merged into its state through the reducers); ``resume`` the id it returns
        to go on from there. The original run is untouched."""
        cp = await self._load(run_id, checkpoint_id)
        values = self.spec.decode(cp.values)
        if update:
            self.spec.check_keys(update, "fork(update=...)")
            self.spec.apply(values, update)
        new = check_run_id(_OP, new_run_id or uuid.uuid4().hex)
        store = self._store()
        if await store.get(new) is not None:
            raise BelugaError(_OP, ErrorCode.INVALID_REQUEST, f"run {new!r} already exists")
        await store.put(
            Checkpoint(
                run_id=new,
                checkpoint_id=cp.checkpoint_id,
                step=cp.step,
                values=self.spec.encode(values),
                next=cp.next,
                graph=self.name,
                parent_id=f"{run_id}:{cp.checkpoint_id}",
                status="running" if cp.next else "done",
                barriers=cp.barriers,
            )
        )
        return new

    def draw_mermaid(self) -> str:
        """The graph as a Mermaid flowchart (``beluga graph draw``)."""
        from beluga.graphs.mermaid import draw

        return draw(self)

    def as_node_function(self) -> Callable[[Any, NodeContext], Any]:
        """This graph as a node of another (it reads and writes the fields of the same name)."""
        from beluga.graphs.nodes import subgraph_node

        return subgraph_node(self)

    def __repr__(self) -> str:
        return f"CompiledGraph({self.name!r}, nodes={list(self.nodes)})"

    # -- internals ----------------------------------------------------------------------

    def _store(self) -> Checkpointer:
        if self.checkpointer is None:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"graph {self.name!r} has no checkpointer: compile(checkpointer=...) with a "
                "SqliteCheckpointer (or a PostgreSQL/Redis one) to resume, list or fork runs",
            )
        return self.checkpointer

    async def _load(self, run_id: str, cp_id: str | None) -> Checkpoint:
        cp = await self._store().get(check_run_id(_OP, run_id), cp_id)
        if cp is None:
            what = f"checkpoint {cp_id!r} of run {run_id!r}" if cp_id else f"run {run_id!r}"
            raise BelugaError(
                _OP,
                ErrorCode.NOT_FOUND,
                f"{what} is not in the checkpoint store; `beluga graph runs` lists the runs",
            )
        return cp

    async def _start(
        self,
        input: Any,
        run_id: str | None,
        deps: Any,
        step_limit: int | None,
        durability: Durability | None,
        emit: Callable[[Any], None] | None,
        *,
        parent: NodeContext | None = None,
        checkpointer: Checkpointer | None = None,
    ) -> Run:
        values = self.spec.initial(input)
        store = checkpointer or self.checkpointer
        rid = check_run_id(_OP, run_id) if run_id else uuid.uuid4().hex
        if run_id and store is not None and await store.get(rid) is not None:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_REQUEST,
                f"run {rid!r} already exists: resume it with resume({rid!r}), or start a new "
                "run with another id",
            )
        run = Run(self, rid, values, 0, deps, step_limit, durability, emit, store, parent)
        run.tasks = run.route(START, 0)
        run.save_first = True
        return run

    async def _resumed(
        self,
        run_id: str,
        answer: Any,
        answers: Mapping[str, Any] | None,
        deps: Any,
        step_limit: int | None,
        durability: Durability | None,
        emit: Callable[[Any], None] | None,
        *,
        parent: NodeContext | None = None,
        checkpointer: Checkpointer | None = None,
    ) -> Run:
        store = checkpointer or self._store()
        cp = await store.get(check_run_id(_OP, run_id))
        if cp is None:
            raise BelugaError(
                _OP,
                ErrorCode.NOT_FOUND,
                f"run {run_id!r} is not in the checkpoint store; `beluga graph runs` lists them",
            )
        if cp.status == "done":
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_REQUEST,
                f"run {run_id!r} has finished; fork one of its checkpoints to run from there "
                "again (graph.history / graph.fork)",
            )
        given = answers_for(cp, answer, parent.answers if parent else answers, parent is not None)
        run = Run(
            self,
            cp.run_id,
            self.spec.decode(cp.values),
            cp.step,
            deps,
            step_limit,
            durability,
            emit,
            store,
            parent,
        )
        run.tasks = [
            Task(t["id"], t["node"], decode_value(t["arg"]) if "arg" in t else MISSING)
            for t in cp.next
        ]
        run.barriers = {k: list(v) for k, v in cp.barriers.items()}
        run.answers = {**cp.answers, **given}
        run.pending = {i["id"]: i for i in cp.interrupts}
        run.writes = dict(cp.writes)
        run.save_first = bool(given)
        return run
