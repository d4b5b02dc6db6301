"""Hybrid retrieval: several retrievers at once, their rankings fused by reciprocal rank.

Reciprocal-rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009) scores a document
``sum(weight / (c + rank))`` over the rankings it appears in (rank 1 is best, ``c`` = 60 as
in the paper). It needs no score calibration, which is why it is the usual way to join BM25
(unbounded scores) with dense retrieval (cosine): only ranks matter. Each retriever is asked
for ``fetch_k`` candidates, concurrently; ties keep the order of first appearance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from beluga.core.errors import BelugaError, ErrorCode
from beluga.retrievers.base import BaseRetriever, Retriever, check_k
from beluga.vectorstores.base import MetadataFilter, ScoredDocument

__all__ = ["HybridRetriever", "reciprocal_rank_fusion"]

RRF_C = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[ScoredDocument]],
    *,
    weights: Sequence[float] | None = None,
    c: int = RRF_C,
) -> list[ScoredDocument]:
    """One ranking of every document in ``rankings``, by weighted reciprocal rank (document
    identity is its id; the first copy seen is kept)."""
    if weights is not None and len(weights) != len(rankings):
        raise BelugaError(
            "retrievers.fusion",
            ErrorCode.INVALID_REQUEST,
            f"{len(weights)} weights for {len(rankings)} rankings: give one weight per retriever",
        )
    scores: dict[str, float] = {}
    first: dict[str, ScoredDocument] = {}
    for i, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else float(weights[i])
        for rank, hit in enumerate(ranking, start=1):
            doc_id = hit.document.id
            first.setdefault(doc_id, hit)
            scores[doc_id] = scores.get(doc_id, 0.0) + weight / (c + rank)
    order = sorted(scores, key=lambda d: scores[d], reverse=True)  # stable: ties keep order
    return [ScoredDocument(first[d].document, scores[d]) for d in order]


class HybridRetriever(BaseRetriever):
    """Asks every retriever (typically BM25 and vector) and fuses their rankings (RRF)."""

    kind = "hybrid"

    def __init__(
        self,
        retrievers: Sequence[Retriever],
        *,
        weights: Sequence[float] | None = None,
        k: int = 4,
        fetch_k: int | None = None,
        c: int = RRF_C,
        name: str | None = None,
    ) -> None:
        super().__init__(k=k, name=name)
        if not retrievers:
            raise BelugaError(
                "retrievers.hybrid", ErrorCode.INVALID_REQUEST, "give at least one retriever"
            )
        if weights is not None and (len(weights) != len(retrievers) or any(w < 0 for w in weights)):
            raise BelugaError(
                "retrievers.hybrid",
                ErrorCode.INVALID_REQUEST,
                f"weights must be {len(retrievers)} numbers >= 0, one per retriever",
            )
        self.retrievers = list(retrievers)
        self.weights = list(weights) if weights is not None else None
        self.fetch_k = check_k(fetch_k, "retrievers.hybrid") if fetch_k is not None else None
        self.c = c

    async def _retrieve(
        self, query: str, k: int, filter: MetadataFilter | None
    ) -> list[ScoredDocument]:
        fetch = self.fetch_k or max(4 * k, 20)
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(r.retrieve(query, k=fetch, filter=filter))
                for r in self.retrievers
            ]
        rankings = [t.result() for t in tasks]
        return reciprocal_rank_fusion(rankings, weights=self.weights, c=self.c)[:k]
