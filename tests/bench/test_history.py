"""The history store: save, list, find by id, prefix, label and latest; clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from beluga.bench.history import HistoryStore, default_history_path
from beluga.bench.results import BenchResult, TargetResult
from beluga.bench.runner import Sample
from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import Usage


def _result(run_id: str, created: float, label: str | None = None) -> BenchResult:
    samples = [Sample(0.0, 0.5, 0.1, [0.01, 0.02], 3, Usage(4, 3, cached_tokens=1)),
               Sample(0.1, 0.2, None, [], 0, None, "timeout", True)]  # fmt: skip
    target = TargetResult("m", "mock", "gpt-4o", {"label": "sync", "mode": "sync"}, samples, 1.0)
    return BenchResult(run_id, created, "chat", label, [target], probe={"cpu_s": 0.1})


def test_round_trip_keeps_samples(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "b.db") as store:
        store.save(_result("bench_aaa1", 1.0, "base"))
        loaded = store.load("bench_aaa1")
    sample = loaded.results[0].samples[0]
    assert (sample.ttft, sample.itls, sample.usage) == (
        0.1,
        [0.01, 0.02],
        Usage(4, 3, cached_tokens=1),
    )
    assert loaded.results[0].samples[1].timed_out
    assert loaded.to_dict() == _result("bench_aaa1", 1.0, "base").to_dict()


def test_find_by_prefix_label_and_latest(tmp_path: Path) -> None:
    with HistoryStore(f"sqlite://{tmp_path}/b.db") as store:
        store.save(_result("bench_aaa1", 1.0, "base"))
        store.save(_result("bench_bbb2", 2.0, "base"))
        store.save(_result("bench_bbc3", 3.0))
        assert store.load("base").run_id == "bench_bbb2"  # newest with the label
        assert store.load("latest").run_id == "bench_bbc3"
        assert store.load("bench_a").run_id == "bench_aaa1"
        assert [r.run_id for r in store.runs(limit=2)] == ["bench_bbc3", "bench_bbb2"]
        with pytest.raises(BelugaError, match="ambiguous"):
            store.load("bench_bb")
        with pytest.raises(BelugaError, match="bench history") as info:
            store.load("nope")
        assert info.value.code is ErrorCode.NOT_FOUND


def test_default_path_sits_next_to_the_metrics_db(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("BELUGA_BENCH_DB", raising=False)
    monkeypatch.setenv("BELUGA_METRICS_STORE", f"sqlite://{tmp_path}/s/metrics.db")
    assert default_history_path() == tmp_path / "s" / "bench.db"
    monkeypatch.setenv("BELUGA_METRICS_STORE", "postgresql://db/metrics")
    monkeypatch.setenv("BELUGA_METRICS_DB", str(tmp_path / "m" / "metrics.db"))
    assert default_history_path() == tmp_path / "m" / "bench.db"
    monkeypatch.setenv("BELUGA_BENCH_DB", str(tmp_path / "x.db"))
    assert default_history_path() == tmp_path / "x.db"


def test_other_store_schemes_are_refused() -> None:
    with pytest.raises(BelugaError, match=r"sqlite:///path/bench\.db"):
        HistoryStore("postgresql://db/x")
