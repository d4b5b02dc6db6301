"""Regression verdicts, degradation over a sustained run, and rate search, on seeded samples."""

from __future__ import annotations

import math
import random

import pytest

from beluga.bench.analysis import compare_runs, degradation, search_rate
from beluga.bench.results import BenchResult, TargetResult
from beluga.bench.runner import Sample
from beluga.bench.slo import parse_slo


def _result(scale: float = 1.0, *, seed: int = 0, errors: int = 0, n: int = 120) -> TargetResult:
    rng = random.Random(seed)
    samples = []
    for i in range(n):
        e2e = rng.lognormvariate(math.log(0.3 * scale), 0.2)
        samples.append(
            Sample(start=i * 0.1, e2e=e2e, ttft=e2e / 3, itls=[e2e / 30] * 3, output_tokens=10,
                   error="rate_limited" if i < errors else None)
        )  # fmt: skip
    return TargetResult("m", "mock", "m", {"label": "sync"}, samples, wall_s=n * 0.3)


def _run(*results: TargetResult) -> BenchResult:
    return BenchResult("bench_x", 0.0, "s", None, list(results))


def test_same_distribution_is_not_a_regression() -> None:
    verdict = compare_runs(_run(_result(seed=1)), _run(_result(seed=2)))
    assert not verdict.regressed
    assert {c.measure for c in verdict.changes} == {"ttft", "itl", "e2e", "tps", "error_rate"}


def test_slower_candidate_is_a_regression_and_faster_an_improvement() -> None:
    slower = compare_runs(_run(_result(seed=1)), _run(_result(1.3, seed=2)))
    assert slower.regressed
    assert {c.measure for c in slower.regressions} == {"ttft", "itl", "e2e", "tps"}
    faster = compare_runs(_run(_result(seed=1)), _run(_result(0.7, seed=2)))
    assert not faster.regressed
    assert all(c.verdict == "improvement" for c in faster.changes if c.measure != "error_rate")


def test_small_change_within_threshold_is_not_a_regression() -> None:
    verdict = compare_runs(_run(_result(seed=1, n=2000)), _run(_result(1.05, seed=2, n=2000)))
    e2e = next(c for c in verdict.changes if c.measure == "e2e")
    assert e2e.significant and e2e.verdict == "same"  # real, but under the 10 % threshold


def test_more_errors_is_a_regression() -> None:
    verdict = compare_runs(_run(_result(seed=1)), _run(_result(seed=1, errors=30)))
    errors = next(c for c in verdict.changes if c.measure == "error_rate")
    assert errors.verdict == "regression" and verdict.regressed


def test_missing_targets_are_listed() -> None:
    other = _result()
    other.target = "other"
    verdict = compare_runs(_run(_result(), other), _run(_result()))
    assert verdict.missing == ["other @ sync"]


def test_degradation_compares_first_and_last_window() -> None:
    steady = degradation(_result(), window=4.0)
    assert not steady["degraded"] and len(steady["windows"]) == 3
    worse = _result()
    for s in worse.samples[80:]:
        s.e2e *= 2
        s.ttft = (s.ttft or 0) * 2
    found = degradation(worse, window=4.0)
    assert found["degraded"] and found["e2e"]["ratio"] == pytest.approx(2, rel=0.2)
    assert degradation(_result(n=5), window=60.0)["reason"].startswith("the run is shorter")


async def test_search_bisects_between_good_and_bad() -> None:
    tried: list[float] = []

    async def at(rate: float) -> TargetResult:
        tried.append(rate)
        return _result(1.0 if rate <= 11 else 10.0)

    best, runs = await search_rate(at, parse_slo("p95 e2e < 1s"), start=2, limit=100, steps=3)
    assert tried[:4] == [2, 4, 8, 16] and len(runs) == 7
    assert best is not None and 10 <= best <= 11
