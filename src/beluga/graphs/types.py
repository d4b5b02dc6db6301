"""The small types of a graph run: fan-out, interrupts, stream events and the result.

Events are slotted dataclasses (a stream yields one per node and per token), in this order for
each step: :class:`NodeStarted` for each task, the node's own :class:`NodeOutput` events (the
text deltas and tool events of an agent inside it), :class:`NodeFinished` with its update, then
:class:`StepSaved` once the step's checkpoint is written. A stream ends with one
:class:`GraphFinished` (or :class:`GraphInterrupted` when a node waits for a human).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeAlias, TypeVar

__all__ = [
    "END",
    "START",
    "GraphEvent",
    "GraphFinished",
    "GraphInterrupted",
    "GraphResult",
    "Interrupt",
    "NodeFinished",
    "NodeOutput",
    "NodeStarted",
    "Send",
    "StepSaved",
]

START = "__start__"
"""The edge source that names a graph's entry node(s)."""
END = "__end__"
"""The edge target that ends a branch (a run ends when no branch has a next node)."""

S = TypeVar("S")


@dataclass(slots=True, frozen=True)
class Send:
    """Run ``node`` once with ``arg`` as its input instead of the state (fan-out: a
    conditional edge returns one Send per item of a list; the branches run concurrently and
    their updates merge through the reducers before the next step)."""

    node: str
    arg: Any


@dataclass(slots=True, frozen=True)
class Interrupt:
    """A node waiting for a human: ``value`` is what it asked (JSON values), ``id`` is what
    :meth:`~beluga.graphs.CompiledGraph.resume` answers (``answers={id: ...}``)."""

    id: str
    node: str
    value: Any
    run_id: str


@dataclass(slots=True, frozen=True)
class NodeStarted:
    node: str
    task_id: str
    step: int
    run_id: str


@dataclass(slots=True, frozen=True)
class NodeOutput:
    """An event a node emitted while running (an agent's TextDelta, tool call, ...)."""

    node: str
    task_id: str
    event: Any
    run_id: str


@dataclass(slots=True, frozen=True)
class NodeFinished:
    node: str
    task_id: str
    step: int
    update: dict[str, Any] | None
    run_id: str
    providers: tuple[str, ...] = ()
    """The providers the node's model calls went to, in order (fallbacks included)."""


@dataclass(slots=True, frozen=True)
class StepSaved:
    step: int
    checkpoint_id: str
    run_id: str


@dataclass(slots=True)
class GraphResult(Generic[S]):
    """The end of a run, or its pause for a human.

    ``state`` is the state as the schema's type; ``values`` the same as a dict. ``status`` is
    ``"done"`` or ``"interrupted"`` (then ``interrupts`` lists what waits for an answer and
    ``resume(run_id, ...)`` goes on); :meth:`~beluga.graphs.CompiledGraph.state` of a run that
    crashed or is still going says ``"running"``.
    """

    run_id: str
    state: S
    values: dict[str, Any]
    status: Literal["done", "interrupted", "running"]
    steps: int
    checkpoint_id: str | None = None
    interrupts: tuple[Interrupt, ...] = ()
    providers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Task id -> the providers its model calls went to (nodes that name a role)."""

    @property
    def interrupted(self) -> bool:
        return self.status == "interrupted"


@dataclass(slots=True, frozen=True)
class GraphFinished:
    result: GraphResult[Any]


@dataclass(slots=True, frozen=True)
class GraphInterrupted:
    result: GraphResult[Any]


GraphEvent: TypeAlias = (
    NodeStarted | NodeOutput | NodeFinished | StepSaved | GraphFinished | GraphInterrupted
)
