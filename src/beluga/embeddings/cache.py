"""Embedding caches: an input embedded once is never sent to the provider again.

A key is the SHA-256 of the embedder's identity (provider, model, dimensions) and the input
(a text, or the wire form of its content parts, so an image counts by its bytes). Vectors are
stored as 64-bit floats, so a hit returns exactly the vector the provider gave.
:class:`MemoryEmbeddingCache` is an LRU in this process (:class:`beluga.core.resilience.TTLCache`);
:class:`SqliteEmbeddingCache` keeps vectors in a SQLite file across runs, its I/O in a worker
thread. A cache is a side path: a failing store logs one warning, counts the failure and
behaves as a miss, so ``embed`` never fails because of it.
"""

from __future__ import annotations

import array
import asyncio
import hashlib
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, cast, runtime_checkable

from beluga.core.resilience import TTLCache
from beluga.embeddings.base import EmbedInput
from beluga.observability.logs import get_logger
from beluga.schema.wire import WireObject, dumpb

__all__ = ["EmbeddingCache", "MemoryEmbeddingCache", "SqliteEmbeddingCache", "cache_key"]

_log = get_logger("beluga.embeddings.cache")


def cache_key(model: str, item: EmbedInput) -> str:
    """The cache key of ``item`` embedded by ``model`` (an identity such as
    ``openai:text-embedding-3-small:1536``)."""
    digest = hashlib.sha256(model.encode("utf-8") + b"\x00")
    if isinstance(item, str):
        digest.update(b"t" + item.encode("utf-8", "surrogatepass"))
    else:
        digest.update(b"p" + dumpb(cast(list[WireObject], list(item))))
    return digest.hexdigest()


@runtime_checkable
class EmbeddingCache(Protocol):
    """Where :func:`~beluga.embeddings.middleware.cached` keeps vectors."""

    def key(self, model: str, item: EmbedInput) -> str: ...

    async def get_many(self, keys: Sequence[str]) -> dict[str, list[float]]:
        """The vectors stored under ``keys`` (missing keys left out)."""
        ...

    async def put_many(self, vectors: Mapping[str, list[float]]) -> None: ...


class MemoryEmbeddingCache:
    """An in-process LRU of at most ``max_entries`` vectors (``ttl`` seconds, None: forever)."""

    def __init__(self, *, max_entries: int = 10_000, ttl: float | None = None) -> None:
        self._items: TTLCache[str, list[float]] = TTLCache(
            max_entries=max_entries, ttl=ttl, copy=list
        )

    def key(self, model: str, item: EmbedInput) -> str:
        return cache_key(model, item)

    @property
    def hits(self) -> int:
        return self._items.hits

    @property
    def misses(self) -> int:
        return self._items.misses

    def __len__(self) -> int:
        return len(self._items)

    async def get_many(self, keys: Sequence[str]) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        for key in keys:
            vector = self._items.get(key)
            if vector is not None:
                found[key] = vector
        return found

    async def put_many(self, vectors: Mapping[str, list[float]]) -> None:
        for key, vector in vectors.items():
            self._items.put(key, vector)


class SqliteEmbeddingCache:
    """Vectors in a SQLite file (created with its folder), shared by every process using it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self.failures = 0
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def key(self, model: str, item: EmbedInput) -> str:
        return cache_key(model, item)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=5.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS embeddings (key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
            )
            self._conn = conn
        return self._conn

    def _get(self, keys: Sequence[str]) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        with self._lock:
            conn = self._connection()
            for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT key, vector FROM embeddings WHERE key IN ({marks})",
                    chunk,
                ).fetchall()
                for key, blob in rows:
                    found[key] = array.array("d", blob).tolist()
        return found

    def _put(self, vectors: Mapping[str, list[float]]) -> None:
        rows = [(key, array.array("d", vector).tobytes()) for key, vector in vectors.items()]
        with self._lock:
            conn = self._connection()
            with conn:
                conn.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?)", rows)

    async def get_many(self, keys: Sequence[str]) -> dict[str, list[float]]:
        try:
            return await asyncio.to_thread(self._get, keys)
        except (sqlite3.Error, OSError) as exc:
            self._failed("read", exc)
            return {}

    async def put_many(self, vectors: Mapping[str, list[float]]) -> None:
        try:
            await asyncio.to_thread(self._put, vectors)
        except (sqlite3.Error, OSError) as exc:
            self._failed("write", exc)

    def _failed(self, what: str, exc: BaseException) -> None:
        self.failures += 1
        if self.failures == 1:
            _log.warning(
                "embedding cache %s cannot %s (%s); embedding without it", self.path, what, exc
            )

    async def aclose(self) -> None:
        """Close the SQLite connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
