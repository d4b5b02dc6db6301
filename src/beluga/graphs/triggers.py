"""Triggers: what starts or resumes graph runs — a schedule, events, voice-session hooks.

Every trigger turns what happened into an action with a function you give (``action``):
:class:`Start` (a new run with this input), :class:`Resume` (answer or continue a run) or
``None`` (ignore it); a plain mapping means ``Start(mapping)``. ``run()`` serves until the
source ends or the task is cancelled; a run that fails is logged and counted
(``trigger.failures``), and the trigger goes on with the next event.

- :class:`Schedule`: cron expressions (five fields, or six with seconds) through ``croniter``
  (``pip install 'beluga-ai[graphs]'``), in UTC unless given a timezone.
- :class:`EventBus`: an in-process bus; ``bus.on(topic, graph, action)`` then
  ``await bus.publish(topic, event)`` runs the graphs subscribed to the topic.
- :class:`RedisStreamTrigger`: a Redis stream read by a consumer group; each entry is
  acknowledged once its run has returned (its checkpoint stored), and the run id is derived from
  the entry id, so an entry delivered again after a crash resumes its run instead of starting a
  second one.
- :class:`EventTrigger`: any async iterable of events, or the callback :meth:`EventTrigger.hook`
  (``hook(name, payload)``), which is how a voice session's hooks (session start, user turn,
  end of call) plug in without the voice layer knowing about graphs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, TypeAlias

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import display_url, register_url
from beluga.core.registry import require
from beluga.graphs.engine import NO_ANSWER, CompiledGraph
from beluga.graphs.types import GraphResult
from beluga.observability.logs import get_logger

__all__ = [
    "Action",
    "ActionResult",
    "Event",
    "EventBus",
    "EventTrigger",
    "RedisStreamTrigger",
    "Resume",
    "Schedule",
    "Start",
    "dispatch",
]

_log = get_logger("beluga.graphs.triggers")


@dataclass(slots=True, frozen=True)
class Start:
    """Start a run of the trigger's graph from ``input``."""

    input: Mapping[str, Any]
    run_id: str | None = None


@dataclass(slots=True, frozen=True)
class Resume:
    """Resume run ``run_id`` (with ``answer`` for its pending interrupt, or ``answers``)."""

    run_id: str
    answer: Any = NO_ANSWER
    answers: Mapping[str, Any] | None = None


@dataclass(slots=True, frozen=True)
class Event:
    """A named event with its payload (what :class:`EventTrigger` and the bus carry)."""

    name: str
    payload: Any = None
    id: str | None = None


ActionResult: TypeAlias = Start | Resume | Mapping[str, Any] | None
Action: TypeAlias = Callable[[Any], ActionResult | Awaitable[ActionResult]]
"""What a trigger does with an event: a Start, a Resume, a mapping (start with it) or None."""


async def dispatch(graph: CompiledGraph[Any], action: ActionResult) -> GraphResult[Any] | None:
    """Carry out one action on ``graph``."""
    if action is None:
        return None
    if isinstance(action, Resume):
        return await graph.resume(action.run_id, action.answer, answers=action.answers)
    if isinstance(action, Start):
        return await graph.run(action.input, run_id=action.run_id)
    if isinstance(action, Mapping):
        return await graph.run(action)
    raise BelugaError(
        "graphs.triggers",
        ErrorCode.INVALID_REQUEST,
        f"a trigger action returned a {type(action).__name__}: return Start(...), "
        "Resume(...), a mapping (the input of a new run) or None",
    )


@dataclass(slots=True)
class _Handler:
    graph: CompiledGraph[Any]
    action: Action
    results: list[GraphResult[Any]] = field(default_factory=list)
    failures: int = 0
    keep: int = 100

    async def handle(self, event: Any) -> tuple[bool, GraphResult[Any] | None]:
        """Run the action for ``event``: (False, None) when it failed (logged and counted)."""
        try:
            chosen = self.action(event)
            if isinstance(chosen, Awaitable):
                chosen = await chosen
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return self._failed(exc)
        return await self.apply(chosen)

    async def apply(self, chosen: ActionResult) -> tuple[bool, GraphResult[Any] | None]:
        try:
            result = await dispatch(self.graph, chosen)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return self._failed(exc)
        if result is not None:
            self.results.append(result)
            del self.results[: -self.keep]
        return True, result

    def _failed(self, exc: Exception) -> tuple[bool, None]:
        self.failures += 1
        _log.warning("trigger of graph %s failed: %s", self.graph.name, exc)
        return False, None


