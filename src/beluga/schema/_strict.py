"""The strict form of a JSON schema, as OpenAI's structured outputs require it, and its inverse.

Strict mode constrains decoding to the schema, but accepts only a subset of JSON Schema: every
object closed (``additionalProperties: false``) and every property required, so an optional
field becomes a required one that may be ``null``. :func:`strict_json_schema` rewrites a schema
to that form (recursing into ``properties``, ``items``, ``anyOf``, ``$defs``) and returns ``None``
when it has none, so the caller falls back to non-strict:

* structure strict mode cannot express (``patternProperties``, open or schema-valued
  ``additionalProperties``, free-form objects, ``not``, ``if``/``then``, tuples, an array without
  ``items``, a schema without a type, a root that is not an object) gives ``None``;
* annotations that mean nothing once every field is required (``default``, ``$schema``,
  ``discriminator``) are dropped, ``oneOf`` becomes ``anyOf``, a one-entry ``allOf`` is merged and
  a ``$ref`` with siblings is wrapped in ``anyOf`` (strict mode takes no siblings of ``$ref``);
* value constraints strict mode rejects (``minLength``, ``maxLength``, ``uniqueItems``, a
  ``format`` outside its list, a ``pattern`` with look-around, ...) move into the
  ``description``, so the model still reads them, and the typed parse of the answer checks them
  (the approach pydantic-ai takes).

:func:`drop_added_nulls` undoes the one change a valid answer shows: a ``null`` for an optional
field that the original schema does not let be ``null`` means "left out", so it is removed before
the answer is validated against the original type (whose default then applies).
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["drop_added_nulls", "strict_json_schema"]

_UNSTRICT = (
    "patternProperties",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "prefixItems",
    "additionalItems",
    "not",
    "if",
    "then",
    "else",
    "dependentRequired",
    "dependentSchemas",
    "dependencies",
)
_DROPPED = ("default", "$schema", "discriminator")
_NOTED = (
    "minLength",
    "maxLength",
    "minProperties",
    "maxProperties",
    "uniqueItems",
    "contains",
    "minContains",
    "maxContains",
)
_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)
_LOOKAROUND = ("(?=", "(?!", "(?<=", "(?<!")
_TYPED = ("type", "anyOf", "$ref", "enum", "const")


class _NotStrict(Exception):
    """The schema has no strict form."""


def strict_json_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """``schema`` in OpenAI's strict form (a new dict), or ``None`` when it has none."""
    root = copy.deepcopy(schema)
    try:
        ref = root.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):  # pydantic's root of a recursive model
            target = _resolve(root, ref)
            if not isinstance(target, dict):
                raise _NotStrict
            del root["$ref"]
            root = {**copy.deepcopy(target), **root}
        _walk(root)
    except _NotStrict:
        return None
    if root.get("type") != "object":
        return None
    return root


def _walk(node: Any) -> None:
    if not isinstance(node, dict) or any(key in node for key in _UNSTRICT):
        raise _NotStrict
    for key in _DROPPED:
        node.pop(key, None)
    _note_constraints(node)
    _normalize_combinators(node)
    for key in ("$defs", "definitions"):
        defs = node.get(key)
        if isinstance(defs, dict):
            for sub in defs.values():
                _walk(sub)
    if not any(key in node for key in _TYPED):
        raise _NotStrict  # an unconstrained value: strict mode needs a type
    types = node.get("type")
    kinds = set(types) if isinstance(types, list) else {types}
    if "object" in kinds or "properties" in node:
        _close(node)
    if "array" in kinds:
        items = node.get("items")
        if not isinstance(items, dict):
            raise _NotStrict
        _walk(items)
    for branch in node.get("anyOf", ()):
        _walk(branch)


def _note_constraints(node: dict[str, Any]) -> None:
    notes = [f"{key}={node.pop(key)}" for key in _NOTED if key in node]
    fmt = node.get("format")
    if fmt is not None and fmt not in _FORMATS:
        notes.append(f"format={node.pop('format')}")
    pattern = node.get("pattern")
    if isinstance(pattern, str) and any(token in pattern for token in _LOOKAROUND):
        notes.append(f"pattern={node.pop('pattern')}")
    if notes:
        text = ", ".join(notes)
        description = node.get("description")
        node["description"] = f"{description} ({text})" if description else text


def _normalize_combinators(node: dict[str, Any]) -> None:
    if "oneOf" in node:
        if "anyOf" in node:
            raise _NotStrict
        node["anyOf"] = node.pop("oneOf")
    if "allOf" in node:
        all_of = node.pop("allOf")
        if not isinstance(all_of, list) or len(all_of) != 1 or not isinstance(all_of[0], dict):
            raise _NotStrict
        for key, value in all_of[0].items():
            node.setdefault(key, value)
    if "$ref" in node and len(node) > 1:
        if "anyOf" in node:
            raise _NotStrict
        node["anyOf"] = [{"$ref": node.pop("$ref")}]
    if "anyOf" in node and not isinstance(node["anyOf"], list):
        raise _NotStrict


