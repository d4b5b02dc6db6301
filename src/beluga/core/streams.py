"""Async stream utilities that never leak a task or leave a generator open.

Every helper closes the iterators it was given when it stops, whether it finished, failed or was
cancelled, so a provider's HTTP stream is released as soon as its consumer goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from typing import Any, Generic, TypeVar

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

    One reader task pulls ``source``; each consumer has its own queue (``buffer`` items, 0 for
    unbounded), so a slow consumer slows the reader rather than losing items. A consumer that
    is closed (``aclose``) drops out without costing the others an item; the source is closed
    when every consumer has finished or been closed.
    """
    split = _Tee(source)
    consumers = tuple(_TeeConsumer(split, buffer) for _ in range(n))
    split.consumers, split.open = consumers, n
    return consumers


class _Failure:
    """The source's error, as it travels through the queues (an item may be an exception)."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


class _Tee(Generic[T]):
    """What the consumers of one :func:`tee` share: the source and its single reader."""

    __slots__ = ("consumers", "open", "reader", "source")

    def __init__(self, source: AsyncIterable[T]) -> None:
        self.source = source
        self.consumers: tuple[_TeeConsumer[T], ...] = ()
        self.reader: asyncio.Task[None] | None = None
        self.open = 0

    def start(self) -> None:
        if self.reader is None:
            self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        end: object = _DONE
        try:
            async for item in self.source:
                for consumer in self.consumers:  # a fixed tuple: closing one skips no other
                    if not consumer.closed:
                        await consumer.queue.put(item)
        except Exception as exc:
            end = _Failure(exc)
        finally:
            await aclose(self.source)
        for consumer in self.consumers:
            if not consumer.closed:
                await consumer.queue.put(end)

    async def leave(self) -> None:
        """One consumer is done; the last one stops the reader (which closes the source)."""
        self.open -= 1
        if self.open > 0:
            return
        reader = self.reader
        if reader is None:  # closed before anyone read: nothing will
            await aclose(self.source)
        elif not reader.done():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


class _TeeConsumer(Generic[T]):
    """One of :func:`tee`'s iterators: reads its own queue, fed by the shared reader."""

    __slots__ = ("closed", "queue", "split")

    def __init__(self, split: _Tee[T], buffer: int) -> None:
        self.split = split
        self.queue: asyncio.Queue[object] = asyncio.Queue(buffer)
        self.closed = False

    def __aiter__(self) -> _TeeConsumer[T]:
        return self

    async def __anext__(self) -> T:
        if self.closed:
            raise StopAsyncIteration
        self.split.start()
        item = await self.queue.get()
        if item is _DONE:
            await self.aclose()
            raise StopAsyncIteration
        if type(item) is _Failure:
            await self.aclose()
            raise item.error
        return item  # type: ignore[return-value]

    async def aclose(self) -> None:
        """Stop reading: drop what is queued (unblocking the reader) and leave the tee."""
        if self.closed:
            return
        self.closed = True
        while not self.queue.empty():
            self.queue.get_nowait()
        await self.split.leave()


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
