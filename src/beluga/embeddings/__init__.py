"""Embedders: text (and multimodal) content to vectors (see :mod:`.base`).

``create("local")`` is the offline default (all-MiniLM-L6-v2 on ONNX Runtime);
``create("openai:text-embedding-3-small")``, ``gemini``, ``ollama`` and ``bedrock`` reach the
cloud. :mod:`.middleware` adds retry, timeout, rate limit, batching and caching;
:func:`build_embedder` builds what ``beluga.yaml``'s ``embeddings:`` section names.
"""

from beluga.embeddings.base import Embedder, EmbedInput
from beluga.embeddings.cache import EmbeddingCache, MemoryEmbeddingCache, SqliteEmbeddingCache
from beluga.embeddings.config import (
    EmbedderConfig,
    EmbeddingsConfig,
    build_embedder,
    validate_embeddings,
)
from beluga.embeddings.registry import create, registry

__all__ = [
    "EmbedInput",
    "Embedder",
    "EmbedderConfig",
    "EmbeddingCache",
    "EmbeddingsConfig",
    "MemoryEmbeddingCache",
    "SqliteEmbeddingCache",
    "build_embedder",
    "create",
    "registry",
    "validate_embeddings",
]
