"""The vector-store registry: provider names to store classes, built-ins lazily.

``create("faiss", path="docs.db", dimensions=384)`` and a ``vectorstores:`` entry of
``beluga.yaml`` take the same keywords (each store's constructor's). Built-ins register an
import path, so importing this module imports no library: the vector databases (``qdrant``,
``chroma``, ``pinecone``, ``weaviate``) each need their extra. Third-party packages register
under the entry-point group ``beluga.vectorstores``. An unknown name lists
what is registered and suggests the closest. :func:`create` returns the store traced
(:func:`beluga.vectorstores.middleware.traced`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from beluga.core.registry import Registry
from beluga.vectorstores.base import VectorStore
from beluga.vectorstores.middleware import traced

__all__ = ["DEFAULT_PROVIDER", "VectorStoreFactory", "create", "registry"]

VectorStoreFactory = Callable[..., VectorStore]
DEFAULT_PROVIDER = "faiss"
"""The embedded persistent default (chosen by measurement: docs/readme/vectorstores.md)."""

registry: Registry[VectorStoreFactory] = Registry("vector store", "beluga.vectorstores")
registry.register(
    "memory",
    "beluga.vectorstores.providers.memory:InMemoryVectorStore",
    extra="vectorstores",
    requires=("numpy",),
)
registry.register(
    "faiss",
    "beluga.vectorstores.providers.faiss:FaissVectorStore",
    extra="vectorstores",
    requires=("numpy", "faiss"),
)
registry.register(
    "usearch",
    "beluga.vectorstores.providers.usearch:USearchVectorStore",
    extra="vectorstores",
    requires=("numpy", "usearch"),
)
registry.register(
    "pgvector",
    "beluga.vectorstores.providers.pgvector:PgVectorStore",
    extra="pgvector",
    requires=("psycopg", "pgvector", "numpy"),
)

# Vector databases through their official clients (each its own extra).
registry.register(
    "qdrant",
    "beluga.vectorstores.providers.qdrant:QdrantVectorStore",
    extra="qdrant",
    requires=("qdrant_client", "numpy"),
)
registry.register(
    "chroma",
    "beluga.vectorstores.providers.chroma:ChromaVectorStore",
    extra="chroma",
    requires=("chromadb", "numpy"),
)
registry.register(
    "pinecone",
    "beluga.vectorstores.providers.pinecone:PineconeVectorStore",
    extra="pinecone",
    requires=("pinecone", "numpy"),
)
registry.register(
    "weaviate",
    "beluga.vectorstores.providers.weaviate:WeaviateVectorStore",
    extra="weaviate",
    requires=("weaviate", "numpy"),
)


def create(provider: str = DEFAULT_PROVIDER, /, **options: Any) -> VectorStore:
    """A traced store of ``provider`` built with that provider's keywords."""
    return traced(registry.get(provider)(**options))
