"""Latency distributions and per-request schedules of the mock provider (in-process and HTTP).

A distribution is written as text so it fits a ``beluga.yaml`` value or a CLI option:
``fixed:200ms``, ``normal:200ms,20ms``, ``lognormal:200ms,0.25`` (median and sigma of the log),
``uniform:100ms,300ms``, ``exponential:50ms`` (mean); a bare number is milliseconds fixed.

A :class:`Schedule` is the whole timeline of one answer drawn up front: the offset of each token
from the request's start. The emitter sleeps until ``start + offset`` against the monotonic clock
for every token, so the waits never accumulate the lateness of earlier sleeps (a sleep wakes a
little late; a chain of relative sleeps would drift by the sum of those errors).
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

from beluga.core.errors import BelugaError, ErrorCode

__all__ = ["Delay", "Faults", "Schedule", "parse_delay", "word"]

_UNIT = {"": 1e-3, "ms": 1e-3, "s": 1.0, "us": 1e-6, "µs": 1e-6}
_KINDS = ("fixed", "normal", "lognormal", "uniform", "exponential")
_NUMBER = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)\s*(ms|s|us|µs)?\s*$")


@dataclass(slots=True, frozen=True)
class Delay:
    """A distribution of delays in seconds; ``draw`` never returns less than zero."""

    kind: str
    a: float
    b: float = 0.0

    def draw(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            value = self.a
        elif self.kind == "normal":
            value = rng.gauss(self.a, self.b)
        elif self.kind == "lognormal":
            value = self.a * math.exp(rng.gauss(0.0, self.b))
        elif self.kind == "uniform":
            value = rng.uniform(self.a, self.b)
        else:
            value = rng.expovariate(1.0 / self.a) if self.a > 0 else 0.0
        return max(value, 0.0)

    @property
    def median(self) -> float:
        """The distribution's true median in seconds (what accuracy checks compare with)."""
        if self.kind in ("fixed", "normal", "lognormal"):
            return max(self.a, 0.0)
        if self.kind == "uniform":
            return (self.a + self.b) / 2
        return self.a * math.log(2)

    def __str__(self) -> str:
        if self.kind in ("fixed", "exponential"):
            return f"{self.kind}:{self.a * 1e3:g}ms"
        if self.kind == "lognormal":
            return f"lognormal:{self.a * 1e3:g}ms,{self.b:g}"
        return f"{self.kind}:{self.a * 1e3:g}ms,{self.b * 1e3:g}ms"


def _seconds(text: str, spec: str, what: str) -> float:
    match = _NUMBER.match(text)
    if match is None:
        raise _bad(spec, what, f"{text.strip()!r} is not a duration")
    return float(match.group(1)) * _UNIT[match.group(2) or ""]


def _bad(spec: str, what: str, why: str) -> BelugaError:
    return BelugaError(
        "llms.mock.config",
        ErrorCode.INVALID_CONFIG,
        f"{what}={spec!r}: {why}; write fixed:200ms, normal:200ms,20ms, lognormal:200ms,0.25, "
        "uniform:100ms,300ms, exponential:50ms or a number of milliseconds",
    )


def parse_delay(spec: str | float | int | Delay, what: str = "delay") -> Delay:
    """A :class:`Delay` from its text form (numbers alone are milliseconds)."""
    if isinstance(spec, Delay):
        return spec
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        if spec < 0 or not math.isfinite(spec):
            raise _bad(str(spec), what, "a delay cannot be negative")
        return Delay("fixed", float(spec) * 1e-3)
    if not isinstance(spec, str):
        raise _bad(repr(spec), what, "give a string or a number")
    kind, sep, rest = spec.partition(":")
    kind = kind.strip().lower()
    if not sep:
        return Delay("fixed", _seconds(spec, spec, what))
    if kind not in _KINDS:
        raise _bad(spec, what, f"unknown distribution {kind!r}")
    parts = [p for p in rest.split(",") if p.strip()]
    want = 1 if kind in ("fixed", "exponential") else 2
    if len(parts) != want:
        raise _bad(spec, what, f"{kind} takes {want} value{'s' * (want > 1)}")
    a = _seconds(parts[0], spec, what)
    if kind == "lognormal":
        try:
            b = float(parts[1])
        except ValueError:
            raise _bad(spec, what, "the lognormal sigma is a plain number") from None
    else:
        b = _seconds(parts[1], spec, what) if want == 2 else 0.0
    if kind == "uniform" and b < a:
        raise _bad(spec, what, "uniform needs low <= high")
    return Delay(kind, a, b)


@dataclass(slots=True, frozen=True)
class Faults:
    """Rates (0-1) at which a request fails: 429, a 5xx, or a stream cut after some tokens."""

    rate_limit: float = 0.0
    server_error: float = 0.0
    cut: float = 0.0

    def __post_init__(self) -> None:
        for name in ("rate_limit", "server_error", "cut"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise BelugaError(
                    "llms.mock.config",
                    ErrorCode.INVALID_CONFIG,
                    f"mock {name}_rate={value!r} is not a rate; use a number from 0 to 1",
                )
        if self.rate_limit + self.server_error + self.cut > 1.0:
            raise BelugaError(
                "llms.mock.config",
                ErrorCode.INVALID_CONFIG,
                "mock error rates add up to more than 1; lower rate_limit_rate, "
                "server_error_rate or cut_rate",
            )


@dataclass(slots=True, frozen=True)
class Schedule:
    """One answer's timeline: ``offsets[i]`` is when token ``i`` is due, in seconds after the
    request started; ``fault`` is ``None``, ``"rate_limit"``, ``"server_error"`` or ``"cut"``
    (the stream is dropped after ``cut_after`` tokens)."""

    offsets: tuple[float, ...]
    fault: str | None = None
    cut_after: int = 0

    @classmethod
    def draw(
        cls, rng: random.Random, ttft: Delay, itl: Delay, tokens: int, faults: Faults
    ) -> Schedule:
        roll = rng.random()
        fault: str | None = None
        if roll < faults.rate_limit:
            fault = "rate_limit"
        elif roll < faults.rate_limit + faults.server_error:
            fault = "server_error"
        elif roll < faults.rate_limit + faults.server_error + faults.cut:
            fault = "cut"
        at = ttft.draw(rng)
        offsets = [at]
        for _ in range(tokens - 1):
            at += itl.draw(rng)
            offsets.append(at)
        cut_after = rng.randrange(max(tokens, 1)) if fault == "cut" else 0
        return cls(tuple(offsets), fault, cut_after)


def word(i: int) -> str:
    """The ``i``-th token of a mock answer (one word and a space: one token each)."""
    return _WORDS[i % len(_WORDS)] + " "


_WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "seven",
    "bright",
    "whales",
    "sing",
    "under",
    "calm",
    "northern",
    "water",
    "and",
    "every",
    "answer",
    "arrives",
    "on",
    "time",
]
