"""Messages in a dict, for tests and single-process apps that need no persistence.

Records are kept in their wire form (not the objects), like every other store, so a test on
this store proves what a persistent one would give back.
"""

from __future__ import annotations

from collections.abc import Sequence

from beluga.core.closing import AsyncClosing
from beluga.memory.stores._common import check_session, decode, encode
from beluga.schema import Message

__all__ = ["InMemoryStore"]

_OP = "memory.inmemory"


class InMemoryStore(AsyncClosing):
    """Per-session message lists in this process; gone when it exits."""

    name = "memory"

    def __init__(self) -> None:
        self._sessions: dict[str, list[str]] = {}

    async def append(self, session_id: str, messages: Sequence[Message]) -> None:
        check_session(_OP, session_id)
        records = encode(_OP, messages)
        if records:
            self._sessions.setdefault(session_id, []).extend(records)

    async def messages(self, session_id: str, *, last: int | None = None) -> list[Message]:
        check_session(_OP, session_id)
        records = self._sessions.get(session_id, [])
        if last is not None:
            records = records[-last:] if last > 0 else []
        return decode(_OP, session_id, records)

    async def clear(self, session_id: str) -> None:
        check_session(_OP, session_id)
        self._sessions.pop(session_id, None)

    async def sessions(self) -> dict[str, int]:
        """Each session id with its number of messages, sorted by id."""
        return {sid: len(self._sessions[sid]) for sid in sorted(self._sessions)}

    async def aclose(self) -> None:
        """Nothing to release; the messages stay until the object is dropped."""

    def __repr__(self) -> str:
        return f"InMemoryStore({len(self._sessions)} sessions)"
