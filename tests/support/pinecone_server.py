"""A loopback server speaking Pinecone's data-plane REST API (one dense index), with faults.

Routes and JSON as Pinecone's API reference documents them and the official SDK sends them
(camelCase): ``POST /vectors/upsert`` (``{"vectors": [{"id", "values", "metadata"}],
"namespace"}`` -> ``{"upsertedCount"}``), ``POST /query`` (``topK``, ``vector``, ``filter``,
``includeMetadata``, ``includeValues``, ``namespace`` -> ``{"matches": [{"id", "score",
"metadata"}], "namespace", "usage": {"readUnits"}}``), ``GET /vectors/fetch?ids=..`` ->
``{"vectors": {id: {...}}}``, ``POST /vectors/fetch_by_metadata`` (paginated),
``POST /vectors/delete`` (``ids`` | ``filter`` | ``deleteAll``) and ``POST
/describe_index_stats``. Scores: ``cosine`` the cosine similarity, ``dotproduct`` the inner
product, ``euclidean`` the squared Euclidean distance (lower is closer). Metadata values are
strings, numbers, booleans or lists of strings (``null`` is refused); filters use Pinecone's
operators, a list field matching ``$eq``/``$in`` when any element does. Errors are Pinecone's
data-plane bodies (``{"code": 3, "message": "...", "details": []}``) with its statuses; the
``Api-Key`` header is required.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.api_server import ApiServer
from tests.support.replay_server import ReceivedRequest, Reply

__all__ = ["PineconeServer", "pinecone_error"]

_GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 429: 8, 500: 13, 503: 14}


def pinecone_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Reply:
    """An error answer as Pinecone's data plane sends it."""
    body = {"code": _GRPC_CODES.get(status, 2), "message": message, "details": []}
    return Reply.json(body, status, headers)


class _Refused(Exception):
    pass


