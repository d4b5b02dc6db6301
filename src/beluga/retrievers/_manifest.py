"""The ingestion manifest: which file went into the store as which chunks, in SQLite.

One row per ingested file, keyed by the folder ingested (resolved) and the file's path inside
it: its SHA-256, the ids of its chunks in the store, and its state. A file is first written
``pending`` with both its old and its new chunk ids, committed, then sent to the store, then
marked ``done``, committed again. A run killed in between leaves a ``pending`` row; the next
run deletes every chunk id the row names and ingests the file afresh, so a kill never leaves
stray or half-written chunks behind. WAL mode and ``synchronous=FULL``: a committed row
survives a power cut. The manifest also remembers the embedder (model and size) it was built
with, since vectors of two embedders in one store cannot be compared.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from beluga.core.errors import BelugaError, ErrorCode

__all__ = ["Manifest", "ManifestRow"]

ManifestRow = tuple[str, str, list[str], str]
"""``(path, sha256, chunk_ids, state)``."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    chunk_ids TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    PRIMARY KEY (root, path)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Manifest:
    """The manifest at ``path`` (created with its folder when missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise BelugaError(
                "retrievers.ingest.manifest",
                ErrorCode.INVALID_CONFIG,
                f"cannot open the ingestion manifest {self.path} ({exc}); pass a writable "
                "--manifest path",
                cause=exc,
            ) from exc

    def check_embedder(self, model: str, dimensions: int) -> None:
        """Remember the embedder, or refuse one other than the manifest was built with."""
        wanted = f"{model}/{dimensions}"
        row = self._db.execute("SELECT value FROM meta WHERE key = 'embedder'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('embedder', ?)", (wanted,))
        elif row[0] != wanted:
            raise BelugaError(
                "retrievers.ingest",
                ErrorCode.INVALID_CONFIG,
                f"this store was ingested with the embedder {row[0]}, not {wanted}: vectors of "
                "two embedders cannot be compared. Use the same embedder, or ingest into a new "
                "store (a new --manifest)",
            )

    def rows(self, root: str) -> dict[str, ManifestRow]:
        """Every file recorded under ``root``, by path."""
        found = self._db.execute(
            "SELECT path, sha256, chunk_ids, state FROM files WHERE root = ?", (root,)
        ).fetchall()
        return {p: (p, sha, json.loads(ids), state) for p, sha, ids, state in found}

    def done(self) -> list[tuple[str, str, str, list[str]]]:
        """``(root, path, sha256, chunk_ids)`` of every file fully in the store."""
        found = self._db.execute(
            "SELECT root, path, sha256, chunk_ids FROM files WHERE state = 'done' "
            "ORDER BY root, path"
        ).fetchall()
        return [(root, path, sha, json.loads(ids)) for root, path, sha, ids in found]

    def version(self) -> int:
        """SQLite's ``data_version``: it moves when another connection (an ingest) commits."""
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def pending(self) -> list[tuple[str, str, list[str]]]:
        """``(root, path, chunk_ids)`` of files a killed run left half-written."""
        found = self._db.execute(
            "SELECT root, path, chunk_ids FROM files WHERE state = 'pending'"
        ).fetchall()
        return [(root, path, json.loads(ids)) for root, path, ids in found]

    def mark(self, root: str, path: str, sha256: str, chunk_ids: list[str], state: str) -> None:
        """Record (and commit) a file's state."""
        self._db.execute(
            "INSERT INTO files VALUES (?, ?, ?, ?, ?) ON CONFLICT (root, path) DO UPDATE SET "
            "sha256 = excluded.sha256, chunk_ids = excluded.chunk_ids, state = excluded.state",
            (root, path, sha256, json.dumps(chunk_ids), state),
        )

    def forget(self, root: str, path: str) -> None:
        self._db.execute("DELETE FROM files WHERE root = ? AND path = ?", (root, path))

    def close(self) -> None:
        self._db.close()
