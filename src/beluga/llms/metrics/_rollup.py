"""Rollups: what makes ``summary()`` fast over millions of calls.

Every stored call also lands in per-minute, per-hour, per-day (UTC) and per-30-day rollups:
counts and sums per (level, bucket start, provider/model/role key, status), and packed
latency/TTFT histograms of successful calls per (level, bucket start, key, kind) — see ``_hist``
for the histograms and their 1 % accuracy. :func:`decompose` splits a query's ``[since, until)``
into the coarsest aligned pieces: whole 30-day spans, then the days, hours and minutes at the
edges, then raw rows for the partial minutes at the very edges. A query therefore reads a few
thousand rollup rows at most, plus under two minutes of raw rows, and its counts, tokens and
costs are exact (``--since`` is not rounded to a bucket); only percentiles are approximate,
within 1 %.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from beluga.llms.metrics._hist import HistogramMerge, bin_of, percentile
from beluga.llms.metrics.base import SummaryRow

__all__ = ["KIND_LATENCY", "KIND_TTFT", "LEVEL_WIDTHS", "Group", "Rollup", "decompose", "rows_of"]

KIND_LATENCY = 0
KIND_TTFT = 1
LEVEL_WIDTHS: tuple[int, ...] = (60, 3600, 86400, 30 * 86400)
"""Rollup levels: bucket widths in seconds — minutes, hours, UTC days, 30-day spans (from the
unix epoch). Each width divides the next, so a range splits into aligned pieces."""

_HistKey = tuple[int, int, int, int]  # level, bucket start, key id, kind


def decompose(
    since: float | None, until: float | None
) -> tuple[list[tuple[float, float]], list[tuple[int, float, float]]]:
    """Split ``[since, until)`` into raw-row ranges and aligned rollup pieces.

    Returns ``(raw, pieces)``: ``raw`` holds ``(lo, hi)`` time ranges to read from raw rows,
    ``pieces`` holds ``(level, lo, hi)`` bucket-start ranges (``±inf`` for open ends).
    """
    lo = -math.inf if since is None else float(since)
    hi = math.inf if until is None else float(until)
    if lo >= hi:
        return [], []
    width = LEVEL_WIDTHS[0]
    a, b = _ceil_to(lo, width), _floor_to(hi, width)
    if a >= b:
        return [(lo, hi)], []
    raw = [r for r in ((lo, a), (b, hi)) if r[0] < r[1]]
    pieces: list[tuple[int, float, float]] = []
    for level in range(len(LEVEL_WIDTHS)):
        if level == len(LEVEL_WIDTHS) - 1:
            pieces.append((level, a, b))
            break
        coarser = LEVEL_WIDTHS[level + 1]
        a2, b2 = _ceil_to(a, coarser), _floor_to(b, coarser)
        if a2 >= b2:
            pieces.append((level, a, b))
            break
        pieces.extend((level, x, y) for x, y in ((a, a2), (b2, b)) if x < y)
        a, b = a2, b2
    return raw, pieces


def _ceil_to(value: float, width: int) -> float:
    return value if math.isinf(value) else float(-(-value // width) * width)


def _floor_to(value: float, width: int) -> float:
    return value if math.isinf(value) else float((value // width) * width)


class Rollup:
    """Folds a batch of newly stored calls into what the rollup tables gain.

    Calls are folded per minute first (a few dict updates per call), then the minute entries are
    folded into hours and days, so the per-call cost does not grow with the levels.
    """

    __slots__ = ("_hist", "_stats")

    def __init__(self) -> None:
        self._stats: dict[tuple[int, int, str], list[Any]] = {}
        self._hist: dict[tuple[int, int, int], Counter[int]] = {}

    def add(
        self,
        key_id: int,
        ts: float,
        status: str,
        latency_s: float,
        ttft_s: float | None,
        tokens: tuple[int, int, int, int],
        cost_usd: float | None,
    ) -> None:
        minute = int(ts // 60) * 60
        skey = (minute, key_id, status)
        acc = self._stats.get(skey)
        if acc is None:
            # calls, input, output, cached, reasoning tokens, cost (of known), calls with a cost
            acc = self._stats[skey] = [0, 0, 0, 0, 0, 0.0, 0]
        acc[0] += 1
        acc[1] += tokens[0]
        acc[2] += tokens[1]
        acc[3] += tokens[2]
        acc[4] += tokens[3]
        if cost_usd is not None:
            acc[5] += cost_usd
            acc[6] += 1
        if status != "ok":
            return
        hist = self._hist
        hkey = (minute, key_id, KIND_LATENCY)
        counts = hist.get(hkey)
        if counts is None:
            counts = hist[hkey] = Counter()
        counts[bin_of(latency_s)] += 1
        if ttft_s is not None:
            hkey = (minute, key_id, KIND_TTFT)
            counts = hist.get(hkey)
            if counts is None:
                counts = hist[hkey] = Counter()
            counts[bin_of(ttft_s)] += 1

    def stats_rows(self) -> list[tuple[Any, ...]]:
        """``(level, bucket, key_id, status, calls, in, out, cached, reasoning, cost, costed)``
        for every level, sorted by primary key (a fixed lock order for concurrent writers)."""
        out: dict[tuple[int, int, int, str], list[Any]] = {}
        for (minute, key_id, status), values in self._stats.items():
            for level, width in enumerate(LEVEL_WIDTHS):
                k = (level, minute // width * width, key_id, status)
                acc = out.get(k)
                if acc is None:
                    out[k] = list(values)
                else:
                    for i, v in enumerate(values):
                        acc[i] += v
        return [(*k, *v) for k, v in sorted(out.items())]

    def histograms(self) -> dict[_HistKey, Counter[int]]:
        """``{(level, bucket, key_id, kind): {bin: count}}`` for every level."""
        out: dict[_HistKey, Counter[int]] = {}
        for (minute, key_id, kind), counts in self._hist.items():
            for level, width in enumerate(LEVEL_WIDTHS):
                k = (level, minute // width * width, key_id, kind)
                acc = out.get(k)
                if acc is None:
                    out[k] = Counter(counts)
                else:
                    acc.update(counts)
        return out


@dataclass(slots=True)
class Group:
    """Summary of one (provider, role) being assembled from rollups and raw rows."""

    calls: int = 0
    ok: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost: float = 0.0
    costed: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latency: HistogramMerge = field(default_factory=HistogramMerge)
    ttft: HistogramMerge = field(default_factory=HistogramMerge)

    def add_stats(self, status: str, values: Iterable[Any]) -> None:
        calls, inp, out, cached, reasoning, cost, costed = (v or 0 for v in values)
        n = int(calls)
        self.calls += n
        if status == "ok":
            self.ok += n
        else:
            self.errors[status] = self.errors.get(status, 0) + n
        self.input_tokens += int(inp)
        self.output_tokens += int(out)
        self.cached_tokens += int(cached)
        self.reasoning_tokens += int(reasoning)
        self.cost += float(cost)
        self.costed += int(costed)

    def add_blob(self, kind: int, blob: bytes | None) -> None:
        (self.latency if kind == KIND_LATENCY else self.ttft).add_blob(blob)

    def add_call(
        self,
        status: str,
        latency_s: float,
        ttft_s: float | None,
        tokens: tuple[int, int, int, int],
        cost_usd: float | None,
    ) -> None:
        """Fold one raw call in (the edges of a query, and stores without rollups)."""
        costed = cost_usd is not None
        self.add_stats(status, (1, *tokens, cost_usd if costed else 0.0, 1 if costed else 0))
        if status == "ok":
            self.latency.add_value(latency_s)
            if ttft_s is not None:
                self.ttft.add_value(ttft_s)

    def row(self, provider: str, role: str | None) -> SummaryRow:
        lat, ttft = self.latency.counts(), self.ttft.counts()
        lat_n, ttft_n = sum(lat.values()), sum(ttft.values())
        return SummaryRow(
            provider=provider,
            role=role,
            calls=self.calls,
            ok=self.ok,
            errors=dict(sorted(self.errors.items())),
            latency_p50_s=percentile(lat, 0.50, lat_n),
            latency_p95_s=percentile(lat, 0.95, lat_n),
            latency_p99_s=percentile(lat, 0.99, lat_n),
            ttft_p50_s=percentile(ttft, 0.50, ttft_n),
            ttft_p95_s=percentile(ttft, 0.95, ttft_n),
            ttft_p99_s=percentile(ttft, 0.99, ttft_n),
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cached_tokens=self.cached_tokens,
            reasoning_tokens=self.reasoning_tokens,
            cost_usd=self.cost if self.costed else None,
        )


def rows_of(groups: dict[tuple[str, str | None], Group]) -> list[SummaryRow]:
    """Summary rows sorted by provider, then role (no role first)."""
    ordered = sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] is not None, kv[0][1]))
    return [g.row(provider, role) for (provider, role), g in ordered]
