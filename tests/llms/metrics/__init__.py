"""Shared helpers: realistic call records and the exact summary they must produce."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from beluga.llms.metrics import CallRecord, MetricsFilter, SummaryRow
from beluga.llms.metrics._hist import RELATIVE_ERROR

PROVIDERS = {"openai": ("gpt-4o", "gpt-4o-mini"), "anthropic": ("claude",), "local": ("smol",)}
ROLES = ("planner", "chat", None)
ERRORS = ("rate_limited", "timeout")


def make_calls(
    n: int, *, end: float, span: float, seed: int = 1, prefix: str = "c"
) -> list[CallRecord]:
    """``n`` varied calls with timestamps in ``[end - span, end)``, none on a bucket boundary."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        provider = rng.choice(sorted(PROVIDERS))
        streamed = rng.random() < 0.5
        failed = rng.random() < 0.1
        out.append(
            CallRecord(
                ts=end - span + rng.random() * span,
                provider=provider,
                model=rng.choice(PROVIDERS[provider]),
                role=rng.choice(ROLES),
                operation="stream" if streamed else "chat",
                latency_s=rng.lognormvariate(0, 0.8),
                ttft_s=rng.lognormvariate(-1.5, 0.5) if streamed and not failed else None,
                input_tokens=rng.randrange(1, 5000),
                output_tokens=0 if failed else rng.randrange(0, 2000),
                cached_tokens=rng.randrange(0, 100),
                reasoning_tokens=rng.randrange(0, 50),
                cost_usd=None if provider == "local" else rng.random() / 100,
                status=rng.choice(ERRORS) if failed else "ok",
                error="upstream failed" if failed else None,
                call_id=f"{prefix}{seed}-{i}",
            )
        )
    return out


def nearest_rank(values: Sequence[float], q: float) -> float | None:
    """The exact nearest-rank ``q``-quantile."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(Fraction(str(q)) * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Expected:
    calls: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latency: list[float] = field(default_factory=list)
    ttft: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    cost: float = 0.0
    costed: int = 0


def expected(
    records: Iterable[CallRecord], where: MetricsFilter | None = None
) -> dict[tuple[str, str | None], Expected]:
    """What a summary must say, computed exactly from the raw records."""
    where = where or MetricsFilter()
    out: dict[tuple[str, str | None], Expected] = {}
    for r in records:
        if not where.matches(r):
            continue
        e = out.setdefault((r.provider, r.role), Expected())
        e.calls += 1
        if r.status == "ok":
            e.ok += 1
            e.latency.append(r.latency_s)
            if r.ttft_s is not None:
                e.ttft.append(r.ttft_s)
        else:
            e.errors[r.status] = e.errors.get(r.status, 0) + 1
        for i, n in enumerate(
            (r.input_tokens, r.output_tokens, r.cached_tokens, r.reasoning_tokens)
        ):
            e.tokens[i] += n
        if r.cost_usd is not None:
            e.cost += r.cost_usd
            e.costed += 1
    return out


def close_enough(estimate: float | None, exact: float | None) -> bool:
    """Within the documented relative error of the histograms (plus float noise)."""
    if estimate is None or exact is None:
        return estimate is None and exact is None
    return abs(estimate - exact) <= exact * RELATIVE_ERROR * (1 + 1e-9) + 1e-12


def assert_summary(
    rows: Sequence[SummaryRow], records: Iterable[CallRecord], where: MetricsFilter | None = None
) -> None:
    """Counts, errors, tokens and cost exactly; percentiles within 1 %; order by provider/role."""
    want = expected(records, where)
    keys = [(r.provider, r.role) for r in rows]
    assert keys == sorted(want, key=lambda k: (k[0], k[1] is not None, k[1] or "")), keys
    for row in rows:
        e = want[(row.provider, row.role)]
        assert (row.calls, row.ok, row.errors) == (e.calls, e.ok, e.errors), row
        assert row.success_rate == e.ok / e.calls
        assert [row.input_tokens, row.output_tokens, row.cached_tokens, row.reasoning_tokens] == (
            e.tokens
        )
        if e.costed:
            assert row.cost_usd is not None
            assert math.isclose(row.cost_usd, e.cost, rel_tol=1e-9, abs_tol=1e-12)
        else:
            assert row.cost_usd is None
        for q, lat, ttft in (
            (0.50, row.latency_p50_s, row.ttft_p50_s),
            (0.95, row.latency_p95_s, row.ttft_p95_s),
            (0.99, row.latency_p99_s, row.ttft_p99_s),
        ):
            assert close_enough(lat, nearest_rank(e.latency, q)), (row, q)
            assert close_enough(ttft, nearest_rank(e.ttft, q)), (row, q)
