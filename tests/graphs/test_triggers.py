"""Triggers: cron schedules, the in-process bus, event sources and hooks (voice sessions), and
Redis streams with consumer groups (real server at BELUGA_REDIS_URL)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

import pytest

from beluga.core.errors import BelugaError
from beluga.graphs import START, MemoryCheckpointer, StateGraph, interrupt
from beluga.graphs.triggers import (
    Event,
    EventBus,
    EventTrigger,
    RedisStreamTrigger,
    Resume,
    Schedule,
    Start,
)

REDIS = os.environ.get("BELUGA_REDIS_URL")


class S(TypedDict, total=False):
    who: str
    greeting: str
    answer: str


def hello_graph(seen: list[str] | None = None) -> Any:
    def greet(state: S) -> dict[str, Any]:
        if seen is not None:
            seen.append(state.get("who", "?"))
        return {"greeting": f"hello {state.get('who', 'nobody')}"}

    g: StateGraph[S] = StateGraph(S, name="hello")
    g.add_node("greet", greet).add_edge(START, "greet")
    return g.compile(checkpointer=MemoryCheckpointer())


def asking_graph() -> Any:
    def ask(state: S) -> dict[str, Any]:
        return {"answer": interrupt(f"{state['who']}, what next?")}

    g: StateGraph[S] = StateGraph(S, name="ask")
    g.add_node("ask", ask).add_edge(START, "ask")
    return g.compile(checkpointer=MemoryCheckpointer())


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


async def test_schedule_runs_at_the_cron_times() -> None:
    clock = FakeClock(datetime(2026, 1, 1, 8, 59, 30, tzinfo=UTC))
    schedule = Schedule(
        hello_graph(),
        "0 9-11 * * *",
        lambda when: Start({"who": when.strftime("%H:%M")}),
        max_runs=3,
        now=clock,
        sleep=clock.sleep,
    )
    await schedule.run()
    assert [r.values["greeting"] for r in schedule.results] == [
        "hello 09:00",
        "hello 10:00",
        "hello 11:00",
    ]
    assert clock.slept == [30.0, 3600.0, 3600.0]
    assert schedule.next_after(datetime(2026, 1, 1, 23, 0, tzinfo=UTC)) == datetime(
        2026, 1, 2, 9, 0, tzinfo=UTC
    )


def test_a_bad_cron_expression_is_refused() -> None:
    with pytest.raises(BelugaError, match="not a cron expression"):
        Schedule(hello_graph(), "every day at nine")


async def test_bus_runs_each_subscriber_and_survives_failures() -> None:
    seen: list[str] = []
    bus = EventBus()
    bus.on("signup", hello_graph(seen))
    bus.on("signup", hello_graph(), lambda e: Start({"who": e["who"].upper()}))
    bus.on("other", hello_graph(seen))
    results = await bus.publish("signup", {"who": "ada"})
    assert [r.values["greeting"] for r in results if r] == ["hello ada", "hello ADA"]
    assert seen == ["ada"]
    assert await bus.publish("nobody-listens", {}) == []
    failed = await bus.publish("signup", "not a mapping")
    assert failed == [None, None] and bus.failures("signup") == 2


async def test_event_trigger_from_an_async_iterable_starts_and_resumes() -> None:
    graph = asking_graph()
    run_ids: list[str] = []

    def on_start(event: Event) -> Start:
        return Start({"who": event.payload}, run_id=f"call-{event.payload}")

    def on_turn(event: Event) -> Resume:
        return Resume(f"call-{event.payload['who']}", event.payload["text"])

    async def session_events() -> AsyncIterator[Any]:
        yield Event("session_start", "ada")
        yield Event("vad_speech", None)  # not mapped: ignored
        yield Event("user_turn", {"who": "ada", "text": "book a table"})

    trigger = EventTrigger(
        graph, {"session_start": on_start, "user_turn": on_turn}, source=session_events()
    )
    await trigger.run()
    assert trigger.ignored == 1
    assert trigger.results("session_start")[0].interrupted
    done = trigger.results("user_turn")[0]
    assert done.status == "done" and done.values["answer"] == "book a table"
    run_ids.append(done.run_id)
    assert run_ids == ["call-ada"]


async def test_event_trigger_hook_is_a_callback_for_voice_session_hooks() -> None:
    seen: list[str] = []
    trigger = EventTrigger(
        hello_graph(seen), {"session_end": lambda e: Start({"who": e.payload["caller"]})}
    )
    hook = trigger.hook()
    serving = asyncio.create_task(trigger.run())
    hook("session_start", {"caller": "x"})  # not mapped
    hook("session_end", {"caller": "grace"})
    hook("session_end", {})  # KeyError in the action: counted, the trigger goes on
    hook("session_end", {"caller": "linus"})
    trigger.close()
    await asyncio.wait_for(serving, 5)
    assert seen == ["grace", "linus"]
    assert trigger.failures == 1 and trigger.ignored == 1


@pytest.fixture
async def redis_stream() -> AsyncIterator[tuple[str, Any]]:
    if not REDIS:
        pytest.skip("BELUGA_REDIS_URL is not set (make test starts Redis and sets it)")
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS)
    stream = f"test:graph-stream:{uuid.uuid4().hex}"
    try:
        yield stream, client
    finally:
        await client.delete(stream)
        await client.aclose()


async def _serve_until(trigger: RedisStreamTrigger, acked: int) -> None:
    serving = asyncio.create_task(trigger.run())
    try:
        for _ in range(200):
            if trigger.acked >= acked or trigger.failures:
                break
            await asyncio.sleep(0.05)
    finally:
        trigger.stop()
        await asyncio.wait_for(serving, 10)


async def test_redis_stream_entries_start_runs_and_are_acknowledged(
    redis_stream: tuple[str, Any],
) -> None:
    stream, client = redis_stream
    seen: list[str] = []
    graph = hello_graph(seen)
    first = await client.xadd(stream, {"who": "ada"})
    await client.xadd(stream, {"json": '{"who": "grace"}'})
    assert REDIS is not None
    async with RedisStreamTrigger(
        REDIS, stream, graph, group="g1", consumer="c1", block_ms=100
    ) as trigger:
        await _serve_until(trigger, 2)
    assert seen == ["ada", "grace"]
    assert trigger.results[0].run_id == f"{stream}:{first.decode()}"
    pending = await client.xpending(stream, "g1")
    assert pending["pending"] == 0


async def test_redis_entry_delivered_again_after_a_crash_resumes_its_run(
    redis_stream: tuple[str, Any],
) -> None:
    stream, client = redis_stream
    calls: dict[str, int] = {}
    broken = {"on": True}

    def first(state: S) -> dict[str, Any]:
        calls["first"] = calls.get("first", 0) + 1
        return {"greeting": "half"}

    def second(state: S) -> dict[str, Any]:
        calls["second"] = calls.get("second", 0) + 1
        if broken["on"]:
            raise RuntimeError("the worker died here")
        return {"answer": "done"}

    g: StateGraph[S] = StateGraph(S, name="two")
    g.add_node("first", first).add_node("second", second)
    g.add_edge(START, "first").add_edge("first", "second")
    graph = g.compile(checkpointer=MemoryCheckpointer())
    entry = (await client.xadd(stream, {"who": "ada"})).decode()
    assert REDIS is not None
    async with RedisStreamTrigger(REDIS, stream, graph, group="g2", block_ms=100) as crashed:
        await _serve_until(crashed, 1)  # the run fails: the entry stays pending
    assert crashed.acked == 0 and crashed.failures == 1
    broken["on"] = False
    async with RedisStreamTrigger(REDIS, stream, graph, group="g2", block_ms=100) as again:
        await _serve_until(again, 1)
    assert again.acked == 1
    assert calls == {"first": 1, "second": 2}  # resumed: "first" did not run again
    assert (await graph.state(f"{stream}:{entry}")).values["answer"] == "done"
