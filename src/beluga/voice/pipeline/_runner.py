"""The frame pipeline: thin processors in order, and the runner that moves frames between them.

:class:`Pipeline` sorts processors by their ``order`` (custom processors slot in by number)
and gives each a bounded inbox: putting a data frame blocks while the next processor is behind
(backpressure up to the transport), while urgent frames (``frame.urgent``) go on a priority
path that overtakes queued data. Each processor runs two loops, one for data frames and one for
urgent frames, so an interruption reaches a processor even while it is busy with a data frame:

* ``InterruptionFrame``: the in-flight data handler of an ``interruptible`` processor is
  cancelled, the inbox is flushed of reply frames (LLM deltas, text to speak, output audio),
  ``on_interrupt()`` runs, then the frame goes on;
* ``CancelFrame``: the pipeline stops now, dropping whatever is queued;
* ``EndFrame``: each processor runs ``on_end()`` after everything queued before it, forwards it,
  and the pipeline stops when it leaves the last processor. It also waits for the processor's
  urgent work in progress (an STT transcribing at the user's stop runs on the urgent lane), so
  the end never overtakes a transcript or reply that an urgent frame is still producing.

All loops live in one ``asyncio.TaskGroup``: no task outlives the pipeline. Each processor
counts frames and handler time (``perf_counter_ns``) for metrics. A handler that raises sends a
fatal :class:`ErrorFrame` upstream and stops the pipeline; :meth:`Pipeline.run` raises it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Iterable

from beluga.core.errors import BelugaError, ErrorCode
from beluga.observability.logs import get_logger
from beluga.voice.frames import (
    CancelFrame,
    EndFrame,
    ErrorFrame,
    Frame,
    InterruptionFrame,
    LLMDeltaFrame,
    LLMReplyEndFrame,
    LLMReplyStartFrame,
    OutputAudioFrame,
    TextFrame,
)
from beluga.voice.pipeline._processor import Direction, FrameProcessor, _Link

__all__ = ["Pipeline"]

_log = get_logger(__name__)
_OP = "voice.pipeline"
_Sink = Callable[[Frame], Awaitable[None]]
# What an interruption drops from the queues: the reply being produced, never user input.
_DROPPED_ON_INTERRUPT = (
    LLMReplyStartFrame,
    LLMDeltaFrame,
    LLMReplyEndFrame,
    TextFrame,
    OutputAudioFrame,
)


class _Inbox:
    """A processor's queue: bounded data frames, and an unbounded priority lane for urgent ones.

    Waiting is done on bare futures created only when a side must wait (no event is set or
    cleared per frame): this is the hot path of every session, ~50 frames a second each.
    """

    __slots__ = (
        "_data",
        "_data_waiter",
        "_maxsize",
        "_seq",
        "_space_waiters",
        "_urgent",
        "_urgent_waiter",
        "closed",
        "urgent_idle",
    )

    def __init__(self, maxsize: int) -> None:
        self._maxsize = maxsize
        # Data frames carry their arrival number; urgent ones the number of data frames that
        # had arrived before them, so an interruption drops only the frames it overtook.
        self._data: deque[tuple[Frame, Direction, int]] = deque()
        self._urgent: deque[tuple[Frame, Direction, int]] = deque()
        self._seq = 0
        self._data_waiter: asyncio.Future[None] | None = None
        self._urgent_waiter: asyncio.Future[None] | None = None
        self._space_waiters: list[asyncio.Future[None]] = []
        self.closed = False
        self.urgent_idle = asyncio.Event()  # no urgent frame queued or being handled
        self.urgent_idle.set()

    def close(self) -> None:
        """Stop taking frames and release producers blocked on a full inbox."""
        self.closed = True
        self._wake_producers()

    def _wake_producers(self) -> None:
        waiters, self._space_waiters = self._space_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def put(self, frame: Frame, direction: Direction) -> None:
        if frame.urgent:
            self._urgent.append((frame, direction, self._seq))
            self.urgent_idle.clear()
            waiter = self._urgent_waiter
            if waiter is not None:
                self._urgent_waiter = None
                if not waiter.done():
                    waiter.set_result(None)
            return
        if direction is Direction.DOWN:
            while len(self._data) >= self._maxsize and not self.closed:
                space: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._space_waiters.append(space)
                await space
            if self.closed:
                return
        self._data.append((frame, direction, self._seq))
        self._seq += 1
        waiter = self._data_waiter
        if waiter is not None:
            self._data_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def get_data(self) -> tuple[Frame, Direction]:
        while not self._data:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._data_waiter = waiter
            await waiter
        frame, direction, _ = self._data.popleft()
        if self._space_waiters:
            self._wake_producers()
        return frame, direction

    async def get_urgent(self) -> tuple[Frame, Direction, int]:
        while not self._urgent:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._urgent_waiter = waiter
            await waiter
        return self._urgent.popleft()

    def flush_reply(self, before: int) -> int:
        """Drop queued reply frames (downstream LLM/TTS/output ones) that arrived before data
        frame number ``before``; return how many."""
        kept = [
            item
            for item in self._data
            if not (
                item[2] < before
                and item[1] is Direction.DOWN
                and isinstance(item[0], _DROPPED_ON_INTERRUPT)
            )
        ]
        dropped = len(self._data) - len(kept)
        self._data = deque(kept)
        self._wake_producers()
        return dropped


class _Stop(Exception):
    """Raised inside the task group to stop every loop."""


class Pipeline:
    """Runs processors in ``order``; frames pushed in flow down, sinks receive what leaves.

    ``downstream``/``upstream`` are async callbacks for frames leaving the last processor and
    the first one. Use as ``async with Pipeline([...]) as p: await p.push(frame) ...`` (leaving
    the block cancels), or ``await p.run()`` and feed it from another task.
    """

    def __init__(
        self,
        processors: Iterable[FrameProcessor],
        *,
        queue_size: int = 64,
        downstream: _Sink | None = None,
        upstream: _Sink | None = None,
    ) -> None:
        self.processors = sorted(processors, key=lambda p: p.order)
        if not self.processors:
            raise BelugaError(_OP, ErrorCode.INVALID_CONFIG, "a Pipeline needs a processor")
        if queue_size < 1:
            raise BelugaError(_OP, ErrorCode.INVALID_CONFIG, "queue_size must be at least 1")
        self._inboxes = [_Inbox(queue_size) for _ in self.processors]
        self._downstream = downstream
        self._upstream = upstream
        self._busy = [False] * len(self.processors)
        self._interrupting = [False] * len(self.processors)
        self._idle_waiters: list[asyncio.Future[None] | None] = [None] * len(self.processors)
        self._open = [asyncio.Event() for _ in self.processors]  # cleared while interrupting
        self._data_tasks: list[asyncio.Task[None] | None] = [None] * len(self.processors)
        self._stopped = asyncio.Event()
        self._started = False
        self._runner: asyncio.Task[None] | None = None
        self.error: BelugaError | None = None
        self.cancelled = False
        for index, processor in enumerate(self.processors):
            processor._link = _Link(self._down_of(index), self._up_of(index))
            self._open[index].set()

    # -- public --------------------------------------------------------------------------------

    async def push(self, frame: Frame) -> None:
        """Feed ``frame`` into the first processor (blocks while its inbox is full)."""
        await self._enter(0, frame, Direction.DOWN)

    async def cancel(self) -> None:
        """Stop now, dropping whatever is queued (same as pushing a ``CancelFrame``)."""
        await self.push(CancelFrame())

    async def end(self) -> None:
        """Finish what is queued, in order, then stop (pushes an ``EndFrame``)."""
        await self.push(EndFrame())

    def stats(self) -> dict[str, dict[str, float]]:
        """Per-processor frame counts and handler times, by processor name."""
        return {p.name: p.stats.as_dict() for p in self.processors}

    async def run(self) -> None:
        """Start the processors, move frames until end or cancel, close them; raise fatal errors."""
        if self._started:
            raise BelugaError(_OP, ErrorCode.INVALID_REQUEST, "a Pipeline runs only once")
        self._started = True
        started: list[FrameProcessor] = []
        try:
            for processor in self.processors:
                await processor.start()
                started.append(processor)
            try:
                async with asyncio.TaskGroup() as group:
                    for index in range(len(self.processors)):
                        self._data_tasks[index] = group.create_task(self._data_loop(index))
                        group.create_task(self._urgent_loop(index))
                    group.create_task(self._watch_stop())
            except* _Stop:
                pass
        finally:
            self._stop()
            for processor in reversed(started):
                try:
                    await processor.aclose()
                except Exception as exc:  # a close failure must not hide the run's outcome
                    _log.warning("voice processor %s failed to close: %s", processor.name, exc)
        if self.error is not None:
            raise self.error

    async def __aenter__(self) -> Pipeline:
        self._runner = asyncio.create_task(self.run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def wait(self) -> None:
        """Wait until the pipeline has stopped; raise its fatal error if it had one."""
        if self._runner is not None:
            await asyncio.shield(self._runner)
        else:
            await self._stopped.wait()

    async def aclose(self) -> None:
        """Cancel the pipeline if it still runs and wait until every task has finished."""
        self._stop()
        runner, self._runner = self._runner, None
        if runner is not None:
            if not runner.done():
                runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, BelugaError):
                await runner

    # -- internals -----------------------------------------------------------------------------

    def _stop(self) -> None:
        self._stopped.set()
        for inbox in self._inboxes:
            inbox.close()

    async def _watch_stop(self) -> None:
        await self._stopped.wait()
        raise _Stop

    def _down_of(self, index: int) -> _Sink:
        if index + 1 < len(self.processors):

            async def down(frame: Frame) -> None:
                await self._enter(index + 1, frame, Direction.DOWN)

            return down

        async def out(frame: Frame) -> None:
            await self._leave(frame, self._downstream)

        return out

    def _up_of(self, index: int) -> _Sink:
        if index > 0:

            async def up(frame: Frame) -> None:
                await self._enter(index - 1, frame, Direction.UP)

            return up

        async def out(frame: Frame) -> None:
            await self._leave(frame, self._upstream)

        return out

    async def _enter(self, index: int, frame: Frame, direction: Direction) -> None:
        if type(frame) is CancelFrame:
            self.cancelled = True
            self._stop()
            return
        if self._stopped.is_set():
            return
        await self._inboxes[index].put(frame, direction)

    async def _leave(self, frame: Frame, sink: _Sink | None) -> None:
        if sink is not None:
            await sink(frame)
        if isinstance(frame, EndFrame):
            self._stop()
        elif isinstance(frame, ErrorFrame) and frame.fatal:
            self.error = frame.error
            self._stop()

    async def _data_loop(self, index: int) -> None:
        processor = self.processors[index]
        inbox = self._inboxes[index]
        task = asyncio.current_task()
        assert task is not None
        gate = self._open[index]
        while True:
            try:
                if not gate.is_set():
                    await gate.wait()
                frame, direction = await inbox.get_data()
                if not inbox.urgent_idle.is_set():
                    # Urgent frames overtake: those that came first are handled first, even
                    # when the data handlers never suspend (the urgent loop would starve).
                    await inbox.urgent_idle.wait()
                if not gate.is_set():  # an interruption began while we waited: let it finish
                    await gate.wait()
                self._busy[index] = True
                try:
                    if isinstance(frame, EndFrame):
                        await inbox.urgent_idle.wait()  # work started by urgent frames first
                        await processor.on_end()
                        await processor._linked().down(frame)
                        return
                    await processor._dispatch(frame, direction)
                except (asyncio.CancelledError, _Stop):
                    raise
                except Exception as exc:
                    await self._fail(processor, exc)
                    return
                finally:
                    self._busy[index] = False
                    idle = self._idle_waiters[index]
                    if idle is not None and not idle.done():
                        idle.set_result(None)
            except asyncio.CancelledError:
                if not self._interrupting[index]:
                    raise
                self._interrupting[index] = False
                if task.uncancel() > 0:  # a real cancellation is pending as well
                    raise

    async def _urgent_loop(self, index: int) -> None:
        processor = self.processors[index]
        inbox = self._inboxes[index]
        while True:
            frame, direction, seq = await inbox.get_urgent()
            try:
                if isinstance(frame, InterruptionFrame):
                    await self._interrupt(index, seq)
                    link = processor._linked()
                    await (link.down(frame) if direction is Direction.DOWN else link.up(frame))
                else:
                    await processor._dispatch(frame, direction)
            except (asyncio.CancelledError, _Stop):
                raise
            except Exception as exc:
                await self._fail(processor, exc)
                return
            finally:
                if not inbox._urgent:
                    inbox.urgent_idle.set()

    async def _interrupt(self, index: int, seq: int) -> None:
        processor = self.processors[index]
        data_task = self._data_tasks[index]
        gate = self._open[index]
        gate.clear()  # the data loop takes no new frame until the interruption is done
        try:
            dropped = self._inboxes[index].flush_reply(seq)
            if dropped:
                _log.debug("voice processor %s dropped %d queued frames", processor.name, dropped)
            if processor.interruptible and self._busy[index] and data_task is not None:
                self._interrupting[index] = True
                idle = self._idle_waiters[index] = asyncio.get_running_loop().create_future()
                data_task.cancel()
                try:
                    await idle
                finally:
                    self._idle_waiters[index] = None
                    self._interrupting[index] = False  # never left set for a later, real cancel
            await processor.on_interrupt()
        finally:
            gate.set()

    async def _fail(self, processor: FrameProcessor, exc: Exception) -> None:
        error = (
            exc
            if isinstance(exc, BelugaError)
            else BelugaError(
                f"{_OP}.{processor.name}",
                ErrorCode.INTERNAL,
                f"voice processor {processor.name} failed: {type(exc).__name__}: {exc}",
                cause=exc,
            )
        )
        self.error = error
        with contextlib.suppress(BelugaError):
            await processor.push_upstream(ErrorFrame(error, fatal=True))
        self._stop()
