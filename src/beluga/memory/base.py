"""The memory protocol: what an agent loads before a turn and saves after it.

Conversations are keyed by session id and nothing crosses from one session to another. A
memory strategy (buffer, window, token-limited, summary, vector-recall) decides what of the
history to give the model; a :class:`MessageStore` keeps the whole history (in memory, SQLite,
Redis, PostgreSQL) in the one wire form of :mod:`beluga.schema.wire`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from beluga.schema import Message

__all__ = ["Memory", "MessageStore", "SessionListing"]


@runtime_checkable
class Memory(Protocol):
    """What a model should see of a session's past, and where a turn's new messages go."""

    async def load(self, session_id: str, *, query: Sequence[Message] = ()) -> list[Message]:
        """The history to put before the new input (``query``: the new input, for strategies
        that recall by relevance)."""
        ...

    async def save(self, session_id: str, messages: Sequence[Message]) -> None:
        """Append one turn's new messages (user input, assistant replies, tool calls and their
        results, in order)."""
        ...

    async def clear(self, session_id: str) -> None: ...


@runtime_checkable
class MessageStore(Protocol):
    """Durable, per-session, append-only message history."""

    async def append(self, session_id: str, messages: Sequence[Message]) -> None: ...

    async def messages(self, session_id: str, *, last: int | None = None) -> list[Message]:
        """The session's messages in order (only the ``last`` ones when given)."""
        ...

    async def clear(self, session_id: str) -> None: ...


@runtime_checkable
class SessionListing(Protocol):
    """A store that can say which sessions it holds (every built-in store can)."""

    async def sessions(self) -> dict[str, int]:
        """Each stored session id with its number of stored messages, sorted by id."""
        ...
