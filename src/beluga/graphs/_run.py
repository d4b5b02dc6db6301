"""One call of ``run``/``resume`` of a compiled graph: the step loop, tasks, edges, persistence.

:class:`~beluga.graphs.engine.CompiledGraph` (the public side) builds a :class:`Run` and calls
:meth:`Run.execute`; the semantics (steps, pending writes, durability, interrupts) are described
in :mod:`beluga.graphs.engine`.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.resilience import log_retries, retry_call, timeout_call
from beluga.graphs._persist import Persister
from beluga.graphs._state import encode_value
from beluga.graphs.checkpoints.base import Checkpoint, Checkpointer, checkpoint_id
from beluga.graphs.context import GraphInterrupt, NodeContext, reset_context, set_context
from beluga.graphs.types import (
    END,
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
    from beluga.graphs.engine import CompiledGraph
    from beluga.graphs.graph import Branch, Durability, NodeSpec

__all__ = ["MISSING", "Run", "Task", "answers_for", "drain", "interrupt_of"]

_OP = "graphs.run"
_log = get_logger("beluga.graphs")
MISSING: Any = object()
"""A task's argument when it takes the state, and ``resume``'s answer when none is given."""


@dataclass(slots=True)
class Task:
    id: str
    node: str
    arg: Any = MISSING  # a Send's argument; MISSING means "the state"

    def stored(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "node": self.node}
        if self.arg is not MISSING:
            out["arg"] = encode_value(self.arg, f"Send({self.node!r}) argument")
        return out


class Run:
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
        self.tasks: list[Task] = []
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
                    i.id: {
                        "id": i.id,
                        "node": i.node,
                        "value": i.value,
                        "run_id": i.run_id,
                        "task": task_id,
                    }
                    for task_id, i in interrupts
                }
                cp = await self._save("interrupted")
                return self._result("interrupted", cp, tuple(i for _, i in interrupts))
            spec = self.graph.spec
            for _task, update in updates:
                if update:
                    spec.apply(self.values, update)
            done = self.tasks
            self.step += 1
            self.writes = {}
            self.pending = {}
            next_tasks: list[Task] = []
            seen: set[str] = set()
            for task in done:
                for nxt in self.route(task.node, self.step):
                    if nxt.arg is MISSING:
                        if nxt.node in seen:
                            continue
                        seen.add(nxt.node)
                    next_tasks.append(nxt)
            self.tasks = next_tasks
            for i, task in enumerate(next_tasks):
                if task.arg is not MISSING:
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
    ) -> tuple[list[tuple[Task, dict[str, Any] | None]], list[tuple[str, Interrupt]]]:
        tasks = self.tasks
        if len(tasks) == 1 and tasks[0].id not in self.writes:
            task = tasks[0]
            try:
                return [(task, await self._task(task, False))], []
            except GraphInterrupt as exc:
                return [], [(task.id, i) for i in exc.interrupts]
        outcomes = await asyncio.gather(
            *(self._stored_or_run(t) for t in tasks), return_exceptions=True
        )
        interrupts: list[tuple[str, Interrupt]] = []
        updates: list[tuple[Task, dict[str, Any] | None]] = []
        failure: BaseException | None = None
        for task, outcome in zip(tasks, outcomes, strict=True):
            if isinstance(outcome, GraphInterrupt):
                interrupts.extend((task.id, i) for i in outcome.interrupts)
            elif isinstance(outcome, BaseException):
                failure = failure or outcome
            else:
                updates.append((task, outcome))
        if failure is not None:
            raise failure
        return updates, interrupts

    async def _stored_or_run(self, task: Task) -> dict[str, Any] | None:
        stored = self.writes.get(task.id)
        if stored is not None:
            update = stored.get("update")
            self.providers[task.id] = tuple(stored.get("providers", ()))
            return self.graph.spec.decode(update) if update else None
        return await self._task(task, True)

    async def _task(self, task: Task, parallel: bool) -> dict[str, Any] | None:
        if self.pending:
            self._still_waiting(task)
        graph = self.graph
        spec = graph.nodes[task.node]
        arg = graph.spec.view(self.values) if task.arg is MISSING else task.arg
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
                if spec.retry is not None or spec.timeout is not None:
                    out = await self._guarded(spec, arg, ctx)
                elif self.graph.executor is not None:
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

    async def _guarded(self, spec: NodeSpec, arg: Any, ctx: NodeContext) -> Any:
        """The node's call under its timeout and retry policy (each attempt from the start)."""
        executor = self.graph.executor

        async def attempt() -> Any:
            ctx._asked = 0
            if executor is not None:
                return await executor.call(spec, arg, ctx)
            out = spec.fn(arg, ctx) if spec.takes_ctx else spec.fn(arg)
            return await out if inspect.isawaitable(out) else out

        call = attempt
        if spec.timeout is not None:
            seconds = spec.timeout

            async def call() -> Any:
                return await timeout_call(
                    attempt,
                    seconds,
                    op=f"graphs.node.{spec.name}",
                    hint=f"node {spec.name!r} took too long: raise add_node(timeout=...)",
                )

        if spec.retry is None:
            return await call()
        return await retry_call(call, spec.retry, on_retry=log_retries(_log, f"node {spec.name}"))

    def _still_waiting(self, task: Task) -> None:
        """A task whose questions all wait for answers stays paused without running again."""
        waiting = [r for r in self.pending.values() if r.get("task") == task.id]
        if waiting and not any(r["id"] in self.answers for r in waiting):
            raise GraphInterrupt(tuple(interrupt_of(r) for r in waiting))

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

    def route(self, node: str, step: int) -> list[Task]:
        """The tasks that follow ``node`` now that its step is merged."""
        graph = self.graph
        out: list[Task] = []
        for target in graph.edges.get(node, ()):
            if target != END:
                out.append(Task(f"{step}.{target}", target))
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
                    out.append(Task(f"{step}.{target}", target))
        return out

    def _branch(self, node: str, branch: Branch, step: int) -> list[Task]:
        chosen = branch.route(self.graph.spec.view(self.values))
        if inspect.isawaitable(chosen):
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"the route after {node!r} is async: routes are plain functions of the state "
                "(do the async work in a node and route on its result)",
            )
        items = chosen if isinstance(chosen, list | tuple) else [chosen]
        out: list[Task] = []
        for item in items:
            if isinstance(item, Send):
                self._known(node, item.node)
                out.append(Task(f"{step}.{item.node}", item.node, item.arg))
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
            out.append(Task(f"{step}.{target}", target))
        return out

    def _known(self, source: str, target: Any) -> None:
        if not isinstance(target, str) or target not in self.graph.nodes:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_REQUEST,
                f"the route after {source!r} returned {target!r}, which is not a node of graph "
                f"{self.graph.name!r}; nodes: {', '.join(self.graph.nodes)} (or END)",
            )


async def drain(run: Run, queue: asyncio.Queue[Any]) -> AsyncGenerator[GraphEvent, None]:
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


def answers_for(
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
    if answer is not MISSING:
        if len(pending) != 1:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_REQUEST,
                f"run {cp.run_id!r} waits for {len(pending)} answers, not one: pass "
                f"answers={{id: answer}} for {', '.join(pending) or 'none'}",
            )
        given[pending[0]] = encode_value(answer, "answer")
    return given


def interrupt_of(data: dict[str, Any]) -> Interrupt:
    return Interrupt(data["id"], data["node"], data.get("value"), data.get("run_id", ""))
