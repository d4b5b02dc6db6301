"""Mermaid drawings: every node, edge kind, role and sub-graph shows."""

from __future__ import annotations

from typing import Any, TypedDict

from beluga.graphs import END, START, StateGraph


class S(TypedDict, total=False):
    x: int


def test_drawing_shows_edges_routes_joins_roles_and_subgraphs() -> None:
    inner: StateGraph[S] = StateGraph(S, name="inner")
    inner.add_node("i", lambda s: None).add_edge(START, "i")
    g: StateGraph[S] = StateGraph(S)
    noop: Any = lambda s: None  # noqa: E731
    g.add_node("plan", noop, role="planner").add_node("a", noop).add_node("b", noop)
    g.add_node("end-node", noop).add_node("sub", inner).add_node("free", noop)
    g.add_edge(START, "plan")
    g.add_conditional_edges("plan", lambda s: "go", {"go": "a", "skip": END})
    g.add_edge("plan", "b").add_edge(["a", "b"], "sub").add_edge("sub", "end-node")
    g.add_conditional_edges("end-node", lambda s: END)
    text = g.compile().draw_mermaid()
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    assert '    n_plan["plan<br/><small>role: planner</small>"]' in lines
    assert "    n_sub[[sub]]" in lines  # a sub-graph is a subroutine shape
    assert "    __start --> n_plan" in lines
    assert "    n_plan -.->|go| n_a" in lines and "    n_plan -.->|skip| __end" in lines
    assert "    n_a ==> n_sub" in lines and "    n_b ==> n_sub" in lines  # the join
    assert "    n_sub --> n_end_node" in lines
    assert "    n_end_node -.->|route| n_end_node_route{route}" in lines
    assert '    n_free["free"]' in lines
