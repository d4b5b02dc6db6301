"""Async stream utilities that never leak a task or leave a generator open.

Every helper closes the iterators it was given when it stops, whether it finished, failed or was
cancelled, so a provider's HTTP stream is released as soon as its consumer goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from typing import Any, TypeVar

from beluga.core.errors import BelugaError, ErrorCode

__all__ = ["aclose", "merge", "tee", "with_timeout"]

T = TypeVar("T")

_DONE = object()


async def aclose(iterator: AsyncIterable[Any]) -> None:
    """Close ``iterator`` if it can be closed; shielded so cancellation cannot skip the cleanup."""
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await asyncio.shield(close())


async def merge(*sources: AsyncIterable[T]) -> AsyncGenerator[T, None]:
    """Yield items from all ``sources`` as they arrive; the first error stops every source."""
    queue: asyncio.Queue[tuple[int, object]] = asyncio.Queue(maxsize=len(sources) or 1)

    async def pump(index: int, source: AsyncIterable[T]) -> None:
        try:
            async for item in source:
                await queue.put((index, item))
            await queue.put((index, _DONE))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # forwarded to the consumer, who re-raises it
            await queue.put((-1, exc))
        finally:
            await aclose(source)

    tasks = [asyncio.create_task(pump(i, s)) for i, s in enumerate(sources)]
    remaining = len(tasks)
    try:
        while remaining:
            index, item = await queue.get()
            if index == -1:
                assert isinstance(item, BaseException)
                raise item
            if item is _DONE:
                remaining -= 1
                continue
            yield item  # type: ignore[misc]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def tee(source: AsyncIterable[T], n: int = 2, *, buffer: int = 0) -> tuple[AsyncIterator[T], ...]:
    """Split ``source`` into ``n`` iterators that each see every item.

    One reader pulls ``source``; each consumer has its own queue (``buffer`` items, 0 for
    unbounded), so a slow consumer slows the reader rather than losing items. The source is
    closed when every consumer has finished or been closed.
    """
    queues: list[asyncio.Queue[object]] = [asyncio.Queue(buffer) for _ in range(n)]
    open_consumers = [n]
    state: dict[str, asyncio.Task[None] | None] = {"reader": None}

    async def read() -> None:
        try:
            async for item in source:
                for q in queues:
                    await q.put(item)
            end: object = _DONE
        except Exception as exc:
            end = exc
        finally:
            await aclose(source)
        for q in queues:
            await q.put(end)

    async def consume(q: asyncio.Queue[object]) -> AsyncGenerator[T, None]:
        if state["reader"] is None:
            state["reader"] = asyncio.create_task(read())
        try:
            while True:
                item = await q.get()
                if item is _DONE:
                    return
                if isinstance(item, Exception):
                    raise item
                yield item  # type: ignore[misc]
        finally:
            queues.remove(q)
            open_consumers[0] -= 1
            reader = state["reader"]
            if open_consumers[0] == 0 and reader is not None and not reader.done():
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader

    return tuple(consume(q) for q in list(queues))


async def with_timeout(
    source: AsyncIterable[T],
    *,
    first: float | None = None,
    between: float | None = None,
    op: str = "stream",
) -> AsyncGenerator[T, None]:
    """Yield from ``source``, failing with a retryable TIMEOUT if an item takes too long.

    ``first`` bounds the wait for the first item (time to first token), ``between`` the wait
    for each later one (a stalled stream).
    """
    iterator = aiter(source)
    limit, which = first, "first item"
    try:
        while True:
            try:
                async with asyncio.timeout(limit):
                    item = await anext(iterator)
            except StopAsyncIteration:
                return
            except TimeoutError as exc:
                raise BelugaError(
                    op,
                    ErrorCode.TIMEOUT,
                    f"no {which} within {limit}s; raise the timeout or check the provider",
                    cause=exc,
                ) from exc
            yield item
            limit, which = between, "next item"
    finally:
        await aclose(iterator)
