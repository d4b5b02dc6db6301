"""Session histories in PostgreSQL (``pip install 'beluga-ai[postgres]'``), with psycopg 3 async.

One table (default ``beluga_memory_messages``, created if missing) with an identity ``id``, the
``session_id`` and the wire JSON of each message, indexed by ``(session_id, id)``. An append is
one transaction that first takes a transaction-scoped advisory lock on the session, so two
turns of one session written at once never interleave and ``id`` order is append order.

Connections come from a small pool of at most ``pool_size`` (default 10): hundreds of
concurrent sessions share them, waiting their turn, instead of exhausting the server's
``max_connections``. A pooled connection the server dropped (a restart, an idle timeout) is
replaced and the statement tried once more on a fresh one; a server that stays down is a
``PROVIDER_UNAVAILABLE`` error naming the store by ``host:port/db`` (never the DSN, which may
hold a password).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.pgpool import PgPool
from beluga.core.redaction import display_url, register_secret, register_url
from beluga.core.registry import require
from beluga.memory.stores._common import check_session, decode, encode, unavailable
from beluga.schema import Message

__all__ = ["DEFAULT_TABLE", "PostgresStore"]

_OP = "memory.postgres"
DEFAULT_TABLE = "beluga_memory_messages"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$")
_FIX = "check that PostgreSQL runs and memory.store.url is right (host, port, database, user)"
T = TypeVar("T")


class PostgresStore(AsyncClosing):
    """Per-session rows in one PostgreSQL table, through a bounded connection pool."""

    name = "postgres"

    def __init__(
        self,
        dsn: str,
        *,
        table: str = DEFAULT_TABLE,
        pool_size: int = 10,
        timeout: float = 10.0,
    ) -> None:
        self._pg: Any = require("psycopg", extra="postgres")
        self._dsn = dsn
        self.where = _where(self._pg, dsn)
        if not _NAME.match(table):
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"invalid table name {table!r}: use letters, digits and '_' (at most 63), "
                "optionally as schema.table",
            )
        if pool_size < 1:
            raise BelugaError(
                _OP, ErrorCode.INVALID_CONFIG, f"pool_size must be at least 1, got {pool_size}"
            )
        self.table = table
        self._timeout = timeout
        self._pool = PgPool(self._pg, self._connect, pool_size)
        self._ready = False
        self._ready_lock: asyncio.Lock | None = None

    async def append(self, session_id: str, messages: Sequence[Message]) -> None:
        check_session(_OP, session_id)
        records = encode(_OP, messages)
        if not records:
            return
        sql = f"INSERT INTO {self.table} (session_id, data) VALUES (%s, %s)"

        async def run(conn: Any) -> None:
            async with conn.transaction():
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                    (f"{self.table}/{session_id}",),  # table names have no "/"
                )
                async with conn.cursor() as cur:
                    await cur.executemany(sql, [(session_id, r) for r in records])

        await self._do(run)

    async def messages(self, session_id: str, *, last: int | None = None) -> list[Message]:
        check_session(_OP, session_id)
        if last is not None and last <= 0:
            return []
        if last is None:
            sql = f"SELECT data FROM {self.table} WHERE session_id = %s ORDER BY id"
            params: tuple[Any, ...] = (session_id,)
        else:
            sql = (
                f"SELECT data FROM (SELECT id, data FROM {self.table} WHERE session_id = %s "
                "ORDER BY id DESC LIMIT %s) AS recent ORDER BY id"
            )
            params = (session_id, last)

        async def run(conn: Any) -> list[str]:
            cur = await conn.execute(sql, params)
            return [row[0] for row in await cur.fetchall()]

        return decode(_OP, session_id, await self._do(run))

    async def clear(self, session_id: str) -> None:
        check_session(_OP, session_id)

        async def run(conn: Any) -> None:
            await conn.execute(f"DELETE FROM {self.table} WHERE session_id = %s", (session_id,))

        await self._do(run)

    async def sessions(self) -> dict[str, int]:
        """Each session id with its number of messages, sorted by id."""
        sql = (
            f"SELECT session_id, COUNT(*) FROM {self.table} GROUP BY session_id ORDER BY session_id"
        )

        async def run(conn: Any) -> dict[str, int]:
            cur = await conn.execute(sql)
            return {str(sid): int(count) for sid, count in await cur.fetchall()}

        return await self._do(run)

    async def aclose(self) -> None:
        await self._pool.aclose()

    # -- connections ----------------------------------------------------------------------------

    async def _do(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``fn`` on a pooled connection (the table made first); a dropped pooled
        connection is replaced and ``fn`` tried once more."""
        await self._ensure_table()
        try:
            return await self._pool.run(fn)
        except self._pg.Error as exc:
            raise self._error(exc) from exc

    async def _connect(self) -> Any:
        return await self._pg.AsyncConnection.connect(
            self._dsn, autocommit=True, connect_timeout=max(1, round(self._timeout))
        )

    async def _ensure_table(self) -> None:
        if self._ready:
            return
        if self._ready_lock is None:
            self._ready_lock = asyncio.Lock()
        async with self._ready_lock:
            if self._ready:
                return
            bare = self.table.rpartition(".")[2]
            try:
                async with self._pool.connection() as (conn, _), conn.transaction():
                    # Concurrent CREATE ... IF NOT EXISTS may still collide: serialize them.
                    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (0x6265_6C75,))
                    await conn.execute(
                        f"CREATE TABLE IF NOT EXISTS {self.table} (id BIGINT GENERATED "
                        "ALWAYS AS IDENTITY PRIMARY KEY, session_id TEXT NOT NULL, "
                        "data TEXT NOT NULL)"
                    )
                    await conn.execute(
                        f"CREATE INDEX IF NOT EXISTS {bare}_session "
                        f"ON {self.table} (session_id, id)"
                    )
            except self._pg.Error as exc:
                raise self._error(exc) from exc
            self._ready = True

    def _error(self, exc: BaseException) -> BelugaError:
        text = " ".join(str(exc).split())
        if "authentication failed" in text or "no password supplied" in text:
            return BelugaError(
                _OP,
                ErrorCode.AUTH_FAILED,
                f"memory store PostgreSQL at {self.where} refused the credentials: fix the user "
                "and password in memory.store.url",
                cause=exc,
            )
        if isinstance(exc, self._pg.OperationalError):
            return unavailable(_OP, "PostgreSQL", self.where, exc, _FIX)
        return BelugaError(
            _OP, ErrorCode.INTERNAL, f"memory store PostgreSQL at {self.where}: {text}", cause=exc
        )

    def __repr__(self) -> str:
        return f"PostgresStore({self.where!r}, table={self.table!r})"


def _where(pg: Any, dsn: str) -> str:
    """``postgresql://host:port/db`` for messages: no user, password or options; registers
    the password with the redactor."""
    if "://" in dsn:
        register_url(dsn)
        return display_url(dsn)
    try:
        params = pg.conninfo.conninfo_to_dict(dsn)
    except pg.Error:
        return "(an unparsable DSN)"
    register_secret(str(params.get("password") or ""))
    host = params.get("host") or "localhost"
    port = params.get("port") or 5432
    return f"postgresql://{host}:{port}/{params.get('dbname') or ''}"
