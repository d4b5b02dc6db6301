"""Filters of the common language as Weaviate filters (the v4 client's ``Filter`` objects)
over the shadow properties of :mod:`._records`.

Weaviate refuses a filter on a property its class does not have, so a condition on a value
property missing from ``properties`` is written as one no document satisfies (a value nobody
stored), or, for "has the key with another value", as "has the key". ``beluga_keys`` always
exists: the store creates it with the collection.
"""

from __future__ import annotations

from typing import Any

from beluga.vectorstores.filters import And, Compare, Exists, Filter, In, Or, Scalar
from beluga.vectorstores.providers._records import (
    ALWAYS,
    KEYS,
    NEVER,
    field,
    kind_of,
    token,
    typed,
)

__all__ = ["fields", "holds", "weaviate_filter"]


def holds(q: Any, value: str) -> Any:
    """``beluga_keys`` contains ``value``."""
    return q.by_property(KEYS).contains_any([value])


def weaviate_filter(node: Filter, q: Any, properties: set[str]) -> Any:
    """``node`` as a filter built with the client's ``Filter`` class ``q`` (None: all)."""
    if isinstance(node, And) and not node.children:
        return None
    return _Writer(q, properties).walk(node)


def fields(node: Filter) -> set[str]:
    """The shadow properties a filter's values are compared on."""
    if isinstance(node, And | Or):
        return set().union(*(fields(c) for c in node.children)) if node.children else set()
    if isinstance(node, Exists):
        return set()
    if isinstance(node, In):
        return {field(node.key, kind_of(v) or "s") for v in node.values}
    kind = kind_of(node.value) if node.op in ("eq", "ne") else "n"
    return {field(node.key, kind or "s")}


class _Writer:
    def __init__(self, q: Any, properties: set[str]) -> None:
        self.q, self.properties = q, properties

    def walk(self, node: Filter) -> Any:
        q = self.q
        if isinstance(node, And):
            if not node.children:
                return holds(q, ALWAYS)
            parts = [self.walk(c) for c in node.children]
            return parts[0] if len(parts) == 1 else q.all_of(parts)
        if isinstance(node, Or):
            parts = [self.walk(c) for c in node.children]
            return parts[0] if len(parts) == 1 else q.any_of(parts)
        if isinstance(node, Exists):
            if node.present:
                return holds(q, token(node.key))
            return q.by_property(KEYS).contains_none([token(node.key)])
        if isinstance(node, In):
            if not node.values:
                return holds(q, token(node.key) if node.negate else NEVER)
            if node.negate:
                others = [self.other(node.key, v) for v in node.values]
                return q.all_of([holds(q, token(node.key)), *others])
            parts = [self.eq(node.key, v) for v in node.values]
            return parts[0] if len(parts) == 1 else q.any_of(parts)
        assert isinstance(node, Compare)
        if node.op == "eq":
            return self.eq(node.key, node.value)
        if node.op == "ne":
            return q.all_of([holds(q, token(node.key)), self.other(node.key, node.value)])
        name = field(node.key, "n")
        if name not in self.properties:
            return holds(q, NEVER)
        prop = q.by_property(name)
        compare = {
            "gt": prop.greater_than,
            "gte": prop.greater_or_equal,
            "lt": prop.less_than,
            "lte": prop.less_or_equal,
        }[node.op]
        return compare(float(node.value))

    def eq(self, key: str, value: Scalar) -> Any:
        kind = kind_of(value)
        assert kind is not None  # the parser admits scalars only
        name = field(key, kind)
        if name not in self.properties:
            return holds(self.q, NEVER)
        return self.q.by_property(name).equal(float(value) if kind == "n" else value)

    def other(self, key: str, value: Scalar) -> Any:
        """Not ``key == value`` for a document that has ``key`` (another type, or unequal)."""
        kind = kind_of(value)
        assert kind is not None
        lacks = self.q.by_property(KEYS).contains_none([typed(key, kind)])
        name = field(key, kind)
        if name not in self.properties:
            return lacks
        stored = float(value) if kind == "n" else value
        return self.q.any_of([lacks, self.q.by_property(name).not_equal(stored)])
