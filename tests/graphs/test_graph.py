"""Node options of the builder: retries and timeouts, with the engine's interrupt bookkeeping."""

from __future__ import annotations

import asyncio
from typing import Any, TypedDict

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.resilience import RetryPolicy
from beluga.graphs import START, MemoryCheckpointer, StateGraph, interrupt

FAST = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)


class S(TypedDict, total=False):
    n: int
    answer: str


def flaky(fails: int, error: BelugaError) -> tuple[Any, list[int]]:
    attempts: list[int] = []

    async def node(state: S) -> dict[str, Any]:
        attempts.append(1)
        if len(attempts) <= fails:
            raise error
        return {"n": len(attempts)}

    return node, attempts


def one(node: Any, **options: Any) -> Any:
    g: StateGraph[S] = StateGraph(S)
    g.add_node("n", node, **options).add_edge(START, "n")
    return g.compile(checkpointer=MemoryCheckpointer())


async def test_retry_runs_a_node_again_after_retryable_errors() -> None:
    down = BelugaError("test", ErrorCode.PROVIDER_UNAVAILABLE, "down", retryable=True)
    node, attempts = flaky(2, down)
    assert (await one(node, retry=FAST).run({})).values == {"n": 3}
    assert len(attempts) == 3

    node, attempts = flaky(5, down)
    with pytest.raises(BelugaError, match="down"):
        await one(node, retry=FAST).run({})
    assert len(attempts) == 3  # max_attempts counts the first try

    bad = BelugaError("test", ErrorCode.INVALID_REQUEST, "bad input")
    node, attempts = flaky(1, bad)
    with pytest.raises(BelugaError, match="bad input"):
        await one(node, retry=FAST).run({})
    assert len(attempts) == 1  # not retryable: not retried


async def test_timeout_fails_the_attempt_naming_the_node_and_retry_takes_over() -> None:
    calls: list[int] = []

    async def slow_once(state: S) -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 1:
            await asyncio.sleep(5)
        return {"n": 1}

    with pytest.raises(BelugaError) as info:
        await one(slow_once, timeout=0.05).run({})
    assert info.value.code is ErrorCode.TIMEOUT and "node 'n'" in info.value.message
    calls.clear()
    assert (await one(slow_once, timeout=0.05, retry=FAST).run({})).values == {"n": 1}
    assert len(calls) == 2
    with pytest.raises(BelugaError, match="timeout=0"):
        StateGraph(S).add_node("x", slow_once, timeout=0)


async def test_an_interrupt_inside_a_retried_node_keeps_its_index() -> None:
    down = BelugaError("test", ErrorCode.PROVIDER_UNAVAILABLE, "down", retryable=True)
    tries: list[int] = []

    def ask(state: S) -> dict[str, Any]:
        answer = interrupt("name?")
        tries.append(1)
        if len(tries) == 1:
            raise down
        return {"answer": answer}

    graph = one(ask, retry=FAST)
    paused = await graph.run({})
    done = await graph.resume(paused.run_id, "ada")
    assert done.values["answer"] == "ada" and len(tries) == 2  # the retry got the answer too
