"""Running scenarios on mock targets: samples, load modes, warm-up, cost, quality, findings."""

from __future__ import annotations

import pytest

from beluga.bench.config import LoadConfig, Scenario
from beluga.bench.runner import LoadSpec, Request, measure, run_load
from beluga.bench.slo import parse_slo
from beluga.bench.suite import build_requests, findings, load_points, run_scenario, run_search
from beluga.config import BelugaConfig
from beluga.core.errors import BelugaError
from beluga.llms import ModelSettings
from beluga.llms.providers.mock import MockChatModel
from beluga.schema import Message

_CFG = {
    "llm": {
        "default": "cheap",
        "providers": {
            "cheap": {"type": "mock", "model": "gpt-4o-mini", "ttft": 1, "itl": 0.2},
            "dear": {
                "type": "mock",
                "model": "gpt-4o",
                "ttft": 25,
                "itl": 0.3,
                "cached_fraction": 0.5,
            },
            "flaky": {
                "type": "mock",
                "model": "gpt-4o",
                "ttft": 1,
                "itl": 0.2,
                "server_error_rate": 1.0,
            },
        },
        "roles": {"writer": {"provider": "dear"}},
    },
    "bench": {"requests": 6, "warmup": 1},
}


def _config() -> BelugaConfig:
    return BelugaConfig.model_validate(_CFG)


async def test_measure_reads_chunks_usage_and_text() -> None:
    model = MockChatModel(ttft=1, itl=0.5, output_tokens=5)
    sample = await measure(model, Request([Message.user("a b c")]))
    assert sample.ok and sample.ttft is not None and len(sample.itls) == 4
    assert sample.output_tokens == 5 and sample.usage is not None and sample.usage.input_tokens == 3
    assert sample.text == "the quick brown fox jumps "
    assert sample.e2e >= sample.ttft + sum(sample.itls) - 1e-6
    whole = await measure(model, Request([Message.user("x")]), stream=False)
    assert whole.ok and whole.ttft == pytest.approx(whole.e2e, abs=1e-3) and whole.itls == []


async def test_measure_records_failures_and_timeouts() -> None:
    failing = await measure(
        MockChatModel(ttft=0, server_error_rate=1.0), Request([Message.user("x")])
    )
    assert failing.error == "provider_unavailable" and not failing.ok
    slow = await measure(MockChatModel(ttft=500), Request([Message.user("x")]), timeout=0.02)
    assert slow.timed_out and slow.error == "timeout"
    assert slow.tokens_per_s is None


@pytest.mark.parametrize(
    "spec",
    [
        LoadSpec("sync", requests=5),
        LoadSpec("concurrency", 3, requests=7),
        LoadSpec("rate", rate=400.0, requests=6),
        LoadSpec("poisson", rate=400.0, requests=6, seed=3),
    ],
)
async def test_load_modes_send_every_request(spec: LoadSpec) -> None:
    model = MockChatModel(ttft=1, itl=0, output_tokens=2)
    sent: list[Request] = []

    async def send(request: Request, origin: int):  # type: ignore[no-untyped-def]
        sent.append(request)
        return await measure(model, request, origin=origin)

    requests = [Request([Message.user(str(i))]) for i in range(3)]
    samples, wall = await run_load(spec, requests, send)
    assert len(samples) == spec.requests == len(sent) and wall > 0
    assert [s.start for s in samples] == sorted(s.start for s in samples)
    assert sent[3] is requests[0]  # requests are cycled


async def test_concurrency_keeps_that_many_in_flight() -> None:
    in_flight = peak = 0
    model = MockChatModel(ttft=5, itl=0, output_tokens=1)

    async def send(request: Request, origin: int):  # type: ignore[no-untyped-def]
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            return await measure(model, request, origin=origin)
        finally:
            in_flight -= 1

    await run_load(LoadSpec("concurrency", 4, requests=12), [Request([Message.user("x")])], send)
    assert peak == 4


async def test_sustained_run_stops_at_its_duration() -> None:
    model = MockChatModel(ttft=2, itl=0, output_tokens=1)

    async def send(request: Request, origin: int):  # type: ignore[no-untyped-def]
        return await measure(model, request, origin=origin)

    samples, wall = await run_load(
        LoadSpec("concurrency", 2, duration=0.1), [Request([Message.user("x")])], send
    )
    assert samples and 0.1 <= wall < 1.0


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"mode": "rate"}, "positive rate"),
        ({"mode": "burst"}, "unknown load mode"),
        ({"concurrency": 0}, "at least 1"),
        ({"duration": -1.0}, "positive number"),
    ],
)
def test_bad_load_specs(kwargs: dict[str, object], why: str) -> None:
    with pytest.raises(BelugaError, match=why):
        LoadSpec(**kwargs)  # type: ignore[arg-type]


