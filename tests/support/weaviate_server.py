"""A loopback Weaviate: its REST schema API and its gRPC data API, built from the protobuf
definitions the official client ships (``weaviate.proto.v1``).

REST (HTTP/1.1, an :class:`~tests.support.api_server.ApiServer`, so faults can be queued):
``GET /v1/meta``, ``GET|DELETE /v1/schema/{Class}``, ``POST /v1/schema``, ``POST
/v1/schema/{Class}/properties``; errors as Weaviate sends them (``{"error": [{"message": ...}]}``).
gRPC (``weaviate.v1.Weaviate``): ``BatchObjects``, ``Search`` (``near_vector`` with a filter, or a
filter alone; ``distance`` metadata), ``BatchDelete`` and ``Aggregate`` (``objects_count``).
Distances are Weaviate's: ``cosine`` ``1 - cos``, ``dot`` ``-dot``, ``l2-squared`` the squared
distance. Filters follow Weaviate's operators (a ``text[]`` property matches ``ContainsAny``
when any element is given; ``Equal`` on a field-tokenized text is exact); a filter on a
property the class does not have is refused, as Weaviate refuses it. The ``Authorization:
Bearer`` key is required on both APIs. :attr:`WeaviateServer.grpc_faults` holds gRPC status
codes to answer the next calls with.
"""

from __future__ import annotations

import json
import math
import struct
import uuid as uuidlib
from collections import deque
from typing import Any

import grpc
from weaviate.proto.v1 import (
    aggregate_pb2,
    base_pb2,
    batch_delete_pb2,
    batch_pb2,
    properties_pb2,
    search_get_pb2,
    weaviate_pb2_grpc,
)

from tests.support.api_server import ApiServer
from tests.support.replay_server import ReceivedRequest, Reply

__all__ = ["WeaviateServer", "weaviate_error"]

Op = base_pb2.Filters


def weaviate_error(status: int, message: str) -> Reply:
    """A REST error as Weaviate sends it."""
    return Reply.json({"error": [{"message": message}]}, status)


class _Class:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.objects: dict[str, tuple[dict[str, Any], list[float]]] = {}

    @property
    def distance(self) -> str:
        vectors = self.schema.get("vectorConfig") or {}
        config = next(iter(vectors.values()))["vectorIndexConfig"] if vectors else {}
        return str(config.get("distance") or "cosine")

    def has(self, prop: str) -> bool:
        return prop in ("_id", "id") or any(p["name"] == prop for p in self.schema["properties"])


