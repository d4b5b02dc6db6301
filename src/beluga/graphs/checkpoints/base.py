"""Checkpoints: the protocol every store implements, and the one JSON form they all store.

A checkpoint is written after each step of a run: the state (in the JSON form of
:mod:`beluga.graphs._state`), the tasks of the next step, the join barriers, the interrupts that
wait for an answer and the answers given so far. While a step of several tasks runs, each task
that finishes stores its update as a *pending write* of the checkpoint the step started from, so
a step that fails or is killed half-way resumes with only its unfinished tasks. Stores keep
opaque JSON text; nothing is pickled.

Checkpoint ids are the step's sequence number, zero-padded (``"00000003"``), so they sort in
order within a run; a fork copies a checkpoint into a new run and goes on from there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from beluga.core.errors import BelugaError, ErrorCode

__all__ = [
    "Checkpoint",
    "CheckpointMeta",
    "Checkpointer",
    "Status",
    "check_run_id",
    "checkpoint_id",
    "decode_checkpoint",
    "decode_write",
    "encode_checkpoint",
    "encode_write",
    "meta_of",
]

Status = Literal["running", "interrupted", "done"]
MAX_RUN_ID = 512


@dataclass(slots=True)
class Checkpoint:
    """One saved step of a run (see the module docstring)."""

    run_id: str
    checkpoint_id: str
    step: int
    values: dict[str, Any]
    next: list[dict[str, Any]]
    graph: str = "graph"
    parent_id: str | None = None
    status: Status = "running"
    barriers: dict[str, list[str]] = field(default_factory=dict)
    interrupts: list[dict[str, Any]] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    writes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Pending writes by task id (filled by the store on ``get``; stored apart)."""


@dataclass(slots=True, frozen=True)
class CheckpointMeta:
    """A checkpoint as listings show it."""

    run_id: str
    checkpoint_id: str
    step: int
    status: str
    graph: str
    created: float
    next: tuple[str, ...]


@runtime_checkable
class Checkpointer(Protocol):
    """Where runs keep their checkpoints (SQLite, PostgreSQL, Redis, memory)."""

    async def put(self, checkpoint: Checkpoint) -> None:
        """Store ``checkpoint`` (replacing one of the same run and id)."""
        ...

    async def put_writes(
        self, run_id: str, checkpoint_id: str, task_id: str, write: dict[str, Any]
    ) -> None:
        """Store the update of ``task_id``, a task of the step after ``checkpoint_id``."""
        ...

    async def get(self, run_id: str, checkpoint_id: str | None = None) -> Checkpoint | None:
        """The checkpoint (the latest when ``checkpoint_id`` is None) with its pending writes."""
        ...

    async def history(self, run_id: str) -> Sequence[CheckpointMeta]:
        """The checkpoints of ``run_id``, oldest first."""
        ...


def checkpoint_id(seq: int) -> str:
    return f"{seq:08d}"


def check_run_id(op: str, run_id: object) -> str:
    if not isinstance(run_id, str) or not run_id or len(run_id) > MAX_RUN_ID or "\x00" in run_id:
        raise BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            f"a run id is a non-empty string of at most {MAX_RUN_ID} characters without NUL, "
            f"got {run_id!r:.60}",
        )
    return run_id


def encode_checkpoint(cp: Checkpoint) -> str:
    return json.dumps(
        {
            "run_id": cp.run_id,
            "checkpoint_id": cp.checkpoint_id,
            "parent_id": cp.parent_id,
            "step": cp.step,
            "graph": cp.graph,
            "status": cp.status,
            "values": cp.values,
            "next": cp.next,
            "barriers": cp.barriers,
            "interrupts": cp.interrupts,
            "answers": cp.answers,
            "created": cp.created,
        },
        separators=(",", ":"),
        allow_nan=False,
    )


def decode_checkpoint(op: str, text: str | bytes) -> Checkpoint:
    try:
        data = json.loads(text)
        return Checkpoint(
            run_id=data["run_id"],
            checkpoint_id=data["checkpoint_id"],
            parent_id=data.get("parent_id"),
            step=int(data["step"]),
            graph=data.get("graph", "graph"),
            status=data.get("status", "running"),
            values=dict(data["values"]),
            next=list(data["next"]),
            barriers=dict(data.get("barriers", {})),
            interrupts=list(data.get("interrupts", [])),
            answers=dict(data.get("answers", {})),
            created=float(data.get("created", 0.0)),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise BelugaError(
            op,
            ErrorCode.INTERNAL,
            f"a stored checkpoint is not readable ({type(exc).__name__}: {exc}); it was not "
            "written by this version of beluga.graphs, or the store was edited",
            cause=exc,
        ) from exc


def encode_write(write: dict[str, Any]) -> str:
    return json.dumps(write, separators=(",", ":"), allow_nan=False)


def decode_write(op: str, text: str | bytes) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BelugaError(
            op, ErrorCode.INTERNAL, f"a stored pending write is not JSON: {exc}", cause=exc
        ) from exc
    if not isinstance(data, dict):
        raise BelugaError(op, ErrorCode.INTERNAL, "a stored pending write is not a JSON object")
    return data


def meta_of(cp: Checkpoint) -> CheckpointMeta:
    return CheckpointMeta(
        cp.run_id,
        cp.checkpoint_id,
        cp.step,
        cp.status,
        cp.graph,
        cp.created,
        tuple(t["node"] for t in cp.next),
    )
