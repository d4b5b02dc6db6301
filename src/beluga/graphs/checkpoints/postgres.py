"""Checkpoints in PostgreSQL (``pip install 'beluga-ai[postgres]'``), with psycopg 3 async.

Two tables, ``{prefix}_checkpoints`` and ``{prefix}_writes`` (default prefix
``beluga_graph``), created if missing, keyed like the SQLite store's. Every statement commits
on its own (autocommit), so a checkpoint is durable when ``put`` returns. Connections come
from a small pool of at most ``pool_size``; a pooled connection the server dropped is replaced
and the statement tried once more on a fresh one, and a server that stays down is a
``PROVIDER_UNAVAILABLE`` error naming it by ``host:port/db``, never by the DSN (which may hold
a password), the same handling as :mod:`beluga.memory.stores.postgres`.
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
from beluga.graphs.checkpoints.base import (
    Checkpoint,
    CheckpointMeta,
    check_run_id,
    decode_checkpoint,
    decode_write,
    encode_checkpoint,
    encode_write,
)

__all__ = ["PostgresCheckpointer"]

_OP = "graphs.checkpoints.postgres"
_PREFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")
_COLUMNS = "run_id, checkpoint_id, step, status, graph, created, next"
T = TypeVar("T")


class PostgresCheckpointer(AsyncClosing):
    """Checkpoints in two PostgreSQL tables, through a bounded connection pool."""

    name = "postgres"

    def __init__(
        self,
        dsn: str,
        *,
        prefix: str = "beluga_graph",
        pool_size: int = 5,
        timeout: float = 10.0,
    ) -> None:
        self._pg: Any = require("psycopg", extra="postgres")
        if not _PREFIX.match(prefix):
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"invalid table prefix {prefix!r}: use letters, digits and '_' (at most 41)",
            )
        if pool_size < 1:
            raise BelugaError(
                _OP, ErrorCode.INVALID_CONFIG, f"pool_size must be at least 1, got {pool_size}"
            )
        self._dsn = dsn
        self.where = _where(self._pg, dsn)
        self.prefix = prefix
        self._cps = f"{prefix}_checkpoints"
        self._writes = f"{prefix}_writes"
        self._timeout = timeout
        self._pool = PgPool(self._pg, self._connect, pool_size)
        self._ready = False
        self._ready_lock: asyncio.Lock | None = None

    async def put(self, checkpoint: Checkpoint) -> None:
        check_run_id(_OP, checkpoint.run_id)
        sql = (
            f"INSERT INTO {self._cps} ({_COLUMNS}, data) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (run_id, checkpoint_id) DO UPDATE SET step = EXCLUDED.step, "
            "status = EXCLUDED.status, graph = EXCLUDED.graph, created = EXCLUDED.created, "
            "next = EXCLUDED.next, data = EXCLUDED.data"
        )
        params = (
            checkpoint.run_id,
            checkpoint.checkpoint_id,
            checkpoint.step,
            checkpoint.status,
            checkpoint.graph,
            checkpoint.created,
            ",".join(t["node"] for t in checkpoint.next),
            encode_checkpoint(checkpoint),
        )
        await self._do(lambda conn: conn.execute(sql, params))

    async def put_writes(
        self, run_id: str, checkpoint_id: str, task_id: str, write: dict[str, Any]
    ) -> None:
        sql = (
            f"INSERT INTO {self._writes} (run_id, checkpoint_id, task_id, data) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (run_id, checkpoint_id, task_id) "
            "DO UPDATE SET data = EXCLUDED.data"
        )
        params = (run_id, checkpoint_id, task_id, encode_write(write))
        await self._do(lambda conn: conn.execute(sql, params))

    async def get(self, run_id: str, checkpoint_id: str | None = None) -> Checkpoint | None:
        check_run_id(_OP, run_id)
        if checkpoint_id is None:
            sql = (
                f"SELECT checkpoint_id, data FROM {self._cps} WHERE run_id = %s "
                "ORDER BY checkpoint_id DESC LIMIT 1"
            )
            params: tuple[Any, ...] = (run_id,)
        else:
            sql = (
                f"SELECT checkpoint_id, data FROM {self._cps} WHERE run_id = %s "
                "AND checkpoint_id = %s"
            )
            params = (run_id, checkpoint_id)
        writes_sql = (
            f"SELECT task_id, data FROM {self._writes} WHERE run_id = %s AND checkpoint_id = %s"
        )

        async def run(conn: Any) -> Checkpoint | None:
            row = await (await conn.execute(sql, params)).fetchone()
            if row is None:
                return None
            cp = decode_checkpoint(_OP, row[1])
            rows = await (await conn.execute(writes_sql, (run_id, row[0]))).fetchall()
            cp.writes = {task: decode_write(_OP, data) for task, data in rows}
            return cp

        return await self._do(run)

    async def history(self, run_id: str) -> Sequence[CheckpointMeta]:
        check_run_id(_OP, run_id)
        sql = f"SELECT {_COLUMNS} FROM {self._cps} WHERE run_id = %s ORDER BY checkpoint_id"
        return [_meta(r) for r in await self._rows(sql, (run_id,))]

    async def runs(self) -> list[CheckpointMeta]:
        """The latest checkpoint of every run, by run id."""
        sql = (
            f"SELECT DISTINCT ON (run_id) {_COLUMNS} FROM {self._cps} "
            "ORDER BY run_id, checkpoint_id DESC"
        )
        return [_meta(r) for r in await self._rows(sql, ())]

    async def drop(self) -> None:
        """Drop this store's two tables (tests clean up what they made)."""
        await self._do(lambda c: c.execute(f"DROP TABLE IF EXISTS {self._cps}, {self._writes}"))
        self._ready = False

    async def aclose(self) -> None:
        await self._pool.aclose()

    # -- connections ----------------------------------------------------------------------

    async def _rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        async def run(conn: Any) -> list[tuple[Any, ...]]:
            return list(await (await conn.execute(sql, params)).fetchall())

        return await self._do(run)

    async def _do(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        await self._ensure_tables()
        try:
            return await self._pool.run(fn)
        except self._pg.Error as exc:
            raise self._error(exc) from exc

    async def _connect(self) -> Any:
        try:
            return await self._pg.AsyncConnection.connect(
                self._dsn, autocommit=True, connect_timeout=max(1, round(self._timeout))
            )
        except self._pg.Error as exc:
            raise self._error(exc) from exc

    async def _ensure_tables(self) -> None:
        if self._ready:
            return
        if self._ready_lock is None:
            self._ready_lock = asyncio.Lock()
        async with self._ready_lock:
            if self._ready:
                return
            try:
                async with self._pool.connection() as (conn, _), conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (0x6267_7270,))
                    await conn.execute(
                        f"CREATE TABLE IF NOT EXISTS {self._cps} (run_id TEXT NOT NULL, "
                        "checkpoint_id TEXT NOT NULL, step INTEGER NOT NULL, status TEXT NOT "
                        "NULL, graph TEXT NOT NULL, created DOUBLE PRECISION NOT NULL, next "
                        "TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (run_id, checkpoint_id))"
                    )
                    await conn.execute(
                        f"CREATE TABLE IF NOT EXISTS {self._writes} (run_id TEXT NOT NULL, "
                        "checkpoint_id TEXT NOT NULL, task_id TEXT NOT NULL, data TEXT NOT "
                        "NULL, PRIMARY KEY (run_id, checkpoint_id, task_id))"
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
                f"checkpoint store PostgreSQL at {self.where} refused the credentials: fix the "
                "user and password in graphs.checkpoints.url",
                cause=exc,
            )
        if isinstance(exc, self._pg.OperationalError):
            return BelugaError(
                _OP,
                ErrorCode.PROVIDER_UNAVAILABLE,
                f"checkpoint store PostgreSQL at {self.where} is unreachable: check that "
                "PostgreSQL runs and graphs.checkpoints.url is right (host, port, database)",
                retryable=True,
                cause=exc,
            )
        return BelugaError(
            _OP, ErrorCode.INTERNAL, f"checkpoint store PostgreSQL at {self.where}: {text}"
        )

    def __repr__(self) -> str:
        return f"PostgresCheckpointer({self.where!r}, prefix={self.prefix!r})"


def _meta(row: tuple[Any, ...]) -> CheckpointMeta:
    run_id, cp_id, step, status, graph, created, nxt = row
    return CheckpointMeta(
        run_id, cp_id, int(step), status, graph, float(created), tuple(filter(None, nxt.split(",")))
    )


def _where(pg: Any, dsn: str) -> str:
    """``postgresql://host:port/db``; registers the password with the redactor."""
    if "://" in dsn:
        register_url(dsn)
        return display_url(dsn)
    try:
        params = pg.conninfo.conninfo_to_dict(dsn)
    except pg.Error:
        return "(an unparsable DSN)"
    register_secret(str(params.get("password") or ""))
    return (
        f"postgresql://{params.get('host') or 'localhost'}:{params.get('port') or 5432}/"
        f"{params.get('dbname') or ''}"
    )
