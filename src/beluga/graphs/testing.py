"""Test doubles for graphs: a store that fails on cue, and a recording node.

(The in-memory store is :class:`beluga.graphs.MemoryCheckpointer`.) ``FlakyCheckpointer`` wraps
any store and raises a retryable ``PROVIDER_UNAVAILABLE`` error on
the calls you name (``fail_puts={3}``: the third ``put``), to test what a run does when its
store goes away mid-run; ``calls`` records every call it passed on. ``Recorder`` is a node
factory that counts how often each node ran and with what input, which is what resume tests
assert on ("completed nodes did not run again").
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.graphs.checkpoints.base import Checkpoint, Checkpointer, CheckpointMeta
from beluga.graphs.checkpoints.memory import MemoryCheckpointer

__all__ = ["FlakyCheckpointer", "Recorder"]


class FlakyCheckpointer:
    """``inner`` (default: a MemoryCheckpointer) failing on the numbered calls given."""

    def __init__(
        self,
        inner: Checkpointer | None = None,
        *,
        fail_puts: Collection[int] = (),
        fail_writes: Collection[int] = (),
    ) -> None:
        self.inner: Checkpointer = inner or MemoryCheckpointer()
        self.fail_puts, self.fail_writes = set(fail_puts), set(fail_writes)
        self.puts = 0
        self.writes = 0
        self.calls: list[str] = []

    async def put(self, checkpoint: Checkpoint) -> None:
        self.puts += 1
        if self.puts in self.fail_puts:
            raise _down("put", self.puts)
        self.calls.append(f"put {checkpoint.run_id} {checkpoint.checkpoint_id}")
        await self.inner.put(checkpoint)

    async def put_writes(
        self, run_id: str, checkpoint_id: str, task_id: str, write: dict[str, Any]
    ) -> None:
        self.writes += 1
        if self.writes in self.fail_writes:
            raise _down("put_writes", self.writes)
        self.calls.append(f"write {run_id} {checkpoint_id} {task_id}")
        await self.inner.put_writes(run_id, checkpoint_id, task_id, write)

    async def get(self, run_id: str, checkpoint_id: str | None = None) -> Checkpoint | None:
        return await self.inner.get(run_id, checkpoint_id)

    async def history(self, run_id: str) -> Sequence[CheckpointMeta]:
        return await self.inner.history(run_id)


class Recorder:
    """Makes nodes that record their runs: ``rec.node("a", update)`` returns a node that
    appends ``("a", input)`` to ``rec.runs`` and returns ``update`` (or ``update(input)``)."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, Any]] = []

    def node(self, name: str, update: Any = None) -> Callable[[Any], Any]:
        def run(state: Any) -> Any:
            self.runs.append((name, state))
            return update(state) if callable(update) else update

        run.__name__ = name
        return run

    def count(self, name: str) -> int:
        return sum(1 for n, _ in self.runs if n == name)


def _down(call: str, number: int) -> BelugaError:
    return BelugaError(
        "graphs.testing",
        ErrorCode.PROVIDER_UNAVAILABLE,
        f"FlakyCheckpointer failed {call} number {number} (as the test asked)",
        retryable=True,
    )
