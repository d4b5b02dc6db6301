"""What a running node can reach: its run, its role's model, the stream, and ``interrupt``.

:func:`interrupt` pauses the run for a human. The first time a node calls it, it raises
:class:`GraphInterrupt`: the engine records the question, keeps the updates of the step's other
tasks, saves a checkpoint and returns an interrupted result. ``resume(run_id, answer)`` then
runs the interrupted node again **from its start**: that node's code before the ``interrupt``
call runs a second time (keep side effects after it, or make them idempotent), and this time the
call returns the answer. A node that calls ``interrupt`` several times gets the answers in
order, one resume each. No other node re-runs: completed nodes and the finished branches of the
same parallel step keep their stored updates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.graphs._state import decode_value
from beluga.graphs.types import Interrupt

if TYPE_CHECKING:
    from beluga.llms import ChatModel
    from beluga.llms.router import Router

__all__ = [
    "GraphInterrupt",
    "NodeContext",
    "current_context",
    "interrupt",
    "reset_context",
    "set_context",
]

_current: ContextVar[NodeContext | None] = ContextVar("beluga_graph_node", default=None)


class GraphInterrupt(Exception):
    """Raised by :func:`interrupt` (and by a sub-graph that paused) to stop the node."""

    def __init__(self, interrupts: tuple[Interrupt, ...]) -> None:
        super().__init__(f"waiting for {len(interrupts)} answer(s)")
        self.interrupts = interrupts


@dataclass(slots=True)
class NodeContext:
    """One task of one step. A node that takes a second parameter receives this."""

    run_id: str
    node: str
    task_id: str
    step: int
    role: str | None = None
    router: Router | None = None
    emit: Callable[[Any], None] | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    """Every answer the run was given, by interrupt id (a sub-graph picks its own)."""
    providers: list[str] = field(default_factory=list)
    deps: Any = None
    checkpointer: Any = None
    durability: str = "sync"
    reducers: Mapping[str, Any] = field(default_factory=dict)
    """The reducers of the graph's state fields, by field (what a sub-graph's update meets)."""
    pending: dict[str, Any] = field(default_factory=dict)
    """What the run's waiting interrupts asked, by id (so a node can pick up where it paused)."""
    _asked: int = 0

    @property
    def model(self) -> ChatModel:
        """The model of this node's role, through the graph's router (with its fallbacks)."""
        if self.router is None:
            raise BelugaError(
                "graphs.node",
                ErrorCode.INVALID_CONFIG,
                f"node {self.node!r} asked for its model, but the graph has no router: pass "
                "router=Router(...) to compile() (or run it from beluga.yaml, whose llm: "
                "section gives one)",
            )
        return self.router.for_role(self.role)

    def interrupt_id(self, index: int) -> str:
        return f"{self.run_id}:{self.task_id}:{index}"

    def send(self, event: Any) -> None:
        """Stream ``event`` to whoever streams the graph (nothing when nobody does)."""
        if self.emit is not None:
            self.emit(event)


def current_context() -> NodeContext:
    """The context of the node running now; outside a node, an error saying so."""
    ctx = _current.get()
    if ctx is None:
        raise BelugaError(
            "graphs.interrupt",
            ErrorCode.INVALID_REQUEST,
            "interrupt() and current_context() work only inside a node of a running graph",
        )
    return ctx


def interrupt(value: Any = None) -> Any:
    """Pause the run until a human answers ``value`` (JSON values); returns the answer.

    See the module docstring for what re-runs on resume.
    """
    ctx = current_context()
    index = ctx._asked
    ctx._asked += 1
    key = ctx.interrupt_id(index)
    if key in ctx.answers:
        return decode_value(ctx.answers[key])
    raise GraphInterrupt((Interrupt(key, ctx.node, value, ctx.run_id),))


def set_context(ctx: NodeContext | None) -> Any:
    return _current.set(ctx)


def reset_context(token: Any) -> None:
    _current.reset(token)
