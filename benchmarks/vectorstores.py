"""Vector-store figures (data helpers; the store benchmark itself follows below)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

K = 10
Matrix = npt.NDArray[np.float32]


def clustered(n: int, queries: int, dims: int, *, seed: int = 7) -> tuple[Matrix, Matrix]:
    """``n`` unit vectors around 200 seeded centres (embeddings cluster by topic), and
    ``queries`` more from the same distribution, none of them stored."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((200, dims)).astype(np.float32)

    def draw(count: int) -> Matrix:
        rows = centres[rng.integers(0, len(centres), count)]
        rows = rows + 1.0 * rng.standard_normal((count, dims)).astype(np.float32)
        unit: Matrix = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)
        return unit

    return draw(n), draw(queries)


def exact_top_k(data: Matrix, queries: Matrix, k: int) -> npt.NDArray[np.int64]:
    """The ids of the ``k`` nearest rows of ``data`` (cosine, unit rows) for each query."""
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), 64):
        scores = queries[start : start + 64] @ data.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
        out[start : start + 64] = np.take_along_axis(top, order, axis=1)
    return out


def recall_at_k(found: list[list[Any]], truth: npt.NDArray[np.int64]) -> float:
    """The mean share of each query's true top-k among what was found."""
    hits = [
        len({int(i) for i in got[: truth.shape[1]]} & set(row.tolist()))
        for got, row in zip(found, truth, strict=True)
    ]
    return sum(hits) / (truth.shape[1] * len(found))
