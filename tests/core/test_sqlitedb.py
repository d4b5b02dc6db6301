from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.sqlitedb import SqliteFile, connect

SCHEMA = ("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)",)


def open_file(path: Path) -> SqliteFile:
    return SqliteFile(path, op="test.sqlite", kind="test", setting="test.path", schema=SCHEMA)


async def test_round_trip_on_one_worker_thread(tmp_path: Path) -> None:
    db = open_file(tmp_path / "sub" / "t.db")  # the folder is made
    await db.write("INSERT INTO t VALUES (?, ?)", ("a", 1))
    await db.transaction(lambda conn: conn.execute("INSERT INTO t VALUES ('b', 2)").close())
    assert await db.query("SELECT k, v FROM t ORDER BY k") == [("a", 1), ("b", 2)]
    names = {await db.run(lambda _conn: threading.current_thread().name) for _ in range(3)}
    assert len(names) == 1 and names != {threading.current_thread().name}
    mode = await db.query("PRAGMA journal_mode")
    assert mode == [("wal",)]
    await db.aclose()
    await db.aclose()  # twice is fine


async def test_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    db = open_file(tmp_path / "t.db")

    def half(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t VALUES ('a', 1)")
        conn.execute("INSERT INTO t VALUES ('a', 2)")  # the primary key refuses it

    with pytest.raises(BelugaError) as caught:
        await db.transaction(half)
    assert caught.value.code is ErrorCode.INTERNAL
    assert await db.query("SELECT COUNT(*) FROM t") == [(0,)]
    await db.write("INSERT INTO t VALUES ('b', 1)")  # no transaction was left open
    await db.aclose()


async def test_a_file_that_is_no_database_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    path.write_bytes(b"definitely not SQLite " * 200)
    db = open_file(path)
    with pytest.raises(BelugaError) as caught:
        await db.query("SELECT 1")
    assert caught.value.code is ErrorCode.INVALID_CONFIG
    assert caught.value.message == (
        f"test store {path} is not a SQLite database: point test.path at a test database or at "
        "a new file"
    )
    await db.aclose()


async def test_a_folder_that_cannot_be_made_is_unavailable_and_retryable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    db = open_file(blocker / "t.db")
    with pytest.raises(BelugaError) as caught:
        await db.write("INSERT INTO t VALUES ('a', 1)")
    assert caught.value.code is ErrorCode.PROVIDER_UNAVAILABLE and caught.value.retryable
    assert str(blocker / "t.db") in caught.value.message and "writable" in caught.value.message
    await db.aclose()


def test_connect_sets_wal_and_autocommit(tmp_path: Path) -> None:
    conn = connect(tmp_path / "x" / "c.db", 1.0)
    assert conn.isolation_level is None
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
    conn.close()
