"""Vector stores: similarity search over embedded documents (see :mod:`.base`).

The protocol and the filter language import nothing heavy; a store's module imports its
library (numpy, an index library, a driver) when it is used.
"""

from beluga.vectorstores.base import METRICS, MetadataFilter, Metric, ScoredDocument, VectorStore
from beluga.vectorstores.filters import Filter, matches, parse

__all__ = [
    "METRICS",
    "Filter",
    "MetadataFilter",
    "Metric",
    "ScoredDocument",
    "VectorStore",
    "matches",
    "parse",
]
