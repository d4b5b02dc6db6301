"""Dense retrieval: embed the query, search a vector store, keep what clears a threshold.

The store's score is its similarity (higher is closer; cosine for the built-in stores), so
``score_threshold`` is in the store's units: with normalised embeddings and cosine, 0.3 drops
unrelated chunks of all-MiniLM-L6-v2. The store applies it (the protocol's
``score_threshold``). The retriever's own ``filter`` (parsed once, so a bad one fails at
construction) and a call's are both required.
"""

from __future__ import annotations

from beluga.core.errors import BelugaError, ErrorCode
from beluga.embeddings.base import Embedder
from beluga.retrievers._filters import combine
from beluga.retrievers.base import BaseRetriever
from beluga.vectorstores.base import MetadataFilter, ScoredDocument, VectorStore
from beluga.vectorstores.filters import parse

__all__ = ["VectorRetriever"]


class VectorRetriever(BaseRetriever):
    """Top-``k`` documents of ``store`` closest to the query's embedding by ``embedder``."""

    kind = "vector"

    def __init__(
        self,
        store: VectorStore,
        embedder: Embedder,
        *,
        k: int = 4,
        score_threshold: float | None = None,
        filter: MetadataFilter | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(k=k, name=name)
        if score_threshold is not None and not isinstance(score_threshold, int | float):
            raise BelugaError(
                "retrievers.vector",
                ErrorCode.INVALID_REQUEST,
                f"score_threshold must be a number or None, not {score_threshold!r}",
            )
        self.store = store
        self.embedder = embedder
        self.score_threshold = score_threshold
        self.filter = parse(filter) if filter else None

    async def _retrieve(
        self, query: str, k: int, filter: MetadataFilter | None
    ) -> list[ScoredDocument]:
        (vector,) = await self.embedder.embed([query])
        return await self.store.search(
            vector,
            k=k,
            filter=combine(self.filter, filter),
            score_threshold=self.score_threshold,
        )
