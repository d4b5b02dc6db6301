"""Percentiles, exact quantile CIs and comparisons, on distributions whose truth is known."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beluga.bench.stats import (
    bootstrap_ci,
    compare_samples,
    percentile,
    quantile_ci,
    summarize,
)
from beluga.core.errors import BelugaError


def test_percentile_interpolates_like_numpy() -> None:
    numpy = pytest.importorskip("numpy")
    rng = random.Random(3)
    xs = [rng.lognormvariate(0, 1) for _ in range(501)]
    for p in (0, 1, 25, 50, 90, 95, 99, 100):
        assert percentile(xs, p) == pytest.approx(float(numpy.percentile(xs, p)), rel=1e-12)


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60), st.floats(0, 100))
def test_percentile_lies_within_the_data_and_grows_with_p(xs: list[float], p: float) -> None:
    value = percentile(xs, p)
    assert min(xs) <= value <= max(xs)
    assert percentile(xs, min(p + 5, 100)) >= value


@pytest.mark.parametrize(
    ("draw", "truth"),
    [
        (lambda r: r.random(), {50: 0.5, 90: 0.9, 95: 0.95}),
        (lambda r: r.expovariate(1.0), {50: math.log(2), 90: math.log(10), 95: math.log(20)}),
    ],
    ids=["uniform", "exponential"],
)
def test_quantile_ci_covers_the_true_quantile_95_percent_of_the_time(draw, truth) -> None:  # type: ignore[no-untyped-def]
    trials, n = 300, 400
    for p, true_value in truth.items():
        covered = 0
        for seed in range(trials):
            rng = random.Random(seed)
            ci = quantile_ci([draw(rng) for _ in range(n)], p)
            assert ci is not None
            covered += ci[0] <= true_value <= ci[1]
        # exact CIs are conservative: coverage >= 95 % up to the sampling error of 300 trials
        assert covered / trials >= 0.92, (p, covered / trials)


def test_quantile_ci_refuses_a_tail_the_sample_cannot_support() -> None:
    xs = [float(i) for i in range(50)]
    assert quantile_ci(xs, 99) is None  # the top sample is too close to p99 for 95 %
    assert quantile_ci(xs, 50) is not None
    assert quantile_ci([1.0], 50) is None


def test_bootstrap_ci_of_the_mean_is_seeded_and_covers_it() -> None:
    rng = random.Random(1)
    xs = [rng.gauss(10, 2) for _ in range(300)]
    a = bootstrap_ci(xs, seed=5)
    assert a == bootstrap_ci(xs, seed=5)
    mean = sum(xs) / len(xs)
    assert a is not None and a[0] < mean < a[1]
    assert a[1] - a[0] == pytest.approx(2 * 1.96 * 2 / math.sqrt(300), rel=0.25)
    assert bootstrap_ci([1.0]) is None


def test_summary_counts_outliers_but_keeps_them() -> None:
    xs = [1.0] * 50 + [1.1] * 49 + [100.0]
    s = summarize(xs)
    assert s is not None
    assert s.outliers == 1
    assert s.max == 100.0 and s.n == 100
    assert summarize([]) is None


def test_compare_finds_a_real_shift_and_not_noise() -> None:
    rng = random.Random(2)
    base = [rng.lognormvariate(math.log(0.2), 0.3) for _ in range(200)]
    same = [rng.lognormvariate(math.log(0.2), 0.3) for _ in range(200)]
    slower = [x * 1.3 for x in same]
    assert not compare_samples(base, same).significant
    shifted = compare_samples(base, slower)
    assert shifted.significant and shifted.p_value < 1e-6
    assert shifted.ratio_ci is not None and shifted.ratio_ci[0] > 1.1


def test_compare_needs_samples_on_both_sides() -> None:
    with pytest.raises(BelugaError, match="at least 2 successful"):
        compare_samples([1.0], [1.0, 2.0])
