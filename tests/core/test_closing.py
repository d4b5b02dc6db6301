from __future__ import annotations

import pytest

from beluga.core import AsyncClosing


class _Held(AsyncClosing):
    def __init__(self) -> None:
        self.closed = 0

    async def aclose(self) -> None:
        self.closed += 1


async def test_async_with_returns_the_object_and_closes_it_once() -> None:
    async with _Held() as held:
        assert held.closed == 0
    assert held.closed == 1


async def test_an_error_inside_still_closes_and_propagates() -> None:
    held = _Held()
    with pytest.raises(KeyError):
        async with held:
            raise KeyError("x")
    assert held.closed == 1
