"""The embedded store on usearch: documents in SQLite, vectors in a usearch HNSW index.

Everything but the index is :class:`~beluga.vectorstores.providers._embedded.IndexedSqliteStore`
(durability, filters, threads). usearch is the small option (an ~11 MB wheel) and the frugal one:
its index keeps ``dtype="bf16"`` vectors, half of float32's memory, and deletes in place. On
100,000 vectors of 384 dims (on a CPU with AVX-512 BF16) its bfloat16 kernel answers in 145 µs
where f16 takes 205 and f32 310, at recall@10 0.968 (f16 0.975), and bfloat16 has float32's
range, so large dot-product vectors cannot overflow as in f16. Hits are rescored with their
float32 vectors from SQLite, so scores are exact. ``dtype="i8"`` (cosine only: unit vectors keep
their components in [-1, 1]) is coarse, so it proposes twice ``k`` candidates, which keeps
recall@10 at 0.96 where its own top 10 reach 0.83. A saved index of another dtype is rebuilt in
the one asked for.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Literal

import numpy as np

# onnxruntime's extension segfaults when it loads after usearch's in one process (onnxruntime
# 1.32 with usearch 2.26: `import usearch.index; import onnxruntime` dies, the other order is
# fine), and the local embedder loads it later in the very processes that use this store.
if importlib.util.find_spec("onnxruntime") is not None:
    import onnxruntime  # noqa: F401

from usearch.compiled import ScalarKind
from usearch.index import Index

from beluga.vectorstores._common import invalid
from beluga.vectorstores.base import Metric
from beluga.vectorstores.providers._embedded import (
    HnswIndex,
    IndexedSqliteStore,
    Keys,
)

__all__ = ["USearchVectorStore"]

_OP = "vectorstores.usearch"
# Cosine vectors are stored unit-length, so the index ranks them by inner product.
_METRIC = {"cosine": "ip", "dot": "ip", "euclidean": "l2sq"}
_KINDS = {
    "f32": ScalarKind.F32,
    "bf16": ScalarKind.BF16,
    "f16": ScalarKind.F16,
    "i8": ScalarKind.I8,
}
_Dtype = Literal["f32", "bf16", "f16", "i8"]


class _USearch:
    """:class:`HnswIndex` over a usearch ``Index`` (keys as its uint64 labels)."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self._factor = 2 if index.dtype == ScalarKind.I8 else 1  # i8 ranks coarsely

    def __len__(self) -> int:
        return len(self.index)

    @property
    def stale(self) -> bool:
        return False  # usearch deletes in place

    def add(self, keys: Keys, vectors: Any) -> None:
        self.index.add(keys.astype(np.uint64), vectors, threads=0 if len(keys) > 64 else 1)

    def remove(self, keys: Keys) -> None:
        self.index.remove(keys.astype(np.uint64))

    def search(self, query: Any, k: int) -> tuple[Keys, None]:
        found = self.index.search(query, count=k * self._factor, threads=1).keys
        return found.astype(np.int64), None

    def vectors(self, keys: Keys) -> Any:
        found = self.index.get(keys.astype(np.uint64), dtype="f32")
        return np.asarray(found, dtype=np.float32).reshape(len(keys), -1)

    def save(self, path: str) -> None:
        self.index.save(path)


class USearchVectorStore(IndexedSqliteStore):
    """A persistent collection: SQLite file plus a usearch HNSW index (module docstring)."""

    provider = "usearch"
    op = _OP
    index_suffix = "usearch"

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        collection: str = "default",
        dimensions: int | None = None,
        metric: Metric | str = "cosine",
        connectivity: int = 16,
        expansion_add: int = 64,
        expansion_search: int = 64,
        dtype: _Dtype = "bf16",
        exact_below: int = 20_000,
        busy_timeout: float = 10.0,
    ) -> None:
        if dtype not in _KINDS:
            raise invalid(_OP, f"dtype must be 'f32', 'bf16', 'f16' or 'i8', got {dtype!r}")
        if dtype == "i8" and metric != "cosine":
            raise invalid(_OP, "dtype 'i8' needs metric 'cosine' (unit vectors); use 'bf16'")
        super().__init__(
            path,
            collection=collection,
            dimensions=dimensions,
            metric=metric,
            connectivity=connectivity,
            expansion_add=expansion_add,
            expansion_search=expansion_search,
            exact_below=exact_below,
            busy_timeout=busy_timeout,
        )
        self._dtype: _Dtype = dtype

    def _new_index(self) -> HnswIndex:
        assert self.dimensions is not None
        return _USearch(
            Index(
                ndim=self.dimensions,
                metric=_METRIC[self.metric],
                dtype=self._dtype,
                connectivity=self._connectivity,
                expansion_add=self._expansion_add,
                expansion_search=self._expansion_search,
            )
        )

    def _restore_index(self, keys: Keys) -> HnswIndex | None:
        try:
            index = Index.restore(
                str(self.index_path),
                expansion_add=self._expansion_add,
                expansion_search=self._expansion_search,
            )
        except (RuntimeError, ValueError, OSError):
            return None
        if (
            index is None
            or len(index) != len(keys)
            or index.ndim != self.dimensions
            or index.dtype != _KINDS[self._dtype]  # else the dtype asked for is built
        ):
            return None
        return _USearch(index)