class PineconeServer(ApiServer):
    """One Pinecone index on loopback (see the module docstring)."""

    def __init__(self, *, dimension: int, metric: str = "cosine", api_key: str) -> None:
        super().__init__()
        self.dimension, self.metric, self.api_key = dimension, metric, api_key
        self.namespaces: dict[str, dict[str, dict[str, Any]]] = {}

    def handle(self, request: ReceivedRequest) -> Reply:
        if request.headers.get("api-key") != self.api_key:
            return pinecone_error(401, "Invalid API Key")
        parts = urlsplit(request.path)
        route = (request.method, parts.path)
        try:
            if route == ("GET", "/vectors/fetch"):
                query = parse_qs(parts.query)
                return self._fetch(query.get("ids", []), query.get("namespace", [""])[-1])
            body: Any = json.loads(request.body) if request.body else {}
            handler = {
                ("POST", "/vectors/upsert"): self._upsert,
                ("POST", "/query"): self._query,
                ("POST", "/vectors/delete"): self._delete,
                ("POST", "/vectors/fetch_by_metadata"): self._fetch_by_metadata,
                ("POST", "/describe_index_stats"): self._stats,
            }.get(route)
            if handler is None:
                return pinecone_error(404, f"Not Found: {request.method} {parts.path}")
            return handler(body)
        except _Refused as exc:
            return pinecone_error(400, str(exc))

    # ------------------------------------------------------------------ routes

    def _upsert(self, body: dict[str, Any]) -> Reply:
        space = self.namespaces.setdefault(body.get("namespace", ""), {})
        vectors = body["vectors"]
        for vector in vectors:
            if len(vector["values"]) != self.dimension:
                raise _Refused(
                    f"Vector dimension {len(vector['values'])} does not match the dimension of "
                    f"the index {self.dimension}"
                )
            for key, value in (vector.get("metadata") or {}).items():
                if (
                    value is None
                    or (isinstance(value, list) and not all(isinstance(v, str) for v in value))
                    or isinstance(value, dict)
                ):
                    raise _Refused(
                        f"Metadata value must be a string, number, boolean or list of strings, "
                        f"got '{value}' for field '{key}'"
                    )
        for vector in vectors:
            space[vector["id"]] = {
                "id": vector["id"],
                "values": [float(v) for v in vector["values"]],
                "metadata": vector.get("metadata") or {},
            }
        return Reply.json({"upsertedCount": len(vectors)})

    def _query(self, body: dict[str, Any]) -> Reply:
        namespace = body.get("namespace", "")
        query = [float(v) for v in body["vector"]]
        if len(query) != self.dimension:
            raise _Refused(
                f"Vector dimension {len(query)} does not match the dimension of the index "
                f"{self.dimension}"
            )
        scored = [
            (self._score(query, record["values"]), record)
            for record in self.namespaces.get(namespace, {}).values()
            if _matches(body.get("filter") or {}, record["metadata"])
        ]
        scored.sort(key=lambda item: item[0], reverse=self.metric != "euclidean")
        matches = []
        for score, record in scored[: body["topK"]]:
            match: dict[str, Any] = {"id": record["id"], "score": score, "values": []}
            if body.get("includeValues"):
                match["values"] = record["values"]
            if body.get("includeMetadata"):
                match["metadata"] = record["metadata"]
            matches.append(match)
        usage = {"readUnits": 5}
        return Reply.json(
            {"results": [], "matches": matches, "namespace": namespace, "usage": usage}
        )

    def _fetch(self, ids: list[str], namespace: str) -> Reply:
        space = self.namespaces.get(namespace, {})
        found = {i: space[i] for i in ids if i in space}
        return Reply.json({"vectors": found, "namespace": namespace, "usage": {"readUnits": 1}})

    def _fetch_by_metadata(self, body: dict[str, Any]) -> Reply:
        namespace = body.get("namespace", "")
        if not body.get("filter"):
            raise _Refused("Fetch by metadata with empty metadata filter is not allowed")
        records = [
            r
            for r in self.namespaces.get(namespace, {}).values()
            if _matches(body["filter"], r["metadata"])
        ]
        start = int(body.get("paginationToken") or 0)
        limit = int(body.get("limit") or 100)
        page = records[start : start + limit]
        answer: dict[str, Any] = {
            "vectors": {r["id"]: r for r in page},
            "namespace": namespace,
            "usage": {"readUnits": 1},
        }
        if start + limit < len(records):
            answer["pagination"] = {"next": str(start + limit)}
        return Reply.json(answer)

    def _delete(self, body: dict[str, Any]) -> Reply:
        space = self.namespaces.setdefault(body.get("namespace", ""), {})
        if body.get("deleteAll"):
            space.clear()
        elif "ids" in body:
            for doc_id in body["ids"]:
                space.pop(doc_id, None)
        elif body.get("filter"):
            for doc_id in [i for i, r in space.items() if _matches(body["filter"], r["metadata"])]:
                del space[doc_id]
        else:
            raise _Refused("Delete with empty metadata filter is not allowed")
        return Reply.json({})

    def _stats(self, body: dict[str, Any]) -> Reply:
        if body.get("filter"):
            raise _Refused(
                "Serverless and Starter indexes do not support describing index stats with "
                "metadata filtering."
            )
        namespaces = {n: {"vectorCount": len(s)} for n, s in self.namespaces.items() if s}
        return Reply.json(
            {
                "namespaces": namespaces,
                "dimension": self.dimension,
                "indexFullness": 0.0,
                "totalVectorCount": sum(len(s) for s in self.namespaces.values()),
                "metric": self.metric,
                "vectorType": "dense",
            }
        )

    def _score(self, a: list[float], b: list[float]) -> float:
        dot = sum(x * y for x, y in zip(a, b, strict=True))
        if self.metric == "dotproduct":
            return dot
        if self.metric == "euclidean":
            return sum((x - y) ** 2 for x, y in zip(a, b, strict=True))
        norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
        return dot / norms if norms else 0.0


# --------------------------------------------------------------------------- Pinecone filters


def _equal(stored: Any, value: Any) -> bool:
    if isinstance(stored, list):
        return any(_equal(item, value) for item in stored)
    if isinstance(stored, bool) or isinstance(value, bool):
        return isinstance(stored, bool) and isinstance(value, bool) and stored is value
    if isinstance(value, str) or isinstance(stored, str):
        return stored == value
    return float(stored) == float(value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _matches(spec: Mapping[str, Any], metadata: Mapping[str, Any]) -> bool:
    for key, condition in spec.items():
        if key == "$and":
            if not all(_matches(c, metadata) for c in condition):
                return False
            continue
        if key == "$or":
            if not any(_matches(c, metadata) for c in condition):
                return False
            continue
        ops = condition if isinstance(condition, Mapping) else {"$eq": condition}
        for op, value in ops.items():
            if not _test(op, value, key in metadata, metadata.get(key)):
                return False
    return True


def _test(op: str, value: Any, present: bool, stored: Any) -> bool:
    if op == "$exists":
        return present is bool(value)
    if op == "$eq":
        return present and _equal(stored, value)
    if op == "$ne":
        return not (present and _equal(stored, value))
    if op == "$in":
        return present and any(_equal(stored, v) for v in value)
    if op == "$nin":
        return not (present and any(_equal(stored, v) for v in value))
    if op in ("$gt", "$gte", "$lt", "$lte"):
        if not (present and _number(stored)):
            return False
        limit = float(value)
        return {
            "$gt": stored > limit,
            "$gte": stored >= limit,
            "$lt": stored < limit,
            "$lte": stored <= limit,
        }[op]
    raise _Refused(f"Invalid filter operator {op}")
