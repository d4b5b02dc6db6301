"""The one metadata filter language of every vector store, parsed once into a typed tree.

A filter is a Mongo-like dict, the form users already know from Chroma, Pinecone and MongoDB::

    {"tag": "a", "year": {"$gte": 2020, "$lt": 2025}, "$or": [{"lang": "en"}, {"lang": "fr"}]}

:func:`parse` turns it into a small tree (:class:`Compare`, :class:`In`, :class:`Exists`,
:class:`And`, :class:`Or`) or raises one ``INVALID_REQUEST`` error naming the path of what is
wrong; each store translates the tree (a mask for the in-memory store, SQL with bound parameters
for pgvector and SQLite, the native filter of a cloud store) and never the raw dict. Keys and
values come from callers, which may be users: no store puts them into query text.

:func:`matches` is the reference: the semantics below, in plain Python, which the contract tests
hold every store to.

- Keys are top-level metadata keys (a dot is part of the key, not a path); they may not start
  with ``$``. Several keys in one dict must all match.
- ``{"k": v}`` is ``{"k": {"$eq": v}}``. Values are ``str``, ``int``, ``float`` (finite) or
  ``bool``. Equality is typed: ``True`` never equals ``1`` and ``"1"`` never equals ``1``; an
  ``int`` equals the ``float`` of the same value.
- ``$ne`` and ``$nin`` match documents that HAVE the key with another value: a document without
  the key matches neither (that is what every store can answer the same way; use
  ``{"$or": [{"k": {"$ne": v}}, {"k": {"$exists": False}}]}`` to include those).
- ``$gt``/``$gte``/``$lt``/``$lte`` take a number and match stored numbers only (not ``bool``).
- ``$in``/``$nin`` take a list of values (an empty ``$in`` matches nothing).
- ``$exists`` takes a ``bool``: whether the key is present (whatever its value, ``None`` too).
- ``$and``/``$or`` take a non-empty list of filters. An empty filter ``{}`` matches everything.
- A stored value that is a list, a dict or ``None`` equals no filter value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from beluga.core.errors import BelugaError, ErrorCode

__all__ = [
    "And",
    "Compare",
    "CompareOp",
    "Exists",
    "Filter",
    "In",
    "Or",
    "Scalar",
    "compile_filter",
    "matches",
    "parse",
]

_OP = "vectorstores.filter"

Scalar: TypeAlias = str | int | float | bool
CompareOp: TypeAlias = Literal["eq", "ne", "gt", "gte", "lt", "lte"]


@dataclass(slots=True, frozen=True)
class Compare:
    """``key <op> value``; ``gt``/``gte``/``lt``/``lte`` only with a number."""

    key: str
    op: CompareOp
    value: Scalar


@dataclass(slots=True, frozen=True)
class In:
    """The key's value is one of ``values`` (``negate``: the key is present with none of them)."""

    key: str
    values: tuple[Scalar, ...]
    negate: bool = False


@dataclass(slots=True, frozen=True)
class Exists:
    """The key is present (``present=False``: absent)."""

    key: str
    present: bool = True


@dataclass(slots=True, frozen=True)
class And:
    """All of ``children`` match (no children: everything matches)."""

    children: tuple[Filter, ...]


@dataclass(slots=True, frozen=True)
class Or:
    """At least one of ``children`` matches."""

    children: tuple[Filter, ...]


Filter: TypeAlias = Compare | In | Exists | And | Or
"""A parsed filter."""

_COMPARE: dict[str, CompareOp] = {
    "$eq": "eq",
    "$ne": "ne",
    "$gt": "gt",
    "$gte": "gte",
    "$lt": "lt",
    "$lte": "lte",
}
_FIELD_OPS = (*_COMPARE, "$in", "$nin", "$exists")
_HELP = (
    "write filters like {'tag': 'a', 'year': {'$gte': 2020}, '$or': [...]}; operators: "
    + ", ".join((*_FIELD_OPS, "$and", "$or"))
)


def parse(spec: Mapping[str, Any] | Filter | None) -> Filter:
    """The tree of a filter dict (a tree is returned as it is; ``None`` matches everything)."""
    if spec is None:
        return And(())
    if isinstance(spec, Compare | In | Exists | And | Or):
        return spec
    return _parse_dict(spec, "$")


def _error(path: str, message: str) -> BelugaError:
    return BelugaError(_OP, ErrorCode.INVALID_REQUEST, f"filter {path}: {message}; {_HELP}")


