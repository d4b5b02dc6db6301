"""What every store checks the same way: batches, vectors, ``k``, metrics, filters to delete.

One place, so a wrong-size vector or a duplicate id is the same clear error on every store and a
batch is rejected whole before anything is written. Vectors become one float32 matrix here
(numpy), which every index library and the pgvector binary format take as they are.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import Document, TextPart, wire
from beluga.vectorstores.base import METRICS, MetadataFilter, Metric
from beluga.vectorstores.filters import Filter, parse

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "check_batch",
    "check_dimensions",
    "check_k",
    "check_metric",
    "delete_filter",
    "exact_scores",
    "finite_threshold",
    "invalid",
    "packed",
    "query_vector",
    "stored_copy",
    "unit_rows",
    "unpacked",
    "unpacked_rows",
]


def invalid(op: str, message: str) -> BelugaError:
    return BelugaError(op, ErrorCode.INVALID_REQUEST, message)


def check_metric(op: str, metric: str) -> Metric:
    if metric not in METRICS:
        raise invalid(op, f"unknown metric {metric!r}: use one of {', '.join(METRICS)}")
    return metric


def check_dimensions(op: str, dimensions: int | None) -> int | None:
    if dimensions is not None and (
        isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1
    ):
        raise invalid(op, f"dimensions must be a positive int, got {dimensions!r}")
    return dimensions


def check_k(op: str, k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise invalid(op, f"k must be an int of at least 1, got {k!r}")
    return k


def _matrix(op: str, vectors: Any, dimensions: int | None, what: str) -> npt.NDArray[np.float32]:
    import numpy as np

    try:
        matrix = np.asarray(vectors, dtype=np.float32)
    except (ValueError, TypeError) as exc:
        raise invalid(
            op, f"{what} must be lists of floats of one length ({exc}); check the embedder output"
        ) from None
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise invalid(op, f"{what} must be non-empty lists of floats, got shape {matrix.shape}")
    if dimensions is not None and matrix.shape[1] != dimensions:
        raise invalid(
            op,
            f"a vector of {matrix.shape[1]} floats, but this store holds vectors of "
            f"{dimensions}: use the same embedder (and dimensions) for every document and query",
        )
    finite = np.isfinite(matrix).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise invalid(op, f"{what} #{row} holds NaN or infinity: check the embedder output")
    return matrix


def _zero_rows(op: str, matrix: npt.NDArray[np.float32], metric: Metric, what: str) -> None:
    import numpy as np

    if metric == "cosine":
        zero = ~np.any(matrix != 0, axis=1)
        if zero.any():
            row = int(np.flatnonzero(zero)[0])
            raise invalid(
                op, f"{what} #{row} is all zeros: it has no direction, so no cosine similarity"
            )


def check_batch(
    op: str,
    documents: Sequence[Document],
    vectors: Sequence[Sequence[float]] | Any,
    dimensions: int | None,
    metric: Metric,
) -> npt.NDArray[np.float32]:
    """The vectors of a valid batch as one float32 matrix, or the error of its first fault."""
    if len(documents) != len(vectors):
        raise invalid(
            op,
            f"got {len(documents)} documents and {len(vectors)} vectors: pass one vector per "
            "document",
        )
    seen: set[str] = set()
    for i, document in enumerate(documents):
        if not isinstance(document, Document):
            raise invalid(op, f"documents[{i}] is a {type(document).__name__}, not a Document")
        if not isinstance(document.id, str) or not document.id:
            raise invalid(op, f"documents[{i}] has no id: give every document a non-empty id")
        if document.id in seen:
            raise invalid(
                op, f"the id {document.id!r} is twice in one batch: keep one of the two documents"
            )
        seen.add(document.id)
        _check_metadata(op, document, i)
    import numpy as np

    if not documents:
        return np.zeros((0, dimensions or 0), dtype=np.float32)
    matrix = _matrix(op, vectors, dimensions, "vectors")
    _zero_rows(op, matrix, metric, "vector")
    return matrix


def _check_metadata(op: str, document: Document, index: int) -> None:
    for key in document.metadata:
        if not isinstance(key, str):
            raise invalid(op, f"documents[{index}].metadata key {key!r} is not a string")
    try:
        json.dumps(document.metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise invalid(
            op,
            f"documents[{index}].metadata is not plain JSON ({exc}): keep strings, finite "
            "numbers, booleans, None, lists and dicts of them",
        ) from None


def query_vector(
    op: str, vector: Sequence[float] | Any, dimensions: int | None, metric: Metric
) -> npt.NDArray[np.float32]:
    """``vector`` as a float32 row, checked like a stored vector."""
    import numpy as np

    # The common case in one dot product: a finite, non-zero norm means no NaN, no infinity
    # and not all zeros; anything else takes the full checks for the exact message.
    try:
        row = np.asarray(vector, dtype=np.float32)
    except (ValueError, TypeError):
        row = None
    if row is not None and row.ndim == 1 and row.shape[0] == (dimensions or row.shape[0]) > 0:
        norm = float(row @ row)
        if math.isfinite(norm) and norm > 0:
            return row
    matrix = _matrix(op, [vector], dimensions, "the query vector")
    _zero_rows(op, matrix, metric, "the query vector")
    first: npt.NDArray[np.float32] = matrix[0]
    return first


def delete_filter(
    op: str, ids: Sequence[str] | None, filter: MetadataFilter | None
) -> Filter | None:
    """The parsed filter of a delete, refusing a delete with neither ids nor filter."""
    if ids is None and filter is None:
        raise invalid(
            op,
            "delete needs ids= or filter= (pass filter={} to delete everything on purpose)",
        )
    if isinstance(ids, str):
        raise invalid(op, f"ids must be a list of ids, got the string {ids!r}")
    return None if filter is None else parse(filter)


def stored_copy(document: Document) -> Document:
    """A copy that shares nothing mutable with the caller's document (and drops its
    embedding: the store keeps the vector)."""
    return Document(document.content, id=document.id, metadata=copy.deepcopy(document.metadata))


def unit_rows(matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    import numpy as np

    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    result: npt.NDArray[np.float32] = (matrix / np.where(norms == 0, 1, norms)).astype(
        np.float32, copy=False
    )
    return result


def finite_threshold(op: str, threshold: float | None) -> float | None:
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not math.isfinite(threshold)
    ):
        raise invalid(op, f"score_threshold must be a finite number, got {threshold!r}")
    return threshold


def exact_scores(
    metric: Metric, vectors: npt.NDArray[np.float32], query: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Each row's score against ``query`` (higher is closer), in float32 as stored."""
    import numpy as np

    if metric == "cosine":
        result: npt.NDArray[np.float32] = unit_rows(vectors) @ unit_rows(query[None, :])[0]
    elif metric == "dot":
        result = vectors @ query
    else:
        result = -np.linalg.norm(vectors - query, axis=1).astype(np.float32)
    return result


