"""``beluga bench`` itself: a full three-provider mock comparison, its wall time and memory.

Three mock providers (different TTFT/ITL distributions, one with injected 5xx) are compared by
``run_scenario`` at concurrency 5 and 20 (40 requests per point, warm-up at each), with statistics,
cost and the Mann-Whitney comparison table rendered, as ``beluga bench run`` does. Reported: the
wall time (target < 30 s), the peak of the Python heap the suite allocated during the run
(tracemalloc, target < 10 MB), and the client's CPU and event-loop lag.

Then the client at 100 concurrent in-process mock streams (TTFT 100 ms, ITL 20 ms exactly): the
measured p50 TTFT and ITL against the truth, with the loop lag and CPU — no HTTP in the way, so
what is left is the benchmark's own timing error.
"""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

PROVIDERS = {
    "fast": {"type": "mock", "model": "gpt-4o-mini", "ttft": "normal:60ms,8ms", "itl": "fixed:5ms"},
    "medium": {"type": "mock", "model": "gpt-4.1-mini", "ttft": "lognormal:120ms,0.2",
               "itl": "normal:8ms,1ms", "cached_fraction": 0.4},
    "slow": {"type": "mock", "model": "gpt-4o", "ttft": "lognormal:250ms,0.3", "itl": "fixed:12ms",
             "server_error_rate": 0.03},
}  # fmt: skip


async def _comparison() -> dict[str, Any]:
    from rich.console import Console

    from beluga.bench.config import Scenario
    from beluga.bench.report import print_result
    from beluga.bench.suite import findings, run_scenario
    from beluga.config import BelugaConfig

    cfg = BelugaConfig.model_validate({"llm": {"providers": PROVIDERS}})
    scenario = Scenario.model_validate(
        {"targets": list(PROVIDERS), "requests": 40, "warmup": 2,
         "synthetic": {"prompt_tokens": "normal:200,40", "output_tokens": "uniform:16,48"},
         "load": {"mode": "concurrency", "concurrency": [5, 20]}}
    )  # fmt: skip
    start = time.perf_counter()
    result = await run_scenario(cfg, scenario, memory=True)
    findings(cfg, scenario, result)
    print_result(Console(file=io.StringIO(), width=200), result)
    wall = time.perf_counter() - start
    probe = result.probe or {}
    return {
        "wall_s": wall,
        "requests": sum(len(r.samples) for r in result.results),
        "heap_peak_mb": probe.get("heap_peak_mb"),
        "cpu_fraction": probe.get("cpu_fraction"),
        "loop_lag_p99_ms": probe.get("loop_lag_p99_ms"),
    }


async def _hundred() -> dict[str, Any]:
    from beluga.bench.profiling import ClientProbe
    from beluga.bench.runner import LoadSpec, Request
    from beluga.bench.stats import percentile
    from beluga.bench.suite import run_target
    from beluga.llms import ModelSettings
    from beluga.llms.providers.mock import MockChatModel
    from beluga.schema import Message

    model = MockChatModel("m", ttft="fixed:100ms", itl="fixed:20ms")
    requests = [Request([Message.user("hi")], (), ModelSettings(max_tokens=16 + i % 17))
                for i in range(64)]  # fmt: skip
    async with ClientProbe() as probe:
        result = await run_target(
            model, "mock", LoadSpec("concurrency", 100, requests=400), requests, warmup=5
        )
    assert probe.report is not None
    return {
        "ttft_p50_ms": percentile(result.values("ttft"), 50) * 1e3,
        "itl_p50_ms": percentile(result.values("itl"), 50) * 1e3,
        "requests": len(result.samples),
        "cpu_fraction": probe.report.cpu_fraction,
        "loop_lag_p50_ms": probe.report.loop_lag_p50_ms,
        "loop_lag_p99_ms": probe.report.loop_lag_p99_ms,
    }


def run() -> dict[str, Any]:
    from beluga.bench.server import loop_factory

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        comparison = runner.run(_comparison())
        hundred = runner.run(_hundred())
    return {"comparison": comparison, "concurrency_100_in_process": hundred}


def report(results: dict[str, Any]) -> None:
    c = results["comparison"]
    print(
        f"beluga bench: 3-provider mock comparison, {c['requests']} requests: "
        f"{c['wall_s']:.1f} s (target < 30 s); suite heap peak {c['heap_peak_mb']:.2f} MB "
        f"(target < 10 MB); client CPU {c['cpu_fraction']:.0%}, loop lag p99 "
        f"{c['loop_lag_p99_ms']:.2f} ms"
    )
    h = results["concurrency_100_in_process"]
    print(
        f"  100 in-process streams (truth TTFT 100 ms, ITL 20 ms): TTFT p50 "
        f"{h['ttft_p50_ms']:.3f} ms ({h['ttft_p50_ms'] - 100:+.3f}), ITL p50 "
        f"{h['itl_p50_ms']:.3f} ms ({h['itl_p50_ms'] - 20:+.3f}); CPU {h['cpu_fraction']:.0%} "
        f"of a core, loop lag p50 {h['loop_lag_p50_ms']:.3f} / p99 {h['loop_lag_p99_ms']:.3f} ms"
    )


if __name__ == "__main__":
    report(run())
