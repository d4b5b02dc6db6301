"""What the figures mean: rate search under an SLO, degradation over a sustained run, regression
verdicts between two runs, and cheaper-model recommendations per role.

* **Rate search** doubles the arrival rate while the SLO holds, then bisects between the last
  rate that held and the first that did not (each step a short run of its own).
* **Degradation** splits a sustained run into windows by start time and tests the last window
  against the first (Mann-Whitney): slower by more than the threshold and significant is
  degradation.
* **Regression** (``compare``) matches each target and load point of two runs and tests every
  latency (lower is better) and tokens/s (higher is better) the same way; error rates with
  Fisher's exact test. Any significant change beyond the threshold in the wrong direction is a
  regression, and ``beluga bench compare`` exits 1.
* **Recommendations**: for each role of ``llm.roles`` whose provider was measured, the cheapest
  measured target (per 1k successful requests) whose p95 end-to-end latency is within the
  tolerance of the role's provider, whose error rate is no higher, and whose answers pass the
  scenario's quality check at least as often as ``quality.min_pass_rate``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from beluga.bench.results import BenchResult, TargetResult
from beluga.bench.slo import SLO
from beluga.bench.stats import compare_samples, percentile
from beluga.config import BelugaConfig
from beluga.llms.config import LLMConfig

__all__ = [
    "Change",
    "Verdict",
    "compare_runs",
    "degradation",
    "recommend",
    "search_rate",
]

_LOWER_IS_BETTER = {"ttft": True, "itl": True, "e2e": True, "tps": False}


async def search_rate(
    run_at: Callable[[float], Awaitable[TargetResult]],
    slo: SLO,
    *,
    start: float = 1.0,
    limit: float = 1000.0,
    steps: int = 4,
) -> tuple[float | None, list[TargetResult]]:
    """The highest rate (requests/s) at which ``run_at(rate)`` meets ``slo``, and every run."""
    runs: list[TargetResult] = []
    good: float | None = None
    bad: float | None = None
    rate = start
    while rate <= limit:
        result = await run_at(rate)
        runs.append(result)
        if result.meets(slo):
            good, rate = rate, rate * 2
        else:
            bad = rate
            break
    if good is None or bad is None:
        return good, runs
    for _ in range(steps):
        middle = (good + bad) / 2
        result = await run_at(middle)
        runs.append(result)
        if result.meets(slo):
            good = middle
        else:
            bad = middle
    return good, runs


def degradation(
    result: TargetResult, *, window: float, threshold: float = 0.10, alpha: float = 0.05
) -> dict[str, Any]:
    """Per-window medians of a sustained run and whether it got worse from first to last."""
    ok = result.ok
    if not ok:
        return {"windows": [], "degraded": False, "reason": "no successful requests"}
    buckets: dict[int, list[Any]] = {}
    for sample in ok:
        buckets.setdefault(int(sample.start // window), []).append(sample)
    keys = sorted(buckets)
    windows = [
        {
            "start_s": k * window,
            "requests": len(buckets[k]),
            "e2e_p50_s": percentile([s.e2e for s in buckets[k]], 50),
            "ttft_p50_s": percentile(
                [s.ttft for s in buckets[k] if s.ttft is not None] or [0.0], 50
            ),
        }
        for k in keys
    ]
    out: dict[str, Any] = {"windows": windows, "degraded": False}
    if len(keys) < 2:
        out["reason"] = "the run is shorter than two windows"
        return out
    first, last = buckets[keys[0]], buckets[keys[-1]]
    for measure in ("ttft", "e2e"):
        a = [v for s in first if (v := getattr(s, measure)) is not None]
        b = [v for s in last if (v := getattr(s, measure)) is not None]
        if len(a) < 2 or len(b) < 2:
            continue
        c = compare_samples(a, b, alpha=alpha)
        out[measure] = c.to_dict()
        if c.significant and c.ratio > 1 + threshold:
            out["degraded"] = True
    return out


@dataclass(slots=True, frozen=True)
class Change:
    target: str
    load: str
    measure: str
    baseline: float
    candidate: float
    ratio: float
    p_value: float
    significant: bool
    verdict: str
    """``regression``, ``improvement`` or ``same``."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True, frozen=True)
