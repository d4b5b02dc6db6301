from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beluga.core import BelugaError, ErrorCode, merge, tee, with_timeout


class Source:
    """An async generator wrapper that records whether it was closed."""

    def __init__(self, items: list[int], delay: float = 0.0, fail_at: int | None = None) -> None:
        self.items, self.delay, self.fail_at = items, delay, fail_at
        self.closed = False
        self._gen = self._run()

    async def _run(self) -> AsyncIterator[int]:
        try:
            for i, item in enumerate(self.items):
                if self.fail_at == i:
                    raise ValueError(f"boom at {i}")
                await asyncio.sleep(self.delay)
                yield item
        finally:
            self.closed = True

    def __aiter__(self) -> AsyncIterator[int]:
        return self

    async def __anext__(self) -> int:
        return await self._gen.__anext__()

    async def aclose(self) -> None:
        await self._gen.aclose()
        self.closed = True  # also when it was never started (no finally runs then)


async def test_merge_yields_everything_and_closes_sources() -> None:
    a, b = Source([1, 2, 3], 0.001), Source([10, 20], 0.0015)
    out = [x async for x in merge(a, b)]
    assert sorted(out) == [1, 2, 3, 10, 20]
    assert a.closed and b.closed


async def test_merge_error_stops_all_sources() -> None:
    slow, bad = Source(list(range(100)), 0.01), Source([1, 2, 3], 0.0, fail_at=1)
    with pytest.raises(ValueError, match="boom at 1"):
        async for _ in merge(slow, bad):
            pass
    await asyncio.sleep(0)
    assert slow.closed and bad.closed


async def test_merge_consumer_break_cancels_sources() -> None:
    slow = Source(list(range(1000)), 0.001)
    gen = merge(slow)
    async for item in gen:
        if item == 2:
            break
    await gen.aclose()
    assert slow.closed


async def test_tee_gives_every_consumer_every_item() -> None:
    src = Source([1, 2, 3, 4])
    left, right = tee(src)
    got = await asyncio.gather(_collect(left), _collect(right))
    assert got == [[1, 2, 3, 4], [1, 2, 3, 4]]
    assert src.closed


async def test_tee_propagates_errors_to_each_consumer() -> None:
    left, right = tee(Source([1, 2, 3], fail_at=2))
    results = await asyncio.gather(_collect(left), _collect(right), return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)


async def test_tee_closes_source_when_all_consumers_stop() -> None:
    src = Source(list(range(1000)), 0.001)
    left, right = tee(src, buffer=2)
    assert await anext(left) == 0
    assert await anext(right) == 0
    await left.aclose()  # type: ignore[attr-defined]
    await right.aclose()  # type: ignore[attr-defined]
    await asyncio.sleep(0.01)
    assert src.closed


async def test_tee_consumer_closing_while_another_reads_drops_nothing() -> None:
    async def eager() -> AsyncIterator[int]:  # never yields to the loop between items
        for i in range(4):
            yield i

    left, right = tee(eager(), buffer=1)
    assert await anext(left) == 0  # the reader now waits to hand left item 1, then right
    await left.aclose()  # type: ignore[attr-defined]
    assert await _collect(right) == [0, 1, 2, 3]


async def test_tee_closing_an_unread_consumer_unblocks_the_others() -> None:
    src = Source(list(range(5)))
    left, right = tee(src, buffer=1)
    assert await anext(right) == 0  # the reader waits on left's full queue
    await left.aclose()  # type: ignore[attr-defined]  # never read
    async with asyncio.timeout(5):  # a guard against the hang, not a timing
        assert await _collect(right) == [1, 2, 3, 4]
    assert src.closed


async def test_tee_passes_exception_objects_as_items() -> None:
    item = ValueError("a value, not an error")

    async def values() -> AsyncIterator[object]:
        yield item

    left, right = tee(values())
    assert await _collect(left) == await _collect(right) == [item]  # type: ignore[arg-type]


async def test_tee_closed_before_reading_closes_the_source() -> None:
    class Opened:
        """An already open stream (an HTTP response, say) that counts its closes."""

        closes = 0

        def __aiter__(self) -> Opened:
            return self

        async def __anext__(self) -> int:
            return 1

        async def aclose(self) -> None:
            self.closes += 1

    src = Opened()
    left, right = tee(src)
    await left.aclose()  # type: ignore[attr-defined]
    await right.aclose()  # type: ignore[attr-defined]
    assert await _collect(left) == []
    assert src.closes == 1


@settings(max_examples=150, deadline=None)
@given(
    total=st.integers(0, 12),
    buffer=st.integers(0, 3),
    plans=st.lists(
        st.tuples(st.none() | st.integers(0, 12), st.lists(st.integers(0, 3), max_size=12)),
        min_size=1,
        max_size=4,
    ),
)
def test_tee_every_consumer_sees_every_item_whoever_closes_when(
    total: int, buffer: int, plans: list[tuple[int | None, list[int]]]
) -> None:
    """Each consumer reads ``stop`` items then closes (None: reads to the end), yielding to
    the loop a drawn number of times between reads, so closes land at every point."""

    async def scenario() -> None:
        src = Source(list(range(total)))
        consumers = tee(src, len(plans), buffer=buffer)

        async def run(
            consumer: AsyncIterator[int], stop: int | None, pauses: list[int]
        ) -> list[int]:
            got: list[int] = []
            step = 0
            while stop is None or len(got) < stop:
                for _ in range(pauses[step % len(pauses)] if pauses else 0):
                    await asyncio.sleep(0)
                step += 1
                try:
                    got.append(await anext(consumer))
                except StopAsyncIteration:
                    break
            await consumer.aclose()  # type: ignore[attr-defined]
            return got

        async with asyncio.timeout(5):  # a guard against a hang, not a timing
            results = await asyncio.gather(
                *(run(c, stop, pauses) for c, (stop, pauses) in zip(consumers, plans, strict=True))
            )
        for got, (stop, _) in zip(results, plans, strict=True):
            assert got == list(range(total if stop is None else min(stop, total)))
        await asyncio.sleep(0)
        assert src.closed

    asyncio.run(scenario())


async def test_timeout_on_first_item() -> None:
    src = Source([1], delay=0.2)
    with pytest.raises(BelugaError) as info:
        await _collect(with_timeout(src, first=0.02))
    assert info.value.code is ErrorCode.TIMEOUT
    assert info.value.retryable
    assert "first item" in info.value.message
    assert src.closed


async def test_timeout_between_items() -> None:
    async def stalls() -> AsyncIterator[int]:
        yield 1
        await asyncio.sleep(0.2)
        yield 2

    got: list[int] = []
    with pytest.raises(BelugaError, match="next item"):
        async for x in with_timeout(stalls(), first=1.0, between=0.02):
            got.append(x)
    assert got == [1]


async def test_timeout_passes_a_healthy_stream() -> None:
    assert await _collect(with_timeout(Source([1, 2, 3], 0.001), first=1, between=1)) == [1, 2, 3]


async def _collect(it: AsyncIterator[int]) -> list[int]:
    return [x async for x in it]
