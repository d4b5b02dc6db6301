"""A "not given" marker for options where ``None`` is a meaningful value."""

from __future__ import annotations

from enum import Enum
from typing import Final, Literal, TypeAlias

__all__ = ["NOT_GIVEN", "NotGiven"]


class _NotGiven(Enum):
    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> Literal[False]:
        return False


NotGiven: TypeAlias = Literal[_NotGiven.NOT_GIVEN]
NOT_GIVEN: Final = _NotGiven.NOT_GIVEN
