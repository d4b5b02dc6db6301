"""The embedded default store: one SQLite file, WAL mode, stdlib ``sqlite3`` off the event loop.

The file is ``path``, else ``$BELUGA_MEMORY_DB``, else ``~/.beluga/memory.db``. Each store
object owns one connection used by one worker thread, so the event loop never waits on disk
and the many sessions of one process share it safely. Several processes may share the file:
WAL lets readers run beside the writer, and an append takes SQLite's write lock for its one
transaction (``BEGIN IMMEDIATE``), waiting up to ``busy_timeout`` seconds for it. Rows get an
``AUTOINCREMENT`` id, so order is the order of the appends, even across processes and after a
session is cleared. ``synchronous=NORMAL`` is safe with WAL: a power cut may lose the last
commits, never corrupt the file.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.memory.stores._common import check_session, decode, encode, unavailable
from beluga.schema import Message

__all__ = ["SqliteStore", "default_sqlite_path"]

_OP = "memory.sqlite"
_TABLE = "beluga_memory_messages"
_DDL = (
    f"CREATE TABLE IF NOT EXISTS {_TABLE} (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "session_id TEXT NOT NULL, data TEXT NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS {_TABLE}_session ON {_TABLE} (session_id, id)",
)
T = TypeVar("T")


def default_sqlite_path() -> Path:
    """``$BELUGA_MEMORY_DB``, else ``~/.beluga/memory.db``."""
    env = os.environ.get("BELUGA_MEMORY_DB")
    return Path(env).expanduser() if env else Path.home() / ".beluga" / "memory.db"


class SqliteStore(AsyncClosing):
    """Session histories in a SQLite file (opened on first use, on the worker thread)."""

    name = "sqlite"

    def __init__(self, path: str | Path | None = None, *, busy_timeout: float = 10.0) -> None:
        self.path = Path(path).expanduser() if path is not None else default_sqlite_path()
        self._busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def append(self, session_id: str, messages: Sequence[Message]) -> None:
        check_session(_OP, session_id)
        records = encode(_OP, messages)
        if records:
            await self._run(self._append, session_id, records)

    async def messages(self, session_id: str, *, last: int | None = None) -> list[Message]:
        check_session(_OP, session_id)
        if last is not None and last <= 0:
            return []
        rows = await self._run(self._select, session_id, last)
        return decode(_OP, session_id, rows)

    async def clear(self, session_id: str) -> None:
        check_session(_OP, session_id)
        await self._run(self._write, f"DELETE FROM {_TABLE} WHERE session_id = ?", (session_id,))

    async def sessions(self) -> dict[str, int]:
        """Each session id with its number of messages, sorted by id."""
        sql = f"SELECT session_id, COUNT(*) FROM {_TABLE} GROUP BY session_id ORDER BY session_id"
        rows = await self._run(self._query, sql, ())
        return {str(sid): int(count) for sid, count in rows}

    async def aclose(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(executor, self._close)
        finally:
            executor.shutdown(wait=False)

    # -- on the worker thread -------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="beluga-memory-sqlite")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=self._busy_timeout)
        except (OSError, sqlite3.Error) as exc:
            raise self._error(exc) from exc
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("BEGIN IMMEDIATE")
            for statement in _DDL:
                conn.execute(statement)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.close()
            raise self._error(exc) from exc
        self._conn = conn
        return conn

    def _append(self, session_id: str, records: list[str]) -> None:
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    f"INSERT INTO {_TABLE} (session_id, data) VALUES (?, ?)",
                    [(session_id, r) for r in records],
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _select(self, session_id: str, last: int | None) -> list[str]:
        if last is None:
            sql = f"SELECT data FROM {_TABLE} WHERE session_id = ? ORDER BY id"
            return [r[0] for r in self._query(sql, (session_id,))]
        sql = f"SELECT data FROM {_TABLE} WHERE session_id = ? ORDER BY id DESC LIMIT ?"
        return [r[0] for r in reversed(self._query(sql, (session_id, last)))]

    def _query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _write(self, sql: str, params: Sequence[Any]) -> None:
        try:
            self._connection().execute(sql, params)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _error(self, exc: BaseException) -> BelugaError:
        if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
            return BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"memory store {self.path} is not a SQLite database: point memory.store.path "
                "at a memory database or at a new file",
                cause=exc,
            )
        if isinstance(exc, sqlite3.OperationalError | OSError):
            return unavailable(
                _OP,
                "SQLite",
                str(self.path),
                exc,
                "check that the folder exists and is writable, the disk has room, and no "
                "process holds the write lock for longer than busy_timeout",
            )
        return BelugaError(_OP, ErrorCode.INTERNAL, f"memory store {self.path}: {exc}", cause=exc)

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"
