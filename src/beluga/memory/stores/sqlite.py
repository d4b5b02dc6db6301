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

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from beluga.core.closing import AsyncClosing
from beluga.core.sqlitedb import SqliteFile
from beluga.memory.stores._common import check_session, decode, encode
from beluga.schema import Message

__all__ = ["SqliteStore", "default_sqlite_path"]

_OP = "memory.sqlite"
_TABLE = "beluga_memory_messages"
_DDL = (
    f"CREATE TABLE IF NOT EXISTS {_TABLE} (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "session_id TEXT NOT NULL, data TEXT NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS {_TABLE}_session ON {_TABLE} (session_id, id)",
)


def default_sqlite_path() -> Path:
    """``$BELUGA_MEMORY_DB``, else ``~/.beluga/memory.db``."""
    env = os.environ.get("BELUGA_MEMORY_DB")
    return Path(env).expanduser() if env else Path.home() / ".beluga" / "memory.db"


class SqliteStore(AsyncClosing):
    """Session histories in a SQLite file (opened on first use, on the worker thread)."""

    name = "sqlite"

    def __init__(self, path: str | Path | None = None, *, busy_timeout: float = 10.0) -> None:
        self.path = Path(path).expanduser() if path is not None else default_sqlite_path()
        self._db = SqliteFile(
            self.path,
            op=_OP,
            kind="memory",
            setting="memory.store.path",
            schema=_DDL,
            busy_timeout=busy_timeout,
        )

    async def append(self, session_id: str, messages: Sequence[Message]) -> None:
        check_session(_OP, session_id)
        records = [(session_id, r) for r in encode(_OP, messages)]

        def insert(conn: sqlite3.Connection) -> None:
            conn.executemany(f"INSERT INTO {_TABLE} (session_id, data) VALUES (?, ?)", records)

        if records:
            await self._db.transaction(insert)

    async def messages(self, session_id: str, *, last: int | None = None) -> list[Message]:
        check_session(_OP, session_id)
        if last is not None and last <= 0:
            return []
        if last is None:
            sql = f"SELECT data FROM {_TABLE} WHERE session_id = ? ORDER BY id"
            rows = [r[0] for r in await self._db.query(sql, (session_id,))]
        else:
            sql = f"SELECT data FROM {_TABLE} WHERE session_id = ? ORDER BY id DESC LIMIT ?"
            rows = [r[0] for r in reversed(await self._db.query(sql, (session_id, last)))]
        return decode(_OP, session_id, rows)

    async def clear(self, session_id: str) -> None:
        check_session(_OP, session_id)
        await self._db.write(f"DELETE FROM {_TABLE} WHERE session_id = ?", (session_id,))

    async def sessions(self) -> dict[str, int]:
        """Each session id with its number of messages, sorted by id."""
        sql = f"SELECT session_id, COUNT(*) FROM {_TABLE} GROUP BY session_id ORDER BY session_id"
        return {str(sid): int(count) for sid, count in await self._db.query(sql)}

    async def aclose(self) -> None:
        await self._db.aclose()

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"
