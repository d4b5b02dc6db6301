"""PostgreSQL with pgvector (``pip install 'beluga-ai[pgvector]'``): psycopg 3 async, HNSW.

One table per collection (default ``beluga_vectors``, created with the ``vector`` extension
if missing): ``id`` (primary key), ``text`` (a document of one plain text part) or ``document``
(the wire JSON of any other, image parts included), ``metadata`` (``jsonb``, what filters run
on) and ``embedding vector(d)`` with an HNSW index
whose operator class follows the metric (``vector_cosine_ops``, ``vector_ip_ops``,
``vector_l2_ops``). A table made with dimensions=None is created on the first upsert, when its
size is known; an existing table's size and metric are read back and checked.

Vectors travel in pgvector's binary format (the ``pgvector`` package's psycopg adapter), never
as text. Filters become ``WHERE`` text with bound parameters
(:func:`beluga.vectorstores.sql.postgres_where`). A filtered search uses the HNSW index with
pgvector's iterative scan (``hnsw.iterative_scan = strict_order``), and when that yields fewer
than ``k`` rows it is asked again with index scans off, which is exact: a selective filter
gets every match, never a short answer because the graph's neighbourhood held none.

A large load goes faster inside ``async with store.bulk():``: the HNSW index is dropped on entry
and built once on exit (pgvector builds a graph from 100,000 rows of 384 dims in 18 s here,
where growing it row by row took 125 s). Meanwhile searches scan exactly. A table found without
its index (a process died inside ``bulk``) gets it back when next opened.

Connections come from a small pool (at most ``pool_size``); a pooled connection the server
dropped is replaced and the statement tried once more. Errors name the server by
``host:port/db``, never by the DSN (which may hold a password; it is registered with the
redactor).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.pgpool import PgPool
from beluga.core.redaction import display_url, register_secret, register_url
from beluga.core.registry import require
from beluga.schema import Document
from beluga.vectorstores._common import (
    check_batch,
    check_dimensions,
    check_k,
    check_metric,
    delete_filter,
    finite_threshold,
    invalid,
    packed,
    query_vector,
    unpacked,
)
from beluga.vectorstores.base import MetadataFilter, Metric, ScoredDocument
from beluga.vectorstores.filters import And, parse
from beluga.vectorstores.sql import postgres_where

__all__ = ["DEFAULT_TABLE", "PgVectorStore"]

_OP = "vectorstores.pgvector"
DEFAULT_TABLE = "beluga_vectors"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,50}(\.[A-Za-z_][A-Za-z0-9_]{0,50})?$")
_OPS = {"cosine": "vector_cosine_ops", "dot": "vector_ip_ops", "euclidean": "vector_l2_ops"}
_DISTANCE = {"cosine": "<=>", "dot": "<#>", "euclidean": "<->"}
_MEMORY = re.compile(r"^[1-9][0-9]{0,6}(kB|MB|GB)$")
_FIX = "check that PostgreSQL runs with pgvector and the store's dsn is right"
_T = TypeVar("_T")
_Row = tuple[str, str | None, str | None, Any, float]


class PgVectorStore(AsyncClosing):
    """A collection in one PostgreSQL table with an HNSW index (module docstring)."""

    provider = "pgvector"

    def __init__(
        self,
        dsn: str,
        *,
        table: str = DEFAULT_TABLE,
        dimensions: int | None = None,
        metric: Metric | str = "cosine",
        m: int = 16,
        ef_construction: int = 64,
        ef_search: int = 64,
        pool_size: int = 10,
        timeout: float = 10.0,
    ) -> None:
        self._pg: Any = require("psycopg", extra="pgvector")
        self._adapter: Any = require("pgvector.psycopg", extra="pgvector")
        if not isinstance(table, str) or not _NAME.match(table):
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"invalid table name {table!r}: use letters, digits and '_' (at most 51), "
                "optionally as schema.table",
            )
        for name, value in (
            ("m", m),
            ("ef_construction", ef_construction),
            ("ef_search", ef_search),
            ("pool_size", pool_size),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BelugaError(
                    _OP, ErrorCode.INVALID_CONFIG, f"{name} must be a positive int, got {value!r}"
                )
        self._dsn = dsn
        self.where = _where(self._pg, dsn)
        self.table = table
        self.collection = table
        self.metric: Metric = check_metric(_OP, metric)
        self.dimensions = check_dimensions(_OP, dimensions)
        self._m, self._ef_construction, self._ef_search = m, ef_construction, ef_search
        self._distance = _DISTANCE[self.metric]
        self._timeout = timeout
        self._pool = PgPool(self._pg, self._connect, pool_size)
        self._extension = False
        self._table_ready = False
        self._bulk = False
        self._lock: asyncio.Lock | None = None

    # -- the protocol --------------------------------------------------------------------------

    async def upsert(
        self, documents: Sequence[Document], vectors: Sequence[Sequence[float]] | Any
    ) -> None:
        await self._ensure()
        matrix = check_batch(_OP, documents, vectors, self.dimensions, self.metric)
        if not len(documents):
            return
        if not self._table_ready:
            self.dimensions = int(matrix.shape[1])
            await self._ensure()
        rows = [(d.id, *packed(d), matrix[i]) for i, d in enumerate(documents)]
        sql = (
            f"INSERT INTO {self.table} (id, text, document, metadata, embedding) "
            "VALUES (%s, %s, %s, %s::jsonb, %s) ON CONFLICT (id) DO UPDATE SET "
            "text = EXCLUDED.text, document = EXCLUDED.document, "
            "metadata = EXCLUDED.metadata, embedding = EXCLUDED.embedding"
        )

        async def run(conn: Any) -> None:
            async with conn.transaction(), conn.cursor() as cur:
                await cur.executemany(sql, rows)

        await self._do(run)

    async def search(
        self,
        vector: Sequence[float] | Any,
        *,
        k: int = 4,
        filter: MetadataFilter | None = None,
        score_threshold: float | None = None,
    ) -> list[ScoredDocument]:
        check_k(_OP, k)
        threshold = finite_threshold(_OP, score_threshold)
        node = parse(filter)
        await self._ensure()
        query = query_vector(_OP, vector, self.dimensions, self.metric)
        if not self._table_ready:
            return []
        everything = isinstance(node, And) and not node.children
        where, params = ("TRUE", []) if everything else postgres_where(node)
        # ORDER BY the selected distance: the query vector is sent and compared once per row.
        sql = (
            f"SELECT id, text, document, metadata, embedding {self._distance} %s AS distance "
            f"FROM {self.table} WHERE {where} ORDER BY distance LIMIT %s"
        )
        args = (query, *params, k)

        async def run(conn: Any) -> list[_Row]:
            cur = await conn.execute(sql, args)
            rows: list[_Row] = await cur.fetchall()
            if everything or len(rows) >= k:
                return rows
            async with conn.transaction():  # few matches: ask again, exactly
                await conn.execute("SET LOCAL enable_indexscan = off")
                cur = await conn.execute(sql, args)
                exact: list[_Row] = await cur.fetchall()
            return exact

        rows = await self._do(run)
        hits = [
            ScoredDocument(unpacked(_OP, doc_id, text, wired, meta), self._score(distance))
            for doc_id, text, wired, meta, distance in rows
        ]
        if threshold is not None:
            hits = [hit for hit in hits if hit.score >= threshold]
        return hits

    async def get(self, ids: Sequence[str]) -> list[Document]:
        if isinstance(ids, str):
            raise invalid(_OP, f"ids must be a list of ids, got the string {ids!r}")
        await self._ensure()
        if not self._table_ready or not ids:
            return []
        sql = f"SELECT id, text, document, metadata FROM {self.table} WHERE id = ANY(%s)"

        async def run(conn: Any) -> list[tuple[str, str | None, str | None, Any]]:
            cur = await conn.execute(sql, (list(ids),))
            rows: list[tuple[str, str | None, str | None, Any]] = await cur.fetchall()
            return rows

        found = {row[0]: unpacked(_OP, *row) for row in await self._do(run)}
        return [found[i] for i in ids if i in found]

    async def delete(
        self, ids: Sequence[str] | None = None, *, filter: MetadataFilter | None = None
    ) -> None:
        node = delete_filter(_OP, ids, filter)
        await self._ensure()
        if not self._table_ready:
            return
        where, params = postgres_where(node if node is not None else And(()))
        if ids is not None:
            where, params = f"id = ANY(%s) AND {where}", [list(ids), *params]

        async def run(conn: Any) -> None:
            await conn.execute(f"DELETE FROM {self.table} WHERE {where}", params)

        await self._do(run)

    async def count(self, filter: MetadataFilter | None = None) -> int:
        node = parse(filter)
        await self._ensure()
        if not self._table_ready:
            return 0
        where, params = postgres_where(node)

        async def run(conn: Any) -> int:
            cur = await conn.execute(f"SELECT COUNT(*) FROM {self.table} WHERE {where}", params)
            row = await cur.fetchone()
            return int(row[0])

        return await self._do(run)

    @contextlib.asynccontextmanager
    async def bulk(self, *, memory: str = "1GB") -> AsyncIterator[PgVectorStore]:
        """Load many rows with the HNSW index dropped, then build it once, with
        ``maintenance_work_mem = memory`` (enough to hold the graph: ~2.5 KB per 384-dim row)."""
        if not isinstance(memory, str) or not _MEMORY.match(memory):
            raise invalid(_OP, f"memory must be like '512MB' or '2GB', got {memory!r}")
        self._bulk = True  # a table created meanwhile gets no index until the end
        try:
            await self._ensure()
            if self._table_ready:
                await self._do(lambda conn: conn.execute(f"DROP INDEX IF EXISTS {self._index}"))
        except BaseException:
            self._bulk = False
            raise
        try:
            yield self
        finally:
            self._bulk = False
            if self._table_ready:
                await self._do(lambda conn: self._build_index(conn, memory))

    async def drop(self) -> None:
        """Remove the table and its index (what a test or ``beluga vectorstores`` cleanup
        calls; never done implicitly)."""

        async def run(conn: Any) -> None:
            await conn.execute(f"DROP TABLE IF EXISTS {self.table}")

        await self._do(run)
        self._table_ready = False

    async def aclose(self) -> None:
        await self._pool.aclose()

    # -- helpers -------------------------------------------------------------------------------

    def _score(self, distance: float) -> float:
        if self.metric == "cosine":
            return 1.0 - float(distance)
        return -float(distance)  # <#> is the negated inner product; <-> the L2 distance

    async def _do(self, fn: Callable[[Any], Awaitable[_T]]) -> _T:
        """Run ``fn`` on a pooled connection; a dropped pooled connection is replaced and
        ``fn`` tried once more."""
        try:
            return await self._pool.run(fn)
        except self._pg.Error as exc:
            raise self._error(exc) from exc

    async def _connect(self) -> Any:
        conn = await self._pg.AsyncConnection.connect(
            self._dsn, autocommit=True, connect_timeout=max(1, round(self._timeout))
        )
        try:
            if not self._extension:
                await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
                self._extension = True
            await self._adapter.register_vector_async(conn)
            await conn.execute(
                "SELECT set_config('hnsw.ef_search', %s, false)", (str(self._ef_search),)
            )
            await conn.execute("SELECT set_config('hnsw.iterative_scan', 'strict_order', false)")
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _ensure(self) -> None:
        """Check an existing table (its size and metric), or create it when its size is
        known."""
        if self._table_ready:
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._table_ready:
                return
            try:
                async with self._pool.connection() as (conn, _), conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (0x6265_6C76,))
                    existing = await self._existing(conn)
                    if existing is not None:
                        self._adopt(*existing)
                        if existing[1] is None and not self._bulk:
                            await self._build_index(conn)
                    elif self.dimensions is not None:
                        await self._create(conn)
                    else:
                        return
            except self._pg.Error as exc:
                raise self._error(exc) from exc
            self._table_ready = True

    async def _existing(self, conn: Any) -> tuple[int, str | None] | None:
        cur = await conn.execute(
            "SELECT a.atttypmod FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) "
            "AND a.attname = 'embedding' AND NOT a.attisdropped",
            (self.table,),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        cur = await conn.execute(
            "SELECT o.opcname FROM pg_index i JOIN pg_opclass o ON o.oid = i.indclass[0] "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam "
            "WHERE i.indrelid = to_regclass(%s) AND am.amname = 'hnsw'",
            (self.table,),
        )
        index = await cur.fetchone()
        return int(row[0]), None if index is None else str(index[0])

    def _adopt(self, dimensions: int, opclass: str | None) -> None:
        metric = next((m for m, ops in _OPS.items() if ops == opclass), None)
        if metric is not None and metric != self.metric:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"table {self.table} at {self.where} is indexed for {metric}, not "
                f"{self.metric}: open it with metric={metric!r} or use another table",
            )
        if self.dimensions not in (None, dimensions):
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"table {self.table} at {self.where} holds vectors of {dimensions} floats, not "
                f"{self.dimensions}: use the embedder it was built with, or another table",
            )
        self.dimensions = dimensions

    @property
    def _index(self) -> str:
        """The HNSW index's name, in the table's schema."""
        schema, dot, bare = self.table.rpartition(".")
        return f"{schema}{dot}{bare}_hnsw"

    async def _create(self, conn: Any) -> None:
        # DDL takes no parameters: the table name is checked by _NAME, the rest are ints.
        await conn.execute(
            f"CREATE TABLE {self.table} (id TEXT PRIMARY KEY, text TEXT, document TEXT, "
            f"metadata JSONB NOT NULL, embedding vector({int(self.dimensions or 0)}) NOT NULL)"
        )
        if not self._bulk:
            await self._build_index(conn)

    async def _build_index(self, conn: Any, memory: str | None = None) -> None:
        async with conn.transaction():
            if memory is not None:
                await conn.execute("SELECT set_config('maintenance_work_mem', %s, true)", (memory,))
            await conn.execute(
                f"CREATE INDEX IF NOT EXISTS {self._index.rpartition('.')[2]} ON {self.table} "
                f"USING hnsw (embedding {_OPS[self.metric]}) WITH (m = {int(self._m)}, "
                f"ef_construction = {int(self._ef_construction)})"
            )

    def _error(self, exc: BaseException) -> BelugaError:
        text = " ".join(str(exc).split())
        if "authentication failed" in text or "no password supplied" in text:
            return BelugaError(
                _OP,
                ErrorCode.AUTH_FAILED,
                f"PostgreSQL at {self.where} refused the credentials: fix the user and "
                "password in the vector store's dsn",
                cause=exc,
            )
        if 'extension "vector"' in text or 'type "vector" does not exist' in text:
            return BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"PostgreSQL at {self.where} has no pgvector ({text}): install the extension "
                "(https://github.com/pgvector/pgvector) or connect as a user allowed to "
                "CREATE EXTENSION vector",
                cause=exc,
            )
        if isinstance(exc, self._pg.OperationalError):
            return BelugaError(
                _OP,
                ErrorCode.PROVIDER_UNAVAILABLE,
                f"vector store PostgreSQL at {self.where} is unavailable ({text}): {_FIX}",
                cause=exc,
            )
        return BelugaError(
            _OP, ErrorCode.INTERNAL, f"vector store PostgreSQL at {self.where}: {text}", cause=exc
        )

    def __repr__(self) -> str:
        return (
            f"PgVectorStore({self.where!r}, table={self.table!r}, dimensions={self.dimensions}, "
            f"metric={self.metric!r})"
        )


def _where(pg: Any, dsn: str) -> str:
    """``postgresql://host:port/db`` for messages (no user, password or options); registers
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
