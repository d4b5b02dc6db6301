"""Graph parts that the config and CLI tests name by import path."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from beluga.graphs import END, START, StateGraph, interrupt


class Ticket(TypedDict, total=False):
    text: str
    kind: str
    steps: Annotated[list[str], operator.add]
    reply: str


def classify(state: Ticket) -> dict[str, Any]:
    kind = "bug" if "crash" in state["text"] else "question"
    return {"kind": kind, "steps": ["classify"]}


def route(state: Ticket) -> str:
    return "triage" if state["kind"] == "bug" else "answer"


def triage(state: Ticket) -> dict[str, Any]:
    return {"steps": ["triage"], "reply": f"severity {interrupt('severity?')}"}


def answer(state: Ticket) -> dict[str, Any]:
    return {"steps": ["answer"], "reply": "see the docs"}


def support() -> StateGraph[Ticket]:
    g: StateGraph[Ticket] = StateGraph(Ticket, name="support")
    g.add_node("classify", classify).add_node("answer", answer)
    g.add_edge(START, "classify").add_edge("classify", "answer").add_edge("answer", END)
    return g


not_a_graph = 42
