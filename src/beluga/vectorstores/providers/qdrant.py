"""Qdrant through the official ``qdrant-client``: a server over its REST API, or local mode.

``url=`` (or ``QDRANT_URL``) reaches a Qdrant server or Qdrant Cloud (``api_key=``, or
``QDRANT_API_KEY``); ``path=`` runs the client's local mode on disk and ``location=":memory:"``
in memory (the default when no URL is given), the same engine the client ships for tests.

Qdrant point ids are unsigned integers or UUIDs, so a document id becomes a UUID (v5, the same
for the same id, which is what makes an upsert replace) and the id itself travels in the
payload. The payload holds the document's wire form under ``document`` and the filter shadow of
:mod:`._records` (type-split fields and ``beluga_keys``); filters become Qdrant ``must`` /
``should`` / ``must_not`` trees over those fields, so every key and value is data, never query
text. Scores: Qdrant's ``Cosine`` and ``Dot`` are the protocol's; its ``Euclid`` is a distance,
negated here. The collection is created on first use with the store's ``dimensions`` and
``metric``; an existing one is checked against them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from beluga.config.endpoints import endpoint, env_key
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.provider_errors import (
    error_for_status,
    is_decode_error,
    not_json,
    own_failure,
    timed_out,
    unreachable,
)
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
from beluga.vectorstores.filters import And, Compare, Exists, Filter, In, Or, Scalar, parse
from beluga.vectorstores.providers._records import (
    ALWAYS,
    KEYS,
    NEVER,
    decode_document,
    encode_document,
    field,
    kind_of,
    point_id,
    shadow,
    token,
)
from beluga.vectorstores.providers._remote import RemoteStore

if TYPE_CHECKING:
    from qdrant_client import AsyncQdrantClient

__all__ = ["QdrantVectorStore", "qdrant_filter"]

_DISTANCE: dict[str, str] = {"cosine": "Cosine", "dot": "Dot", "euclidean": "Euclid"}
_METRIC = {v: k for k, v in _DISTANCE.items()}
_BATCH = 256


class QdrantVectorStore(RemoteStore):
    """Documents in one Qdrant collection (see the module docstring)."""

    provider: ClassVar[str] = "qdrant"
    native: ClassVar[dict[str, str]] = {
        "search": "query_points",
        "get": "retrieve",
        "exists": "collection_exists",
        "describe": "get_collection",
        "create": "create_collection",
    }

    def __init__(
        self,
        collection: str = "beluga",
        *,
        url: str | None = None,
        api_key: str | None = None,
        path: str | None = None,
        location: str | None = None,
        dimensions: int | None = None,
        metric: Metric = "cosine",
        timeout: float | None = 30.0,
        retries: int = 3,
        client: AsyncQdrantClient | None = None,
    ) -> None:
        super().__init__(collection, retries=retries)
        op = self._op("init")
        self.metric: Metric = check_metric(op, metric)
        self.dimensions = check_dimensions(op, dimensions)
        sdk: Any = require("qdrant_client", extra="qdrant")
        self._models: Any = require("qdrant_client.models", extra="qdrant")
        self._sdk = sdk
        url = url or (None if path or location or client else os.environ.get("QDRANT_URL"))
        if sum(x is not None for x in (url, path, location)) > 1:
            raise BelugaError(
                op,
                ErrorCode.INVALID_CONFIG,
                "give one of url= (a server), path= (local mode on disk) or location= "
                "(':memory:'), not several",
            )
        key = env_key(api_key, "QDRANT_API_KEY") if url else None
        self._owns_client = client is None
        if url:
            conn = endpoint(url, default_url=url, api_key=key, timeout=timeout)
            self._where = f"Qdrant at {conn.shown}"
            seconds = None if timeout is None else max(int(timeout), 1)
            self._client: AsyncQdrantClient = client or sdk.AsyncQdrantClient(
                url=conn.url,
                api_key=key,
                headers=conn.headers,
                timeout=seconds,
                check_compatibility=False,
            )
        else:
            self._where = f"Qdrant local mode ({path or location or ':memory:'})"
            self._client = client or sdk.AsyncQdrantClient(
                path=path, location=None if path else location or ":memory:"
            )
        self._ready = False

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
        await self._ensure(create=True)
        ids = [point_id(doc.id) for doc in documents]
        rows = matrix.tolist()
        payloads = [{"document": encode_document(d), **shadow(d.metadata)} for d in documents]
        for start in range(0, len(ids), _BATCH):
            part = slice(start, start + _BATCH)
            # One columnar Batch per request: one validation, not one per point.
            batch = self._models.Batch(ids=ids[part], vectors=rows[part], payloads=payloads[part])
            await self._write(batch, len(ids[part]))

    async def _write(self, batch: Any, size: int) -> None:
        await self._call(
            "upsert",
            lambda: self._client.upsert(self.collection, points=batch, wait=True),
            **{"db.operation.batch.size": size},
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
        node = parse(filter)
        query = query_vector(op, vector, self.dimensions, self.metric)
        if not await self._ensure(create=False):
            return []
        native = self._filter(node)
        reply = await self._call(
            "search",
            lambda: self._client.query_points(
                self.collection,
                query=query.tolist(),
                query_filter=native,
                limit=k,
                with_payload=["document"],
            ),
        )
        sign = -1.0 if self.metric == "euclidean" else 1.0
        hits = [
            ScoredDocument(self._document(p.payload), sign * float(p.score)) for p in reply.points
        ]
        return self._threshold(hits, threshold)

    async def get(self, ids: Sequence[str]) -> list[Document]:
        ids = list(ids)
        if not ids or not await self._ensure(create=False):
            return []
        records = await self._call(
            "get",
            lambda: self._client.retrieve(
                self.collection,
                ids=[point_id(i) for i in dict.fromkeys(ids)],
                with_payload=["document"],
            ),
        )
        found = {doc.id: doc for doc in (self._document(r.payload) for r in records)}
        return self._in_order(ids, found)

    async def delete(
        self, ids: Sequence[str] | None = None, *, filter: MetadataFilter | None = None
    ) -> None:
        node = delete_filter(self._op("delete"), ids, filter)
        if (ids is not None and not ids) or not await self._ensure(create=False):
            return
        m = self._models
        conditions: list[Any] = []
        if ids is not None:
            conditions.append(m.HasIdCondition(has_id=[point_id(i) for i in ids]))
        if node is not None:
            conditions.append(self._filter(node) or _everything(m))
        selector = m.FilterSelector(filter=m.Filter(must=conditions))
        await self._call(
            "delete",
            lambda: self._client.delete(self.collection, points_selector=selector, wait=True),
        )

    async def count(self, filter: MetadataFilter | None = None) -> int:
        node = parse(filter)
        if not await self._ensure(create=False):
            return 0
        native = self._filter(node)
        result = await self._call(
            "count",
            lambda: self._client.count(self.collection, count_filter=native, exact=True),
        )
        return int(result.count)

    async def aclose(self) -> None:
        """Close the client, unless it was passed in as ``client=``."""
        if self._owns_client:
            await self._client.close()

    # ------------------------------------------------------------------ helpers

    def _filter(self, node: Filter) -> Any:
        native = qdrant_filter(node)
        return None if native is None else self._models.Filter.model_validate(native)

    def _document(self, payload: Any) -> Document:
        data = payload.get("document") if isinstance(payload, dict) else None
        return decode_document(data, self._op("read"), f"{self._where}/{self.collection}")

    async def _ensure(self, *, create: bool) -> bool:
        """Whether the collection exists (created when ``create`` and the size is known);
        an existing one must have this store's size and metric."""
        if self._ready:
            return True
        exists = await self._call("exists", lambda: self._client.collection_exists(self.collection))
        if exists:
            info = await self._call(
                "describe", lambda: self._client.get_collection(self.collection)
            )
            self._check_existing(info)
        elif create and self.dimensions is not None:
            params = self._models.VectorParams(
                size=self.dimensions, distance=self._models.Distance(_DISTANCE[self.metric])
            )
            await self._call(
                "create",
                lambda: self._client.create_collection(self.collection, vectors_config=params),
            )
        else:
            return False
        self._ready = True
        return True

    def _check_existing(self, info: Any) -> None:
        params = info.config.params.vectors
        if not hasattr(params, "size"):
            raise BelugaError(
                self._op("open"),
                ErrorCode.INVALID_CONFIG,
                f"collection {self.collection!r} at {self._where} has named vectors; Beluga "
                "uses one unnamed vector per point: choose another collection name",
            )
        size, metric = int(params.size), _METRIC.get(str(getattr(params.distance, "value", "")))
        if self.dimensions is not None and size != self.dimensions:
            raise BelugaError(
                self._op("open"),
                ErrorCode.INVALID_CONFIG,
                f"collection {self.collection!r} at {self._where} holds vectors of {size} "
                f"floats, not {self.dimensions}: set dimensions={size} or use another collection",
            )
        if metric != self.metric:
            raise BelugaError(
                self._op("open"),
                ErrorCode.INVALID_CONFIG,
                f"collection {self.collection!r} at {self._where} measures {metric or 'other'} "
                f"distance, not {self.metric}: set metric={metric!r} or use another collection",
            )
        self.dimensions = size

    def _error(self, exc: Exception, op: str) -> BelugaError:
        sdk = self._sdk
        unexpected = sdk.http.exceptions.UnexpectedResponse
        if isinstance(exc, unexpected):
            return error_for_status(
                op,
                int(exc.status_code or 500),
                _server_message(exc.content),
                provider=self._where,
                headers=dict(exc.headers) if exc.headers is not None else None,
                cause=exc,
            )
        exhausted = sdk.common.client_exceptions.ResourceExhaustedResponse
        if isinstance(exc, exhausted):
            return BelugaError(
                op,
                ErrorCode.RATE_LIMITED,
                f"{self._where} is rate limiting ({exc.message}); slow down or retry after "
                f"{exc.retry_after_s}s",
                retry_after=float(exc.retry_after_s),
                cause=exc,
            )
        if isinstance(exc, sdk.http.exceptions.ResponseHandlingException):
            source = exc.source
            name = type(source).__name__
            if "Timeout" in name:
                return timed_out(op, self._where, exc)
            if is_decode_error(source) or "ValidationError" in name:
                return not_json(op, self._where, exc)
            return unreachable(op, self._where, exc, name, check="url and that Qdrant is up")
        if isinstance(exc, ValueError | KeyError):  # local mode refuses with these
            return BelugaError(
                op, ErrorCode.INVALID_REQUEST, f"{self._where} refused: {exc}", cause=exc
            )
        return own_failure(op, exc, "qdrant-client")

    def __repr__(self) -> str:
        return (
            f"QdrantVectorStore(collection={self.collection!r}, where={self._where!r}, "
            f"dimensions={self.dimensions}, metric={self.metric!r})"
        )