class WeaviateServer(ApiServer):
    """Weaviate's REST and gRPC APIs on loopback (see the module docstring)."""

    def __init__(self, *, api_key: str) -> None:
        super().__init__()
        self.api_key = api_key
        self.classes: dict[str, _Class] = {}
        self.grpc_faults: deque[grpc.StatusCode] = deque()
        self.grpc_calls: list[str] = []
        self.max_results = 10_000  # Weaviate's QUERY_MAXIMUM_RESULTS
        self._grpc: grpc.aio.Server | None = None
        self.grpc_port = 0

    async def start(self) -> None:
        await super().start()
        self._grpc = grpc.aio.server()
        weaviate_pb2_grpc.add_WeaviateServicer_to_server(_Servicer(self), self._grpc)
        self.grpc_port = self._grpc.add_insecure_port("127.0.0.1:0")
        await self._grpc.start()

    async def aclose(self) -> None:
        if self._grpc is not None:
            await self._grpc.stop(grace=None)
            self._grpc = None
        await super().aclose()

    def add_class(self, schema: dict[str, Any]) -> None:
        """Create a class directly, as another application would have."""
        self.classes[schema["class"]] = _Class(_class_defaults(schema))

    # ------------------------------------------------------------------ REST

    def handle(self, request: ReceivedRequest) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return weaviate_error(
                401, "anonymous access not enabled, please provide an auth scheme"
            )
        path = request.path.split("?", 1)[0].rstrip("/")
        body: Any = json.loads(request.body) if request.body else None
        if (request.method, path) == ("GET", "/v1/meta"):
            return Reply.json({"hostname": "http://[::]:8080", "version": "1.32.4", "modules": {}})
        if (request.method, path) == ("POST", "/v1/schema"):
            name = body["class"]
            if name in self.classes:
                return weaviate_error(422, f"class name {name!r} already exists")
            self.classes[name] = _Class(_class_defaults(body))
            return Reply.json(self.classes[name].schema)
        parts = path.split("/")
        if len(parts) >= 4 and parts[:3] == ["", "v1", "schema"]:
            cls = self.classes.get(parts[3])
            if cls is None:
                return Reply(404)
            if len(parts) == 4 and request.method == "GET":
                return Reply.json(cls.schema)
            if len(parts) == 4 and request.method == "DELETE":
                del self.classes[parts[3]]
                return Reply(200)
            if parts[4:] == ["properties"] and request.method == "POST":
                if cls.has(body["name"]):
                    return weaviate_error(422, f"property {body['name']!r} already exists")
                cls.schema["properties"].append(_property_defaults(body))
                return Reply.json(body)
        return weaviate_error(404, f"no route for {request.method} {path}")

    # ------------------------------------------------------------------ gRPC helpers

    def check(self, method: str, context: Any) -> None:
        self.grpc_calls.append(method)
        metadata = dict(context.invocation_metadata())
        if metadata.get("authorization") != f"Bearer {self.api_key}":
            raise _Abort(grpc.StatusCode.UNAUTHENTICATED, "invalid api key")
        if self.grpc_faults:
            code = self.grpc_faults.popleft()
            raise _Abort(code, f"injected {code.name}")

    def cls(self, name: str) -> _Class:
        found = self.classes.get(name)
        if found is None:
            raise _Abort(grpc.StatusCode.NOT_FOUND, f"class {name!r} not found")
        return found


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _rpc(method: Any) -> Any:
    async def wrapper(self: _Servicer, request: Any, context: Any) -> Any:
        try:
            self.server.check(method.__name__, context)
            return method(self, request)
        except _Abort as exc:
            await context.abort(exc.code, exc.message)
        except Exception as exc:
            self.server.failures.append(f"{method.__name__}: {type(exc).__name__}: {exc}")
            await context.abort(grpc.StatusCode.UNKNOWN, f"fake server bug: {exc}")

    wrapper.__name__ = method.__name__
    return wrapper


class _Servicer(weaviate_pb2_grpc.WeaviateServicer):
    def __init__(self, server: WeaviateServer) -> None:
        self.server = server

    @_rpc
    def BatchObjects(self, request: Any) -> Any:
        errors = []
        for i, obj in enumerate(request.objects):
            cls = self.server.cls(obj.collection)
            vector = _vector(obj)
            props = _batch_properties(obj.properties)
            unknown = [p for p in props if not cls.has(p)]
            if unknown:  # this fake has no auto-schema: the store declares what it writes
                errors.append(
                    batch_pb2.BatchObjectsReply.BatchError(
                        index=i, error=f"no such prop {unknown[0]}"
                    )
                )
                continue
            cls.objects[str(uuidlib.UUID(obj.uuid))] = (props, vector)
        return batch_pb2.BatchObjectsReply(took=0.001, errors=errors)

    @_rpc
    def Search(self, request: Any) -> Any:
        cls = self.server.cls(request.collection)
        matching = [
            (oid, props, vec)
            for oid, (props, vec) in cls.objects.items()
            if not request.HasField("filters") or _matches(cls, request.filters, oid, props)
        ]
        ranked: list[tuple[float | None, str, dict[str, Any]]]
        if request.HasField("near_vector"):
            query = _query_vector(request.near_vector)
            ranked = [
                (_distance(cls.distance, query, vec), oid, props) for oid, props, vec in matching
            ]
            ranked.sort(key=lambda item: item[0])  # type: ignore[arg-type,return-value]
        else:
            ranked = [(None, oid, props) for oid, props, _ in matching]
        limit = request.limit or 10
        wanted = list(request.properties.non_ref_properties)
        results = []
        for distance, oid, props in ranked[:limit]:
            metadata = search_get_pb2.MetadataResult(id=oid)
            if distance is not None and request.metadata.distance:
                metadata.distance, metadata.distance_present = distance, True
            fields = {k: _value(v) for k, v in props.items() if not wanted or k in wanted}
            results.append(
                search_get_pb2.SearchResult(
                    metadata=metadata,
                    properties=search_get_pb2.PropertiesResult(
                        non_ref_props=properties_pb2.Properties(fields=fields),
                        target_collection=request.collection,
                    ),
                )
            )
        return search_get_pb2.SearchReply(took=0.001, results=results)

    @_rpc
    def BatchDelete(self, request: Any) -> Any:
        cls = self.server.cls(request.collection)
        doomed = [
            oid
            for oid, (props, _) in cls.objects.items()
            if _matches(cls, request.filters, oid, props)
        ][: self.server.max_results]  # one call deletes at most QUERY_MAXIMUM_RESULTS
        if not request.dry_run:
            for oid in doomed:
                del cls.objects[oid]
        return batch_delete_pb2.BatchDeleteReply(
            took=0.001, matches=len(doomed), successful=len(doomed)
        )

    @_rpc
    def Aggregate(self, request: Any) -> Any:
        cls = self.server.cls(request.collection)
        count = sum(
            1
            for oid, (props, _) in cls.objects.items()
            if not request.HasField("filters") or _matches(cls, request.filters, oid, props)
        )
        return aggregate_pb2.AggregateReply(
            took=0.001, single_result=aggregate_pb2.AggregateReply.Single(objects_count=count)
        )


