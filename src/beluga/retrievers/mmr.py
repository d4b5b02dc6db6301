"""Maximal marginal relevance: relevant results that do not repeat each other.

Carbonell and Goldstein (SIGIR 1998): pick, one at a time, the candidate maximising
``lambda * sim(query, d) - (1 - lambda) * max sim(d, picked)``. ``lambda_mult`` = 1 is plain
relevance, 0 pure diversity; 0.5 is the usual default (LangChain's too). Candidates come from
any retriever (``fetch_k`` of them) and are embedded with ``embedder`` together with the query
in one batch, so MMR works over BM25 or a store that does not return vectors; put a cache in
front of the embedder (``beluga.embeddings.middleware.cached``) to embed each chunk once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from beluga.core.errors import BelugaError, ErrorCode
from beluga.embeddings.base import Embedder
from beluga.retrievers.base import BaseRetriever, Retriever, check_k
from beluga.vectorstores.base import MetadataFilter, ScoredDocument

__all__ = ["MMRRetriever", "mmr_select"]


class MMRRetriever(BaseRetriever):
    """``fetch_k`` candidates of ``retriever``, narrowed to ``k`` by MMR."""

    kind = "mmr"

    def __init__(
        self,
        retriever: Retriever,
        embedder: Embedder,
        *,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        name: str | None = None,
    ) -> None:
        super().__init__(k=k, name=name)
        if not 0.0 <= lambda_mult <= 1.0:
            raise BelugaError(
                "retrievers.mmr",
                ErrorCode.INVALID_REQUEST,
                f"lambda_mult must be between 0 and 1, not {lambda_mult}",
            )
        self.retriever = retriever
        self.embedder = embedder
        self.fetch_k = check_k(fetch_k, "retrievers.mmr")
        self.lambda_mult = lambda_mult

    async def _retrieve(
        self, query: str, k: int, filter: MetadataFilter | None
    ) -> list[ScoredDocument]:
        candidates = await self.retriever.retrieve(query, k=max(self.fetch_k, k), filter=filter)
        if len(candidates) <= 1:
            return candidates
        vectors = await self.embedder.embed([query, *(hit.document.content for hit in candidates)])
        picked = mmr_select(vectors[0], vectors[1:], k=k, lambda_mult=self.lambda_mult)
        return [ScoredDocument(candidates[i].document, score) for i, score in picked]


def mmr_select(
    query: Sequence[float],
    candidates: Sequence[Sequence[float]],
    *,
    k: int,
    lambda_mult: float = 0.5,
) -> list[tuple[int, float]]:
    """Indices of the ``k`` candidates MMR picks, in order, with their MMR scores."""
    unit = [_unit(v) for v in candidates]
    q = _unit(query)
    relevance = [_dot(q, v) for v in unit]
    redundancy = [-math.inf] * len(unit)
    left = set(range(len(unit)))
    picked: list[tuple[int, float]] = []
    while left and len(picked) < k:
        best, best_score = -1, -math.inf
        for i in sorted(left):
            penalty = redundancy[i] if picked else 0.0
            score = lambda_mult * relevance[i] - (1.0 - lambda_mult) * penalty
            if score > best_score:
                best, best_score = i, score
        picked.append((best, best_score))
        left.discard(best)
        for i in left:
            redundancy[i] = max(redundancy[i], _dot(unit[i], unit[best]))
    return picked


def _unit(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm else list(vector)


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))
