"""Provider call metrics: the record of one call, summaries, filters and the store protocol.

Every chat call (``generate`` or ``stream``) can leave one :class:`CallRecord` (provider, model,
role, latency, time to first token, tokens, cost, status). A :class:`MetricsStore` keeps them and
answers :meth:`~MetricsStore.summary` (count, success rate, latency and TTFT percentiles, tokens
and cost per provider and role) and :meth:`~MetricsStore.export`.

The store protocol is synchronous on purpose: the hot path never calls it. Calls hand records to
:class:`~beluga.llms.metrics.recorder.MetricsRecorder`, which buffers them in memory and writes
them in batches from its own thread; the only other callers are the CLI and scripts. An async
store would need an event loop in that thread and buy nothing.
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import redact

__all__ = [
    "CALL_FIELDS",
    "CallOperation",
    "CallRecord",
    "MetricsFilter",
    "MetricsStore",
    "SummaryRow",
    "parse_time",
    "short_error",
]

CallOperation = Literal["chat", "stream"]
"""``chat`` for a whole response, ``stream`` for a streamed one."""
_MAX_ERROR = 200


def _logger() -> logging.Logger:
    """The package's redacting logger, imported on first use: only failures log, and the CLI
    should not pay for OpenTelemetry to read a summary."""
    from beluga.observability.logs import get_logger

    return get_logger("beluga.llms.metrics")


def _call_id() -> str:
    return os.urandom(16).hex()


@dataclass(slots=True, frozen=True, kw_only=True)
class CallRecord:
    """One provider call.

    ``ts`` is when the call started (unix seconds); ``latency_s`` its whole duration;
    ``ttft_s`` the time to the first streamed chunk (``None`` for non-streamed calls);
    ``status`` is ``"ok"`` or an :class:`~beluga.core.errors.ErrorCode` value; ``error`` a short
    redacted text (see :func:`short_error`); ``cost_usd`` is ``None`` when the price is unknown.
    ``call_id`` makes a record unique: stores keep one record per id, so a replay or a migration
    run twice stores nothing twice.
    """

    provider: str
    model: str
    latency_s: float
    ts: float = field(default_factory=time.time)
    role: str | None = None
    operation: CallOperation = "chat"
    ttft_s: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float | None = None
    status: str = "ok"
    error: str | None = None
    call_id: str = field(default_factory=_call_id)

    def as_dict(self) -> dict[str, Any]:
        """The record as a JSON-ready mapping, fields in :data:`CALL_FIELDS` order."""
        return {name: getattr(self, name) for name in CALL_FIELDS}

    def as_row(self) -> tuple[Any, ...]:
        """Values in :data:`CALL_FIELDS` order, ``error`` redacted and shortened (for stores)."""
        error = self.error
        if error is not None:
            error = short_error(error)
        return (
            self.ts,
            self.provider,
            self.model,
            self.role,
            self.operation,
            self.latency_s,
            self.ttft_s,
            self.input_tokens,
            self.output_tokens,
            self.cached_tokens,
            self.reasoning_tokens,
            self.cost_usd,
            self.status,
            error,
            self.call_id,
        )

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> CallRecord:
        """Rebuild a record from values in :data:`CALL_FIELDS` order."""
        return cls(**dict(zip(CALL_FIELDS, row, strict=True)))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CallRecord:
        """Rebuild a record from :meth:`as_dict` output; unknown keys are ignored."""
        return cls(**{k: data[k] for k in CALL_FIELDS if k in data})


CALL_FIELDS: tuple[str, ...] = (
    "ts",
    "provider",
    "model",
    "role",
    "operation",
    "latency_s",
    "ttft_s",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "cost_usd",
    "status",
    "error",
    "call_id",
)
assert set(CALL_FIELDS) == {f.name for f in fields(CallRecord)}


def short_error(error: BaseException | str) -> str:
    """A one-line, redacted, at most 200-character text for :attr:`CallRecord.error`."""
    text = (str(error) or type(error).__qualname__) if isinstance(error, BaseException) else error
    text = " ".join(redact(text).split())
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"


@dataclass(slots=True, frozen=True)
class SummaryRow:
    """Calls of one provider and role over the filtered time range.

    Latency and TTFT percentiles are over successful calls only (a fast ``auth_failed`` or a
    30 s timeout would otherwise blur them), read from log-scale histograms: each is within 1 %
    of the exact nearest-rank percentile (see ``beluga.llms.metrics._rollup``). ``None`` when
    there is nothing to measure (no successful call, no streamed call). ``cost_usd`` sums the
    calls whose cost is known, and is ``None`` when no call had one. ``errors`` counts failed
    calls by status.
    """

    provider: str
    role: str | None
    calls: int
    ok: int
    errors: dict[str, int]
    latency_p50_s: float | None
    latency_p95_s: float | None
    latency_p99_s: float | None
    ttft_p50_s: float | None
    ttft_p95_s: float | None
    ttft_p99_s: float | None
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    cost_usd: float | None

    @property
    def success_rate(self) -> float:
        return self.ok / self.calls if self.calls else 0.0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            out[f.name] = getattr(self, f.name)
            if f.name == "ok":
                out["success_rate"] = self.success_rate
        return out


@dataclass(slots=True, frozen=True, kw_only=True)
class MetricsFilter:
    """Which calls a summary or an export covers; ``None`` means no restriction.

    ``since`` is inclusive and ``until`` exclusive, both unix seconds (see :func:`parse_time`).
    """

    provider: str | None = None
    role: str | None = None
    since: float | None = None
    until: float | None = None

    def matches(self, record: CallRecord) -> bool:
        return (
            (self.provider is None or record.provider == self.provider)
            and (self.role is None or record.role == self.role)
            and (self.since is None or record.ts >= self.since)
            and (self.until is None or record.ts < self.until)
        )


@runtime_checkable
class MetricsStore(Protocol):
    """Where call records live. Implementations are safe to share between threads."""

    def write(self, records: Sequence[CallRecord]) -> int:
        """Store ``records`` in one transaction; returns how many were new (by ``call_id``)."""
        ...

    def summary(self, where: MetricsFilter | None = None) -> list[SummaryRow]:
        """One row per (provider, role), sorted by provider then role."""
        ...

    def export(self, where: MetricsFilter | None = None) -> Iterator[CallRecord]:
        """The matching records, oldest first, streamed (not loaded at once)."""
        ...

    def close(self) -> None: ...


_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: str, *, now: float | None = None) -> float:
    """Unix seconds from ``15m``/``2h``/``7d``/``1w``/``30s`` (that long before ``now``), an ISO
    8601 date or time (no zone means local time, as in ``docker logs --since``), or a number of
    unix seconds. Raises :class:`BelugaError` (``invalid_request``) on anything else."""
    if match := _RELATIVE.match(text):
        base = time.time() if now is None else now
        return base - float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    value = text.strip()
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if math.isfinite(number):
            return number
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise BelugaError(
            "llms.metrics.parse_time",
            ErrorCode.INVALID_REQUEST,
            f"cannot read the time {text!r}: use a duration such as 15m, 2h or 7d, or an ISO "
            "time such as 2026-01-31T09:00 or 2026-01-31T09:00:00Z",
        ) from None
    return moment.timestamp()
