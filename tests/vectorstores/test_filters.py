"""The filter language: what parse builds, what the reference evaluator says, its errors."""

from __future__ import annotations

from typing import Any

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.vectorstores.filters import And, Compare, Exists, In, Or, compile_filter, matches, parse


def test_parse_builds_the_typed_tree() -> None:
    node = parse({"tag": "a", "year": {"$gte": 2020, "$lt": 2025}, "$or": [{"x": {"$in": [1, 2]}}]})
    assert node == And(
        (
            Compare("tag", "eq", "a"),
            Compare("year", "gte", 2020),
            Compare("year", "lt", 2025),
            Or((In("x", (1, 2)),)),
        )
    )
    assert parse({"k": {"$nin": ["a"]}}) == In("k", ("a",), negate=True)
    assert parse({"k": {"$exists": False}}) == Exists("k", present=False)
    assert parse(None) == And(())
    assert parse({}) == And(())
    tree = Compare("k", "ne", 1)
    assert parse(tree) is tree


@pytest.mark.parametrize(
    ("spec", "meta", "expected"),
    [
        ({"k": 1}, {"k": 1.0}, True),
        ({"k": 1}, {"k": True}, False),
        ({"k": True}, {"k": 1}, False),
        ({"k": "1"}, {"k": 1}, False),
        ({"k": {"$ne": 1}}, {}, False),
        ({"k": {"$ne": 1}}, {"k": None}, True),
        ({"k": {"$nin": [1]}}, {}, False),
        ({"k": {"$nin": [1]}}, {"k": 2}, True),
        ({"k": {"$gt": 0}}, {"k": True}, False),
        ({"k": {"$gt": 0}}, {"k": "5"}, False),
        ({"k": {"$lte": 0.5}}, {"k": 0.5}, True),
        ({"k": {"$in": []}}, {"k": 1}, False),
        ({"k": {"$exists": True}}, {"k": None}, True),
        ({"k": 1}, {"k": [1]}, False),
        ({"a.b": 1}, {"a.b": 1}, True),
        ({"a.b": 1}, {"a": {"b": 1}}, False),
    ],
)
def test_the_reference_semantics(
    spec: dict[str, Any], meta: dict[str, Any], expected: bool
) -> None:
    node = parse(spec)
    assert matches(node, meta) is expected
    assert compile_filter(node)(meta) is expected


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        ({"k": {"$regex": "x"}}, "filter $.k.$regex"),
        ({"$or": [{"a": 1}, {"b": {"$gt": "x"}}]}, "filter $.$or[1].b.$gt"),
        ({"k": {"$in": [1, {"x": 1}]}}, "filter $.k.$in[1]"),
        ({"k": {"$exists": 1}}, "filter $.k.$exists"),
        ({"k": {}}, "filter $.k"),
        ({"k": 2**60}, "filter $.k"),
        ({"$and": "x"}, "filter $.$and"),
        ({"$and": ["x"]}, "filter $.$and[0]"),
    ],
)
def test_errors_name_the_path_and_the_operators(spec: dict[str, Any], path: str) -> None:
    with pytest.raises(BelugaError) as excinfo:
        parse(spec)
    assert excinfo.value.code is ErrorCode.INVALID_REQUEST
    assert excinfo.value.message.startswith(path)
    assert "operators: $eq" in excinfo.value.message
