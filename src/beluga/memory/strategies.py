"""Memory strategies: what of a session's stored history a model is shown.

Every strategy keeps the whole history in its :class:`~beluga.memory.base.MessageStore` and
chooses at load time, so changing the strategy (or its size) never loses anything. Cuts fall
only between units (:mod:`beluga.memory._turns`): a tool call is never shown without its result.
"""

from __future__ import annotations

from collections.abc import Sequence

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.memory._turns import turn_starts, units
from beluga.memory.base import MessageStore
from beluga.memory.tokens import EstimateTokenCounter, TokenCounter
from beluga.schema import Message

__all__ = ["BufferMemory", "TokenMemory", "WindowMemory"]


class BufferMemory(AsyncClosing):
    """The whole history, every time."""

    def __init__(self, store: MessageStore) -> None:
        self.store = store

    async def load(self, session_id: str, *, query: Sequence[Message] = ()) -> list[Message]:
        return await self.store.messages(session_id)

    async def save(self, session_id: str, messages: Sequence[Message]) -> None:
        await self.store.append(session_id, messages)

    async def clear(self, session_id: str) -> None:
        await self.store.clear(session_id)

    async def aclose(self) -> None:
        close = getattr(self.store, "aclose", None)
        if close is not None:
            await close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r})"


class WindowMemory(BufferMemory):
    """The last ``turns`` turns (a turn starts at a user message)."""

    def __init__(self, store: MessageStore, *, turns: int = 20) -> None:
        super().__init__(store)
        self.turns = _positive("turns", turns)

    async def load(self, session_id: str, *, query: Sequence[Message] = ()) -> list[Message]:
        history = await self.store.messages(session_id)
        starts = turn_starts(history)
        return history[starts[-self.turns] :] if len(starts) > self.turns else history


class TokenMemory(BufferMemory):
    """The newest messages that fit in ``max_tokens``, counted by ``counter`` (the model's
    tokenizer where :func:`~beluga.memory.tokens.token_counter_for` finds one, else the
    documented estimate). The newest unit is kept even when it alone is over the budget."""

    def __init__(
        self, store: MessageStore, *, max_tokens: int, counter: TokenCounter | None = None
    ) -> None:
        super().__init__(store)
        self.max_tokens = _positive("max_tokens", max_tokens)
        self.counter = counter or EstimateTokenCounter()

    async def load(self, session_id: str, *, query: Sequence[Message] = ()) -> list[Message]:
        history = await self.store.messages(session_id)
        keep, used = len(history), 0
        for start, end in reversed(units(history)):
            cost = await self.counter.count(history[start:end])
            if used + cost > self.max_tokens and keep < len(history):
                break
            used += cost
            keep = start
        return history[keep:]


def _positive(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BelugaError(
            "memory.config",
            ErrorCode.INVALID_CONFIG,
            f"{name}={value!r} must be a whole number of at least 1",
        )
    return value
