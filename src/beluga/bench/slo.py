"""Service-level objectives: ``"p95 ttft < 500ms and error_rate < 1%"``.

A clause is ``[pNN] MEASURE OP VALUE``: measures are ``ttft``, ``itl``, ``e2e`` (seconds; the
value takes ``ms``/``s``/``us``, a bare number is milliseconds), ``tps`` (tokens/s per request),
``throughput`` (output tokens/s of the whole run) and ``error_rate`` (``%`` or a fraction).
Without ``pNN`` a latency clause means p50. Clauses join with ``and`` or ``,``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from beluga.core.errors import BelugaError, ErrorCode

__all__ = ["SLO", "Clause", "parse_slo"]

_CLAUSE = re.compile(
    r"^\s*(?:p(?P<p>\d{1,2}(?:\.\d+)?)\s+)?(?P<m>ttft|itl|e2e|tps|throughput|error_rate)\s*"
    r"(?P<op><=|>=|<|>)\s*(?P<v>[0-9]*\.?[0-9]+)\s*(?P<u>ms|s|us|%)?\s*$",
    re.IGNORECASE,
)
_LATENCY = ("ttft", "itl", "e2e")
_SCALE = {"ms": 1e-3, "s": 1.0, "us": 1e-6}


@dataclass(slots=True, frozen=True)
class Clause:
    measure: str
    percentile: float | None
    op: str
    value: float

    def holds(self, observed: float | None) -> bool:
        if observed is None:
            return False
        return {
            "<": observed < self.value,
            "<=": observed <= self.value,
            ">": observed > self.value,
            ">=": observed >= self.value,
        }[self.op]

    def __str__(self) -> str:
        pct = f"p{self.percentile:g} " if self.percentile is not None else ""
        if self.measure in _LATENCY:
            shown = f"{self.value * 1e3:g}ms"
        elif self.measure == "error_rate":
            shown = f"{self.value * 100:g}%"
        else:
            shown = f"{self.value:g}"
        return f"{pct}{self.measure} {self.op} {shown}"


@dataclass(slots=True, frozen=True)
class SLO:
    clauses: tuple[Clause, ...]

    def check(
        self, observe: Callable[[Clause], float | None]
    ) -> list[tuple[Clause, float | None, bool]]:
        """Each clause with the observed value and whether it holds."""
        return [(c, (v := observe(c)), c.holds(v)) for c in self.clauses]

    def met(self, observe: Callable[[Clause], float | None]) -> bool:
        return all(ok for _, _, ok in self.check(observe))

    def __str__(self) -> str:
        return " and ".join(str(c) for c in self.clauses)


def parse_slo(text: str) -> SLO:
    """The SLO ``text`` writes; one clear error naming the clause that is not understood."""
    clauses = []
    for part in re.split(r"\s+and\s+|,", text.strip(), flags=re.IGNORECASE):
        match = _CLAUSE.match(part)
        if match is None:
            raise BelugaError(
                "bench.slo",
                ErrorCode.INVALID_CONFIG,
                f"SLO clause {part.strip()!r} is not understood; write e.g. "
                "'p95 ttft < 500ms', 'p50 itl < 30ms', 'tps > 40' or 'error_rate < 1%'",
            )
        measure = match["m"].lower()
        value = float(match["v"])
        unit = (match["u"] or "").lower()
        if measure in _LATENCY:
            value *= _SCALE.get(unit or "ms", 1e-3)
        elif measure == "error_rate" and unit == "%":
            value /= 100
        pct = float(match["p"]) if match["p"] else (50.0 if measure in _LATENCY else None)
        clauses.append(Clause(measure, pct, match["op"], value))
    return SLO(tuple(clauses))
