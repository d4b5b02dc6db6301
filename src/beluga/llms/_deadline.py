"""The overall deadline of one model call, cheap enough to mark around every stream chunk.

``asyncio.timeout`` around each chunk costs a timer per chunk, and even one timer per call costs
microseconds (a heap push of Python-compared handles). Instead each event loop has one
watchdog: a wait registers in a set, and the watchdog's single timer, set for the earliest
expiry, fires rarely (about once per ``timeout`` when calls are short).

The budget is the time spent waiting for the provider: :meth:`Deadline.begin` and
:meth:`Deadline.end` mark each wait, and the time a stream's consumer spends between events is
not counted, so a slow reader is never cut off. When the budget is spent during a wait, the
waiting task is cancelled; ``end()`` then says so and undoes that cancellation, and the caller
raises its ``TIMEOUT`` error. A cancellation from anyone else goes up untouched (told apart, as
``asyncio.timeout`` does, by the task's cancel count).
"""

from __future__ import annotations

import asyncio
import math
import weakref

__all__ = ["Deadline"]

_current_task = asyncio.current_task  # given the loop: a dict lookup, no get_running_loop()


class _Watchdog:
    """One loop's waits under a deadline, and one timer for the earliest of them.

    It holds no reference to its loop while nothing waits, so a finished loop is collected.
    A timer made obsolete by an earlier one is left to fire and does nothing.
    """

    __slots__ = ("__weakref__", "waiting", "when")

    def __init__(self) -> None:
        self.waiting: set[Deadline] = set()
        self.when = math.inf  # when the live timer fires

    def arm(self, loop: asyncio.AbstractEventLoop, expiry: float) -> None:
        """Fire at ``expiry``, earlier than the live timer."""
        self.when = expiry
        loop.call_at(expiry, self._fire, loop, expiry)

    def _fire(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if when != self.when:  # an earlier timer replaced this one
            return
        now = loop.time()
        earliest = math.inf
        for deadline in list(self.waiting):
            expiry = deadline.expiry()
            if expiry <= now:
                self.waiting.discard(deadline)
                deadline.expire()
            elif expiry < earliest:
                earliest = expiry
        self.when = earliest
        if earliest < math.inf:
            loop.call_at(earliest, self._fire, loop, earliest)


_watchdogs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watchdog] = (
    weakref.WeakKeyDictionary()
)
_last: tuple[weakref.ref[asyncio.AbstractEventLoop], _Watchdog] | None = None


def _watchdog_of(loop: asyncio.AbstractEventLoop) -> _Watchdog:
    global _last
    last = _last
    if last is not None and last[0]() is loop:
        return last[1]
    watchdog = _watchdogs.get(loop)
    if watchdog is None:
        watchdog = _watchdogs[loop] = _Watchdog()
    _last = (weakref.ref(loop), watchdog)
    return watchdog


class Deadline:
    """``seconds`` of waiting, shared by every wait of one call."""

    __slots__ = ("_cancelling", "_loop", "_remaining", "_since", "_task", "_watchdog", "expired")

    def __init__(self, seconds: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._watchdog = _watchdog_of(self._loop)
        self._remaining = seconds
        self._since: float | None = None  # start of the current wait
        self._task: asyncio.Task[object] | None = None
        self._cancelling = 0
        self.expired = False

    def begin(self) -> None:
        """A wait (an ``await`` on the provider) starts: it is bounded by what is left."""
        loop = self._loop
        since = self._since = loop.time()
        self._task = _current_task(loop)
        watchdog = self._watchdog
        watchdog.waiting.add(self)
        if since + self._remaining < watchdog.when:
            watchdog.arm(loop, since + self._remaining)

    def end(self) -> bool:
        """The wait is over, however it ended; whether the deadline passed during it (the
        cancellation it caused is undone then: the caller raises its TIMEOUT error instead)."""
        since = self._since
        if since is not None:
            self._watchdog.waiting.discard(self)
            self._remaining -= self._loop.time() - since
            self._since = None
        if not self.expired:
            return False
        task = self._task
        return task is not None and task.uncancel() <= self._cancelling

    def close(self) -> None:
        """The call is over (a wait left open by an exception is closed too)."""
        self._watchdog.waiting.discard(self)

    def expiry(self) -> float:
        """When the current wait runs out of budget."""
        since = self._since
        return math.inf if since is None else since + self._remaining

    def expire(self) -> None:
        """The budget is spent during a wait: cancel the waiting task."""
        task = self._task
        if task is None or task.done() or self._since is None:
            return
        self.expired = True
        self._cancelling = task.cancelling()
        task.cancel()