# --------------------------------------------------------------------------- schema defaults

_TEXT = ("text", "text[]")


def _property_defaults(prop: dict[str, Any]) -> dict[str, Any]:
    """A property as Weaviate returns it: every index flag set (its defaults)."""
    text = prop["dataType"][0] in _TEXT
    prop.setdefault("indexFilterable", True)
    prop.setdefault("indexSearchable", text)
    prop.setdefault("indexRangeFilters", False)
    if text:
        prop.setdefault("tokenization", "word")
    return prop


_INVERTED = {
    "bm25": {"b": 0.75, "k1": 1.2},
    "cleanupIntervalSeconds": 60,
    "stopwords": {"additions": None, "preset": "en", "removals": None},
    "indexTimestamps": False,
    "indexPropertyLength": False,
    "indexNullState": False,
}
_HNSW = {
    "cleanupIntervalSeconds": 300,
    "distance": "cosine",
    "dynamicEfMin": 100,
    "dynamicEfMax": 500,
    "dynamicEfFactor": 8,
    "ef": -1,
    "efConstruction": 128,
    "filterStrategy": "sweeping",
    "flatSearchCutoff": 40000,
    "maxConnections": 32,
    "skip": False,
    "vectorCacheMaxObjects": 1000000000000,
    "pq": {"enabled": False},
    "bq": {"enabled": False},
    "sq": {"enabled": False},
}


