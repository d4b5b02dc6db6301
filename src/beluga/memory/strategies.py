"""Memory strategies: what of a session's stored history a model is shown.

Every strategy keeps the whole history in its :class:`~beluga.memory.base.MessageStore` and
chooses at load time, so changing the strategy (or its size) never loses anything. Cuts fall
only between units (:mod:`beluga.memory._turns`): a tool call is never shown without its result.

:class:`BufferMemory` is the base of every strategy: its public ``load``/``save``/``clear``
trace each call (a span ``memory.load {strategy}`` with ``beluga.memory.strategy``,
``beluga.memory.store``, ``gen_ai.conversation.id`` = the session id and the message count;
never a message's content) and delegate to ``_load``/``_save``/``_clear``, which a strategy
overrides. Summary markers (:mod:`beluga.memory.summary`) are never shown by any strategy.
"""

from __future__ import annotations

from collections.abc import Sequence

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.memory._turns import turn_starts, units, without_summaries
from beluga.memory.base import MessageStore
from beluga.memory.tokens import EstimateTokenCounter, TokenCounter
from beluga.observability import Operation, start_operation
from beluga.schema import Message

__all__ = ["BufferMemory", "TokenMemory", "WindowMemory", "positive"]


class BufferMemory(AsyncClosing):
    """The whole history, every time."""

    strategy = "buffer"

    def __init__(self, store: MessageStore) -> None:
        self.store = store

    async def load(self, session_id: str, *, query: Sequence[Message] = ()) -> list[Message]:
        with self._operation("load", session_id) as op, op.activated():
            loaded = await self._load(session_id, query)
            op.set("beluga.memory.messages", len(loaded))
            return loaded

    async def save(self, session_id: str, messages: Sequence[Message]) -> None:
        with self._operation("save", session_id) as op, op.activated():
            op.set("beluga.memory.messages", len(messages))
            await self._save(session_id, messages, op)

    async def clear(self, session_id: str) -> None:
        with self._operation("clear", session_id):
            await self._clear(session_id)

    async def aclose(self) -> None:
        close = getattr(self.store, "aclose", None)
        if close is not None:
            await close()

    # -- what a strategy overrides ---------------------------------------------------------------

    async def _load(self, session_id: str, query: Sequence[Message]) -> list[Message]:
        return without_summaries(await self.store.messages(session_id))

    async def _save(self, session_id: str, messages: Sequence[Message], op: Operation) -> None:
        await self.store.append(session_id, messages)

    async def _clear(self, session_id: str) -> None:
        await self.store.clear(session_id)

    def _operation(self, action: str, session_id: str) -> Operation:
        return start_operation(
            f"memory.{action}",
            self.strategy,
            attributes={
                "beluga.memory.strategy": self.strategy,
                "beluga.memory.store": getattr(self.store, "name", type(self.store).__name__),
                "gen_ai.conversation.id": session_id if isinstance(session_id, str) else None,
            },
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r})"


class WindowMemory(BufferMemory):
    """The last ``turns`` turns (a turn starts at a user message)."""

    strategy = "window"

    def __init__(self, store: MessageStore, *, turns: int = 20) -> None:
        super().__init__(store)
        self.turns = positive("turns", turns)

    async def _load(self, session_id: str, query: Sequence[Message]) -> list[Message]:
        history = without_summaries(await self.store.messages(session_id))
        starts = turn_starts(history)
        return history[starts[-self.turns] :] if len(starts) > self.turns else history


class TokenMemory(BufferMemory):
    """The newest messages that fit in ``max_tokens``, counted by ``counter`` (the model's
    tokenizer where :func:`~beluga.memory.tokens.token_counter_for` finds one, else the
    documented estimate). The newest unit is kept even when it alone is over the budget."""

    strategy = "tokens"

    def __init__(
        self, store: MessageStore, *, max_tokens: int, counter: TokenCounter | None = None
    ) -> None:
        super().__init__(store)
        self.max_tokens = positive("max_tokens", max_tokens)
        self.counter = counter or EstimateTokenCounter()

    async def _load(self, session_id: str, query: Sequence[Message]) -> list[Message]:
        history = without_summaries(await self.store.messages(session_id))
        keep, used = len(history), 0
        for start, end in reversed(units(history)):
            cost = await self.counter.count(history[start:end])
            if used + cost > self.max_tokens and keep < len(history):
                break
            used += cost
            keep = start
        return history[keep:]


def positive(name: str, value: int) -> int:
    """``value`` if it is a whole number of at least 1; else an INVALID_CONFIG error."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BelugaError(
            "memory.config",
            ErrorCode.INVALID_CONFIG,
            f"{name}={value!r} must be a whole number of at least 1",
        )
    return value
