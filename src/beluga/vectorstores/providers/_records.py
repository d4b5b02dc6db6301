"""What the cloud stores (Qdrant, Chroma, Pinecone, Weaviate) share: how a document is stored
and how its metadata is made filterable the same way everywhere.

A stored record holds the document's wire form (:mod:`beluga.schema.wire`, without its vector)
and, for filtering, a *shadow* of its metadata: one field per scalar value, named after the key
(hex-encoded, so any key is a valid field name in every store, and a dot is never read as a
path) and the value's type (``s`` string, ``n`` number, ``b`` bool), plus ``keys``, the list of
every key present. The type in the name gives the common language's typed equality (``True``
never equals ``1``, ``"1"`` never ``1``, ``1 == 1.0``) in stores whose own matching is looser;
``keys`` answers ``$exists`` and the "has the key" half of ``$ne``/``$nin`` even for a value
that is a list, a dict or ``None`` (stored, but equal to nothing). Numbers are stored as floats:
the language bounds integers to 2**53, which a float holds exactly.

:func:`to_mongo` writes a parsed filter in the Mongo-like dialect that Chroma and Pinecone
share; Qdrant and Weaviate have their own translators next to their stores.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, TypeAlias
from uuid import NAMESPACE_URL, uuid5

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import Document
from beluga.schema.wire import from_json, to_json
from beluga.vectorstores.filters import And, Exists, Filter, In, Or, Scalar

__all__ = [
    "ALWAYS",
    "KEYS",
    "NEVER",
    "Kind",
    "decode_document",
    "encode_document",
    "field",
    "kind_of",
    "point_id",
    "shadow",
    "to_mongo",
    "token",
    "typed",
]

Kind: TypeAlias = Literal["s", "n", "b"]
KEYS = "beluga_keys"
"""The shadow field listing the (encoded) keys a document's metadata has."""
NEVER = "never"
"""A ``keys`` element no document has (every element is one letter and hex digits)."""
ALWAYS = "any"
"""The ``keys`` element every document has, so ``keys`` is never empty (Chroma refuses empty
lists) and "everything" is one plain condition."""

_NAMESPACE = uuid5(NAMESPACE_URL, "https://beluga.ai/vectorstores")


def token(key: str) -> str:
    """A metadata key as a name every store accepts: ``k`` + the hex of its UTF-8 bytes."""
    return "k" + key.encode("utf-8").hex()


def kind_of(value: Any) -> Kind | None:
    """The shadow type of a stored value (None: not filterable by value)."""
    if isinstance(value, bool):
        return "b"
    if isinstance(value, str):
        return "s"
    if isinstance(value, int | float) and math.isfinite(value) and abs(value) <= 2**53:
        return "n"
    return None


def typed(key: str, kind: Kind) -> str:
    """The ``keys`` element saying that ``key`` holds a value of type ``kind``."""
    return kind + token(key)[1:]


def field(key: str, kind: Kind) -> str:
    """The shadow field holding ``key``'s value of type ``kind``."""
    return f"f{kind}_{token(key)[1:]}"


def shadow(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The filterable fields of ``metadata`` (see the module docstring)."""
    keys: list[str] = [ALWAYS]
    fields: dict[str, Any] = {KEYS: keys}
    for key, value in metadata.items():
        keys.append(token(key))
        kind = kind_of(value)
        if kind is not None:
            keys.append(typed(key, kind))
            fields[field(key, kind)] = float(value) if kind == "n" else value
    return fields


def encode_document(document: Document) -> dict[str, Any]:
    """The document's wire form (a JSON-ready dict) without its vector, which the store keeps."""
    data: dict[str, Any] = to_json(document)
    data.pop("embedding", None)
    return data


def decode_document(data: Any, op: str, where: str) -> Document:
    """A document read back from ``where``; a record that is not one is a clear error."""
    try:
        document = from_json(data, Document)
    except BelugaError as exc:
        raise BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            f"{where} holds a record that is not a Beluga document ({exc.message}); point the "
            "store at a collection written by Beluga, or use a new collection name",
            retryable=False,
        ) from exc
    return document


def point_id(doc_id: str) -> str:
    """A UUID for a document id, for stores whose ids must be UUIDs (Qdrant, Weaviate); the
    same id always gives the same UUID, so an upsert replaces."""
    return str(uuid5(_NAMESPACE, doc_id))


# ------------------------------------------------------------------------- Mongo-like dialect


def _all(parts: list[dict[str, Any]]) -> dict[str, Any]:
    # Chroma refuses $and/$or with fewer than two children.
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _any(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return parts[0] if len(parts) == 1 else {"$or": parts}


def to_mongo(node: Filter, *, contains: Literal["$in", "$contains"]) -> dict[str, Any] | None:
    """``node`` in the Mongo-like dialect of Pinecone (``contains="$in"``: a list field
    matches ``{"$in": [x]}`` when it holds x) or Chroma (``"$contains"``); None matches all.

    Only ``$eq``/``$ne`` on one typed field, ranges on the number field, and membership in
    ``keys`` are used. ``$eq`` and ranges never match a record without the field (in both
    stores); ``$ne`` is only used next to "holds a value of this type", so how a store treats a
    missing field under ``$ne`` never matters."""
    if isinstance(node, And) and not node.children:
        return None

    def holds(value: str) -> dict[str, Any]:
        return {KEYS: {contains: [value] if contains == "$in" else value}}

    def lacks(value: str) -> dict[str, Any]:
        if contains == "$in":
            return {KEYS: {"$nin": [value]}}
        return {KEYS: {"$not_contains": value}}

    def eq(key: str, value: Scalar) -> dict[str, Any]:
        # A record without the typed field never matches $eq (nor a range, below).
        kind = kind_of(value)
        assert kind is not None  # the parser admits scalars only
        return {field(key, kind): {"$eq": float(value) if kind == "n" else value}}

    def differs(key: str, value: Scalar) -> dict[str, Any]:
        """Has ``key`` with a value other than ``value`` (of another type, or not equal)."""
        kind = kind_of(value)
        assert kind is not None
        stored = float(value) if kind == "n" else value
        other = _any([lacks(typed(key, kind)), {field(key, kind): {"$ne": stored}}])
        return _all([holds(token(key)), other])

    def walk(item: Filter) -> dict[str, Any]:
        if isinstance(item, And):
            return _all([walk(c) for c in item.children]) if item.children else holds(ALWAYS)
        if isinstance(item, Or):
            return _any([walk(c) for c in item.children])
        if isinstance(item, Exists):
            return holds(token(item.key)) if item.present else lacks(token(item.key))
        if isinstance(item, In):
            if not item.values:
                return holds(token(item.key)) if item.negate else holds(NEVER)
            if not item.negate:
                return _any([eq(item.key, v) for v in item.values])
            return _all([differs(item.key, v) for v in item.values])
        if item.op == "eq":
            return eq(item.key, item.value)
        if item.op == "ne":
            return differs(item.key, item.value)
        return {field(item.key, "n"): {f"${item.op}": float(item.value)}}

    return walk(node)
