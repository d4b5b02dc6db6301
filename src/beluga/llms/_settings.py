"""Checks of :class:`~beluga.llms.base.ModelSettings`, run when settings are built.

Each option is checked on the client, so a bad value is one clear ``INVALID_REQUEST`` naming the
option, the value and what is allowed: never a provider's 400 tried on every provider of a
route, a request that cannot be encoded (``NaN``), nor a silent misreading (``max_tokens=0``
read as "no limit", ``stop="END"`` sent as three stop sequences). The bounds are the widest any
provider accepts (``temperature`` up to 2 is OpenAI's); a provider with narrower ones still
answers with its own error.

``extra`` becomes a :class:`ReadOnlyDict`: a ``dict`` (so it still serializes, pickles and
spreads like one) that refuses changes, so one settings object shared by many calls, including
the defaults, cannot be changed by any of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import OutputSchema

if TYPE_CHECKING:
    from beluga.llms.base import ModelSettings

__all__ = ["EMPTY_EXTRA", "ReadOnlyDict", "check_settings"]


class ReadOnlyDict(dict[str, Any]):
    """A ``dict`` whose methods refuse changes; copy it (``dict(d)``, ``{**d}``) to change it."""

    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError(
            "ModelSettings.extra is read-only; build new settings instead, e.g. "
            "settings.merged(ModelSettings(extra={...}))"
        )

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[type[ReadOnlyDict], tuple[dict[str, Any]]]:
        return (type(self), (dict(self),))

    def __repr__(self) -> str:
        return dict.__repr__(self)


EMPTY_EXTRA = ReadOnlyDict()
"""The ``extra`` of settings that set none (shared: it cannot change)."""


def check_settings(settings: ModelSettings) -> dict[str, Any] | None:
    """Check every option of ``settings``; returns the normalized values to store back
    (``stop`` as a tuple, numbers as plain ``float``/``int``, ``extra`` read-only), if any."""
    changes: dict[str, Any] | None = None
    for name, check in _CHECKED:
        value = getattr(settings, name)
        if value is not None:
            normalized = check(value)
            if normalized is not value:
                if changes is None:
                    changes = {}
                changes[name] = normalized
    return changes


def _invalid(name: str, value: object, allowed: str) -> NoReturn:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    raise BelugaError(
        "llms.settings",
        ErrorCode.INVALID_REQUEST,
        f"ModelSettings {name}={shown} is not valid: use {allowed}",
    )


_NUMBER = (int, float)
_PLAIN = (int, float)


def _is_number(value: object) -> bool:
    return isinstance(value, _NUMBER) and not isinstance(value, bool)


def _temperature(value: Any) -> float:
    if not (_is_number(value) and math.isfinite(value) and 0 <= value <= 2):
        _invalid("temperature", value, "a number from 0 to 2, such as 0.2")
    return value if type(value) in _PLAIN else float(value)


def _top_p(value: Any) -> float:
    if not (_is_number(value) and math.isfinite(value) and 0 < value <= 1):
        _invalid("top_p", value, "a number above 0 and at most 1, such as 0.9")
    return value if type(value) in _PLAIN else float(value)


def _whole(name: str, value: Any, low: int | None, allowed: str) -> int:
    if not (isinstance(value, int) and not isinstance(value, bool)):
        _invalid(name, value, allowed)
    if low is not None and value < low:
        _invalid(name, value, allowed)
    return value if type(value) is int else int(value)


def _max_tokens(value: Any) -> int:
    return _whole("max_tokens", value, 1, "a whole number of at least 1 (None for no limit)")


def _seed(value: Any) -> int:
    return _whole("seed", value, None, "a whole number")


_SEQUENCES = (list, tuple)


def _stop(value: Any) -> tuple[str, ...] | None:
    allowed = "a string (one stop sequence) or a list of non-empty strings"
    stops: tuple[Any, ...] = (value,) if isinstance(value, str) else ()
    if not stops:
        if not isinstance(value, _SEQUENCES):
            _invalid("stop", value, allowed)
        stops = tuple(value)
    if not all(isinstance(s, str) and s for s in stops):
        _invalid("stop", value, allowed)
    if not stops:
        return None
    return value if type(value) is tuple else stops


def _tool_choice(value: Any) -> str:
    if not (isinstance(value, str) and value):
        _invalid("tool_choice", value, "'auto', 'none', 'required' or the name of a tool")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        _invalid("parallel_tool_calls", value, "True or False")
    return value


def _output(value: Any) -> OutputSchema:
    if not isinstance(value, OutputSchema):
        _invalid("output", value, "an OutputSchema, e.g. OutputSchema.of(MyModel)")
    return value


def _extra(value: Any) -> ReadOnlyDict:
    if type(value) is ReadOnlyDict:
        return value
    if not (isinstance(value, Mapping) and all(isinstance(k, str) for k in value)):
        _invalid("extra", value, "a mapping of provider option names (strings) to values")
    return ReadOnlyDict(value)


_CHECKED: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("temperature", _temperature),
    ("max_tokens", _max_tokens),
    ("top_p", _top_p),
    ("stop", _stop),
    ("seed", _seed),
    ("tool_choice", _tool_choice),
    ("parallel_tool_calls", _flag),
    ("output", _output),
    ("extra", _extra),
)
