"""Metadata filters for retrievers: the vector stores' filter language, reused.

Vector retrievers pass ``filter`` to their store, which translates it; retrievers that keep
documents in process (BM25, the test doubles) evaluate it with the language's reference
predicate, so a filter means the same thing whichever retriever answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from beluga.vectorstores.base import MetadataFilter
from beluga.vectorstores.filters import And, compile_filter, parse

__all__ = ["combine", "predicate"]


def predicate(filter: MetadataFilter | None) -> Callable[[Mapping[str, Any]], bool]:
    """``filter`` parsed (invalid filters raise one clear error) as a predicate on metadata."""
    return compile_filter(parse(filter))


def combine(base: MetadataFilter | None, extra: MetadataFilter | None) -> MetadataFilter | None:
    """A retriever's own filter and a call's, both required: a call can narrow a retriever
    bound to one tenant, never widen it."""
    if not base:
        return extra or None
    if not extra:
        return base
    return And((parse(base), parse(extra)))