def _parse_dict(spec: Any, path: str) -> Filter:
    if not isinstance(spec, Mapping):
        raise _error(path, f"expected a dict, got {type(spec).__name__}")
    nodes: list[Filter] = []
    for key, value in spec.items():
        if not isinstance(key, str) or not key:
            raise _error(path, f"key {key!r} must be a non-empty string")
        where = f"{path}.{key}"
        if key in ("$and", "$or"):
            if not isinstance(value, list | tuple) or not value:
                raise _error(where, "expected a non-empty list of filters")
            children = tuple(_parse_dict(item, f"{where}[{i}]") for i, item in enumerate(value))
            nodes.append(And(children) if key == "$and" else Or(children))
        elif key.startswith("$"):
            raise _error(where, f"unknown operator {key!r} at the top level")
        elif isinstance(value, Mapping):
            nodes.extend(_parse_field(key, value, where))
        else:
            nodes.append(Compare(key, "eq", _scalar(value, where)))
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


def _parse_field(key: str, ops: Mapping[Any, Any], path: str) -> list[Filter]:
    if not ops:
        raise _error(path, "an empty operator dict; give a value or an operator such as '$eq'")
    nodes: list[Filter] = []
    for op, value in ops.items():
        where = f"{path}.{op}"
        if op in _COMPARE:
            scalar = _scalar(value, where)
            if op in ("$gt", "$gte", "$lt", "$lte") and (
                isinstance(scalar, bool | str) or not isinstance(scalar, int | float)
            ):
                raise _error(where, f"{op} compares numbers, got {value!r}")
            nodes.append(Compare(key, _COMPARE[op], scalar))
        elif op in ("$in", "$nin"):
            if not isinstance(value, list | tuple | set | frozenset):
                raise _error(where, f"{op} takes a list of values, got {type(value).__name__}")
            values = tuple(_scalar(v, f"{where}[{i}]") for i, v in enumerate(value))
            nodes.append(In(key, values, negate=op == "$nin"))
        elif op == "$exists":
            if not isinstance(value, bool):
                raise _error(where, f"$exists takes true or false, got {value!r}")
            nodes.append(Exists(key, value))
        else:
            raise _error(where, f"unknown operator {op!r} (a nested document is not a value)")
    return nodes


def _scalar(value: Any, path: str) -> Scalar:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if abs(value) > 2**53:
            raise _error(path, f"{value} is larger than every store keeps exactly (2**53)")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _error(path, f"{value} is not a finite number")
        return value
    raise _error(
        path,
        f"{value!r} is a {type(value).__name__}: values are strings, numbers or booleans "
        "(use $exists to test for a missing key)",
    )


def _same(stored: Any, value: Scalar) -> bool:
    """Typed equality: bools only equal bools, strings strings, numbers numbers."""
    if isinstance(value, bool) or isinstance(stored, bool):
        return isinstance(value, bool) and isinstance(stored, bool) and stored is value
    if isinstance(value, str):
        return isinstance(stored, str) and stored == value
    return isinstance(stored, int | float) and stored == value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def matches(node: Filter, metadata: Mapping[str, Any]) -> bool:
    """Whether ``metadata`` satisfies ``node``: the reference semantics (module docstring)."""
    if isinstance(node, And):
        return all(matches(child, metadata) for child in node.children)
    if isinstance(node, Or):
        return any(matches(child, metadata) for child in node.children)
    if isinstance(node, Exists):
        return (node.key in metadata) is node.present
    if node.key not in metadata:
        return False
    stored = metadata[node.key]
    if isinstance(node, In):
        found = any(_same(stored, v) for v in node.values)
        return not found if node.negate else found
    if node.op == "eq":
        return _same(stored, node.value)
    if node.op == "ne":
        return not _same(stored, node.value)
    if not _is_number(stored):
        return False
    value = float(node.value)
    if node.op == "gt":
        return bool(stored > value)
    if node.op == "gte":
        return bool(stored >= value)
    if node.op == "lt":
        return bool(stored < value)
    return bool(stored <= value)


def compile_filter(node: Filter) -> Callable[[Mapping[str, Any]], bool]:
    """``node`` as one predicate over metadata (the tree walked once, not per document)."""
    if isinstance(node, And):
        if not node.children:
            return lambda _meta: True
        parts = [compile_filter(child) for child in node.children]
        return lambda meta: all(part(meta) for part in parts)
    if isinstance(node, Or):
        parts = [compile_filter(child) for child in node.children]
        return lambda meta: any(part(meta) for part in parts)
    return lambda meta: matches(node, meta)
