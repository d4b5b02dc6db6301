"""The embedded persistent stores: documents in SQLite, vectors in an HNSW index in memory.

:class:`IndexedSqliteStore` is everything but the index: its subclasses
(:class:`~beluga.vectorstores.providers.faiss.FaissVectorStore`, the default, and
:class:`~beluga.vectorstores.providers.usearch.USearchVectorStore`) each bring one
:class:`HnswIndex`. Cosine vectors are stored unit-length and ranked by inner product. A
document of one plain text part is stored as its text (decoded ten times faster than the wire
form); any other (image parts, several parts) as its wire JSON.

Durability comes from SQLite, not from the index file:

- SQLite (WAL, one file) is the source of truth: every document, its metadata and its vector,
  written in one transaction per call, which also bumps the collection's ``generation``.
- The HNSW index lives in memory and is saved beside the database (``<db>.<collection>.faiss``
  or ``.usearch``, written to a temporary file and renamed, so it is never half-written) by
  :meth:`flush` and :meth:`aclose`, which then record the generation it holds. On open, an
  index file whose generation is not the database's (the process was killed, another process
  wrote) is not trusted: the index is rebuilt from the vectors in SQLite. A kill therefore loses no
  committed write; it costs one rebuild.
- Every call first compares the database's generation with its own (when SQLite's
  ``data_version`` says another connection committed), so a write by another process is seen
  (by a rebuild) rather than silently missed. One process should write at a
  time; SQLite's write lock serializes them if not.

Filters run in SQLite (:func:`beluga.vectorstores.sql.sqlite_where`, bound parameters). When
few documents match (``exact_below``) their vectors are read back from the index and all of
them scored; otherwise the index is searched for more candidates than ``k`` and they are
filtered, widening (up to the whole index) until ``k`` match. An unfiltered search runs on the
event loop (a fraction of a millisecond, no thread hop); writes, filters, counts and rebuilds
run on the store's own worker thread, so the loop never waits on disk for them.

Scores: an index whose search returns exact float32 scores (FAISS's flat vectors) has only its
hits' documents read back; one that searches in lower precision (usearch's bf16, i8) proposes
candidates that are rescored with their float32 vectors from SQLite, so scores are exact either
way.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.sqlitedb import connect, sqlite_error
from beluga.schema import Document
from beluga.vectorstores._common import (
    check_batch,
    check_dimensions,
    check_k,
    check_metric,
    delete_filter,
    exact_scores,
    finite_threshold,
    invalid,
    packed,
    query_vector,
    unit_rows,
    unpacked_rows,
)
from beluga.vectorstores.base import MetadataFilter, Metric, ScoredDocument
from beluga.vectorstores.filters import And, Filter, parse
from beluga.vectorstores.sql import sqlite_where

__all__ = ["HnswIndex", "IndexedSqliteStore", "Keys", "default_vectors_path"]

_COLLECTIONS = "beluga_vector_collections"
_NAME = re.compile(r"^[A-Za-z0-9_]{1,48}$")
_CHUNK = 500  # ids per IN (...) list, far below SQLite's parameter limit
_MMAP_BYTES = 1 << 30  # the reader maps the file: hits are read without a system call each
_T = TypeVar("_T")
_Matrix = npt.NDArray[np.float32]
Keys = npt.NDArray[np.int64]


def default_vectors_path() -> Path:
    """``$BELUGA_VECTORS_DB``, else ``~/.beluga/vectors.db``."""
    env = os.environ.get("BELUGA_VECTORS_DB")
    return Path(env).expanduser() if env else Path.home() / ".beluga" / "vectors.db"


def _chunks(items: Sequence[_T], size: int = _CHUNK) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class HnswIndex(Protocol):
    """The in-memory index of an :class:`IndexedSqliteStore`, keyed by SQLite's row keys."""

    def __len__(self) -> int: ...

    @property
    def stale(self) -> bool:
        """Worth rebuilding from SQLite (an index that deletes by masking, masking many)."""
        ...

    def add(self, keys: Keys, vectors: _Matrix) -> None: ...

    def remove(self, keys: Keys) -> None: ...

    def search(self, query: _Matrix, k: int) -> tuple[Keys, _Matrix | None]:
        """Candidates for the ``k`` closest, closest first, with their exact scores, or
        ``None`` when the index ranks in lower precision (the store then rescores them)."""
        ...

    def vectors(self, keys: Keys) -> _Matrix:
        """The index's copies of these vectors (float32, in the index's precision)."""
        ...

    def save(self, path: str) -> None: ...


