"""Side paths of memory that must not fail the main path: one warning per outage, a count.

A summarizer, an embedder or a vector store that fails leaves the history whole in its store;
the strategy then shows more (or less relevant) history instead of failing the turn. The first
failure after a success logs one warning; every failure adds to ``failures`` and is an event
``beluga.memory.degraded`` on the operation's span; the first success after failures logs one
info line.
"""

from __future__ import annotations

from beluga.core.errors import BelugaError
from beluga.observability import Operation, get_logger

__all__ = ["Degradation"]

_log = get_logger("beluga.memory")


class Degradation:
    """The failure count and outage state of one side path (``what``: "summary", ...)."""

    __slots__ = ("_failing", "failures", "what")

    def __init__(self, what: str) -> None:
        self.what = what
        self.failures = 0
        self._failing = False

    def failed(self, exc: BaseException, op: Operation, consequence: str) -> None:
        """Count ``exc``; warn if it starts an outage (``consequence``: what happens instead)."""
        self.failures += 1
        kind = exc.code.value if isinstance(exc, BelugaError) else type(exc).__qualname__
        attrs = {"beluga.memory.side_path": self.what, "error.type": kind}
        op.event("beluga.memory.degraded", attrs)
        if not self._failing:
            self._failing = True
            detail = exc.message if isinstance(exc, BelugaError) else type(exc).__name__
            _log.warning("memory %s failed (%s): %s", self.what, detail, consequence)

    def succeeded(self) -> None:
        """End an outage (one info line)."""
        if self._failing:
            self._failing = False
            _log.info("memory %s works again (%d failures so far)", self.what, self.failures)