def test_synthetic_requests_are_seeded_with_lengths() -> None:
    scenario = Scenario.model_validate(
        {
            "synthetic": {
                "prompt_tokens": "uniform:5,9",
                "output_tokens": 7,
                "count": 4,
                "seed": 2,
            },
            "system": "be brief",
            "tools": [{"name": "f"}],
            "output": {"type": "object"},
        }
    )
    a, b = build_requests(scenario), build_requests(scenario)
    assert [r.messages[1].text for r in a] == [r.messages[1].text for r in b]
    assert all(5 <= len(r.messages[1].text.split()) <= 9 for r in a)
    assert a[0].messages[0].role == "system" and a[0].tools[0].name == "f"
    assert a[0].settings == ModelSettings(max_tokens=7, output=a[0].settings.output, seed=0)
    assert build_requests(Scenario(prompts=["p", "q"]))[1].messages[0].text == "q"


def test_load_points_of_sweeps() -> None:
    sweep = load_points(LoadConfig(mode="concurrency", concurrency=[1, 8]), 5)
    assert [(p.concurrency, p.requests) for p in sweep] == [(1, 5), (8, 16)]
    rates = load_points(LoadConfig(mode="poisson", rate=[2, 4]), 5)
    assert [(p.mode, p.rate) for p in rates] == [("poisson", 2), ("poisson", 4)]
    with pytest.raises(BelugaError, match=r"needs load\.rate"):
        load_points(LoadConfig(mode="rate"), 5)


async def test_scenario_over_three_targets_with_cost_quality_and_advice(telemetry) -> None:  # type: ignore[no-untyped-def]
    scenario = Scenario.model_validate(
        {
            "targets": ["cheap", "dear", "flaky"],
            "max_tokens": 4,
            "quality": {"contains": "quick", "min_pass_rate": 0.9},
            "slo": "p95 ttft < 5s",
        }
    )
    result = await run_scenario(_config(), scenario, memory=True)
    by = {r.target: r for r in result.results}
    assert [len(r.samples) for r in result.results] == [6, 6, 6]
    assert by["flaky"].error_rate == 1.0 and by["flaky"].errors() == {"provider_unavailable": 6}
    assert by["cheap"].quality_pass_rate == 1.0
    assert by["dear"].cost["cached_savings"] > 0
    assert by["cheap"].cost["per_1k_successful"] < by["dear"].cost["per_1k_successful"]
    assert result.probe is not None and result.probe["heap_peak_mb"] is not None
    findings(_config(), scenario, result)
    assert result.extra["slo"]["cheap @ sync"]["met"] is True
    assert result.extra["slo"]["flaky @ sync"]["met"] is False
    advice = result.extra["recommendations"][0]
    assert (advice["role"], advice["current"], advice["recommendation"]) == (
        "writer",
        "dear",
        "cheap",
    )
    spans = [s for s in telemetry.finished_spans() if s.name.startswith("bench ")]
    assert {s.name for s in spans} == {"bench cheap", "bench dear", "bench flaky"}
    chats = [s for s in telemetry.finished_spans() if s.name == "chat gpt-4o-mini"]
    assert chats and any(c.parent is not None for c in chats)


async def test_quality_check_failing_blocks_the_recommendation() -> None:
    scenario = Scenario.model_validate(
        {"targets": ["cheap", "dear"], "quality": {"contains": "nothing-like-this"}}
    )
    result = await run_scenario(_config(), scenario)
    findings(_config(), scenario, result)
    assert result.extra["recommendations"][0]["recommendation"] is None


async def test_rate_search_finds_the_highest_rate_meeting_the_slo() -> None:
    cfg = BelugaConfig.model_validate(
        {
            "llm": {"providers": {"m": {"type": "mock", "ttft": 1, "itl": 0, "output_tokens": 1}}},
            "bench": {"warmup": 0},
        }
    )
    result = await run_search(cfg, Scenario(targets=["m"]), parse_slo("p50 ttft < 1s"),
                              start=20, limit=80, step_seconds=0.1)  # fmt: skip
    assert result.extra["search"]["max_rate"]["m"] == 80
    assert [r.load["rate"] for r in result.results] == [20, 40, 80]
    never = await run_search(cfg, Scenario(targets=["m"]), parse_slo("p50 ttft < 1us"),
                             start=20, limit=80, step_seconds=0.1)  # fmt: skip
    assert never.extra["search"]["max_rate"]["m"] is None and len(never.results) == 1
