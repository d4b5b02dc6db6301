"""Test doubles: a retriever that answers from a fixed list, a reranker by word overlap.

:class:`StaticRetriever` returns its documents (filtered, cut to ``k``) whatever the query,
and records the queries it was asked, so a test checks what a composite retriever or an agent
sent. :class:`OverlapReranker` scores by the share of query words a document contains:
deterministic, no model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import ClassVar

from beluga.retrievers._filters import predicate
from beluga.retrievers.base import BaseRetriever
from beluga.retrievers.rerank import BaseReranker, top
from beluga.schema import Document
from beluga.vectorstores.base import MetadataFilter, ScoredDocument

__all__ = ["OverlapReranker", "StaticRetriever"]

_WORD = re.compile(r"\w+")


class StaticRetriever(BaseRetriever):
    """Answers every query with ``documents`` in order (scores 1, 1/2, 1/3, ...)."""

    kind = "static"

    def __init__(
        self, documents: Iterable[Document], *, k: int = 4, name: str | None = None
    ) -> None:
        super().__init__(k=k, name=name)
        self.documents = list(documents)
        self.queries: list[str] = []

    async def _retrieve(
        self, query: str, k: int, filter: MetadataFilter | None
    ) -> list[ScoredDocument]:
        self.queries.append(query)
        keep = predicate(filter)
        kept = [d for d in self.documents if keep(d.metadata)][:k]
        return [ScoredDocument(d, 1.0 / (i + 1)) for i, d in enumerate(kept)]


class OverlapReranker(BaseReranker):
    """Scores a document by the fraction of the query's distinct words it contains."""

    provider: ClassVar[str] = "test"

    def __init__(self) -> None:
        super().__init__("overlap")
        self.calls = 0

    async def _rerank(
        self, query: str, documents: list[Document], top_n: int
    ) -> list[ScoredDocument]:
        self.calls += 1
        words = set(_WORD.findall(query.lower()))
        scores = [
            len(words & set(_WORD.findall(d.text.lower()))) / max(len(words), 1) for d in documents
        ]
        return top(documents, scores, top_n)
