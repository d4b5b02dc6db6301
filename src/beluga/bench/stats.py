"""Percentiles, confidence intervals and significance tests for benchmark samples.

Percentiles interpolate linearly between order statistics (the default of numpy and of R's
type 7). Their 95 % confidence intervals are exact and distribution-free: the ranks ``l`` and
``u`` around ``n·p`` for which the binomial probability that the true quantile lies between the
``l``-th and ``u``-th smallest sample is at least 95 % (so no resampling and no seed). Means get
a seeded percentile bootstrap. Comparisons use the Mann-Whitney U test (scipy), which assumes
no shape for latency distributions, and a seeded bootstrap CI of the ratio of medians.

Outliers are kept: every sample counts in every percentile (a tail is what a latency benchmark
is for). They are counted against Tukey's far fences (beyond 3 IQR) and reported, never dropped.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from beluga.core.errors import BelugaError, ErrorCode

__all__ = [
    "Comparison",
    "Summary",
    "bootstrap_ci",
    "compare_samples",
    "percentile",
    "quantile_ci",
    "summarize",
]

PERCENTILES = (50, 90, 95, 99)


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) of ``values``, interpolated linearly (type 7)."""
    if not values:
        raise ValueError("percentile of no values")
    data = sorted(values)
    rank = (len(data) - 1) * p / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (rank - low)


def _binom_window(n: int, q: float) -> tuple[int, list[float]]:
    """``(first, cdf)`` with ``cdf[j] = P(X <= first + j)`` for X ~ Binomial(n, q), over the
    window of 8 standard deviations around ``n·q`` (the mass outside it is below 1e-14)."""
    sd = math.sqrt(n * q * (1 - q))
    first = max(int(n * q - 8 * sd) - 1, 0)
    last = min(int(n * q + 8 * sd) + 2, n)
    log_p, log_q = math.log(q), math.log1p(-q)
    log_pmf = (
        math.lgamma(n + 1)
        - math.lgamma(first + 1)
        - math.lgamma(n - first + 1)
        + first * log_p
        + (n - first) * log_q
    )
    ratio = q / (1 - q)
    pmf = math.exp(log_pmf)
    cdf: list[float] = []
    total = 0.0
    for i in range(first, last + 1):
        total += pmf
        cdf.append(total)
        pmf *= (n - i) / (i + 1) * ratio
    return first, cdf


def quantile_ci(
    values: Sequence[float], p: float, confidence: float = 0.95
) -> tuple[float, float] | None:
    """The exact distribution-free CI of the ``p``-th percentile, or None when ``values`` are
    too few for that confidence (e.g. a p99 from 50 samples).

    With ranks 1..n, ``[x_(l), x_(u)]`` covers the quantile with probability
    ``F(u-1) - F(l-1)`` (``F`` the Binomial(n, p) CDF): ``l`` is the largest rank with
    ``F(l-1) <= alpha/2``, ``u`` the smallest with ``F(u-1) >= 1 - alpha/2``.
    """
    n = len(values)
    q = p / 100.0
    if n < 2 or q <= 0 or q >= 1:
        return None
    alpha = (1 - confidence) / 2
    first, cdf = _binom_window(n, q)

    def big_f(k: int) -> float:
        if k < first:
            return 0.0
        return cdf[k - first] if k - first < len(cdf) else 1.0

    low = next((k for k in range(n, 0, -1) if big_f(k - 1) <= alpha), None)
    high = next((k for k in range(1, n + 1) if big_f(k - 1) >= 1 - alpha), None)
    if low is None or high is None:
        return None
    data = sorted(values)
    return data[low - 1], data[high - 1]


def bootstrap_ci(
    values: Sequence[float],
    statistic: Any = None,
    *,
    confidence: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
) -> tuple[float, float] | None:
    """A seeded percentile-bootstrap CI of ``statistic`` (default: the mean)."""
    if len(values) < 2:
        return None
    stat = statistic or (lambda xs: sum(xs) / len(xs))
    rng = random.Random(seed)
    n = len(values)
    data = list(values)
    draws = sorted(stat([data[rng.randrange(n)] for _ in range(n)]) for _ in range(resamples))
    alpha = (1 - confidence) / 2
    return draws[int(alpha * resamples)], draws[min(int((1 - alpha) * resamples), resamples - 1)]


@dataclass(slots=True, frozen=True)
class Summary:
    """What a sample of one measure (seconds, or tokens/s) says."""

    n: int
    mean: float
    stdev: float
    min: float
    max: float
    p50: float
    p90: float
    p95: float
    p99: float
    ci: dict[str, tuple[float, float] | None]
    """The 95 % CI of each percentile (``p50``...) and of the mean."""
    outliers: int
    """Samples beyond Tukey's far fences (3 IQR); kept in every figure."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(values: Sequence[float], *, seed: int = 0) -> Summary | None:
    """Percentiles, CIs and the outlier count of ``values`` (None when there are none)."""
    if not values:
        return None
    data = sorted(values)
    n = len(data)
    mean = sum(data) / n
    stdev = math.sqrt(sum((x - mean) ** 2 for x in data) / (n - 1)) if n > 1 else 0.0
    pct = {f"p{p}": percentile(data, p) for p in PERCENTILES}
    ci: dict[str, tuple[float, float] | None] = {f"p{p}": quantile_ci(data, p) for p in PERCENTILES}
    ci["mean"] = bootstrap_ci(data, seed=seed, resamples=500)
    q1, q3 = percentile(data, 25), percentile(data, 75)
    iqr = q3 - q1
    outliers = sum(1 for x in data if x < q1 - 3 * iqr or x > q3 + 3 * iqr)
    return Summary(n, mean, stdev, data[0], data[-1], ci=ci, outliers=outliers, **pct)


@dataclass(slots=True, frozen=True)
class Comparison:
    """Candidate against baseline on one measure (lower is better for latencies)."""

    baseline_median: float
    candidate_median: float
    ratio: float
    """candidate median / baseline median."""
    ratio_ci: tuple[float, float] | None
    p_value: float
    significant: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare_samples(
    baseline: Sequence[float],
    candidate: Sequence[float],
    *,
    alpha: float = 0.05,
    seed: int = 0,
) -> Comparison:
    """Mann-Whitney U (two-sided) and a bootstrap CI of the ratio of medians."""
    if len(baseline) < 2 or len(candidate) < 2:
        raise BelugaError(
            "bench.compare",
            ErrorCode.INVALID_REQUEST,
            "a comparison needs at least 2 successful requests on each side; run more requests",
        )
    try:
        from scipy.stats import mannwhitneyu
    except ImportError:
        raise BelugaError(
            "bench.compare",
            ErrorCode.INVALID_CONFIG,
            "significance tests need scipy: pip install 'beluga-ai[bench]'",
        ) from None
    p_value = float(mannwhitneyu(candidate, baseline, alternative="two-sided").pvalue)
    b_med, c_med = percentile(baseline, 50), percentile(candidate, 50)
    ratio = c_med / b_med if b_med > 0 else math.inf
    rng = random.Random(seed)
    b, c = list(baseline), list(candidate)
    ratios: list[float] = []
    for _ in range(400):
        bm = percentile([b[rng.randrange(len(b))] for _ in b], 50)
        cm = percentile([c[rng.randrange(len(c))] for _ in c], 50)
        if bm > 0:
            ratios.append(cm / bm)
    ratios.sort()
    ratio_ci = (
        (ratios[int(0.025 * len(ratios))], ratios[int(0.975 * len(ratios)) - 1]) if ratios else None
    )
    return Comparison(b_med, c_med, ratio, ratio_ci, p_value, p_value < alpha)
