"""The in-memory vector store: exact search over one numpy matrix.

Exact (no index), so what a test expects is what it gets, and it is the reference the indexed
stores' recall is measured against. One matmul per query: fine to a few hundred thousand
vectors. Under ``cosine`` rows are kept unit-length, so the score is one dot product; under
``euclidean`` the squared norms are kept to get distances from the same dot product. A filter
is compiled once per call into a predicate and evaluated into a boolean mask over the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from beluga.core.closing import AsyncClosing
from beluga.schema import Document
from beluga.vectorstores._common import (
    check_batch,
    check_dimensions,
    check_k,
    check_metric,
    delete_filter,
    finite_threshold,
    query_vector,
    stored_copy,
    unit_rows,
)
from beluga.vectorstores.base import MetadataFilter, Metric, ScoredDocument
from beluga.vectorstores.filters import And, Filter, compile_filter, parse

__all__ = ["InMemoryVectorStore"]

_OP = "vectorstores.memory"


class InMemoryVectorStore(AsyncClosing):
    """Documents and their vectors in memory, searched exactly."""

    provider = "memory"

    def __init__(
        self,
        *,
        dimensions: int | None = None,
        metric: Metric | str = "cosine",
        collection: str = "default",
    ) -> None:
        self.metric: Metric = check_metric(_OP, metric)
        self.dimensions = check_dimensions(_OP, dimensions)
        self.collection = collection
        self._docs: list[Document] = []
        self._rows: dict[str, int] = {}
        self._matrix: npt.NDArray[np.float32] = np.zeros((0, dimensions or 0), dtype=np.float32)
        self._norms: npt.NDArray[np.float32] = np.zeros(0, dtype=np.float32)

    def __len__(self) -> int:
        return len(self._docs)

    async def upsert(
        self, documents: Sequence[Document], vectors: Sequence[Sequence[float]] | Any
    ) -> None:
        matrix = check_batch(_OP, documents, vectors, self.dimensions, self.metric)
        if not len(documents):
            return
        if self.dimensions is None:
            self.dimensions = int(matrix.shape[1])
            self._matrix = np.zeros((0, self.dimensions), dtype=np.float32)
        if self.metric == "cosine":
            matrix = unit_rows(matrix)
        norms = np.einsum("ij,ij->i", matrix, matrix).astype(np.float32)
        new: list[int] = []
        for i, document in enumerate(documents):
            row = self._rows.get(document.id)
            if row is None:
                new.append(i)
            else:
                self._docs[row] = stored_copy(document)
                self._matrix[row] = matrix[i]
                self._norms[row] = norms[i]
        if new:
            for i in new:
                self._rows[documents[i].id] = len(self._docs)
                self._docs.append(stored_copy(documents[i]))
            self._matrix = np.concatenate([self._matrix, matrix[new]])
            self._norms = np.concatenate([self._norms, norms[new]])

    def _mask(self, node: Filter) -> npt.NDArray[np.bool_]:
        if isinstance(node, And) and not node.children:
            everything: npt.NDArray[np.bool_] = np.ones(len(self._docs), dtype=bool)
            return everything
        predicate = compile_filter(node)
        mask: npt.NDArray[np.bool_] = np.fromiter(
            (predicate(doc.metadata) for doc in self._docs), dtype=bool, count=len(self._docs)
        )
        return mask

    def _scores(self, query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        if self.metric == "cosine":
            query = unit_rows(query[None, :])[0]
        dots: npt.NDArray[np.float32] = self._matrix @ query
        if self.metric != "euclidean":
            return dots
        squared = np.maximum(self._norms - 2 * dots + float(query @ query), 0)
        result: npt.NDArray[np.float32] = -np.sqrt(squared)
        return result

    async def search(
        self,
        vector: Sequence[float] | Any,
        *,
        k: int = 4,
        filter: MetadataFilter | None = None,
        score_threshold: float | None = None,
    ) -> list[ScoredDocument]:
        check_k(_OP, k)
        threshold = finite_threshold(_OP, score_threshold)
        node = parse(filter)
        query = query_vector(_OP, vector, self.dimensions, self.metric)
        if not self._docs:
            return []
        scores = self._scores(query)
        mask = self._mask(node)
        if threshold is not None:
            mask &= scores >= threshold
        candidates = np.flatnonzero(mask)
        if len(candidates) > k:
            top = np.argpartition(-scores[candidates], k - 1)[:k]
            candidates = candidates[top]
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [ScoredDocument(stored_copy(self._docs[i]), float(scores[i])) for i in order]

    async def get(self, ids: Sequence[str]) -> list[Document]:
        rows = [self._rows[i] for i in ids if i in self._rows]
        return [stored_copy(self._docs[row]) for row in rows]

    async def delete(
        self, ids: Sequence[str] | None = None, *, filter: MetadataFilter | None = None
    ) -> None:
        node = delete_filter(_OP, ids, filter)
        if not self._docs:
            return
        if ids is not None:
            drop = np.zeros(len(self._docs), dtype=bool)
            drop[[self._rows[i] for i in ids if i in self._rows]] = True
            if node is not None:
                drop &= self._mask(node)
        else:
            assert node is not None  # delete_filter refuses neither
            drop = self._mask(node)
        if not drop.any():
            return
        keep = np.flatnonzero(~drop)
        self._docs = [self._docs[i] for i in keep]
        self._matrix = self._matrix[keep]
        self._norms = self._norms[keep]
        self._rows = {doc.id: row for row, doc in enumerate(self._docs)}

    async def count(self, filter: MetadataFilter | None = None) -> int:
        node = parse(filter)
        if isinstance(node, And) and not node.children:
            return len(self._docs)
        return int(self._mask(node).sum())

    async def aclose(self) -> None:
        """Nothing to release; here so every store closes the same way."""

    def __repr__(self) -> str:
        return (
            f"InMemoryVectorStore({len(self._docs)} documents, dimensions={self.dimensions}, "
            f"metric={self.metric!r})"
        )
