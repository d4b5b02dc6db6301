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
import inspect
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.sync import run_sync
from beluga.graphs._persist import Persister
from beluga.graphs._state import StateSpec, decode_value, encode_value
from beluga.graphs.checkpoints.base import (
    Checkpoint,
    Checkpointer,
    CheckpointMeta,
    check_run_id,
    checkpoint_id,
)
from beluga.graphs.context import GraphInterrupt, NodeContext, reset_context, set_context
from beluga.graphs.types import (
    END,
    START,
    GraphEvent,
    GraphFinished,
    GraphInterrupted,
    GraphResult,
    Interrupt,
    NodeFinished,
    NodeOutput,
    NodeStarted,
    Send,
    StepSaved,
)
from beluga.llms.router import route_trail
from beluga.observability.genai import start_operation
from beluga.observability.logs import get_logger

if TYPE_CHECKING:
    from beluga.graphs.graph import Branch, Durability, NodeSpec, StateGraph
    from beluga.llms.router import Router

__all__ = ["NO_ANSWER", "CompiledGraph", "Executor"]

S = TypeVar("S")
_OP = "graphs.run"
_log = get_logger("beluga.graphs")
_MISSING: Any = object()
NO_ANSWER: Any = _MISSING
"""``resume``'s ``answer`` when none is given (a run that crashed resumes without one)."""


class Executor(Protocol):
    """Runs one node call; the default awaits it in this process (see ``beluga.graphs.ray``)."""

    async def call(self, spec: NodeSpec, arg: Any, ctx: NodeContext) -> Any: ...


@dataclass(slots=True)
class _Task:
    id: str
    node: str
    arg: Any = _MISSING  # a Send's argument; _MISSING means "the state"

    def stored(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "node": self.node}
        if self.arg is not _MISSING:
            out["arg"] = encode_value(self.arg, f"Send({self.node!r}) argument")
        return out


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
        async with aclosing(_drain(run, queue)) as events:
            async for event in events:
                yield event

    async def resume(
        self,
        run_id: str,
        answer: Any = _MISSING,
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
        answer: Any = _MISSING,
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
        async with aclosing(_drain(run, queue)) as events:
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
            tuple(_interrupt_of(i) for i in cp.interrupts),
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
    ) -> _Run:
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
        run = _Run(self, rid, values, 0, deps, step_limit, durability, emit, store, parent)
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
    ) -> _Run:
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
        given = _answers(cp, answer, parent.answers if parent else answers, parent is not None)
        run = _Run(
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
            _Task(t["id"], t["node"], decode_value(t["arg"]) if "arg" in t else _MISSING)
            for t in cp.next
        ]
        run.barriers = {k: list(v) for k, v in cp.barriers.items()}
        run.answers = {**cp.answers, **given}
        run.pending = {i["id"]: i for i in cp.interrupts}
        run.writes = dict(cp.writes)
        run.save_first = bool(given)
        return run


