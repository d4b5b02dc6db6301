"""The embedded persistent default: documents in SQLite, vectors in a FAISS HNSW index.

Everything but the index is :class:`~beluga.vectorstores.providers._embedded.IndexedSqliteStore`
(durability, filters, threads). FAISS (Meta's, maintained, ``faiss-cpu``) was chosen by
measurement (docs/readme/vectorstores.md): its HNSW walks a graph of 100,000 vectors of 384
dims in about 105 µs where usearch's bf16 one takes 145, at recall@10 0.981 against 0.968, and it
keeps float32 vectors, so its scores are exact and a search reads back only its hits'
documents. What it costs: a 66 MB wheel, and float32 memory (about 1.7 KB a vector with its
graph, twice usearch's bf16). Its HNSW cannot delete: a removed key is masked at search time (an
``IDSelector``) until a quarter of the index is masked, when the index is rebuilt from SQLite.
On open, the saved index must hold every row of SQLite; the keys it holds beyond them are the
masked ones (nothing else records them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from beluga.core.registry import require
from beluga.vectorstores.providers._embedded import (
    HnswIndex,
    IndexedSqliteStore,
    Keys,
)

__all__ = ["FaissVectorStore"]

_OP = "vectorstores.faiss"
_COMPACT_AT = 0.25  # the share of masked keys at which the index is rebuilt


class _Faiss:
    """:class:`HnswIndex` over ``IndexIDMap2(IndexHNSWFlat)``, deletes as a mask."""

    def __init__(self, faiss: Any, index: Any, metric: str, ef_search: int, masked: Keys) -> None:
        self._faiss = faiss
        self.index = index
        self._euclidean = metric == "euclidean"
        self._ef = ef_search
        self._masked: set[int] = set(masked.tolist())
        self._selector: tuple[Any, ...] = ()
        self._params = self._parameters()

    def __len__(self) -> int:
        return int(self.index.ntotal) - len(self._masked)

    @property
    def stale(self) -> bool:
        """Masked keys are over a quarter of the index: time to rebuild it."""
        return len(self._masked) > max(64, _COMPACT_AT * int(self.index.ntotal))

    def add(self, keys: Keys, vectors: Any) -> None:
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), keys)

    def remove(self, keys: Keys) -> None:
        self._masked.update(keys.tolist())
        self._params = self._parameters()

    def search(self, query: Any, k: int) -> tuple[Keys, Any]:
        count = max(1, min(k, len(self)))
        distances, labels = self.index.search(query[None, :], count, params=self._params)
        keep = labels[0] >= 0  # -1: fewer reachable than asked
        keys, found = labels[0][keep], distances[0][keep]
        scores = -np.sqrt(np.maximum(found, 0)) if self._euclidean else found
        return keys, scores.astype(np.float32)

    def vectors(self, keys: Keys) -> Any:
        return self.index.reconstruct_batch(keys)

    def save(self, path: str) -> None:
        self._faiss.write_index(self.index, path)

    def _parameters(self) -> Any:
        faiss = self._faiss
        if not self._masked:
            return faiss.SearchParametersHNSW(efSearch=self._ef)
        masked = faiss.IDSelectorBatch(np.fromiter(self._masked, dtype=np.int64))
        selector = faiss.IDSelectorNot(masked)
        self._selector = (masked, selector)  # the parameters do not own the SWIG selectors
        return faiss.SearchParametersHNSW(sel=selector, efSearch=self._ef)


class FaissVectorStore(IndexedSqliteStore):
    """A persistent collection: SQLite file plus a FAISS HNSW index (module docstring)."""

    provider = "faiss"
    op = _OP
    index_suffix = "faiss"

    def _new_index(self) -> HnswIndex:
        faiss = _library()
        assert self.dimensions is not None
        graph = faiss.IndexHNSWFlat(self.dimensions, self._connectivity, self._kind(faiss))
        graph.hnsw.efConstruction = self._expansion_add
        index = faiss.IndexIDMap2(graph)  # faiss's wrapper keeps the graph alive with the map
        return _Faiss(faiss, index, self.metric, self._expansion_search, np.empty(0, np.int64))

    def _restore_index(self, keys: Keys) -> HnswIndex | None:
        faiss = _library()
        try:
            index = faiss.read_index(str(self.index_path))
        except (RuntimeError, OSError):
            return None
        held = faiss.vector_to_array(index.id_map) if hasattr(index, "id_map") else None
        if held is None or index.d != self.dimensions or index.metric_type != self._kind(faiss):
            return None
        masked = np.setdiff1d(held, keys, assume_unique=True)
        if len(held) - len(masked) != len(keys):  # a row of SQLite is missing from the index
            return None
        restored = _Faiss(faiss, index, self.metric, self._expansion_search, masked)
        return None if restored.stale else restored

    def _kind(self, faiss: Any) -> Any:
        # cosine rows are stored unit-length: ranked by inner product
        return faiss.METRIC_L2 if self.metric == "euclidean" else faiss.METRIC_INNER_PRODUCT


def _library() -> Any:
    return require("faiss", extra="vectorstores")