class IndexedSqliteStore(AsyncClosing, ABC):
    """A persistent collection: a SQLite file plus an HNSW index (module docstring)."""

    provider: ClassVar[str]
    op: ClassVar[str]
    index_suffix: ClassVar[str]

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        collection: str = "default",
        dimensions: int | None = None,
        metric: Metric | str = "cosine",
        connectivity: int = 16,
        expansion_add: int = 64,
        expansion_search: int = 64,
        exact_below: int = 20_000,
        busy_timeout: float = 10.0,
    ) -> None:
        if not isinstance(collection, str) or not _NAME.match(collection):
            raise invalid(
                self.op,
                f"collection {collection!r} must be 1-48 letters, digits or underscores",
            )
        for name, value in (
            ("connectivity", connectivity),
            ("expansion_add", expansion_add),
            ("expansion_search", expansion_search),
            ("exact_below", exact_below),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise invalid(self.op, f"{name} must be a positive int, got {value!r}")
        self.path = Path(path).expanduser() if path is not None else default_vectors_path()
        self.collection = collection
        self.metric: Metric = check_metric(self.op, metric)
        self.dimensions = check_dimensions(self.op, dimensions)
        self.index_path = self.path.with_name(f"{self.path.name}.{collection}.{self.index_suffix}")
        self._table = f"beluga_vectors_{collection}"
        self._connectivity = connectivity
        self._expansion_add = expansion_add
        self._expansion_search = expansion_search
        self._exact_below = exact_below
        self._busy_timeout = busy_timeout
        self._index: HnswIndex | None = None
        self._generation = -1  # what the in-memory index holds; -1: nothing loaded yet
        self._version = -1  # the reader's PRAGMA data_version when the generation was checked
        self._saved = -1  # the generation of the index file on disk
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    @abstractmethod
    def _new_index(self) -> HnswIndex:
        """An empty index for ``self.dimensions`` and ``self.metric``."""

    @abstractmethod
    def _restore_index(self, keys: Keys) -> HnswIndex | None:
        """The index saved at ``self.index_path`` when it holds exactly ``keys`` (the rows in
        SQLite) in the form asked for, else ``None`` (it is then rebuilt)."""

    # -- the protocol --------------------------------------------------------------------------

    async def upsert(
        self, documents: Sequence[Document], vectors: Sequence[Sequence[float]] | Any
    ) -> None:
        matrix = check_batch(self.op, documents, vectors, self.dimensions, self.metric)
        if self.metric == "cosine":
            matrix = unit_rows(matrix)
        if not len(documents):
            return
        rows = [(d.id, *packed(d), matrix[i].tobytes()) for i, d in enumerate(documents)]
        async with self._lock:
            await self._ready()
            await self._run(self._upsert, rows, matrix)

    async def search(
        self,
        vector: Sequence[float] | Any,
        *,
        k: int = 4,
        filter: MetadataFilter | None = None,
        score_threshold: float | None = None,
    ) -> list[ScoredDocument]:
        check_k(self.op, k)
        threshold = finite_threshold(self.op, score_threshold)
        node = parse(filter)
        async with self._lock:
            await self._ready()
            query = query_vector(self.op, vector, self.dimensions, self.metric)
            if self.metric == "cosine":  # rows are stored unit-length: the index ranks by dot
                query = query / np.float32(math.sqrt(float(query @ query)))
            index = self._index
            if index is None or len(index) == 0:
                return []
            if isinstance(node, And) and not node.children:
                keys, scores = index.search(query, k)
            else:
                keys, scores = await self._run(self._filtered, query, k, node), None
            if scores is None:  # candidates in the index's precision: rescored from SQLite
                rows, vectors = self._candidates(keys.tolist(), vectors=True)
                if not rows:
                    return []
                scores = self._exact_scores(vectors, query)
                best = np.argsort(-scores, kind="stable")[:k].tolist()
            else:  # scores exact already: only the documents are read
                rows, _ = self._candidates(keys.tolist(), vectors=False)
                found = {row[0] for row in rows}
                scores = scores[[key in found for key in keys.tolist()]]
                best = list(range(len(rows)))
        if threshold is not None:
            best = [i for i in best if scores[i] >= threshold]
        documents = unpacked_rows(self.op, [rows[i][1:5] for i in best])
        return [
            ScoredDocument(doc, float(scores[i])) for doc, i in zip(documents, best, strict=True)
        ]

    async def get(self, ids: Sequence[str]) -> list[Document]:
        if isinstance(ids, str):
            raise invalid(self.op, f"ids must be a list of ids, got the string {ids!r}")
        async with self._lock:
            await self._ready()
            found: dict[str, Document] = {}
            for chunk in _chunks(list(dict.fromkeys(ids))):
                marks = ", ".join("?" * len(chunk))
                sql = (
                    f"SELECT id, text, document, metadata FROM {self._table} WHERE id IN ({marks})"
                )
                for document in unpacked_rows(self.op, self._read(sql, chunk)):
                    found[document.id] = document
        return [found[i] for i in ids if i in found]

    async def delete(
        self, ids: Sequence[str] | None = None, *, filter: MetadataFilter | None = None
    ) -> None:
        node = delete_filter(self.op, ids, filter)
        async with self._lock:
            await self._ready()
            await self._run(self._delete, None if ids is None else list(ids), node)

    async def count(self, filter: MetadataFilter | None = None) -> int:
        node = parse(filter)
        async with self._lock:
            await self._ready()
            where, params = sqlite_where(node)
            sql = f"SELECT COUNT(*) FROM {self._table} WHERE {where}"
            rows = await self._run(self._query, sql, params)
        return int(rows[0][0])

    async def flush(self) -> None:
        """Save the index file now (it is also saved on :meth:`aclose`), so the next open
        loads it instead of rebuilding."""
        async with self._lock:
            if self._writer is not None:
                await self._run(self._save)

    async def aclose(self) -> None:
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            executor, self._executor = self._executor, None
            if executor is None:
                return
            try:
                await asyncio.get_running_loop().run_in_executor(executor, self._close)
            finally:
                executor.shutdown(wait=False)
                reader, self._reader = self._reader, None
                if reader is not None:
                    reader.close()

    # -- on the event loop ---------------------------------------------------------------------

    async def _ready(self) -> None:
        """Open on first use; rebuild the index when another process wrote since."""
        if self._closed:
            raise BelugaError(self.op, ErrorCode.INVALID_REQUEST, f"{self!r} is closed")
        if self._writer is None:
            await self._run(self._open)
            self._reader = self._connect()
            self._read(f"PRAGMA mmap_size = {_MMAP_BYTES}", ())
        # data_version changes only when another connection (the writer, another process)
        # commits, and costs less than the generation's query, which runs only then.
        version = self._read("PRAGMA data_version", ())[0][0]
        if version == self._version and self._generation >= 0:
            return
        generation = self._read(
            f"SELECT generation FROM {_COLLECTIONS} WHERE name = ?", (self.collection,)
        )[0][0]
        if generation != self._generation:
            await self._run(self._rebuild)
        self._version = version

    def _read(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        assert self._reader is not None
        try:
            return self._reader.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _exact_scores(self, vectors: _Matrix, query: _Matrix) -> _Matrix:
        if self.metric != "cosine":
            return exact_scores(self.metric, vectors, query)
        result: _Matrix = vectors @ (query / np.float32(np.linalg.norm(query)))  # unit rows
        return result

    def _candidates(
        self, keys: list[int], *, vectors: bool
    ) -> tuple[list[tuple[Any, ...]], _Matrix]:
        """The rows of ``keys`` (in order; ``key, id, text, document, metadata[, vector]``) and,
        with ``vectors``, their float32 vectors as one matrix."""
        rows: dict[int, tuple[Any, ...]] = {}
        columns = "key, id, text, document, metadata" + (", vector" if vectors else "")
        for chunk in _chunks(keys):
            marks = ", ".join("?" * len(chunk))
            sql = f"SELECT {columns} FROM {self._table} WHERE key IN ({marks})"
            for row in self._read(sql, chunk):
                rows[row[0]] = row
        ordered = [rows[key] for key in keys if key in rows]
        if not vectors:
            return ordered, np.empty((0, 0), dtype=np.float32)
        matrix = np.frombuffer(b"".join(r[5] for r in ordered), dtype=np.float32)
        return ordered, matrix.reshape(len(ordered), self.dimensions or 0)

    # -- on the worker thread ------------------------------------------------------------------

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        if self._executor is None:
            name = f"beluga-vectors-{self.provider}"
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=name)
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _connect(self) -> sqlite3.Connection:
        try:
            return connect(self.path, self._busy_timeout)
        except (OSError, sqlite3.Error) as exc:
            raise self._error(exc) from exc

    def _open(self) -> None:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {_COLLECTIONS} (name TEXT PRIMARY KEY, "
                "dimensions INTEGER, metric TEXT NOT NULL, generation INTEGER NOT NULL, "
                "index_generation INTEGER)"
            )
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} (key INTEGER PRIMARY KEY "
                "AUTOINCREMENT, id TEXT NOT NULL UNIQUE, text TEXT, document TEXT, "
                "metadata TEXT NOT NULL, vector BLOB NOT NULL)"
            )
            row = conn.execute(
                f"SELECT dimensions, metric, index_generation FROM {_COLLECTIONS} WHERE name = ?",
                (self.collection,),
            ).fetchone()
            if row is None:
                conn.execute(
                    f"INSERT INTO {_COLLECTIONS} (name, dimensions, metric, generation) "
                    "VALUES (?, ?, ?, 0)",
                    (self.collection, self.dimensions, self.metric),
                )
            else:
                self._adopt(conn, row)
            conn.execute("COMMIT")
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc) from exc
            raise
        self._writer = conn

    def _adopt(self, conn: sqlite3.Connection, row: tuple[Any, ...]) -> None:
        dimensions, metric, saved = row
        if metric != self.metric:
            raise BelugaError(
                self.op,
                ErrorCode.INVALID_CONFIG,
                f"collection {self.collection!r} in {self.path} holds {metric} vectors, not "
                f"{self.metric}: open it with metric={metric!r} or use another collection",
            )
        if dimensions is not None and self.dimensions not in (None, dimensions):
            raise BelugaError(
                self.op,
                ErrorCode.INVALID_CONFIG,
                f"collection {self.collection!r} in {self.path} holds vectors of {dimensions} "
                f"floats, not {self.dimensions}: use the embedder it was built with, or "
                "another collection",
            )
        if dimensions is None and self.dimensions is not None:
            conn.execute(
                f"UPDATE {_COLLECTIONS} SET dimensions = ? WHERE name = ?",
                (self.dimensions, self.collection),
            )
        elif dimensions is not None:
            self.dimensions = int(dimensions)
        self._saved = -1 if saved is None else int(saved)

    def _rebuild(self) -> None:
        """Load the saved index if it holds the database's generation, else rebuild it from the
        vectors in SQLite."""
        conn = self._connection()
        generation, dimensions, saved = conn.execute(
            f"SELECT generation, dimensions, index_generation FROM {_COLLECTIONS} WHERE name = ?",
            (self.collection,),
        ).fetchone()
        if dimensions is None:
            self._index, self._generation = None, int(generation)
            return
        self.dimensions = int(dimensions)
        if saved == generation and self.index_path.exists():
            keys = np.fromiter(
                (row[0] for row in conn.execute(f"SELECT key FROM {self._table}")), dtype=np.int64
            )
            index = self._restore_index(keys)
            if index is not None:
                self._index, self._generation, self._saved = index, int(generation), int(saved)
                return
        index = self._new_index()
        cursor = conn.execute(f"SELECT key, vector FROM {self._table} ORDER BY key")
        while batch := cursor.fetchmany(10_000):
            keys = np.fromiter((row[0] for row in batch), dtype=np.int64, count=len(batch))
            matrix = np.frombuffer(b"".join(row[1] for row in batch), dtype=np.float32)
            index.add(keys, matrix.reshape(len(batch), self.dimensions))
        # the file on disk (if any) is not this index: the next flush or close saves it
        self._index, self._generation, self._saved = index, int(generation), -1

    def _connection(self) -> sqlite3.Connection:
        if self._writer is None:
            self._open()
        assert self._writer is not None
        return self._writer

    def _query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _transaction(self, body: Callable[[sqlite3.Connection], _T]) -> _T:
        """``body`` in one write transaction that also bumps the generation."""
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = body(conn)
                conn.execute(
                    f"UPDATE {_COLLECTIONS} SET generation = generation + 1 WHERE name = ?",
                    (self.collection,),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        return result

    def _upsert(
        self, rows: list[tuple[str, str | None, str | None, str, bytes]], matrix: _Matrix
    ) -> None:
        def write(conn: sqlite3.Connection) -> tuple[list[int], list[int]]:
            if self.dimensions is None:
                self.dimensions = int(matrix.shape[1])
            conn.execute(
                f"UPDATE {_COLLECTIONS} SET dimensions = ? WHERE name = ? AND dimensions IS NULL",
                (self.dimensions, self.collection),
            )
            old = self._keys_of(conn, [row[0] for row in rows])
            self._delete_keys(conn, old)
            start = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = ?",
                (self._table,),
            ).fetchone()[0]
            new = list(range(int(start) + 1, int(start) + 1 + len(rows)))
            conn.executemany(
                f"INSERT INTO {self._table} (key, id, text, document, metadata, vector) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(key, *row) for key, row in zip(new, rows, strict=True)],
            )
            return old, new

        old, new = self._transaction(write)
        self._apply(old, new, matrix)

    def _apply(self, removed: list[int], added: list[int], matrix: _Matrix | None) -> None:
        """Mirror a committed write in the index (a failure here only forces a rebuild)."""
        try:
            if self._index is None and added:
                self._index = self._new_index()
            if self._index is not None and removed:
                self._index.remove(np.asarray(removed, dtype=np.int64))
            if self._index is not None and added and matrix is not None:
                self._index.add(np.asarray(added, dtype=np.int64), matrix)
            self._generation += 1
            if self._index is not None and self._index.stale:
                self._rebuild()
        except BaseException:
            self._generation = -1
            raise

    def _keys_of(self, conn: sqlite3.Connection, ids: Sequence[str]) -> list[int]:
        keys: list[int] = []
        for chunk in _chunks(ids):
            marks = ", ".join("?" * len(chunk))
            sql = f"SELECT key FROM {self._table} WHERE id IN ({marks})"
            keys.extend(int(r[0]) for r in conn.execute(sql, chunk))
        return keys

    def _delete_keys(self, conn: sqlite3.Connection, keys: Sequence[int]) -> None:
        for chunk in _chunks(keys):
            marks = ", ".join("?" * len(chunk))
            conn.execute(f"DELETE FROM {self._table} WHERE key IN ({marks})", chunk)

    def _delete(self, ids: list[str] | None, node: Filter | None) -> None:
        def write(conn: sqlite3.Connection) -> list[int]:
            keys = None if ids is None else set(self._keys_of(conn, ids))
            if node is not None:
                where, params = sqlite_where(node)
                sql = f"SELECT key FROM {self._table} WHERE {where}"
                matched = {int(r[0]) for r in conn.execute(sql, params)}
                keys = matched if keys is None else keys & matched
            assert keys is not None
            self._delete_keys(conn, sorted(keys))
            return sorted(keys)

        removed = self._transaction(write)
        self._apply(removed, [], None)

    def _filtered(self, query: _Matrix, k: int, node: Filter) -> npt.NDArray[np.int64]:
        """The keys of the (about) ``k`` closest documents among those matching ``node``."""
        assert self._index is not None
        where, params = sqlite_where(node)
        rows = self._query(f"SELECT key FROM {self._table} WHERE {where}", params)
        matched = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        total = len(self._index)
        if len(matched) <= self._exact_below:
            return self._exact(query, k, matched)
        count = min(total, k * max(4, math.ceil(2 * total / len(matched))))
        while True:
            found, _ = self._index.search(query, count)
            keys: npt.NDArray[np.int64] = found[np.isin(found, matched)]
            if len(keys) >= k or count >= total:
                return keys[:k]
            count = min(total, count * 4)

    def _exact(self, query: _Matrix, k: int, keys: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
        """The ``k`` closest of ``keys``, scored over the index's copies of their vectors."""
        if len(keys) == 0:
            return keys
        assert self._index is not None
        scores = self._exact_scores(self._index.vectors(keys), query)
        if len(keys) > k:
            top = np.argpartition(-scores, k - 1)[:k]
            keys, scores = keys[top], scores[top]
        result: npt.NDArray[Any] = keys[np.argsort(-scores, kind="stable")]
        return result

    def _save(self) -> None:
        conn = self._connection()
        generation = conn.execute(
            f"SELECT generation FROM {_COLLECTIONS} WHERE name = ?", (self.collection,)
        ).fetchone()[0]
        if self._index is None or generation != self._generation or self._saved == generation:
            return
        temporary = self.index_path.with_name(self.index_path.name + ".tmp")
        try:
            self._index.save(str(temporary))
            os.replace(temporary, self.index_path)
        except (OSError, RuntimeError) as exc:
            raise BelugaError(
                self.op,
                ErrorCode.PROVIDER_UNAVAILABLE,
                f"could not save the index {self.index_path} ({exc}): check that the folder "
                "is writable and the disk has room (SQLite keeps every write: the next open "
                "rebuilds the index)",
                retryable=True,
                cause=exc,
            ) from exc
        conn.execute(
            f"UPDATE {_COLLECTIONS} SET index_generation = ? WHERE name = ? AND generation = ?",
            (generation, self.collection, generation),
        )
        self._saved = int(generation)

    def _close(self) -> None:
        try:
            if self._writer is not None:
                self._save()
        finally:
            writer, self._writer = self._writer, None
            if writer is not None:
                writer.close()

    def _error(self, exc: BaseException) -> BelugaError:
        return sqlite_error(self.op, exc, kind="vector", path=self.path, setting="the store's path")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({str(self.path)!r}, collection={self.collection!r}, "
            f"dimensions={self.dimensions}, metric={self.metric!r})"
        )
