"""One SQLite file behind one worker thread: what the embedded stores (memory, checkpoints,
vectors) share.

:func:`connect` opens a file the way they all want it: autocommit (each store opens its own
transactions), WAL, so readers run beside the writer and other processes may share the file,
and ``synchronous=NORMAL``, which with WAL survives a killed process with every commit (a power
cut may lose the last ones, never corrupt the file). :class:`SqliteFile` adds the rest of the
pattern: the connection opened on first use with the store's schema, every call on one worker
thread so the event loop never waits on disk, and :func:`sqlite_error`, which turns
``sqlite3``'s errors into :class:`BelugaError` naming the file and the fix.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from beluga.core.errors import BelugaError, ErrorCode

__all__ = ["SqliteFile", "connect", "sqlite_error"]

T = TypeVar("T")


def connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """``path`` opened (its folder made) in autocommit, WAL and ``synchronous=NORMAL``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def sqlite_error(
    op: str, exc: BaseException, *, kind: str, path: Path, setting: str
) -> BelugaError:
    """``exc`` (from ``sqlite3`` or the file system) as a :class:`BelugaError`: a file that is
    no database is the configuration's fault (``setting`` names where it is chosen); a file that
    cannot be opened or written, or is locked too long, is unavailable and worth retrying."""
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
        return BelugaError(
            op,
            ErrorCode.INVALID_CONFIG,
            f"{kind} store {path} is not a SQLite database: point {setting} at a {kind} "
            "database or at a new file",
            cause=exc,
        )
    if isinstance(exc, sqlite3.OperationalError | OSError):
        detail = " ".join(str(exc).split()) or type(exc).__name__
        return BelugaError(
            op,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"{kind} store SQLite at {path} is unavailable ({detail}): check that the folder "
            "exists and is writable, the disk has room, and no process holds the write lock "
            "for longer than busy_timeout",
            retryable=True,
            cause=exc,
        )
    return BelugaError(op, ErrorCode.INTERNAL, f"{kind} store {path}: {exc}", cause=exc)


class SqliteFile:
    """A store's SQLite file: opened on first use with ``schema`` (run in one transaction),
    used from one worker thread (see the module docstring). ``kind`` and ``setting`` word its
    errors (``"memory"``, ``"memory.store.path"``)."""

    def __init__(
        self,
        path: Path,
        *,
        op: str,
        kind: str,
        setting: str,
        schema: Sequence[str],
        busy_timeout: float = 10.0,
    ) -> None:
        self.path = path
        self._op, self._kind, self._setting = op, kind, setting
        self._schema = tuple(schema)
        self._busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` on the worker thread; ``sqlite3`` errors become
        :class:`BelugaError`. ``fn`` returns rows or values, never a cursor: a cursor freed on
        another thread while the worker uses the connection is SQLite API misuse."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"beluga-{self._kind}-sqlite")
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, fn)

    async def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return await self.run(lambda conn: conn.execute(sql, params).fetchall())

    async def write(self, sql: str, params: Sequence[Any] = ()) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute(sql, params).close()

        await self.run(run)

    async def transaction(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """``body(connection)`` in one write transaction (``BEGIN IMMEDIATE``: the write lock
        is taken first, so two writers wait rather than fail midway), rolled back if it raises."""

        def run(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = body(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result

        return await self.run(run)

    async def aclose(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(executor, self._close)
        finally:
            executor.shutdown(wait=False)

    def error(self, exc: BaseException) -> BelugaError:
        return sqlite_error(self._op, exc, kind=self._kind, path=self.path, setting=self._setting)

    # -- on the worker thread ------------------------------------------------------------------

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return fn(self._connection())
        except (OSError, sqlite3.Error) as exc:
            raise self.error(exc) from exc

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        conn = connect(self.path, self._busy_timeout)
        try:
            conn.execute("BEGIN IMMEDIATE")
            for statement in self._schema:
                conn.execute(statement)
            conn.execute("COMMIT")
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