def _merged(defaults: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    out = dict(defaults)
    for key, value in (given or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        elif value is not None:
            out[key] = value
    return out


def _class_defaults(schema: dict[str, Any]) -> dict[str, Any]:
    """A class as ``GET /v1/schema/{Class}`` returns it, Weaviate's defaults filled in."""
    schema["properties"] = [_property_defaults(p) for p in schema.get("properties", [])]
    schema["invertedIndexConfig"] = _merged(_INVERTED, schema.get("invertedIndexConfig"))
    schema["multiTenancyConfig"] = _merged(
        {"enabled": False, "autoTenantCreation": False, "autoTenantActivation": False},
        schema.get("multiTenancyConfig"),
    )
    schema["replicationConfig"] = _merged(
        {"factor": 1, "asyncEnabled": False, "deletionStrategy": "NoAutomatedResolution"},
        schema.get("replicationConfig"),
    )
    schema["objectTtlConfig"] = _merged(
        {"enabled": False, "deleteOn": None, "filterExpiredObjects": False},
        schema.get("objectTtlConfig"),
    )
    schema["shardingConfig"] = _merged(
        {
            "virtualPerPhysical": 128,
            "desiredCount": 1,
            "actualCount": 1,
            "desiredVirtualCount": 128,
            "actualVirtualCount": 128,
            "key": "_id",
            "strategy": "hash",
            "function": "murmur3",
        },
        schema.get("shardingConfig"),
    )
    schema.setdefault("moduleConfig", {})
    for vector in (schema.get("vectorConfig") or {}).values():
        vector.setdefault("vectorizer", {"none": {}})
        vector["vectorIndexConfig"] = _merged(_HNSW, vector.get("vectorIndexConfig"))
        vector.setdefault("vectorIndexType", "hnsw")
    return schema


# --------------------------------------------------------------------------- encoding


def _floats(data: bytes) -> list[float]:
    return list(struct.unpack(f"<{len(data) // 4}f", data))


def _vector(obj: Any) -> list[float]:
    if obj.vectors:
        return _floats(obj.vectors[0].vector_bytes)
    if obj.vector_bytes:
        return _floats(obj.vector_bytes)
    return list(obj.vector)


def _query_vector(near: Any) -> list[float]:
    if near.vectors:
        return _floats(near.vectors[0].vector_bytes)
    if near.vector_for_targets:
        return _floats(near.vector_for_targets[0].vectors[0].vector_bytes)
    if near.vector_bytes:
        return _floats(near.vector_bytes)
    return list(near.vector)


def _batch_properties(props: Any) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict

    values: dict[str, Any] = (
        MessageToDict(props.non_ref_properties) if props.HasField("non_ref_properties") else {}
    )
    for arrays in (
        props.text_array_properties,
        props.number_array_properties,
        props.boolean_array_properties,
        props.int_array_properties,
    ):
        for array in arrays:
            values[array.prop_name] = (
                list(array.values)
                if array.values
                else _floats(getattr(array, "values_bytes", b"") or b"")
            )
    for name in props.empty_list_props:
        values[name] = []
    return values


def _value(value: Any) -> Any:
    if isinstance(value, bool):
        return properties_pb2.Value(bool_value=value)
    if isinstance(value, int | float):
        return properties_pb2.Value(number_value=float(value))
    if isinstance(value, str):
        return properties_pb2.Value(text_value=value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return properties_pb2.Value(
            list_value=properties_pb2.ListValue(text_values=base_pb2.TextArray(values=value))
        )
    raise ValueError(f"cannot encode {value!r}")


def _distance(kind: str, a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    if kind == "dot":
        return -dot
    if kind == "l2-squared":
        return sum((x - y) ** 2 for x, y in zip(a, b, strict=True))
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return 1.0 - (dot / norms if norms else 0.0)


# --------------------------------------------------------------------------- filters


def _operand(f: Any) -> Any:
    which = f.WhichOneof("test_value")
    if which is None:
        return None
    value = getattr(f, which)
    if which.endswith("_array"):
        return list(value.values)
    return value


def _matches(cls: _Class, f: Any, oid: str, props: dict[str, Any]) -> bool:
    if f.operator == Op.OPERATOR_AND:
        return all(_matches(cls, c, oid, props) for c in f.filters)
    if f.operator == Op.OPERATOR_OR:
        return any(_matches(cls, c, oid, props) for c in f.filters)
    if f.operator == Op.OPERATOR_NOT:
        return not _matches(cls, f.filters[0], oid, props)
    prop = f.target.property if f.HasField("target") else f.on[0]
    if not cls.has(prop):
        raise _Abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"no such prop with name '{prop}' found in class '{cls.schema['class']}'",
        )
    operand = _operand(f)
    stored = oid if prop in ("_id", "id") else props.get(prop)
    items = stored if isinstance(stored, list) else [stored]
    present = [i for i in items if i is not None]
    op = f.operator
    if op == Op.OPERATOR_CONTAINS_ANY:
        return any(i in operand for i in present)
    if op == Op.OPERATOR_CONTAINS_ALL:
        return all(v in present for v in operand)
    if op == Op.OPERATOR_CONTAINS_NONE:
        return not any(i in operand for i in present)
    if op == Op.OPERATOR_IS_NULL:
        return (not present) is bool(operand)
    if stored is None:
        return op == Op.OPERATOR_NOT_EQUAL
    if op == Op.OPERATOR_EQUAL:
        return stored == operand
    if op == Op.OPERATOR_NOT_EQUAL:
        return stored != operand
    compare = {
        Op.OPERATOR_GREATER_THAN: lambda: stored > operand,
        Op.OPERATOR_GREATER_THAN_EQUAL: lambda: stored >= operand,
        Op.OPERATOR_LESS_THAN: lambda: stored < operand,
        Op.OPERATOR_LESS_THAN_EQUAL: lambda: stored <= operand,
    }.get(op)
    if compare is None:
        raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"operator {op} not supported")
    return bool(compare())
