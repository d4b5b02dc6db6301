"""``beluga bench``: measure providers, models and roles — latency, throughput, cost, history.

The figures come from real timings of real streams (``time.perf_counter_ns`` at each chunk's
arrival). See ``docs/readme/bench.md``.
"""

from beluga.bench.analysis import compare_runs, recommend
from beluga.bench.config import BenchConfig, LoadConfig, Scenario, load_scenario
from beluga.bench.history import HistoryStore
from beluga.bench.results import BenchResult, TargetResult
from beluga.bench.runner import LoadSpec, Request, Sample
from beluga.bench.slo import parse_slo
from beluga.bench.stats import compare_samples, percentile, quantile_ci, summarize
from beluga.bench.suite import findings, run_scenario, run_search

__all__ = [
    "BenchConfig",
    "BenchResult",
    "HistoryStore",
    "LoadConfig",
    "LoadSpec",
    "Request",
    "Sample",
    "Scenario",
    "TargetResult",
    "compare_runs",
    "compare_samples",
    "findings",
    "load_scenario",
    "parse_slo",
    "percentile",
    "quantile_ci",
    "recommend",
    "run_scenario",
    "run_search",
    "summarize",
]
