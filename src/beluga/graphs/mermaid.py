"""A graph as a Mermaid flowchart: nodes, edges, conditional edges (dotted), joins and roles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from beluga.graphs.types import END, START

if TYPE_CHECKING:
    from beluga.graphs.engine import CompiledGraph

__all__ = ["draw"]


def draw(graph: CompiledGraph[Any]) -> str:
    lines = ["flowchart TD", f"    {_id(START)}([start])", f"    {_id(END)}([end])"]
    for name, spec in graph.nodes.items():
        label = name if spec.role is None else f"{name}<br/><small>role: {spec.role}</small>"
        if spec.kind == "graph":
            lines.append(f"    {_id(name)}[[{label}]]")
        else:
            lines.append(f'    {_id(name)}["{label}"]')
    for source, targets in graph.edges.items():
        for target in targets:
            lines.append(f"    {_id(source)} --> {_id(target)}")
    for source, branches in graph.branches.items():
        for branch in branches:
            if branch.targets is None:
                lines.append(f"    {_id(source)} -.->|route| {_id(source)}_route{{route}}")
                continue
            for value, target in branch.targets.items():
                edge = f"|{value}|" if value != target else ""
                lines.append(f"    {_id(source)} -.->{edge} {_id(target)}")
    for sources, target in graph.joins:
        for source in sources:
            lines.append(f"    {_id(source)} ==> {_id(target)}")
    return "\n".join(lines) + "\n"


def _id(name: str) -> str:
    """A Mermaid-safe node id (``end`` is a keyword; start/end get their own ids)."""
    if name == START:
        return "__start"
    if name == END:
        return "__end"
    return f"n_{name.replace('-', '_')}"