class _Run:
    """One call of run/resume: the state, the next tasks, and the persister."""

    def __init__(
        self,
        graph: CompiledGraph[Any],
        run_id: str,
        values: dict[str, Any],
        step: int,
        deps: Any,
        step_limit: int | None,
        durability: Durability | None,
        emit: Callable[[Any], None] | None,
        store: Checkpointer | None,
        parent: NodeContext | None,
    ) -> None:
        self.graph = graph
        self.run_id = run_id
        self.values = values
        self.step = step
        self.deps = deps if deps is not None or parent is None else parent.deps
        self.limit = step_limit or graph.step_limit
        mode = durability or (parent.durability if parent else graph.durability)
        self.store = store
        self.persist = Persister(store, mode) if store is not None else None
        self.mode = mode
        self.emit = emit
        self.router = graph.router or (parent.router if parent else None)
        self.tasks: list[_Task] = []
        self.barriers: dict[str, list[str]] = {}
        self.answers: dict[str, Any] = dict(parent.answers) if parent else {}
        self.pending: dict[str, dict[str, Any]] = {}
        self.writes: dict[str, dict[str, Any]] = {}
        self.providers: dict[str, tuple[str, ...]] = {}
        self.save_first = False

    # -- the loop -----------------------------------------------------------------------

    async def execute(self) -> GraphResult[Any]:
        graph = self.graph
        op = start_operation(
            "invoke_graph",
            graph.name,
            attributes={"beluga.graph.run_id": self.run_id, "beluga.graph.step": self.step},
        )
        try:
            with op.activated():
                result = await self._loop()
            if self.persist is not None:
                await self.persist.flush()
            op.set("beluga.graph.status", result.status)
            return result
        except BaseException as exc:
            if self.persist is not None:
                await self.persist.flush_after_error()
            op.fail(exc)
            raise
        finally:
            op.end()

    async def _loop(self) -> GraphResult[Any]:
        ran = 0
        if self.save_first:
            await self._save("running")
        while self.tasks:
            if ran >= self.limit:
                raise BelugaError(
                    _OP,
                    ErrorCode.CAPACITY_EXCEEDED,
                    f"graph {self.graph.name!r} ran {ran} steps without reaching END "
                    f"(step_limit={self.limit}); a cycle does not end: make its condition "
                    f"reach END, or pass a larger step_limit to compile() or run(). "
                    f"Next: {', '.join(t.node for t in self.tasks)}",
                )
            updates, interrupts = await self._run_step()
            if interrupts:
                self.pending = {
                    i.id: {"id": i.id, "node": i.node, "value": i.value, "run_id": i.run_id}
                    for i in interrupts
                }
                cp = await self._save("interrupted")
                return self._result("interrupted", cp, interrupts)
            spec = self.graph.spec
            for _task, update in updates:
                if update:
                    spec.apply(self.values, update)
            done = self.tasks
            self.step += 1
            self.writes = {}
            self.pending = {}
            next_tasks: list[_Task] = []
            seen: set[str] = set()
            for task in done:
                for nxt in self.route(task.node, self.step):
                    if nxt.arg is _MISSING:
                        if nxt.node in seen:
                            continue
                        seen.add(nxt.node)
                    next_tasks.append(nxt)
            self.tasks = next_tasks
            for i, task in enumerate(next_tasks):
                if task.arg is not _MISSING:
                    task.id = f"{task.id}#{i}"
            ran += 1
            cp = await self._save("running" if next_tasks else "done")
            if self.emit is not None:
                self.emit(StepSaved(self.step, cp, self.run_id))
        return self._result("done", checkpoint_id(self.step), ())

    async def _save(self, status: str) -> str:
        cp_id = checkpoint_id(self.step)
        if self.persist is None:
            if status == "interrupted":
                first = next(iter(self.pending.values()))
                raise BelugaError(
                    _OP,
                    ErrorCode.INVALID_CONFIG,
                    f"node {first['node']!r} of graph {self.graph.name!r} called "
                    "interrupt(), but the graph has no checkpointer to keep the run until the "
                    "answer comes: compile(checkpointer=SqliteCheckpointer(...))",
                )
            return cp_id
        await self.persist.checkpoint(
            Checkpoint(
                run_id=self.run_id,
                checkpoint_id=cp_id,
                step=self.step,
                values=self.graph.spec.encode(self.values),
                next=[t.stored() for t in self.tasks],
                graph=self.graph.name,
                status=status,  # type: ignore[arg-type]
                barriers=dict(self.barriers),
                interrupts=list(self.pending.values()),
                answers=dict(self.answers) if status != "done" else {},
            )
        )
        return cp_id

    def _result(
        self,
        status: Literal["done", "interrupted"],
        cp_id: str | None,
        interrupts: tuple[Interrupt, ...],
    ) -> GraphResult[Any]:
        spec = self.graph.spec
        result: GraphResult[Any] = GraphResult(
            self.run_id,
            spec.view(self.values),
            dict(self.values),
            status,
            self.step,
            cp_id if self.store is not None else None,
            interrupts,
            dict(self.providers),
        )
        return result

    # -- one step -----------------------------------------------------------------------

    async def _run_step(
        self,
    ) -> tuple[list[tuple[_Task, dict[str, Any] | None]], tuple[Interrupt, ...]]:
        tasks = self.tasks
        if len(tasks) == 1 and tasks[0].id not in self.writes:
            task = tasks[0]
            try:
                return [(task, await self._task(task, False))], ()
            except GraphInterrupt as exc:
                return [], exc.interrupts
        outcomes = await asyncio.gather(
            *(self._stored_or_run(t) for t in tasks), return_exceptions=True
        )
        interrupts: list[Interrupt] = []
        updates: list[tuple[_Task, dict[str, Any] | None]] = []
        failure: BaseException | None = None
        for task, outcome in zip(tasks, outcomes, strict=True):
            if isinstance(outcome, GraphInterrupt):
                interrupts.extend(outcome.interrupts)
            elif isinstance(outcome, BaseException):
                failure = failure or outcome
            else:
                updates.append((task, outcome))
        if failure is not None:
            raise failure
        return updates, tuple(interrupts)

    async def _stored_or_run(self, task: _Task) -> dict[str, Any] | None:
        stored = self.writes.get(task.id)
        if stored is not None:
            update = stored.get("update")
            self.providers[task.id] = tuple(stored.get("providers", ()))
            return self.graph.spec.decode(update) if update else None
        return await self._task(task, True)

    async def _task(self, task: _Task, parallel: bool) -> dict[str, Any] | None:
        graph = self.graph
        spec = graph.nodes[task.node]
        arg = graph.spec.view(self.values) if task.arg is _MISSING else task.arg
        ctx = NodeContext(
            self.run_id,
            task.node,
            task.id,
            self.step,
            spec.role,
            self.router,
            self.emit,
            self.answers,
            [],
            self.deps,
            self.store,
            self.mode,
            graph.spec.reducers,
        )
        if self.pending:
            ctx.pending = {k: v.get("value") for k, v in self.pending.items()}
        emit = self.emit
        if emit is not None:
            emit(NodeStarted(task.node, task.id, self.step, self.run_id))
            ctx.emit = lambda event: emit(NodeOutput(task.node, task.id, event, self.run_id))
        op = start_operation(
            "graph_node",
            task.node,
            attributes={
                "beluga.graph.name": graph.name,
                "beluga.graph.node": task.node,
                "beluga.graph.step": self.step,
                "beluga.graph.role": spec.role,
            },
        )
        token = set_context(ctx)
        trail = route_trail.set(ctx.providers)
        try:
            with op.activated():
                if self.graph.executor is not None:
                    out = await self.graph.executor.call(spec, arg, ctx)
                else:
                    out = spec.fn(arg, ctx) if spec.takes_ctx else spec.fn(arg)
                    if inspect.isawaitable(out):
                        out = await out
        except GraphInterrupt:
            op.set("beluga.graph.interrupted", True)
            raise
        except BaseException as exc:
            op.fail(exc)
            raise
        finally:
            route_trail.reset(trail)
            reset_context(token)
            if ctx.providers:
                op.set("beluga.graph.providers", ",".join(ctx.providers))
            op.end()
        update = self._update_of(task.node, out)
        if ctx.providers:
            providers = tuple(ctx.providers)
            self.providers[task.id] = providers
            _log.info(
                "graph=%s run=%s node=%s role=%s provider=%s",
                graph.name,
                self.run_id,
                task.node,
                spec.role or "-",
                providers[-1],
            )
        if parallel and self.persist is not None:
            write: dict[str, Any] = {"update": graph.spec.encode(update) if update else None}
            if ctx.providers:
                write["providers"] = list(ctx.providers)
            await self.persist.write(self.run_id, checkpoint_id(self.step), task.id, write)
        if emit is not None:
            emit(
                NodeFinished(
                    task.node, task.id, self.step, update, self.run_id, tuple(ctx.providers)
                )
            )
        return update

    def _update_of(self, node: str, out: Any) -> dict[str, Any] | None:
        if out is None:
            return None
        spec = self.graph.spec
        if isinstance(out, dict):
            if spec.fields:
                spec.check_keys(out, f"node {node!r}'s update")
            return out
        if spec.kind in ("pydantic", "dataclass") and isinstance(out, spec.schema):  # type: ignore[arg-type]
            return spec.initial(out)
        if isinstance(out, Mapping):
            return self._update_of(node, dict(out))
        raise BelugaError(
            _OP,
            ErrorCode.INVALID_REQUEST,
            f"node {node!r} returned a {type(out).__name__}: a node returns a dict of the state "
            "fields it changes, or None",
        )

    # -- edges --------------------------------------------------------------------------

    def route(self, node: str, step: int) -> list[_Task]:
        """The tasks that follow ``node`` now that its step is merged."""
        graph = self.graph
        out: list[_Task] = []
        for target in graph.edges.get(node, ()):
            if target != END:
                out.append(_Task(f"{step}.{target}", target))
        for branch in graph.branches.get(node, ()):
            out.extend(self._branch(node, branch, step))
        for sources, target in graph._joins_of.get(node, ()):
            key = f"{target}<{'+'.join(sources)}"
            seen = self.barriers.setdefault(key, [])
            if node not in seen:
                seen.append(node)
            if all(s in seen for s in sources):
                del self.barriers[key]
                if target != END:
                    out.append(_Task(f"{step}.{target}", target))
        return out

    def _branch(self, node: str, branch: Branch, step: int) -> list[_Task]:
        chosen = branch.route(self.graph.spec.view(self.values))
        if inspect.isawaitable(chosen):
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"the route after {node!r} is async: routes are plain functions of the state "
                "(do the async work in a node and route on its result)",
            )
        items = chosen if isinstance(chosen, list | tuple) else [chosen]
        out: list[_Task] = []
        for item in items:
            if isinstance(item, Send):
                self._known(node, item.node)
                out.append(_Task(f"{step}.{item.node}", item.node, item.arg))
                continue
            target = item
            if branch.targets is not None:
                if item not in branch.targets:
                    raise BelugaError(
                        _OP,
                        ErrorCode.INVALID_REQUEST,
                        f"the route after {node!r} returned {item!r}, which is not one of its "
                        f"targets: {', '.join(branch.targets)}",
                    )
                target = branch.targets[item]
            if target == END or target is None:
                continue
            self._known(node, target)
            out.append(_Task(f"{step}.{target}", target))
        return out

    def _known(self, source: str, target: Any) -> None:
        if not isinstance(target, str) or target not in self.graph.nodes:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_REQUEST,
                f"the route after {source!r} returned {target!r}, which is not a node of graph "
                f"{self.graph.name!r}; nodes: {', '.join(self.graph.nodes)} (or END)",
            )


