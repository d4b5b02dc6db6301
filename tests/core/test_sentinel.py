from __future__ import annotations

from beluga.core import NOT_GIVEN


def test_not_given_is_falsy_and_distinct_from_none() -> None:
    assert not NOT_GIVEN
    assert NOT_GIVEN is not None
    assert repr(NOT_GIVEN) == "NOT_GIVEN"
