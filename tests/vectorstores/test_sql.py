"""The SQL translations: fixed text, every key and value a bound parameter."""

from __future__ import annotations

from typing import Any

import pytest

from beluga.vectorstores.filters import parse
from beluga.vectorstores.sql import postgres_where, sqlite_where

EVIL_KEY = "k') OR 1=1; --"
EVIL_VALUE = "v'; DROP TABLE t; --"
SPECS: list[dict[str, Any]] = [
    {EVIL_KEY: EVIL_VALUE},
    {EVIL_KEY: {"$ne": EVIL_VALUE}},
    {EVIL_KEY: {"$in": [EVIL_VALUE, 1, True]}},
    {EVIL_KEY: {"$nin": [EVIL_VALUE]}},
    {EVIL_KEY: {"$gte": 3}},
    {EVIL_KEY: {"$exists": False}},
    {"$or": [{EVIL_KEY: EVIL_VALUE}, {"$and": [{EVIL_KEY: {"$lt": 2.5}}]}]},
]


@pytest.mark.parametrize("spec", SPECS, ids=str)
@pytest.mark.parametrize(("translate", "mark"), [(sqlite_where, "?"), (postgres_where, "%s")])
def test_keys_and_values_are_only_ever_parameters(
    spec: dict[str, Any], translate: Any, mark: str
) -> None:
    text, params = translate(parse(spec))
    assert EVIL_KEY not in text and "DROP" not in text and "'v" not in text
    assert text.count(mark) == len(params)
    assert EVIL_KEY in params


def test_empty_filters_and_empty_in_lists() -> None:
    assert sqlite_where(parse({})) == ("1", [])
    assert postgres_where(parse({})) == ("TRUE", [])
    assert sqlite_where(parse({"k": {"$in": []}})) == ("0", [])
    assert postgres_where(parse({"k": {"$in": []}})) == ("FALSE", [])
    text, params = postgres_where(parse({"k": {"$nin": []}}))
    assert (text, params) == ("jsonb_exists(metadata, %s)", ["k"])


def test_booleans_and_numbers_are_typed() -> None:
    text, params = sqlite_where(parse({"k": True}))
    assert "j.type = ?" in text and params == ["k", "true"]
    text, params = sqlite_where(parse({"k": 1}))
    assert "j.type IN ('integer', 'real')" in text and params == ["k", 1]
    text, params = postgres_where(parse({"k": True}))
    assert params == ["k", "true"] and "%s::jsonb" in text
