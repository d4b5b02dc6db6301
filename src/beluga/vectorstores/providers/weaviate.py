"""Weaviate through the official ``weaviate-client`` v4 (async): REST for the schema, gRPC for
data (batch import, vector search, fetch by id, batch delete, aggregate).

``url=`` (or ``WEAVIATE_URL``) is the REST address; gRPC is the same host on ``grpc_port``
(default 50051), or ``grpc_url=``. ``api_key=`` (or ``WEAVIATE_API_KEY``) is sent as a bearer
token on both. The client's start-up checks are skipped: they include a request to PyPI for the
latest client version, which a server in a private network must never make; the server's
version still comes from ``/v1/meta``.

Collection names are Weaviate class names (``Docs``: a capital first letter). The collection is
created on first use with one self-provided vector (HNSW, ``cosine``, ``dot`` or
``l2-squared``) and two properties: ``beluga_document`` (the wire form, not indexed) and
``beluga_keys`` (``text[]``, field tokenization). The filter shadow of :mod:`._records` adds one
property per key and type on first sight, declared before the data that uses it (text with field
tokenization, so ``Equal`` is an exact match, not a word match). A filter on a property the
collection does not have yet is simplified here, since Weaviate refuses filters on unknown
properties: no document can hold such a value. Document ids become UUIDs (v5 of the id).
Scores: Weaviate's distances (``1 - cos``, ``-dot``, squared L2) become the protocol's.

The client retries gRPC ``UNAVAILABLE`` itself (exponential backoff from 1 s, up to five times)
and offers no setting to stop it; every other failure reaches :mod:`beluga.core.resilience`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

from beluga.config.endpoints import endpoint, env_key, reject_userinfo
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
from beluga.vectorstores.filters import Filter, parse
from beluga.vectorstores.providers._records import (
    ALWAYS,
    KEYS,
    decode_document,
    point_id,
    shadow,
)
from beluga.vectorstores.providers._records import encode_document as _encode
from beluga.vectorstores.providers._remote import RemoteStore
from beluga.vectorstores.providers._weaviate_filters import fields, holds, weaviate_filter

__all__ = ["WeaviateVectorStore"]

_DISTANCE: dict[str, str] = {"cosine": "cosine", "dot": "dot", "euclidean": "l2-squared"}
_FROM = {v: k for k, v in _DISTANCE.items()}
_DOCUMENT = "beluga_document"
_BATCH = 200
_DELETE_PAGE = 10_000
_MAX_DELETE_ROUNDS = 1_000


class WeaviateVectorStore(RemoteStore):
    """Documents in one Weaviate collection (see the module docstring)."""

    provider: ClassVar[str] = "weaviate"
    native: ClassVar[dict[str, str]] = {
        "upsert": "insert_many",
        "search": "near_vector",
        "get": "fetch_objects",
        "delete": "delete_many",
        "count": "aggregate",
        "describe": "get_schema",
        "create": "create_schema",
        "alter": "add_property",
    }

    def __init__(
        self,
        collection: str = "Beluga",
        *,
        url: str | None = None,
        grpc_url: str | None = None,
        grpc_port: int = 50051,
        api_key: str | None = None,
        dimensions: int | None = None,
        metric: Metric = "cosine",
        timeout: float | None = 30.0,
        retries: int = 3,
        client: Any = None,
    ) -> None:
        op = "vectorstores.weaviate.init"
        name = collection[:1].upper() + collection[1:]
        if not name or not all(c.isalnum() or c == "_" for c in name) or not name[0].isalpha():
            raise BelugaError(
                op,
                ErrorCode.INVALID_CONFIG,
                f"{collection!r} is not a Weaviate collection name: use letters, digits and '_', "
                "starting with a letter",
            )
        super().__init__(name, retries=retries)
        self.metric: Metric = check_metric(op, metric)
        self.dimensions = check_dimensions(op, dimensions)
        self._sdk: Any = require("weaviate", extra="weaviate")
        self._classes: Any = require("weaviate.classes", extra="weaviate")
        url = url or os.environ.get("WEAVIATE_URL") or "http://localhost:8080"
        reject_userinfo(url, op, "Weaviate authenticates with api_key=")
        key = env_key(api_key, "WEAVIATE_API_KEY")
        conn = endpoint(url, default_url=url, api_key=key, timeout=timeout)
        self._where = f"Weaviate at {conn.shown}"
        self._owns_client = client is None
        self._client: Any = client or self._make_client(
            conn.url or url, grpc_url, grpc_port, key, timeout
        )
        self._connected = client is not None
        self._collection: Any = None
        self._properties: set[str] = set()

    def _make_client(
        self, url: str, grpc_url: str | None, grpc_port: int, key: str | None, timeout: float | None
    ) -> Any:
        rest = urlsplit(url)
        grpc = urlsplit(grpc_url) if grpc_url else None
        secure = rest.scheme == "https"
        headers = {"Authorization": f"Bearer {key}"} if key else None
        seconds = int(timeout) if timeout else 60
        config = self._classes.init.AdditionalConfig(
            timeout=self._classes.init.Timeout(init=seconds, query=seconds, insert=seconds)
        )
        try:
            return self._sdk.use_async_with_custom(
                http_host=rest.hostname or "localhost",
                http_port=rest.port or (443 if secure else 80),
                http_secure=secure,
                grpc_host=(grpc.hostname if grpc else None) or rest.hostname or "localhost",
                grpc_port=(grpc.port if grpc else None) or grpc_port,
                grpc_secure=(grpc.scheme == "https") if grpc else secure,
                headers=headers,
                additional_config=config,
                skip_init_checks=True,
            )
        except ValueError as exc:  # pydantic's ValidationError of the connection parameters
            raise BelugaError(
                "vectorstores.weaviate.init",
                ErrorCode.INVALID_CONFIG,
                f"Weaviate connection settings refused: {str(exc).splitlines()[-2:]}; check url=, "
                "grpc_url= and grpc_port= (REST and gRPC need different ports on one host)",
                cause=exc,
            ) from exc

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
        records = []
        for doc, row in zip(documents, matrix.tolist(), strict=True):
            properties = {_DOCUMENT: json.dumps(_encode(doc), ensure_ascii=False)}
            properties.update(shadow(doc.metadata))
            records.append((doc, properties, row))
        await self._declare({name for _, props, _ in records for name in props})
        data_object = self._classes.data.DataObject
        objects = [
            data_object(properties=props, uuid=point_id(doc.id), vector=row)
            for doc, props, row in records
        ]
        for start in range(0, len(objects), _BATCH):
            await self._write(collection, objects[start : start + _BATCH])

    async def _write(self, collection: Any, batch: list[Any]) -> None:
        reply = await self._call(
            "upsert",
            lambda: collection.data.insert_many(batch),
            **{"db.operation.batch.size": len(batch)},
        )
        if reply.errors:
            first = next(iter(reply.errors.values()))
            raise BelugaError(
                self._op("upsert"),
                ErrorCode.INVALID_REQUEST,
                f"{self._where} refused {len(reply.errors)} of {len(batch)} objects: "
                f"{getattr(first, 'message', first)}",
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
        collection = await self._open(create=False)
        if collection is None:
            return []
        native = await self._filter_for(node)
        metadata = self._classes.query.MetadataQuery(distance=True)
        reply = await self._call(
            "search",
            lambda: collection.query.near_vector(
                near_vector=query.tolist(),
                limit=k,
                filters=native,
                return_metadata=metadata,
                return_properties=[_DOCUMENT],
            ),
        )
        hits = [
            ScoredDocument(self._document(o.properties), self._score(o.metadata.distance))
            for o in reply.objects
        ]
        return self._threshold(hits, threshold)

    async def get(self, ids: Sequence[str]) -> list[Document]:
        ids = list(ids)
        collection = await self._open(create=False)
        if not ids or collection is None:
            return []
        unique = list(dict.fromkeys(ids))
        reply = await self._call(
            "get",
            lambda: collection.query.fetch_objects(
                filters=self._classes.query.Filter.by_id().contains_any(
                    [point_id(i) for i in unique]
                ),
                limit=len(unique),
                return_properties=[_DOCUMENT],
            ),
        )
        found = {doc.id: doc for doc in (self._document(o.properties) for o in reply.objects)}
        return self._in_order(ids, found)

    async def delete(
        self, ids: Sequence[str] | None = None, *, filter: MetadataFilter | None = None
    ) -> None:
        node = delete_filter(self._op("delete"), ids, filter)
        collection = await self._open(create=False)
        if (ids is not None and not ids) or collection is None:
            return
        q = self._classes.query.Filter
        parts: list[Any] = []
        if ids is not None:
            parts.append(q.by_id().contains_any([point_id(i) for i in dict.fromkeys(ids)]))
        if node is not None:
            parts.append(await self._filter_for(node) or holds(q, ALWAYS))
        where = parts[0] if len(parts) == 1 else q.all_of(parts)
        # One batch delete removes at most the server's QUERY_MAXIMUM_RESULTS (10,000 by
        # default) objects: repeat while a call still found that many.
        for _ in range(_MAX_DELETE_ROUNDS):
            reply = await self._call("delete", lambda: collection.data.delete_many(where=where))
            if int(getattr(reply, "matches", 0) or 0) < _DELETE_PAGE:
                return

    async def count(self, filter: MetadataFilter | None = None) -> int:
        node = parse(filter)
        collection = await self._open(create=False)
        if collection is None:
            return 0
        native = await self._filter_for(node)
        reply = await self._call(
            "count", lambda: collection.aggregate.over_all(filters=native, total_count=True)
        )
        return int(reply.total_count or 0)

    async def aclose(self) -> None:
        """Close the client, unless it was passed in as ``client=``."""
        if self._owns_client:
            await self._client.close()
        self._connected = False

    # ------------------------------------------------------------------ collection and schema

    async def _open(self, *, create: bool) -> Any:
        if self._collection is not None:
            return self._collection
        if not self._connected:
            await self._call("connect", self._client.connect)
            self._connected = True
        collections = self._client.collections
        exists = await self._call("exists", lambda: collections.exists(self.collection))
        handle = collections.use(self.collection)
        if exists:
            config = await self._call("describe", lambda: handle.config.get())
            self._check_existing(config)
        elif create and self.dimensions is not None:
            await self._create()
        else:
            return None
        self._collection = handle
        return handle

    async def _create(self) -> None:
        c = self._classes.config
        distance = c.VectorDistances(_DISTANCE[self.metric])
        properties = [
            c.Property(
                name=_DOCUMENT,
                data_type=c.DataType.TEXT,
                index_filterable=False,
                index_searchable=False,
            ),
            c.Property(
                name=KEYS, data_type=c.DataType.TEXT_ARRAY, tokenization=c.Tokenization.FIELD
            ),
        ]
        await self._call(
            "create",
            lambda: self._client.collections.create(
                self.collection,
                properties=properties,
                vector_config=c.Configure.Vectors.self_provided(
                    vector_index_config=c.Configure.VectorIndex.hnsw(distance_metric=distance)
                ),
            ),
        )
        self._properties = {_DOCUMENT, KEYS}

    def _check_existing(self, config: Any) -> None:
        self._properties = {p.name for p in config.properties}
        vectors = getattr(config, "vector_config", None) or {}
        index = (
            next(iter(vectors.values())).vector_index_config
            if vectors
            else config.vector_index_config
        )
        distance = getattr(getattr(index, "distance_metric", None), "value", None)
        metric = _FROM.get(str(distance))
        if metric != self.metric:
            raise BelugaError(
                self._op("open"),
                ErrorCode.INVALID_CONFIG,
                f"collection {self.collection!r} at {self._where} measures {distance} distance, "
                f"not {self.metric}: set metric={metric!r} or use another collection",
            )
        if KEYS not in self._properties:
            raise BelugaError(
                self._op("open"),
                ErrorCode.INVALID_CONFIG,
                f"collection {self.collection!r} at {self._where} was not written by Beluga "
                f"(no {KEYS!r} property): choose another collection name",
            )

    async def _declare(self, names: set[str]) -> None:
        """Add the shadow properties this batch uses that the collection lacks."""
        c = self._classes.config
        for name in sorted(names - self._properties):
            if name.startswith("fs_"):
                prop = c.Property(
                    name=name, data_type=c.DataType.TEXT, tokenization=c.Tokenization.FIELD
                )
            elif name.startswith("fn_"):
                prop = c.Property(name=name, data_type=c.DataType.NUMBER)
            elif name.startswith("fb_"):
                prop = c.Property(name=name, data_type=c.DataType.BOOL)
            else:
                continue
            await self._add_property(prop)
            self._properties.add(name)

    async def _add_property(self, prop: Any) -> None:
        collection = self._collection
        await self._call("alter", lambda: collection.config.add_property(prop))

    # ------------------------------------------------------------------ filters and errors

    async def _filter_for(self, node: Filter) -> Any:
        """``node`` as a Weaviate filter, after re-reading the schema if it names a property
        this store has not seen (another writer may have added it since the store opened)."""
        if not fields(node) <= self._properties and self._collection is not None:
            collection = self._collection
            config = await self._call("describe", lambda: collection.config.get())
            self._properties = {p.name for p in config.properties}
        return weaviate_filter(node, self._classes.query.Filter, self._properties)

    def _score(self, distance: float | None) -> float:
        d = float(distance or 0.0)
        if self.metric == "cosine":
            return 1.0 - d
        if self.metric == "dot":
            return -d
        return -math.sqrt(max(d, 0.0))

    def _document(self, properties: Any) -> Document:
        text = properties.get(_DOCUMENT) if isinstance(properties, dict) else None
        try:
            data = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            data = None
        return decode_document(data, self._op("read"), f"{self._where}/{self.collection}")

    def _error(self, exc: Exception, op: str) -> BelugaError:
        errors = self._sdk.exceptions
        if isinstance(exc, errors.UnexpectedStatusCodeError):
            return error_for_status(
                op, int(exc.status_code), _message(exc), provider=self._where, cause=exc
            )
        if isinstance(exc, errors.WeaviateQueryError | errors.WeaviateDeleteManyError):
            return _grpc_error(op, exc, self._where)
        if isinstance(exc, errors.WeaviateTimeoutError):
            return timed_out(op, self._where, exc)
        if isinstance(
            exc,
            errors.WeaviateConnectionError
            | errors.WeaviateStartUpError
            | errors.WeaviateGRPCUnavailableError,
        ):
            return unreachable(
                op,
                self._where,
                exc,
                type(exc).__name__,
                check="url, grpc_port and that Weaviate is up",
            )
        if isinstance(exc, errors.WeaviateBaseError):
            return _grpc_error(op, exc, self._where)
        return own_failure(op, exc, "weaviate-client")

    def __repr__(self) -> str:
        return (
            f"WeaviateVectorStore(collection={self.collection!r}, where={self._where!r}, "
            f"dimensions={self.dimensions}, metric={self.metric!r})"
        )


def _message(exc: Any) -> str:
    text = str(getattr(exc, "message", "") or exc)
    return text.split("\n", 1)[0]


_GRPC_STATUS = {
    "UNAVAILABLE": (ErrorCode.PROVIDER_UNAVAILABLE, True),
    "RESOURCE_EXHAUSTED": (ErrorCode.RATE_LIMITED, True),
    "DEADLINE_EXCEEDED": (ErrorCode.TIMEOUT, True),
    "UNAUTHENTICATED": (ErrorCode.AUTH_FAILED, False),
    "PERMISSION_DENIED": (ErrorCode.AUTH_FAILED, False),
    "NOT_FOUND": (ErrorCode.NOT_FOUND, False),
    "INVALID_ARGUMENT": (ErrorCode.INVALID_REQUEST, False),
    "INTERNAL": (ErrorCode.PROVIDER_UNAVAILABLE, True),
}


def _grpc_error(op: str, exc: Exception, where: str) -> BelugaError:
    """A gRPC failure the client wrapped: its status code is in the cause or the text."""
    text = str(exc)
    cause = exc.__cause__ or exc.__context__
    status = getattr(cause, "code", None)
    name = getattr(status() if callable(status) else None, "name", None)
    if name is None:
        name = next((n for n in _GRPC_STATUS if n in text), None)
    code, retryable = _GRPC_STATUS.get(name or "", (ErrorCode.INVALID_REQUEST, False))
    detail = getattr(cause, "details", None)
    said = detail() if callable(detail) else text
    return BelugaError(
        op,
        code,
        f"{where} answered {name or 'an error'}: {str(said)[:400]}",
        retryable=retryable,
        cause=exc,
    )
