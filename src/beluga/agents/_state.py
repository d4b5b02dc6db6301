"""The JSON form of a paused run, so that it can be stored and resumed in another process.

A versioned dict of JSON values: the conversation and the usage in the wire form of
:mod:`beluga.schema.wire`, the results of the calls already decided (as the tool messages they
become), the calls waiting for approval, and the run's counters. Deps are not part of it (they
are live objects such as clients): pass them again to ``resume``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import Message, ToolCall, Usage, wire

__all__ = ["STATE_VERSION", "PausedRun", "decode_state", "encode_state"]

STATE_VERSION = 1
_KIND = "beluga.agent_run"


@dataclass(slots=True)
class PausedRun:
    """A run stopped at a step whose calls wait for approval."""

    root: str
    agent: str
    run_id: str
    session_id: str | None
    messages: list[Message]
    new_from: int
    decided: dict[str, Message]
    pending: tuple[ToolCall, ...]
    usage: Usage
    counts: dict[str, int]
    retries: dict[str, int]


def encode_state(run: PausedRun) -> dict[str, Any]:
    return {
        "kind": _KIND,
        "version": STATE_VERSION,
        "root": run.root,
        "agent": run.agent,
        "run_id": run.run_id,
        "session_id": run.session_id,
        "messages": wire.to_json(run.messages),
        "new_from": run.new_from,
        "decided": {cid: wire.to_json(m) for cid, m in run.decided.items()},
        "pending": wire.to_json(list(run.pending)),
        "usage": wire.to_json(run.usage),
        "counts": dict(run.counts),
        "retries": dict(run.retries),
    }


def decode_state(state: Mapping[str, Any] | str | bytes) -> PausedRun:
    """A stored state (the dict, or its JSON text) back as a :class:`PausedRun`."""
    try:
        data = json.loads(state) if isinstance(state, str | bytes) else state
        if not isinstance(data, Mapping) or data.get("kind") != _KIND:
            raise _bad("it is not the state of a paused agent run (RunResult.state)")
        if data.get("version") != STATE_VERSION:
            raise _bad(
                f"its version is {data.get('version')!r} and this Beluga reads version "
                f"{STATE_VERSION}; resume it with the version that paused it"
            )
        messages = wire.from_json(list(data["messages"]))
        decided = {str(k): wire.from_json(v, Message) for k, v in data["decided"].items()}
        pending = tuple(wire.from_json(list(data["pending"])))
        return PausedRun(
            root=str(data["root"]),
            agent=str(data["agent"]),
            run_id=str(data["run_id"]),
            session_id=data.get("session_id"),
            messages=messages,
            new_from=int(data["new_from"]),
            decided=decided,
            pending=pending,
            usage=wire.from_json(data["usage"], Usage),
            counts={str(k): int(v) for k, v in data["counts"].items()},
            retries={str(k): int(v) for k, v in data["retries"].items()},
        )
    except BelugaError as exc:
        if exc.op == "agents.resume":
            raise
        raise _bad(exc.message) from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _bad(f"it is damaged ({type(exc).__name__}: {exc})") from exc


def _bad(reason: str) -> BelugaError:
    return BelugaError(
        "agents.resume", ErrorCode.INVALID_REQUEST, f"cannot resume from this state: {reason}"
    )
