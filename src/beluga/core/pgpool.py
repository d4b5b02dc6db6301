"""A small pool of psycopg async connections, shared by the PostgreSQL-backed stores.

At most ``size`` connections are open at once; a call runs on an idle one when there is one. A
pooled connection the server dropped (a restart, an idle timeout) is only found out when used:
it is then replaced and the call tried once more on a new connection. psycopg is handed in by
the store that required it, so importing this module imports nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

__all__ = ["PgPool"]

T = TypeVar("T")


class PgPool:
    """``await pool.run(fn)`` calls ``fn(connection)``; psycopg's errors reach the caller,
    which maps them to its own :class:`BelugaError`."""

    def __init__(self, pg: Any, connect: Callable[[], Awaitable[Any]], size: int) -> None:
        self._pg = pg
        self._connect = connect
        self._size = size
        self._idle: list[Any] = []
        self._slots: asyncio.Semaphore | None = None  # made on first use, in the caller's loop

    async def run(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        async with self.connection() as (conn, reused):
            try:
                return await fn(conn)
            except self._pg.OperationalError:
                if not (reused and conn.broken):
                    raise
        async with self.connection(fresh=True) as (conn, _):
            return await fn(conn)

    @asynccontextmanager
    async def connection(self, *, fresh: bool = False) -> AsyncIterator[tuple[Any, bool]]:
        """A connection and whether it was pooled; it goes back to the pool unless broken."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._size)
        async with self._slots:
            reused = bool(self._idle) and not fresh
            conn = self._idle.pop() if reused else await self._connect()
            try:
                yield conn, reused
            finally:
                if conn.closed or conn.broken or len(self._idle) >= self._size:
                    await conn.close()
                else:
                    self._idle.append(conn)

    async def aclose(self) -> None:
        """Close the idle connections (those in use close when they are given back)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()
