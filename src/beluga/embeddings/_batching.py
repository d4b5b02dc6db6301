"""Splitting one ``embed`` call into API-sized batches and running them, order kept.

Every embedding API caps a request: OpenAI at 2,048 inputs and ~300k tokens, Cohere at 96 texts,
Gemini at 100 requests, Titan at one input. :func:`split` cuts a list of inputs into batches
within a count and an estimated token budget (no tokenizer is needed: an input's tokens are
estimated from its characters, conservatively, so a batch is never sent over the limit), and
:func:`run_batches` runs them with bounded concurrency and puts the vectors back in input order.
A failure in one batch cancels the others (a task group), so nothing outlives the call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from beluga.embeddings.base import EmbedInput
from beluga.schema import TextPart

__all__ = ["Batch", "estimate_tokens", "input_text", "run_batches", "split"]

# A token is ~4 characters of English; 3 keeps the estimate on the safe side for other text.
_CHARS_PER_TOKEN = 3
# A non-text part's share of a token budget (the APIs count an image as a fixed cost).
_MEDIA_TOKENS = 256


@dataclass(slots=True)
class Batch:
    """What one API call returned: one vector per input, and the input tokens it counted."""

    vectors: list[list[float]]
    input_tokens: int = 0


def input_text(item: EmbedInput) -> str:
    """The text of an input (its text parts joined by spaces)."""
    if isinstance(item, str):
        return item
    return " ".join(p.text for p in item if isinstance(p, TextPart))


def estimate_tokens(item: EmbedInput) -> int:
    """A conservative token count of ``item`` for splitting (at least 1)."""
    if isinstance(item, str):
        return max(1, -(-len(item) // _CHARS_PER_TOKEN))
    total = 0
    for part in item:
        total += (
            -(-len(part.text) // _CHARS_PER_TOKEN) if isinstance(part, TextPart) else _MEDIA_TOKENS
        )
    return max(1, total)


def split(
    inputs: Sequence[EmbedInput], max_inputs: int, max_tokens: int | None = None
) -> list[list[EmbedInput]]:
    """``inputs`` in consecutive batches of at most ``max_inputs`` items and (estimated)
    ``max_tokens`` tokens; an input over the token budget alone gets a batch of its own, for
    the provider to accept or refuse with its own message."""
    batches: list[list[EmbedInput]] = []
    current: list[EmbedInput] = []
    tokens = 0
    for item in inputs:
        cost = estimate_tokens(item) if max_tokens is not None else 0
        full = len(current) >= max_inputs or (
            max_tokens is not None and current and tokens + cost > max_tokens
        )
        if full:
            batches.append(current)
            current, tokens = [], 0
        current.append(item)
        tokens += cost
    if current:
        batches.append(current)
    return batches


async def run_batches(
    batches: Sequence[list[EmbedInput]],
    call: Callable[[list[EmbedInput]], Awaitable[Batch]],
    *,
    max_concurrency: int,
) -> Batch:
    """``call`` on every batch, at most ``max_concurrency`` at a time; one :class:`Batch` with
    every vector in input order and the tokens summed."""
    if len(batches) == 1:
        return await call(batches[0])
    results: list[Batch | None] = [None] * len(batches)
    gate = asyncio.Semaphore(max(1, max_concurrency))

    async def one(index: int) -> None:
        async with gate:
            results[index] = await call(batches[index])

    try:
        async with asyncio.TaskGroup() as group:
            for index in range(len(batches)):
                group.create_task(one(index))
    except BaseExceptionGroup as group_error:
        raise _first(group_error) from None
    vectors: list[list[float]] = []
    tokens = 0
    for result in results:
        assert result is not None  # every task finished, or the group raised
        vectors.extend(result.vectors)
        tokens += result.input_tokens
    return Batch(vectors, tokens)


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first real failure of a task group (a batch's own error, not the cancellations)."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first(exc)
        if not isinstance(exc, asyncio.CancelledError):
            return exc
    return group.exceptions[0]
