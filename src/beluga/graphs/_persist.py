"""When checkpoints and pending writes reach the store: the three durability modes.

``sync`` awaits each store call in line. ``async`` chains them on a background task, in order,
so the next step runs while the last one is written; :meth:`Persister.flush` waits for the chain
(and raises its first failure: a checkpoint that did not get written is not a side path). ``exit``
keeps only the latest checkpoint and the writes made since, and stores them at flush.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from beluga.graphs.checkpoints.base import Checkpoint, Checkpointer

__all__ = ["Persister"]


class Persister:
    __slots__ = ("_chain", "_error", "_last", "_mode", "_store", "_writes")

    def __init__(self, store: Checkpointer, mode: str) -> None:
        self._store = store
        self._mode = mode
        self._chain: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self._last: Checkpoint | None = None
        self._writes: list[tuple[str, str, str, dict[str, Any]]] = []

    async def checkpoint(self, cp: Checkpoint) -> None:
        """Store ``cp`` now (sync), on the background chain (async) or at exit."""
        mode = self._mode
        if mode == "sync":
            await self._store.put(cp)
        elif mode == "async":
            self._then(self._store.put(cp))
        else:
            self._last = cp
            self._writes = [w for w in self._writes if w[1] == cp.checkpoint_id]

    async def write(self, run_id: str, cp_id: str, task_id: str, write: dict[str, Any]) -> None:
        mode = self._mode
        if mode == "sync":
            await self._store.put_writes(run_id, cp_id, task_id, write)
        elif mode == "async":
            self._then(self._store.put_writes(run_id, cp_id, task_id, write))
        else:
            self._writes.append((run_id, cp_id, task_id, write))

    def _then(self, call: Awaitable[None]) -> None:
        previous = self._chain

        async def after() -> None:
            if previous is not None:
                await previous
            try:
                await call
            except BaseException as exc:
                if self._error is None:
                    self._error = exc

        self._chain = asyncio.ensure_future(after())

    async def flush(self) -> None:
        if self._mode == "exit":
            last, self._last = self._last, None
            if last is not None:
                await self._store.put(last)
            writes, self._writes = self._writes, []
            for run_id, cp_id, task_id, write in writes:
                await self._store.put_writes(run_id, cp_id, task_id, write)
            return
        chain, self._chain = self._chain, None
        if chain is not None:
            await chain
        self._raise()

    async def flush_after_error(self) -> None:
        """Store what a failing run leaves (its pending writes); never masks the failure."""
        try:
            await asyncio.shield(self.flush())
        except Exception:  # the run's own error is the one to report
            return

    def _raise(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error
