"""Vector stores: similarity search over embedded documents (see :mod:`.base`).

``create("faiss", path=...)`` is the embedded persistent default (SQLite + an HNSW index),
``create("memory")`` the exact in-memory store, ``create("pgvector", dsn=...)`` PostgreSQL;
:func:`build_vector_store` builds what ``beluga.yaml``'s ``vectorstores:`` section names. One
filter language (:mod:`.filters`) for all of them. The protocol and the filter language import
nothing heavy; a store's module imports its library when it is used.
"""

from beluga.vectorstores.base import METRICS, MetadataFilter, Metric, ScoredDocument, VectorStore
from beluga.vectorstores.config import (
    VectorStoreConfig,
    VectorStoresConfig,
    build_vector_store,
    validate_vectorstores,
)
from beluga.vectorstores.filters import Filter, matches, parse
from beluga.vectorstores.middleware import traced
from beluga.vectorstores.registry import create, registry

__all__ = [
    "METRICS",
    "Filter",
    "MetadataFilter",
    "Metric",
    "ScoredDocument",
    "VectorStore",
    "VectorStoreConfig",
    "VectorStoresConfig",
    "build_vector_store",
    "create",
    "matches",
    "parse",
    "registry",
    "traced",
    "validate_vectorstores",
]