def packed(document: Document) -> tuple[str | None, str | None, str]:
    """``(text, wire, metadata)`` columns of a stored document: a document of one plain text
    part keeps its text alone (decoded ten times faster than the wire form), any other (image
    parts, several parts) its wire JSON; the metadata is JSON text either way."""
    metadata = json.dumps(document.metadata, allow_nan=False)
    content = document.content
    if len(content) == 1 and type(content[0]) is TextPart and content[0].phase is None:
        return content[0].text, None, metadata
    return None, wire.dumps(stored_copy(document)), metadata


def unpacked_rows(op: str, rows: Sequence[Sequence[Any]]) -> list[Document]:
    """The documents of many ``(id, text, wire, metadata JSON)`` rows: their metadata decoded
    by one ``json.loads`` of them all, a third of the time of one call each (the per-call cost
    is most of it for small objects)."""
    metadata = json.loads("[" + ",".join([row[3] for row in rows]) + "]")
    return [unpacked(op, r[0], r[1], r[2], m) for r, m in zip(rows, metadata, strict=True)]


def unpacked(
    op: str, doc_id: str, text: str | None, wired: str | None, metadata: str | dict[str, Any]
) -> Document:
    """The document of :func:`packed`'s columns."""
    meta = json.loads(metadata) if isinstance(metadata, str) else metadata
    if text is not None:
        return Document(text, id=doc_id, metadata=meta)
    document = wire.loads(wired or "null")
    if not isinstance(document, Document):
        raise BelugaError(op, ErrorCode.INTERNAL, f"the stored row of {doc_id!r} is no document")
    return document