class Verdict:
    changes: list[Change]
    missing: list[str]
    """Target and load points of the baseline that the candidate did not measure."""

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.verdict == "regression"]

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "regressed": self.regressed,
            "changes": [c.to_dict() for c in self.changes],
            "missing": self.missing,
        }


def _judge(worse: bool, better: bool) -> str:
    return "regression" if worse else "improvement" if better else "same"


def compare_runs(
    baseline: BenchResult,
    candidate: BenchResult,
    *,
    threshold: float = 0.10,
    alpha: float = 0.05,
) -> Verdict:
    """Every measure of every target and load point both runs have, judged."""
    theirs = {(r.target, r.load.get("label", "")): r for r in candidate.results}
    changes: list[Change] = []
    missing: list[str] = []
    for base in baseline.results:
        key = (base.target, base.load.get("label", ""))
        cand = theirs.get(key)
        if cand is None:
            missing.append(f"{key[0]} @ {key[1]}")
            continue
        for measure, lower in _LOWER_IS_BETTER.items():
            a, b = base.values(measure), cand.values(measure)
            if len(a) < 2 or len(b) < 2:
                continue
            c = compare_samples(a, b, alpha=alpha)
            slower = c.ratio > 1 + threshold if lower else c.ratio < 1 - threshold
            faster = c.ratio < 1 - threshold if lower else c.ratio > 1 + threshold
            changes.append(
                Change(
                    key[0], key[1], measure, c.baseline_median, c.candidate_median, c.ratio,
                    c.p_value, c.significant,
                    _judge(c.significant and slower, c.significant and faster),
                )
            )  # fmt: skip
        changes.append(_error_change(base, cand, key, alpha))
    return Verdict(changes, missing)


def _error_change(
    base: TargetResult, cand: TargetResult, key: tuple[str, str], alpha: float
) -> Change:
    from scipy.stats import fisher_exact

    be, bn = len(base.samples) - len(base.ok), len(base.samples)
    ce, cn = len(cand.samples) - len(cand.ok), len(cand.samples)
    p = float(fisher_exact([[be, bn - be], [ce, cn - ce]]).pvalue) if bn and cn else 1.0
    b_rate, c_rate = base.error_rate, cand.error_rate
    ratio = c_rate / b_rate if b_rate else (float("inf") if c_rate else 1.0)
    significant = p < alpha
    return Change(
        key[0], key[1], "error_rate", b_rate, c_rate, ratio, p, significant,
        _judge(significant and c_rate > b_rate, significant and c_rate < b_rate),
    )  # fmt: skip


def recommend(
    config: BelugaConfig,
    results: Sequence[TargetResult],
    *,
    tolerance: float = 0.10,
    min_pass_rate: float = 0.95,
) -> list[dict[str, Any]]:
    """A cheaper measured target for each role whose provider was measured, where one holds."""
    out: list[dict[str, Any]] = []
    by_target = {r.target: r for r in results}
    for role, entry in LLMConfig.of(config).roles.items():
        current = by_target.get(entry.provider) or by_target.get(role)
        if current is None or current.cost.get("per_1k_successful") is None:
            continue
        base_cost = current.cost["per_1k_successful"] or 0.0
        base_p95 = _p95(current)
        if base_p95 is None:
            continue
        holding = []
        for other in results:
            cost = other.cost.get("per_1k_successful")
            p95 = _p95(other)
            if other is current or cost is None or p95 is None or cost >= base_cost:
                continue
            if p95 > base_p95 * (1 + tolerance) or other.error_rate > current.error_rate:
                continue
            if other.quality_pass_rate is not None and other.quality_pass_rate < min_pass_rate:
                continue
            holding.append((cost, other, p95))
        if not holding:
            out.append({"role": role, "current": current.target, "recommendation": None})
            continue
        cost, best, p95 = min(holding, key=lambda item: item[0])
        out.append(
            {
                "role": role,
                "current": current.target,
                "recommendation": best.target,
                "saving_per_1k": base_cost - cost,
                "saving_fraction": 1 - cost / base_cost if base_cost else 0.0,
                "p95_e2e_s": p95,
                "current_p95_e2e_s": base_p95,
                "quality_pass_rate": best.quality_pass_rate,
            }
        )
    return out


def _p95(result: TargetResult) -> float | None:
    values = result.values("e2e")
    return percentile(values, 95) if values else None
