from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

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
