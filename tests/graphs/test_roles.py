"""Role routing per step: clarify -> plan -> code -> review, each node on its role's provider,
fallback when a primary fails, and ten concurrent runs that do not mix their steps."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from typing import Any, TypedDict

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.graphs import END, START, MemoryCheckpointer, NodeContext, NodeFinished, StateGraph
from beluga.llms.router import Role, Router
from beluga.llms.testing import AgentInfo, FunctionModel
from beluga.schema import Message


class Work(TypedDict, total=False):
    task: str
    question: str
    plan: str
    code: str
    review: str


def provider(name: str) -> FunctionModel:
    async def answer(messages: Sequence[Message], info: AgentInfo) -> str:
        await asyncio.sleep(random.uniform(0, 0.01))  # interleave the concurrent runs
        return f"{name}({messages[-1].text})"

    return FunctionModel(answer, model=f"{name}-model")


def broken() -> FunctionModel:
    def fail(messages: Sequence[Message], info: AgentInfo) -> str:
        raise BelugaError("test", ErrorCode.PROVIDER_UNAVAILABLE, "down", retryable=True)

    return FunctionModel(fail, model="broken-model")


def make_router() -> Router:
    return Router(
        {"alpha": provider("alpha"), "beta": provider("beta"), "down": broken()},
        roles={
            "clarifier": Role("alpha"),
            "planner": Role("down", fallbacks=("beta",)),
            "coder": Role("beta"),
            "reviewer": Role("alpha", fallbacks=("beta",)),
        },
        default="alpha",
    )


def workflow(router: Router) -> Any:
    def stage(field: str, source: str) -> Any:
        async def node(state: Work, ctx: NodeContext) -> dict[str, Any]:
            reply = await ctx.model.generate(f"{ctx.node}:{state[source]}")  # type: ignore[literal-required]
            return {field: reply.message.text}

        return node

    g: StateGraph[Work] = StateGraph(Work, name="dev")
    g.add_node("clarify", stage("question", "task"), role="clarifier")
    g.add_node("plan", stage("plan", "question"), role="planner")
    g.add_node("code", stage("code", "plan"), role="coder")
    g.add_node("review", stage("review", "code"), role="reviewer")
    g.add_edge(START, "clarify").add_edge("clarify", "plan").add_edge("plan", "code")
    g.add_edge("code", "review").add_edge("review", END)
    return g.compile(router=router, checkpointer=MemoryCheckpointer())


async def test_ten_concurrent_four_stage_runs_use_their_roles_with_fallback(
    caplog: pytest.LogCaptureFixture, telemetry: Any
) -> None:
    caplog.set_level(logging.INFO, logger="beluga.graphs")
    async with make_router() as router:
        graph = workflow(router)
        results = await asyncio.gather(*(graph.run({"task": f"task{i}"}) for i in range(10)))
    for i, result in enumerate(results):
        assert result.values["review"] == (
            f"alpha(review:beta(code:beta(plan:alpha(clarify:task{i}))))"
        )
        last = {task.split(".")[1]: trail[-1] for task, trail in result.providers.items()}
        assert last == {"clarify": "alpha", "plan": "beta", "code": "beta", "review": "alpha"}
    plan_trails = [r.providers["1.plan"] for r in results]
    assert ("down", "beta") in plan_trails  # the primary failed and the fallback answered
    logged = [r.getMessage() for r in caplog.records if r.name == "beluga.graphs"]
    assert sum("node=plan role=planner provider=beta" in m for m in logged) == 10
    spans = {
        s.attributes["beluga.graph.node"]: s.attributes.get("beluga.graph.providers")
        for s in telemetry.finished_spans()
        if s.name.startswith("graph_node ")
    }
    assert spans["code"] == "beta" and spans["clarify"] == "alpha"


async def test_stream_names_the_provider_of_each_step() -> None:
    async with make_router() as router:
        graph = workflow(router)
        events = [e async for e in graph.stream({"task": "t"})]
    finished = {e.node: e.providers[-1] for e in events if isinstance(e, NodeFinished)}
    assert finished == {"clarify": "alpha", "plan": "beta", "code": "beta", "review": "alpha"}


async def test_a_node_asking_for_its_model_without_a_router_is_told_how() -> None:
    async def node(state: Work, ctx: NodeContext) -> None:
        ctx.model  # noqa: B018

    g: StateGraph[Work] = StateGraph(Work)
    g.add_node("n", node, role="coder").add_edge(START, "n")
    with pytest.raises(BelugaError, match="has no router"):
        await g.compile().run({"task": "x"})
