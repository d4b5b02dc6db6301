"""The filter tree as SQL ``WHERE`` text with bound parameters, for SQLite and PostgreSQL.

The text is built only from fixed fragments of this module; every key and value a caller gave
goes into the parameter list, never into the text, so a filter cannot change the query
(``{"x' OR 1=1 --": ...}`` is a key like any other). The semantics are those of
:func:`beluga.vectorstores.filters.matches`, typed like it:

- SQLite walks the metadata JSON with ``json_each`` (a key is matched as a value, so any key
  works, quotes and dots included) and checks ``type``: ``'true'``/``'false'`` for booleans,
  ``'integer'``/``'real'`` for numbers, ``'text'`` for strings.
- PostgreSQL compares ``jsonb`` to ``jsonb``: its equality is already typed (``true`` is not
  ``1``, ``1`` equals ``1.0``); ordered comparisons are guarded by ``jsonb_typeof = 'number'``
  so that no cast can fail on a stored string.
"""

from __future__ import annotations

import json
from typing import Any

from beluga.vectorstores.filters import And, Exists, Filter, In, Or, Scalar

__all__ = ["postgres_where", "sqlite_where"]

_SQL_OP = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


# --- SQLite -----------------------------------------------------------------------------------


def _sqlite_value(value: Scalar, params: list[Any]) -> str:
    """A condition on ``j.type``/``j.value`` (one json_each row) that the value equals it."""
    if isinstance(value, bool):
        params.append("true" if value else "false")
        return "j.type = ?"
    if isinstance(value, str):
        params.append(value)
        return "(j.type = 'text' AND j.value = ?)"
    params.append(value)
    return "(j.type IN ('integer', 'real') AND j.value = ?)"


def _sqlite_key(column: str, condition: str) -> str:
    return f"EXISTS (SELECT 1 FROM json_each({column}) AS j WHERE j.key = ? AND {condition})"


def sqlite_where(node: Filter, column: str = "metadata") -> tuple[str, list[Any]]:
    """``node`` as a SQLite condition on the JSON text in ``column`` (a fixed column name)."""
    params: list[Any] = []
    return _sqlite(node, column, params), params


def _sqlite(node: Filter, column: str, params: list[Any]) -> str:
    if isinstance(node, And | Or):
        if not node.children:
            return "1" if isinstance(node, And) else "0"
        joiner = " AND " if isinstance(node, And) else " OR "
        return "(" + joiner.join(_sqlite(child, column, params) for child in node.children) + ")"
    if isinstance(node, In) and not node.values and not node.negate:
        return "0"
    params.append(node.key)
    if isinstance(node, Exists):
        found = _sqlite_key(column, "1")
        return found if node.present else f"NOT {found}"
    if isinstance(node, In):
        if not node.values:
            return _sqlite_key(column, "1")
        conditions = " OR ".join(_sqlite_value(v, params) for v in node.values)
        return _sqlite_key(column, f"NOT ({conditions})" if node.negate else f"({conditions})")
    if node.op in ("eq", "ne"):
        condition = _sqlite_value(node.value, params)
        return _sqlite_key(column, condition if node.op == "eq" else f"NOT {condition}")
    params.append(node.value)
    return _sqlite_key(column, f"j.type IN ('integer', 'real') AND j.value {_SQL_OP[node.op]} ?")


# --- PostgreSQL -------------------------------------------------------------------------------


def postgres_where(node: Filter, column: str = "metadata") -> tuple[str, list[Any]]:
    """``node`` as a PostgreSQL condition on the ``jsonb`` ``column`` (psycopg ``%s`` style)."""
    params: list[Any] = []
    return _postgres(node, column, params), params


def _postgres(node: Filter, column: str, params: list[Any]) -> str:
    if isinstance(node, And | Or):
        if not node.children:
            return "TRUE" if isinstance(node, And) else "FALSE"
        joiner = " AND " if isinstance(node, And) else " OR "
        return "(" + joiner.join(_postgres(c, column, params) for c in node.children) + ")"
    if isinstance(node, Exists):
        params.append(node.key)
        return f"jsonb_exists({column}, %s)" if node.present else f"NOT jsonb_exists({column}, %s)"
    if isinstance(node, In):
        if not node.values:
            if not node.negate:
                return "FALSE"
            params.append(node.key)
            return f"jsonb_exists({column}, %s)"
        params.extend((node.key, [json.dumps(v) for v in node.values]))
        found = f"COALESCE(({column} -> %s) = ANY(%s::jsonb[]), FALSE)"
        if not node.negate:
            return found
        params.insert(len(params) - 2, node.key)
        return f"(jsonb_exists({column}, %s) AND NOT {found})"
    if node.op == "eq":
        params.extend((node.key, json.dumps(node.value)))
        return f"COALESCE(({column} -> %s) = %s::jsonb, FALSE)"
    if node.op == "ne":
        params.extend((node.key, node.key, json.dumps(node.value)))
        return f"(jsonb_exists({column}, %s) AND ({column} -> %s) <> %s::jsonb)"
    params.extend((node.key, node.key, json.dumps(node.value)))
    return (
        f"(jsonb_typeof({column} -> %s) = 'number' AND ({column} -> %s) {_SQL_OP[node.op]} "
        "%s::jsonb)"
    )
