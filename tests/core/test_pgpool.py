from __future__ import annotations

import asyncio
import types
from typing import Any

import pytest

from beluga.core.pgpool import PgPool


class OperationalError(Exception):
    pass


PG = types.SimpleNamespace(OperationalError=OperationalError)


class Conn:
    def __init__(self, n: int) -> None:
        self.n = n
        self.closed = False
        self.broken = False

    async def close(self) -> None:
        self.closed = True


def pool(size: int = 2) -> tuple[PgPool, list[Conn]]:
    made: list[Conn] = []

    async def connect() -> Conn:
        made.append(Conn(len(made)))
        return made[-1]

    return PgPool(PG, connect, size), made


async def test_a_connection_is_reused() -> None:
    p, made = pool()
    assert await p.run(lambda c: asyncio.sleep(0, c.n)) == 0
    assert await p.run(lambda c: asyncio.sleep(0, c.n)) == 0
    assert len(made) == 1


async def test_a_dropped_pooled_connection_is_replaced_and_the_call_tried_once_more() -> None:
    p, made = pool()
    await p.run(lambda c: asyncio.sleep(0))
    tried: list[int] = []

    async def call(conn: Any) -> int:
        tried.append(conn.n)
        if conn.n == 0:
            conn.broken = True
            raise OperationalError("server closed the connection")
        return int(conn.n)

    assert await p.run(call) == 1
    assert tried == [0, 1] and made[0].closed


async def test_a_new_connection_failing_is_not_retried() -> None:
    p, made = pool()

    async def call(conn: Any) -> None:
        conn.broken = True
        raise OperationalError("refused")

    with pytest.raises(OperationalError):
        await p.run(call)
    assert len(made) == 1


async def test_at_most_size_connections_are_open_and_aclose_closes_the_idle() -> None:
    p, made = pool(size=2)
    busy = 0
    most = 0

    async def call(conn: Any) -> None:
        nonlocal busy, most
        busy += 1
        most = max(most, busy)
        await asyncio.sleep(0.01)
        busy -= 1

    await asyncio.gather(*(p.run(call) for _ in range(6)))
    assert most == 2 and len(made) == 2
    await p.aclose()
    assert all(c.closed for c in made)
