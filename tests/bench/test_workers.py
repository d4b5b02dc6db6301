"""A load point split over worker processes: shares, merged samples, secrets carried over."""

from __future__ import annotations

from beluga.bench.runner import LoadSpec, Request
from beluga.bench.workers import _llm_section, auto_workers, run_in_workers, shares
from beluga.config import BelugaConfig
from beluga.schema import Message


def test_shares_divide_concurrency_requests_and_rate() -> None:
    parts = shares(LoadSpec("concurrency", 5, requests=11), 2)
    assert [(p.concurrency, p.requests) for p in parts] == [(3, 6), (2, 5)]
    assert len(shares(LoadSpec("concurrency", 1, requests=4), 4)) == 1  # no idle workers
    rates = shares(LoadSpec("poisson", rate=10.0, requests=9, seed=1), 3)
    assert [p.rate for p in rates] == [10 / 3] * 3 and [p.seed for p in rates] == [1, 2, 3]


def test_auto_workers_follow_concurrency(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("beluga.bench.workers.os.cpu_count", lambda: 4)
    assert auto_workers(LoadSpec("concurrency", 10), "auto") == 1
    assert auto_workers(LoadSpec("concurrency", 100), "auto") == 2
    assert auto_workers(LoadSpec("concurrency", 1000), "auto") == 4
    assert auto_workers(LoadSpec("rate", rate=50.0), "auto") == 1
    assert auto_workers(LoadSpec("concurrency", 10), 3) == 3


def test_the_llm_section_keeps_real_keys_for_the_workers() -> None:
    cfg = BelugaConfig.model_validate(
        {
            "llm": {
                "providers": {"x": {"type": "vllm", "api_key": "sk-real", "base_url": "http://h"}}
            }
        }
    )
    section = _llm_section(cfg)
    assert section["llm"]["providers"]["x"]["api_key"] == "sk-real"
    assert section["llm"]["metrics"] == {"enabled": False}


async def test_two_workers_merge_their_samples() -> None:
    cfg = BelugaConfig.model_validate(
        {
            "llm": {
                "providers": {
                    "m": {
                        "type": "mock",
                        "model": "gpt-4o-mini",
                        "ttft": "normal:3ms,1ms",
                        "itl": 0,
                    }
                }
            }
        }
    )
    told: list[tuple[str, bool]] = []
    result, client = await run_in_workers(
        cfg, "m", LoadSpec("concurrency", 4, requests=10), [Request([Message.user("hi")])],
        workers=2, warmup=1, progress=lambda label, s: told.append((label, s.ok)),
    )  # fmt: skip
    assert len(result.samples) == 10 and all(s.ok for s in result.samples)
    # every request, as it finished in either worker, reached the parent's progress display
    assert told == [("m @ concurrency 4", True)] * 10
    assert (result.provider, result.model) == ("mock", "gpt-4o-mini")
    assert [s.start for s in result.samples] == sorted(s.start for s in result.samples)
    assert client["workers"] == 2 and client["loop_lag_p99_ms"] >= 0