async def _drain(run: _Run, queue: asyncio.Queue[Any]) -> AsyncGenerator[GraphEvent, None]:
    done = object()

    async def drive() -> GraphResult[Any]:
        try:
            return await run.execute()
        finally:
            queue.put_nowait(done)

    task = asyncio.ensure_future(drive())
    try:
        while True:
            event = await queue.get()
            if event is done:
                break
            yield event
        result = await task
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    yield GraphInterrupted(result) if result.interrupted else GraphFinished(result)


def _answers(
    cp: Checkpoint, answer: Any, answers: Mapping[str, Any] | None, nested: bool
) -> dict[str, Any]:
    pending = [i["id"] for i in cp.interrupts]
    given: dict[str, Any] = {}
    if answers:
        if not nested:
            unknown = [k for k in answers if k not in pending]
            if unknown:
                raise BelugaError(
                    _OP,
                    ErrorCode.INVALID_REQUEST,
                    f"no interrupt {unknown[0]!r} waits in run {cp.run_id!r}; waiting: "
                    f"{', '.join(pending) or 'none'}",
                )
        given.update({k: encode_value(v, "answer") for k, v in answers.items() if k in pending})
    if answer is not _MISSING:
        if len(pending) != 1:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_REQUEST,
                f"run {cp.run_id!r} waits for {len(pending)} answers, not one: pass "
                f"answers={{id: answer}} for {', '.join(pending) or 'none'}",
            )
        given[pending[0]] = encode_value(answer, "answer")
    return given


def _interrupt_of(data: dict[str, Any]) -> Interrupt:
    return Interrupt(data["id"], data["node"], data.get("value"), data.get("run_id", ""))
