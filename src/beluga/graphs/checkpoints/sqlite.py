"""The default checkpoint store: one SQLite file, WAL mode, stdlib ``sqlite3`` off the event loop.

The file is ``path``, else ``$BELUGA_GRAPHS_DB``, else ``~/.beluga/graphs.db``. Two tables,
``{prefix}_checkpoints`` (one row per run and checkpoint id) and ``{prefix}_writes`` (pending
writes by run, checkpoint and task), created if missing. Each statement commits on its own
(autocommit), so a checkpoint is on disk when ``put`` returns; ``synchronous=NORMAL`` with WAL
survives a killed process (``kill -9``) with every committed checkpoint, and a power cut may
lose the last ones, never corrupt the file. One connection per store, used by one worker thread,
as in :mod:`beluga.memory.stores.sqlite`.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.sqlitedb import SqliteFile
from beluga.graphs.checkpoints.base import (
    Checkpoint,
    CheckpointMeta,
    check_run_id,
    decode_checkpoint,
    decode_write,
    encode_checkpoint,
    encode_write,
)

__all__ = ["SqliteCheckpointer", "default_graphs_path"]

_OP = "graphs.checkpoints.sqlite"
_PREFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")


def default_graphs_path() -> Path:
    """``$BELUGA_GRAPHS_DB``, else ``~/.beluga/graphs.db``."""
    env = os.environ.get("BELUGA_GRAPHS_DB")
    return Path(env).expanduser() if env else Path.home() / ".beluga" / "graphs.db"


class SqliteCheckpointer(AsyncClosing):
    """Checkpoints in a SQLite file (opened on first use, on the worker thread)."""

    name = "sqlite"

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        prefix: str = "beluga_graph",
        busy_timeout: float = 10.0,
    ) -> None:
        if not _PREFIX.match(prefix):
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"invalid table prefix {prefix!r}: use letters, digits and '_' (at most 41)",
            )
        self.path = Path(path).expanduser() if path is not None else default_graphs_path()
        self._cps = f"{prefix}_checkpoints"
        self._writes = f"{prefix}_writes"
        self._db = SqliteFile(
            self.path,
            op=_OP,
            kind="checkpoint",
            setting="graphs.checkpoints.path",
            schema=(
                f"CREATE TABLE IF NOT EXISTS {self._cps} (run_id TEXT NOT NULL, checkpoint_id "
                "TEXT NOT NULL, step INTEGER NOT NULL, status TEXT NOT NULL, graph TEXT NOT "
                "NULL, created REAL NOT NULL, next TEXT NOT NULL, data TEXT NOT NULL, "
                "PRIMARY KEY (run_id, checkpoint_id))",
                f"CREATE TABLE IF NOT EXISTS {self._writes} (run_id TEXT NOT NULL, "
                "checkpoint_id TEXT NOT NULL, task_id TEXT NOT NULL, data TEXT NOT NULL, "
                "PRIMARY KEY (run_id, checkpoint_id, task_id))",
            ),
            busy_timeout=busy_timeout,
        )

    async def put(self, checkpoint: Checkpoint) -> None:
        check_run_id(_OP, checkpoint.run_id)
        row = (
            checkpoint.run_id,
            checkpoint.checkpoint_id,
            checkpoint.step,
            checkpoint.status,
            checkpoint.graph,
            checkpoint.created,
            ",".join(t["node"] for t in checkpoint.next),
            encode_checkpoint(checkpoint),
        )
        sql = f"INSERT OR REPLACE INTO {self._cps} VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        await self._db.write(sql, row)

    async def put_writes(
        self, run_id: str, checkpoint_id: str, task_id: str, write: dict[str, Any]
    ) -> None:
        sql = f"INSERT OR REPLACE INTO {self._writes} VALUES (?, ?, ?, ?)"
        await self._db.write(sql, (run_id, checkpoint_id, task_id, encode_write(write)))

    async def get(self, run_id: str, checkpoint_id: str | None = None) -> Checkpoint | None:
        check_run_id(_OP, run_id)
        return await self._db.run(lambda conn: self._get(conn, run_id, checkpoint_id))

    async def history(self, run_id: str) -> Sequence[CheckpointMeta]:
        check_run_id(_OP, run_id)
        sql = (
            "SELECT run_id, checkpoint_id, step, status, graph, created, next FROM "
            f"{self._cps} WHERE run_id = ? ORDER BY checkpoint_id"
        )
        return [_meta(r) for r in await self._db.query(sql, (run_id,))]

    async def runs(self) -> list[CheckpointMeta]:
        """The latest checkpoint of every run, by run id."""
        sql = (
            "SELECT run_id, checkpoint_id, step, status, graph, created, next FROM "
            f"{self._cps} c WHERE checkpoint_id = (SELECT MAX(checkpoint_id) FROM {self._cps} "
            "WHERE run_id = c.run_id) ORDER BY run_id"
        )
        return [_meta(r) for r in await self._db.query(sql)]

    async def aclose(self) -> None:
        await self._db.aclose()

    # -- on the worker thread -------------------------------------------------------------

    def _get(self, conn: sqlite3.Connection, run_id: str, cp_id: str | None) -> Checkpoint | None:
        if cp_id is None:
            sql = (
                f"SELECT checkpoint_id, data FROM {self._cps} WHERE run_id = ? "
                "ORDER BY checkpoint_id DESC LIMIT 1"
            )
            rows = conn.execute(sql, (run_id,)).fetchall()
        else:
            sql = (
                f"SELECT checkpoint_id, data FROM {self._cps} WHERE run_id = ? "
                "AND checkpoint_id = ?"
            )
            rows = conn.execute(sql, (run_id, cp_id)).fetchall()
        if not rows:
            return None
        found, data = rows[0]
        cp = decode_checkpoint(_OP, data)
        sql = f"SELECT task_id, data FROM {self._writes} WHERE run_id = ? AND checkpoint_id = ?"
        cp.writes = {t: decode_write(_OP, d) for t, d in conn.execute(sql, (run_id, found))}
        return cp

    def __repr__(self) -> str:
        return f"SqliteCheckpointer({str(self.path)!r})"


def _meta(row: tuple[Any, ...]) -> CheckpointMeta:
    run_id, cp_id, step, status, graph, created, nxt = row
    return CheckpointMeta(
        run_id, cp_id, int(step), status, graph, float(created), tuple(filter(None, nxt.split(",")))
    )