class Schedule:
    """Run ``graph`` at the times of ``cron``; ``action(when)`` gives each run's input
    (default ``Start({})``). ``max_runs`` stops after that many runs (None: forever)."""

    def __init__(
        self,
        graph: CompiledGraph[Any],
        cron: str,
        action: Action | None = None,
        *,
        tz: tzinfo = UTC,
        max_runs: int | None = None,
        now: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        croniter: Any = require("croniter", extra="graphs")
        if not isinstance(cron, str) or not croniter.croniter.is_valid(cron):
            raise BelugaError(
                "graphs.schedule",
                ErrorCode.INVALID_CONFIG,
                f"{cron!r} is not a cron expression: give five fields (minute hour day month "
                "weekday, e.g. '*/15 * * * *') or six with seconds first",
            )
        self.cron = cron
        self._croniter = croniter.croniter
        self._handler = _Handler(graph, action or (lambda when: Start({})))
        self.tz = tz
        self.max_runs = max_runs
        self._now = now or (lambda: datetime.now(tz))
        self._sleep = sleep

    @property
    def results(self) -> list[GraphResult[Any]]:
        return self._handler.results

    @property
    def failures(self) -> int:
        return self._handler.failures

    def next_after(self, moment: datetime) -> datetime:
        """The first scheduled time after ``moment``."""
        nxt: datetime = self._croniter(self.cron, moment).get_next(datetime)
        return nxt

    async def run(self) -> None:
        done = 0
        moment = self._now()
        while self.max_runs is None or done < self.max_runs:
            when = self.next_after(moment)
            delay = (when - self._now()).total_seconds()
            if delay > 0:
                await self._sleep(delay)
            await self._handler.handle(when)
            done += 1
            moment = when


class EventBus:
    """Topics to graphs in this process: ``on`` subscribes, ``publish`` runs them."""

    def __init__(self) -> None:
        self._topics: dict[str, list[_Handler]] = {}

    def on(self, topic: str, graph: CompiledGraph[Any], action: Action | None = None) -> None:
        """Start (or resume) ``graph`` on each event of ``topic``; by default the event
        (a mapping) is the new run's input."""
        self._topics.setdefault(topic, []).append(_Handler(graph, action or _as_input))

    async def publish(self, topic: str, event: Any = None) -> list[GraphResult[Any] | None]:
        """Run every subscriber of ``topic`` on ``event`` concurrently; their results."""
        handlers = self._topics.get(topic, [])
        done = await asyncio.gather(*(h.handle(event) for h in handlers))
        return [result for _, result in done]

    def failures(self, topic: str) -> int:
        return sum(h.failures for h in self._topics.get(topic, []))


class EventTrigger:
    """Events by name (from an async iterable, or pushed through :meth:`hook`) to actions."""

    def __init__(
        self,
        graph: CompiledGraph[Any],
        actions: Mapping[str, Action],
        *,
        source: AsyncIterable[Any] | None = None,
    ) -> None:
        self.graph = graph
        self._handlers = {name: _Handler(graph, action) for name, action in actions.items()}
        self._source = source
        self._queue: asyncio.Queue[Any] | None = None
        self.ignored = 0

    def hook(self) -> Callable[..., None]:
        """A callback ``hook(name, payload=None)`` for event sources that call back (a voice
        session's ``on_event``): events are queued and handled by :meth:`run`."""
        if self._queue is None:
            self._queue = asyncio.Queue()
        queue = self._queue

        def push(name: str, payload: Any = None) -> None:
            queue.put_nowait(Event(name, payload))

        return push

    def close(self) -> None:
        """Let :meth:`run` end once the queued events are handled."""
        if self._queue is not None:
            self._queue.put_nowait(None)

    @property
    def failures(self) -> int:
        return sum(h.failures for h in self._handlers.values())

    def results(self, name: str) -> list[GraphResult[Any]]:
        handler = self._handlers.get(name)
        return handler.results if handler else []

    async def run(self) -> None:
        if self._source is not None:
            async for event in self._source:
                await self._handle(event)
            return
        if self._queue is None:
            self.hook()
        assert self._queue is not None
        while (event := await self._queue.get()) is not None:
            await self._handle(event)

    async def _handle(self, event: Any) -> None:
        name = _name_of(event)
        handler = self._handlers.get(name)
        if handler is None:
            self.ignored += 1
            return
        await handler.handle(event)


class RedisStreamTrigger(AsyncClosing):
    """Entries of a Redis stream, read by consumer group ``group``, start or resume runs.

    ``action(event)`` gets an :class:`Event` named after the stream, whose payload is the
    entry's fields (str to str; a ``json`` field is parsed) and whose id is the entry id; by
    default the payload starts a run with id ``{stream}:{entry id}``.
    """

    def __init__(
        self,
        url: str,
        stream: str,
        graph: CompiledGraph[Any],
        action: Action | None = None,
        *,
        group: str = "beluga-graphs",
        consumer: str = "worker-1",
        block_ms: int = 1000,
        batch: int = 10,
    ) -> None:
        register_url(url)
        self._url = url
        self.where = display_url(url)
        self.stream, self.group, self.consumer = stream, group, consumer
        self._block = block_ms
        self._batch = batch
        self._redis: Any = require("redis.asyncio", extra="redis")
        self._errors: Any = require("redis.exceptions", extra="redis")
        self._client: Any = None
        self._handler = _Handler(graph, action or self._default_action)
        self.acked = 0
        self._stopping = False

    @property
    def results(self) -> list[GraphResult[Any]]:
        return self._handler.results

    @property
    def failures(self) -> int:
        return self._handler.failures

    def _default_action(self, event: Event) -> ActionResult:
        return Start(dict(event.payload or {}), run_id=f"{self.stream}:{event.id}")

    def stop(self) -> None:
        """End :meth:`run` after the current read."""
        self._stopping = True

    async def run(self) -> None:
        client = self._connection()
        try:
            await client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except self._errors.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise self._error(exc) from exc
        except self._errors.RedisError as exc:
            raise self._error(exc) from exc
        start = "0"  # first what this consumer was given and did not acknowledge (a crash)
        while not self._stopping:
            try:
                found = await client.xreadgroup(
                    self.group,
                    self.consumer,
                    {self.stream: start},
                    count=self._batch,
                    block=None if start == "0" else self._block,
                )
            except self._errors.RedisError as exc:
                raise self._error(exc) from exc
            entries = found[0][1] if found else []
            if start == "0" and not entries:
                start = ">"
                continue
            for entry_id, fields in entries:
                await self._entry(client, _text(entry_id), fields)

    async def _entry(self, client: Any, entry_id: str, fields: Mapping[Any, Any]) -> None:
        payload: dict[str, Any] = {_text(k): _text(v) for k, v in fields.items()}
        if "json" in payload:
            try:
                payload = json.loads(payload["json"])
            except ValueError:
                _log.warning(
                    "stream %s entry %s: the json field is not JSON", self.stream, entry_id
                )
        event = Event(self.stream, payload, entry_id)
        run_id = f"{self.stream}:{entry_id}"
        store = self._handler.graph.checkpointer
        existing = await store.get(run_id) if store is not None else None
        if existing is None:
            ok, _ = await self._handler.handle(event)
        elif existing.status == "done":  # the run finished; only its acknowledgement was lost
            ok = True
        else:  # delivered again after a crash: go on with the run it started
            ok, _ = await self._handler.apply(Resume(run_id))
        if ok:
            await client.xack(self.stream, self.group, entry_id)
            self.acked += 1

    def _connection(self) -> Any:
        if self._client is None:
            self._client = self._redis.Redis.from_url(self._url)
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _error(self, exc: BaseException) -> BelugaError:
        return BelugaError(
            "graphs.triggers.redis",
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"Redis stream {self.stream!r} at {self.where} failed ({type(exc).__name__}): check "
            "that Redis runs and the URL is right",
            retryable=True,
            cause=exc,
        )

    def __repr__(self) -> str:
        return f"RedisStreamTrigger({self.where!r}, stream={self.stream!r})"


def _as_input(event: Any) -> ActionResult:
    if isinstance(event, Event):
        event = event.payload
    if event is None:
        return Start({})
    if isinstance(event, Mapping):
        return Start(event)
    raise BelugaError(
        "graphs.triggers",
        ErrorCode.INVALID_REQUEST,
        f"the event is a {type(event).__name__}, not a mapping to start a run with: give the "
        "subscription an action that turns it into Start(...) or Resume(...)",
    )


def _name_of(event: Any) -> str:
    if isinstance(event, str):
        return event
    if isinstance(event, tuple) and event and isinstance(event[0], str):
        return event[0]
    name = getattr(event, "name", None) or getattr(event, "type", None)
    return name if isinstance(name, str) else type(event).__name__


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
