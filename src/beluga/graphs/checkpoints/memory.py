"""Checkpoints in this process's memory: for tests and for runs that need no restart."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from beluga.core.closing import AsyncClosing
from beluga.graphs.checkpoints.base import Checkpoint, CheckpointMeta, check_run_id, meta_of

__all__ = ["MemoryCheckpointer"]

_OP = "graphs.checkpoints.memory"


class MemoryCheckpointer(AsyncClosing):
    """Checkpoints in dicts (copied in and out, so a run cannot change what is stored)."""

    name = "memory"

    def __init__(self) -> None:
        self._runs: dict[str, dict[str, Checkpoint]] = {}
        self._writes: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}

    async def put(self, checkpoint: Checkpoint) -> None:
        check_run_id(_OP, checkpoint.run_id)
        stored = copy.deepcopy(checkpoint)
        stored.writes = {}
        self._runs.setdefault(checkpoint.run_id, {})[checkpoint.checkpoint_id] = stored

    async def put_writes(
        self, run_id: str, checkpoint_id: str, task_id: str, write: dict[str, Any]
    ) -> None:
        self._writes.setdefault((run_id, checkpoint_id), {})[task_id] = copy.deepcopy(write)

    async def get(self, run_id: str, checkpoint_id: str | None = None) -> Checkpoint | None:
        run = self._runs.get(check_run_id(_OP, run_id))
        if not run:
            return None
        key = checkpoint_id if checkpoint_id is not None else max(run)
        found = run.get(key)
        if found is None:
            return None
        cp = copy.deepcopy(found)
        cp.writes = copy.deepcopy(self._writes.get((run_id, key), {}))
        return cp

    async def history(self, run_id: str) -> Sequence[CheckpointMeta]:
        run = self._runs.get(check_run_id(_OP, run_id), {})
        return [meta_of(run[k]) for k in sorted(run)]

    async def runs(self) -> list[CheckpointMeta]:
        """The latest checkpoint of every run."""
        return [meta_of(cps[max(cps)]) for _, cps in sorted(self._runs.items())]

    def __repr__(self) -> str:
        return f"MemoryCheckpointer(runs={len(self._runs)})"
