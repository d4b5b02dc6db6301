"""A loopback server speaking Qdrant's REST API, with qdrant-client's local mode as its engine.

The routes and bodies are those of Qdrant's OpenAPI description (the ``qdrant_client.http``
models are generated from it): ``GET /`` (version), ``GET /collections/{name}/exists``,
``GET|PUT|DELETE /collections/{name}``, ``PUT /collections/{name}/points`` (upsert),
``POST /collections/{name}/points`` (retrieve), ``.../points/delete``, ``.../points/count`` and
``.../points/query``. Every answer has Qdrant's envelope ``{"result": ..., "status": "ok",
"time": s}``; errors have ``{"status": {"error": "..."}, "time": s}`` with Qdrant's status codes
(404 for a missing collection, 400 "Wrong input" for a refused request, 401 without the
``api-key`` header when the server has a key). Requests are parsed with the client's own
models and run on its local engine (``QdrantClient(":memory:")``), so search, filters and
scores are Qdrant's semantics as the client implements them, not ours.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from qdrant_client import QdrantClient, models

from tests.support.api_server import ApiServer
from tests.support.replay_server import ReceivedRequest, Reply

__all__ = ["QdrantServer", "qdrant_error"]

_COLLECTION = re.compile(r"^/collections/(?P<name>[^/?]+)(?P<rest>/[^?]*)?")


def qdrant_error(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    """An error answer as Qdrant sends it."""
    return Reply.json({"status": {"error": message}, "time": 0.0001}, status, headers)


def _ok(result: Any) -> Reply:
    return Reply.json({"result": result, "status": "ok", "time": 0.000123})


class QdrantServer(ApiServer):
    """Qdrant's REST API on loopback (see the module docstring)."""

    def __init__(self, *, api_key: str | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.engine = QdrantClient(location=":memory:")
        self._operation = 0

    async def aclose(self) -> None:
        await super().aclose()
        self.engine.close()

    def handle(self, request: ReceivedRequest) -> Reply:
        if self.api_key is not None and request.headers.get("api-key") != self.api_key:
            return Reply.text("Must provide an API key or an Authorization bearer token", 401)
        path = request.path.split("?", 1)[0]
        if path == "/" and request.method == "GET":
            return Reply.json({"title": "qdrant - vector search engine", "version": "1.15.1"})
        match = _COLLECTION.match(path)
        if match is None:
            return qdrant_error(404, f"Not found: {path}")
        name, rest = match["name"], match["rest"] or ""
        body: Any = json.loads(request.body) if request.body else {}
        route = (request.method, rest)
        if route == ("GET", "/exists"):
            return _ok({"exists": self.engine.collection_exists(name)})
        if route == ("PUT", ""):
            if self.engine.collection_exists(name):
                return qdrant_error(409, f"Wrong input: Collection `{name}` already exists!")
            vectors = models.VectorParams.model_validate(body["vectors"])
            return _ok(self.engine.create_collection(name, vectors_config=vectors))
        if not self.engine.collection_exists(name):
            return qdrant_error(404, f"Not found: Collection `{name}` doesn't exist!")
        try:
            return self._collection(name, route, body)
        except (ValueError, KeyError, AssertionError) as exc:
            return qdrant_error(400, f"Wrong input: {exc}")

    def _collection(self, name: str, route: tuple[str, str], body: Any) -> Reply:
        engine = self.engine
        if route == ("GET", ""):
            return _ok(engine.get_collection(name).model_dump(mode="json", exclude_none=True))
        if route == ("DELETE", ""):
            return _ok(engine.delete_collection(name))
        if route == ("PUT", "/points"):
            # PointsList {"points": [...]} or PointsBatch {"batch": {ids, vectors, payloads}}
            points: Any
            if "batch" in body:
                points = models.Batch.model_validate(body["batch"])
                vectors = list(points.vectors)
            else:
                points = [models.PointStruct.model_validate(p) for p in body["points"]]
                vectors = [p.vector for p in points]
            size = engine.get_collection(name).config.params.vectors.size  # type: ignore[union-attr]
            for vector in vectors:
                if len(vector) != size:
                    raise ValueError(
                        f"Vector dimension error: expected dim: {size}, got {len(vector)}"
                    )
            engine.upsert(name, points=points)
            return self._updated()
        if route == ("POST", "/points"):
            request = models.PointRequest.model_validate(body)
            records = engine.retrieve(
                name,
                ids=request.ids,
                with_payload=request.with_payload if request.with_payload is not None else True,
                with_vectors=request.with_vector or False,
            )
            return _ok([r.model_dump(mode="json") for r in records])
        if route == ("POST", "/points/delete"):
            if "filter" in body:
                selector: Any = models.FilterSelector.model_validate(body)
            else:
                selector = models.PointIdsList.model_validate(body)
            engine.delete(name, points_selector=selector)
            return self._updated()
        if route == ("POST", "/points/count"):
            request_count = models.CountRequest.model_validate(body)
            result = engine.count(name, count_filter=request_count.filter, exact=True)
            return _ok(result.model_dump(mode="json"))
        if route == ("POST", "/points/query"):
            query = models.QueryRequest.model_validate(body)
            answer = engine.query_points(
                name,
                query=query.query,
                query_filter=query.filter,
                limit=query.limit or 10,
                with_payload=query.with_payload if query.with_payload is not None else False,
                score_threshold=query.score_threshold,
            )
            return _ok(answer.model_dump(mode="json"))
        return qdrant_error(404, f"Not found: {route[0]} /collections/{name}{route[1]}")

    def _updated(self) -> Reply:
        self._operation += 1
        return _ok({"operation_id": self._operation, "status": "completed"})

    def __repr__(self) -> str:
        return f"QdrantServer({self.url}, {time.strftime('%H:%M:%S')})"
