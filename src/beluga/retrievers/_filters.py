"""Metadata filters for retrievers that hold their own documents (BM25, parent documents).

Vector retrievers pass ``filter`` to their store, which translates it; retrievers that keep
documents in process evaluate it here, with the same meaning as the stores'.
"""

from __future__ import annotations

from beluga.schema import Document
from beluga.vectorstores.base import MetadataFilter

__all__ = ["combine", "matches"]


def matches(document: Document, filter: MetadataFilter | None) -> bool:
    """Whether ``document``'s metadata satisfies ``filter`` (no filter: every document)."""
    if not filter:
        return True
    meta = document.metadata
    return all(key in meta and meta[key] == value for key, value in filter.items())


def combine(
    base: MetadataFilter | None, extra: MetadataFilter | None
) -> tuple[bool, MetadataFilter | None]:
    """A retriever's own filter and a call's, both required: a call can narrow a retriever
    bound to one tenant, never widen it. ``(False, None)`` when no document can match both."""
    if not base:
        return True, extra or None
    if not extra:
        return True, base
    for key, value in extra.items():
        if key in base and base[key] != value:
            return False, None
    return True, {**base, **extra}
