"""Building a graph: nodes, edges, conditional edges, joins; ``compile()`` checks and freezes it.

A node is an async (or plain) function of the state returning an update (a dict of the fields
it changes, or None), optionally taking a second parameter, its
:class:`~beluga.graphs.NodeContext`; an :class:`~beluga.agents.Agent` (see
:func:`~beluga.graphs.agent_node` for the fields it reads and writes); or a compiled graph (a
sub-graph sharing the fields of the same name). ``role=`` names the ``llm.roles`` role whose
model ``ctx.model`` gives the node. Edges: ``add_edge(a, b)`` runs ``b`` after ``a``;
``add_edge([a, b], c)`` runs ``c`` once both ``a`` and ``b`` have run (a join);
``add_conditional_edges(a, route)`` runs what ``route(state)`` names: a node, several (they run
in parallel), :data:`END`, or :class:`Send` items (the same node once per item: map over a list).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from beluga.core.errors import BelugaError, ErrorCode
from beluga.graphs._state import StateSpec
from beluga.graphs.types import END, START

if TYPE_CHECKING:
    from beluga.graphs.checkpoints.base import Checkpointer
    from beluga.graphs.engine import CompiledGraph, Executor
    from beluga.llms.router import Router

__all__ = ["Branch", "Durability", "NodeSpec", "StateGraph"]

S = TypeVar("S")
Durability = Literal["sync", "async", "exit"]
_OP = "graphs.build"


@dataclass(slots=True)
class NodeSpec:
    name: str
    fn: Callable[..., Any]
    takes_ctx: bool
    role: str | None
    kind: str = "function"
    subgraph: CompiledGraph[Any] | None = None


@dataclass(slots=True)
class Branch:
    route: Callable[..., Any]
    targets: dict[str, str] | None


class StateGraph(Generic[S]):
    """A graph under construction over the state schema ``state``."""

    def __init__(self, state: type[S] | None = None, *, name: str = "graph") -> None:
        _check_name(name, "graph")
        self.name = name
        self.spec = StateSpec(state)
        self.nodes: dict[str, NodeSpec] = {}
        self.edges: dict[str, list[str]] = {}
        self.branches: dict[str, list[Branch]] = {}
        self.joins: list[tuple[tuple[str, ...], str]] = []

    def add_node(
        self,
        name: str,
        node: Any = None,
        *,
        role: str | None = None,
    ) -> StateGraph[S]:
        """Add ``node`` (a function, an Agent or a compiled graph) as ``name``.

        ``add_node(fn)`` names the node after the function.
        """
        if node is None and callable(name):
            node, name = name, getattr(name, "__name__", "node")
        _check_name(name, "node")
        if name in self.nodes:
            raise _error(f"graph {self.name!r} already has a node {name!r}; name nodes uniquely")
        self.nodes[name] = _node_spec(name, node, role)
        return self

    def add_edge(self, source: str | Sequence[str], target: str) -> StateGraph[S]:
        """Run ``target`` after ``source`` (after all of them, for a list: a join)."""
        if isinstance(source, str):
            self.edges.setdefault(source, []).append(target)
        else:
            sources = tuple(source)
            if not sources:
                raise _error("add_edge([...], target) needs at least one source")
            self.joins.append((sources, target))
        return self

    def add_conditional_edges(
        self,
        source: str,
        route: Callable[..., Any],
        targets: Mapping[str, str] | Sequence[str] | None = None,
    ) -> StateGraph[S]:
        """After ``source``, run what ``route(state)`` returns (see the module docstring).

        ``targets`` lists the possible destinations (or maps ``route``'s return values to
        nodes): a value outside it is an error, and drawings show each possible edge.
        """
        if not callable(route):
            raise _error(f"the route of {source!r}'s conditional edges must be callable")
        mapping: dict[str, str] | None
        if targets is None:
            mapping = None
        elif isinstance(targets, Mapping):
            mapping = {str(k): v for k, v in targets.items()}
        else:
            mapping = {t: t for t in targets}
        self.branches.setdefault(source, []).append(Branch(route, mapping))
        return self

    def set_entry_point(self, node: str) -> StateGraph[S]:
        return self.add_edge(START, node)

    def compile(
        self,
        *,
        checkpointer: Checkpointer | None = None,
        router: Router | None = None,
        step_limit: int = 25,
        durability: Durability = "sync",
        executor: Executor | None = None,
    ) -> CompiledGraph[S]:
        """Check the graph and make it runnable.

        ``checkpointer`` makes runs durable and resumable (interrupts need one);
        ``durability`` says when checkpoints are written (see ``docs/readme/graphs.md``).
        ``step_limit`` bounds the steps of one ``run``/``resume`` call, so a cycle whose
        condition never reaches END fails with an error naming the limit.
        """
        from beluga.graphs.engine import CompiledGraph

        self._check()
        if not isinstance(step_limit, int) or step_limit < 1:
            raise _error(f"step_limit={step_limit!r} must be a whole number >= 1")
        if durability not in ("sync", "async", "exit"):
            raise _error(f"durability={durability!r} must be 'sync', 'async' or 'exit'")
        return CompiledGraph(
            self,
            checkpointer=checkpointer,
            router=router,
            step_limit=step_limit,
            durability=durability,
            executor=executor,
        )

    def _check(self) -> None:
        known = set(self.nodes)
        if not self.edges.get(START) and not self.branches.get(START):
            raise _error(
                f"graph {self.name!r} has no entry: add_edge(START, 'first_node') "
                "(or set_entry_point)"
            )
        for source, targets in self.edges.items():
            self._check_source(source, known)
            for target in targets:
                self._check_target(source, target, known)
        for source, branches in self.branches.items():
            self._check_source(source, known)
            for branch in branches:
                for target in (branch.targets or {}).values():
                    self._check_target(source, target, known)
        for sources, target in self.joins:
            for source in sources:
                self._check_source(source, known)
            self._check_target(" + ".join(sources), target, known)

    def _check_source(self, source: str, known: set[str]) -> None:
        if source != START and source not in known:
            raise _error(
                f"an edge of graph {self.name!r} leaves {source!r}, which is not a node; nodes: "
                f"{', '.join(sorted(known)) or 'none'}"
            )

    def _check_target(self, source: str, target: str, known: set[str]) -> None:
        if target != END and target not in known:
            shown = "START" if source == START else source
            raise _error(
                f"the edge {shown} -> {target} of graph {self.name!r} goes to no node; nodes: "
                f"{', '.join(sorted(known)) or 'none'} (or END)"
            )


def _node_spec(name: str, node: Any, role: str | None) -> NodeSpec:
    from beluga.graphs.engine import CompiledGraph

    if isinstance(node, StateGraph):
        node = node.compile()
    if isinstance(node, CompiledGraph):
        return NodeSpec(name, node.as_node_function(), True, role, "graph", node)
    from beluga.agents import Agent

    if isinstance(node, Agent):
        from beluga.graphs.nodes import agent_node

        return NodeSpec(name, agent_node(node), True, role, "agent")
    if not callable(node):
        raise _error(
            f"node {name!r} is a {type(node).__name__}: a node is a function of the state, an "
            "Agent or a compiled graph"
        )
    return NodeSpec(name, node, _takes_context(node), role)


def _takes_context(fn: Callable[..., Any]) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return True
    if not 1 <= len(positional) <= 2:
        raise _error(
            f"node function {getattr(fn, '__name__', fn)!r} must take the state, or the state "
            "and its NodeContext"
        )
    return len(positional) == 2


def _check_name(name: object, what: str) -> None:
    if (
        not isinstance(name, str)
        or not name
        or name in (START, END)
        or not name.replace("-", "_").isidentifier()
    ):
        raise _error(f"{what} name {name!r} must be letters, digits, '_' or '-'")


def _error(message: str) -> BelugaError:
    return BelugaError(_OP, ErrorCode.INVALID_CONFIG, message)