def _server_message(content: bytes) -> str:
    """Qdrant's error text: ``{"status": {"error": "..."}}``, else the raw body."""
    import json

    try:
        body = json.loads(content)
        return str(body["status"]["error"])
    except Exception:
        return content.decode("utf-8", "replace")


def _everything(models: Any) -> Any:
    return models.Filter(must=[models.FieldCondition(key=KEYS, match={"value": ALWAYS})])


# ------------------------------------------------------------------------- filter translation


def _holds(value: str) -> dict[str, Any]:
    return {"key": KEYS, "match": {"value": value}}


def _eq(key: str, value: Scalar) -> dict[str, Any]:
    kind = kind_of(value)
    name = field(key, kind or "s")
    if kind == "n":
        number = float(value)
        return {"key": name, "range": {"gte": number, "lte": number}}
    return {"key": name, "match": {"value": value}}


def qdrant_filter(node: Filter) -> dict[str, Any] | None:
    """A parsed filter as Qdrant's REST filter JSON over the shadow fields (None: all)."""
    if isinstance(node, And) and not node.children:
        return None
    item = _condition(node)
    return item if set(item) <= {"must", "should", "must_not"} else {"must": [item]}


def _condition(node: Filter) -> dict[str, Any]:
    if isinstance(node, And):
        if not node.children:
            return _holds(ALWAYS)
        return {"must": [_condition(c) for c in node.children]}
    if isinstance(node, Or):
        return {"should": [_condition(c) for c in node.children]}
    if isinstance(node, Exists):
        held = _holds(token(node.key))
        return held if node.present else {"must_not": [held]}
    if isinstance(node, In):
        if not node.values:
            return _holds(token(node.key)) if node.negate else _holds(NEVER)
        alternatives = [_eq(node.key, v) for v in node.values]
        if node.negate:
            return {"must": [_holds(token(node.key))], "must_not": alternatives}
        return {"should": alternatives}
    assert isinstance(node, Compare)
    if node.op == "eq":
        return _eq(node.key, node.value)
    if node.op == "ne":
        return {"must": [_holds(token(node.key))], "must_not": [_eq(node.key, node.value)]}
    return {"key": field(node.key, "n"), "range": {node.op: float(node.value)}}
