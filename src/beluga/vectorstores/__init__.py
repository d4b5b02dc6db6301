"""Vector stores: similarity search over embedded documents (see :mod:`.base`)."""

from beluga.vectorstores.base import MetadataFilter, ScoredDocument, VectorStore

__all__ = ["MetadataFilter", "ScoredDocument", "VectorStore"]
