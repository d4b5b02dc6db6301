"""Pinecone through the official ``pinecone`` SDK's asyncio data plane (``AsyncIndex``).

The index is created in Pinecone (console or control plane) with a ``dimension`` and a
``metric``; the store talks to its ``host`` (``PINECONE_HOST``) with ``api_key``
(``PINECONE_API_KEY``), in one ``namespace``. On first use it reads ``describe_index_stats`` and
refuses an index of another size or metric with the fix.

A record's metadata is the document's wire form as JSON text (``beluga_document``) plus the
filter shadow of :mod:`._records`, whose values are all of Pinecone's metadata types (strings,
numbers, booleans, a list of strings); filters are Pinecone's own operators over it. Pinecone
limits metadata to 40 KB a record, so a larger document is refused before sending, with the
fix. Scores: ``cosine`` and ``dotproduct`` are the protocol's; ``euclidean`` is Pinecone's
squared distance, turned into the negated distance. Counting with a filter pages through
``fetch_by_metadata`` (serverless indexes refuse filtered stats); deleting ids that match a
filter reads those ids and checks the filter here, with the reference evaluator, since
Pinecone deletes by ids or by filter, not both.

The SDK retries 408/429/5xx by itself and its data-plane client takes no retry policy; its
retries are turned off here so that :mod:`beluga.core.resilience` alone decides (one policy,
and a ``retry-after`` hint reaches the caller). Pinecone serverless is eventually consistent:
a write may take a moment to be visible to queries.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Sequence
from typing import Any, ClassVar

from beluga.config.endpoints import endpoint, env_key
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.provider_errors import error_for_status, own_failure, timed_out, unreachable
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
from beluga.vectorstores.filters import And, Filter, compile_filter, parse
from beluga.vectorstores.providers._records import (
    decode_document,
    encode_document,
    shadow,
    to_mongo,
)
from beluga.vectorstores.providers._remote import RemoteStore

__all__ = ["PineconeVectorStore"]

_METRIC: dict[str, str] = {"cosine": "cosine", "dot": "dotproduct", "euclidean": "euclidean"}
_FROM = {v: k for k, v in _METRIC.items()}
_DOCUMENT = "beluga_document"
_METADATA_LIMIT = 40_960
_UPSERT_BATCH = 100
_FETCH_BATCH = 100
_TOP_K_MAX = 10_000
_PAGE = 10_000


class PineconeVectorStore(RemoteStore):
    """Documents in one namespace of a Pinecone index (see the module docstring)."""

    provider: ClassVar[str] = "pinecone"
    native: ClassVar[dict[str, str]] = {
        "search": "query",
        "get": "fetch",
        "count": "describe_index_stats",
        "describe": "describe_index_stats",
    }

    def __init__(
        self,
        index: str | None = None,
        *,
        host: str | None = None,
        api_key: str | None = None,
        namespace: str = "",
        dimensions: int | None = None,
        metric: Metric = "cosine",
        timeout: float | None = 30.0,
        retries: int = 3,
        client: Any = None,
    ) -> None:
        super().__init__(index or namespace or "default", retries=retries)
        op = self._op("init")
        self.metric: Metric = check_metric(op, metric)
        self.dimensions = check_dimensions(op, dimensions)
        self.namespace = namespace
        sdk: Any = require("pinecone", extra="pinecone")
        self._sdk = sdk
        host = host or os.environ.get("PINECONE_HOST")
        key = env_key(api_key, "PINECONE_API_KEY")
        if client is None and not host:
            raise BelugaError(
                op,
                ErrorCode.INVALID_CONFIG,
                "Pinecone needs the index host: pass host= (or set PINECONE_HOST) to the host "
                "the Pinecone console shows for the index",
            )
        if client is None and not key:
            raise BelugaError(
                op,
                ErrorCode.INVALID_CONFIG,
                "Pinecone needs an API key: pass api_key= or set PINECONE_API_KEY",
            )
        conn = endpoint(host, default_url=host or "https://pinecone.io", api_key=key)
        self._where = f"Pinecone index at {conn.shown}"
        self._owns_client = client is None
        if client is None:
            try:
                client = sdk.AsyncIndex(
                    host=conn.url,
                    api_key=key,
                    additional_headers=conn.headers,
                    timeout=timeout if timeout is not None else 300.0,
                )
            except sdk.PineconeError as exc:
                raise BelugaError(op, ErrorCode.INVALID_CONFIG, str(exc), cause=exc) from exc
            _no_sdk_retries(client)
        self._index: Any = client
        self._checked = False

    # ------------------------------------------------------------------ the protocol

    async def upsert(
        self, documents: Sequence[Document], vectors: Sequence[Sequence[float]]
    ) -> None:
        op = self._op("upsert")
        matrix = check_batch(op, documents, vectors, self.dimensions, self.metric)
        if not documents:
            return
        await self._check()
        records = []
        for i, (doc, row) in enumerate(zip(documents, matrix.tolist(), strict=True)):
            metadata = {_DOCUMENT: json.dumps(encode_document(doc), ensure_ascii=False)}
            metadata.update(shadow(doc.metadata))
            size = len(json.dumps(metadata).encode())
            if size > _METADATA_LIMIT:
                raise BelugaError(
                    op,
                    ErrorCode.INVALID_REQUEST,
                    f"documents[{i}] ({doc.id!r}) needs {size} bytes of Pinecone metadata, over "
                    f"its {_METADATA_LIMIT}-byte limit per record: split the text into smaller "
                    "chunks, or refer to images by URL instead of inlining them",
                )
            records.append({"id": doc.id, "values": row, "metadata": metadata})
        for start in range(0, len(records), _UPSERT_BATCH):
            await self._write(records[start : start + _UPSERT_BATCH])

    async def _write(self, batch: list[dict[str, Any]]) -> None:
        await self._call(
            "upsert",
            lambda: self._index.upsert(
                vectors=batch, namespace=self.namespace, show_progress=False
            ),
            **{"db.operation.batch.size": len(batch)},
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
        if k > _TOP_K_MAX:
            raise BelugaError(
                op, ErrorCode.INVALID_REQUEST, f"Pinecone returns at most {_TOP_K_MAX} hits: k={k}"
            )
        threshold = finite_threshold(op, score_threshold)
        native = to_mongo(parse(filter), contains="$in")
        query = query_vector(op, vector, self.dimensions, self.metric)
        await self._check()
        reply = await self._call(
            "search",
            lambda: self._index.query(
                top_k=k,
                vector=query.tolist(),
                namespace=self.namespace,
                filter=native,
                include_metadata=True,
            ),
        )
        hits = [
            ScoredDocument(self._document(m.metadata), self._score(m.score)) for m in reply.matches
        ]
        return self._threshold(hits, threshold)

    async def get(self, ids: Sequence[str]) -> list[Document]:
        ids = list(ids)
        found: dict[str, Document] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), _FETCH_BATCH):
            batch = unique[start : start + _FETCH_BATCH]
            reply = await self._fetch(batch)
            for vector in reply.vectors.values():
                doc = self._document(vector.metadata)
                found[doc.id] = doc
        return self._in_order(ids, found)

    async def _fetch(self, batch: list[str]) -> Any:
        return await self._call(
            "get", lambda: self._index.fetch(ids=batch, namespace=self.namespace)
        )

    async def delete(
        self, ids: Sequence[str] | None = None, *, filter: MetadataFilter | None = None
    ) -> None:
        node = delete_filter(self._op("delete"), ids, filter)
        if ids is not None:
            targets = list(ids)
            if node is not None and targets:
                keep = compile_filter(node)
                targets = [d.id for d in await self.get(targets) if keep(d.metadata)]
            for start in range(0, len(targets), _UPSERT_BATCH):
                batch = targets[start : start + _UPSERT_BATCH]
                await self._remove(ids=batch)
            return
        assert node is not None
        native = to_mongo(node, contains="$in")
        if native is None:
            await self._remove(delete_all=True)
        else:
            await self._remove(filter=native)

    async def _remove(self, **selector: Any) -> None:
        await self._call("delete", lambda: self._index.delete(namespace=self.namespace, **selector))

    async def count(self, filter: MetadataFilter | None = None) -> int:
        node = parse(filter)
        if isinstance(node, And) and not node.children:
            stats = await self._call("count", self._index.describe_index_stats)
            summary = stats.namespaces.get(self.namespace)
            return int(summary.vector_count) if summary is not None else 0
        return await self._count_matching(node)

    async def _count_matching(self, node: Filter) -> int:
        native = to_mongo(node, contains="$in")
        total, token = 0, None
        while True:
            page = await self._page(native, token)
            total += len(page.vectors)
            token = page.pagination.next if page.pagination is not None else None
            if not token:
                return total

    async def _page(self, native: dict[str, Any] | None, token: str | None) -> Any:
        return await self._call(
            "fetch_by_metadata",
            lambda: self._index.fetch_by_metadata(
                filter=native, namespace=self.namespace, limit=_PAGE, pagination_token=token
            ),
        )

    async def aclose(self) -> None:
        """Close the SDK's HTTP client, unless it was passed in as ``client=``."""
        if self._owns_client:
            await self._index.close()

    # ------------------------------------------------------------------ helpers

    async def _check(self) -> None:
        """On first use: the index must have this store's size and metric."""
        if self._checked:
            return
        stats = await self._call("describe", self._index.describe_index_stats)
        size = int(stats.dimension or 0)
        if self.dimensions is not None and size and size != self.dimensions:
            raise BelugaError(
                self._op("open"),
                ErrorCode.INVALID_CONFIG,
                f"the {self._where} holds vectors of {size} floats, not {self.dimensions}: set "
                f"dimensions={size}, or create an index with dimension {self.dimensions}",
            )
        metric = _FROM.get(str(getattr(stats, "metric", "") or ""))
        if metric is not None and metric != self.metric:
            raise BelugaError(
                self._op("open"),
                ErrorCode.INVALID_CONFIG,
                f"the {self._where} measures {metric} distance, not {self.metric}: set "
                f"metric={metric!r}",
            )
        if size:
            self.dimensions = size
        self._checked = True

    def _score(self, score: float) -> float:
        if self.metric == "euclidean":
            return -math.sqrt(max(float(score), 0.0))
        return float(score)

    def _document(self, metadata: Any) -> Document:
        text = metadata.get(_DOCUMENT) if isinstance(metadata, dict) else None
        try:
            data = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            data = None
        where = f"{self._where} (namespace {self.namespace!r})"
        return decode_document(data, self._op("read"), where)

    def _error(self, exc: Exception, op: str) -> BelugaError:
        sdk = self._sdk
        if isinstance(exc, sdk.ApiError):
            return error_for_status(
                op,
                int(exc.status_code or 500),
                str(getattr(exc, "message", "") or exc),
                provider=self._where,
                headers=getattr(exc, "headers", None),
                cause=exc,
            )
        if isinstance(exc, sdk.PineconeTimeoutError):
            return timed_out(op, self._where, exc)
        if isinstance(exc, sdk.PineconeConnectionError):
            detail = type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
            return unreachable(op, self._where, exc, detail, check="host and the network")
        if isinstance(exc, sdk.PineconeValueError | sdk.PineconeTypeError):
            return BelugaError(
                op, ErrorCode.INVALID_REQUEST, f"Pinecone SDK refused: {exc}", cause=exc
            )
        return own_failure(op, exc, "pinecone SDK")

    def __repr__(self) -> str:
        return (
            f"PineconeVectorStore(where={self._where!r}, namespace={self.namespace!r}, "
            f"dimensions={self.dimensions}, metric={self.metric!r})"
        )


def _no_sdk_retries(index: Any) -> None:
    """Turn the SDK's own retries off (see the module docstring). Its data-plane client reads
    the policy from its config when it first connects; an SDK without that seam keeps its
    retries, which are bounded (3) and only add attempts."""
    http: Any = getattr(index, "_http", None)
    config: Any = getattr(http, "_config", None)
    retry: Any = getattr(config, "retry_config", None)
    if http is None or not hasattr(retry, "max_retries"):
        return
    try:
        http._config = dataclasses.replace(
            config, retry_config=dataclasses.replace(retry, max_retries=0)
        )
    except TypeError:  # no longer dataclasses: keep the SDK's bounded retries
        return
