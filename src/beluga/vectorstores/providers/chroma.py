"""Chroma, embedded (``chromadb``): a persistent store in a folder, or in memory.

``path=`` (or ``CHROMA_PATH``) keeps the collection on disk (``PersistentClient``); no path is an
in-memory client (``EphemeralClient``). Chroma's telemetry is turned off and no embedding
function is ever set: Beluga always passes the vectors, so Chroma never downloads a model.
Chroma's embedded API is synchronous; calls run in a worker thread so the event loop never
waits on disk or on the index.

A record's ``documents`` entry is the document's wire form (JSON text) and its metadata the
filter shadow of :mod:`._records`, filtered with Chroma's ``where`` operators (``$eq``, ``$ne``,
ranges, ``$contains`` on the ``beluga_keys`` list). Chroma reports distances: ``cosine`` is
``1 - cos``, ``ip`` is ``1 - dot`` and ``l2`` the squared distance; the protocol's scores are
computed back from them. Chroma's index is HNSW: approximate, like every index of its size.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.provider_errors import own_failure
from beluga.core.registry import require
from beluga.schema import Document
from beluga.vectorstores._common import (
    check_batch,
    check_dimensions,
    check_k,
    check_metric,
    delete_filter,
    finite_threshold,
    query_vector,
)
from beluga.vectorstores.base import MetadataFilter, Metric, ScoredDocument
from beluga.vectorstores.filters import Filter, parse
from beluga.vectorstores.providers._records import (
    ALWAYS,
    KEYS,
    decode_document,
    encode_document,
    shadow,
    to_mongo,
)
from beluga.vectorstores.providers._remote import RemoteStore

__all__ = ["ChromaVectorStore"]

T = TypeVar("T")

_SPACE: dict[str, str] = {"cosine": "cosine", "dot": "ip", "euclidean": "l2"}
_METRIC = {v: k for k, v in _SPACE.items()}


class ChromaVectorStore(RemoteStore):
    """Documents in one collection of an embedded Chroma (see the module docstring)."""

    provider: ClassVar[str] = "chroma"
    native: ClassVar[dict[str, str]] = {
        "search": "query",
        "exists": "list_collections",
        "describe": "get_collection",
        "create": "create_collection",
    }

    def __init__(
        self,
        collection: str = "beluga",
        *,
        path: str | None = None,
        dimensions: int | None = None,
        metric: Metric = "cosine",
        retries: int = 1,
        client: Any = None,
    ) -> None:
        super().__init__(collection, retries=retries)
        op = self._op("init")
        self.metric: Metric = check_metric(op, metric)
        self.dimensions = check_dimensions(op, dimensions)
        chromadb: Any = require("chromadb", extra="chroma")
        self._errors: Any = require("chromadb.errors", extra="chroma")
        path = path or os.environ.get("CHROMA_PATH") or None
        self._where = f"Chroma at {path}" if path else "Chroma in memory"
        if client is None:
            settings = chromadb.config.Settings(anonymized_telemetry=False, allow_reset=False)
            try:
                if path:
                    client = chromadb.PersistentClient(
                        path=os.path.expanduser(path), settings=settings
                    )
                else:
                    client = chromadb.EphemeralClient(settings=settings)
            except Exception as exc:
                raise BelugaError(
                    op,
                    ErrorCode.INVALID_CONFIG,
                    f"could not open {self._where} ({type(exc).__name__}: {exc}); check path=",
                    cause=exc,
                ) from exc
        self._client = client
        self._collection: Any = None
        try:
            self._max_batch = int(client.get_max_batch_size())
        except Exception:
            self._max_batch = 1000

    # ------------------------------------------------------------------ the protocol

    async def upsert(
        self, documents: Sequence[Document], vectors: Sequence[Sequence[float]]
    ) -> None:
        op = self._op("upsert")
        matrix = check_batch(op, documents, vectors, self.dimensions, self.metric)
        if not documents:
            return
        if self.dimensions is None:
            self.dimensions = int(matrix.shape[1])
        collection = await self._open(create=True)
        ids = [doc.id for doc in documents]
        texts = [json.dumps(encode_document(doc), ensure_ascii=False) for doc in documents]
        metadatas = [shadow(doc.metadata) for doc in documents]
        rows = matrix.tolist()
        for start in range(0, len(ids), self._max_batch):
            part = slice(start, start + self._max_batch)
            batch = {
                "ids": ids[part],
                "embeddings": rows[part],
                "documents": texts[part],
                "metadatas": metadatas[part],
            }
            await self._write(collection, batch)

    async def _write(self, collection: Any, batch: dict[str, Any]) -> None:
        await self._sync(
            "upsert",
            lambda: collection.upsert(**batch),
            **{"db.operation.batch.size": len(batch["ids"])},
        )

    async def search(
        self,
        vector: Sequence[float],
        *,
        k: int = 4,
        filter: MetadataFilter | None = None,
        score_threshold: float | None = None,
    ) -> list[ScoredDocument]:
        op = self._op("search")
        check_k(op, k)
        threshold = finite_threshold(op, score_threshold)
        where = self._filter(parse(filter))
        query = query_vector(op, vector, self.dimensions, self.metric)
        collection = await self._open(create=False)
        if collection is None:
            return []
        reply = await self._sync(
            "search",
            lambda: collection.query(
                query_embeddings=[query.tolist()],
                n_results=k,
                where=where,
                include=["documents", "distances"],
            ),
        )
        hits = [
            ScoredDocument(self._document(text), self._score(float(distance)))
            for text, distance in zip(reply["documents"][0], reply["distances"][0], strict=True)
        ]
        return self._threshold(hits, threshold)

    async def get(self, ids: Sequence[str]) -> list[Document]:
        ids = list(ids)
        collection = await self._open(create=False)
        if not ids or collection is None:
            return []
        reply = await self._sync(
            "get", lambda: collection.get(ids=list(dict.fromkeys(ids)), include=["documents"])
        )
        found = {
            i: self._document(t) for i, t in zip(reply["ids"], reply["documents"], strict=True)
        }
        return self._in_order(ids, found)

    async def delete(
        self, ids: Sequence[str] | None = None, *, filter: MetadataFilter | None = None
    ) -> None:
        node = delete_filter(self._op("delete"), ids, filter)
        collection = await self._open(create=False)
        if (ids is not None and not ids) or collection is None:
            return
        where = None if node is None else self._filter(node) or {KEYS: {"$contains": ALWAYS}}
        await self._sync(
            "delete",
            lambda: collection.delete(ids=None if ids is None else list(ids), where=where),
        )

    async def count(self, filter: MetadataFilter | None = None) -> int:
        where = self._filter(parse(filter))
        collection = await self._open(create=False)
        if collection is None:
            return 0
        if where is None:
            return int(await self._sync("count", collection.count))
        reply = await self._sync("count", lambda: collection.get(where=where, include=[]))
        return len(reply["ids"])

    async def aclose(self) -> None:
        """Nothing to close: an embedded Chroma writes as it goes."""
        self._collection = None

    # ------------------------------------------------------------------ helpers

    async def _sync(self, name: str, call: Callable[[], T], **attrs: int) -> T:
        return await self._call(name, lambda: asyncio.to_thread(call), **attrs)

    def _filter(self, node: Filter) -> dict[str, Any] | None:
        return to_mongo(node, contains="$contains")

    def _score(self, distance: float) -> float:
        if self.metric == "euclidean":
            return -math.sqrt(max(distance, 0.0))
        return 1.0 - distance

    def _document(self, text: Any) -> Document:
        try:
            data = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            data = None
        return decode_document(data, self._op("read"), f"{self._where}/{self.collection}")

    async def _open(self, *, create: bool) -> Any:
        """The collection (None if absent and not ``create``d); an existing one must measure
        with this store's metric."""
        if self._collection is not None:
            return self._collection
        client, name = self._client, self.collection
        names = await self._sync(
            "exists",
            lambda: [c if isinstance(c, str) else c.name for c in client.list_collections()],
        )
        if name in names:
            collection = await self._sync(
                "describe", lambda: client.get_collection(name, embedding_function=None)
            )
            sample = await self._sync(
                "describe", lambda: collection.get(limit=1, include=["embeddings"])
            )
            embeddings = sample.get("embeddings")
            size = None if embeddings is None or len(embeddings) == 0 else len(embeddings[0])
            self._check_existing(collection, size)
        elif create:
            configuration = {"hnsw": {"space": _SPACE[self.metric]}}
            collection = await self._sync(
                "create",
                lambda: client.create_collection(
                    name, configuration=configuration, embedding_function=None
                ),
            )
        else:
            return None
        self._collection = collection
        return collection

    def _check_existing(self, collection: Any, dimension: int | None) -> None:
        with warnings.catch_warnings():  # "legacy embedding function config": we set none
            warnings.simplefilter("ignore", DeprecationWarning)
            configuration = getattr(collection, "configuration", None) or {}
        hnsw = configuration.get("hnsw") or {}
        space = hnsw.get("space") or (collection.metadata or {}).get("hnsw:space", "l2")
        metric = _METRIC.get(str(space))
        if metric != self.metric:
            raise BelugaError(
                self._op("open"),
                ErrorCode.INVALID_CONFIG,
                f"collection {self.collection!r} in {self._where} measures {metric or space} "
                f"distance, not {self.metric}: set metric={metric!r} or use another collection",
            )
        if dimension is not None:
            if self.dimensions is not None and dimension != self.dimensions:
                raise BelugaError(
                    self._op("open"),
                    ErrorCode.INVALID_CONFIG,
                    f"collection {self.collection!r} in {self._where} holds vectors of "
                    f"{dimension} floats, not {self.dimensions}: set dimensions={dimension} or "
                    "use another collection",
                )
            self.dimensions = dimension

    def _error(self, exc: Exception, op: str) -> BelugaError:
        errors = self._errors
        where = f"{self._where}/{self.collection}"
        if isinstance(exc, errors.NotFoundError):
            self._collection = None
            return BelugaError(
                op, ErrorCode.NOT_FOUND, f"{where}: {exc}; was the collection deleted?", cause=exc
            )
        if isinstance(exc, errors.ChromaError | ValueError | TypeError):
            return BelugaError(op, ErrorCode.INVALID_REQUEST, f"{where} refused: {exc}", cause=exc)
        if isinstance(exc, OSError):
            return BelugaError(
                op,
                ErrorCode.PROVIDER_UNAVAILABLE,
                f"{where} could not read or write its files ({exc}); check the path and disk",
                cause=exc,
            )
        return own_failure(op, exc, "chromadb")

    def __repr__(self) -> str:
        return (
            f"ChromaVectorStore(collection={self.collection!r}, where={self._where!r}, "
            f"dimensions={self.dimensions}, metric={self.metric!r})"
        )