def _close(node: dict[str, Any]) -> None:
    extra = node.get("additionalProperties")
    if extra not in (None, False):
        raise _NotStrict  # an open map: strict mode has no way to say "any keys"
    props = node.get("properties")
    if props is None:
        if extra is not False:
            raise _NotStrict  # a free-form object
        props = node["properties"] = {}
    if not isinstance(props, dict):
        raise _NotStrict
    required = node.get("required", ())
    for name, sub in list(props.items()):
        _walk(sub)
        if name not in required and not _accepts_null(sub):
            props[name] = _nullable(sub)
    # Every property is required; those already listed keep their order (a schema already in
    # strict form comes out exactly as it went in).
    listed = [name for name in required if name in props]
    node["required"] = listed + [name for name in props if name not in listed]
    node["additionalProperties"] = False


def _accepts_null(node: Any, root: dict[str, Any] | None = None, hops: int = 0) -> bool:
    """Whether ``node`` lets a value be ``null`` (through ``$ref`` when ``root`` is given)."""
    if not isinstance(node, dict):
        return node is True
    types = node.get("type")
    if types == "null" or (isinstance(types, list) and "null" in types):
        return True
    if "const" in node and node["const"] is None:
        return True
    if isinstance(node.get("enum"), list) and None in node["enum"]:
        return True
    for key in ("anyOf", "oneOf"):
        if any(_accepts_null(b, root, hops) for b in node.get(key, ()) or ()):
            return True
    ref = node.get("$ref")
    if root is not None and isinstance(ref, str) and hops < 32:
        return _accepts_null(_resolve(root, ref), root, hops + 1)
    return False


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    types = node.get("type")
    if isinstance(types, str) and not any(k in node for k in ("enum", "const", "anyOf", "$ref")):
        return {**node, "type": [types, "null"]}
    if "anyOf" in node and "type" not in node:
        return {**node, "anyOf": [*node["anyOf"], {"type": "null"}]}
    outer: dict[str, Any] = {k: node.pop(k) for k in ("title", "description") if k in node}
    return {"anyOf": [node, {"type": "null"}], **outer}


def _resolve(root: dict[str, Any], ref: str) -> Any:
    """The schema a local ``$ref`` (``#`` or ``#/...``) points to, or ``None``."""
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        return None
    node: Any = root
    for token in ref[2:].split("/"):
        if not isinstance(node, dict):
            return None
        node = node.get(token.replace("~1", "/").replace("~0", "~"))
    return node


def drop_added_nulls(value: Any, schema: dict[str, Any]) -> tuple[Any, bool]:
    """``value`` without the ``null`` s the strict form let an optional field take that
    ``schema`` does not; also whether any was removed. Mutates ``value`` in place."""
    dropper = _Dropper(schema)
    return dropper.drop(value, schema, 0), dropper.changed


class _Dropper:
    __slots__ = ("changed", "root")

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.changed = False

    def drop(self, value: Any, node: Any, hops: int) -> Any:
        if not isinstance(node, dict) or not isinstance(value, dict | list):
            return value
        ref = node.get("$ref")
        if isinstance(ref, str) and hops < 32:
            value = self.drop(value, _resolve(self.root, ref), hops + 1)
        if isinstance(value, dict):
            self._object(value, node)
        elif isinstance(node.get("items"), dict):
            for i, item in enumerate(value):
                value[i] = self.drop(item, node["items"], 0)
        for key in ("anyOf", "oneOf"):
            branches = node.get(key)
            if isinstance(branches, list):
                fits = [b for b in branches if self._fits(value, b)]
                if len(fits) == 1:
                    value = self.drop(value, fits[0], hops)
        for branch in node.get("allOf", ()) or ():
            value = self.drop(value, branch, hops)
        return value

    def _object(self, value: dict[str, Any], node: dict[str, Any]) -> None:
        props = node.get("properties")
        if not isinstance(props, dict):
            return
        required = node.get("required", ())
        for key in [k for k in value if k in props]:
            sub = props[key]
            if value[key] is None:
                if key not in required and not _accepts_null(sub, self.root):
                    del value[key]
                    self.changed = True
            else:
                value[key] = self.drop(value[key], sub, 0)

    def _fits(self, value: Any, branch: Any, hops: int = 0) -> bool:
        """Whether ``value`` has the shape of ``branch`` (an object's keys, an array)."""
        if not isinstance(branch, dict):
            return False
        ref = branch.get("$ref")
        if isinstance(ref, str):
            return hops < 32 and self._fits(value, _resolve(self.root, ref), hops + 1)
        if isinstance(value, list):
            return branch.get("type") == "array" or "items" in branch
        props = branch.get("properties")
        if not isinstance(props, dict) or not value.keys() <= props.keys():
            return False
        return all(
            value.get(k) == sub["const"]
            for k, sub in props.items()
            if isinstance(sub, dict) and "const" in sub and k in value
        )
